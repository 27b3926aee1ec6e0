/* Unit tests for common/caltime.c (once job_format_time in job.c): the hand-written UTC
 * formatting agrees with gmtime_r and snprintf over edges (epoch, leap days, century years, year
 * 9999) and a million random instants, caltime_split and caltime_join agree with gmtime_r and
 * timegm, and the text forms read back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caltime.h"

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
    caltime_format_dt6(ms, got, sizeof(got));
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
    caltime_format_dt6(INT64_C(253402300799999), got, sizeof(got));
    assert_string_equal(got, "9999-12-31 23:59:59.999000");
    caltime_format_dt6(0, got, sizeof(got));
    assert_string_equal(got, "1970-01-01 00:00:00.000000");
}

/* The worker stamps the start of a job that waited in its window in microseconds: jobs started
 * within one millisecond must keep their order (the priority-order test reads it back). */
static void
test_microseconds(void **state)
{
    (void)state;
    char got[40];
    caltime_format_dt6_us(INT64_C(1772928000123456), got, sizeof(got));
    assert_string_equal(got, "2026-03-08 00:00:00.123456");
    int64_t us = 0;
    assert_int_equal(caltime_parse_dt_us("2026-03-08 00:00:00.123456", &us), 0);
    assert_int_equal(us, INT64_C(1772928000123456));
    assert_int_equal(caltime_parse_dt_us("2026-03-08 00:00:00.5", &us), 0);
    assert_int_equal(us, INT64_C(1772928000500000));
    assert_int_equal(caltime_parse_dt_us("2026-03-08 00:00:00", &us), 0);
    assert_int_equal(us, INT64_C(1772928000000000));
    assert_int_equal(caltime_parse_dt_us("2026-03-08 00:00:00.1234567", &us), 0);
    assert_int_equal(us, INT64_C(1772928000123456));
    assert_int_equal(caltime_parse_dt_us("not a time", &us), -1);
    assert_int_equal(caltime_parse_dt_us(NULL, &us), -1);
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
    caltime_format_dt6(ms, text, sizeof(text));
    assert_int_equal(caltime_parse(text, &back), 0);
    assert_int_equal(back, ms);
}

/* caltime_split and caltime_join against gmtime_r and timegm, before 1970 included. */
static void
test_split_join(void **state)
{
    (void)state;
    srand(815);
    for (int i = 0; i < 200000; i++) {
        int64_t t =
            (((int64_t)rand() << 31) ^ rand()) % INT64_C(253402300800) - INT64_C(62135596800) / 2;
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        struct caltime c;
        caltime_split(t, &c);
        if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
            c.hour != tm.tm_hour || c.min != tm.tm_min || c.sec != tm.tm_sec ||
            c.wday != tm.tm_wday)
            fail_msg("%lld splits wrong", (long long)t);
        assert_int_equal(caltime_join(&c), t);
        assert_int_equal(caltime_join(&c), (int64_t)timegm(&tm));
    }
    /* Out-of-range fields carry, as timegm's do: 2026-02-31 24:00:60 is 2026-03-04 00:01:00. */
    struct caltime c = {.year = 2026, .month = 2, .day = 31, .hour = 24, .min = 0, .sec = 60};
    assert_int_equal(caltime_join(&c), INT64_C(1772582460));
    c = (struct caltime){.year = 2025, .month = 14, .day = 1};
    assert_int_equal(caltime_join(&c), INT64_C(1769904000)); /* 2026-02-01 */
}

static void
test_texts(void **state)
{
    (void)state;
    char s[64];
    caltime_format_dt(INT64_C(1772956800), s, sizeof(s));
    assert_string_equal(s, "2026-03-08 08:00:00");
    caltime_format_utc(INT64_C(1772956800), s, sizeof(s));
    assert_string_equal(s, "2026-03-08T08:00:00Z");
    caltime_format_offset(INT64_C(1772956800), -5 * 3600, s, sizeof(s));
    assert_string_equal(s, "2026-03-08T03:00:00-05:00");
    caltime_format_offset(INT64_C(-3786825600), -17762, s, sizeof(s)); /* 1850, LMT */
    assert_string_equal(s, "1849-12-31T19:03:58-04:56:02");
    caltime_format_offset(0, 19800, s, 5);
    assert_string_equal(s, "1970");

    int64_t t = 0;
    assert_int_equal(caltime_parse_dt("2026-03-08 08:00:00", &t), 0);
    assert_int_equal(t, INT64_C(1772956800));
    assert_int_equal(caltime_parse_dt("2026-03-08 08:00:00.250000", &t), 0);
    assert_int_equal(t, INT64_C(1772956800));
    assert_int_equal(caltime_parse_dt("2026-03-08", &t), -1);
    assert_int_equal(caltime_parse_dt(NULL, &t), -1);

    const struct {
        const char *text;
        int rc;
        int64_t ms;
    } cases[] = {
        {"2026-03-08T08:00:00Z", 0, INT64_C(1772956800000)},
        {"2026-03-08 08:00:00", 0, INT64_C(1772956800000)},
        {"2026-03-08T03:00:00-05:00", 0, INT64_C(1772956800000)},
        {"2026-03-08T13:30:00+0530", 0, INT64_C(1772956800000)},
        {"2026-03-08T08:00:00.25Z", 0, INT64_C(1772956800250)},
        {"2026-03-08T08:00Z", 0, INT64_C(1772956800000)},
        {"2026-03-08", 0, INT64_C(1772928000000)},
        {"1772956800", 0, INT64_C(1772956800000)},
        {"2026-03-08T08:00:00 junk", -1, 0},
        {"2026-03-08T08:00:00+5", -1, 0},
        /* Dates and times that do not exist are refused, not rolled into the next month or
         * day; so is anything after the offset, and an offset that is not [+-]HH:MM or
         * [+-]HHMM with HH at most 23 and MM at most 59. */
        {"2026-02-31T10:00:00Z", -1, 0},
        {"2026-02-29", -1, 0},
        {"2028-02-29", 0, INT64_C(1835395200000)},
        {"2026-04-31", -1, 0},
        {"2026-12-31T23:59:60Z", -1, 0},
        {"2026-03-08T08:00:00+05:00garbage", -1, 0},
        {"2026-03-08T08:00:00Zjunk", -1, 0},
        {"2026-03-08T08:00:00+05:3", -1, 0},
        {"2026-03-08T08:00:00+99:99", -1, 0},
        {"2026-03-08T08:00:00+05:60", -1, 0},
        {"2026-03-08T08:00:00+-5:00", -1, 0},
        {"2026-03-08T08:00:00+ 5:00", -1, 0},
        {"2026-03-08T08:00:00+05:00:00", -1, 0},
        {"2026-03-08T13:00:00+05", -1, 0},
        {"2026-03-08T08:00:00-23:59", 0, INT64_C(1773043140000)},
        {"yesterday", -1, 0},
        {"", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        int rc = caltime_parse(cases[i].text, &ms);
        if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
            fail_msg("\"%s\": rc %d, %lld", cases[i].text, rc, (long long)ms);
        if (rc < 0)
            assert_int_equal(ms, -1); /* untouched */
    }
    int64_t now = 0;
    assert_int_equal(caltime_parse("now", &now), 0);
    assert_true(now > INT64_C(1700000000000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),      cmocka_unit_test(test_microseconds),
        cmocka_unit_test(test_random),     cmocka_unit_test(test_parse_back),
        cmocka_unit_test(test_split_join), cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
