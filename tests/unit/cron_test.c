/* Unit tests for the cron module: parsing, error messages, and fire times across DST changes,
 * checked against hand-computed UTC times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "tzone.h"
#include "util.h"

/* "2026-03-08T08:00:00Z" to UTC seconds, through libc's timegm rather than the module. */
static int64_t
iso(const char *s)
{
    struct tm tm = {0};
    int n = sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
    assert_int_equal(n, 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void
utc_iso(int64_t t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(gmtime_r(&tt, &tm));
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct next_case {
    const char *expr;
    const char *tz;
    const char *after;
    const char *want[5];
};

/*
 * Expected values are worked out by hand. Reference facts:
 *   2026-01-01 is a Thursday; 2026-02-01 and 2026-03-01 are Sundays; 2026-07-01 a Wednesday.
 *   America/Chicago: CST -06:00, CDT -05:00. 2026-03-08 02:00 CST -> 03:00 CDT at 08:00Z;
 *   2026-11-01 02:00 CDT -> 01:00 CST at 07:00Z (01:00-01:59 local happens twice).
 *   Australia/Lord_Howe: +10:30 standard, +11:00 DST. 2026-04-05 02:00 +11 -> 01:30 +10:30 at
 *   2026-04-04T15:00Z (01:30-01:59 twice); 2026-10-04 02:00 +10:30 -> 02:30 +11 at
 *   2026-10-03T15:30Z (02:00-02:29 skipped).
 */
static const struct next_case next_cases[] = {
    /* Chicago spring forward: 02:00 does not exist on 03-08 and fires at 03:00 CDT. */
    {"0 2 * * *",
     "America/Chicago",
     "2026-03-06T12:00:00Z",
     {"2026-03-07T08:00:00Z", "2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z",
      "2026-03-10T07:00:00Z", "2026-03-11T07:00:00Z"}},
    /* Chicago fall back: 02:00 CST happens once. */
    {"0 2 * * *",
     "America/Chicago",
     "2026-10-30T12:00:00Z",
     {"2026-10-31T07:00:00Z", "2026-11-01T08:00:00Z", "2026-11-02T08:00:00Z",
      "2026-11-03T08:00:00Z", "2026-11-04T08:00:00Z"}},
    /* 01:30 exists on 03-08 (before the jump), still CST. */
    {"30 1 * * *",
     "America/Chicago",
     "2026-03-06T12:00:00Z",
     {"2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z",
      "2026-03-10T06:30:00Z", "2026-03-11T06:30:00Z"}},
    /* 01:30 happens twice on 11-01: fires at the first (CDT, 06:30Z) only. */
    {"30 1 * * *",
     "America/Chicago",
     "2026-10-30T12:00:00Z",
     {"2026-10-31T06:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T07:30:00Z",
      "2026-11-03T07:30:00Z", "2026-11-04T07:30:00Z"}},
    /* Starting at the first 01:30: the second 01:30 (07:30Z) must not fire. */
    {"30 1 * * *",
     "America/Chicago",
     "2026-11-01T06:30:00Z",
     {"2026-11-02T07:30:00Z", "2026-11-03T07:30:00Z", "2026-11-04T07:30:00Z",
      "2026-11-05T07:30:00Z", "2026-11-06T07:30:00Z"}},
    /* The brief's example: 02:30 skipped, fires at 03:00 CDT. */
    {"30 2 * * *",
     "America/Chicago",
     "2026-03-07T12:00:00Z",
     {"2026-03-08T08:00:00Z", "2026-03-09T07:30:00Z", "2026-03-10T07:30:00Z",
      "2026-03-11T07:30:00Z", "2026-03-12T07:30:00Z"}},
    /* 02:00, 02:20, 02:40 skipped collapse into 03:00 CDT, which is also a normal fire. */
    {"*/20 * * * *",
     "America/Chicago",
     "2026-03-08T07:30:00Z",
     {"2026-03-08T07:40:00Z", "2026-03-08T08:00:00Z", "2026-03-08T08:20:00Z",
      "2026-03-08T08:40:00Z", "2026-03-08T09:00:00Z"}},
    /* 01:00, 01:20, 01:40 CDT, then the repeated CST hour fires nothing until 02:00 CST. */
    {"*/20 * * * *",
     "America/Chicago",
     "2026-11-01T05:50:00Z",
     {"2026-11-01T06:00:00Z", "2026-11-01T06:20:00Z", "2026-11-01T06:40:00Z",
      "2026-11-01T08:00:00Z", "2026-11-01T08:20:00Z"}},
    /* Starting inside the repeated hour (01:05 CST). */
    {"*/20 * * * *",
     "America/Chicago",
     "2026-11-01T07:05:00Z",
     {"2026-11-01T08:00:00Z", "2026-11-01T08:20:00Z", "2026-11-01T08:40:00Z",
      "2026-11-01T09:00:00Z", "2026-11-01T09:20:00Z"}},
    /* Midnight is untouched by Chicago's 02:00 changes; only the offset moves. */
    {"@daily",
     "America/Chicago",
     "2026-03-07T00:00:00Z",
     {"2026-03-07T06:00:00Z", "2026-03-08T06:00:00Z", "2026-03-09T05:00:00Z",
      "2026-03-10T05:00:00Z", "2026-03-11T05:00:00Z"}},
    /* Leap days. */
    {"0 0 29 2 *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z",
      "2040-02-29T00:00:00Z", "2044-02-29T00:00:00Z"}},
    {"0 0 29 2 *",
     "America/Chicago",
     "2026-01-01T00:00:00Z",
     {"2028-02-29T06:00:00Z", "2032-02-29T06:00:00Z", "2036-02-29T06:00:00Z",
      "2040-02-29T06:00:00Z", "2044-02-29T06:00:00Z"}},
    /* 2100 is not a leap year: the first gap is 8 years less a day, inside the horizon. */
    {"0 0 29 2 *",
     "UTC",
     "2096-03-01T00:00:00Z",
     {"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z", "2112-02-29T00:00:00Z",
      "2116-02-29T00:00:00Z", "2120-02-29T00:00:00Z"}},
    /* Either-day rule: every 13th (Jan 13 is a Tuesday) and every Friday. */
    {"0 12 13 * FRI",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T12:00:00Z", "2026-01-09T12:00:00Z", "2026-01-13T12:00:00Z",
      "2026-01-16T12:00:00Z", "2026-01-23T12:00:00Z"}},
    /* Friday 2026-02-13 matches both ways and fires once. */
    {"0 12 13 * FRI",
     "UTC",
     "2026-02-01T00:00:00Z",
     {"2026-02-06T12:00:00Z", "2026-02-13T12:00:00Z", "2026-02-20T12:00:00Z",
      "2026-02-27T12:00:00Z", "2026-03-06T12:00:00Z"}},
    /* A day-of-month starting with "*" means both must match: odd-numbered Fridays. */
    {"0 12 */2 * FRI",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-09T12:00:00Z", "2026-01-23T12:00:00Z", "2026-02-13T12:00:00Z",
      "2026-02-27T12:00:00Z", "2026-03-13T12:00:00Z"}},
    /* Lord Howe, DST ends: 01:30 and 01:45 happen twice; the second ones do not fire. */
    {"*/15 * * * *",
     "Australia/Lord_Howe",
     "2026-04-04T14:20:00Z",
     {"2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:30:00Z",
      "2026-04-04T15:45:00Z", "2026-04-04T16:00:00Z"}},
    {"45 1 * * *",
     "Australia/Lord_Howe",
     "2026-04-03T00:00:00Z",
     {"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z",
      "2026-04-06T15:15:00Z", "2026-04-07T15:15:00Z"}},
    /* Lord Howe, DST starts: 02:00 and 02:15 are skipped and fire once at 02:30 +11. */
    {"*/15 * * * *",
     "Australia/Lord_Howe",
     "2026-10-03T15:00:00Z",
     {"2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z",
      "2026-10-03T16:00:00Z", "2026-10-03T16:15:00Z"}},
    {"0 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-02T00:00:00Z",
     {"2026-10-02T15:30:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z",
      "2026-10-05T15:00:00Z", "2026-10-06T15:00:00Z"}},
    /* Names, in any case. */
    {"0 9 * JAN,jul mon-fri",
     "UTC",
     "2026-01-29T10:00:00Z",
     {"2026-01-30T09:00:00Z", "2026-07-01T09:00:00Z", "2026-07-02T09:00:00Z",
      "2026-07-03T09:00:00Z", "2026-07-06T09:00:00Z"}},
    /* 7 is Sunday, alone and as a range end. */
    {"0 8 * * 7",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-04T08:00:00Z", "2026-01-11T08:00:00Z", "2026-01-18T08:00:00Z",
      "2026-01-25T08:00:00Z", "2026-02-01T08:00:00Z"}},
    {"0 8 * * 5-7",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T08:00:00Z", "2026-01-03T08:00:00Z", "2026-01-04T08:00:00Z",
      "2026-01-09T08:00:00Z", "2026-01-10T08:00:00Z"}},
    /* Macros. */
    {"@yearly",
     "UTC",
     "2026-06-01T00:00:00Z",
     {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z",
      "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"}},
    {"@monthly",
     "UTC",
     "2026-01-15T00:00:00Z",
     {"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z",
      "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"}},
    {"@weekly",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-18T00:00:00Z",
      "2026-01-25T00:00:00Z", "2026-02-01T00:00:00Z"}},
    /* Strictly after: midnight itself does not count. */
    {"@midnight",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
      "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"}},
    {"@hourly",
     "UTC",
     "2026-01-01T00:30:00Z",
     {"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z",
      "2026-01-01T04:00:00Z", "2026-01-01T05:00:00Z"}},
    /* Steps from a start value, and a start time that is not on a minute. */
    {"5/20 8-18/5 * * *",
     "UTC",
     "2026-01-01T08:05:30Z",
     {"2026-01-01T08:25:00Z", "2026-01-01T08:45:00Z", "2026-01-01T13:05:00Z",
      "2026-01-01T13:25:00Z", "2026-01-01T13:45:00Z"}},
};

