/* Unit tests for cronjob_plan, the pure decision of the cron firing step: which fire time a
 * tick makes a job for, what it skips after downtime, and that ticks walking through DST
 * nights fire each matching time exactly once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "cronjob_fire.h"

/* "2026-03-08T08:00:00Z" to UTC seconds, through libc's timegm. */
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

static struct cron_expr
expr(const char *s)
{
    struct cron_expr e;
    assert_int_equal(cron_parse(s, &e, NULL, 0), 0);
    return e;
}

/* A tick one second after a fire makes that fire, and the next one is the following minute. */
static void
plan_on_time(void **state)
{
    (void)state;
    struct cron_expr e = expr("* * * * *");
    struct cronjob_plan p;
    int64_t f = iso("2026-05-01T10:00:00Z");
    assert_int_equal(cronjob_plan(&e, "UTC", f, f + 1, 3600, &p), 1);
    assert_int_equal(p.fire, f);
    assert_int_equal(p.next, f + 60);
    assert_int_equal(p.skipped_first, 0);
    /* Exactly at the fire time too. */
    assert_int_equal(cronjob_plan(&e, "UTC", f, f, 3600, &p), 1);
    assert_int_equal(p.fire, f);
}

/* Nothing is due before the first unhandled fire time. */
static void
plan_not_due(void **state)
{
    (void)state;
    struct cron_expr e = expr("0 2 * * *");
    struct cronjob_plan p;
    int64_t f = iso("2026-05-01T07:00:00Z");
    assert_int_equal(cronjob_plan(&e, "America/Chicago", f, f - 1, 3600, &p), 0);
    assert_int_equal(p.fire, 0);
    assert_int_equal(p.next, f);
    assert_int_equal(p.skipped_first, 0);
}

/* Three hours down: one catch-up fire, the latest, not 180. */
static void
plan_downtime_latest(void **state)
{
    (void)state;
    struct cron_expr e = expr("* * * * *");
    struct cronjob_plan p;
    int64_t first = iso("2026-05-01T10:01:00Z"), now = iso("2026-05-01T13:00:30Z");
    assert_int_equal(cronjob_plan(&e, "America/Chicago", first, now, 3600, &p), 1);
    assert_int_equal(p.fire, iso("2026-05-01T13:00:00Z"));
    assert_int_equal(p.next, iso("2026-05-01T13:01:00Z"));
    assert_int_equal(p.skipped_first, first);
}

/* A daily job missed by more than the window is skipped; within the window it catches up. */
static void
plan_downtime_window(void **state)
{
    (void)state;
    struct cron_expr e = expr("0 2 * * *");
    struct cronjob_plan p;
    /* 02:00 CST is 08:00Z in January. */
    int64_t first = iso("2026-01-10T08:00:00Z");
    assert_int_equal(
        cronjob_plan(&e, "America/Chicago", first, iso("2026-01-12T12:00:00Z"), 3600, &p), 0);
    assert_int_equal(p.fire, 0);
    assert_int_equal(p.skipped_first, first);
    assert_int_equal(p.next, iso("2026-01-13T08:00:00Z"));
    /* 30 minutes late, window an hour: the 12th's 02:00 fires, the 10th and 11th are skipped. */
    assert_int_equal(
        cronjob_plan(&e, "America/Chicago", first, iso("2026-01-12T08:30:00Z"), 3600, &p), 1);
    assert_int_equal(p.fire, iso("2026-01-12T08:00:00Z"));
    assert_int_equal(p.skipped_first, first);
    assert_int_equal(p.next, iso("2026-01-13T08:00:00Z"));
    /* The window's edge is inclusive: exactly window_s old still fires. */
    assert_int_equal(
        cronjob_plan(&e, "America/Chicago", first, iso("2026-01-10T09:00:00Z"), 3600, &p), 1);
    assert_int_equal(p.fire, first);
    assert_int_equal(
        cronjob_plan(&e, "America/Chicago", first, iso("2026-01-10T09:00:01Z"), 3600, &p), 0);
    assert_int_equal(p.skipped_first, first);
}

/* catchup = none is a window of the current minute. */
static void
plan_catchup_none(void **state)
{
    (void)state;
    struct cron_expr e = expr("*/5 * * * *");
    struct cronjob_plan p;
    int64_t first = iso("2026-05-01T10:05:00Z");
    assert_int_equal(cronjob_plan(&e, "UTC", first, first + 59, CRONJOB_CURRENT_MINUTE_S, &p), 1);
    assert_int_equal(p.fire, first);
    assert_int_equal(cronjob_plan(&e, "UTC", first, first + 60, CRONJOB_CURRENT_MINUTE_S, &p), 0);
    assert_int_equal(p.skipped_first, first);
    assert_int_equal(p.next, first + 300);
    /* Down for hours, back within the current minute of a fire: that fire only. */
    int64_t now = iso("2026-05-01T13:00:20Z");
    assert_int_equal(cronjob_plan(&e, "UTC", first, now, CRONJOB_CURRENT_MINUTE_S, &p), 1);
    assert_int_equal(p.fire, iso("2026-05-01T13:00:00Z"));
    assert_int_equal(p.skipped_first, first);
}

