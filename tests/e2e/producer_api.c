/* End-to-end tests of the producer's JSON API, its pages (/health, /metrics, /) and its
 * behaviour as a process (flags, configuration errors, draining on SIGTERM), against real
 * MariaDB and Redis. */
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ECHO_SOURCE "[webhook.system]\nauth = none\n"

static int64_t
field_int(const char *body, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(body, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static bool
in_redis(struct tenv *t, int64_t id)
{
    bool missing = true;
    CHECK(rq_missing(t->rq, "default", &id, 1, &missing) == 0, "ZMSCORE");
    return !missing;
}

static void
test_api_create(struct tenv *t)
{
    pid_t p = tprod_start(t);
    char *out = NULL;
    long st = tprod_call(t, "POST", "/api/jobs",
                         "{\"action\":\"System/Echo\",\"parameters\":{\"x\":1},\"priority\":5,"
                         "\"max_attempts\":3,\"queue\":\"default\"}",
                         NULL, &out);
    CHECK(st == 201, "create: %ld %s", st, out);
    int64_t id = field_int(out, "id");
    CHECK(id > 0 && strstr(out, "\"state\":\"queued\"") && strstr(out, "\"priority\":5") &&
              strstr(out, "\"max_attempts\":3") && strstr(out, "\"origin\":\"api\""),
          "job: %s", out);
    free(out);
    CHECK(in_redis(t, id), "pushed");
    tprod_check_401(t, "POST", "/api/jobs", "{\"action\":\"System/Noop\"}");
    char *log = t_log(t, p);
    CHECK(t_count(log, "401: wrong token") >= 1 && t_count(log, "401: no Authorization") >= 1,
          "401s logged");
    free(log);

    static const struct {
        const char *body, *field, *says;
    } bad[] = {
        {"{\"action\":\"System/Noop\"", "body", "not valid JSON"},
        {"", "body", "JSON body is required"},
        {"{\"action\":\"Nope/Nope\"}", "action", "unknown action \\\"Nope/Nope\\\""},
        {"{}", "action", "an action is required"},
        {"{\"action\":\"System/Noop\",\"colour\":1}", "colour", "unknown field"},
        {"{\"action\":\"System/Noop\",\"priority\":\"high\"}", "priority", "wrong type"},
        {"{\"action\":\"System/Noop\",\"priority\":5000}", "priority", "out of range"},
        {"{\"action\":\"System/Noop\",\"priority\":1e300}", "priority", "out of range"},
        {"{\"action\":\"System/Noop\",\"parameters\":[1]}", "parameters", "wrong type"},
        {"{\"action\":\"System/Noop\",\"run_at\":\"tomorrowish\"}", "run_at", "wrong type"},
        {"{\"action\":\"System/Noop\",\"queue\":\"no spaces\"}", "queue", "must be 1-64"},
        {"[1,2]", NULL, "a job is a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = tprod_call(t, "POST", "/api/jobs", bad[i].body, NULL, &out);
        char field[64];
        if (bad[i].field)
            snprintf(field, sizeof(field), "\"field\":\"%s\"", bad[i].field);
        else
            snprintf(field, sizeof(field), "\"field\":null");
        CHECK(st == 400 && strstr(out, field) && strstr(out, bad[i].says), "%s: %ld %s",
              bad[i].body, st, out);
        free(out);
    }
    /* A live job holding the unique key: 409 naming it. */
    const char *uk = "{\"action\":\"System/Noop\",\"unique_key\":\"nightly\"}";
    CHECK(tprod_call(t, "POST", "/api/jobs", uk, NULL, &out) == 201, "unique 1: %s", out);
    int64_t uid = field_int(out, "id");
    free(out);
    CHECK(tprod_call(t, "POST", "/api/jobs", uk, NULL, &out) == 409, "unique 2: %s", out);
    CHECK(field_int(out, "job_id") == uid && strstr(out, "\"field\":\"unique_key\""), "%s", out);
    free(out);
    /* An Idempotency-Key makes a repeat return the first job. */
    const char *h[] = {TPROD_AUTH, "Idempotency-Key: create-1", NULL};
    struct t_http_resp r1, r2;
    t_http("POST", tprod_url(t, "/api/jobs"), "{\"action\":\"System/Noop\"}", 24, h, &r1);
    t_http("POST", tprod_url(t, "/api/jobs"), "{\"action\":\"System/Noop\"}", 24, h, &r2);
    CHECK(r1.status == 201 && r2.status == 200, "idempotent create: %ld %ld", r1.status, r2.status);
    CHECK(field_int(r1.body, "id") == field_int(r2.body, "id") &&
              strstr(r2.body, "\"existing\":true"),
          "%s / %s", r1.body, r2.body);
    t_http_release(&r1);
    t_http_release(&r2);
    /* Keys that are not UTF-8 are refused: stored, MariaDB would make both "api:?". */
    for (int i = 0; i < 2; i++) {
        const char *hk[] = {TPROD_AUTH, i ? "Idempotency-Key: \xe8" : "Idempotency-Key: \xe9",
                            NULL};
        t_http("POST", tprod_url(t, i ? "/api/jobs/bulk" : "/api/jobs"),
               i ? "[{\"action\":\"System/Noop\"}]" : "{\"action\":\"System/Noop\"}", i ? 26 : 24,
               hk, &r1);
        CHECK(r1.status == 400 && strstr(r1.body, "\"field\":\"Idempotency-Key\"") &&
                  strstr(r1.body, "UTF-8"),
              "a key that is not UTF-8: %ld %s", r1.status, r1.body);
        t_http_release(&r1);
    }
    /* A job in the future is pending, not pushed. */
    CHECK(tprod_call(t, "POST", "/api/jobs",
                     "{\"action\":\"System/Noop\",\"run_at\":\"2099-01-01T00:00:00Z\"}", NULL,
                     &out) == 201,
          "future: %s", out);
    CHECK(strstr(out, "\"state\":\"pending\"") && !in_redis(t, field_int(out, "id")), "%s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 4, "four jobs");
}

/* Creates a job and checks that the 201 reply carries exactly what GET /api/jobs/{id} then
 * shows (the reply is built from the insert, not read back). Returns the job's id. */
static int64_t
create_matches_get(struct tenv *t, const char *body, const char *hdr)
{
    const char *h[] = {TPROD_AUTH, hdr, NULL};
    struct t_http_resp r;
    t_http("POST", tprod_url(t, "/api/jobs"), body, strlen(body), h, &r);
    CHECK(r.status == 201, "create %s: %ld %s", body, r.status, r.body);
    cJSON *made = cJSON_Parse(r.body);
    CHECK(made && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(made, "existing")), "%s", r.body);
    cJSON_DeleteItemFromObjectCaseSensitive(made, "existing");
    int64_t id = field_int(r.body, "id");
    char path[64], *out = NULL;
    snprintf(path, sizeof(path), "/api/jobs/%lld", (long long)id);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &out) == 200, "get: %s", out);
    cJSON *got = cJSON_Parse(out);
    CHECK(got && cJSON_Compare(made, got, true), "201 reply and GET differ:\n%s\n%s", r.body, out);
    cJSON_Delete(made);
    cJSON_Delete(got);
    free(out);
    t_http_release(&r);
    return id;
}

static void
test_api_create_reply(struct tenv *t)
{
    tprod_start(t);
    int64_t id = create_matches_get(
        t, "{\"action\":\"System/Echo\",\"parameters\":{\"x\":[1,\"two\"]},\"priority\":-7}", NULL);
    CHECK(in_redis(t, id), "pushed before the reply");
    id = create_matches_get(t,
                            "{\"action\":\"System/Noop\",\"run_at\":\"2099-01-01T00:00:00.25Z\","
                            "\"max_attempts\":4,\"timeout_s\":9,\"queue\":\"q2\"}",
                            NULL);
    CHECK(!in_redis(t, id), "pending is not pushed");
    create_matches_get(t, "{\"action\":\"System/Noop\",\"unique_key\":\"u-1\"}",
                       "Idempotency-Key: reply-1");
    /* A key made from the parameters (unique_by) is in the reply too. */
    id = create_matches_get(
        t, "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"k1\"}}", NULL);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE id = ? AND unique_key = ?",
                    DB_P(DBI(id), DBS("System/Echo/Unique:k1"))) == 1,
          "made key");
    char *out = NULL;
    CHECK(tprod_call(t, "POST", "/api/jobs",
                     "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"k1\"}}", NULL,
                     &out) == 409 &&
              field_int(out, "job_id") == id,
          "made key held: %s", out);
    free(out);
    /* A new Idempotency-Key does not take a unique key a live job holds. */
    const char *h[] = {TPROD_AUTH, "Idempotency-Key: reply-2", NULL};
    struct t_http_resp r;
    const char *uk = "{\"action\":\"System/Noop\",\"unique_key\":\"u-1\"}";
    t_http("POST", tprod_url(t, "/api/jobs"), uk, strlen(uk), h, &r);
    CHECK(r.status == 409 && strstr(r.body, "\"field\":\"unique_key\""), "%ld %s", r.status,
          r.body);
    t_http_release(&r);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 4, "four jobs");
}

