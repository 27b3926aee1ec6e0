/* The worker_instances table: a worker's registration, heartbeat and stop, and the
 * scheduler's lease check that marks silent instances lost. */
#ifndef JOBFLEET_INSTANCE_H
#define JOBFLEET_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Inserts the row as 'running', with the lease the worker keeps (its [worker] lease_s: the
 * scheduler declares it lost by that, not by its own); returns its id or -1. */
int64_t instance_register(struct db *db, const char *queues, int concurrency, int lease_s);
/* Refreshes dt_heartbeat (and state, e.g. "draining"). A row the scheduler marked lost stays
 * lost unless revive: its jobs were given to other workers, and those still running here must
 * be stopped before it may claim again. Returns 0, 1 when the row is lost (nothing changed), or
 * -1 on error. */
int instance_heartbeat(struct db *db, int64_t id, const char *state, bool revive);
/* Marks the row stopped; -1 on error. */
int instance_stop(struct db *db, int64_t id);
/* The instances running or draining, and the sum of their concurrency, into *workers and
 * *slots. Returns 0, or -1 (db_errstr) leaving them unset. */
int instance_live(struct db *db, int64_t *workers, int64_t *slots);
/* Calls each(queue, arg) for every queue that a running or draining instance pops, once per
 * instance that lists it (their [worker] queues: "a:3,b"). Returns 0, or -1 (db_errstr). */
int instance_served_queues(struct db *db, void (*each)(const char *queue, void *arg), void *arg);

/* The instances that are running or draining or stopped within the last `recent_s` seconds,
 * newest first, at most limit: rows of (id, host, pid, queues, concurrency, dt_started,
 * heartbeat age in ms, state). NULL on error (db_errstr). */
struct db_rows *instance_list(struct db *db, int recent_s, int limit);

/* An instance's lease: its own, else (registered by an older worker) the caller's. */
#define INSTANCE_SQL_LEASE "COALESCE(lease_s, ?)"
/* An instance silent for its lease, and MariaDB back for a lease (the heartbeats it missed
 * were not the instance's fault); binds dflt_lease_s, dflt_lease_s, back_s. */
#define INSTANCE_SQL_IS_SILENT                                                                     \
    "dt_heartbeat < NOW(6) - INTERVAL " INSTANCE_SQL_LEASE " SECOND AND " INSTANCE_SQL_LEASE " <=" \
    " ?"
/* dflt_lease_s three times, back_s, limit; shown by `jobfleet-scheduler --explain`. */
#define INSTANCE_SQL_SILENT                                                                        \
    "SELECT id, host, pid, dt_heartbeat, " INSTANCE_SQL_LEASE " FROM worker_instances "            \
    "WHERE state IN ('running', 'draining') AND " INSTANCE_SQL_IS_SILENT " LIMIT ?"

/* dflt_lease_s, window_s, limit; shown by `jobfleet-scheduler --explain`. */
#define INSTANCE_SQL_DEAD                                                                          \
    "SELECT id, dt_heartbeat FROM worker_instances WHERE state IN ('lost', 'stopped') AND "        \
    "dt_heartbeat < NOW(6) - INTERVAL " INSTANCE_SQL_LEASE " SECOND AND "                          \
    "dt_heartbeat >= NOW(6) - INTERVAL ? SECOND ORDER BY id DESC LIMIT ?"

/* Up to limit instances that are dead: lost, or stopped, with a last heartbeat older than their
 * lease (dflt_lease_s for a row that has none: a stopping worker's last check-outs come within
 * it) and newer than window_s. Rows of (id, dt_heartbeat), newest first (a worker that just died
 * is among them however many died before it that day), for the caller to free, or NULL on error
 * (db_errstr). */
struct db_rows *instance_dead(struct db *db, int dflt_lease_s, int window_s, int limit);

/* Up to limit running or draining instances whose last heartbeat is older than their lease
 * (dflt_lease_s for a row that has none) while MariaDB has been up for back_s seconds. Returns
 * rows of (id, host, pid, dt_heartbeat, lease_s) for the caller to free, or NULL on error
 * (db_errstr). */
struct db_rows *instance_silent(struct db *db, int dflt_lease_s, int64_t back_s, int limit);
/* Marks instance id lost if it is still running or draining and still silent as
 * instance_silent says, so an instance whose heartbeat arrived meanwhile stays alive. Returns 1
 * when it was marked, 0 when not, -1 on error. */
int instance_mark_lost(struct db *db, int64_t id, int dflt_lease_s, int64_t back_s);
/* Deletes at most batch stopped or lost instances whose last heartbeat is before cutoff
 * ("YYYY-MM-DD HH:MM:SS.ffffff"); how many, or -1. A retention_batch_fn: every worker start
 * adds a row, and nothing else deletes them. */
int instance_delete_batch(struct db *db, const char *cutoff, int batch);

#endif
