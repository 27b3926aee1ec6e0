/* The audit_log table (005_audit_log.sql): every change an operator made, from the dashboard,
 * the JSON API or the CLI, with who made it, read back on the page of the object it changed
 * and by jobfleet show. */
#ifndef JOBFLEET_AUDIT_H
#define JOBFLEET_AUDIT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Who made a change, for the functions that record it themselves in the change's own
 * transaction (job.h's retry and cancel): actor as for audit_add; detail, when not NULL, is
 * written on every row in place of the function's own (the job's new state). */
struct audit_by {
    const char *actor;
    const char *detail;
};

/* Records that actor did action ("retry", "pause", ...) to the object of kind ("job",
 * "queue", "cron") named id, with an optional detail (NULL). Strings longer than their
 * columns are cut. One autocommitted statement; returns 0 or -1 (db_errstr). */
int audit_add(struct db *db, const char *actor, const char *action, const char *kind,
              const char *id, const char *detail);

/* Records a change made in the transaction open on db (audit_add) and commits both, so that a
 * change never stands without its record. Returns 0; or -1 with the transaction rolled back and
 * why in err, and *lost set when the connection went during it (the commit's outcome is then
 * unknown; lost may be NULL). */
int audit_commit(struct db *db, const char *actor, const char *action, const char *kind,
                 const char *id, const char *detail, bool *lost, char *err, size_t errlen);

/* Records the same change to each of the n objects of kind numbered ids[0..n-1], as audit_add
 * does, with one autocommitted statement (a bulk change of 1,000 jobs is one insert, not
 * 1,000). Returns 0 or -1 (db_errstr). */
int audit_add_ids(struct db *db, const char *actor, const char *action, const char *kind,
                  const int64_t *ids, int n, const char *detail);

/* The newest `limit` changes to one object as a JSON array of {id, dt_created, actor, action,
 * detail}, or NULL on error (db_errstr). The caller owns the result. */
cJSON *audit_list(struct db *db, const char *kind, const char *id, int limit);

/* One batch of retention (retention.h's retention_batch_fn): deletes those of the batch oldest
 * rows made before cutoff with one statement, and returns how many, or -1 (db_errstr). Reads
 * only the oldest rows, not the table, so a call that finds none old enough costs a batch. */
int audit_delete_batch(struct db *db, const char *cutoff, int batch);

/* The kinds of object a change is recorded against. */
#define AUDIT_KINDS "job, queue, cron or action"
/* True when kind is one of AUDIT_KINDS. */
bool audit_kind_ok(const char *kind);

/* Changes newest first, as a JSON array of {id, dt_created, actor, action, object_kind,
 * object_id, detail}: at most limit, only those of actor and of kind when not NULL, and only
 * ids below before_id when it is not 0. Each filter reads its own index (migration 007), so a
 * page costs its rows. timeout_prefix ("" or a statement-time bound) starts the statement.
 * NULL on error (db_errstr); the caller owns the result. */
cJSON *audit_recent(struct db *db, const char *timeout_prefix, const char *actor, const char *kind,
                    int64_t before_id, int limit);

#endif