#define CONC_CLIENTS 16
#define CONC_EACH 25

struct conc {
    struct tenv *t;
    const char *key; /* Idempotency-Key to send, or NULL */
    int64_t ids[CONC_EACH];
    long status[CONC_EACH];
    int n;
};

static void *
conc_main(void *arg)
{
    struct conc *c = arg;
    char hk[96];
    snprintf(hk, sizeof(hk), "Idempotency-Key: %s", c->key ? c->key : "");
    const char *h[] = {TPROD_AUTH, c->key ? hk : NULL, NULL};
    for (int i = 0; i < c->n; i++) {
        struct t_http_resp r;
        t_http("POST", tprod_url(c->t, "/api/jobs"), "{\"action\":\"System/Noop\"}", 24, h, &r);
        c->status[i] = r.status;
        c->ids[i] = r.body ? field_int(r.body, "id") : -1;
        t_http_release(&r);
    }
    return NULL;
}

/* Concurrent single-job requests share commits, and each gets its own job; concurrent
 * repeats of one Idempotency-Key get one job between them. */
static void
test_api_create_concurrent(struct tenv *t)
{
    tprod_start(t);
    static struct conc c[CONC_CLIENTS];
    pthread_t tid[CONC_CLIENTS];
    for (int i = 0; i < CONC_CLIENTS; i++) {
        c[i] = (struct conc){.t = t, .n = CONC_EACH};
        CHECK(pthread_create(&tid[i], NULL, conc_main, &c[i]) == 0, "thread");
    }
    for (int i = 0; i < CONC_CLIENTS; i++)
        pthread_join(tid[i], NULL);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < CONC_CLIENTS; i++) {
        for (int k = 0; k < CONC_EACH; k++) {
            CHECK(c[i].status[k] == 201 && c[i].ids[k] > 0, "client %d request %d: %ld", i, k,
                  c[i].status[k]);
            CHECK(in_redis(t, c[i].ids[k]), "job %lld pushed", (long long)c[i].ids[k]);
            lo = c[i].ids[k] < lo ? c[i].ids[k] : lo;
            hi = c[i].ids[k] > hi ? c[i].ids[k] : hi;
        }
    }
    int total = CONC_CLIENTS * CONC_EACH;
    CHECK(t_sql_int(t, -1, "SELECT COUNT(DISTINCT id) FROM jobs WHERE origin = 'api'", DB_NOP) ==
                  total &&
              hi - lo + 1 == total,
          "one job per request");
    int64_t commits = tprod_metric(t, "jobfleet_producer_commits_total");
    int64_t jobs = tprod_metric(t, "jobfleet_producer_committed_jobs_total");
    CHECK(jobs == total && commits > 0 && commits < jobs, "commits %lld for %lld jobs",
          (long long)commits, (long long)jobs);
    int64_t timed = tprod_metric(t, "jobfleet_producer_commit_seconds_count");
    CHECK(timed == commits, "commit_seconds counted %lld of %lld commits", (long long)timed,
          (long long)commits);

    for (int i = 0; i < 8; i++) {
        c[i] = (struct conc){.t = t, .n = 1, .key = "same-key"};
        CHECK(pthread_create(&tid[i], NULL, conc_main, &c[i]) == 0, "thread");
    }
    for (int i = 0; i < 8; i++)
        pthread_join(tid[i], NULL);
    int created = 0;
    for (int i = 0; i < 8; i++) {
        CHECK((c[i].status[0] == 201 || c[i].status[0] == 200) && c[i].ids[0] == c[0].ids[0],
              "repeat %d: %ld job %lld", i, c[i].status[0], (long long)c[i].ids[0]);
        created += c[i].status[0] == 201;
    }
    CHECK(created == 1, "%d created", created);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = 'api:same-key'",
                    DB_NOP) == 1,
          "one job for the key");
}

