/* The scheduler's side of a job's life: the scans that find jobs to move (due pending jobs,
 * queued jobs Redis may have lost, running jobs past their deadline or on a dead worker) and
 * the update that queues due jobs. The scheduler's steps call these functions and
 * `jobfleet-scheduler --explain` runs the very same texts, exported here. Every statement is
 * bounded by an index range and a LIMIT, whatever the backlog; the e2e test
 * e2e_scheduler_explain checks the plans against 200,000 pending jobs. How to change one: keep
 * it on an index (EXPLAIN), and update scheduler/sched_explain.c's sample parameters if its
 * placeholders change. */
#ifndef JOBFLEET_LIFECYCLE_SCHED_H
#define JOBFLEET_LIFECYCLE_SCHED_H

#include <stdint.h>

#include "db.h"

/* limit */
#define LIFECYCLE_SQL_DUE                                                                          \
    "SELECT id, queue, priority FROM jobs WHERE state = 'pending' "                                \
    "AND dt_due <= NOW(6) ORDER BY dt_due LIMIT ? FOR UPDATE SKIP LOCKED"

/* requeue_after_s, cursor dt, cursor dt, cursor id, limit */
#define LIFECYCLE_SQL_QUEUED_STALE                                                                 \
    "SELECT id, queue, priority, dt_due FROM jobs WHERE state = 'queued' "                         \
    "AND dt_due < NOW(6) - INTERVAL ? SECOND "                                                     \
    "AND dt_due >= CAST(? AS DATETIME(6)) "                                                        \
    "AND (dt_due > CAST(? AS DATETIME(6)) OR id > ?) "                                             \
    "ORDER BY dt_due, id LIMIT ?"

/* timeout_grace_s, limit. Both recovery scans pass over rows another session holds (SKIP
 * LOCKED, the locks gone with the statement): a host that died inside a transaction leaves its
 * session and row locks on the server for hours, and the batch's finishing transaction would
 * wait on them, and fail, tick after tick, with every other job of the batch. */
#define LIFECYCLE_SQL_OVERDUE                                                                      \
    "SELECT id, instance_id, attempt, max_attempts, action, queue, claim_token FROM jobs "         \
    "WHERE state = 'running' AND dt_due < NOW(6) - INTERVAL ? SECOND "                             \
    "AND instance_id IS NOT NULL ORDER BY dt_due LIMIT ? FOR UPDATE SKIP LOCKED"

/* No parameters. The running rows of ix_jobs_state_due are at most the fleet's slots, whatever
 * the backlog (an index on instance_id would be rewritten at every claim, for a query that runs
 * only when a worker dies). */
#define LIFECYCLE_SQL_RUNNING_INSTANCES                                                            \
    "SELECT DISTINCT instance_id FROM jobs FORCE INDEX (ix_jobs_state_due) "                       \
    "WHERE state = 'running' AND instance_id IS NOT NULL"

/* instance_id, limit */
#define LIFECYCLE_SQL_ORPHANED                                                                     \
    "SELECT id, instance_id, attempt, max_attempts, action, queue, claim_token "                   \
    "FROM jobs FORCE INDEX (ix_jobs_state_due) WHERE state = 'running' AND instance_id = ? "       \
    "LIMIT ? FOR UPDATE SKIP LOCKED"

/* Locks up to limit pending jobs whose dt_due has passed, oldest first, skipping rows another
 * session holds; run inside the caller's transaction, which must then queue them
 * (lifecycle_sched_queue) or roll back. Returns rows of (id, queue, priority) for the caller
 * to free, or NULL on error (db_errstr). */
struct db_rows *lifecycle_sched_due(struct db *db, int limit);

/* Moves the jobs of due (rows of lifecycle_sched_due, id first) that are still pending to
 * queued, in the caller's transaction; the caller commits, and only then may push the IDs to
 * Redis (invariant 1). due must hold at least one row. Returns 0, or -1 (db_errstr). */
int lifecycle_sched_queue(struct db *db, const struct db_rows *due);

/* Up to limit queued jobs older than requeue_after_s after the cursor (after_dt, after_id), in
 * (dt_due, id) order: candidates that Redis may have lost. after_dt is a DATETIME text;
 * "1970-01-01 00:00:00" and 0 start from the beginning. Returns rows of (id, queue, priority,
 * dt_due) for the caller to free, or NULL on error. */
struct db_rows *lifecycle_sched_queued_stale(struct db *db, int requeue_after_s,
                                             const char *after_dt, int64_t after_id, int limit);

/* Up to limit running jobs (with an instance) more than grace_s past their deadline, oldest
 * first. Returns rows of (id, instance_id, attempt, max_attempts, action, queue, claim_token),
 * the columns lifecycle_finish's outcomes need, for the caller to free, or NULL on error. */
struct db_rows *lifecycle_sched_overdue(struct db *db, int grace_s, int limit);

/* The instances that hold running jobs, read without a lock: rows of (instance_id) for the
 * caller to free, or NULL on error. */
struct db_rows *lifecycle_sched_running_instances(struct db *db);

/* Up to limit running jobs of worker instance instance_id (one the caller found dead), skipping
 * rows another session holds. Returns rows of (id, instance_id, attempt, max_attempts, action,
 * queue, claim_token) for the caller to free, or NULL on error. */
struct db_rows *lifecycle_sched_orphaned(struct db *db, int64_t instance_id, int limit);

#endif
