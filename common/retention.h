/* Retention of succeeded jobs and webhook log rows: one batch of deletes at a time, so no
 * transaction holds many row locks. The scheduler's retention step and the System/Cleanup job
 * functions run the same batches. */
#ifndef JOBFLEET_RETENTION_H
#define JOBFLEET_RETENTION_H

#include "db.h"

/* Rows per delete batch by default. */
#define RETENTION_BATCH 500

/* One batch: delete up to `batch` rows older than cutoff ("YYYY-MM-DD HH:MM:SS[.ffffff]" UTC)
 * in one transaction. Return the rows deleted, or -1 on a database error (db_errstr; rolled
 * back). retention_jobs_batch deletes succeeded jobs completed before the cutoff with their
 * job_attempts rows. The webhook_log table's batch is webhook_log_store_delete_batch. */
typedef int retention_batch_fn(struct db *db, const char *cutoff, int batch);
retention_batch_fn retention_jobs_batch;

/* What the batches would delete, for a dry run: the rows older than cutoff. Returns the count,
 * or -1 on a database error (db_errstr). retention_jobs_count counts the succeeded jobs. */
typedef int64_t retention_count_fn(struct db *db, const char *cutoff);
retention_count_fn retention_jobs_count;
/* Runs sql, a COUNT(*) whose one placeholder is the cutoff: the count, or -1. */
int64_t retention_count(struct db *db, const char *sql, const char *cutoff);

/* Its range query (cutoff, batch), shown by `jobfleet-scheduler --explain`. SKIP LOCKED
 * passes over a job another session holds (a `retry --force`, a second cleaner) until later. */
#define RETENTION_SQL_JOBS                                                                         \
    "SELECT id FROM jobs WHERE state = 'succeeded' AND dt_due < ? "                                \
    "ORDER BY dt_due LIMIT ? FOR UPDATE SKIP LOCKED"

#endif