static void
test_api_bulk(struct tenv *t)
{
    tprod_start(t);
    char *out = NULL;
    long st = tprod_call(t, "POST", "/api/jobs/bulk",
                         "[{\"action\":\"System/Noop\"},{\"action\":\"System/Echo\",\"parameters\":"
                         "{\"a\":1}},{\"action\":\"System/Noop\",\"queue\":\"other\"}]",
                         NULL, &out);
    CHECK(st == 201, "bulk: %ld %s", st, out);
    CHECK(t_count(out, "\"existing\":false") == 3 && strstr(out, "\"queue\":\"other\""), "%s", out);
    int64_t first = field_int(out, "id");
    free(out);
    CHECK(in_redis(t, first) && in_redis(t, first + 1), "pushed");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE origin = 'api'", DB_NOP) == 3, "3");
    tprod_check_401(t, "POST", "/api/jobs/bulk", "[{\"action\":\"System/Noop\"}]");
    CHECK(tprod_call(t, "POST", "/api/jobs/bulk", "[{\"action\":", NULL, &out) == 400 &&
              strstr(out, "not valid JSON"),
          "bad JSON: %s", out);
    free(out);
    /* One bad job refuses the whole batch, naming it; nothing is stored. */
    CHECK(tprod_call(t, "POST", "/api/jobs/bulk",
                     "{\"jobs\":[{\"action\":\"System/Noop\"},{\"action\":\"No/Such\"}]}", NULL,
                     &out) == 400,
          "bad item");
    CHECK(strstr(out, "\"field\":\"jobs[1].action\"") && strstr(out, "No/Such"), "%s", out);
    free(out);
    CHECK(tprod_call(t, "POST", "/api/jobs/bulk", "[]", NULL, &out) == 400, "empty: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 3, "nothing more stored");
    CHECK(tprod_call(t, "GET", "/api/jobs/bulk", NULL, NULL, NULL) == 405, "GET bulk");
}

/* Checks the reply of a bulk request of n jobs made by bulk_large_body against the rows: each
 * job's id, uuid, queue and state are its row's, its fields went in as sent, a queued job's ID
 * is in Redis and a pending one's is not. Returns how many came back existing. */
static int
bulk_large_check(struct tenv *t, const char *body, int n)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(j, "jobs");
    CHECK(cJSON_GetArraySize(jobs) == n, "%d jobs in the reply, expected %d",
          cJSON_GetArraySize(jobs), n);
    int i = 0, existing = 0;
    for (const cJSON *e = jobs ? jobs->child : NULL; e; e = e->next, i++) {
        int64_t id = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        const char *uuid = cJSON_GetObjectItemCaseSensitive(e, "uuid")->valuestring;
        const char *state = cJSON_GetObjectItemCaseSensitive(e, "state")->valuestring;
        existing += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "existing"));
        struct db_rows *r =
            db_query(t->db,
                     "SELECT uuid, queue, state, priority, JSON_VALUE(parameters, '$.i'), "
                     "dt_queued <=> IF(state = 'queued', dt_created, NULL) FROM jobs WHERE id = ?",
                     DB_P(DBI(id)));
        CHECK(r && r->n_rows == 1, "job %d: id %lld has no row", i, (long long)id);
        char q[16], pr[16], iv[16];
        snprintf(q, sizeof(q), "q%d", i % 3);
        snprintf(pr, sizeof(pr), "%d", i % 7);
        snprintf(iv, sizeof(iv), "%d", i);
        const char *want_state = i % 5 == 0 ? "pending" : "queued";
        CHECK(strcmp(db_rows_get(r, 0, 0), uuid) == 0 && strcmp(db_rows_get(r, 0, 1), q) == 0 &&
                  strcmp(db_rows_get(r, 0, 2), want_state) == 0 && strcmp(state, want_state) == 0 &&
                  strcmp(db_rows_get(r, 0, 3), pr) == 0 && strcmp(db_rows_get(r, 0, 4), iv) == 0 &&
                  strcmp(db_rows_get(r, 0, 5), "1") == 0,
              "job %d (id %lld): row uuid %s queue %s state %s priority %s i %s dt_queued ok %s; "
              "reply uuid %s state %s",
              i, (long long)id, db_rows_get(r, 0, 0), db_rows_get(r, 0, 1), db_rows_get(r, 0, 2),
              db_rows_get(r, 0, 3), db_rows_get(r, 0, 4), db_rows_get(r, 0, 5), uuid, state);
        db_rows_free(r);
        bool missing = true;
        CHECK(rq_missing(t->rq, q, &id, 1, &missing) == 0, "ZMSCORE");
        CHECK(missing == (i % 5 == 0), "job %d (id %lld, %s): in Redis %d", i, (long long)id,
              want_state, !missing);
    }
    cJSON_Delete(j);
    return existing;
}

