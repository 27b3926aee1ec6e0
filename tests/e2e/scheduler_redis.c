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
#include <string.h>

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

/* The number after "<prefix>" in the private Redis's INFO <section> (redis-cli); absent when
 * no line has it, -1 when it cannot be read. */
static long
redis_info_num(const struct tsrv *srv, const char *section, const char *prefix, long absent)
{
    char *sh = xasprintf("redis-cli -p %d INFO %s", srv->redis_port, section);
    FILE *fp = popen(sh, "r");
    char line[512];
    long n = fp ? absent : -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            n = strtol(line + strlen(prefix), NULL, 10);
    if (fp && pclose(fp) != 0)
        n = -1;
    free(sh);
    return n;
}

/* The calls of a Redis command the private server has answered since its last CONFIG RESETSTAT;
 * -1 when it cannot be read. */
static long
redis_calls(const struct tsrv *srv, const char *cmd)
{
    char *want = xasprintf("cmdstat_%s:calls=", cmd);
    long n = redis_info_num(srv, "commandstats", want, 0);
    free(want);
    return n;
}

/* While Redis refuses writes, reconcile waits with the pickup for a probe write to go through.
 * Before, it asked Redis about a batch (ZMSCORE) and had its push refused at every tick, moving
 * its cursor past each refused batch as if it were done. Once writes go through, every ID is
 * pushed. */
static void
test_refused_writes_pause_reconcile(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    CHECK(db_exec_static(
              t->db, "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, "
                     "dt_created, dt_queued) SELECT UUID(), 'api', 'System/Noop', '{}', "
                     "'queued', NOW(6), NOW(6), NOW(6) - INTERVAL 1 HOUR FROM seq_1_to_20") == 0,
          "stale queued jobs: %s", db_errstr(t->db));
    redis_min_replicas(t, "1");
    char url[64];
    pid_t s = t_spawn_scheduler_metrics(t, url, sizeof(url));
    WAIT_UNTIL(t_log_has(t, s, "NOREPLICAS"), 10000, "the refused push was never logged");
    const char *argv[] = {"CONFIG", "RESETSTAT"};
    CHECK(rq_command(t->rq, 2, argv) == 0, "CONFIG RESETSTAT: %s", rq_errstr(t->rq));
    const char *ticks = "jobfleet_scheduler_tick_duration_seconds_count";
    double at = t_metric(url, ticks);
    WAIT_UNTIL(t_metric(url, ticks) >= at + 5, 10000, "the scheduler stopped ticking");
    long asked = redis_calls(&srv, "zmscore");
    CHECK(asked == 0, "reconcile asked Redis %ld times over 5 ticks while its writes were refused",
          asked);
    redis_min_replicas(t, "0");
    WAIT_UNTIL(rq_depth(t->rq, "default") == 20, 15000, "%lld of 20 IDs in Redis",
               (long long)rq_depth(t->rq, "default"));
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
}

/* A batch that fails on its own (its queue's key holds a string: WRONGTYPE) is passed after a
 * few ticks, and the queued jobs after it are pushed: reconcile keeps its cursor on a failed
 * batch only for a while. */
static void
test_bad_batch_passed(struct tenv *t)
{
    CHECK(db_exec_static(t->db,
                         "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, "
                         "dt_created, dt_queued, queue) SELECT UUID(), 'api', 'System/Noop', '{}', "
                         "'queued', NOW(6), NOW(6), NOW(6) - INTERVAL (10 - seq) MINUTE, IF(seq = "
                         "1, 'bad', 'good') FROM seq_1_to_3") == 0,
          "stale queued jobs: %s", db_errstr(t->db));
    char *key = xasprintf("%s:q:bad", t->cfg.redis.prefix);
    const char *argv[] = {"SET", key, "not a queue"};
    CHECK(rq_command(t->rq, 3, argv) == 0, "SET %s: %s", key, rq_errstr(t->rq));
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(rq_depth(t->rq, "good") == 2, 15000,
               "%lld of the 2 jobs queued behind a bad batch were pushed",
               (long long)rq_depth(t->rq, "good"));
    CHECK(t_log_has(t, s, "WRONGTYPE"), "the bad batch's error is logged");
    free(key);
}

/* The connections the private Redis has accepted since it started, this one's included. */
static long
redis_connections(const struct tsrv *srv)
{
    return redis_info_num(srv, "stats", "total_connections_received:", -1);
}

static void
redis_replicaof(struct tenv *t, const char *host, const char *port)
{
    const char *argv[] = {"REPLICAOF", host, port};
    CHECK(rq_command(t->rq, 3, argv) == 0, "REPLICAOF %s %s: %s", host, port, rq_errstr(t->rq));
}

/* A master demoted by hand (REPLICAOF, no Sentinel to kill the clients' connections) answers
 * READONLY. The scheduler must not keep asking over its old connection: where the master's
 * address or DNS name moved, only a new connection reaches the new one. Before, it kept the
 * connection for good. It also warns once, not at every tick. */
static void
test_demoted_master_left(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    char url[64];
    pid_t s = t_spawn_scheduler_metrics(t, url, sizeof(url));
    WAIT_UNTIL(t_log_has(t, s, "became leader"), 10000, "the scheduler never led");
    /* A master that does not exist: this one stays a replica that refuses writes. */
    redis_replicaof(t, "127.0.0.1", "1");
    due_jobs(t, 1);
    WAIT_UNTIL(t_log_has(t, s, "READONLY"), 10000, "the refused push was never logged");
    const char *ticks = "jobfleet_scheduler_tick_duration_seconds_count";
    double at = t_metric(url, ticks);
    WAIT_UNTIL(t_metric(url, ticks) >= at + 1, 10000, "the scheduler stopped ticking");
    long conns = redis_connections(&srv);
    int warned = t_log_count(t, s, "READONLY");
    at = t_metric(url, ticks);
    WAIT_UNTIL(t_metric(url, ticks) >= at + 4, 10000, "the scheduler stopped ticking");
    long more = redis_connections(&srv) - conns - 1; /* less redis-cli's own */
    CHECK(more >= 2, "over 4 ticks of READONLY answers the scheduler connected anew %ld times",
          more);
    CHECK(t_log_count(t, s, "READONLY") == warned && !t_log_has(t, s, "connection was lost"),
          "over 4 more ticks READONLY was logged %d more times (want none: once a minute), "
          "lost connections %d times",
          t_log_count(t, s, "READONLY") - warned, t_log_count(t, s, "connection was lost"));
    redis_replicaof(t, "NO", "ONE");
    WAIT_UNTIL(rq_depth(t->rq, "default") == 1, 15000,
               "the job was not pushed once Redis "
               "took writes again");
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
}

static const struct test_case cases[] = {
    {"e2e_scheduler_redis_refused_writes_keep_jobs_pending", test_refused_writes_keep_jobs_pending,
     NULL},
    {"e2e_scheduler_redis_refused_writes_pause_reconcile", test_refused_writes_pause_reconcile,
     "[scheduler]\nrequeue_after_s = 1\n"},
    {"e2e_scheduler_redis_bad_batch_passed", test_bad_batch_passed,
     "[scheduler]\nrequeue_after_s = 1\nbatch_size = 1\n"},
    {"e2e_scheduler_redis_demoted_master_left", test_demoted_master_left, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
