/* This file holds the job_memos table's SQL. */
#include "job_memo.h"

#include <stdio.h>

int
job_memo_read(struct db *db, int64_t job_id, const char *name, char *out, size_t len)
{
    struct db_rows *r = db_query(db, "SELECT value FROM job_memos WHERE job_id = ? AND name = ?",
                                 DB_P(DBI(job_id), DBS(name)));
    if (r == NULL)
        return -1;
    int found = r->n_rows > 0;
    if (found && len > 0)
        snprintf(out, len, "%s", db_rows_get(r, 0, 0) ? db_rows_get(r, 0, 0) : "");
    db_rows_free(r);
    return found;
}

int
job_memo_write(struct db *db, int64_t job_id, const char *name, const char *value)
{
    return db_exec(db,
                   "INSERT INTO job_memos (job_id, name, value, dt_updated) VALUES (?, ?, ?, "
                   "NOW(6)) ON DUPLICATE KEY UPDATE value = VALUES(value), dt_updated = "
                   "VALUES(dt_updated)",
                   DB_P(DBI(job_id), DBS(name), DBS(value)), NULL, NULL);
}

int
job_memo_delete(struct db *db, const struct db_param *job_ids, int n)
{
    return db_exec_in(db, "DELETE FROM job_memos WHERE job_id IN ", job_ids, n);
}
