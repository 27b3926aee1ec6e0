/* This file holds the retention batch of the jobs tables: the deletes of succeeded jobs with
 * their attempt, log and memo rows older than a cutoff, shared by the scheduler's retention step
 * and the System/Cleanup job functions. */
#include "retention.h"
#include "job_log.h"
#include "job_memo.h"
#include "util.h"

#include <stdlib.h>

int
retention_jobs_batch(struct db *db, const char *cutoff, int batch)
{
    if (db_begin(db) < 0)
        return -1;
    /* Locking the batch first keeps a concurrent `retry --force` from reviving a job whose
     * attempts are being deleted. ix_jobs_state_due serves the range. */
    struct db_rows *r = db_query(db, RETENTION_SQL_JOBS, DB_P(DBS(cutoff), DBI(batch)));
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
    /* The batch was locked as succeeded: the ids are exactly the jobs to delete. */
    int rc = db_exec_in(db, "DELETE FROM job_attempts WHERE job_id IN ", p, n);
    if (rc == 0)
        rc = job_log_delete(db, p, n);
    if (rc == 0)
        rc = job_memo_delete(db, p, n);
    if (rc == 0)
        rc = db_exec_in(db, "DELETE FROM jobs WHERE state = 'succeeded' AND id IN ", p, n);
    free(p);
    if (rc < 0 || db_commit(db) < 0)
        goto fail;
    return n;
fail:
    db_rollback(db);
    return -1;
}

int64_t
retention_count(struct db *db, const char *sql, const char *cutoff)
{
    struct db_rows *r = db_query(db, sql, DB_P(DBS(cutoff)));
    if (r == NULL)
        return -1;
    int64_t n = db_rows_int(r, 0, 0, 0);
    db_rows_free(r);
    return n;
}

int64_t
retention_jobs_count(struct db *db, const char *cutoff)
{
    return retention_count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded' AND dt_due < ?",
                           cutoff);
}
