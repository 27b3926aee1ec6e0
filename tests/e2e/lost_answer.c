/* End-to-end tests of writes whose answer is lost: a proxy between the binaries and MariaDB
 * (tests/support/tmyproxy.c) forwards the statement that stores a job, lets MariaDB commit it
 * and closes the client's connection before the answer arrives. The CLI must then exit 3 and
 * the API answer 503 with "stored": "unknown" — not "failed", since the job exists — and a
 * retry under the same idempotency key must return that job instead of making a second. */
#include "tdash.h"
#include "thttp.h"
#include "tmyproxy.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
jobs_with_key(struct tenv *t, const char *key)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = ?", DB_P(DBS(key)));
}

static int64_t
job_of_key(struct tenv *t, const char *key)
{
    return t_sql_int(t, -1, "SELECT id FROM jobs WHERE idempotency_key = ?", DB_P(DBS(key)));
}

static int
enqueue(struct tenv *t, const char *key, char **out, char **err)
{
    const char *av[] = {
        "enqueue", "System/Noop", "--params", "{\"n\":1}", key ? "--idempotency-key" : NULL,
        key,       NULL};
    return t_cli(t, out, err, av);
}

/* Without a key the lost answer is exit 3, "outcome unknown", and the job does exist. */
static void
test_cli_unknown(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tmyproxy_cut_answer(p, "INSERT INTO jobs");
    char *out = NULL, *err = NULL;
    int rc = enqueue(t, NULL, &out, &err);
    CHECK(tmyproxy_cuts(p) == 1, "the proxy cut no answer (exit %d: %s)", rc, err);
    CHECK(rc == 3, "exit %d, expected 3 (outcome unknown); stderr: %s", rc, err);
    CHECK(strstr(err, "outcome unknown") && strstr(err, "--idempotency-key") &&
              t_count(err, "\n") == 1,
          "stderr: %s", err);
    CHECK(out == NULL || out[0] == '\0', "no id printed: %s", out);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1, 10000,
               "the job whose answer was lost was not committed");
    free(out);
    free(err);
    tmyproxy_stop_for(p);
}

/* With --idempotency-key: the lost answer is exit 3; the same command again prints the job the
 * first one made (exit 0), and no second job exists. A third run without any cut too. */
static void
test_cli_key_retry(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tmyproxy_cut_answer(p, "INSERT INTO jobs");
    char *out = NULL, *err = NULL;
    int rc = enqueue(t, "order-4711", &out, &err);
    CHECK(tmyproxy_cuts(p) == 1 && rc == 3, "exit %d, expected 3; stderr: %s", rc, err);
    CHECK(strstr(err, "same --idempotency-key"), "stderr: %s", err);
    free(out);
    free(err);
    WAIT_UNTIL(jobs_with_key(t, "cli:order-4711") == 1, 10000, "the first job was not committed");
    int64_t first = job_of_key(t, "cli:order-4711");
    for (int run = 0; run < 2; run++) {
        rc = enqueue(t, "order-4711", &out, &err);
        CHECK(rc == 0, "retry %d: exit %d; stderr: %s", run, rc, err);
        CHECK(strtoll(out, NULL, 10) == first, "retry %d printed %s, the first job is %lld", run,
              out, (long long)first);
        CHECK(strstr(err, "already made with this idempotency key"), "stderr: %s", err);
        free(out);
        free(err);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1, "one job in all");
    /* Another key is another job; --json says whether the job existed. */
    const char *av[] = {"--json",     "enqueue", "System/Noop", "--idempotency-key",
                        "order-4712", NULL};
    CHECK(t_cli(t, &out, NULL, av) == 0 && strstr(out, "\"existing\":false"), "%s", out);
    free(out);
    CHECK(t_cli(t, &out, NULL, av) == 0 && strstr(out, "\"existing\":true"), "%s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "two jobs in all");
    /* The key sent again with another job (action, or parameters) is refused, as the API
     * answers 422: printing the first job's id with exit 0 told a script its job was made. */
    const char *other[] = {"enqueue",           "System/Echo", "--params", "{\"n\":1}",
                           "--idempotency-key", "order-4711",  NULL};
    rc = t_cli(t, &out, &err, other);
    CHECK(rc == 2 && strstr(err, "made job") && strstr(err, "another action or other parameters"),
          "another job under the key: exit %d; stderr: %s", rc, err);
    free(out);
    free(err);
    const char *params[] = {"enqueue",           "System/Noop", "--params", "{\"n\":2}",
                            "--idempotency-key", "order-4711",  NULL};
    CHECK(t_cli(t, NULL, NULL, params) == 2, "other parameters under the key are refused");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "still two jobs");
    tmyproxy_stop_for(p);
}

