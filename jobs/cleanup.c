/* This file holds the retention job functions: succeeded jobs and webhook log rows older than
 * [scheduler] retention_days are deleted in small batches (a dry run counts them). */
#include "cleanup.h"
#include "caltime.h"
#include "cfg.h"
#include "job.h"
#include "retention.h"
#include "webhook_log_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dry run: counts what the batches would delete, in a read-only session. */
static void
cleanup_dry_run(struct job_ctx *ctx, struct db *db, struct job_out *out, const char *what,
                const char *cutoff, retention_count_fn *count)
{
    int64_t n = db_set_read_only(db, true) < 0 ? -1 : count(db, cutoff);
    if (n < 0) {
        job_out_fail(out, JOB_RETRY, "%s: %s", what, db_errstr(db));
        return;
    }
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "delete", what);
    cJSON_AddNumberToObject(step, "rows", (double)n);
    job_plan(ctx, step);
    job_out_ok(out, xasprintf("{\"deleted\":0,\"would_delete\":%lld,\"cutoff\":\"%s\"}",
                              (long long)n, cutoff));
}

/* Runs batches until one comes back short, the job is cancelled, or the database fails (in a
 * dry run, counts instead). */
static void
cleanup_run(struct job_ctx *ctx, const cJSON *params, struct job_out *out, const char *what,
            retention_batch_fn *fn, retention_count_fn *count)
{
    if (ctx->cfg == NULL) {
        job_out_fail(out, JOB_FAIL, "%s: no configuration in the job context", what);
        return;
    }
    int days = ctx->cfg->scheduler.retention_days, batch = RETENTION_BATCH;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "days");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(params, "batch");
    if (d && (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 36500)) {
        job_out_fail(out, JOB_FAIL, "parameters: \"days\" must be a number in 1..36500");
        return;
    }
    if (b && (!cJSON_IsNumber(b) || b->valuedouble < 1 || b->valuedouble > 10000)) {
        job_out_fail(out, JOB_FAIL, "parameters: \"batch\" must be a number in 1..10000");
        return;
    }
    if (d)
        days = (int)d->valuedouble;
    if (b)
        batch = (int)b->valuedouble;
    char cutoff[40];
    caltime_format_dt6(now_wall_ms() - (int64_t)days * 86400 * 1000, cutoff, sizeof(cutoff));
    struct db *db = db_new(&ctx->cfg->mysql);
    if (db_connect(db) < 0) {
        job_out_fail(out, JOB_RETRY, "%s: %s", what, db_errstr(db));
        db_free(db);
        return;
    }
    if (ctx->dry_run) {
        cleanup_dry_run(ctx, db, out, what, cutoff, count);
        db_free(db);
        return;
    }
    int64_t total = 0;
    for (;;) {
        if (job_ctx_cancelled(ctx)) {
            job_out_fail(out, JOB_CANCELLED, "cancelled after deleting %lld rows",
                         (long long)total);
            db_free(db);
            return;
        }
        int n = fn(db, cutoff, batch);
        if (n < 0) {
            job_out_fail(out, JOB_RETRY, "%s after deleting %lld rows: %s", what, (long long)total,
                         db_errstr(db));
            db_free(db);
            return;
        }
        total += n;
        if (n < batch)
            break;
    }
    db_free(db);
    job_out_ok(out, xasprintf("{\"deleted\":%lld,\"cutoff\":\"%s\"}", (long long)total, cutoff));
}

void
cleanup_jobs(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    cleanup_run(ctx, params, out, "delete succeeded jobs", retention_jobs_batch,
                retention_jobs_count);
}

void
cleanup_webhooks(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    cleanup_run(ctx, params, out, "delete webhook log rows", webhook_log_store_delete_batch,
                webhook_log_store_count_before);
}
