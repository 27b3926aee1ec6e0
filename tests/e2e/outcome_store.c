/* End-to-end tests that one outcome MariaDB cannot take as it is never holds back a worker's
 * check-outs: a reason longer than its column is cut before it is written, and an outcome
 * refused for its size (by a proxy with a smaller max_allowed_packet than the server's) is
 * written alone, then without its result; the outcomes after it are written as usual. */
#include "tmyproxy.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON document {"<key>":"xxx..."} whose string is n bytes of c. */
static char *
big_params(const char *key, size_t n, char c)
{
    char *s = xmalloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    char *p = xasprintf("{\"%s\":\"%s\"%s}", key, s,
                        strcmp(key, "reason") == 0 ? ",\"permanent\":true" : "");
    free(s);
    return p;
}

/* Waits until every job is done, failing the test with the first that is not. */
static void
all_done(struct tenv *t, const int64_t *ids, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), timeout_ms, "job %d of %d (id %lld) finishes", i + 1, n,
                   (long long)ids[i]);
}

/* Starts a worker whose MariaDB connections go through a proxy that lets no packet over 64 KiB
 * through (as MariaDB refuses one over its max_allowed_packet). The CLI's, from then on, too. */
static struct tmyproxy *
worker_behind_proxy(struct tenv *t)
{
    struct tmyproxy *px = tmyproxy_start_for(t);
    tmyproxy_max_packet(px, 64 * 1024);
    t_start_worker(t, NULL);
    return px;
}

/* System/Fail with a 100,000-byte reason (failure_reason is a TEXT column of 65,535), then
 * three no-ops: the failure is stored with its reason cut to 16 KiB and a note of its length,
 * and the no-ops succeed. Before, MariaDB refused that check-out every 200 ms for ever, and
 * every outcome after it waited behind it. */
static void
test_reason_too_long(struct tenv *t)
{
    t_start_worker(t, NULL);
    char *params = big_params("reason", 100000, 'r');
    int64_t ids[4];
    ids[0] = t_enqueue(t, "System/Fail", params, NULL);
    for (int i = 1; i < 4; i++)
        ids[i] = t_enqueue(t, "System/Noop", "{}", NULL);
    all_done(t, ids, 4, 20000);
    CHECK(t_job_in_state(t, ids[0], "failed"), "the long failure is stored as failed");
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(ids[0])));
    CHECK(reason && strncmp(reason, "rrrr", 4) == 0 && strlen(reason) < 16384 + 64 &&
              strlen(reason) >= 16384 && strstr(reason, "cut from 100000 bytes"),
          "the reason is cut to 16 KiB with a note: %zu bytes, ends \"%s\"",
          reason ? strlen(reason) : 0, reason ? reason + strlen(reason) - 40 : "(null)");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND outcome = 'failed' "
                    "AND reason = (SELECT failure_reason FROM jobs WHERE id = ?)",
                    DB_P(DBI(ids[0]), DBI(ids[0]))) == 1,
          "its attempt row has the same reason");
    for (int i = 1; i < 4; i++)
        CHECK(t_job_in_state(t, ids[i], "succeeded"), "no-op %d succeeded", i);
    free(reason);
    free(params);
}

/* Between the worker and MariaDB a proxy that lets no packet over 64 KiB through: an echo of
 * 100 KB cannot be checked out with its result. It is stored succeeded with a note of its
 * result's size; the small echoes beside it keep their results. Before, the check-out was
 * refused and tried again for ever. */
static void
test_packet_too_large(struct tenv *t)
{
    char *params = big_params("blob", 100000, 'b');
    int64_t ids[5];
    ids[0] = t_enqueue(t, "System/Echo", params, NULL);
    for (int i = 1; i < 5; i++)
        ids[i] = t_enqueue(t, "System/Echo", "{\"small\":1}", NULL);
    struct tmyproxy *px = worker_behind_proxy(t);
    all_done(t, ids, 5, 20000);
    CHECK(tmyproxy_too_large(px) >= 1, "the proxy's limit was never reached");
    char *res = t_sql_str(t, "SELECT result FROM jobs WHERE id = ? AND state = 'succeeded'",
                          DB_P(DBI(ids[0])));
    CHECK(res && strstr(res, "\"result_not_stored\":\"refused by MariaDB\"") &&
              strstr(res, "\"bytes\":100011"),
          "the big echo succeeded with a note instead of its result: %.200s", res ? res : "(null)");
    free(res);
    for (int i = 1; i < 5; i++) {
        res = t_sql_str(t, "SELECT result FROM jobs WHERE id = ? AND state = 'succeeded'",
                        DB_P(DBI(ids[i])));
        CHECK(res && strcmp(res, "{\"small\":1}") == 0, "small echo %d: %s", i,
              res ? res : "(null)");
        free(res);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE outcome = 'succeeded'",
                    DB_NOP) == 5,
          "one attempt row each");
    free(params);
    tmyproxy_stop_for(px);
}

/* Metrics of the worker started next, on a free port (appended to the test's config). */
static void
worker_metrics_on(struct tenv *t, char *url, size_t len)
{
    int port = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    CHECK(fp, "append to %s", t->conf);
    fprintf(fp, "[worker]\nmetrics_listen = 127.0.0.1:%d\n", port);
    fclose(fp);
    snprintf(url, len, "http://127.0.0.1:%d/metrics", port);
}

