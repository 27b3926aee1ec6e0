/* The running side of a job's life: claiming queued jobs and finishing running ones. Worker
 * check-outs and the scheduler's recoveries (watchdog, lease) finish jobs through the same
 * guarded statements, so a late zombie can never overwrite a recovered job (invariant 3). */
#ifndef JOBFLEET_LIFECYCLE_H
#define JOBFLEET_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "registry.h"

/* A job taken by a claim: what a child needs to run it. Strings are owned. */
struct claimed_job {
    int64_t id;
    int attempt;
    int max_attempts;
    int timeout_s;
    char *action;
    char *parameters;
    char *queue;
    char *dt_started; /* as stored, for the attempt row */
};

void claimed_job_release(struct claimed_job *j);

/* Claims the IDs that are still queued for instance_id, in one transaction: takes each row
 * for exactly one claimer (invariant 2) and commits the check-in before returning (invariant
 * 3). Fills out (capacity n) and returns how many were claimed; IDs no longer queued
 * (duplicates, cancelled, claimed elsewhere) or in a paused queue are skipped. ids must not
 * hold jobs this instance is already running (the read-back could not tell them apart). Returns -1
 * on error; when the commit's answer was lost the rows are read back, so a positive count is always
 * the truth. */
int lifecycle_claim(struct db *db, const int64_t *ids, int n, int64_t instance_id,
                    struct claimed_job *out);

/* The queue and action of those ids still queued (for limit checks before a claim). Returns
 * rows of (id, queue, action), or NULL on error. */
struct db_rows *lifecycle_peek(struct db *db, const int64_t *ids, int n);
/* Sends a queued job back to pending for delay_ms: it waits for a limit without failing. */
int lifecycle_defer(struct db *db, int64_t id, int64_t delay_ms);

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
    int64_t retry_delay_ms;  /* > 0 overrides the backoff */
    const char *dt_started;  /* NULL: taken from the job row */
    int64_t backoff_base_ms; /* 0: the action's registered default */
    int64_t backoff_cap_ms;
};

/* Writes the outcomes in one transaction: each job's guarded check-out (id, instance,
 * attempt, state='running') and one job_attempts row per job whose check-out took. A failed
 * attempt with attempts left goes back to pending at now + backoff. applied (may be NULL,
 * capacity n) tells which took. Returns 0, or -1 when nothing was written (the caller retries
 * with the same outcomes: the guard makes a repeat harmless). */
int lifecycle_finish(struct db *db, const struct outcome *o, int n, bool *applied);

/* Check-outs and a claim in ONE transaction: the worker's hot path, one commit where the two
 * would take two. took (capacity n) tells which check-outs took; out (capacity nids) gets the
 * claimed jobs and *n_claimed their number. The claim is committed before this returns, so
 * the jobs may run (invariant 3). Returns 0; -1 on error (nothing written, nothing claimed);
 * -2 when the commit's answer was lost: the claims were read back (*n_claimed is the truth)
 * and the check-outs must be written again (the guards make that safe). */
int lifecycle_sync(struct db *db, const struct outcome *o, int n, bool *took, const int64_t *ids,
                   int nids, int64_t instance_id, struct claimed_job *out, int *n_claimed);

#endif
