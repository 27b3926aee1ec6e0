/* This file holds the worker_instances SQL of one worker, and its cancel-request poll. */
#include "instance.h"

#include <stdio.h>
#include <unistd.h>

int64_t
instance_register(struct db *db, const char *queues, int concurrency)
{
    char host[256] = "unknown";
    gethostname(host, sizeof(host) - 1);
    uint64_t id = 0;
    if (db_exec(db,
                "INSERT INTO worker_instances (host, pid, queues, concurrency, dt_started, "
                "dt_heartbeat, state) VALUES (?, ?, ?, ?, NOW(6), NOW(6), 'running')",
                DB_P(DBS(host), DBI(getpid()), DBS(queues), DBI(concurrency)), NULL, &id) < 0)
        return -1;
    return (int64_t)id;
}

int
instance_heartbeat(struct db *db, int64_t id, const char *state)
{
    /* A row the scheduler marked lost comes back: the worker is alive after all, and any job
     * the scheduler recovered meanwhile is guarded against this worker's late check-out. */
    return db_exec(db, "UPDATE worker_instances SET dt_heartbeat = NOW(6), state = ? WHERE id = ?",
                   DB_P(DBS(state), DBI(id)), NULL, NULL);
}

int
instance_stop(struct db *db, int64_t id)
{
    return db_exec(db,
                   "UPDATE worker_instances SET state = 'stopped', dt_stopped = NOW(6), "
                   "dt_heartbeat = NOW(6) WHERE id = ?",
                   DB_P(DBI(id)), NULL, NULL);
}