/* A body of n jobs: queue q<i % 3>, priority i % 7, parameters {"i":i}, every fifth due in
 * an hour (pending). */
static char *
bulk_large_body(int n)
{
    long long later = (long long)time(NULL) + 3600;
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "[");
    for (int i = 0; i < n; i++) {
        buf_printf(&b,
                   "%s{\"action\":\"System/Noop\",\"queue\":\"q%d\",\"priority\":%d,"
                   "\"parameters\":{\"i\":%d}",
                   i ? "," : "", i % 3, i % 7, i);
        if (i % 5 == 0)
            buf_printf(&b, ",\"run_at\":%lld", later);
        buf_appends(&b, "}");
    }
    buf_appends(&b, "]");
    return buf_detach(&b);
}

/* A bulk request large enough for the bulk execution path (job_batch.c): every job of the
 * reply is its own row, with the fields sent, pushed when due; the same request again with
 * its Idempotency-Key returns the same jobs, existing, and stores nothing. */
static void
test_api_bulk_large(struct tenv *t)
{
    tprod_start(t);
    const int n = 700;
    char *body = bulk_large_body(n);
    const char *h[] = {TPROD_AUTH, "Content-Type: application/json", "Idempotency-Key: big-1",
                       NULL};
    struct t_http_resp r1, r2;
    t_http("POST", tprod_url(t, "/api/jobs/bulk"), body, strlen(body), h, &r1);
    CHECK(r1.status == 201, "bulk: %ld %.300s", r1.status, r1.body);
    CHECK(bulk_large_check(t, r1.body, n) == 0, "jobs of a first request came back existing");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == n, "%d rows expected", n);
    t_http("POST", tprod_url(t, "/api/jobs/bulk"), body, strlen(body), h, &r2);
    CHECK(r2.status == 201, "repeat: %ld %.300s", r2.status, r2.body);
    CHECK(bulk_large_check(t, r2.body, n) == n, "a repeat under the same key made new jobs");
    CHECK(strcmp(r1.body, r2.body) != 0 && t_count(r2.body, "\"existing\":true") == n,
          "the repeat's jobs are all existing");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == n, "the repeat stored rows");
    t_http_release(&r1);
    t_http_release(&r2);
    free(body);
}

