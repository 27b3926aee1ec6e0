/* What a job function is given and returns. The context (struct job_ctx) carries the job's id
 * and attempt, a cancellation flag, the configuration, and the runtime's services: a log kept
 * with the attempt, progress, named databases, HTTP services with a fleet-wide rate budget,
 * child jobs and dry run. The worker's child and `jobfleet run` give a job function the same
 * context (job_run below). */
#ifndef JOBFLEET_RUNTIME_H
#define JOBFLEET_RUNTIME_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job_status.h"
#include "log.h"

struct cfg;
struct db;
struct job_spec;
struct job_ref;
struct job_env;
struct job_rt;
struct httpc;
struct httpc_req;
struct httpc_resp;

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
    int64_t id; /* 0 under `jobfleet run` (no job row) */
    int attempt;
    const char *action;
    /* Set asynchronously when the job is cancelled or the worker must stop it. */
    volatile int *cancel_flag;
    /* The process's configuration (borrowed; NULL where none is loaded). */
    const struct cfg *cfg;
    /* The parameters held "dry_run": true: read and plan, write nothing (see job_plan). */
    bool dry_run;
    struct job_env *env; /* the process's connections, kept across jobs */
    struct job_rt *rt;   /* this run's log, progress and plan */
    /* Set by job_http when it returned NULL for a reason that may pass (Redis unreachable)
     * rather than the configuration: the job should retry, not fail. */
    bool open_transient;
};

/* A job function. params is the parsed parameters (borrowed). It must not exit or longjmp;
 * a crash costs only the child process it runs in. In a worker's child SIGTERM is blocked (a
 * thread of the child takes it to save the last log lines): a process the function starts with
 * fork gets it unblocked, one started with posix_spawn must unblock it itself
 * (posix_spawnattr_setsigmask). */
typedef void job_fn(struct job_ctx *ctx, const cJSON *params, struct job_out *out);

/* The process's runtime: the configuration and the connections job functions open lazily (the
 * fleet database and Redis for logs, progress, child jobs and rate budgets; [db.<name>]
 * databases; [service.<name>] clients), kept across jobs and never shared between processes.
 * foreground (`jobfleet run`): log lines and progress go to stderr only, nothing is written to
 * job_logs. cfg is borrowed and must outlive the env. */
struct job_env *job_env_new(const struct cfg *cfg, bool foreground);
/* Closes every connection and frees the env; accepts NULL. */
void job_env_free(struct job_env *env);

/* Runs fn for one attempt of a job with a fresh context: parses params_json (an invalid or
 * non-object text is a permanent failure), sets dry_run from its "dry_run" member, runs fn,
 * keeps the attempt's log and progress (job_logs, unless foreground) and, in a dry run, puts
 * the plan into the result. out must be zeroed; the caller releases it (job_out_release). */
void job_run(struct job_env *env, job_fn *fn, int64_t id, int attempt, const char *action,
             const char *params_json, volatile int *cancel_flag, struct job_out *out);

/* True once the job has been asked to stop. Job functions that run long check it. */
bool job_ctx_cancelled(const struct job_ctx *ctx);
/* Sleeps up to ms, returning early (true) when the job is cancelled. */
bool job_ctx_sleep(const struct job_ctx *ctx, int64_t ms);

/* A log line of this attempt, at a level: written to the process's log tagged with the job
 * id and attempt, and kept with the attempt (the newest JOB_LOG_MAX_BYTES of them), shown by
 * `jobfleet show` and GET /api/jobs/{id}. */
