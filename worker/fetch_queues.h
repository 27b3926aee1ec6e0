/* The worker's queue list: names and weights, parsed once at start-up. Kept apart from the
 * fetch thread so that a unit test can link it alone. */
#ifndef JOBFLEET_FETCH_QUEUES_H
#define JOBFLEET_FETCH_QUEUES_H

#include <stddef.h>

/* The most queues one worker serves: the fetch loop orders them in arrays of this size. */
#define FETCH_QUEUES_MAX 64

struct fetch_queue {
    char *name;
    int weight;
};

/* Parses "a:3,b:1" (weight defaults to 1, in 1..1000; names of 1-64 [A-Za-z0-9._-], each
 * listed once, at most FETCH_QUEUES_MAX; blanks around items are ignored). On success stores a new
 * array in *out (free it with fetch_queues_free) and its length in *n, and returns 0. On error
 * writes a message to err, leaves *out NULL and returns -1. */
int fetch_parse_queues(const char *spec, struct fetch_queue **out, int *n, char *err,
                       size_t errlen);
/* Frees what fetch_parse_queues returned; accepts NULL. */
void fetch_queues_free(struct fetch_queue *q, int n);

#endif
