/* End-to-end tests of how job keys compare in MariaDB: the key columns are utf8mb4_bin, which
 * is PAD SPACE ("k " and "k" are one key), so a key that ends in a space is hashed (an
 * Idempotency-Key, a webhook's idempotency field, a unique_by value) or refused (an explicit
 * unique_key), never merged with the key without it. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
jobs_count(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP);
}

/* POSTs body to /api/jobs with an Idempotency-Key header of key; returns the status. */
static long
api_post_keyed(struct tenv *t, const char *body, const char *key)
{
    char h[128];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
    const char *hdrs[] = {TPROD_AUTH, h, NULL};
    return tprod_post(t, "/api/jobs", body, strlen(body), hdrs, NULL);
}

static void
test_trailing_space(struct tenv *t)
{
    tprod_start(t);
    const char *noop = "{\"action\":\"System/Noop\"}";
    CHECK(api_post_keyed(t, noop, "k") == 201, "Idempotency-Key k");
    CHECK(api_post_keyed(t, noop, "k ") == 201, "Idempotency-Key \"k \" is another key");
    CHECK(api_post_keyed(t, noop, "k ") == 200, "and a repeat of it is that job");
    CHECK(jobs_count(t) == 2, "%lld jobs", (long long)jobs_count(t));

    const char *u1 = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"x\"}}";
    const char *u2 = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"x \"}}";
    CHECK(tprod_call(t, "POST", "/api/jobs", u1, NULL, NULL) == 201, "unique_by x");
    CHECK(tprod_call(t, "POST", "/api/jobs", u2, NULL, NULL) == 201, "unique_by \"x \" is another");
    CHECK(jobs_count(t) == 4, "%lld jobs", (long long)jobs_count(t));

    char *out = NULL;
    const char *e1 = "{\"action\":\"System/Noop\",\"unique_key\":\"nightly\"}";
    const char *e2 = "{\"action\":\"System/Noop\",\"unique_key\":\"nightly \"}";
    CHECK(tprod_call(t, "POST", "/api/jobs", e1, NULL, NULL) == 201, "unique_key nightly");
    long st = tprod_call(t, "POST", "/api/jobs", e2, NULL, &out);
    CHECK(st == 400 && strstr(out, "\"field\":\"unique_key\"") && strstr(out, "space"),
          "unique_key \"nightly \" is refused, not taken for nightly: %ld %s", st, out);
    free(out);

    const char *w1 = "{\"id\":\"evt\"}", *w2 = "{\"id\":\"evt \"}";
    CHECK(tprod_post(t, "/webhook/system/echo", w1, strlen(w1), NULL, NULL) == 202, "webhook evt");
    CHECK(tprod_post(t, "/webhook/system/echo", w2, strlen(w2), NULL, NULL) == 202,
          "webhook \"evt \" is another delivery");
    CHECK(jobs_count(t) == 7, "%lld jobs", (long long)jobs_count(t));
}

/* A dry run's unique key is its own: it took the real job's key, so a dry run of a client's
 * sync (up to an hour) absorbed every real sync enqueued meanwhile, cron's included, and a
 * dry run asked for while the real job was live got the real job back. A non-boolean dry_run
 * is refused: "true" or 1 ran the job for real. */
static void
test_dry_run_key(struct tenv *t)
{
    tprod_start(t);
    const char *dry = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"k\","
                      "\"dry_run\":true}}";
    const char *real = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":\"k\"}}";
    CHECK(tprod_call(t, "POST", "/api/jobs", dry, NULL, NULL) == 201, "the dry run");
    CHECK(tprod_call(t, "POST", "/api/jobs", real, NULL, NULL) == 201,
          "the real job is made beside the live dry run");
    int64_t real_id = t_sql_int(t, 0, "SELECT MAX(id) FROM jobs", DB_NOP);
    char *held = NULL;
    long st = tprod_call(t, "POST", "/api/jobs", real, NULL, &held);
    char want[64];
    snprintf(want, sizeof(want), "\"job_id\":%lld", (long long)real_id);
    CHECK(st == 409 && strstr(held, want), "the key is the real job's: %ld %s", st, held);
    free(held);
    CHECK(jobs_count(t) == 2, "%lld jobs", (long long)jobs_count(t));
    char *out = NULL;
    st = tprod_call(t, "POST", "/api/jobs",
                    "{\"action\":\"System/Noop\",\"parameters\":{\"dry_run\":\"true\"}}", NULL,
                    &out);
    CHECK(st == 400 && strstr(out, "dry_run"), "a string dry_run is refused: %ld %s", st, out);
    free(out);
    CHECK(jobs_count(t) == 2, "%lld jobs", (long long)jobs_count(t));
}

