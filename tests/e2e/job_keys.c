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

static const struct test_case cases[] = {
    {"e2e_job_keys_trailing_space", test_trailing_space,
     "[webhook.system]\nauth = none\nidempotency_field = /id\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
