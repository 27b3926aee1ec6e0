/* Unit tests for pure helpers of common/util.c: backoff_ms and parse_duration_s, including
 * the edges where their arithmetic could overflow. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>

#include "util.h"

/* Draws many delays and checks each lies in [0, hi], and that the top of the range is
 * actually reached (the jitter is full, not stuck low). */
static void
backoff_range(int attempt, int64_t base, int64_t cap, int64_t hi)
{
    int64_t max_seen = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t d = backoff_ms(attempt, base, cap);
        if (d < 0 || d > hi)
            fail_msg("backoff_ms(%d, %lld, %lld) = %lld, outside [0, %lld]", attempt,
                     (long long)base, (long long)cap, (long long)d, (long long)hi);
        if (d > max_seen)
            max_seen = d;
    }
    /* Only for delays a clock uses: the random draw has 62 bits. */
    if (hi > 0 && hi < (INT64_C(1) << 40) && max_seen < hi / 2)
        fail_msg("backoff_ms(%d, %lld, %lld): never above %lld of %lld", attempt, (long long)base,
                 (long long)cap, (long long)max_seen, (long long)hi);
}

static void
test_backoff_doubles_to_cap(void **state)
{
    (void)state;
    backoff_range(1, 1000, 60000, 1000);
    backoff_range(2, 1000, 60000, 2000);
    backoff_range(3, 1000, 60000, 4000);
    backoff_range(6, 1000, 60000, 32000);
    backoff_range(7, 1000, 60000, 60000);
    backoff_range(1000, 1000, 60000, 60000);
    backoff_range(INT_MAX, 1000, 60000, 60000);
}

static void
test_backoff_attempt_below_one_is_first(void **state)
{
    (void)state;
    backoff_range(0, 500, 60000, 500);
    backoff_range(-7, 500, 60000, 500);
}

static void
test_backoff_degenerate_bounds(void **state)
{
    (void)state;
    /* A cap below the base wins; a zero base or cap means no delay. */
    backoff_range(1, 5000, 100, 100);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(backoff_ms(5, 0, 1000), 0);
        assert_int_equal(backoff_ms(5, 1000, 0), 0);
    }
    /* A zero base never grows: this must not double it two billion times. */
    int64_t t0 = now_mono_ms();
    assert_int_equal(backoff_ms(INT_MAX, 0, INT64_MAX), 0);
    assert_true(now_mono_ms() - t0 < 100);
}

static void
test_backoff_huge_cap_does_not_overflow(void **state)
{
    (void)state;
    /* Doubling toward a cap near INT64_MAX must stop before it overflows. */
    backoff_range(100, 1, INT64_MAX, INT64_MAX);
    backoff_range(64, INT64_MAX / 3, INT64_MAX, INT64_MAX);
}

static void
test_duration_units(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        {"0", 0},      {"90", 90}, {"90s", 90},        {"15m", 900}, {"2h", 7200},
        {"1d", 86400}, {"0d", 0},  {"365d", 31536000}, {"007", 7},   {"1000000000", 1000000000},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        if (parse_duration_s(ok[i].in, &v) != 0)
            fail_msg("\"%s\" refused", ok[i].in);
        if (v != ok[i].want)
            fail_msg("\"%s\" = %lld, want %lld", ok[i].in, (long long)v, (long long)ok[i].want);
    }
}

static void
test_duration_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",   "s",   "-1", "-1s",  "+5", " 5", "5 ",   "5 m",
        "1x", "1ms", "1S", "1.5h", "m5", "h",  "0x10", "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 42;
        if (parse_duration_s(bad[i], &v) != -1)
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)v);
        assert_int_equal(v, 42);
    }
    int64_t v = 42;
    assert_int_equal(parse_duration_s(NULL, &v), -1);
}

static void
test_duration_overflow_refused(void **state)
{
    (void)state;
    /* Each fits in int64 as a number but not once multiplied by its unit. */
    static const char *const bad[] = {"9223372036854775807d", "106751991167301d",
                                      "153722867280912931m", "2562047788015216h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v = 42;
        if (parse_duration_s(bad[i], &v) != -1)
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)v);
    }
    /* The largest day count that fits is still accepted. */
    int64_t v = 0;
    assert_int_equal(parse_duration_s("106751991167300d", &v), 0);
    assert_int_equal(v, INT64_C(106751991167300) * 86400);
    assert_int_equal(parse_duration_s("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_to_cap),
        cmocka_unit_test(test_backoff_attempt_below_one_is_first),
        cmocka_unit_test(test_backoff_degenerate_bounds),
        cmocka_unit_test(test_backoff_huge_cap_does_not_overflow),
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_refused),
        cmocka_unit_test(test_duration_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