static void
cron_next_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
        const struct next_case *c = &next_cases[i];
        struct cron_expr e;
        char err[128];
        if (cron_parse(c->expr, &e, err, sizeof(err)) != 0) {
            print_error("%s: parse failed: %s\n", c->expr, err);
            failures++;
            continue;
        }
        int64_t t = iso(c->after);
        for (int k = 0; k < 5; k++) {
            int64_t next = 0;
            char got[32] = "none";
            if (cron_next(&e, c->tz, t, &next) == 0)
                utc_iso(next, got, sizeof(got));
            if (strcmp(got, c->want[k]) != 0) {
                print_error("\"%s\" in %s after %s, fire %d: got %s, want %s\n", c->expr, c->tz,
                            c->after, k + 1, got, c->want[k]);
                failures++;
                break;
            }
            t = next;
        }
    }
    assert_int_equal(failures, 0);
}

static void
cron_next_none(void **state)
{
    (void)state;
    struct cron_expr e;
    int64_t next = 42;
    assert_int_equal(cron_parse("0 0 30 2 *", &e, NULL, 0), 0);
    assert_int_equal(cron_next(&e, "UTC", iso("2026-01-01T00:00:00Z"), &next), -1);
    assert_int_equal(cron_parse("0 0 31 4,6,9,11 *", &e, NULL, 0), 0);
    assert_int_equal(cron_next(&e, "America/Chicago", iso("2026-01-01T00:00:00Z"), &next), -1);
    assert_int_equal(next, 42);
    assert_int_equal(cron_parse("* * * * *", &e, NULL, 0), 0);
    assert_int_equal(cron_next(&e, "Mars/Olympus", 0, &next), -1);
    assert_int_equal(cron_next(&e, NULL, 0, &next), -1);
}

