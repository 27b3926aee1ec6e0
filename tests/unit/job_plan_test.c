/* Unit tests for a dry run's plan (jobs/runtime*.c): the steps a job function records become
 * the result's "plan", in order; past JOB_PLAN_MAX_BYTES they are counted in "plan_left_out"
 * instead of kept, so that a dry run of a big sync still stores a plan the worker takes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "runtime.h"

static int plan_steps;

/* Plans plan_steps upserts, then succeeds with a result of its own. */
static void
plan_many(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    for (int i = 0; i < plan_steps; i++) {
        char what[64];
        snprintf(what, sizeof(what), "ticket %d", i);
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "upsert", what);
        job_plan(ctx, step);
    }
    char *own = NULL;
    if (asprintf(&own, "{\"tickets\":%d}", plan_steps) < 0)
        own = NULL;
    job_out_ok(out, own);
}

/* Runs plan_many as a dry run of n steps; returns the parsed result. */
static cJSON *
dry_run(int n, size_t *result_len)
{
    static struct cfg cfg;
    struct job_env *env = job_env_new(&cfg, true);
    struct job_out out = {0};
    plan_steps = n;
    job_run(env, plan_many, 0, 1, "Test/Plan", "{\"dry_run\":true}", NULL, &out);
    assert_int_equal(out.status, JOB_OK);
    assert_non_null(out.result);
    *result_len = strlen(out.result);
    cJSON *r = cJSON_Parse(out.result);
    assert_non_null(r);
    job_out_release(&out);
    job_env_free(env);
    return r;
}

static void
test_small_plan_whole(void **state)
{
    (void)state;
    size_t len;
    cJSON *r = dry_run(3, &len);
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(r, "plan");
    assert_int_equal(cJSON_GetArraySize(plan), 3);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(plan, 2), "upsert")),
        "ticket 2");
    assert_null(cJSON_GetObjectItemCaseSensitive(r, "plan_left_out"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "dry_run")));
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "tickets")), 3);
    cJSON_Delete(r);
}

/* 200,000 steps are about 5 MiB of plan: more than the 4 MiB result the worker stores, which
 * would replace it whole by a note of its size. The first steps are kept, in order, within the
 * bound; the others are counted. */
static void
test_big_plan_bounded(void **state)
{
    (void)state;
    enum { N = 200000 };
    size_t len;
    cJSON *r = dry_run(N, &len);
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(r, "plan");
    int kept = cJSON_GetArraySize(plan);
    const cJSON *left = cJSON_GetObjectItemCaseSensitive(r, "plan_left_out");
    assert_true(cJSON_IsNumber(left));
    assert_true(kept > 10000);
    assert_int_equal(kept + (int)cJSON_GetNumberValue(left), N);
    assert_true(len <= JOB_PLAN_MAX_BYTES + 1024);
    for (int i = 0; i < kept; i += kept - 1) {
        char want[64];
        snprintf(want, sizeof(want), "ticket %d", i);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(plan, i), "upsert")), want);
    }
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "tickets")), N);
    cJSON_Delete(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_plan_whole),
        cmocka_unit_test(test_big_plan_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