static void
test_api_get_list(struct tenv *t)
{
    tprod_start(t);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = t_enqueue(t, i < 3 ? "System/Noop" : "System/Echo", NULL, NULL);
    char path[64], *out = NULL;
    snprintf(path, sizeof(path), "/api/jobs/%lld", (long long)ids[0]);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &out) == 200, "get: %s", out);
    CHECK(field_int(out, "id") == ids[0] && strstr(out, "\"attempts\":[]") &&
              strstr(out, "\"action\":\"System/Noop\""),
          "%s", out);
    free(out);
    tprod_check_401(t, "GET", path, NULL);
    CHECK(tprod_call(t, "GET", "/api/jobs/999999", NULL, NULL, &out) == 404 &&
              strstr(out, "no job with id 999999"),
          "unknown id: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/jobs/abc", NULL, NULL, &out) == 400 &&
              strstr(out, "\"field\":\"id\""),
          "bad id: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/jobs/1/frob", NULL, NULL, NULL) == 404, "unknown verb");
    CHECK(tprod_call(t, "DELETE", path, NULL, NULL, NULL) == 405, "DELETE");

    CHECK(tprod_call(t, "GET", "/api/jobs?action=System/Echo", NULL, NULL, &out) == 200, "list");
    CHECK(t_count(out, "\"action\":\"System/Echo\"") == 2 && !strstr(out, "System/Noop"), "%s",
          out);
    free(out);
    /* Keyset paging, newest first: 2 + 2 + 1. */
    CHECK(tprod_call(t, "GET", "/api/jobs?limit=2&state=queued", NULL, NULL, &out) == 200,
          "page 1");
    CHECK(field_int(out, "id") == ids[4] && field_int(out, "next_after") == ids[3], "%s", out);
    free(out);
    snprintf(path, sizeof(path), "/api/jobs?limit=2&after=%lld", (long long)ids[3]);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &out) == 200, "page 2");
    CHECK(field_int(out, "id") == ids[2] && field_int(out, "next_after") == ids[1], "%s", out);
    free(out);
    snprintf(path, sizeof(path), "/api/jobs?limit=2&after=%lld", (long long)ids[1]);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &out) == 200, "page 3");
    CHECK(field_int(out, "id") == ids[0] && strstr(out, "\"next_after\":null"), "%s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/jobs?state=lost", NULL, NULL, &out) == 400 &&
              strstr(out, "\"field\":\"state\""),
          "bad state: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/jobs?limit=0", NULL, NULL, &out) == 400 &&
              strstr(out, "\"field\":\"limit\""),
          "bad limit: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/jobs?queue=none", NULL, NULL, &out) == 200 &&
              strstr(out, "\"jobs\":[]"),
          "empty list: %s", out);
    free(out);
    tprod_check_401(t, "GET", "/api/jobs", NULL);
}