/* Searching years ahead must walk months and days, not minutes. */
static void
cron_next_is_fast(void **state)
{
    (void)state;
    struct cron_expr e;
    assert_int_equal(cron_parse("0 0 29 2 *", &e, NULL, 0), 0);
    int64_t start = now_mono_ms(), next;
    for (int i = 0; i < 200; i++)
        assert_int_equal(cron_next(&e, "America/Chicago", iso("2096-03-01T00:00:00Z"), &next), 0);
    assert_true(now_mono_ms() - start < 5000);
    assert_int_equal(cron_parse("0 0 30 2 *", &e, NULL, 0), 0);
    start = now_mono_ms();
    for (int i = 0; i < 200; i++)
        assert_int_equal(cron_next(&e, "UTC", 0, &next), -1);
    assert_true(now_mono_ms() - start < 5000);
}

struct parse_case {
    const char *expr;
    struct cron_expr want;
};

#define ALL_MINUTES UINT64_C(0x0FFFFFFFFFFFFFFF)
#define ALL_HOURS UINT32_C(0x00FFFFFF)
#define ALL_MDAYS UINT32_C(0xFFFFFFFE)
#define ALL_MONTHS UINT16_C(0x1FFE)
#define ALL_WDAYS UINT8_C(0x7F)

static bool
expr_equal(const struct cron_expr *a, const struct cron_expr *b)
{
    return a->minutes == b->minutes && a->hours == b->hours && a->mdays == b->mdays &&
           a->months == b->months && a->wdays == b->wdays && a->mday_star == b->mday_star &&
           a->wday_star == b->wday_star;
}

