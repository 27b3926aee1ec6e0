/* End-to-end tests of the claim against the lease check, on the test's MariaDB: a claim
 * refreshes its instance's heartbeat, so the scheduler cannot declare lost, a moment later,
 * an instance that has just checked a job in (its heartbeat lagging after an outage), and an
 * instance already marked lost claims nothing. Either would let a job start on that worker
 * while the lease recovery gives it to another (I2 of the fault suite; found by
 * webhook-mariadb-down, seed 49155). */
#include "instance.h"
#include "lifecycle.h"
#include "tsupport.h"

#include <stdio.h>

#define LEASE_S 3

/* A worker instance whose last heartbeat is older than the lease, in state. */
static int64_t
stale_instance(struct tenv *t, const char *state)
{
    int64_t inst = instance_register(t->db, "default", 1);
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
    int lost = instance_mark_lost(t->db, inst, LEASE_S);
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

/* An instance the scheduler marked lost takes no job until a heartbeat brings it back. */
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
    CHECK(instance_heartbeat(t->db, inst, "running") == 0, "heartbeat: %s", db_errstr(t->db));
    got = lifecycle_claim(t->db, &id, 1, inst, 2, NULL, out);
    CHECK(got == 1, "after its heartbeat the instance claimed %d jobs, not 1", got);
    claimed_job_release(&out[0]);
}

static const struct test_case cases[] = {
    {"e2e_claim_refreshes_heartbeat", test_claim_refreshes_heartbeat, NULL},
    {"e2e_claim_lost_instance_claims_nothing", test_lost_instance_claims_nothing, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
