/* The System/Cleanup job functions: retention of succeeded jobs and webhook log rows, run daily
 * by the built-in cron jobs of the same names (deploy/sql/002_cron_builtin.sql). */
#ifndef JOBFLEET_CLEANUP_H
#define JOBFLEET_CLEANUP_H

#include <stdint.h>

#include "db.h"
#include "registry.h"

/* Rows per delete batch, so that no transaction holds many row locks. */
#define CLEANUP_BATCH 500

/* Parameters of both (all optional): {"days": N} overrides [scheduler] retention_days,
 * {"batch": N} the rows per batch (1..10000). Result: {"deleted": N, "cutoff": "<UTC>"}. */
/* System/Cleanup/Jobs: deletes succeeded jobs completed before the cutoff, with their
 * job_attempts rows. */
job_fn cleanup_jobs;
/* System/Cleanup/Webhooks: deletes webhook_log rows received before the cutoff. */
job_fn cleanup_webhooks;

/* One batch of each, for these job functions and the scheduler's retention step: delete up to
 * `batch` rows older than cutoff ("YYYY-MM-DD HH:MM:SS[.ffffff]" UTC) in one transaction.
 * Return the rows deleted, or -1 on a database error (db_errstr; rolled back). */
typedef int cleanup_batch_fn(struct db *db, const char *cutoff, int batch);
cleanup_batch_fn cleanup_jobs_batch;
cleanup_batch_fn cleanup_webhooks_batch;

/* Their range queries (cutoff, batch), shown by `jobfleet-scheduler --explain`. SKIP LOCKED
 * passes over a job another session holds (a `retry --force`, a second cleaner) until later. */
#define CLEANUP_SQL_JOBS                                                                           \
    "SELECT id FROM jobs WHERE state = 'succeeded' AND dt_due < ? "                                \
    "ORDER BY dt_due LIMIT ? FOR UPDATE SKIP LOCKED"
#define CLEANUP_SQL_WEBHOOKS                                                                       \
    "DELETE FROM webhook_log WHERE dt_received < ? ORDER BY dt_received LIMIT ?"

#endif
