/* This worker's row in worker_instances: registration, heartbeat, stop. */
#ifndef JOBFLEET_INSTANCE_H
#define JOBFLEET_INSTANCE_H

#include <stdint.h>

#include "db.h"

/* Inserts the row as 'running'; returns its id or -1. */
int64_t instance_register(struct db *db, const char *queues, int concurrency);
/* Refreshes dt_heartbeat (and state, e.g. "draining"); -1 on error. */
int instance_heartbeat(struct db *db, int64_t id, const char *state);
/* Marks the row stopped; -1 on error. */
int instance_stop(struct db *db, int64_t id);

#endif
