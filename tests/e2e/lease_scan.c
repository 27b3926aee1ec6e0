/* End-to-end tests of lease recovery's scan for the running jobs of dead worker instances, with
 * the real scheduler on the test's MariaDB: the instances that restarts leave behind (stopped,
 * their jobs all checked out) cost nothing per tick, and one found clean that comes back and
 * dies again is scanned again. */
#include "instance.h"
#include "lifecycle.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEAD_INSTANCES 200
#define RUNNING_JOBS 3000

/* n instances stopped an hour ago: within the day lease recovery looks back over. */
static void
stopped_instances(struct tenv *t, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(instance_register(t->db, "default", 16, 30) > 0, "register: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db, "UPDATE worker_instances SET state = 'stopped', dt_stopped = "
                                "NOW(6) - INTERVAL 1 HOUR, dt_heartbeat = NOW(6) - INTERVAL 1 "
                                "HOUR") == 0,
          "stop them: %s", db_errstr(t->db));
}

/* n jobs running on instance inst, due in an hour. */
static void
running_jobs(struct tenv *t, int64_t inst, int n)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, action, parameters, state, run_at, attempt, dt_created, "
                  "dt_started, dt_deadline, instance_id, claim_token) SELECT UUID(), "
                  "'System/Noop', '{}', 'running', NOW(6), 1, NOW(6), NOW(6), NOW(6) + INTERVAL "
                  "1 HOUR, ?, 1 FROM seq_1_to_100000 LIMIT ?",
                  DB_P(DBI(inst), DBI(n)), NULL, NULL) == 0,
          "running jobs: %s", db_errstr(t->db));
}

/* The scheduler's tick p50 in ms over n ticks (--measure-ticks), once MariaDB has been up for
 * more than a lease (before, the scheduler waits for the workers' heartbeats and scans
 * nothing). */
static double
tick_p50_ms(struct tenv *t, int n)
{
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE "
                         "VARIABLE_NAME = 'UPTIME'",
                         DB_NOP) > t->cfg.worker.lease_s + 1,
               30000, "MariaDB's uptime never passed the lease");
    char count[16], *out = NULL;
    snprintf(count, sizeof(count), "%d", n);
    pid_t p = t_spawn(t, t_bin("jobfleet-scheduler"),
                      (const char *const[]){"--measure-ticks", count, NULL});
    t_wait_exit_ok(t, p, 60000, "jobfleet-scheduler --measure-ticks");
    out = t_log(t, p);
    const char *at = strstr(out, "tick_p50_ms ");
    CHECK(at != NULL, "no tick_p50_ms in:\n%s", out);
    double ms = strtod(at + strlen("tick_p50_ms "), NULL);
    free(out);
    return ms;
}

/* The instances a day of restarts leaves behind cost the tick nothing once found clean. Before,
 * every tick read all running jobs once per such instance: ~0.7 s a tick with 200 of them and
 * 3,000 running jobs, most of the leader's time. */
static void
test_dead_instances_cost_nothing(struct tenv *t)
{
    stopped_instances(t, DEAD_INSTANCES);
    int64_t live = instance_register(t->db, "default", RUNNING_JOBS, 3600);
    CHECK(live > 0, "register: %s", db_errstr(t->db));
    running_jobs(t, live, RUNNING_JOBS);
    double p50 = tick_p50_ms(t, 15);
    CHECK(p50 < 100, "tick p50 %.1f ms with %d stopped instances and %d running jobs", p50,
          DEAD_INSTANCES, RUNNING_JOBS);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'running'", DB_NOP) ==
              RUNNING_JOBS,
          "the live instance's jobs were touched");
}

/* An instance found clean (stopped, no running job) that comes back, claims a job and is then
 * lost has that job recovered: the scheduler knows it clean only by its last heartbeat. */
