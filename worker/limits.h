/* The worker's view of fleet-wide settings: which queues are paused and which limits a job
 * is subject to, refreshed from MariaDB, with leases taken in Redis. */
#ifndef JOBFLEET_LIMITS_H
#define JOBFLEET_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "lifecycle.h"
#include "rq.h"
#include "settings.h"

/* The scopes one job is limited by (its queue's and its action's), with storage for the
 * scope names the rq_limit entries point into. */
struct job_limits {
    char qscope[72];
    char ascope[200];
    /* The slots' member in Redis, one of its own for each acquire: "<job id>:<nonce>". The job's
     * id alone was shared by a later claim of the same job (after a hand-back, a recovery), and a
     * late free of the earlier slots removed the later claim's. */
    char member[48];
    struct rq_limit lim[2];
    bool is_queue[2]; /* lim[i] is the queue's scope (else the action's) */
    int n;
};

struct limiter {
    struct settings set;
    bool loaded;
    struct rq *rq; /* opened on first use: only fleets with limits pay for a second connection */
    const struct cfg_redis *redis;
    int64_t lease_ms;
    uint64_t nonce; /* random at init, then one more for each acquire */
};

void limiter_init(struct limiter *l, const struct cfg_redis *redis, int64_t lease_ms);
void limiter_release(struct limiter *l);
/* Reloads the settings; keeps the old snapshot on error (-1). */
int limiter_refresh(struct limiter *l, struct db *db);
bool limiter_active(const struct limiter *l);
bool limiter_paused(const struct limiter *l, const char *queue);
/* The queues and actions that have a concurrency or rate limit, for a claim that leaves their
 * jobs to the limiter (lifecycle_except); empty when the limiter is not active. The names
 * point into the snapshot (valid until the next refresh); free ex with limiter_except_free. */
void limiter_except(const struct limiter *l, struct lifecycle_except *ex);
void limiter_except_free(struct lifecycle_except *ex);
/* Fills jl with the job's scopes; jl->n is 0 when none applies. */
void limiter_scopes(const struct limiter *l, const char *queue, const char *action,
                    struct job_limits *jl);
/* Takes the slots of job id under a member of their own (jl->member): 0 taken, > 0 ms to wait,
 * -1 error. When a concurrency scope is full, the job (of queue, at its queue score) waits in
 * line for it: limiter_next_waiter hands it to whoever frees a slot of the scope. */
int64_t limiter_acquire(struct limiter *l, struct job_limits *jl, int64_t id, const char *queue,
                        double score);
/* Frees the slots jl's acquire took, and no one else's; then jl holds none. */
void limiter_free_slots(struct limiter *l, struct job_limits *jl);

/* A job waiting in line for a concurrency slot. */
struct limit_waiter {
    int64_t id;
    char queue[65];
    double score; /* its queue score (rq_score) */
};
/* As limiter_free_slots, keeping in *held the scopes it freed, for limiter_next_waiter. */
void limiter_free_keep(struct limiter *l, struct job_limits *jl, struct job_limits *held);
/* Takes from the line of held's scope i, when it is a concurrency scope, the first job into w
 * (highest priority, then oldest): 1, 0 when none waits (or scope i has no concurrency
 * limit), -1 on error. The caller queues it again (lifecycle_wake, then the push); a freed
 * slot would otherwise wait for its next job until that job's deferral ran out. */
int limiter_next_waiter(struct limiter *l, struct job_limits *held, int i, struct limit_waiter *w);
/* Extends the lease of the slots jl holds. */
void limiter_renew(struct limiter *l, struct job_limits *jl);
/* The action's backoff overrides (0 when none). */
void limiter_backoff(const struct limiter *l, const char *action, int64_t *base_ms,
                     int64_t *cap_ms);

#endif