static void
test_api_retry_cancel(struct tenv *t)
{
    tprod_start(t);
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    char retry[64], cancel[64], *out = NULL;
    snprintf(retry, sizeof(retry), "/api/jobs/%lld/retry", (long long)id);
    snprintf(cancel, sizeof(cancel), "/api/jobs/%lld/cancel", (long long)id);
    tprod_check_401(t, "POST", cancel, NULL);
    tprod_check_401(t, "POST", retry, NULL);
    CHECK(tprod_call(t, "POST", retry, NULL, NULL, &out) == 409 && strstr(out, "is queued"),
          "retry of a queued job: %s", out);
    free(out);
    CHECK(tprod_call(t, "POST", cancel, NULL, NULL, &out) == 200 &&
              strstr(out, "\"state\":\"cancelled\""),
          "cancel: %s", out);
    free(out);
    CHECK(t_job_in_state(t, id, "cancelled") && !in_redis(t, id), "cancelled and removed");
    CHECK(tprod_call(t, "POST", cancel, NULL, NULL, &out) == 409, "cancel twice: %s", out);
    free(out);
    CHECK(tprod_call(t, "POST", retry, "{\"force\":", NULL, &out) == 400 &&
              strstr(out, "not valid JSON"),
          "bad JSON: %s", out);
    free(out);
    CHECK(tprod_call(t, "POST", retry, "{\"force\":\"yes\"}", NULL, &out) == 400 &&
              strstr(out, "\"field\":\"force\""),
          "bad force: %s", out);
    free(out);
    CHECK(tprod_call(t, "POST", retry, "{}", NULL, &out) == 200 &&
              strstr(out, "\"state\":\"queued\""),
          "retry: %s", out);
    free(out);
    CHECK(t_job_in_state(t, id, "queued") && in_redis(t, id), "queued and pushed again");
    CHECK(tprod_call(t, "POST", "/api/jobs/999999/retry", NULL, NULL, &out) == 404, "retry 404");
    free(out);
    CHECK(tprod_call(t, "POST", "/api/jobs/999999/cancel", NULL, NULL, &out) == 404, "cancel 404");
    free(out);
    CHECK(tprod_call(t, "GET", cancel, NULL, NULL, NULL) == 405, "GET cancel");
}

static void
test_pages(struct tenv *t)
{
    tprod_start(t);
    CHECK(tprod_call(t, "POST", "/webhook/system/echo", "{}", "", NULL) == 202, "webhook");
    t_enqueue(t, "System/Echo", "{\"n\":\"<b>\"}", NULL);
    char *out = NULL;
    CHECK(tprod_call(t, "GET", "/health", NULL, "", &out) == 200, "health: %s", out);
    CHECK(strstr(out, "\"status\":\"ok\"") && strstr(out, "\"mysql\":\"ok\"") &&
              strstr(out, "\"redis\":\"ok\"") && strstr(out, "\"accepting_webhooks\":true"),
          "%s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/metrics", NULL, "", &out) == 200, "metrics");
    CHECK(strstr(out, "# TYPE jobfleet_producer_requests_total counter") &&
              strstr(out, "jobfleet_producer_requests_total{code=\"202\"} 1") &&
              strstr(out, "jobfleet_producer_webhooks_total{outcome=\"stored\"} 1") &&
              strstr(out, "jobfleet_producer_spool_bytes 0") &&
              strstr(out, "jobfleet_producer_spooled_total 0"),
          "%s", out);
    free(out);
    /* The dashboard (tests/e2e/dashboard.c) wants a login, or the API token. */
    CHECK(tprod_call(t, "GET", "/", NULL, "", NULL) == 303, "dashboard without a login");
    CHECK(tprod_call(t, "GET", "/jobs", NULL, NULL, &out) == 200, "dashboard with the token");
    CHECK(strstr(out, "<h1>Jobs</h1>") && strstr(out, "System/Echo/Webhook") &&
              strstr(out, "st-queued"),
          "%s", out);
    free(out);
    CHECK(tprod_call(t, "POST", "/health", NULL, "", NULL) == 405, "POST /health");
    CHECK(tprod_call(t, "GET", "/nope", NULL, NULL, NULL) == 404, "unknown page");
    CHECK(tprod_call(t, "GET", "/api/nope", NULL, NULL, NULL) == 404, "unknown API route");
}

static void
test_api_disabled(struct tenv *t)
{
    tprod_start(t);
    char *out = NULL;
    CHECK(tprod_call(t, "GET", "/api/jobs", NULL, NULL, &out) == 404 && strstr(out, "disabled"),
          "API without a token: %s", out);
    free(out);
}

