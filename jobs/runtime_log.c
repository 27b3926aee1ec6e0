/* This file holds a run's log lines, progress and dry-run plan, and their saving to job_logs. */
#include "runtime_env.h"
#include "caltime.h"
#include "db.h"
#include "utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_word[] = {"DEBUG", "INFO", "WARN", "ERROR"};

/* The run in progress and the lock on its log and progress: a child's signal thread saves them
 * (job_rt_last_words) while the run's own thread may be writing or saving them. */
static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job_ctx *rt_current;

/* Drops the oldest whole lines so the kept log fits JOB_LOG_MAX_BYTES. */
static void
job_rt_trim(struct job_rt *rt)
{
    if (rt->log.len <= JOB_LOG_MAX_BYTES)
        return;
    size_t cut = rt->log.len - JOB_LOG_MAX_BYTES / 4 * 3;
    const char *nl = memchr(rt->log.data + cut, '\n', rt->log.len - cut);
    cut = nl ? (size_t)(nl - rt->log.data) + 1 : rt->log.len;
    memmove(rt->log.data, rt->log.data + cut, rt->log.len - cut);
    rt->log.len -= cut;
    rt->log.data[rt->log.len] = '\0';
}

/* Appends one timestamped, cleaned line to rt's kept log; rt_mu held. The line is cleaned: an
 * API's text, or one clipped inside a character, would otherwise put a byte in the log that the
 * utf8mb4 column refuses, and every later save of it with it. */
static void
job_rt_add_line(struct job_rt *rt, const char *word, const char *msg)
{
    char ts[32];
    caltime_format_dt6(now_wall_ms(), ts, sizeof(ts));
    ts[23] = '\0'; /* milliseconds are enough for a log line */
    char *clean = utf8_clean(msg);
    buf_printf(&rt->log, "%s %s %s\n", ts, word, clean);
    free(clean);
    job_rt_trim(rt);
    rt->unsaved = true;
}

/* Appends one line to the kept log and saves it when a second has passed. */
static void
job_rt_append(struct job_ctx *ctx, const char *word, const char *msg)
{
    pthread_mutex_lock(&rt_mu);
    job_rt_add_line(ctx->rt, word, msg);
    pthread_mutex_unlock(&rt_mu);
    job_rt_save(ctx, false);
}

void
job_log(struct job_ctx *ctx, enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    const char *word = level_word[level <= LOG_LEVEL_ERROR ? level : LOG_LEVEL_ERROR];
    bool fg = ctx->env && ctx->env->foreground;
    if (fg)
        fprintf(stderr, "%s %s\n", word, msg);
    else if (level >= LOG_LEVEL_WARN)
        log_warnx("job %lld attempt %d: %s %s", (long long)ctx->id, ctx->attempt, word, msg);
    else if (level == LOG_LEVEL_INFO)
        log_info("job %lld attempt %d: %s", (long long)ctx->id, ctx->attempt, msg);
    else
        log_debug("job %lld attempt %d: %s", (long long)ctx->id, ctx->attempt, msg);
    if (ctx->rt && !fg)
        job_rt_append(ctx, word, msg);
    free(msg);
}

void
job_progress(struct job_ctx *ctx, int64_t done, int64_t total, const char *note)
{
    struct job_rt *rt = ctx->rt;
    if (rt == NULL)
        return;
    char *clean = utf8_clean_clip(note ? note : "", sizeof(rt->note) - 1);
    pthread_mutex_lock(&rt_mu);
    rt->has_progress = true;
    rt->done = done;
    rt->total = total;
    snprintf(rt->note, sizeof(rt->note), "%s", clean);
    rt->unsaved = true;
    pthread_mutex_unlock(&rt_mu);
    free(clean);
    if (ctx->env && ctx->env->foreground && now_mono_ms() - rt->last_save_ms >= 1000) {
        fprintf(stderr, "progress: %lld/%lld %s\n", (long long)done, (long long)total, rt->note);
        rt->last_save_ms = now_mono_ms();
        return;
    }
    job_rt_save(ctx, false);
}

