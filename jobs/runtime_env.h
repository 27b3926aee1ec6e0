/* The runtime's private parts, shared by the files of jobs/runtime*.c. */
#ifndef JOBFLEET_RUNTIME_ENV_H
#define JOBFLEET_RUNTIME_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "job_log.h"
#include "runtime.h"
#include "util.h"

struct rq;

struct job_env_db {
    char *name;
    struct db *db;
};

struct job_env_http;

struct job_env {
    const struct cfg *cfg;
    bool foreground;
    struct db *fleet; /* job_logs, child jobs */
    struct rq *rq;    /* child jobs' pushes, rate budgets */
    struct job_env_db *dbs;
    int n_dbs;
    struct job_env_http *https; /* [service.<name>] clients */
    int n_https;
};

/* One run's log, progress and plan. */
struct job_rt {
    struct buf log;
    int64_t last_save_ms; /* monotonic; 0: never saved */
    bool unsaved;         /* log or progress changed since the last save */
    bool has_progress;
    int64_t done, total;
    char note[JOB_LOG_NOTE_MAX + 1];
    cJSON *plan;           /* dry run only */
    size_t plan_bytes;     /* the plan's steps as JSON text, with a comma each */
    int64_t plan_left_out; /* steps past JOB_PLAN_MAX_BYTES */
};

/* The fleet database connection, connected on first use; NULL (logged once per call) when
 * unreachable. */
struct db *job_env_fleet(struct job_env *env);
/* The Redis connection, connected on first use; NULL when unreachable. */
struct rq *job_env_rq(struct job_env *env);

/* Frees the env's HTTP clients (before the Redis connection they borrow). */
void job_env_http_free(struct job_env *env);

/* Saves the run's log and progress to job_logs when something changed and (unless force) the
 * last save is a second old. Does nothing in the foreground or without a job row. */
void job_rt_save(struct job_ctx *ctx, bool force);
/* Frees the run's state. */
void job_rt_release(struct job_rt *rt);

/* Makes ctx the run in progress that job_rt_last_words saves, until job_rt_detach (called
 * before ctx's run ends). One run at a time per process. */
void job_rt_attach(struct job_ctx *ctx);
void job_rt_detach(void);

/* Called from another thread when the process is being stopped mid-run (a child's SIGTERM from
 * its supervisor: a timeout, a cancel, a drain's end): adds a line saying so to the run in
 * progress and saves its log and progress on a new connection to cfg's fleet database, so the
 * lines of the run's last second, which say where it hung, are kept. Waits for a save the run
 * is making. Leaves rt_mu locked: the caller must end the process next. Does nothing (but
 * lock) without a run, in the foreground, or without a job row. */
void job_rt_last_words(const struct cfg *cfg);

#endif