/* Runs the producer binary with args, capturing stderr; returns the exit status. */
static int
run_producer(struct tenv *t, const char *const *args, char **out, char **err)
{
    char *op = xasprintf("%s/run.out", t->dir), *ep = xasprintf("%s/run.err", t->dir);
    const char *av[16] = {t_bin("jobfleet-producer")};
    int n = 1;
    for (int i = 0; args[i] && n < 15; i++)
        av[n++] = args[i];
    av[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        execv(av[0], (char *const *)(uintptr_t)av);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    *out = t_read_file(op);
    *err = t_read_file(ep);
    free(op);
    free(ep);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_flags(struct tenv *t)
{
    char *out = NULL, *err = NULL;
    CHECK(run_producer(t, (const char *const[]){"--help", NULL}, &out, &err) == 0 &&
              strstr(out, "--check-config"),
          "--help: %s", out);
    free(out);
    free(err);
    CHECK(run_producer(t, (const char *const[]){"--config", t->conf, "--check-config", NULL}, &out,
                       &err) == 0 &&
              strcmp(out, "config ok\n") == 0,
          "--check-config: %s %s", out, err);
    free(out);
    free(err);
    static const struct {
        const char *conf, *says;
    } bad[] = {
        {"[webhook.gh]\npath_prefix = gh\n", "[webhook.gh] auth: required"},
        {"[webhook.gh]\nauth = hmac-sha256\n", "[webhook.gh] secret: required"},
        {"[producer]\nlisten = nowhere\n", "[producer] listen"},
        {"[producer]\nthreads = 0\n", "[producer] threads"},
        {"[producer]\nflavour = 1\n", "unknown key"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *path = xasprintf("%s/bad%zu.conf", t->dir, i);
        FILE *fp = fopen(path, "w");
        fputs(bad[i].conf, fp);
        fclose(fp);
        int rc = run_producer(t, (const char *const[]){"--config", path, NULL}, &out, &err);
        CHECK(rc == 2 && strstr(err, bad[i].says) && t_count(err, "\n") == 1,
              "%s: exit %d, stderr %s", bad[i].conf, rc, err);
        free(out);
        free(err);
        free(path);
    }
    CHECK(run_producer(t, (const char *const[]){"--frobnicate", NULL}, &out, &err) == 2 &&
              t_count(err, "\n") == 1,
          "unknown flag: %s", err);
    free(out);
    free(err);
    CHECK(run_producer(t, (const char *const[]){"--config", "/nonexistent.conf", NULL}, &out,
                       &err) == 2,
          "missing file: %s", err);
    free(out);
    free(err);
}

struct bg_post {
    struct tenv *t;
    int n;
    long status;
    char *body;
};

static void *
bg_post_main(void *arg)
{
    struct bg_post *b = arg;
    char h[64];
    snprintf(h, sizeof(h), "Idempotency-Key: drain-%d", b->n);
    const char *hdrs[] = {h, NULL};
    struct t_http_resp r;
    t_http("POST", tprod_url(b->t, "/webhook/system/echo"), "{}", 2, hdrs, &r);
    b->status = r.status;
    b->body = xstrdup(r.body ? r.body : "");
    t_http_release(&r);
    return NULL;
}

/* Waits until an insert into this test's database waits for the jobs table's lock (the
 * processlist is the server's: another test's blocked insert must not count, nor the
 * producer's own reads that the lock holds up too). */
static void
wait_insert_blocked(struct tenv *t)
{
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM information_schema.processlist WHERE "
                         "db = DATABASE() AND info LIKE 'INSERT%' AND (state LIKE "
                         "'%metadata lock%' OR state LIKE '%table lock%')",
                         DB_NOP) >= 1,
               5000, "no insert is waiting for the lock");
}

/* Waits until the producer, sent SIGTERM, takes no new connection (it drains). */
static void
wait_draining(struct tenv *t)
{
    struct t_http_resp r;
    WAIT_UNTIL(t_http("GET", tprod_url(t, "/health"), NULL, 0, NULL, &r) < 0 ||
                   (t_http_release(&r), 0),
               5000, "still accepting connections after SIGTERM");
    t_http_release(&r);
}

static void
test_sigterm(struct tenv *t)
{
    /* Idle: SIGTERM and SIGINT both stop it with status 0. */
    int sigs[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        pid_t p = tprod_start(t);
        t_signal(t, p, sigs[i]);
        int st = t_wait_exit(t, p, 10000);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    }
    /* Busy: five webhooks wait on a locked jobs table when SIGTERM arrives. */
    pid_t p = tprod_start(t);
    struct db *locker = db_new(&t->cfg.mysql);
    CHECK(db_connect(locker) == 0 && db_exec_static(locker, "LOCK TABLES jobs WRITE") == 0,
          "lock: %s", db_errstr(locker));
    struct bg_post b[5];
    pthread_t th[5];
    for (int i = 0; i < 5; i++) {
        b[i] = (struct bg_post){.t = t, .n = i};
        pthread_create(&th[i], NULL, bg_post_main, &b[i]);
    }
    wait_insert_blocked(t);
    /* All five are in (the sixth open request is this /metrics call), not still connecting. */
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_open_requests") == 6, 5000,
               "the five webhooks are not all open");
    t_signal(t, p, SIGTERM);
    /* No new connections once draining... */
    wait_draining(t);
    /* ...but the open requests are answered: spooled after db_timeout_ms. */
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        CHECK(b[i].status == 202 && strstr(b[i].body, "\"spooled\":true"), "request %d: %ld %s", i,
              b[i].status, b[i].body);
        free(b[i].body);
    }
    db_exec_static(locker, "UNLOCK TABLES");
    db_free(locker);
    int st = t_wait_exit(t, p, 15000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    /* The spool outlives the process; the next producer replays it, one job per key. */
    tprod_start(t);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE ?",
                         DB_P(DBS("system:key:drain-%"))) == 5,
               10000, "the spooled webhooks were not replayed");
    char *ls = xasprintf("test -z \"$(ls -A %s/spool | grep json)\"", t->dir);
    WAIT_UNTIL(system(ls) == 0, 10000, "spool not empty");
    free(ls);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == 5, "exactly five jobs");
}

