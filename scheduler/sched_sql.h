/* The SQL of the scheduler's tick steps, in one place so that the steps and
 * `jobfleet-scheduler --explain` run the very same text. Every statement is bounded by an
 * index range and a LIMIT, whatever the backlog; the e2e test e2e_scheduler_explain checks
 * the plans against 200,000 pending jobs. How to change one: keep it on an index (EXPLAIN),
 * and update sched_explain.c's sample parameters if its placeholders change. */
#ifndef JOBFLEET_SCHED_SQL_H
#define JOBFLEET_SCHED_SQL_H

/* limit */
#define SCHED_SQL_PICKUP                                                                           \
    "SELECT id, queue, priority FROM jobs WHERE state = 'pending' "                                \
    "AND dt_due <= NOW(6) ORDER BY dt_due LIMIT ? FOR UPDATE SKIP LOCKED"

/* requeue_after_s, cursor dt, cursor dt, cursor id, limit */
#define SCHED_SQL_RECONCILE                                                                        \
    "SELECT id, queue, priority, dt_due FROM jobs WHERE state = 'queued' "                         \
    "AND dt_due < NOW(6) - INTERVAL ? SECOND "                                                     \
    "AND dt_due >= CAST(? AS DATETIME(6)) "                                                        \
    "AND (dt_due > CAST(? AS DATETIME(6)) OR id > ?) "                                             \
    "ORDER BY dt_due, id LIMIT ?"

/* timeout_grace_s, limit */
#define SCHED_SQL_WATCHDOG                                                                         \
    "SELECT id, instance_id, attempt, max_attempts, action FROM jobs "                             \
    "WHERE state = 'running' AND dt_due < NOW(6) - INTERVAL ? SECOND "                             \
    "AND instance_id IS NOT NULL ORDER BY dt_due LIMIT ?"

/* lease_s, limit */
#define SCHED_SQL_SILENT_INSTANCES                                                                 \
    "SELECT id, host, pid, dt_heartbeat FROM worker_instances "                                    \
    "WHERE state IN ('running', 'draining') AND dt_heartbeat < NOW(6) - INTERVAL ? SECOND "        \
    "LIMIT ?"

/* lease_s, dead window s, limit */
#define SCHED_SQL_LOST_JOBS                                                                        \
    "SELECT j.id, j.instance_id, j.attempt, j.max_attempts, j.action "                             \
    "FROM worker_instances w STRAIGHT_JOIN jobs j FORCE INDEX (ix_jobs_state_due) "                \
    "ON j.state = 'running' AND j.instance_id = w.id "                                             \
    "WHERE w.state IN ('lost', 'stopped') "                                                        \
    "AND w.dt_heartbeat < NOW(6) - INTERVAL ? SECOND "                                             \
    "AND w.dt_heartbeat >= NOW(6) - INTERVAL ? SECOND LIMIT ?"

#endif
