/* The job_memos table: what a job function keeps between the attempts of one job
 * (012_job_memos.sql). */
#ifndef JOBFLEET_JOB_MEMO_H
#define JOBFLEET_JOB_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The longest name and value a memo takes (the columns' sizes, in characters). */
#define JOB_MEMO_NAME_MAX 191
#define JOB_MEMO_VALUE_MAX 1024

/* Reads the memo name of job_id into out (len bytes, cut to fit). 1 when there is one, 0 when
 * not, -1 with db_errstr. */
int job_memo_read(struct db *db, int64_t job_id, const char *name, char *out, size_t len);
/* Sets the memo name of job_id to value (committed by the statement: autocommit). 0, or -1
 * with db_errstr (a name or value past the maximums is refused by the server). */
int job_memo_write(struct db *db, int64_t job_id, const char *name, const char *value);
/* Deletes the memos of the n jobs (for retention, inside its transaction). */
int job_memo_delete(struct db *db, const struct db_param *job_ids, int n);

#endif