static void
cron_parse_fields(void **state)
{
    (void)state;
    const struct parse_case cases[] = {
        {"* * * * *", {ALL_MINUTES, ALL_HOURS, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, true, true}},
        {"5/10 8-18/2 * * *",
         {(1ULL << 5) | (1ULL << 15) | (1ULL << 25) | (1ULL << 35) | (1ULL << 45) | (1ULL << 55),
          (1u << 8) | (1u << 10) | (1u << 12) | (1u << 14) | (1u << 16) | (1u << 18), ALL_MDAYS,
          ALL_MONTHS, ALL_WDAYS, true, true}},
        {"*/15 0 1,15 * *",
         {(1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45), 1, (1u << 1) | (1u << 15),
          ALL_MONTHS, ALL_WDAYS, false, true}},
        {"0 0 * * 7", {1, 1, ALL_MDAYS, ALL_MONTHS, 1, true, false}},
        {"0 0 * * sun", {1, 1, ALL_MDAYS, ALL_MONTHS, 1, true, false}},
        {"0 0 * * 0,7", {1, 1, ALL_MDAYS, ALL_MONTHS, 1, true, false}},
        {"0 0 * * Mon-FRI", {1, 1, ALL_MDAYS, ALL_MONTHS, 0x3E, true, false}},
        {"0 0 * * 5-7", {1, 1, ALL_MDAYS, ALL_MONTHS, 0x61, true, false}},
        {"0 0 * * */2", {1, 1, ALL_MDAYS, ALL_MONTHS, 0x55, true, true}},
        {"0 0 1 jan,Jul,DEC *",
         {1, 1, 1u << 1, (1u << 1) | (1u << 7) | (1u << 12), ALL_WDAYS, false, true}},
        {"0 0 */2 * *", {1, 1, 0xAAAAAAAA, ALL_MONTHS, ALL_WDAYS, true, true}},
        {"0 0 1-31/2 * *", {1, 1, 0xAAAAAAAA, ALL_MONTHS, ALL_WDAYS, false, true}},
        {" \t59 23 31 12 6 ", {1ULL << 59, 1u << 23, 1u << 31, 1u << 12, 1u << 6, false, false}},
        {"@yearly", {1, 1, 1u << 1, 1u << 1, ALL_WDAYS, false, true}},
        {"@annually", {1, 1, 1u << 1, 1u << 1, ALL_WDAYS, false, true}},
        {"@monthly", {1, 1, 1u << 1, ALL_MONTHS, ALL_WDAYS, false, true}},
        {"@weekly", {1, 1, ALL_MDAYS, ALL_MONTHS, 1, true, false}},
        {"@daily", {1, 1, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, true, true}},
        {"@midnight", {1, 1, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, true, true}},
        {"@HOURLY", {1, ALL_HOURS, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, true, true}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cron_expr e;
        char err[128] = "";
        const struct cron_expr *w = &cases[i].want;
        int rc = cron_parse(cases[i].expr, &e, err, sizeof(err));
        if (rc != 0 || !expr_equal(&e, w))
            print_error("\"%s\": %s\n", cases[i].expr, rc != 0 ? err : "wrong fields");
        assert_int_equal(rc, 0);
        assert_int_equal(e.minutes, w->minutes);
        assert_int_equal(e.hours, w->hours);
        assert_int_equal(e.mdays, w->mdays);
        assert_int_equal(e.months, w->months);
        assert_int_equal(e.wdays, w->wdays);
        assert_int_equal(e.mday_star, w->mday_star);
        assert_int_equal(e.wday_star, w->wday_star);
    }
}

static void
cron_parse_errors(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"", "expected 5 fields, got 0"},
        {"0 2 * *", "expected 5 fields, got 4"},
        {"0 0 2 * * *", "expected 5 fields, got 6"},
        {"@often", "unknown macro \"@often\""},
        {"@reboot", "unknown macro \"@reboot\""},
        {"@daily 5", "macro \"@daily\" must be the whole expression"},
        {"x * * * *", "field 1 (minute): \"x\" is not a number or name"},
        {"60 * * * *", "field 1 (minute): \"60\" is outside 0-59"},
        {"0 24 * * *", "field 2 (hour): \"24\" is outside 0-23"},
        {"0 0 32 * *", "field 3 (day-of-month): \"32\" is outside 1-31"},
        {"0 0 0 * *", "field 3 (day-of-month): \"0\" is outside 1-31"},
        {"0 0 * 13 *", "field 4 (month): \"13\" is outside 1-12"},
        {"0 0 * 0 *", "field 4 (month): \"0\" is outside 1-12"},
        {"0 0 * * 8", "field 5 (day-of-week): \"8\" is outside 0-7"},
        {"99999999999 * * * *", "field 1 (minute): \"99999999999\" is outside 0-59"},
        {"0 0 * JANUARY *", "field 4 (month): \"JANUARY\" is not a number or name"},
        {"0 0 * * JAN", "field 5 (day-of-week): \"JAN\" is not a number or name"},
        {"MON * * * *", "field 1 (minute): \"MON\" is not a number or name"},
        {"-1 * * * *", "field 1 (minute): range \"-1\" is incomplete"},
        {"0 0 * * MON-", "field 5 (day-of-week): range \"MON-\" is incomplete"},
        {"0 20-8 * * *", "field 2 (hour): range \"20-8\" has start greater than end"},
        {"0 0 * DEC-JAN *", "field 4 (month): range \"DEC-JAN\" has start greater than end"},
        {"0 0 * * 1-2-3", "field 5 (day-of-week): \"2-3\" is not a number or name"},
        {"0 0 * * 1-9", "field 5 (day-of-week): \"9\" is outside 0-7"},
        {"*-5 * * * *", "field 1 (minute): \"*-5\" is not a number or name"},
        {"** * * * *", "field 1 (minute): \"**\" is not a number or name"},
        {"0 */0 * * *", "field 2 (hour): step \"0\" must be positive"},
        {"*/ * * * *", "field 1 (minute): step \"\" is not a number"},
        {"*/x * * * *", "field 1 (minute): step \"x\" is not a number"},
        {"*/-1 * * * *", "field 1 (minute): step \"-1\" is not a number"},
        {"1/2/3 * * * *", "field 1 (minute): step \"2/3\" is not a number"},
        {"*/60 * * * *", "field 1 (minute): step \"60\" is outside 1-59"},
        {"0 0 * * */7", "field 5 (day-of-week): step \"7\" is outside 1-6"},
        {"1,,2 * * * *", "field 1 (minute): empty list item"},
        {"1, * * * *", "field 1 (minute): empty list item"},
        {"0 0 ,1 * *", "field 3 (day-of-month): empty list item"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cron_expr e;
        memset(&e, 0x5A, sizeof(e));
        struct cron_expr before = e;
        char err[128] = "";
        int rc = cron_parse(cases[i][0], &e, err, sizeof(err));
        if (rc != -1 || strcmp(err, cases[i][1]) != 0)
            print_error("\"%s\": rc %d, \"%s\"\n", cases[i][0], rc, err);
        assert_int_equal(rc, -1);
        assert_string_equal(err, cases[i][1]);
        assert_memory_equal(&e, &before, sizeof(e));
    }
    /* A short buffer truncates, and NULL is allowed. */
    struct cron_expr e;
    char small[8];
    assert_int_equal(cron_parse("0 0 32 * *", &e, small, sizeof(small)), -1);
    assert_string_equal(small, "field 3");
    assert_int_equal(cron_parse("0 0 32 * *", &e, NULL, 0), -1);
}

