/* The running side of a job's life: claiming queued jobs and finishing running ones. Worker
 * check-outs and the scheduler's recoveries (watchdog, lease) finish jobs through the same
 * guarded statements, so a late zombie can never overwrite a recovered job (invariant 3). */
#ifndef JOBFLEET_LIFECYCLE_H
#define JOBFLEET_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "job_status.h"

/* A job taken by a claim: what a child needs to run it. Strings are owned. */
struct claimed_job {
    int64_t id;
    int attempt;
    int max_attempts;
    int timeout_s;
    char *action;
    char *parameters;
    char *queue;
    char *dt_started;    /* as stored, for the attempt row */
    int64_t due_wait_us; /* from due (enqueue, or run_at when later) to the claim, server clock */
    /* When the claiming UPDATE was sent to run (monotonic, db_exec_sent_us), so its NOW(6), the
     * row's dt_started, came after it; 0 when only read back (lifecycle_claim_read). */
    int64_t sent_us;
    bool started_late; /* dt_started is when a child really started it (the claim's time plus
                        * the wait in the window): the check-out writes it to the row too */
    int64_t token;     /* the claim_token of the statement that claimed it */
};

void claimed_job_release(struct claimed_job *j);

/* Queues and actions whose jobs a claim leaves alone; the names are borrowed. */
struct lifecycle_except {
    const char **queues;
    int n_queues;
    const char **actions;
    int n_actions;
};

/* Claims the IDs still queued (and not in a paused queue) for instance_id with ONE
 * conditional UPDATE, committed on its own (db must be in autocommit): the row lock takes each
 * row for exactly one claimer (invariant 2) and the check-in is committed before this returns
 * (invariant 3). The UPDATE also refreshes the instance's heartbeat, and takes nothing while
 * the instance is not running or draining (marked lost by the scheduler, or stopped). The UPDATE
 * stamps the rows it takes with token, which the caller must never reuse within the instance; the
 * read-back by (ids, instance_id, token) then returns exactly what this statement took, so ids may
 * hold jobs the instance already runs (a duplicate delivery): they are not returned. Fills out
 * (capacity n) and returns the count; -1 when nothing was claimed (the server refused the UPDATE);
 * -2 when what happened is unknown (the answer was lost, or the read-back failed): call
 * lifecycle_claim_read with the same token until it answers, and run only what it returns. With
 * except (may be NULL), the jobs of the queues and actions it names stay queued: the caller takes
 * their fleet-wide limits first and claims them with a second call. */
int lifecycle_claim(struct db *db, const int64_t *ids, int n, int64_t instance_id, int64_t token,
                    const struct lifecycle_except *except, struct claimed_job *out);
/* The read-back of lifecycle_claim: the jobs among ids that the claim stamped with token took
 * for instance_id and that are still running. Fills out (capacity n); returns the count or
 * -1. */
int lifecycle_claim_read(struct db *db, const int64_t *ids, int n, int64_t instance_id,
                         int64_t token, struct claimed_job *out);

/* The queue and action of those ids still queued (for limit checks before a claim). Returns
 * rows of (id, queue, action, priority), or NULL on error. */
struct db_rows *lifecycle_peek(struct db *db, const int64_t *ids, int n);
/* Sends a queued job back to pending for delay_ms: it waits for a limit without failing;
 * unless its queue's or action's settings changed after settings_at (struct settings'
 * read_at), when the caller judged it by older ones. Returns 1 when deferred, 0 when not (so
 * changed, or the job is no longer queued), -1 on error. */
int lifecycle_defer(struct db *db, int64_t id, int64_t delay_ms, const char *settings_at);
/* Queues at once a job lifecycle_defer sent back (db in autocommit), as the scheduler would
 * when its delay ran out: a slot of its limit was freed. The caller then pushes its ID.
 * Returns 1 when it was so waiting, 0 when not (it ran meanwhile, or is not deferred yet), or
 * -1 on error. */
int lifecycle_wake(struct db *db, int64_t id);

/* Hands claimed jobs that never started back to the queue (db in autocommit): each row still
 * running for instance_id at attempts[i] under the claim that took it (tokens[i]) becomes
 * queued again with its attempt given back, or cancelled (as job_cancel ends a queued job)
 * when a cancel was asked for meanwhile. The caller then pushes the IDs again (the row is
 * committed first: invariant 1); a worker popping a cancelled job's ID drops it. Returns 0 or
 * -1; a repeat is harmless, even after the job was claimed again at the same attempt. */
int lifecycle_hand_back(struct db *db, int64_t instance_id, const int64_t *ids, const int *attempts,
                        const int64_t *tokens, int n);

/* The longest retry delay a job function may ask for (100 years): a longer one would put
 * run_at past what a DATETIME holds, and the check-out that cannot be written would block the
 * worker's every later one. */
#define JOB_RETRY_DELAY_MAX_MS (100LL * 365 * 86400 * 1000)

/* How one attempt ended. Strings are borrowed. */
struct outcome {
    int64_t id;
    int64_t instance_id;
    int attempt;
    int max_attempts;
    const char *action;     /* for the backoff settings */
    enum job_status status; /* JOB_OK, JOB_RETRY, JOB_FAIL, JOB_CANCELLED */
    const char *reason;
    const char *result;      /* JSON text or NULL */
    int64_t execution_ms;    /* -1 when unknown */
    int64_t retry_delay_ms;  /* > 0 overrides the backoff, up to JOB_RETRY_DELAY_MAX_MS */
    const char *dt_started;  /* NULL: taken from the job row */
    bool write_started;      /* also set the row's dt_started to dt_started */
    int64_t backoff_base_ms; /* 0: the action's registered default */
    int64_t backoff_cap_ms;
    int64_t claim_token; /* > 0: the claim must still be this one (a recovery, which read the row
                            earlier: a hand-back and a claim since leave instance and attempt as
                            they were) */
};

/* Writes the outcomes in one transaction: each job's guarded check-out (id, instance,
 * attempt, state='running') and one job_attempts row per job whose check-out took. A failed
 * attempt with attempts left goes back to pending at now + backoff. applied (may be NULL,
 * capacity n) tells which took. Returns 0, or -1 when nothing was written or, with db_lost()
 * true, when the commit's answer was lost (the caller retries with the same outcomes: the
 * guard makes a repeat harmless, and only the rows that did not take yet take then). */
int lifecycle_finish(struct db *db, const struct outcome *o, int n, bool *applied);

/* Fills ids (capacity n) with the running jobs of instance_id that were asked to cancel
 * (jobfleet cancel, POST /api/jobs/{id}/cancel); returns the count or -1. */
int lifecycle_cancel_requests(struct db *db, int64_t instance_id, int64_t *ids, int n);

#endif
