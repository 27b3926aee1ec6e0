/* End-to-end tests of the producer through outages, on private MariaDB and Redis servers (the
 * shared ones serve other tests): MariaDB stopped part-way through 2,000 webhooks, the spool
 * quota reached while MariaDB is down, and Redis stopped during ingestion. What they check is
 * invariant 7: a webhook answered 2xx ends as exactly one job, one answered 5xx as none. */
#include "log_limit.h"
#include "thttp.h"
#include "tproducer.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ECHO_SOURCE "[webhook.system]\nauth = none\n"

static bool
spool_empty(struct tenv *t)
{
    return tprod_metric(t, "jobfleet_producer_spool_files") == 0;
}

/* Whether the job of each key exists, as 0/1 per index, from one query. */
static void
jobs_by_key(struct tenv *t, const char *prefix, int n, int *have)
{
    memset(have, 0, sizeof(int) * (size_t)n);
    char like[64];
    snprintf(like, sizeof(like), "system:key:%s-%%", prefix);
    const char *sql = "SELECT idempotency_key FROM jobs WHERE idempotency_key LIKE ?";
    struct db_rows *r = db_query(t->db, sql, DB_P(DBS(like)));
    if (r == NULL && db_lost(t->db)) /* the connection died with the restart */
        r = db_query(t->db, sql, DB_P(DBS(like)));
    CHECK(r != NULL, "query: %s", db_errstr(t->db));
    size_t pl = strlen(like) - 1;
    for (int i = 0; i < r->n_rows; i++) {
        int k = (int)strtol(db_rows_get(r, i, 0) + pl, NULL, 10);
        CHECK(k >= 0 && k < n, "unexpected key %s", db_rows_get(r, i, 0));
        have[k]++;
    }
    db_rows_free(r);
}

static long
post_key(struct tenv *t, const char *prefix, int i, char *retry_after, size_t ralen)
{
    char h[64], body[64];
    snprintf(h, sizeof(h), "Idempotency-Key: %s-%d", prefix, i);
    snprintf(body, sizeof(body), "{\"n\":%d}", i);
    const char *hdrs[] = {h, NULL};
    struct t_http_resp r;
    t_http("POST", tprod_url(t, "/webhook/system/echo"), body, strlen(body), hdrs, &r);
    if (retry_after && t_http_header(&r, "retry-after", retry_after, ralen) < 0)
        retry_after[0] = '\0';
    long st = r.status;
    t_http_release(&r);
    return st;
}

#define OUTAGE_N 2000
#define OUTAGE_THREADS 6

struct outage {
    struct tenv *t;
    atomic_int next, done;
    atomic_bool stopped, started;
    long status[OUTAGE_N];
};

/* Sends webhooks until OUTAGE_N are out. Requests from 1,000 on wait until MariaDB is fully
 * down, and from 1,700 on until it is back, so each phase surely has its share. */
static void *
outage_client(void *arg)
{
    struct outage *o = arg;
    for (;;) {
        int i = atomic_fetch_add(&o->next, 1);
        if (i >= OUTAGE_N)
            break;
        while ((i >= 1000 && !atomic_load(&o->stopped)) || (i >= 1700 && !atomic_load(&o->started)))
            sleep_ms(5);
        o->status[i] = post_key(o->t, "out", i, NULL, 0);
        atomic_fetch_add(&o->done, 1);
    }
    return NULL;
}