static void
cron_tz_valid_names(void **state)
{
    (void)state;
    assert_true(cron_tz_valid("America/Chicago"));
    assert_true(cron_tz_valid("Australia/Lord_Howe"));
    assert_true(cron_tz_valid("UTC"));
    assert_true(cron_tz_valid("Etc/GMT+5"));
    assert_false(cron_tz_valid("Mars/Olympus"));
    assert_false(cron_tz_valid("../etc/passwd"));
    assert_false(cron_tz_valid("America/../../../etc/passwd"));
    assert_false(cron_tz_valid("/etc/localtime"));
    /* The tz database's link to this host's /etc/localtime: its zone differs from host to host,
     * so two schedulers would fire one schedule at two instants. */
    assert_false(cron_tz_valid("localtime"));
    char err[160];
    assert_null(tzone_get("localtime", err, sizeof(err)));
    assert_non_null(strstr(err, "differ"));
    assert_false(cron_tz_valid("America"));  /* a directory */
    assert_false(cron_tz_valid("zone.tab")); /* a regular file, but not a zone */
    assert_false(cron_tz_valid("America/Chicago "));
    assert_false(cron_tz_valid(""));
    assert_false(cron_tz_valid(NULL));
}

static void
cron_format_local_offsets(void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"2026-03-08T08:00:00Z", "America/Chicago", "2026-03-08T03:00:00-05:00"},
        {"2026-03-08T07:59:00Z", "America/Chicago", "2026-03-08T01:59:00-06:00"},
        {"2026-11-01T06:30:00Z", "America/Chicago", "2026-11-01T01:30:00-05:00"},
        {"2026-11-01T07:30:00Z", "America/Chicago", "2026-11-01T01:30:00-06:00"},
        {"2026-04-04T14:59:00Z", "Australia/Lord_Howe", "2026-04-05T01:59:00+11:00"},
        {"2026-04-04T15:00:00Z", "Australia/Lord_Howe", "2026-04-05T01:30:00+10:30"},
        {"2026-10-03T15:30:00Z", "Australia/Lord_Howe", "2026-10-04T02:30:00+11:00"},
        {"2026-01-01T00:00:00Z", "UTC", "2026-01-01T00:00:00+00:00"},
        {"2026-01-01T00:00:00Z", "Mars/Olympus", "2026-01-01T00:00:00+00:00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        cron_format_local(iso(cases[i][0]), cases[i][1], out, sizeof(out));
        assert_string_equal(out, cases[i][2]);
    }
    char small[5];
    cron_format_local(iso("2026-03-08T08:00:00Z"), "America/Chicago", small, sizeof(small));
    assert_string_equal(small, "2026");
}

