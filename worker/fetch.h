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

/* One popped ID as it travels to the supervisor, and back when it must be put back. */
struct fetch_item {
    int64_t id;
    double score;
    int32_t qidx;
    int32_t pad;
};

#define FETCH_BATCH_MAX 128 /* items per pipe write: under PIPE_BUF, so writes are atomic */

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
    bool *paused;            /* per queue, guarded by mu */
    struct fetch_item *back; /* to put back in Redis, guarded by mu */
    int n_back, cap_back;
    int n_queues;
};

/* Parses "a:3,b:1" (weight defaults to 1). On error writes a message and returns -1. */
int fetch_parse_queues(const char *spec, struct fetch_queue **out, int *n, char *err,
                       size_t errlen);
void fetch_queues_free(struct fetch_queue *q, int n);

/* Starts the thread; f->queues and f->redis must be set. -1 on error. */
int fetch_start(struct fetch *f);
/* Adds (or, negative, removes) capacity for IDs. */
void fetch_want(struct fetch *f, int delta);
/* Sets which queues are paused (an array of n_queues flags); their IDs stay in Redis. */
void fetch_set_paused(struct fetch *f, const bool *paused);
/* Hands IDs back to be put in Redis again with their scores (popped but not claimed while
 * their rows are still queued, e.g. a queue paused between the pop and the claim). */
void fetch_put_back(struct fetch *f, const struct fetch_item *items, int n);
/* Stops popping; the thread exits after its current blocking pop times out. */
void fetch_stop(struct fetch *f);
/* Joins the thread and closes the pipe. */
void fetch_join(struct fetch *f);

#endif
