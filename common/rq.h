/* The Redis side of the fleet: one sorted set of job IDs per queue. The only file that
 * includes <hiredis.h>. Redis holds nothing that MariaDB does not: losing it loses no job.
 * Every call fails at once (-1, rq_errstr says why) for 5 s after any connection of the
 * process ran into a command's or a connect's timeout: a Redis that accepts but does not
 * answer costs each caller the full timeout otherwise. */
#ifndef JOBFLEET_RQ_H
#define JOBFLEET_RQ_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

struct rq;

/* Copies the settings; does not connect. */
struct rq *rq_new(const struct cfg_redis *cfg);
void rq_free(struct rq *rq);
/* Connects (and authenticates); -1 with rq_errstr, and at once while calls fail (above). */
int rq_connect(struct rq *rq);
/* False also after the server answered READONLY or MASTERDOWN (no longer a master): the next
 * command, or rq_connect, connects anew. */
bool rq_connected(const struct rq *rq);
/* Commands other than the blocking pop wait at most ms (> 0) for an answer, not 10 s: for a
 * caller that has somewhere else to put its work (the producer's push, kept to push later).
 * Running into it counts as a hang (above). */
void rq_set_answer_ms(struct rq *rq, int ms);
/* True from a READONLY or MASTERDOWN answer until the next connect. */
bool rq_demoted(const struct rq *rq);
/* Refuses a Redis older than 6.2, read off INFO server: the scheduler's reconcile needs
 * ZMSCORE (6.2), and without it every reconcile failed and IDs Redis lost were never pushed
 * again. Returns 0, or -1 with the version in rq_errstr, disconnected. A server that does not
 * answer INFO, or answers it with an error (a renamed command), passes: its next command tells.
 * Not part of rq_connect, which a stalled Redis must not hold a command timeout longer. */
int rq_version_check(struct rq *rq);
/* Connects with backoff until connected or *stop is nonzero (stop may be NULL; a signal
 * handler's flag is obeyed within 50 ms); -1 when stopped. */
int rq_connect_retry(struct rq *rq, const volatile sig_atomic_t *stop);
const char *rq_errstr(const struct rq *rq);

/* The sorted-set score: higher priority first, then lower id (enqueue order). */
double rq_score(int priority, int64_t id);

/* Adds IDs to a queue (ZADD NX: an ID already there keeps its place), pipelined.
 * priorities may be NULL (all 0). -1 on error (the caller leaves the jobs for reconcile). */
int rq_push(struct rq *rq, const char *queue, const int64_t *ids, const int *priorities, int n);
/* rq_push for IDs of several queues: ids[i] goes to queues[i], with one pipelined rq_push per
 * queue, in the order the queues first appear. Stops at the first queue Redis refuses and
 * returns -1; pushed (may be NULL) then tells the IDs already in Redis. 0 when all are. */
int rq_push_each(struct rq *rq, const char *const *queues, const int64_t *ids,
                 const int *priorities, int n, bool *pushed);

/* Pops up to max IDs from the queues, trying them in the given order, without blocking.
 * Fills ids and, when not NULL, the index of each ID's queue and its score. Returns the count
 * or -1. */
int rq_pop(struct rq *rq, const char *const *queues, int nq, int max, int64_t *ids, int *qidx,
           double *scores);
/* Blocks up to timeout_ms for one ID from any of the queues (BZPOPMIN); 0 on timeout. */
int rq_pop_wait(struct rq *rq, const char *const *queues, int nq, int timeout_ms, int64_t *id,
                int *qidx, double *score);
/* Puts popped IDs back with the scores they had (ZADD NX), e.g. when a worker stops between
 * the pop and the claim. */
int rq_requeue(struct rq *rq, const char *queue, const int64_t *ids, const double *scores, int n);

/* Sets missing[i] for each ID the queue does not hold (ZMSCORE). -1 on error. */
int rq_missing(struct rq *rq, const char *queue, const int64_t *ids, int n, bool *missing);
/* Removes IDs from a queue (a cancelled job). */
int rq_remove(struct rq *rq, const char *queue, const int64_t *ids, int n);
/* Number of IDs in a queue, or -1. */
int64_t rq_depth(struct rq *rq, const char *queue);

/* A fleet-wide limit scope: "q:<queue>" or "a:<action>", with its limits (0 = none). */
struct rq_limit {
    const char *scope;
    int concurrency;
    int rate;
    int64_t rate_interval_ms;
};

/* Takes a slot in every scope at once, or none (an atomic script on Redis's clock):
 * a concurrency slot is a lease that expires after lease_ms unless renewed, so a dead holder
 * frees it by itself; a rate slot is a start in a sliding window. member names the holder
 * (the job id). When a concurrency scope is full, waiter (not NULL) joins its waiting set at
 * waiter_score (lowest first), where rq_limit_next_waiter finds it; it leaves them with its slots.
 * Returns 0 when taken, the milliseconds to wait before trying again when a limit is full, or
 * -1 on error. */
int64_t rq_limit_acquire(struct rq *rq, const struct rq_limit *lims, int n, const char *member,
                         int64_t lease_ms, const char *waiter, double waiter_score);
/* Takes the first waiter (lowest score) of scope's waiting set into *waiter (for the caller to
 * free) and *score. Returns 1, 0 when none waits, or -1 on error. */
int rq_limit_next_waiter(struct rq *rq, const char *scope, char **waiter, double *score);
/* Frees member's concurrency slots in the scopes (rate starts stay counted). */
int rq_limit_release(struct rq *rq, const struct rq_limit *lims, int n, const char *member);
/* Extends member's concurrency leases by lease_ms from now, if it still holds them. */
int rq_limit_renew(struct rq *rq, const struct rq_limit *lims, int n, const char *member,
                   int64_t lease_ms);

/* Runs a command whose arguments are given as strings, for administration and tests; returns
 * the integer reply (0 for a status reply) or -1 on error. */
int64_t rq_command(struct rq *rq, int argc, const char **argv);
/* As rq_command, for a read its caller can do without: waits at most timeout_ms (> 0) for each
 * answer (the connect, AUTH and SELECT too, on a connection it makes). One that runs out of it
 * fails (-1) and drops the connection, whose answer would come late; unlike a full timeout, it does
 * not make the process's other calls fail at once (see above): so short a wait proves no hang. */
int64_t rq_command_within(struct rq *rq, int timeout_ms, int argc, const char **argv);

/* The full key of a queue, "<prefix>:q:<queue>"; the caller frees it. */
char *rq_queue_key(const struct rq *rq, const char *queue);

#endif