static cJSON *
post(struct tenv *t, const char *path, const char *key, const char *body, long *status)
{
    char h[128];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
    const char *hdrs[] = {TPROD_AUTH, h, NULL};
    struct t_http_resp r;
    CHECK(t_http("POST", tprod_url(t, path), body, strlen(body), hdrs, &r) == 0, "POST %s: %s",
          path, r.err);
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j != NULL, "POST %s: %ld %s", path, r.status, r.body);
    if (r.status == 503) {
        char ra[16];
        CHECK(t_http_header(&r, "retry-after", ra, sizeof(ra)) == 0, "503 without Retry-After");
    }
    t_http_release(&r);
    return j;
}

static bool
is_unknown(const cJSON *j)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "stored");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    return cJSON_IsString(s) && strcmp(s->valuestring, "unknown") == 0 && cJSON_IsString(c) &&
           strcmp(c->valuestring, "outcome_unknown") == 0 && cJSON_IsString(e) &&
           strstr(e->valuestring, "outcome unknown");
}

static int64_t
num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* POST /api/jobs through the group-commit writer: the answer of its autocommitted INSERT is
 * lost; 503 "outcome unknown", then the retry with the same Idempotency-Key gets that job. */
static void
test_api_unknown(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tprod_start(t);
    const char *job = "{\"action\":\"System/Noop\",\"parameters\":{\"a\":1}}";
    long st;
    /* A first job through the same path, so the statement is prepared before the cut. */
    cJSON_Delete(post(t, "/api/jobs", "warm-up", job, &st));
    CHECK(st == 201, "warm-up: %ld", st);
    tmyproxy_cut_answer(p, "INSERT IGNORE INTO jobs");
    cJSON *j = post(t, "/api/jobs", "k-1", job, &st);
    char *text = cJSON_PrintUnformatted(j);
    CHECK(tmyproxy_cuts(p) == 1, "no answer was cut: %ld %s", st, text);
    CHECK(st == 503 && is_unknown(j), "expected 503 outcome unknown, got %ld %s", st, text);
    cJSON_free(text);
    cJSON_Delete(j);
    WAIT_UNTIL(jobs_with_key(t, "api:k-1") == 1, 10000, "the job was not committed");
    int64_t first = job_of_key(t, "api:k-1");
    /* The writer sees MariaDB back within a moment; until then retries get a plain 503. */
    j = NULL;
    WAIT_UNTIL((cJSON_Delete(j), j = post(t, "/api/jobs", "k-1", job, &st), st != 503), 10000,
               "retries kept getting 503");
    CHECK(st == 200 && num(j, "id") == first &&
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "existing")),
          "retry: %ld, id %lld, first %lld", st, (long long)num(j, "id"), (long long)first);
    cJSON_Delete(j);
    CHECK(jobs_with_key(t, "api:k-1") == 1, "one job for the key");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "two jobs in all");
    tmyproxy_stop_for(p);
}

/* A new job of an action that makes its unique key (unique_by) is answered from what the insert
 * knows, as any new job is: it was read back first, and a read whose answer was lost after the
 * commit answered 503 for a job that was stored. */
