/* The table of job functions: each action name maps to a C function and its defaults.
 * How to add a job function: write it in jobs/<family>.c, declare it in that family's header,
 * and add a row to the table in registry.c. */
#ifndef JOBFLEET_REGISTRY_H
#define JOBFLEET_REGISTRY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* What the caller must do with the job: done, try again (after an optional delay), or give
 * up now whatever attempts remain. */
enum job_status { JOB_OK = 0, JOB_RETRY = 1, JOB_FAIL = 2, JOB_CANCELLED = 3 };

struct job_ctx;
struct cfg;

/* The outcome a job function fills in. result is JSON text (owned, may be NULL); reason is a
 * failure reason (owned, may be NULL); retry_delay_ms, when > 0, overrides the backoff. */
struct job_out {
    enum job_status status;
    char *result;
    char *reason;
    int64_t retry_delay_ms;
};

/* A job function. params is the parsed parameters (borrowed). It must not exit or longjmp;
 * a crash costs only the child process it runs in. */
typedef void job_fn(struct job_ctx *ctx, const cJSON *params, struct job_out *out);

struct job_def {
    const char *action;
    job_fn *fn;
    const char *queue; /* default queue */
    int max_attempts;  /* default attempts */
    int timeout_s;     /* default timeout */
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    bool test_only; /* registered only with [worker] test_actions = true */
    /* When set, a job enqueued without a unique_key gets "<action>:<value>" made from these
     * parameters (comma-separated names), so two jobs for the same thing never wait at once
     * (e.g. "ticket_id" for a ticket sync). */
    const char *unique_by;
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

/* Finds an action; test-only actions are found only when test_actions is true. */
const struct job_def *registry_find(const char *action, bool test_actions);
/* Iterates the table: returns the i-th visible definition or NULL past the end. */
const struct job_def *registry_at(int i, bool test_actions);

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
