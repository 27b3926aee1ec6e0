/* This file holds the jobs statements of the scheduler's steps (lifecycle_sched.h): the pickup
 * of due jobs, the reconcile scan, and the watchdog's and lease recovery's scans. */
#include "lifecycle_sched.h"
#include "util.h"

#include <stdlib.h>

struct db_rows *
lifecycle_sched_due(struct db *db, int limit)
{
    /* ix_jobs_state_due gives the due rows in run_at order and nothing else, so jobs
     * waiting for a later run_at cost nothing. SKIP LOCKED lets a second scheduler (during a
     * failover) take other rows instead of waiting for ours. */
    return db_query(db, LIFECYCLE_SQL_DUE, DB_P(DBI(limit)));
}

int
lifecycle_sched_queue(struct db *db, const struct db_rows *due)
{
    int n = due->n_rows;
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *sql = xasprintf("UPDATE jobs SET state = 'queued', dt_queued = NOW(6), "
                          "limit_deferred = 0 WHERE id IN (%s) AND state = 'pending'",
                          ph);
    struct db_param *p = xcalloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(db_rows_int(due, i, 0, 0));
    int rc = db_exec(db, sql, p, n, NULL, NULL);
    free(p);
    free(sql);
    free(ph);
    return rc;
}

struct db_rows *
lifecycle_sched_queued_stale(struct db *db, int requeue_after_s, const char *after_dt,
                             int64_t after_id, int limit)
{
    /* The cursor is (dt_due, id) — for a queued job dt_due is its dt_queued — the order of
     * ix_jobs_state_due (InnoDB appends the primary key to it), so each batch is one index
     * range read that starts at the cursor and stops at the LIMIT: the cost per call is the
     * batch, whatever the backlog. A cursor on id alone would not follow the index and would
     * sort every old queued row each time. The ">=" conjunct is the range start the optimizer
     * needs; the OR only skips the rows of the cursor's own dt_due already seen. */
    return db_query(
        db, LIFECYCLE_SQL_QUEUED_STALE,
        DB_P(DBI(requeue_after_s), DBS(after_dt), DBS(after_dt), DBI(after_id), DBI(limit)));
}

struct db_rows *
lifecycle_sched_overdue(struct db *db, int grace_s, int limit)
{
    /* A running job without an instance cannot pass the check-out guard; leaving it out keeps
     * it from taking a batch slot on every tick. */
    return db_query(db, LIFECYCLE_SQL_OVERDUE, DB_P(DBI(grace_s), DBI(limit)));
}

struct db_rows *
lifecycle_sched_running_instances(struct db *db)
{
    return db_query(db, LIFECYCLE_SQL_RUNNING_INSTANCES, DB_NOP);
}

struct db_rows *
lifecycle_sched_orphaned(struct db *db, int64_t instance_id, int limit)
{
    return db_query(db, LIFECYCLE_SQL_ORPHANED, DB_P(DBI(instance_id), DBI(limit)));
}
