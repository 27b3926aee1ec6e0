/* End-to-end tests of the claim against the lease check, on the test's MariaDB: a claim
 * refreshes its instance's heartbeat, so the scheduler cannot declare lost, a moment later,
 * an instance that has just checked a job in (its heartbeat lagging after an outage), and an
 * instance already marked lost claims nothing. Either would let a job start on that worker
 * while the lease recovery gives it to another (I2 of the fault suite; found by
 * webhook-mariadb-down, seed 49155). */
#include "instance.h"
#include "lifecycle.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define LEASE_S 3

/* A worker instance whose last heartbeat is older than the lease, in state. */
static int64_t
stale_instance(struct tenv *t, const char *state)
{
    int64_t inst = instance_register(t->db, "default", 1, LEASE_S);
    CHECK(inst > 0, "register an instance: %s", db_errstr(t->db));
    CHECK(db_exec(t->db,
                  "UPDATE worker_instances SET state = ?, dt_heartbeat = NOW(6) - INTERVAL 10 "
                  "SECOND WHERE id = ?",
                  DB_P(DBS(state), DBI(inst)), NULL, NULL) == 0,
          "age the heartbeat: %s", db_errstr(t->db));
    return inst;
}

static int64_t
queued_job(struct tenv *t)
{
    int64_t id = t_enqueue(t, "System/Noop", "{}", NULL);
    CHECK(id > 0 && t_job_in_state(t, id, "queued"), "enqueue a queued job");
    return id;
}

/* The claim is the instance's heartbeat too: the lease check right after it leaves the
 * instance alive, and its job with it. */
static void
test_claim_refreshes_heartbeat(struct tenv *t)
{
    int64_t id = queued_job(t), inst = stale_instance(t, "running");
    struct claimed_job out[1];
    int got = lifecycle_claim(t->db, &id, 1, inst, 1, NULL, out);
    CHECK(got == 1, "the claim took %d jobs, not 1: %s", got, db_errstr(t->db));
    claimed_job_release(&out[0]);
    int lost = instance_mark_lost(t->db, inst, LEASE_S, INT64_C(1) << 31);
    CHECK(lost == 0,
          "the lease check marked lost (%d) an instance that claimed a job a moment ago: the "
          "lease recovery would give that job to another worker while this one starts it",
          lost);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM worker_instances WHERE id = ? AND state = 'running' AND "
                    "dt_heartbeat > NOW(6) - INTERVAL 1 SECOND",
                    DB_P(DBI(inst))) == 1,
          "the claim did not refresh the instance's heartbeat");
}

/* An instance the scheduler marked lost takes no job until a heartbeat that may revive it (its
 * worker stopped what ran there) brings it back; a plain heartbeat does not. */
static void
test_lost_instance_claims_nothing(struct tenv *t)
{
    int64_t id = queued_job(t), inst = stale_instance(t, "lost");
    struct claimed_job out[1];
    int got = lifecycle_claim(t->db, &id, 1, inst, 1, NULL, out);
    if (got > 0)
        claimed_job_release(&out[0]);
    CHECK(got == 0, "an instance marked lost claimed %d jobs", got);
    CHECK(t_job_in_state(t, id, "queued"), "the job left the queue");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM worker_instances WHERE id = ? AND state = 'lost' AND "
                    "dt_heartbeat < NOW(6) - INTERVAL ? SECOND",
                    DB_P(DBI(inst), DBI(LEASE_S))) == 1,
          "the refused claim brought the lost instance back");
    CHECK(instance_heartbeat(t->db, inst, "running", false) == 1, "a heartbeat revived it: %s",
          db_errstr(t->db));
    CHECK(instance_heartbeat(t->db, inst, "running", true) == 0, "heartbeat: %s", db_errstr(t->db));
    got = lifecycle_claim(t->db, &id, 1, inst, 2, NULL, out);
    CHECK(got == 1, "after its heartbeat the instance claimed %d jobs, not 1", got);
    claimed_job_release(&out[0]);
}

