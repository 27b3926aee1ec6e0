/* Unit tests for job_format_time (common/job.c): the hand-written UTC formatting agrees with
 * gmtime_r and snprintf over edges (epoch, leap days, century years, year 9999) and a million
 * random instants, and job_parse_time reads it back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"

static void
reference(int64_t ms, char *out, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000) * 1000);
}

static void
check(int64_t ms)
{
    char want[128], got[128];
    reference(ms, want, sizeof(want));
    job_format_time(ms, got, sizeof(got));
    if (strcmp(want, got) != 0)
        fail_msg("%lld ms: want %s, got %s", (long long)ms, want, got);
}

static void
test_edges(void **state)
{
    (void)state;
    const int64_t day = 86400000;
    int64_t edges[] = {0,
                       1,
                       999,
                       day - 1,
                       day,
                       INT64_C(951782400000),     /* 2000-02-29 */
                       INT64_C(951868800000) - 1, /* 2000-02-29 23:59:59.999 */
                       INT64_C(4107542400000),    /* 2100-03-01 */
                       INT64_C(4107542400000) - 1,
                       INT64_C(1772928000000), /* 2026-03-08 */
                       INT64_C(253402300799999)};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        check(edges[i]);
    char got[40];
    job_format_time(INT64_C(253402300799999), got, sizeof(got));
    assert_string_equal(got, "9999-12-31 23:59:59.999000");
    job_format_time(0, got, sizeof(got));
    assert_string_equal(got, "1970-01-01 00:00:00.000000");
}

static void
test_random(void **state)
{
    (void)state;
    srand(4711);
    for (int i = 0; i < 1000000; i++) {
        int64_t ms = (((int64_t)rand() << 31) ^ rand()) % INT64_C(253402300800000);
        check(ms < 0 ? -ms : ms);
    }
}

static void
test_parse_back(void **state)
{
    (void)state;
    int64_t ms = INT64_C(1795308645123), back = 0;
    char text[40];
    job_format_time(ms, text, sizeof(text));
    assert_int_equal(job_parse_time(text, &back), 0);
    assert_int_equal(back, ms);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
