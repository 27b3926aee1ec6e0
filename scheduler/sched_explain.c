/* This file shows how MariaDB runs each tick query (`jobfleet-scheduler --explain`), so an
 * operator or a test can check that none reads more than an index range. */
#include "caltime.h"
#include "retention.h"
#include "webhook_log_store.h"
#include "db.h"
#include "instance.h"
#include "job.h"
#include "lifecycle_sched.h"
#include "log.h"
#include "sched.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sched_explained {
    const char *step;
    const char *sql;
    struct db_param p[5];
    int n;
};

int
sched_explain(const struct cfg *cfg)
{
    struct db *db = db_new(&cfg->mysql);
    if (db_connect(db) < 0) {
        fprintf(stderr, "jobfleet-scheduler: %s\n", db_errstr(db));
        db_free(db);
        return 1;
    }
    const struct cfg_scheduler *c = &cfg->scheduler;
    int batch = c->batch_size;
    char cutoff[40];
    caltime_format_dt6(now_wall_ms() - (int64_t)c->retention_days * 86400 * 1000, cutoff,
                       sizeof(cutoff));
    /* The parameters a tick would bind; the cursor at its start. */
    const struct sched_explained q[] = {
        {"pickup", LIFECYCLE_SQL_DUE, {DBI(batch)}, 1},
        {"reconcile",
         LIFECYCLE_SQL_QUEUED_STALE,
         {DBI(c->requeue_after_s), DBS("1970-01-01 00:00:00"), DBS("1970-01-01 00:00:00"), DBI(0),
          DBI(batch)},
         5},
        {"watchdog", LIFECYCLE_SQL_OVERDUE, {DBI(sched_watchdog_grace_s(cfg)), DBI(batch)}, 2},
        {"lease-instances",
         INSTANCE_SQL_SILENT,
         {DBI(cfg->worker.lease_s), DBI(cfg->worker.lease_s), DBI(cfg->worker.lease_s),
          DBI(INT64_C(1) << 31), DBI(batch)},
         5},
        {"lease-dead",
         INSTANCE_SQL_DEAD,
         {DBI(cfg->worker.lease_s), DBI(SCHED_DEAD_WINDOW_S), DBI(SCHED_DEAD_MAX)},
         3},
        {"lease-running", LIFECYCLE_SQL_RUNNING_INSTANCES, {DBI(0)}, 0},
        {"lease-jobs", LIFECYCLE_SQL_ORPHANED, {DBI(0), DBI(batch)}, 2},
        {"retention-jobs", RETENTION_SQL_JOBS, {DBS(cutoff), DBI(SCHED_RETENTION_BATCH)}, 2},
        {"retention-webhooks",
         WEBHOOK_LOG_SQL_RETENTION,
         {DBS(cutoff), DBI(SCHED_RETENTION_BATCH)},
         2},
    };
    int rc = 0;
    printf("%-20s %-18s %-8s %-28s %s\n", "STEP", "TABLE", "TYPE", "KEY", "ROWS");
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        char *sql = xasprintf("EXPLAIN %s", q[i].sql);
        struct db_rows *r = db_query(db, sql, q[i].p, q[i].n);
        free(sql);
        if (r == NULL) {
            fprintf(stderr, "jobfleet-scheduler: explain %s: %s\n", q[i].step, db_errstr(db));
            rc = 1;
            continue;
        }
        int c_table = -1, c_type = -1, c_key = -1, c_rows = -1;
        for (int k = 0; k < r->n_cols; k++) {
            if (!strcmp(r->names[k], "table"))
                c_table = k;
            else if (!strcmp(r->names[k], "type"))
                c_type = k;
            else if (!strcmp(r->names[k], "key"))
                c_key = k;
            else if (!strcmp(r->names[k], "rows"))
                c_rows = k;
        }
        for (int row = 0; row < r->n_rows; row++) {
            const char *table = db_rows_get(r, row, c_table), *type = db_rows_get(r, row, c_type),
                       *key = db_rows_get(r, row, c_key), *rows = db_rows_get(r, row, c_rows);
            printf("%-20s %-18s %-8s %-28s %s\n", q[i].step, table ? table : "-", type ? type : "-",
                   key ? key : "-", rows ? rows : "-");
            /* A full scan of jobs grows with the backlog: that is the failure this exists
             * to catch. (worker_instances stays small: retention deletes stopped and lost
             * workers' rows after retention_days.) */
            if (table && strcmp(table, "j") == 0 && type && strcmp(type, "ALL") == 0)
                rc = 1;
            if (table && strcmp(table, "jobs") == 0 && type && strcmp(type, "ALL") == 0)
                rc = 1;
        }
        db_rows_free(r);
    }
    db_free(db);
    return rc;
}