static void
test_outage_mysql(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    struct outage *o = xcalloc(1, sizeof(*o));
    o->t = t;
    pthread_t th[OUTAGE_THREADS];
    for (int i = 0; i < OUTAGE_THREADS; i++)
        pthread_create(&th[i], NULL, outage_client, o);
    WAIT_UNTIL(atomic_load(&o->done) >= 300, 30000, "the first webhooks");
    /* Stopped while requests are in flight: some inserts and commits die mid-way. */
    tsrv_stop_mysql(&srv);
    atomic_store(&o->stopped, true);
    WAIT_UNTIL(atomic_load(&o->done) >= 1650, 30000, "webhooks during the outage");
    tsrv_start_mysql(&srv);
    atomic_store(&o->started, true);
    for (int i = 0; i < OUTAGE_THREADS; i++)
        pthread_join(th[i], NULL);
    WAIT_UNTIL(spool_empty(t), 30000, "the spool never drained");
    /* The replay counts a round's entries after it has removed their files. */
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_spool_replayed_total") ==
                   tprod_metric(t, "jobfleet_producer_spooled_total"),
               10000, "the replay did not count every spooled webhook");
    int *have = xcalloc(OUTAGE_N, sizeof(int));
    jobs_by_key(t, "out", OUTAGE_N, have);
    int ok = 0, refused = 0;
    for (int i = 0; i < OUTAGE_N; i++) {
        long st = o->status[i];
        CHECK(st != 0, "webhook %d got no answer", i);
        if (st >= 200 && st < 300) {
            ok++;
            CHECK(have[i] == 1, "webhook %d answered %ld has %d jobs", i, st, have[i]);
        } else {
            refused++;
            CHECK(st == 503 && have[i] == 0, "webhook %d answered %ld has %d jobs", i, st, have[i]);
        }
    }
    int64_t spooled = tprod_metric(t, "jobfleet_producer_spooled_total");
    int64_t replayed = tprod_metric(t, "jobfleet_producer_spool_replayed_total");
    fprintf(stderr, "%d accepted, %d refused, %lld spooled, %lld replayed\n", ok, refused,
            (long long)spooled, (long long)replayed);
    CHECK(spooled >= 650 && replayed == spooled, "spooled %lld, replayed %lld", (long long)spooled,
          (long long)replayed);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == ok, "jobs = accepted");
    free(have);
    free(o);
    tsrv_stop(t, &srv);
}

static void
test_spool_quota(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t prod = tprod_start(t);
    CHECK(post_key(t, "before", 0, NULL, 0) == 202, "stored before the outage");
    tsrv_stop_mysql(&srv);
    enum { MAXN = 400 };
    long st[MAXN];
    int n = 0, accepted = 0;
    char ra[32] = "";
    /* Fill the spool until the quota refuses; then a few more are refused too. */
    for (int refused = 0; n < MAXN && refused < 5; n++) {
        st[n] = post_key(t, "q", n, ra, sizeof(ra));
        CHECK(st[n] == 202 || st[n] == 503, "webhook %d: %ld", n, st[n]);
        if (st[n] == 503) {
            CHECK(strcmp(ra, "30") == 0, "Retry-After: \"%s\"", ra);
            refused++;
        } else {
            CHECK(refused == 0, "accepted again after a 503 with the spool still full");
            accepted++;
        }
    }
    CHECK(accepted >= 10 && n < MAXN, "accepted %d of %d before the quota", accepted, n);
    CHECK(tprod_metric(t, "jobfleet_producer_spool_bytes") <= 60000, "spool over its quota");
    /* The quota counts the disk's blocks: each small webhook takes 4 KiB. */
    CHECK(accepted <= 60000 / 4096, "%d small webhooks fit in 60,000 bytes of disk", accepted);
    /* Refused deliveries are counted, not each logged: a sender's retries (or anyone's, on an
     * auth = none source) would fill the disk while MariaDB is down. */
    for (int i = 0; i < 40; i++)
        CHECK(post_key(t, "flood", i, NULL, 0) == 503, "flood %d refused", i);
    char *plog = t_log(t, prod);
    int lines = t_count(plog, "and not spooled");
    CHECK(lines <= 20, "%d log lines for 45 refused deliveries", lines);
    free(plog);
    CHECK(tprod_metric(t, "jobfleet_producer_spool_files") == accepted, "files = accepted");
    struct t_http_resp h;
    t_http("GET", tprod_url(t, "/health"), NULL, 0, NULL, &h);
    CHECK(h.status == 503 && strstr(h.body, "\"accepting_webhooks\":false"), "health: %ld %s",
          h.status, h.body);
    t_http_release(&h);
    tsrv_start_mysql(&srv);
    WAIT_UNTIL(spool_empty(t), 30000, "the spool never drained");
    int *have = xcalloc(MAXN, sizeof(int));
    jobs_by_key(t, "q", MAXN, have);
    for (int i = 0; i < n; i++)
        CHECK(have[i] == (st[i] == 202), "webhook %d answered %ld has %d jobs", i, st[i], have[i]);
    free(have);
    CHECK(tprod_metric(t, "jobfleet_producer_spool_bytes") == 0, "spool bytes back to 0");
    int64_t spooled = tprod_metric(t, "jobfleet_producer_spooled_total");
    CHECK(post_key(t, "after", 0, NULL, 0) == 202, "stored after the outage");
    CHECK(tprod_metric(t, "jobfleet_producer_spooled_total") == spooled, "stored, not spooled");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == accepted + 2, "job count");
    tsrv_stop(t, &srv);
}