static void
test_api_unique_by_no_read_back(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tprod_start(t);
    tmyproxy_cut_answer(p, "SELECT id, uuid, origin");
    long st;
    cJSON *j = post(t, "/api/jobs", "u-1",
                    "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"r1\"}}", &st);
    char *text = cJSON_PrintUnformatted(j);
    CHECK(st == 201 && tmyproxy_cuts(p) == 0, "the answer: %ld %s (cuts %d)", st, text,
          tmyproxy_cuts(p));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "unique_key"));
    CHECK(key && strcmp(key, "System/Echo/Unique:r1") == 0, "the key made: %s", text);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE unique_key = ? AND id = ?",
                    DB_P(DBS("System/Echo/Unique:r1"), DBI(num(j, "id")))) == 1,
          "the reply names the stored job and its key: %s", text);
    cJSON_free(text);
    cJSON_Delete(j);
    tmyproxy_stop_for(p);
}

/* The ids of a 201 bulk reply's jobs into ids (n of them), checking that "existing" is set
 * on the jobs whose bit is set in existing. */
static void
bulk_ids(const cJSON *j, long st, int n, int64_t *ids, unsigned existing)
{
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(j, "jobs");
    CHECK(st == 201 && cJSON_GetArraySize(jobs) == n, "bulk: %ld", st);
    for (int i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(jobs, i);
        ids[i] = num(o, "id");
        CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "existing")) &&
                  (unsigned)cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "existing")) ==
                      ((existing >> i) & 1),
              "job %d: existing should be %u", i, (existing >> i) & 1);
    }
}

/* POST /api/jobs/bulk: the answer to its COMMIT is lost; 503 "outcome unknown"; the retry of
 * the same request with the same Idempotency-Key header gets the same jobs. */
static void
test_bulk_unknown(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tprod_start(t);
    const char *body = "[{\"action\":\"System/Noop\"},"
                       "{\"action\":\"System/Echo\",\"parameters\":{\"x\":2}}]";
    tmyproxy_cut_answer(p, "COMMIT");
    long st;
    cJSON *j = post(t, "/api/jobs/bulk", "batch-1", body, &st);
    char *text = cJSON_PrintUnformatted(j);
    CHECK(tmyproxy_cuts(p) == 1, "no answer was cut: %ld %s", st, text);
    CHECK(st == 503 && is_unknown(j), "expected 503 outcome unknown, got %ld %s", st, text);
    cJSON_free(text);
    cJSON_Delete(j);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, 10000,
               "the bulk transaction was not committed");
    int64_t want[2] = {job_of_key(t, "api:batch-1:0"), job_of_key(t, "api:batch-1:1")}, ids[2];
    CHECK(want[0] > 0 && want[1] > 0, "the jobs carry the header's key and their index");
    for (int run = 0; run < 2; run++) {
        j = post(t, "/api/jobs/bulk", "batch-1", body, &st);
        bulk_ids(j, st, 2, ids, 3);
        CHECK(ids[0] == want[0] && ids[1] == want[1], "retry %d: ids %lld %lld", run,
              (long long)ids[0], (long long)ids[1]);
        cJSON_Delete(j);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "two jobs in all");
    tmyproxy_stop_for(p);
}

/* test_bulk_unknown with 100 jobs, enough for the bulk execution and read-back of
 * job_batch.c: the lost COMMIT answer is the same unknown outcome, and the retries find all
 * 100 jobs by their keys. */
