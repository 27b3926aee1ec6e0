/* The producer's pushes of committed job IDs to Redis, and the backlog of those Redis did not
 * take (producer_push.c). */
#ifndef JOBFLEET_PRODUCER_PUSH_H
#define JOBFLEET_PRODUCER_PUSH_H

#include <stdatomic.h>
#include <stdbool.h>

#include "job.h"
#include "rq.h"

struct push_backlog;

/* An empty backlog; failures (borrowed) counts the pushes Redis refused. */
struct push_backlog *push_backlog_new(atomic_long *failures);
/* Frees the backlog, saying how many IDs it still held (the reconcile pushes them). Accepts
 * NULL. */
void push_backlog_free(struct push_backlog *pb);
/* Pushes the IDs of the new queued jobs among refs to Redis on rq; those Redis does not take
 * (or that come while a failure is under 500 ms old) wait in the backlog. The first failure of
 * an outage is logged at once, then once a minute. Any thread. */
void push_backlog_send(struct push_backlog *pb, struct rq *rq, const struct job_ref *refs, int n);
/* Pushes the backlog again, unless the last failure is under 500 ms old and now is false;
 * says when Redis took it back. */
void push_backlog_flush(struct push_backlog *pb, struct rq *rq, bool now);

#endif