/* Parameters are kept as sent: cJSON printed 5000000000000001 as 5e+15 (it takes a number
 * for its 15-digit print within a relative 2e-16), so the job got another ticket id than the
 * one asked for, and neighbouring ids one unique key. A number no double holds exactly (past
 * 2^53, or 1e400, which cJSON printed null) is refused rather than changed. */
static void
test_numbers_exact(struct tenv *t)
{
    tprod_start(t);
    const char *a = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":5000000000000001}}";
    const char *b = "{\"action\":\"System/Echo/Unique\",\"parameters\":{\"key\":5000000000000002}}";
    CHECK(tprod_call(t, "POST", "/api/jobs", a, NULL, NULL) == 201, "key ...001");
    CHECK(tprod_call(t, "POST", "/api/jobs", b, NULL, NULL) == 201, "key ...002 is another job");
    char *p = t_sql_str(
        t, "SELECT CONCAT(parameters, ' ', unique_key) FROM jobs ORDER BY id LIMIT 1", DB_NOP);
    CHECK(p && strcmp(p, "{\"key\":5000000000000001} System/Echo/Unique:5000000000000001") == 0,
          "stored: %s", p ? p : "(none)");
    free(p);
    const char *bad[] = {"{\"action\":\"System/Noop\",\"parameters\":{\"n\":1e400}}",
                         "{\"action\":\"System/Noop\",\"parameters\":{\"n\":[9007199254740993]}}"};
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        long st = tprod_call(t, "POST", "/api/jobs", bad[i], NULL, &out);
        CHECK(st == 400 && strstr(out, "\"field\":\"parameters\"") && strstr(out, "exactly"),
              "%s: %ld %s", bad[i], st, out);
        free(out);
    }
    CHECK(jobs_count(t) == 2, "%lld jobs", (long long)jobs_count(t));
}

/* An Idempotency-Key says "this request again": one reused for another request (another
 * action, other parameters) got the first job back with a 200, and the second request was
 * never made, without a word. It is a 422 now; the same request in another member order is
 * still the repeat. Numbers compare exactly: two neighbouring ids past 2^52 passed for one. */
static void
test_key_reused_for_another_request(struct tenv *t)
{
    tprod_start(t);
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"a\":1,\"b\":2}}",
                         "k1") == 201,
          "the first request");
    CHECK(api_post_keyed(t, "{\"parameters\":{\"b\":2,\"a\":1},\"action\":\"System/Echo\"}",
                         "k1") == 200,
          "the same request, members in another order, is the repeat");
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"a\":9}}", "k1") == 422,
          "other parameters under the key");
    CHECK(api_post_keyed(t, "{\"action\":\"System/Noop\"}", "k1") == 422, "another action");
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"id\":5000000000000001}}",
                         "k2") == 201,
          "a ticket id past 2^52");
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"id\":5000000000000002}}",
                         "k2") == 422,
          "its neighbour under the same key is another request");
    CHECK(jobs_count(t) == 2, "%lld jobs", (long long)jobs_count(t));
}

/* POSTs the bulk body with an Idempotency-Key header of key (none when NULL); returns the
 * status, and the reply in *out when out is not NULL. */
static long
bulk_post_keyed(struct tenv *t, const char *body, const char *key, char **out)
{
    char h[128];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", key ? key : "");
    const char *hdrs[] = {TPROD_AUTH, key ? h : NULL, NULL};
    return tprod_post(t, "/api/jobs/bulk", body, strlen(body), hdrs, out);
}

/* The bulk form of the test above: a bulk job whose idempotency key (its own, or the header's
 * with its index) had made a job with another action or other parameters came back
 * "existing":true with a 201, and the job asked for was never made. The whole request is a
 * 422 naming that job now, and nothing of it is stored; a true repeat is still the repeat. */
