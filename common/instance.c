/* This file holds the worker_instances statements: a worker's own row, and the scheduler's
 * lease check. */
#include "instance.h"
#include "job.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t
instance_register(struct db *db, const char *queues, int concurrency, int lease_s)
{
    char host[256] = "unknown";
    gethostname(host, sizeof(host) - 1);
    uint64_t id = 0;
    if (db_exec(db,
                "INSERT INTO worker_instances (host, pid, queues, concurrency, lease_s, "
                "dt_started, dt_heartbeat, state) VALUES (?, ?, ?, ?, ?, NOW(6), NOW(6), "
                "'running')",
                DB_P(DBS(host), DBI(getpid()), DBS(queues), DBI(concurrency), DBI(lease_s)), NULL,
                &id) < 0)
        return -1;
    return (int64_t)id;
}

int
instance_heartbeat(struct db *db, int64_t id, const char *state, bool revive)
{
    /* A lost row brought back at once let the worker run on the jobs the scheduler had given to
     * other workers meanwhile (their check-outs are guarded, their work is not): twice at once.
     * Matched rows are counted (CLIENT_FOUND_ROWS), so 0 means lost, not unchanged. */
    uint64_t n = 0;
    if (db_exec(db,
                "UPDATE worker_instances SET dt_heartbeat = NOW(6), state = ? WHERE id = ? AND "
                "(state <> 'lost' OR ?)",
                DB_P(DBS(state), DBI(id), DBI(revive)), &n, NULL) < 0)
        return -1;
    return n == 0 ? 1 : 0;
}

int
instance_stop(struct db *db, int64_t id)
{
    return db_exec(db,
                   "UPDATE worker_instances SET state = 'stopped', dt_stopped = NOW(6), "
                   "dt_heartbeat = NOW(6) WHERE id = ?",
                   DB_P(DBI(id)), NULL, NULL);
}

int
instance_live(struct db *db, int64_t *workers, int64_t *slots)
{
    struct db_rows *r =
        db_query(db,
                 "SELECT COUNT(*), COALESCE(SUM(concurrency), 0) FROM worker_instances "
                 "WHERE state IN ('running','draining')",
                 DB_NOP);
    if (r == NULL || r->n_rows == 0) {
        db_rows_free(r);
        return -1;
    }
    *workers = db_rows_int(r, 0, 0, 0);
    *slots = db_rows_int(r, 0, 1, 0);
    db_rows_free(r);
    return 0;
}

int
instance_served_queues(struct db *db, void (*each)(const char *queue, void *arg), void *arg)
{
    struct db_rows *r = db_query(db,
                                 "SELECT DISTINCT queues FROM worker_instances "
                                 "WHERE state IN ('running','draining')",
                                 DB_NOP);
    if (r == NULL)
        return -1;
    for (int i = 0; i < r->n_rows; i++) {
        char *spec = xstrdup(db_rows_get(r, i, 0) ? db_rows_get(r, i, 0) : ""), *save = NULL;
        for (char *item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            item[strcspn(item, ":")] = '\0';
            item += strspn(item, " \t");
            size_t n = strlen(item);
            while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
                item[--n] = '\0';
            /* The worker refused to start on a bad name; a row of another version may differ. */
            if (job_queue_name_ok(item))
                each(item, arg);
        }
        free(spec);
    }
    db_rows_free(r);
    return 0;
}

struct db_rows *
instance_silent(struct db *db, int dflt_lease_s, int64_t back_s, int limit)
{
    return db_query(
        db, INSTANCE_SQL_SILENT,
        DB_P(DBI(dflt_lease_s), DBI(dflt_lease_s), DBI(dflt_lease_s), DBI(back_s), DBI(limit)));
}

struct db_rows *
instance_dead(struct db *db, int dflt_lease_s, int window_s, int limit)
{
    return db_query(db, INSTANCE_SQL_DEAD, DB_P(DBI(dflt_lease_s), DBI(window_s), DBI(limit)));
}

int
instance_mark_lost(struct db *db, int64_t id, int dflt_lease_s, int64_t back_s)
{
    uint64_t affected = 0;
    if (db_exec(db,
                "UPDATE worker_instances SET state = 'lost' WHERE id = ? "
                "AND state IN ('running', 'draining') AND " INSTANCE_SQL_IS_SILENT,
                DB_P(DBI(id), DBI(dflt_lease_s), DBI(dflt_lease_s), DBI(back_s)), &affected,
                NULL) < 0)
        return -1;
    return affected == 1;
}

struct db_rows *
instance_list(struct db *db, int recent_s, int limit)
{
    return db_query(db,
                    "SELECT id, host, pid, queues, concurrency, dt_started, "
                    "FLOOR(TIMESTAMPDIFF(MICROSECOND, dt_heartbeat, NOW(6)) / 1000) AS "
                    "heartbeat_age_ms, state FROM worker_instances "
                    "WHERE state IN ('running', 'draining') "
                    "OR dt_heartbeat >= NOW(6) - INTERVAL ? SECOND ORDER BY id DESC LIMIT ?",
                    DB_P(DBI(recent_s), DBI(limit)));
}

int
instance_delete_batch(struct db *db, const char *cutoff, int batch)
{
    uint64_t n = 0;
    /* ix_instances_state_heartbeat serves the range. */
    if (db_exec(db,
                "DELETE FROM worker_instances WHERE state IN ('stopped', 'lost') AND "
                "dt_heartbeat < ? LIMIT ?",
                DB_P(DBS(cutoff), DBI(batch)), &n, NULL) < 0)
        return -1;
    return (int)n;
}