static void
test_bulk_unknown_large(struct tenv *t)
{
    enum { N = 100 };
    struct tmyproxy *p = tmyproxy_start_for(t);
    tprod_start(t);
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < N; i++)
        buf_appends(&b, i ? ",{\"action\":\"System/Noop\"}" : "[{\"action\":\"System/Noop\"}");
    buf_appends(&b, "]");
    tmyproxy_cut_answer(p, "COMMIT");
    long st;
    cJSON *j = post(t, "/api/jobs/bulk", "batch-L", b.data, &st);
    CHECK(tmyproxy_cuts(p) == 1 && st == 503 && is_unknown(j),
          "expected a cut COMMIT answer and 503 outcome unknown, got %d cuts, %ld",
          tmyproxy_cuts(p), st);
    cJSON_Delete(j);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == N, 10000,
               "the bulk transaction was not committed");
    int64_t want[N];
    for (int i = 0; i < N; i++) {
        char key[64];
        snprintf(key, sizeof(key), "api:batch-L:%d", i);
        want[i] = job_of_key(t, key);
        CHECK(want[i] > 0, "job %d does not carry the header's key and its index", i);
    }
    for (int run = 0; run < 2; run++) {
        j = post(t, "/api/jobs/bulk", "batch-L", b.data, &st);
        const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(j, "jobs");
        CHECK(st == 201 && cJSON_GetArraySize(jobs) == N, "retry %d: %ld", run, st);
        int i = 0;
        for (const cJSON *o = jobs->child; o; o = o->next, i++)
            CHECK(num(o, "id") == want[i] &&
                      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "existing")),
                  "retry %d, job %d: id %lld existing, expected %lld", run, i,
                  (long long)num(o, "id"), (long long)want[i]);
        cJSON_Delete(j);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == N, "%d jobs in all", N);
    buf_release(&b);
    tmyproxy_stop_for(p);
}

/* A bulk job's own idempotency_key: a repeat returns its job, whatever the header. */
static void
test_bulk_item_key(struct tenv *t)
{
    tprod_start(t);
    const char *body = "[{\"action\":\"System/Noop\"},"
                       "{\"action\":\"System/Noop\",\"idempotency_key\":\"own-7\"}]";
    long st;
    int64_t first[2], again[2];
    cJSON *j = post(t, "/api/jobs/bulk", "", body, &st);
    bulk_ids(j, st, 2, first, 0);
    cJSON_Delete(j);
    CHECK(job_of_key(t, "api:own-7") == first[1], "stored as api:<key>");
    j = post(t, "/api/jobs/bulk", "other-header", body, &st);
    bulk_ids(j, st, 2, again, 2);
    cJSON_Delete(j);
    CHECK(again[1] == first[1] && again[0] != first[0],
          "the keyed job repeats (%lld, %lld), the other is new (%lld, %lld)", (long long)again[1],
          (long long)first[1], (long long)again[0], (long long)first[0]);
    /* The same key as POST /api/jobs's Idempotency-Key: one namespace. */
    j = post(t, "/api/jobs", "own-7", "{\"action\":\"System/Noop\"}", &st);
    CHECK(st == 200 && num(j, "id") == first[1], "POST /api/jobs with the same key: %ld", st);
    cJSON_Delete(j);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 3, "three jobs in all");
    /* A key must be a non-empty string. */
    j = post(t, "/api/jobs/bulk", "x", "[{\"action\":\"System/Noop\",\"idempotency_key\":\"\"}]",
             &st);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "field");
    CHECK(st == 400 && cJSON_IsString(f) && strcmp(f->valuestring, "jobs[0].idempotency_key") == 0,
          "empty key: %ld", st);
    cJSON_Delete(j);
}

/* Runs the CLI with argv while its read-back of what it stored fails (fault point
 * cli.readback); checks it exits 0 with the stored id on stdout and a warning; returns the id. */
static int64_t
readback_fails(struct tenv *t, const char *const *argv)
{
    setenv("JOBFLEET_FAULT_POINT", "cli.readback", 1);
    setenv("JOBFLEET_FAULT_ACTION", "fail:1", 1);
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, argv);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    cJSON *j = cJSON_Parse(out ? out : "");
    const cJSON *jid = cJSON_GetObjectItem(j, "id");
    int64_t id = cJSON_IsNumber(jid) ? (int64_t)jid->valuedouble : 0;
    CHECK(rc == 0 && id > 0 && strstr(err, "is stored, but reading it back failed"),
          "exit %d, out %s, err %s", rc, out, err);
    cJSON_Delete(j);
    free(out);
    free(err);
    return id;
}