/* The watchdog reads the jobs past their deadline, then ends them. When the job's worker handed
 * it back and claimed it again in between (the window's hand-back gives the attempt back), the
 * row has the same instance and attempt as the watchdog read: only the claim's token tells the
 * new claim from the overdue one. Without it, the watchdog timed out a claim a moment old, and
 * the job ran again while it ran. The race is held open by a stall at watchdog.scanned; a second
 * overdue job, in the same batch, shows when the watchdog has ended its batch. */
static void
test_watchdog_spares_new_claim(struct tenv *t)
{
    int64_t ids[2] = {queued_job(t), queued_job(t)};
    int64_t inst = instance_register(t->db, "default", 1, LEASE_S);
    CHECK(inst > 0, "register an instance: %s", db_errstr(t->db));
    struct claimed_job out[2];
    CHECK(lifecycle_claim(t->db, ids, 2, inst, 1, NULL, out) == 2, "claim: %s", db_errstr(t->db));
    claimed_job_release(&out[0]);
    claimed_job_release(&out[1]);
    CHECK(db_exec_static(t->db, "UPDATE jobs SET dt_deadline = NOW(6) - INTERVAL 1 HOUR") == 0,
          "overdue: %s", db_errstr(t->db));
    setenv("JOBFLEET_FAULT_POINT", "watchdog.scanned", 1);
    setenv("JOBFLEET_FAULT_ACTION", "stall1:2000", 1);
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    WAIT_UNTIL(t_log_has(t, s, "watchdog.scanned: stalled"), 10000, "the watchdog never scanned");
    int one = 1;
    int64_t token = 1;
    CHECK(lifecycle_hand_back(t->db, inst, &ids[0], &one, &token, 1) == 0, "hand back: %s",
          db_errstr(t->db));
    CHECK(lifecycle_claim(t->db, &ids[0], 1, inst, 2, NULL, out) == 1, "claim again: %s",
          db_errstr(t->db));
    claimed_job_release(&out[0]);
    WAIT_UNTIL(!t_job_in_state(t, ids[1], "running"), 10000, "the other overdue job is %s",
               t_job_state(t, ids[1]));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running' AND "
                    "claim_token = 2 AND attempt = 1",
                    DB_P(DBI(ids[0]))) == 1,
          "the watchdog ended the new claim of job %lld, a moment old: it is %s", (long long)ids[0],
          t_job_state(t, ids[0]));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?",
                    DB_P(DBI(ids[0]))) == 0,
          "an attempt row for a claim that never ran");
}

/* The scheduler judges a worker by the lease the worker keeps, not by its own [worker] lease_s:
 * a worker configured with a longer lease and heartbeat than the scheduler's runs its job to the
 * end. Before, the scheduler declared it lost between two of its heartbeats, failed its job
 * "worker lost", and the worker then stopped it. */
static void
test_worker_own_lease(struct tenv *t)
{
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    setenv("JOBFLEET_WORKER_LEASE_S", "20", 1);
    setenv("JOBFLEET_WORKER_HEARTBEAT_S", "8", 1);
    pid_t w = t_start_worker(t, NULL);
    unsetenv("JOBFLEET_WORKER_LEASE_S");
    unsetenv("JOBFLEET_WORKER_HEARTBEAT_S");
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":7}", NULL);
    WAIT_UNTIL(t_job_done(t, id), 30000, "job %lld is still %s", (long long)id, t_job_state(t, id));
    CHECK(t_job_in_state(t, id, "succeeded") && !t_log_has(t, s, "lost: no heartbeat"),
          "a worker with a lease of 20 s, silent for up to 8 s, was judged by the scheduler's 3 "
          "s: its job is %s",
          t_job_state(t, id));
    CHECK(t_sql_int(t, -1, "SELECT lease_s FROM worker_instances WHERE pid = ?", DB_P(DBI(w))) ==
              20,
          "the instance's row does not hold its lease");
}

static const struct test_case cases[] = {
    {"e2e_claim_refreshes_heartbeat", test_claim_refreshes_heartbeat, NULL},
    {"e2e_claim_lost_instance_claims_nothing", test_lost_instance_claims_nothing, NULL},
    {"e2e_claim_watchdog_spares_new_claim", test_watchdog_spares_new_claim, NULL},
    {"e2e_claim_lease_worker_own_lease", test_worker_own_lease,
     "[worker]\nlease_s = 3\nheartbeat_s = 1\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
