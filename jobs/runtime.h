/* What a job function is given and returns: the job's context (id, attempt, cancellation, the
 * configuration, ...) and its outcome. */
#ifndef JOBFLEET_RUNTIME_H
#define JOBFLEET_RUNTIME_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "job_status.h"

struct cfg;

/* The outcome a job function fills in. result is JSON text (owned, may be NULL); reason is a
 * failure reason (owned, may be NULL); retry_delay_ms, when > 0, overrides the backoff. */
struct job_out {
    enum job_status status;
    char *result;
    char *reason;
    int64_t retry_delay_ms;
};

/* The job being run, as the job function sees it. */
struct job_ctx {
    int64_t id;
    int attempt;
    const char *action;
    /* Set asynchronously when the job is cancelled or the worker must stop it. */
    volatile int *cancel_flag;
    /* The process's configuration (borrowed; NULL where none is loaded): job functions open
     * their own connections from it. */
    const struct cfg *cfg;
};

/* A job function. params is the parsed parameters (borrowed). It must not exit or longjmp;
 * a crash costs only the child process it runs in. */
typedef void job_fn(struct job_ctx *ctx, const cJSON *params, struct job_out *out);

/* True once the job has been asked to stop. Job functions that run long check it. */
bool job_ctx_cancelled(const struct job_ctx *ctx);
/* Sleeps up to ms, returning early (true) when the job is cancelled. */
bool job_ctx_sleep(const struct job_ctx *ctx, int64_t ms);

/* Helpers for job functions filling their outcome. */
void job_out_ok(struct job_out *out, char *result_json_take);
void job_out_fail(struct job_out *out, enum job_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void job_out_release(struct job_out *out);

#endif
