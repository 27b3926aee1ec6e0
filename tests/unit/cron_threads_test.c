/* Unit test: zone conversions run from several threads at once (the producer's HTTP threads all
 * reach cron.c through /api/cron) give the right answer in every thread, and leave the
 * process's own zone alone, which other threads keep using through localtime_r meanwhile.
 * Expected values come from Python's zoneinfo, not from the code under test. */
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

#define THREADS 6
#define ROUNDS 150

/* "2026-03-08T08:00:00Z" to UTC seconds, through libc's timegm rather than the module. */
static int64_t
iso(const char *s)
{
    struct tm tm = {0};
    if (sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        abort();
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* UTC instant, zone, local time with offset: DST edges, a half-hour zone, a zone whose DST
 * moves by 30 minutes, local mean time before 1900 (v2 64-bit data) and years past the
 * transition table (the TZif footer rule). */
static const char *const formats[][3] = {
    {"2026-03-29T00:59:59Z", "Europe/Paris", "2026-03-29T01:59:59+01:00"},
    {"2026-03-29T01:00:00Z", "Europe/Paris", "2026-03-29T03:00:00+02:00"},
    {"2026-10-25T00:30:00Z", "Europe/Paris", "2026-10-25T02:30:00+02:00"},
    {"2026-10-25T01:30:00Z", "Europe/Paris", "2026-10-25T02:30:00+01:00"},
    {"2026-03-08T06:59:59Z", "America/New_York", "2026-03-08T01:59:59-05:00"},
    {"2026-03-08T07:00:00Z", "America/New_York", "2026-03-08T03:00:00-04:00"},
    {"2026-11-01T05:30:00Z", "America/New_York", "2026-11-01T01:30:00-04:00"},
    {"2026-11-01T06:30:00Z", "America/New_York", "2026-11-01T01:30:00-05:00"},
    {"2026-04-04T14:59:00Z", "Australia/Lord_Howe", "2026-04-05T01:59:00+11:00"},
    {"2026-04-04T15:00:00Z", "Australia/Lord_Howe", "2026-04-05T01:30:00+10:30"},
    {"2026-10-03T15:29:00Z", "Australia/Lord_Howe", "2026-10-04T01:59:00+10:30"},
    {"2026-10-03T15:30:00Z", "Australia/Lord_Howe", "2026-10-04T02:30:00+11:00"},
    {"2026-06-01T00:00:00Z", "Asia/Kolkata", "2026-06-01T05:30:00+05:30"},
    {"1945-01-01T00:00:00Z", "Asia/Kolkata", "1945-01-01T06:30:00+06:30"},
    {"2026-06-01T00:00:00Z", "UTC", "2026-06-01T00:00:00+00:00"},
    {"2090-07-01T12:00:00Z", "Europe/Paris", "2090-07-01T14:00:00+02:00"},
    {"2090-01-01T12:00:00Z", "America/New_York", "2090-01-01T07:00:00-05:00"},
    {"2090-03-26T00:59:59Z", "Europe/Paris", "2090-03-26T01:59:59+01:00"},
    {"2090-03-26T01:00:00Z", "Europe/Paris", "2090-03-26T03:00:00+02:00"},
    {"2090-10-07T16:00:00Z", "Australia/Lord_Howe", "2090-10-08T03:00:00+11:00"},
    {"1900-01-01T00:00:00Z", "Europe/Paris", "1900-01-01T00:09:21+00:09:21"},
    {"1850-01-01T00:00:00Z", "America/New_York", "1849-12-31T19:03:58-04:56:02"},
};

/* Zone, schedule, after, first fire after it: skipped local times fire right after the gap,
 * repeated ones fire once (the first time), in 2026 and past the table in 2090. */
static const char *const nexts[][4] = {
    {"Europe/Paris", "30 2 * * *", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
    {"Europe/Paris", "30 2 * * *", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
    {"Europe/Paris", "30 2 * * *", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
    {"America/New_York", "30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
    {"America/New_York", "30 1 * * *", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
    {"America/New_York", "30 1 * * *", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
    {"Australia/Lord_Howe", "15 2 * * *", "2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z"},
    {"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T00:00:00Z", "2026-04-04T14:45:00Z"},
    {"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"},
    {"Asia/Kolkata", "0 2 * * *", "2026-03-07T12:00:00Z", "2026-03-07T20:30:00Z"},
    {"UTC", "0 2 * * *", "2026-03-07T12:00:00Z", "2026-03-08T02:00:00Z"},
    {"Europe/Paris", "30 2 * * *", "2090-03-25T12:00:00Z", "2090-03-26T01:00:00Z"},
    {"America/New_York", "30 2 * * *", "2090-03-11T12:00:00Z", "2090-03-12T07:00:00Z"},
    {"Australia/Lord_Howe", "15 2 * * *", "2090-09-30T00:00:00Z", "2090-09-30T15:30:00Z"},
    {"Australia/Lord_Howe", "45 1 * * *", "2090-04-01T00:00:00Z", "2090-04-01T14:45:00Z"},
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))
#define NNEXTS (sizeof(nexts) / sizeof(nexts[0]))

/* cmocka is not thread-safe: threads count failures and keep the first message. */
struct worker {
    int index;
    int failures;
    char first[256];
};

static void
worker_fail(struct worker *w, const char *what, const char *want, const char *got)
{
    if (w->failures++ == 0)
        snprintf(w->first, sizeof(w->first), "%s: want %s, got %s", what, want, got);
}

/* The process runs in Asia/Tokyo (+09:00, no DST): 2026-01-01T00:00:00Z is 09:00 there. */
static void
worker_check_own_zone(struct worker *w)
{
    time_t t = (time_t)iso("2026-01-01T00:00:00Z");
    struct tm tm;
    char got[32];
    if (localtime_r(&t, &tm) == NULL || tm.tm_hour != 9 || tm.tm_gmtoff != 9 * 3600) {
        snprintf(got, sizeof(got), "%02d:%02d %+ld", tm.tm_hour, tm.tm_min, (long)tm.tm_gmtoff);
        worker_fail(w, "localtime_r in the process zone", "09:00 +32400", got);
    }
}

static void
worker_check_format(struct worker *w, size_t i)
{
    char out[64];
    cron_format_local(iso(formats[i][0]), formats[i][1], out, sizeof(out));
    if (strcmp(out, formats[i][2]) != 0) {
        char what[96];
        snprintf(what, sizeof(what), "%s in %s", formats[i][0], formats[i][1]);
        worker_fail(w, what, formats[i][2], out);
    }
}

static void
worker_check_next(struct worker *w, size_t i)
{
    struct cron_expr e;
    int64_t next = 0;
    char got[32] = "error", what[128];
    if (cron_parse(nexts[i][1], &e, NULL, 0) == 0 &&
        cron_next(&e, nexts[i][0], iso(nexts[i][2]), &next) == 0 && next == iso(nexts[i][3]))
        return;
    snprintf(got, sizeof(got), "%lld", (long long)next);
    snprintf(what, sizeof(what), "\"%s\" in %s after %s (as unix time)", nexts[i][1], nexts[i][0],
             nexts[i][2]);
    char want[32];
    snprintf(want, sizeof(want), "%lld", (long long)iso(nexts[i][3]));
    worker_fail(w, what, want, got);
}

/* Each thread starts at a different case so that different zones run at the same moment. */
static void *
worker_run(void *p)
{
    struct worker *w = p;
    for (int r = 0; r < ROUNDS; r++) {
        size_t k = (size_t)(w->index + r);
        worker_check_format(w, k % NFORMATS);
        worker_check_own_zone(w);
        worker_check_next(w, k % NNEXTS);
        worker_check_own_zone(w);
    }
    return NULL;
}

static void
cron_threads_zones(void **state)
{
    (void)state;
    struct worker ws[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&ws[i], 0, sizeof(ws[i]));
        ws[i].index = i * 5;
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &ws[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (ws[i].failures)
            print_error("thread %d: %d wrong answers; first: %s\n", i, ws[i].failures, ws[i].first);
        failures += ws[i].failures;
    }
    assert_int_equal(failures, 0);
}

/* The same answers from one thread: tells a wrong table apart from a thread-safety bug. */
static void
cron_threads_single(void **state)
{
    (void)state;
    struct worker w = {0};
    for (size_t i = 0; i < NFORMATS; i++)
        worker_check_format(&w, i);
    for (size_t i = 0; i < NNEXTS; i++)
        worker_check_next(&w, i);
    worker_check_own_zone(&w);
    if (w.failures)
        print_error("%d wrong answers; first: %s\n", w.failures, w.first);
    assert_int_equal(w.failures, 0);
}

int
main(void)
{
    /* Before any thread starts: the zone the rest of the process (logs, libraries) uses. */
    if (setenv("TZ", "Asia/Tokyo", 1) != 0)
        return 1;
    tzset();
    const struct CMUnitTest tests[] = {
        /* Threads first, so that they also load the zones concurrently. */
        cmocka_unit_test(cron_threads_zones),
        cmocka_unit_test(cron_threads_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