/* POSTs a webhook of about size bytes under the Idempotency-Key key; returns the status. */
static long
post_sized(struct tenv *t, const char *key, size_t size)
{
    char h[64];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
    char *pad = xmalloc(size + 1);
    memset(pad, 'x', size);
    pad[size] = '\0';
    char *body = xasprintf("{\"pad\":\"%s\"}", pad);
    const char *hdrs[] = {h, NULL};
    long st = tprod_post(t, "/webhook/system/echo", body, strlen(body), hdrs, NULL);
    free(body);
    free(pad);
    return st;
}

/* One webhook too big for the spool's room left is refused, but smaller ones still fit: the
 * health page goes on saying webhooks are accepted (it said "down" until the next write, so a
 * load balancer took the producer out for the whole outage). */
static void
test_spool_room_left(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    tsrv_stop_mysql(&srv);
    for (int i = 0; i < 10; i++) {
        char key[32];
        snprintf(key, sizeof(key), "fill-%d", i);
        CHECK(post_sized(t, key, 6000) == 202, "webhook %d spooled", i);
    }
    CHECK(post_sized(t, "big", 50000) == 503, "the one too big for the room left is refused");
    struct t_http_resp h;
    t_http("GET", tprod_url(t, "/health"), NULL, 0, NULL, &h);
    CHECK(h.status == 200 && strstr(h.body, "\"accepting_webhooks\":true"), "health: %ld %s",
          h.status, h.body);
    t_http_release(&h);
    CHECK(post_sized(t, "small", 1000) == 202, "a small one is spooled");
    tsrv_stop(t, &srv);
}

/* Room an operator makes by dropping an entry of failed/ is seen within a second (as
 * docs/deploy.md says) also while the spool is not full: a webhook bigger than the room that
 * was left, refused before, is then spooled. The producer recounted failed/ only while the
 * spool counted as full, and kept refusing it until a restart. */
static void
test_spool_room_after_drop(struct tenv *t)
{
    tprod_spool_failed(t, "0000000000001-000001-aaaaaaaa", "No/Such",
                       "system:key:0000000000001-000001-aaaaaaaa", 60000);
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    /* What failed/ takes from the quota shows: before, nothing said why a spool with nothing
     * waiting refused webhooks. */
    CHECK(tprod_metric(t, "jobfleet_producer_spool_failed_files") == 1 &&
              tprod_metric(t, "jobfleet_producer_spool_failed_bytes") >= 60000,
          "failed/ in /metrics: %lld files, %lld bytes",
          (long long)tprod_metric(t, "jobfleet_producer_spool_failed_files"),
          (long long)tprod_metric(t, "jobfleet_producer_spool_failed_bytes"));
    tsrv_stop_mysql(&srv);
    CHECK(post_sized(t, "small", 1000) == 202, "a small one is spooled");
    CHECK(post_sized(t, "big", 45000) == 503, "the big one does not fit beside failed/");
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err,
                (const char *const[]){"spool", "drop", "0000000000001-000001-aaaaaaaa", NULL}) == 0,
          "drop: %s", err ? err : "");
    free(err);
    WAIT_UNTIL(post_sized(t, "big", 45000) == 202, 5000, "the big one is spooled after the drop");
    CHECK(tprod_metric(t, "jobfleet_producer_spool_failed_files") == 0, "failed/ after the drop");
    tsrv_stop(t, &srv);
}

/* A MariaDB that answers but refuses every write (read_only, a full disk, a user that may not
 * insert; here a trigger that refuses as read_only does, error 1290) shows as down in /health and
 * /metrics, and is logged once, not per webhook: before, /health said "ok" and mariadb_up 1 while
 * every webhook went to the spool, and each one wrote three warning lines. The spooled webhooks
 * are stored once writes go through again. */