void job_log(struct job_ctx *ctx, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define job_debug(ctx, ...) job_log(ctx, LOG_LEVEL_DEBUG, __VA_ARGS__)
#define job_info(ctx, ...) job_log(ctx, LOG_LEVEL_INFO, __VA_ARGS__)
#define job_warn(ctx, ...) job_log(ctx, LOG_LEVEL_WARN, __VA_ARGS__)
#define job_error(ctx, ...) job_log(ctx, LOG_LEVEL_ERROR, __VA_ARGS__)

/* Reports progress: done of total (total < 0 when unknown) and a short note (may be NULL).
 * Written at most once a second while the job runs (the latest always at the end), so it is
 * cheap to call for every item. */
void job_progress(struct job_ctx *ctx, int64_t done, int64_t total, const char *note);

/* A memo of this job: what its function keeps between the job's attempts, for a step done on
 * an external system that a retry must not do again (a file uploaded, not yet linked). Set it
 * before the next step, so that a crash or failure between the two leaves it; a later
 * attempt reads it and does only what is left. Kept in the fleet database (job_memos) until
 * retention deletes the job. Names of at most 191 bytes, values of at most 1024.
 * job_memo_get copies the value into out (len bytes; "" when there is none) and returns 1
 * when there is one, 0 when not (always under `jobfleet run`, which has no job row), -1 with
 * err when the database could not say: the caller should retry rather than redo the step.
 * job_memo_set returns 0 (nothing is written in a dry run or under `jobfleet run`), or -1
 * with err. */
int job_memo_get(struct job_ctx *ctx, const char *name, char *out, size_t len, char *err,
                 size_t errlen);
int job_memo_set(struct job_ctx *ctx, const char *name, const char *value, char *err,
                 size_t errlen);

/* The most a dry run's plan keeps, as JSON text: a quarter of what a result may be (the worker
 * stores no result over 4 MiB), so that a plan of a big sync still leaves room for the
 * function's own result. */
#define JOB_PLAN_MAX_BYTES (1u << 20)

/* Records one step a dry run would have taken (takes the item, e.g. {"insert": "ticket 4711"});
 * outside a dry run it is freed and nothing is kept. The plan becomes the result's "plan". Its
 * steps past JOB_PLAN_MAX_BYTES are counted, not kept: the result's "plan_left_out" says how
 * many (logged once, at the first). */
void job_plan(struct job_ctx *ctx, cJSON *step_take);

/* The connection to the [db.<name>] database, opened on first use and kept by this process
 * across jobs (a lost connection reconnects on its next statement). In a dry run the session
 * is read-only, so a write the job function forgot to skip fails instead of writing. NULL with
 * err set when the section is missing or the server unreachable. Owned by the env. */
struct db *job_db(struct job_ctx *ctx, const char *name, char *err, size_t errlen);

/* The client of [service.<name>] (httpc.h), made on first use and kept by this process across
 * jobs; its waits end when the job is cancelled. A service with rate_per_minute draws on a
 * fleet-wide budget in Redis shared by every child of every worker (and its concurrent batch
 * requests too), so N workers together stay within the API's limit; a 429 pauses the service
 * fleet-wide for its Retry-After. NULL with err set when the section is missing or wrong, or
 * when Redis, which holds the budget, is unreachable (then ctx->open_transient is set). Owned
 * by the env. */
struct httpc *job_http(struct job_ctx *ctx, const char *service, char *err, size_t errlen);

/* Sends a request through h (httpc_request), except in a dry run, where a request that is not
 * a GET or HEAD is not sent but recorded in the plan. Returns 0 for a 2xx response, 1 when
 * the request was left unsent by a dry run (resp zeroed), -1 on failure (resp->err says why;
 * httpc_resp_transient tells whether a retry may help). Release resp either way. */
int job_http_send(struct job_ctx *ctx, struct httpc *h, const struct httpc_req *req,
                  struct httpc_resp *resp);

/* Runs fn(db, arg) inside one transaction: commits when it returns 0, rolls back otherwise.
 * Returns fn's result, or -1 when BEGIN or COMMIT failed (db_errstr; a COMMIT lost with the
 * connection leaves the outcome unknown: db_lost). */
int job_db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg);

/* Enqueues a child job (origin "job") on the fleet database and pushes it. spec as for
 * job_insert; give it an idempotency_key made from the parent's id so that a retried parent
 * does not make a second child (a unique_key is released when the child finishes). In a dry run it
 * only records the step in the plan (ref->id stays 0). Returns 0, or -1 with err set. */
int job_enqueue(struct job_ctx *ctx, const struct job_spec *spec, struct job_ref *ref, char *err,
                size_t errlen);

/* Helpers for job functions filling their outcome. */
void job_out_ok(struct job_out *out, char *result_json_take);
void job_out_fail(struct job_out *out, enum job_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void job_out_release(struct job_out *out);

#endif
