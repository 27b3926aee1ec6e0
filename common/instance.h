/* The worker_instances table: a worker's registration, heartbeat and stop, and the
 * scheduler's lease check that marks silent instances lost. */
#ifndef JOBFLEET_INSTANCE_H
#define JOBFLEET_INSTANCE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Inserts the row as 'running'; returns its id or -1. */
int64_t instance_register(struct db *db, const char *queues, int concurrency);
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

/* The instances that are running or draining or stopped within the last `recent_s` seconds,
 * newest first, at most limit: rows of (id, host, pid, queues, concurrency, dt_started,
 * heartbeat age in ms, state). NULL on error (db_errstr). */
struct db_rows *instance_list(struct db *db, int recent_s, int limit);

/* lease_s, limit; shown by `jobfleet-scheduler --explain`. */
#define INSTANCE_SQL_SILENT                                                                        \
    "SELECT id, host, pid, dt_heartbeat FROM worker_instances "                                    \
    "WHERE state IN ('running', 'draining') AND dt_heartbeat < NOW(6) - INTERVAL ? SECOND "        \
    "LIMIT ?"

/* Up to limit running or draining instances whose last heartbeat is older than lease_s.
 * Returns rows of (id, host, pid, dt_heartbeat) for the caller to free, or NULL on error
 * (db_errstr). */
struct db_rows *instance_silent(struct db *db, int lease_s, int limit);
/* Marks instance id lost if it is still running or draining and still silent for lease_s, so
 * an instance whose heartbeat arrived meanwhile stays alive. Returns 1 when it was marked, 0
 * when not, -1 on error. */
int instance_mark_lost(struct db *db, int64_t id, int lease_s);

#endif