static void
test_writes_refused(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "CREATE TRIGGER jf_read_only BEFORE INSERT ON jobs FOR EACH ROW "
                                "SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = 1290, MESSAGE_TEXT = "
                                "'The MariaDB server is running with the --read-only option'") == 0,
          "trigger: %s", db_errstr(t->db));
    pid_t p = tprod_start(t);
    for (int i = 0; i < 5; i++)
        CHECK(post_key(t, "ro", i, NULL, 0) == 202, "webhook %d spooled", i);
    char *out = NULL;
    CHECK(tprod_call(t, "GET", "/health", NULL, "", &out) == 200 &&
              strstr(out, "\"mysql\":\"down\"") && strstr(out, "\"status\":\"degraded\""),
          "/health while writes are refused: %s", out);
    free(out);
    CHECK(tprod_metric(t, "jobfleet_producer_mariadb_up") == 0, "mariadb_up while refused");
    CHECK(t_log_count(t, p, "MariaDB refuses writes") == 1 &&
              t_log_count(t, p, "retrying row by row") == 0,
          "the refusal logged %d times, and %d row-by-row retries",
          t_log_count(t, p, "MariaDB refuses writes"), t_log_count(t, p, "retrying row by row"));
    /* No new webhook: the replay's first commit says MariaDB takes writes again. */
    CHECK(db_exec_static(t->db, "DROP TRIGGER jf_read_only") == 0, "drop: %s", db_errstr(t->db));
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 5 && spool_empty(t), 15000,
               "%lld jobs, %lld spooled",
               (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP),
               (long long)tprod_metric(t, "jobfleet_producer_spool_files"));
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_mariadb_up") == 1 &&
                   t_log_has(t, p, "MariaDB takes writes again"),
               5000, "the recovery is not seen without a new webhook");
}

static bool
all_succeeded(struct tenv *t, int n)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP) == n;
}

static void
test_outage_redis(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t p = tprod_start(t);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    for (int i = 0; i < 20; i++)
        CHECK(post_key(t, "r", i, NULL, 0) == 202, "webhook %d before", i);
    WAIT_UNTIL(all_succeeded(t, 20), 20000, "jobs before the outage did not run");
    tsrv_stop_redis(&srv);
    for (int i = 20; i < 120; i++)
        CHECK(post_key(t, "r", i, NULL, 0) == 202, "webhook %d during the Redis outage", i);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP) == 100,
          "the jobs of the outage wait, queued");
    CHECK(tprod_metric(t, "jobfleet_producer_spooled_total") == 0, "nothing spooled for Redis");
    /* The finisher retries its backlog every 500 ms: a warning each time wrote 7,200 lines an
     * hour. The first is said, then once a minute. */
    double at = tprod_metric(t, "jobfleet_producer_redis_push_failures_total");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_redis_push_failures_total") >= at + 4, 10000,
               "the backlog was not retried");
    /* The first warning says what it kept and what waits in all. */
    CHECK(t_log_has(t, p, "1 job IDs kept to push when Redis is back, 1 waiting in all"),
          "the first warning does not say what waits");
    CHECK(t_log_count(t, p, "kept to push when Redis is back") == 1,
          "%d warnings of IDs kept in a few seconds of outage, want 1",
          t_log_count(t, p, "kept to push when Redis is back"));
    tsrv_start_redis(&srv);
    /* The producer pushes the IDs it kept (the scheduler's reconcile would too, later). */
    WAIT_UNTIL(
        all_succeeded(t, 120), 30000, "jobs of the outage did not run: %lld succeeded",
        (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP));
    /* Logged after the push, so possibly after the jobs ran. */
    WAIT_UNTIL(t_log_has(t, p, "Redis is back: pushed"), 5000, "no recovery line");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts", DB_NOP) == 120,
          "each job ran once");
    t_signal(t, w, SIGTERM);
    t_wait_exit_ok(t, w, 20000, "the worker");
    tsrv_stop(t, &srv);
}

/* While MariaDB is down, every API read answers 503, and a client repeating one does not
 * write a warning each time. */
