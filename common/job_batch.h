/* Inserting many jobs with few statements: the producer's group commit writes the jobs of
 * every webhook that arrived together in one transaction, and one statement per row would
 * spend more on round trips and statement executions than on the rows. */
#ifndef JOBFLEET_JOB_BATCH_H
#define JOBFLEET_JOB_BATCH_H

#include "job.h"

/* Inserts n checked specs (job_spec_check) inside the caller's transaction, with one
 * multi-row INSERT per 64 rows. Each spec must carry an idempotency key and no
 * unique key or cron fire: a spec whose key already has a job (from an earlier delivery, or an
 * earlier spec of the same batch) gets that job in refs[i] with existing set, as job_insert
 * does. Returns JOB_E_OK, or JOB_E_DB with the message in err (db_lost() tells whether the
 * connection went); the caller then rolls back. */
enum job_err job_insert_batch(struct db *db, const struct job_spec *specs, int n,
                              struct job_ref *refs, char *err, size_t errlen);

#endif