static void *
bg_api_main(void *arg)
{
    struct bg_post *b = arg;
    b->status =
        tprod_call(b->t, "POST", "/api/jobs", "{\"action\":\"System/Noop\"}", NULL, &b->body);
    return NULL;
}

/* A second SIGTERM while an API create waits on a locked jobs table: its insert is already
 * sent and commits once the lock goes, so the answer must say the outcome is unknown. It said
 * "database unavailable" before, and a client that retried made a second job. */
static void
test_sigterm_forced_api(struct tenv *t)
{
    pid_t p = tprod_start(t);
    struct db *locker = db_new(&t->cfg.mysql);
    CHECK(db_connect(locker) == 0 && db_exec_static(locker, "LOCK TABLES jobs WRITE") == 0,
          "lock: %s", db_errstr(locker));
    struct bg_post b = {.t = t};
    pthread_t th;
    pthread_create(&th, NULL, bg_api_main, &b);
    wait_insert_blocked(t);
    t_signal(t, p, SIGTERM);
    /* Draining once it takes no new connection; then the second signal (two at once would be
     * one pending signal). */
    wait_draining(t);
    t_signal(t, p, SIGTERM);
    pthread_join(th, NULL);
    CHECK(b.status == 503 && b.body && strstr(b.body, "\"outcome_unknown\""), "the answer: %ld %s",
          b.status, b.body ? b.body : "");
    free(b.body);
    db_exec_static(locker, "UNLOCK TABLES");
    db_free(locker);
    t_wait_exit_ok(t, p, 15000, "the producer stopped by a second SIGTERM");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1,
          "the insert committed after the lock: its outcome was indeed unknown");
}

static const struct test_case cases[] = {
    {"e2e_producer_api_create", test_api_create, NULL},
    {"e2e_producer_api_create_reply", test_api_create_reply, NULL},
    {"e2e_producer_api_create_concurrent", test_api_create_concurrent, NULL},
    {"e2e_producer_api_bulk", test_api_bulk, NULL},
    {"e2e_producer_api_bulk_large", test_api_bulk_large, NULL},
    {"e2e_producer_api_get_list", test_api_get_list, NULL},
    {"e2e_producer_api_retry_cancel", test_api_retry_cancel, NULL},
    {"e2e_producer_api_disabled", test_api_disabled, "[producer]\napi_token =\n"},
    {"e2e_producer_pages", test_pages, ECHO_SOURCE},
    {"e2e_producer_flags", test_flags, ECHO_SOURCE},
    {"e2e_producer_sigterm", test_sigterm, ECHO_SOURCE "[producer]\ndb_timeout_ms = 1000\n"},
    {"e2e_producer_sigterm_forced_api", test_sigterm_forced_api,
     "[producer]\ndb_timeout_ms = 30000\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