static void
test_outage_api_log(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t p = tprod_start(t);
    tsrv_stop_mysql(&srv);
    for (int i = 0; i < 100; i++)
        CHECK(tprod_call(t, "GET", "/api/jobs?state=failed", NULL, NULL, NULL) == 503,
              "read %d during the outage", i);
    char *log = t_log(t, p);
    CHECK(log != NULL, "no log");
    int n = t_count(log, "api GET /api/jobs");
    CHECK(n >= 1 && n <= LOG_LIMIT_BURST, "%d lines for 100 refused reads", n);
    free(log);
    tsrv_start_mysql(&srv);
    tsrv_stop(t, &srv);
}

/* A server whose sessions start with autocommit off (autocommit=0 in its my.cnf): the
 * producer's one-statement insert, which relies on autocommit, was left in an open transaction
 * and answered 202, so no other session saw the job and a kill -9 of the producer lost it. The
 * fleet's sessions turn autocommit on themselves. */
static void
test_server_autocommit_off(struct tenv *t)
{
    setenv("JOBFLEET_MYSQL_EXTRA_ARGS", "--autocommit=0", 1);
    struct tsrv srv;
    tsrv_start(t, &srv);
    unsetenv("JOBFLEET_MYSQL_EXTRA_ARGS");
    tsrv_use(t, &srv);
    pid_t p = tprod_start(t);
    char *out = NULL;
    long st = tprod_post(t, "/webhook/system/echo", "{\"n\":1}", 7, NULL, &out);
    CHECK(st == 202, "the webhook: %ld %s", st, out ? out : "");
    free(out);
    kill(p, SIGKILL);
    t_wait_gone(t, p, 5000, "the killed producer");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1,
          "the job answered 202 is not stored");
    tsrv_stop(t, &srv);
}

/* Redis answers but refuses writes (a master demoted by hand: READONLY): the producer's pushes
 * fail, so /health must not say "ok". Its probe was a PING, which a replica answers. */
static void
test_health_redis_refuses_writes(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    char *out = NULL;
    WAIT_UNTIL(
        (free(out), out = NULL,
         tprod_call(t, "GET", "/health", NULL, "", &out) == 200 && strstr(out, "\"redis\":\"ok\"")),
        5000, "/health before: %s", out);
    const char *demote[] = {"REPLICAOF", "127.0.0.1", "1"};
    CHECK(rq_command(t->rq, 3, demote) == 0, "REPLICAOF: %s", rq_errstr(t->rq));
    WAIT_UNTIL((free(out), out = NULL, tprod_call(t, "GET", "/health", NULL, "", &out),
                strstr(out, "\"redis\":\"down\"") != NULL),
               5000, "/health of a Redis that refuses writes: %s", out);
    const char *promote[] = {"REPLICAOF", "NO", "ONE"};
    CHECK(rq_command(t->rq, 3, promote) == 0, "REPLICAOF NO ONE: %s", rq_errstr(t->rq));
    WAIT_UNTIL((free(out), out = NULL, tprod_call(t, "GET", "/health", NULL, "", &out),
                strstr(out, "\"redis\":\"ok\"") != NULL),
               5000, "/health once Redis takes writes again: %s", out);
    free(out);
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
}

static const struct test_case cases[] = {
    {"e2e_producer_server_autocommit_off", test_server_autocommit_off, ECHO_SOURCE},
    {"e2e_producer_outage_mysql", test_outage_mysql, ECHO_SOURCE},
    {"e2e_producer_spool_quota", test_spool_quota,
     ECHO_SOURCE "[producer]\nspool_max_bytes = 60000\n"},
    {"e2e_producer_spool_room_left", test_spool_room_left,
     ECHO_SOURCE "[producer]\nspool_max_bytes = 100000\n"},
    {"e2e_producer_spool_room_after_drop", test_spool_room_after_drop,
     ECHO_SOURCE "[producer]\nspool_max_bytes = 100000\n"},
    {"e2e_producer_outage_redis", test_outage_redis, ECHO_SOURCE},
    {"e2e_producer_writes_refused", test_writes_refused, ECHO_SOURCE},
    {"e2e_producer_outage_api_log", test_outage_api_log, ECHO_SOURCE},
    {"e2e_producer_health_redis_refuses_writes", test_health_redis_refuses_writes, ECHO_SOURCE},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
