/* This file holds a run's log lines, progress and dry-run plan, and their saving to job_logs. */
#include "runtime_env.h"
#include "caltime.h"
#include "db.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_word[] = {"DEBUG", "INFO", "WARN", "ERROR"};

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

/* Appends one timestamped line to the kept log and saves it when a second has passed. The
 * line is cleaned: an API's text, or one clipped inside a character, would otherwise put a
 * byte in the log that the utf8mb4 column refuses, and every later save of it with it. */
static void
job_rt_append(struct job_ctx *ctx, const char *word, const char *msg)
{
    struct job_rt *rt = ctx->rt;
    char ts[32];
    caltime_format_dt6(now_wall_ms(), ts, sizeof(ts));
    ts[23] = '\0'; /* milliseconds are enough for a log line */
    char *clean = utf8_clean(msg);
    buf_printf(&rt->log, "%s %s %s\n", ts, word, clean);
    free(clean);
    job_rt_trim(rt);
    rt->unsaved = true;
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
    rt->has_progress = true;
    rt->done = done;
    rt->total = total;
    char *clean = utf8_clean_clip(note ? note : "", sizeof(rt->note) - 1);
    snprintf(rt->note, sizeof(rt->note), "%s", clean);
    free(clean);
    rt->unsaved = true;
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

void
job_rt_save(struct job_ctx *ctx, bool force)
{
    struct job_rt *rt = ctx->rt;
    if (rt == NULL || !rt->unsaved || ctx->env == NULL || ctx->env->foreground || ctx->id <= 0)
        return;
    if (!force && rt->last_save_ms && now_mono_ms() - rt->last_save_ms < 1000)
        return;
    rt->last_save_ms = now_mono_ms();
    struct db *db = job_env_fleet(ctx->env);
    if (db == NULL)
        return;
    struct job_log_progress pr = {rt->done, rt->total, rt->note[0] ? rt->note : NULL};
    /* A lost line of log is not worth failing the job for: it stays unsaved for the next try. */
    if (job_log_save(db, ctx->id, ctx->attempt, rt->log.len ? rt->log.data : NULL,
                     rt->has_progress ? &pr : NULL) < 0) {
        log_warnx("job %lld: saving its log: %s", (long long)ctx->id, db_errstr(db));
        return;
    }
    rt->unsaved = false;
}

void
job_rt_release(struct job_rt *rt)
{
    buf_release(&rt->log);
    cJSON_Delete(rt->plan);
    rt->plan = NULL;
}
