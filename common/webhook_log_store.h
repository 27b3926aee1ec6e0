/* The webhook_log table's SQL: the producer's batched inserts and the retention deletes. */
#ifndef JOBFLEET_WEBHOOK_LOG_STORE_H
#define JOBFLEET_WEBHOOK_LOG_STORE_H

#include <stdint.h>

#include "db.h"
#include "retention.h"

/* One delivery as logged. Strings are borrowed (reason, source, action may be NULL). */
struct webhook_log_row {
    char received[40]; /* "YYYY-MM-DD HH:MM:SS.ffffff" UTC */
    char *source;
    char *path;
    char *action;
    int status;
    int64_t job_id; /* <= 0: none */
    char *reason;
};

/* Inserts n rows with one multi-row statement (autocommit, or in the caller's transaction).
 * Returns 0 or -1 (db_errstr, db_lost). */
int webhook_log_store_insert(struct db *db, const struct webhook_log_row *rows, int n);

/* The retention batch of webhook_log (retention.h's contract): deletes up to `batch` rows
 * received before cutoff. */
retention_batch_fn webhook_log_store_delete_batch;
/* Its dry run: the rows received before cutoff. */
retention_count_fn webhook_log_store_count_before;

/* Deliveries per minute over the last `minutes` minutes: rows of (minute as unix seconds / 60,
 * count), a range of the received index. NULL on error (db_errstr). */
struct db_rows *webhook_log_store_per_minute(struct db *db, int minutes);

/* The newest deliveries, newest first: at most limit rows of (id, dt_received, source, path,
 * action, status, job_id, reason) with id below before_id (0: from the newest), among the
 * newest `window` rows below it, filtered by source and status class (NULL/0: any; 2, 4 or 5
 * for 2xx, 4xx, 5xx). timeout_prefix bounds the statement (job_query_timeout_prefix). NULL on
 * error. */
struct db_rows *webhook_log_store_recent(struct db *db, const char *timeout_prefix,
                                         const char *source, int status_class, int64_t before_id,
                                         int window, int limit);

/* Its range query (cutoff, batch), shown by `jobfleet-scheduler --explain`. */
#define WEBHOOK_LOG_SQL_RETENTION                                                                  \
    "DELETE FROM webhook_log WHERE dt_received < ? ORDER BY dt_received LIMIT ?"

#endif
