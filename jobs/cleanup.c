/* This file holds the retention job functions: succeeded jobs and webhook log rows older than
 * [scheduler] retention_days are deleted in small batches. */
#include "cleanup.h"
#include "cfg.h"
#include "job.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cleanup_jobs_batch(struct db *db, const char *cutoff, int batch)
{
    if (db_begin(db) < 0)
        return -1;
    /* Locking the batch first keeps a concurrent `retry --force` from reviving a job whose
     * attempts are being deleted. ix_jobs_state_due serves the range. */
    struct db_rows *r = db_query(db, CLEANUP_SQL_JOBS, DB_P(DBS(cutoff), DBI(batch)));
    if (r == NULL)
        goto fail;
    int n = r->n_rows;
    if (n == 0) {
        db_rows_free(r);
        return db_commit(db) < 0 ? -1 : 0;
    }
    struct db_param *p = xcalloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(db_rows_int(r, i, 0, 0));
    db_rows_free(r);
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *del_att = xasprintf("DELETE FROM job_attempts WHERE job_id IN (%s)", ph);
    char *del_jobs = xasprintf("DELETE FROM jobs WHERE id IN (%s) AND state = 'succeeded'", ph);
    int rc = db_exec(db, del_att, p, n, NULL, NULL);
    if (rc == 0)
        rc = db_exec(db, del_jobs, p, n, NULL, NULL);
    free(del_att);
    free(del_jobs);
    free(ph);
    free(p);
    if (rc < 0 || db_commit(db) < 0)
        goto fail;
    return n;
fail:
    db_rollback(db);
    return -1;
}

int
cleanup_webhooks_batch(struct db *db, const char *cutoff, int batch)
{
    uint64_t n = 0;
    if (db_exec(db, CLEANUP_SQL_WEBHOOKS, DB_P(DBS(cutoff), DBI(batch)), &n, NULL) < 0)
        return -1;
    return (int)n;
}

/* Runs batches until one comes back short, the job is cancelled, or the database fails. */
static void
cleanup_run(struct job_ctx *ctx, const cJSON *params, struct job_out *out, const char *what,
            cleanup_batch_fn *fn)
{
    if (ctx->cfg == NULL) {
        job_out_fail(out, JOB_FAIL, "%s: no configuration in the job context", what);
        return;
    }
    int days = ctx->cfg->scheduler.retention_days, batch = CLEANUP_BATCH;
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
    job_format_time(now_wall_ms() - (int64_t)days * 86400 * 1000, cutoff, sizeof(cutoff));
    struct db *db = db_new(&ctx->cfg->mysql);
    if (db_connect(db) < 0) {
        job_out_fail(out, JOB_RETRY, "%s: %s", what, db_errstr(db));
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
    cleanup_run(ctx, params, out, "delete succeeded jobs", cleanup_jobs_batch);
}

void
cleanup_webhooks(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    cleanup_run(ctx, params, out, "delete webhook log rows", cleanup_webhooks_batch);
}
