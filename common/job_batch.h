/* Inserting many jobs with few statements: the producer's group commit writes the jobs of
 * every webhook that arrived together in one transaction, and one statement per row would
 * spend more on round trips and statement executions than on the rows. */
#ifndef JOBFLEET_JOB_BATCH_H
#define JOBFLEET_JOB_BATCH_H

#include "job.h"

/* Inserts n checked specs (job_spec_check) inside the caller's transaction, with one
 * multi-row INSERT per 64 rows, filling refs[i] as job_insert would: a spec whose idempotency
 * key already has a job (from an earlier delivery, or an earlier spec of the same batch) gets
 * that job with existing set. Specs the statement cannot take (no idempotency key, a unique
 * key given or made by the action's unique_by, a cron fire) go through job_insert in the same
 * transaction. Returns JOB_E_OK, or the first error with the message in err (db_lost() tells
 * whether the connection went); the caller then rolls back. */
enum job_err job_insert_batch(struct db *db, const struct job_spec *specs, int n,
                              struct job_ref *refs, char *err, size_t errlen);

#endif
