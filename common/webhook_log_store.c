/* This file holds the webhook_log table's SQL. */
#include "webhook_log_store.h"
#include "util.h"

#include <stdlib.h>

int
webhook_log_store_insert(struct db *db, const struct webhook_log_row *rows, int n)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "INSERT INTO webhook_log (dt_received, source, path, action, status, job_id, "
                      "reason) VALUES ");
    struct db_param *p = xcalloc((size_t)n * 7, sizeof(*p));
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, i ? ",(?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?)");
        const struct webhook_log_row *r = &rows[i];
        struct db_param *q = p + 7 * i;
        q[0] = DBS(r->received);
        q[1] = DBS(r->source);
        q[2] = DBS(r->path);
        q[3] = DBS(r->action);
        q[4] = DBI(r->status);
        q[5] = r->job_id > 0 ? DBI(r->job_id) : DBNULL;
        q[6] = DBS(r->reason);
    }
    int rc = db_exec(db, sql.data, p, n * 7, NULL, NULL);
    buf_release(&sql);
    free(p);
    return rc;
}

int
webhook_log_store_delete_batch(struct db *db, const char *cutoff, int batch)
{
    uint64_t n = 0;
    if (db_exec(db, WEBHOOK_LOG_SQL_RETENTION, DB_P(DBS(cutoff), DBI(batch)), &n, NULL) < 0)
        return -1;
    return (int)n;
}

int64_t
webhook_log_store_count_before(struct db *db, const char *cutoff)
{
    return retention_count(db, "SELECT COUNT(*) FROM webhook_log WHERE dt_received < ?", cutoff);
}

struct db_rows *
webhook_log_store_per_minute(struct db *db, int minutes)
{
    return db_query(db,
                    "SELECT FLOOR(UNIX_TIMESTAMP(dt_received) / 60) AS m, COUNT(*) "
                    "FROM webhook_log WHERE dt_received >= NOW(6) - INTERVAL ? MINUTE GROUP BY m",
                    DB_P(DBI(minutes)));
}

struct db_rows *
webhook_log_store_recent(struct db *db, const char *timeout_prefix, const char *source,
                         int status_class, int64_t before_id, int window, int limit)
{
    /* The window bounds the rows examined when the filters match few of them. */
    char *sql = xasprintf(
        "%sSELECT l.id, l.dt_received, l.source, l.path, l.action, l.status, l.job_id, "
        "l.reason FROM (SELECT id FROM webhook_log WHERE (? = 0 OR id < ?) ORDER BY id DESC "
        "LIMIT ?) w JOIN webhook_log l ON l.id = w.id WHERE (? IS NULL OR l.source = ?) "
        "AND (? = 0 OR l.status DIV 100 = ?) ORDER BY l.id DESC LIMIT ?",
        timeout_prefix);
    struct db_rows *r =
        db_query(db, sql,
                 DB_P(DBI(before_id), DBI(before_id), DBI(window), DBS(source), DBS(source),
                      DBI(status_class), DBI(status_class), DBI(limit)));
    free(sql);
    return r;
}