void
job_plan(struct job_ctx *ctx, cJSON *step_take)
{
    struct job_rt *rt = ctx->rt;
    if (!ctx->dry_run || rt == NULL) {
        cJSON_Delete(step_take);
        return;
    }
    char *text = rt->plan_left_out ? NULL : cJSON_PrintUnformatted(step_take);
    size_t n = text ? strlen(text) + 1 : 0;
    free(text);
    if (rt->plan_left_out || rt->plan_bytes + n > JOB_PLAN_MAX_BYTES) {
        /* A dry run of a big sync plans a step per item: its plan would outgrow the result
         * the worker stores, and be replaced whole by a note of its size. */
        if (rt->plan_left_out++ == 0)
            job_warn(ctx,
                     "dry run: the plan keeps its first %d steps (%u KiB); the later ones "
                     "are counted in the result's plan_left_out, not kept",
                     cJSON_GetArraySize(rt->plan), JOB_PLAN_MAX_BYTES >> 10);
        cJSON_Delete(step_take);
        return;
    }
    rt->plan_bytes += n;
    if (rt->plan == NULL)
        rt->plan = cJSON_CreateArray();
    cJSON_AddItemToArray(rt->plan, step_take);
}

/* Writes rt's log and progress to job_logs on db; rt_mu held. */
static int
job_rt_write(struct db *db, const struct job_ctx *ctx)
{
    const struct job_rt *rt = ctx->rt;
    struct job_log_progress pr = {rt->done, rt->total, rt->note[0] ? rt->note : NULL};
    return job_log_save(db, ctx->id, ctx->attempt, rt->log.len ? rt->log.data : NULL,
                        rt->has_progress ? &pr : NULL);
}

void
job_rt_save(struct job_ctx *ctx, bool force)
{
    struct job_rt *rt = ctx->rt;
    if (rt == NULL || ctx->env == NULL || ctx->env->foreground || ctx->id <= 0)
        return;
    /* Held through the write, so last words are never overtaken by an older save. */
    pthread_mutex_lock(&rt_mu);
    if (rt->unsaved &&
        (force || rt->last_save_ms == 0 || now_mono_ms() - rt->last_save_ms >= 1000)) {
        rt->last_save_ms = now_mono_ms();
        struct db *db = job_env_fleet(ctx->env);
        /* A lost line of log is not worth failing the job for: it stays unsaved for the next
         * try. */
        if (db && job_rt_write(db, ctx) < 0)
            log_warnx("job %lld: saving its log: %s", (long long)ctx->id, db_errstr(db));
        else if (db)
            rt->unsaved = false;
    }
    pthread_mutex_unlock(&rt_mu);
}

void
job_rt_attach(struct job_ctx *ctx)
{
    pthread_mutex_lock(&rt_mu);
    rt_current = ctx;
    pthread_mutex_unlock(&rt_mu);
}

void
job_rt_detach(void)
{
    pthread_mutex_lock(&rt_mu);
    rt_current = NULL;
    pthread_mutex_unlock(&rt_mu);
}

void
job_rt_last_words(const struct cfg *cfg)
{
    pthread_mutex_lock(&rt_mu);
    struct job_ctx *ctx = rt_current;
    if (ctx == NULL || ctx->rt == NULL || ctx->env == NULL || ctx->env->foreground || ctx->id <= 0)
        return; /* the lock is kept: the process is about to end */
    job_rt_add_line(ctx->rt, "WARN", "stopped by its worker (SIGTERM) at this point");
    /* A connection of its own: the run's may be in the middle of a statement. Quick to give
     * up, as kill_grace_s (5 s by default) ends the process anyway. */
    struct cfg_mysql m = cfg->mysql;
    m.connect_timeout_s = m.connect_timeout_s < 2 ? m.connect_timeout_s : 2;
    m.read_timeout_s = m.read_timeout_s < 2 ? m.read_timeout_s : 2;
    struct db *db = db_new(&m);
    if (db_connect(db) < 0 || job_rt_write(db, ctx) < 0)
        log_warnx("job %lld: saving its log as it stops: %s", (long long)ctx->id, db_errstr(db));
    db_free(db);
}

void
job_rt_release(struct job_rt *rt)
{
    buf_release(&rt->log);
    cJSON_Delete(rt->plan);
    rt->plan = NULL;
}