/* A year of downtime is found by search, not by walking every missed minute. */
static void
plan_long_downtime_is_fast(void **state)
{
    (void)state;
    struct cron_expr e = expr("* * * * *");
    struct cronjob_plan p;
    int64_t first = iso("2025-05-01T10:01:00Z"), now = iso("2026-05-01T10:00:42Z");
    clock_t c0 = clock();
    assert_int_equal(cronjob_plan(&e, "America/Chicago", first, now, 31536000, &p), 1);
    assert_int_equal(p.fire, iso("2026-05-01T10:00:00Z"));
    assert_true((double)(clock() - c0) / CLOCKS_PER_SEC < 0.5);
}

struct walk_case {
    const char *expr;
    const char *tz;
    const char *from, *to;
    const char *want[24];
};

/*
 * Ticks every `step` seconds through a DST night, handling fires as the step does (first =
 * next after each plan); the fires must be exactly the hand-computed list. America/Chicago:
 * 2026-03-08 02:00 CST -> 03:00 CDT at 08:00Z; 2026-11-01 02:00 CDT -> 01:00 CST at 07:00Z.
 * Australia/Lord_Howe (30-minute shift): 2026-10-04 02:00 +10:30 -> 02:30 +11 at 15:30Z on the
 * 3rd; 2026-04-05 02:00 +11 -> 01:30 +10:30 at 15:00Z on the 4th.
 */
static const struct walk_case walk_cases[] = {
    {"30 2 * * *",
     "America/Chicago",
     "2026-03-08T05:00:00Z",
     "2026-03-08T11:00:00Z",
     {"2026-03-08T08:00:00Z"}},
    {"0 2 * * *",
     "America/Chicago",
     "2026-03-08T05:00:00Z",
     "2026-03-08T11:00:00Z",
     {"2026-03-08T08:00:00Z"}},
    {"30 1 * * *",
     "America/Chicago",
     "2026-11-01T04:00:00Z",
     "2026-11-01T10:00:00Z",
     {"2026-11-01T06:30:00Z"}},
    {"0 2 * * *",
     "America/Chicago",
     "2026-11-01T04:00:00Z",
     "2026-11-01T10:00:00Z",
     {"2026-11-01T08:00:00Z"}},
    {"*/20 * * * *",
     "America/Chicago",
     "2026-03-08T07:00:00Z",
     "2026-03-08T09:00:00Z",
     {"2026-03-08T07:00:00Z", "2026-03-08T07:20:00Z", "2026-03-08T07:40:00Z",
      "2026-03-08T08:00:00Z", "2026-03-08T08:20:00Z", "2026-03-08T08:40:00Z",
      "2026-03-08T09:00:00Z"}},
    {"*/20 * * * *",
     "America/Chicago",
     "2026-11-01T06:00:00Z",
     "2026-11-01T08:40:00Z",
     {"2026-11-01T06:00:00Z", "2026-11-01T06:20:00Z", "2026-11-01T06:40:00Z",
      "2026-11-01T08:00:00Z", "2026-11-01T08:20:00Z", "2026-11-01T08:40:00Z"}},
    /* Lord Howe spring: 02:00 and 02:15 are skipped and fire once at 02:30 +11. */
    {"0,15,30 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T14:00:00Z",
     "2026-10-03T17:00:00Z",
     {"2026-10-03T15:30:00Z"}},
    /* Lord Howe autumn: 01:30 and 01:45 happen twice and fire the first time only. */
    {"30,45 1 * * *",
     "Australia/Lord_Howe",
     "2026-04-04T13:00:00Z",
     "2026-04-04T17:00:00Z",
     {"2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z"}},
};

static void
walk(const struct walk_case *c, int step, int offset)
{
    struct cron_expr e = expr(c->expr);
    int64_t from = iso(c->from), to = iso(c->to);
    int64_t first;
    assert_int_equal(cron_next(&e, c->tz, from - 1, &first), 0);
    int64_t got[64];
    int n = 0;
    /* The last tick is the first at or past `to`; no case has a fire soon after `to`. */
    for (int64_t now = from + offset; now < to + step; now += step) {
        struct cronjob_plan p;
        int k = cronjob_plan(&e, c->tz, first, now, 3600, &p);
        assert_true(k >= 0);
        assert_int_equal(p.skipped_first, 0);
        if (k == 1) {
            assert_true(n < 64);
            got[n++] = p.fire;
        }
        first = p.next;
    }
    int want_n = 0;
    while (want_n < 24 && c->want[want_n])
        want_n++;
    if (n != want_n)
        print_error("%s in %s, step %d: %d fires, want %d\n", c->expr, c->tz, step, n, want_n);
    assert_int_equal(n, want_n);
    for (int i = 0; i < n; i++)
        assert_int_equal(got[i], iso(c->want[i]));
}

static void
plan_walk_dst_nights(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(walk_cases) / sizeof(walk_cases[0]); i++) {
        walk(&walk_cases[i], 60, 0);
        walk(&walk_cases[i], 60, 59);
        walk(&walk_cases[i], 17, 3);
        walk(&walk_cases[i], 1, 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_on_time),         cmocka_unit_test(plan_not_due),
        cmocka_unit_test(plan_downtime_latest), cmocka_unit_test(plan_downtime_window),
        cmocka_unit_test(plan_catchup_none),    cmocka_unit_test(plan_long_downtime_is_fast),
        cmocka_unit_test(plan_walk_dst_nights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
