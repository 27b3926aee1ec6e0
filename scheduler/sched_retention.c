/* This file deletes what the retention window no longer covers: succeeded jobs (with their
 * attempt rows) and webhook log rows, a few small batches per tick so that no tick holds many
 * locks or runs long however much has piled up. Failed and cancelled jobs are kept: an
 * operator may still want to look at them or retry them. */
#include "log.h"
#include "sched.h"
#include "sched_sql.h"
#include "util.h"

#include <stdlib.h>

static int
sched_retention_batch_size(const struct sched *s)
{
    int b = s->cfg->scheduler.batch_size;
    return b < SCHED_RETENTION_BATCH ? b : SCHED_RETENTION_BATCH;
}

/* Deletes one batch of old succeeded jobs and their attempts. Returns the count, or -1. */
static int
sched_retention_jobs(struct sched *s, int limit)
{
    struct db *db = s->db;
    struct db_param *p = NULL;
    char *ph = NULL, *sql = NULL;
    int rc = -1, n = 0;
    if (db_begin(db) < 0)
        return sched_db_fail(s, SCHED_STEP_RETENTION, db);
    /* Locking the rows keeps a concurrent `jobfleet retry --force` from reviving a job whose
     * history is being deleted; SKIP LOCKED leaves such a job for a later tick. */
    struct db_rows *r = db_query(db, SCHED_SQL_RETENTION_JOBS,
                                 DB_P(DBI(s->cfg->scheduler.retention_days), DBI(limit)));
    if (r == NULL)
        goto fail;
    n = r->n_rows;
    if (n == 0) {
        db_rollback(db);
        rc = 0;
        goto out;
    }
    ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    p = xcalloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(db_rows_int(r, i, 0, 0));
    sql = xasprintf("DELETE FROM job_attempts WHERE job_id IN (%s)", ph);
    if (db_exec(db, sql, p, n, NULL, NULL) < 0)
        goto fail;
    free(sql);
    sql = xasprintf("DELETE FROM jobs WHERE id IN (%s) AND state = 'succeeded'", ph);
    if (db_exec(db, sql, p, n, NULL, NULL) < 0)
        goto fail;
    if (db_commit(db) < 0) {
        /* Unknown or not, the next tick finds whatever is still there. */
        sched_db_fail(s, SCHED_STEP_RETENTION, db);
        if (!db_lost(db))
            db_rollback(db);
        goto out;
    }
    rc = n;
    goto out;
fail:
    sched_db_fail(s, SCHED_STEP_RETENTION, db);
    db_rollback(db);
out:
    db_rows_free(r);
    free(p);
    free(sql);
    free(ph);
    return rc;
}

/* Deletes one batch of old webhook log rows. Returns the count, or -1. */
static int
sched_retention_webhooks(struct sched *s, int limit)
{
    uint64_t affected = 0;
    if (db_exec(s->db, SCHED_SQL_RETENTION_WEBHOOKS,
                DB_P(DBI(s->cfg->scheduler.retention_days), DBI(limit)), &affected, NULL) < 0)
        return sched_db_fail(s, SCHED_STEP_RETENTION, s->db);
    return (int)affected;
}

int
sched_retention(struct sched *s)
{
    int limit = sched_retention_batch_size(s), jobs = 0, hooks = 0;
    for (int round = 0; round < SCHED_RETENTION_ROUNDS && !*s->stop; round++) {
        int n = sched_retention_jobs(s, limit);
        if (n < 0)
            return -1;
        jobs += n;
        if (n < limit)
            break;
    }
    for (int round = 0; round < SCHED_RETENTION_ROUNDS && !*s->stop; round++) {
        int n = sched_retention_webhooks(s, limit);
        if (n < 0)
            return -1;
        hooks += n;
        if (n < limit)
            break;
    }
    s->counts.deleted_jobs += jobs;
    s->counts.deleted_webhooks += hooks;
    if (jobs + hooks > 0)
        log_info("retention: deleted %d succeeded jobs and %d webhook log rows older than %d "
                 "days",
                 jobs, hooks, s->cfg->scheduler.retention_days);
    return jobs + hooks;
}
