/* The job_logs table: each attempt's kept log lines and latest progress (004_job_logs.sql). */
#ifndef JOBFLEET_JOB_LOG_H
#define JOBFLEET_JOB_LOG_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "db.h"

/* Most bytes of log kept per attempt: the newest lines win. */
#define JOB_LOG_MAX_BYTES (64 * 1024)
/* Longest progress note kept. */
#define JOB_LOG_NOTE_MAX 255

/* An attempt's latest progress; total < 0 when unknown, note may be NULL. */
struct job_log_progress {
    int64_t done;
    int64_t total;
    const char *note;
};

/* Writes (inserts or replaces) the row of one attempt: its whole kept log (may be NULL) and
 * its progress (NULL: none reported). One autocommitted statement. Returns 0 or -1. */
int job_log_save(struct db *db, int64_t job_id, int attempt, const char *log,
                 const struct job_log_progress *progress);

/* Adds what job_logs holds for attempts first_attempt and later to a job read by job_get:
 * "log" to each element of its "attempts" array (by attempt number), and "progress" ({attempt,
 * done, total, note, updated}) and "log" of the latest attempt that has a row when that
 * attempt has no attempt row yet (it is running). Returns 0 or -1 (db_errstr). */
int job_log_attach(struct db *db, int64_t job_id, int64_t first_attempt, cJSON *job);

/* Deletes the rows of the given jobs (retention), inside the caller's transaction. */
int job_log_delete(struct db *db, const struct db_param *job_ids, int n);

#endif
