/* End-to-end tests of the scheduler against a Redis that answers but refuses writes (LOADING
 * after a restart, OOM, MISCONF, a replica's READONLY; here min-replicas-to-write, on private
 * servers). */
#include "rq.h"
#include "tproducer.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

/* Inserts n jobs pending and due now. */
static void
due_jobs(struct tenv *t, int n)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, dt_created) "
                  "SELECT UUID(), 'api', 'System/Noop', '{}', 'pending', NOW(6), NOW(6) FROM "
                  "seq_1_to_1000 LIMIT ?",
                  DB_P(DBI(n)), NULL, NULL) == 0,
          "due jobs: %s", db_errstr(t->db));
}

static int64_t
jobs_in(struct tenv *t, const char *state)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = ?", DB_P(DBS(state)));
}

static void
redis_min_replicas(struct tenv *t, const char *n)
{
    const char *argv[] = {"CONFIG", "SET", "min-replicas-to-write", n};
    CHECK(rq_command(t->rq, 4, argv) == 0, "CONFIG SET min-replicas-to-write %s: %s", n,
          rq_errstr(t->rq));
}

/* While Redis answers pushes with an error, the connection up, due jobs stay pending: the
 * pickup queued four batches a tick that no one could push, and each waited requeue_after_s
 * for the reconcile once Redis was back. Once a probe write goes through, they are pushed. */
static void
test_refused_writes_keep_jobs_pending(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    char url[64];
    pid_t s = t_spawn_scheduler_metrics(t, url, sizeof(url));
    WAIT_UNTIL(t_log_has(t, s, "became leader"), 10000, "the scheduler never led");
    redis_min_replicas(t, "1");
    due_jobs(t, 1);
    WAIT_UNTIL(t_log_has(t, s, "NOREPLICAS"), 10000, "the refused push was never logged");
    due_jobs(t, 20);
    const char *ticks = "jobfleet_scheduler_tick_duration_seconds_count";
    double at = t_metric(url, ticks);
    WAIT_UNTIL(t_metric(url, ticks) >= at + 5, 10000, "the scheduler stopped ticking");
    CHECK(jobs_in(t, "pending") == 20,
          "%lld of the 20 jobs due while Redis refused writes were queued anyway (queued: %lld)",
          (long long)(20 - jobs_in(t, "pending")), (long long)jobs_in(t, "queued"));
    redis_min_replicas(t, "0");
    WAIT_UNTIL(rq_depth(t->rq, "default") == 21, 15000, "%lld of 21 IDs in Redis",
               (long long)rq_depth(t->rq, "default"));
    CHECK(jobs_in(t, "queued") == 21, "every job queued");
    CHECK(t_log_has(t, s, "Redis takes writes again"), "the recovery is logged");
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
}

static const struct test_case cases[] = {
    {"e2e_scheduler_redis_refused_writes_keep_jobs_pending", test_refused_writes_keep_jobs_pending,
     NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
