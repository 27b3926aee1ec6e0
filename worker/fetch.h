/* The fetch thread: the only user of the worker's Redis connection. It pops job IDs while
 * the supervisor has idle children (a blocking pop, no polling interval) and hands them to
 * the supervisor over a pipe. */
#ifndef JOBFLEET_FETCH_H
#define JOBFLEET_FETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

struct fetch_queue {
    char *name;
    int weight;
};

struct fetch {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int want;    /* IDs the supervisor can take now (guarded by mu) */
    bool stop;   /* guarded by mu */
    int pipe_rd; /* the supervisor reads int64 IDs here */
    int pipe_wr;
    struct cfg_redis redis; /* borrowed from the config */
    struct fetch_queue *queues;
    int n_queues;
    int weight_total;
};

/* Parses "a:3,b:1" (weight defaults to 1). On error writes a message and returns -1. */
int fetch_parse_queues(const char *spec, struct fetch_queue **out, int *n, char *err,
                       size_t errlen);
void fetch_queues_free(struct fetch_queue *q, int n);

/* Starts the thread; f->queues and f->redis must be set. -1 on error. */
int fetch_start(struct fetch *f);
/* Adds (or, negative, removes) capacity for IDs. */
void fetch_want(struct fetch *f, int delta);
/* Stops popping; the thread exits after its current blocking pop times out. */
void fetch_stop(struct fetch *f);
/* Joins the thread and closes the pipe. */
void fetch_join(struct fetch *f);

#endif