static void
test_bulk_key_reused_for_another_request(struct tenv *t)
{
    tprod_start(t);
    const char *first = "[{\"action\":\"System/Echo\",\"parameters\":{\"a\":1,\"b\":2}},"
                        "{\"action\":\"System/Noop\"}]";
    const char *again = "[{\"action\":\"System/Echo\",\"parameters\":{\"b\":2,\"a\":1}},"
                        "{\"action\":\"System/Noop\"}]";
    CHECK(bulk_post_keyed(t, first, "import-1", NULL) == 201, "the first request");
    char *out = NULL;
    long st = bulk_post_keyed(t, again, "import-1", &out);
    CHECK(st == 201 && strstr(out, "\"existing\":true") && !strstr(out, "\"existing\":false"),
          "the same request, members in another order, is the repeat: %ld %s", st, out);
    free(out);
    const char *other = "[{\"action\":\"System/Noop\"},{\"action\":\"System/Noop\"},"
                        "{\"action\":\"System/Noop\"}]";
    out = NULL;
    st = bulk_post_keyed(t, other, "import-1", &out);
    CHECK(st == 422 && strstr(out, "\"field\":\"Idempotency-Key\"") && strstr(out, "job 0"),
          "another array under the header's key: %ld %s", st, out ? out : "");
    free(out);
    CHECK(jobs_count(t) == 2, "the third job was stored: %lld jobs", (long long)jobs_count(t));

    const char *own = "[{\"action\":\"System/Echo\",\"idempotency_key\":\"t-42\","
                      "\"parameters\":{\"id\":42}}]";
    const char *own_other = "[{\"action\":\"System/Noop\"},{\"action\":\"System/Echo\","
                            "\"idempotency_key\":\"t-42\",\"parameters\":{\"id\":43}}]";
    CHECK(bulk_post_keyed(t, own, NULL, NULL) == 201, "a job's own key");
    out = NULL;
    st = bulk_post_keyed(t, own_other, NULL, &out);
    CHECK(st == 422 && strstr(out, "\"field\":\"jobs[1].idempotency_key\""),
          "another job under a job's own key: %ld %s", st, out ? out : "");
    free(out);
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"id\":42}}", "t-42") ==
              200,
          "POST /api/jobs shares the key's namespace and finds the same request");

    const char *twice = "[{\"action\":\"System/Echo\",\"idempotency_key\":\"d\"},"
                        "{\"action\":\"System/Noop\",\"idempotency_key\":\"d\"}]";
    out = NULL;
    st = bulk_post_keyed(t, twice, NULL, &out);
    CHECK(st == 422 && strstr(out, "\"field\":\"jobs[1].idempotency_key\""),
          "one key for two jobs of one array: %ld %s", st, out ? out : "");
    free(out);
    CHECK(jobs_count(t) == 3, "%lld jobs", (long long)jobs_count(t));
}

/* cJSON ends a string at a NUL: {"a":"x\u0000y"} was stored as {"a":"x"} with a 201, and under
 * one Idempotency-Key "x\u0000y" and "x\u0000z" passed for the same request. A NUL, escaped
 * or raw, anywhere in an API body is a 400 now, and nothing is stored. */
static void
test_nul_refused(struct tenv *t)
{
    tprod_start(t);
    static const char *const bodies[] = {
        "{\"action\":\"System/Echo\",\"parameters\":{\"a\":\"x\\u0000y\"}}",
        "{\"action\":\"System/Echo\",\"parameters\":{\"a\\u0000b\":1}}",
        "{\"action\":\"System/Echo\",\"queue\":\"default\\u0000x\"}",
        "[{\"action\":\"System/Echo\",\"parameters\":{\"a\":\"x\\u0000\"}}]"};
    static const char *const paths[] = {"/api/jobs", "/api/jobs", "/api/jobs", "/api/jobs/bulk"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char *out = NULL;
        long st = tprod_call(t, "POST", paths[i], bodies[i], NULL, &out);
        CHECK(st == 400 && out && strstr(out, "NUL character"), "%s: %ld %s", bodies[i], st,
              out ? out : "");
        free(out);
    }
    CHECK(api_post_keyed(t, "{\"action\":\"System/Echo\",\"parameters\":{\"a\":\"x\\u0000y\"}}",
                         "k1") == 400,
          "a keyed request with a NUL");
    CHECK(jobs_count(t) == 0, "%lld jobs", (long long)jobs_count(t));
}

static const struct test_case cases[] = {
    {"e2e_job_keys_bulk_reused_for_another_request", test_bulk_key_reused_for_another_request,
     NULL},
    {"e2e_job_keys_dry_run", test_dry_run_key, NULL},
    {"e2e_job_keys_numbers_exact", test_numbers_exact, NULL},
    {"e2e_job_keys_nul_refused", test_nul_refused, NULL},
    {"e2e_job_keys_reused_for_another_request", test_key_reused_for_another_request, NULL},
    {"e2e_job_keys_trailing_space", test_trailing_space,
     "[webhook.system]\nauth = none\nidempotency_field = /id\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