/* The caller's TZ, set or unset, is put back. */
static void
cron_tz_restored(void **state)
{
    (void)state;
    struct cron_expr e;
    int64_t next;
    char out[64];
    assert_int_equal(cron_parse("0 2 * * *", &e, NULL, 0), 0);

    assert_int_equal(setenv("TZ", "Asia/Tokyo", 1), 0);
    tzset();
    assert_int_equal(cron_next(&e, "America/Chicago", 0, &next), 0);
    cron_format_local(0, "Australia/Lord_Howe", out, sizeof(out));
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    time_t t0 = 0;
    struct tm tm;
    assert_non_null(localtime_r(&t0, &tm));
    assert_int_equal(tm.tm_hour, 9); /* Tokyo is +09:00 */

    assert_int_equal(unsetenv("TZ"), 0);
    tzset();
    assert_int_equal(cron_next(&e, "America/Chicago", 0, &next), 0);
    assert_null(getenv("TZ"));
}

struct thread_arg {
    const char *tz;
    const char *after;
    const char *want;
    int failures;
};

static void *
cron_thread(void *p)
{
    struct thread_arg *a = p;
    struct cron_expr e;
    if (cron_parse("0 2 * * *", &e, NULL, 0) != 0) {
        a->failures++;
        return NULL;
    }
    int64_t after = iso(a->after), want = iso(a->want);
    for (int i = 0; i < 300; i++) {
        int64_t next;
        if (cron_next(&e, a->tz, after, &next) != 0 || next != want)
            a->failures++;
    }
    return NULL;
}

/* Threads using different zones at once each see their own zone. */
static void
cron_next_threads(void **state)
{
    (void)state;
    struct thread_arg args[4] = {
        {"America/Chicago", "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z", 0},
        {"Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z", 0},
        {"UTC", "2026-03-07T12:00:00Z", "2026-03-08T02:00:00Z", 0},
        {"Asia/Tokyo", "2026-03-07T12:00:00Z", "2026-03-07T17:00:00Z", 0},
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, cron_thread, &args[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cron_parse_fields),         cmocka_unit_test(cron_parse_errors),
        cmocka_unit_test(cron_next_table),           cmocka_unit_test(cron_next_none),
        cmocka_unit_test(cron_next_is_fast),         cmocka_unit_test(cron_tz_valid_names),
        cmocka_unit_test(cron_format_local_offsets), cmocka_unit_test(cron_tz_restored),
        cmocka_unit_test(cron_next_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