static void
test_revived_instance_scanned_again(struct tenv *t)
{
    int64_t inst = instance_register(t->db, "default", 1, 3);
    CHECK(inst > 0, "register: %s", db_errstr(t->db));
    CHECK(db_exec(t->db,
                  "UPDATE worker_instances SET state = 'stopped', dt_heartbeat = NOW(6) - "
                  "INTERVAL 10 SECOND WHERE id = ?",
                  DB_P(DBI(inst)), NULL, NULL) == 0,
          "stop it: %s", db_errstr(t->db));
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    /* A second dead instance with a running job: once its job is recovered, the scheduler has
     * looked at the first one too, and found it clean. */
    int64_t other = instance_register(t->db, "default", 1, 3);
    int64_t first = t_enqueue(t, "System/Noop", "{}", NULL);
    struct claimed_job out[1];
    CHECK(lifecycle_claim(t->db, &first, 1, other, 1, NULL, out) == 1, "claim: %s",
          db_errstr(t->db));
    claimed_job_release(&out[0]);
    CHECK(db_exec(t->db,
                  "UPDATE worker_instances SET dt_heartbeat = NOW(6) - INTERVAL 10 SECOND "
                  "WHERE id = ?",
                  DB_P(DBI(other)), NULL, NULL) == 0,
          "silence it: %s", db_errstr(t->db));
    WAIT_UNTIL(!t_job_in_state(t, first, "running"), 15000, "job %lld was never recovered",
               (long long)first);
    /* The clean one comes back, claims, and is lost. */
    CHECK(instance_heartbeat(t->db, inst, "running", true) == 0, "revive: %s", db_errstr(t->db));
    int64_t id = t_enqueue(t, "System/Noop", "{}", NULL);
    CHECK(lifecycle_claim(t->db, &id, 1, inst, 2, NULL, out) == 1, "claim: %s", db_errstr(t->db));
    claimed_job_release(&out[0]);
    CHECK(db_exec(t->db,
                  "UPDATE worker_instances SET dt_heartbeat = NOW(6) - INTERVAL 10 SECOND "
                  "WHERE id = ?",
                  DB_P(DBI(inst)), NULL, NULL) == 0,
          "silence it: %s", db_errstr(t->db));
    WAIT_UNTIL(!t_job_in_state(t, id, "running"), 15000,
               "job %lld of an instance once found clean, then back and lost, is still running",
               (long long)id);
    CHECK(t_log_has(t, s, "lost"), "the scheduler never said the instance was lost");
}

/* A worker that dies after more dead instances than lease recovery looks at in a tick (a day of
 * a supervisor crash-looping) still has its jobs recovered within its lease: the newest dead
 * are looked at first. Before, the oldest 10,000 of the day filled the list at every tick. */
static void
test_new_death_past_many_dead(struct tenv *t)
{
    CHECK(db_exec_static(t->db,
                         "INSERT INTO worker_instances (host, pid, queues, concurrency, lease_s, "
                         "dt_started, dt_heartbeat, dt_stopped, state) SELECT 'old', seq, "
                         "'default', 1, 3, NOW(6) - INTERVAL 2 HOUR, NOW(6) - INTERVAL 1 HOUR, "
                         "NOW(6) - INTERVAL 1 HOUR, 'stopped' FROM seq_1_to_10050") == 0,
          "dead instances: %s", db_errstr(t->db));
    int64_t inst = instance_register(t->db, "default", 1, 3);
    int64_t id = t_enqueue(t, "System/Noop", "{}", NULL);
    struct claimed_job out[1];
    CHECK(lifecycle_claim(t->db, &id, 1, inst, 1, NULL, out) == 1, "claim: %s", db_errstr(t->db));
    claimed_job_release(&out[0]);
    CHECK(db_exec(t->db,
                  "UPDATE worker_instances SET state = 'stopped', dt_heartbeat = NOW(6) - INTERVAL "
                  "10 SECOND WHERE id = ?",
                  DB_P(DBI(inst)), NULL, NULL) == 0,
          "its worker dies: %s", db_errstr(t->db));
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(!t_job_in_state(t, id, "running"), 15000,
               "job %lld of a worker dead after 10,050 others is still running", (long long)id);
}

static const struct test_case cases[] = {
    {"e2e_lease_scan_dead_instances_cost_nothing", test_dead_instances_cost_nothing,
     "[worker]\nlease_s = 3\nheartbeat_s = 1\n"},
    {"e2e_lease_scan_revived_instance_scanned_again", test_revived_instance_scanned_again,
     "[worker]\nlease_s = 3\nheartbeat_s = 1\n"},
    {"e2e_lease_scan_new_death_past_many_dead", test_new_death_past_many_dead,
     "[worker]\nlease_s = 3\nheartbeat_s = 1\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