/* Sessions of this test's database waiting for a table lock. */
static int64_t
lock_waits(struct tenv *t)
{
    return t_sql_int(t, -1,
                     "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND "
                     "STATE = 'Waiting for table metadata lock'",
                     DB_P(DBS(t->db_name)));
}

/* Through the same proxy, twelve echoes of 20 KB checked out together: 240 KB in one batch,
 * refused, then written one at a time with every result kept. The batch is made by a lock on
 * job_attempts: the check-out of a first job waits on it while the twelve finish behind it. */
static void
test_batch_too_large(struct tenv *t)
{
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    int64_t ids[13];
    ids[0] = t_enqueue(t, "System/Echo", "{\"first\":1}", NULL);
    struct db *lock = db_new(&t->cfg.mysql);
    CHECK(db_connect(lock) == 0 && db_exec_static(lock, "LOCK TABLES job_attempts WRITE") == 0,
          "lock job_attempts: %s", db_errstr(lock));
    struct tmyproxy *px = worker_behind_proxy(t);
    WAIT_UNTIL(lock_waits(t) == 1, 10000, "the first check-out waits for the lock");
    char *params[13];
    for (int i = 1; i < 13; i++) {
        params[i] = big_params("blob", 20000, (char)('a' + i));
        ids[i] = t_enqueue(t, "System/Echo", params[i], NULL);
    }
    pid_t w = t->procs[t->n_procs - 1].pid;
    /* Finished, not stored: the counters count stored outcomes. */
    WAIT_UNTIL(t_log_count(t, w, " attempt 1 succeeded") == 13, 10000,
               "the twelve finish behind the first");
    CHECK(db_exec_static(lock, "UNLOCK TABLES") == 0, "unlock: %s", db_errstr(lock));
    all_done(t, ids, 13, 20000);
    for (int i = 1; i < 13; i++) {
        char *res = t_sql_str(t, "SELECT result FROM jobs WHERE id = ? AND state = 'succeeded'",
                              DB_P(DBI(ids[i])));
        CHECK(res && strcmp(res, params[i]) == 0, "echo %d keeps its result: %.80s", i,
              res ? res : "(null)");
        free(res);
        free(params[i]);
    }
    char *log = t_log(t, t->procs[t->n_procs - 1].pid);
    CHECK(log && strstr(log, "check-out of 12 jobs: Got a packet bigger than 'max_allowed_packet' "
                             "bytes (1153); writing them one at a time"),
          "the batch was refused, then written one at a time");
    free(log);
    db_free(lock);
    tmyproxy_stop_for(px);
}

/* A job that succeeded with a result over the worker protocol's 16 MiB was recorded as failed
 * for good, its work done and its writes made (a retry would make them again). It succeeds
 * now, its result stored as the note a too-large result is. */
static void
test_result_over_protocol(struct tenv *t)
{
    t_start_worker(t, NULL);
    int64_t id = t_enqueue(t, "System/Probe", "{\"result_bytes\":17000000}", NULL);
    WAIT_UNTIL(t_job_done(t, id), 30000, "the probe finishes");
    char *res = t_sql_str(
        t, "SELECT CONCAT(state, ' ', COALESCE(result, '')) FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(res && strcmp(res,
                        "succeeded {\"result_not_stored\":\"too large\",\"bytes\":17000000}") == 0,
          "the job: %.200s", res ? res : "(none)");
    free(res);
}

/* A zombie's outcome, refused because its job was recovered meanwhile, is not counted: the
 * worker counted outcomes as its children reported them, and a job re-run elsewhere was counted
 * as succeeded twice across the fleet. */
static void
test_refused_outcome_uncounted(struct tenv *t)
{
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":2}", NULL);
    pid_t w = t_start_worker(t, NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "running"), 10000, "the job never ran");
    /* What the lease recovery and another worker's claim leave on the row meanwhile. */
    CHECK(db_exec(t->db, "UPDATE jobs SET attempt = attempt + 1 WHERE id = ?", DB_P(DBI(id)), NULL,
                  NULL) == 0,
          "recover: %s", db_errstr(t->db));
    WAIT_UNTIL(t_log_has(t, w, "outcome not recorded"), 10000, "the outcome was never refused");
    double n =
        t_metric(url, "jobfleet_jobs_succeeded_total{queue=\"default\",action=\"System/Sleep\"}");
    CHECK(n <= 0, "a refused outcome counted as succeeded: %g", n);
}

static const struct test_case cases[] = {
    {"e2e_outcome_reason_too_long", test_reason_too_long, "[worker]\nconcurrency = 4\n"},
    {"e2e_outcome_result_over_protocol", test_result_over_protocol, NULL},
    {"e2e_outcome_refused_uncounted", test_refused_outcome_uncounted, NULL},
    {"e2e_outcome_packet_too_large", test_packet_too_large, "[worker]\nconcurrency = 4\n"},
    /* The lock holds the heartbeat too: a lease longer than the test. */
    {"e2e_outcome_batch_too_large", test_batch_too_large,
     "[worker]\nconcurrency = 12\nlease_s = 60\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