/* `jobfleet enqueue --json` whose read-back of the stored job fails: the job is stored, so it
 * exits 0 with the id (exit 1 made a script that retries on it make the job twice). */
static void
test_enqueue_readback_fails(struct tenv *t)
{
    int64_t id = readback_fails(t, (const char *const[]){"--json", "enqueue", "System/Noop", NULL});
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE id = ?", DB_P(DBI(id))) == 1,
          "the job printed is the one stored");
}

/* `jobfleet cron add --json` likewise: the cron job is stored, so exit 0 with its id (exit 1
 * had a script add it again, into "already exists"). */
static void
test_cron_add_readback_fails(struct tenv *t)
{
    int64_t id = readback_fails(t, (const char *const[]){"--json", "cron", "add", "nightly",
                                                         "0 3 * * *", "System/Noop", NULL});
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE id = ? AND name = 'nightly'",
                    DB_P(DBI(id))) == 1,
          "the cron job printed is the one stored");
}

/* The dashboard's pause whose COMMIT loses its answer: the page says the outcome is unknown
 * (it said "not done", while the pause was made). */
static void
test_dashboard_unknown(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start_for(t);
    tprod_start(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", a.csrf);
    tmyproxy_cut_answer(p, "COMMIT");
    struct t_http_resp r;
    long st = dreq(t, "POST", "/queues/default/pause", body, &a, NULL, &r);
    CHECK(tmyproxy_cuts(p) == 1, "no answer was cut: %ld", st);
    CHECK(st == 503 && r.body && strstr(r.body, "outcome unknown") && !strstr(r.body, "not done"),
          "the page: %ld %s", st, r.body ? r.body : "");
    t_http_release(&r);
    /* The proxy lets the server finish the COMMIT after it closed the producer's side, so the
     * commit may land after the page came back. */
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT is_paused FROM queue_settings WHERE queue = 'default'",
                         DB_NOP) == 1,
               10000, "the pause was not made");
    tmyproxy_stop_for(p);
}

/* The server closed the producer's idle connections (wait_timeout, a restart, a proxy's idle
 * cut): the next create was answered 503 "stored": "unknown" though nothing had run, and the
 * writer called MariaDB down. Connections idle for a second are checked before use now. */
static void
test_idle_connections_closed(struct tenv *t)
{
    tprod_start(t);
    const char *body = "{\"action\":\"System/Noop\"}";
    CHECK(tprod_call(t, "POST", "/api/jobs", body, NULL, NULL) == 201, "the first create");
    CHECK(t_kill_sessions(t, NULL) > 0, "the producer's sessions killed");
    sleep_ms(1100); /* idle past the check's threshold */
    char *out = NULL;
    long st = tprod_call(t, "POST", "/api/jobs", body, NULL, &out);
    CHECK(st == 201, "the create after the server closed the connections: %ld %s", st, out);
    free(out);
    st = tprod_call(t, "GET", "/api/jobs?limit=5", NULL, NULL, &out);
    CHECK(st == 200, "a read on the API's pooled connection: %ld %s", st, out);
    free(out);
}

static const struct test_case cases[] = {
    {"e2e_lost_answer_cli", test_cli_unknown, NULL},
    {"e2e_lost_answer_cli_key_retry", test_cli_key_retry, NULL},
    {"e2e_lost_answer_api", test_api_unknown, NULL},
    {"e2e_lost_answer_api_unique_by", test_api_unique_by_no_read_back, NULL},
    {"e2e_lost_answer_bulk", test_bulk_unknown, NULL},
    {"e2e_lost_answer_bulk_large", test_bulk_unknown_large, NULL},
    {"e2e_bulk_idempotency_key", test_bulk_item_key, NULL},
    {"e2e_lost_answer_cli_readback", test_enqueue_readback_fails, NULL},
    {"e2e_lost_answer_cron_add_readback", test_cron_add_readback_fails, NULL},
    {"e2e_lost_answer_dashboard", test_dashboard_unknown, TDASH_USERS},
    {"e2e_lost_answer_idle_closed", test_idle_connections_closed, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
