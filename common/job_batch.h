/* The jobs table's INSERT, one statement for one job or many: job_insert (job.c) writes one
 * row with it, and the producer's group commit writes the jobs of every request that arrived
 * together with it, because one statement per row would spend more on round trips and
 * statement executions than on the rows. A change to the columns a new job is written with is
 * made in job_batch.c only (and in its migration). */
#ifndef JOBFLEET_JOB_BATCH_H
#define JOBFLEET_JOB_BATCH_H

#include "job.h"

/* Most rows job_insert_rows writes at once: a whole POST /api/jobs/bulk (API_BULK_MAX). A
 * multi-row statement's cost per row falls up to ~256 rows and is flat beyond (64 rows 1.0x,
 * 256 1.10-1.20x, 1,000 the same); a bulk execution's keeps falling (1,000 rows ~1.15x 256). */
#define JOB_INSERT_CHUNK 1000
/* From this many lean rows on, job_insert_rows writes by bulk execution and a read-back
 * rather than by one multi-row INSERT ... RETURNING: two round trips instead of one, but less
 * work per row for MariaDB (a POST /api/jobs/bulk of 1,000: its CPU -14 %, the request
 * 17.0 -> 15.1 ms, same run). Below it, the one round trip matters more. */
#define JOB_INSERT_BULK_MIN 64

/* Inserts specs[0..k) (1..JOB_INSERT_CHUNK checked specs, with their unique keys made:
 * job_insert does that) as 'queued' when due now or 'pending' when later: with one INSERT ...
 * RETURNING statement, or (with ignore, JOB_INSERT_BULK_MIN rows or more, none with a unique key or
 * cron fire) one bulk execution and a read of the rows back. Either way one statement writes. Fills
 * refs[i] (uuid, queue, state, priority, run_at) for every spec; for the rows inserted it also
 * sets refs[i].id and refs[i].created and inserted[i]. With ignore, a row whose unique key,
 * idempotency key or cron fire is taken is skipped (INSERT IGNORE; IGNORE would also cut a
 * value too long for its column, hence checked specs); without it, a taken key fails the
 * statement and db_duplicate() says so. Runs inside the caller's transaction when one is open.
 * Returns JOB_E_OK, or JOB_E_DB with the message in err. */
enum job_err job_insert_rows(struct db *db, const struct job_spec *specs, int k, bool ignore,
                             struct job_ref *refs, bool *inserted, char *err, size_t errlen);

/* Reads the job a duplicate key of s belongs to into ref (existing set): the job of its
 * idempotency key, else the live job holding its unique key, else the job of its cron fire.
 * Returns 0 when found, 1 when none holds them (a holder released its key meanwhile), -1 on a
 * database error. */
int job_find_existing(struct db *db, const struct job_spec *s, struct job_ref *ref);

/* Inserts n checked specs (job_spec_check) inside the caller's transaction, with one
 * job_insert_rows per JOB_INSERT_CHUNK rows, filling refs[i] as job_insert would: a spec
 * whose idempotency key already has a job (from an earlier delivery, or an earlier spec of the
 * same batch) gets that job with existing set. Specs the multi-row statement cannot take (a
 * unique key given or made by the action's unique_by, or a cron fire: a key that can be
 * released meanwhile needs job_insert's retry) go through job_insert in the same transaction.
 * Returns JOB_E_OK, or the first error with the message in err (db_lost() tells whether the
 * connection went); the caller then rolls back. When wrote is not NULL, *wrote tells whether a
 * statement had inserted rows before that error: outside a transaction they are stored. A bulk
 * execution (JOB_INSERT_BULK_MIN rows or more) whose read-back failed is not counted, so such a
 * batch belongs in a transaction (job_insert_batch_is_one_statement is false for it). */
enum job_err job_insert_batch(struct db *db, const struct job_spec *specs, int n,
                              struct job_ref *refs, bool *wrote, char *err, size_t errlen);

/* True when job_insert_batch writes these n specs with one INSERT ... RETURNING statement
 * and otherwise only reads: fewer than JOB_INSERT_BULK_MIN specs, none with a unique key
 * (given or made) or cron fire. Such a batch is atomic on its own, so outside a transaction
 * (autocommit) it commits in the same round trip. */
bool job_insert_batch_is_one_statement(const struct job_spec *specs, int n);

#endif
