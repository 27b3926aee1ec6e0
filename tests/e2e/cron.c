/* Integration tests of cron firing against real MariaDB and Redis: exactly once with several
 * schedulers, DST nights, downtime catch-up, disable/remove, the built-ins of migrate, and the
 * `jobfleet cron` commands. Time is simulated: the firing step takes now as an argument, and
 * the CLI reads [scheduler] test_clock_file, so days and DST nights pass in seconds. */
#include "cronjob_fire.h"
#include "cronjob.h"
#include "tcron.h"
#include "metrics.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t
distinct_fires_of(struct tenv *t, int64_t cron_id)
{
    return t_sql_int(t, -1, "SELECT COUNT(DISTINCT cron_fire_time) FROM jobs WHERE cron_job_id = ?",
                     DB_P(DBI(cron_id)));
}

/* One simulated scheduler: its own connections, ticking now = from + k * step + skew. */
struct sim {
    struct tenv *t;
    int64_t from, step, skew;
    int ticks;
    pthread_barrier_t *barrier; /* lockstep when not NULL */
    int fired, errors;
    char err[256];
};

static void *
sim_thread(void *arg)
{
    struct sim *s = arg;
    struct db *db = db_new(&s->t->cfg.mysql);
    struct rq *rq = rq_new(&s->t->cfg.redis);
    if (db_connect(db) < 0 || rq_connect(rq) < 0) {
        snprintf(s->err, sizeof(s->err), "connect: %s", db_errstr(db));
        s->errors++;
    }
    for (int k = 0; k < s->ticks; k++) {
        if (s->barrier)
            pthread_barrier_wait(s->barrier);
        int f = 0;
        if (cronjob_fire_due(db, rq, &s->t->cfg, s->from + k * s->step + s->skew, &f) < 0) {
            snprintf(s->err, sizeof(s->err), "tick %d: %s", k, db_errstr(db));
            s->errors++;
        }
        s->fired += f;
    }
    db_free(db);
    rq_free(rq);
    return NULL;
}

/* Runs n simulated schedulers at once; returns the jobs they made together. */
static int
run_schedulers(struct tenv *t, int n, int64_t from, int64_t step, int ticks, const int *skew,
               bool lockstep)
{
    struct sim sims[8];
    pthread_t th[8];
    pthread_barrier_t barrier;
    CHECK(n <= 8, "too many schedulers");
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        sims[i] = (struct sim){.t = t,
                               .from = from,
                               .step = step,
                               .skew = skew ? skew[i] : 0,
                               .ticks = ticks,
                               .barrier = lockstep ? &barrier : NULL};
        CHECK(pthread_create(&th[i], NULL, sim_thread, &sims[i]) == 0, "pthread_create");
    }
    int fired = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        CHECK(sims[i].errors == 0, "scheduler %d: %s", i, sims[i].err);
        fired += sims[i].fired;
    }
    pthread_barrier_destroy(&barrier);
    return fired;
}

/* Two schedulers run the cron step at the same instants for 100 simulated minutes of
 * "* * * * *": exactly 100 jobs, one per minute. */
static void
test_two_schedulers_exactly_once(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every-minute", "* * * * *", NULL, NULL);
    int fired = run_schedulers(t, 2, t0, 60, 100, NULL, true);
    CHECK(t_cron_jobs(t, id) == 100, "%lld jobs, want 100", (long long)t_cron_jobs(t, id));
    CHECK(fired == 100, "schedulers reported %d new jobs, want 100", fired);
    CHECK(distinct_fires_of(t, id) == 100, "fire times repeat");
    char *first =
        t_sql_str(t, "SELECT MIN(cron_fire_time) FROM jobs WHERE cron_job_id = ?", DB_P(DBI(id)));
    char *last =
        t_sql_str(t, "SELECT MAX(cron_fire_time) FROM jobs WHERE cron_job_id = ?", DB_P(DBI(id)));
    CHECK(strcmp(first, "2026-05-01 10:00:00") == 0, "first fire %s", first);
    CHECK(strcmp(last, "2026-05-01 11:39:00") == 0, "last fire %s", last);
    free(first);
    free(last);
    char *lf = t_sql_str(t, "SELECT dt_last_fire FROM cron_jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(lf, "2026-05-01 11:39:00") == 0, "dt_last_fire %s", lf);
    free(lf);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM cron_jobs c JOIN jobs j ON j.id = c.last_job_id "
                    "WHERE c.id = ? AND j.cron_fire_time = '2026-05-01 11:39:00'",
                    DB_P(DBI(id))) == 1,
          "last_job_id is the last fire's job");
    /* Every job is queued and in Redis once. */
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE cron_job_id = ? AND state = 'queued'",
                    DB_P(DBI(id))) == 100,
          "jobs queued");
    CHECK(rq_depth(t->rq, "default") == 100, "Redis holds %lld IDs, want 100",
          (long long)rq_depth(t->rq, "default"));
}

/* Three schedulers with skewed clocks, ticking every 20 s without lockstep: still one job per
 * minute. */
static void
test_skewed_schedulers_exactly_once(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every-minute", "* * * * *", NULL, NULL);
    int64_t id5 = t_cron_add_at(t, t0 - 30, "every-five", "*/5 * * * *", "Asia/Kolkata", NULL);
    const int skew[] = {0, 7, 13};
    run_schedulers(t, 3, t0, 20, 300, skew, false);
    CHECK(t_cron_jobs(t, id) == 100, "%lld jobs, want 100", (long long)t_cron_jobs(t, id));
    CHECK(distinct_fires_of(t, id) == 100, "fire times repeat");
    CHECK(t_cron_jobs(t, id5) == 20, "%lld jobs of */5, want 20", (long long)t_cron_jobs(t, id5));
}

struct want_fires {
    const char *name, *schedule, *tz;
    const char *utc[24];
};

static void
check_fires(struct tenv *t, int64_t id, const struct want_fires *w)
{
    struct db_rows *r = db_query(t->db,
                                 "SELECT cron_fire_time FROM jobs WHERE cron_job_id = ? "
                                 "ORDER BY cron_fire_time",
                                 DB_P(DBI(id)));
    CHECK(r != NULL, "query: %s", db_errstr(t->db));
    int n = 0;
    while (n < 24 && w->utc[n])
        n++;
    CHECK(r->n_rows == n, "%s (%s in %s): %d fires, want %d", w->name, w->schedule, w->tz,
          r->n_rows, n);
    for (int i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%.10s %.8s", w->utc[i], w->utc[i] + 11);
        CHECK(strcmp(db_rows_get(r, i, 0), want) == 0, "%s fire %d: %s, want %s", w->name, i,
              db_rows_get(r, i, 0), want);
    }
    db_rows_free(r);
}

/* Hand-computed UTC fire times. America/Chicago: 2026-03-08 02:00 CST -> 03:00 CDT at 08:00Z;
 * 2026-11-01 02:00 CDT -> 01:00 CST at 07:00Z. A skipped local time fires once right after the
 * jump; a repeated one fires the first time only. */
static const struct want_fires spring[] = {
    {"s-0230", "30 2 * * *", "America/Chicago", {"2026-03-08T08:00:00Z"}},
    {"s-0200", "0 2 * * *", "America/Chicago", {"2026-03-08T08:00:00Z"}},
    {"s-0130", "30 1 * * *", "America/Chicago", {"2026-03-08T07:30:00Z"}},
    {"s-20min",
     "*/20 * * * *",
     "America/Chicago",
     {"2026-03-08T05:00:00Z", "2026-03-08T05:20:00Z", "2026-03-08T05:40:00Z",
      "2026-03-08T06:00:00Z", "2026-03-08T06:20:00Z", "2026-03-08T06:40:00Z",
      "2026-03-08T07:00:00Z", "2026-03-08T07:20:00Z", "2026-03-08T07:40:00Z",
      "2026-03-08T08:00:00Z", "2026-03-08T08:20:00Z", "2026-03-08T08:40:00Z",
      "2026-03-08T09:00:00Z", "2026-03-08T09:20:00Z", "2026-03-08T09:40:00Z",
      "2026-03-08T10:00:00Z", "2026-03-08T10:20:00Z", "2026-03-08T10:40:00Z",
      "2026-03-08T11:00:00Z"}},
};

static const struct want_fires autumn[] = {
    {"f-0130", "30 1 * * *", "America/Chicago", {"2026-11-01T06:30:00Z"}},
    {"f-0200", "0 2 * * *", "America/Chicago", {"2026-11-01T08:00:00Z"}},
    {"f-0230", "30 2 * * *", "America/Chicago", {"2026-11-01T08:30:00Z"}},
    {"f-20min",
     "*/20 * * * *",
     "America/Chicago",
     {"2026-11-01T04:00:00Z", "2026-11-01T04:20:00Z", "2026-11-01T04:40:00Z",
      "2026-11-01T05:00:00Z", "2026-11-01T05:20:00Z", "2026-11-01T05:40:00Z",
      "2026-11-01T06:00:00Z", "2026-11-01T06:20:00Z", "2026-11-01T06:40:00Z",
      "2026-11-01T08:00:00Z", "2026-11-01T08:20:00Z", "2026-11-01T08:40:00Z",
      "2026-11-01T09:00:00Z", "2026-11-01T09:20:00Z", "2026-11-01T09:40:00Z",
      "2026-11-01T10:00:00Z"}},
};

static void
dst_night(struct tenv *t, const struct want_fires *w, int n, const char *from, const char *to)
{
    int64_t ids[8];
    int64_t f = t_iso(from), end = t_iso(to);
    for (int i = 0; i < n; i++)
        ids[i] = t_cron_add_at(t, f - 30, w[i].name, w[i].schedule, w[i].tz, NULL);
    /* Two schedulers tick once a minute, one second and thirty seconds past it. */
    const int skew[] = {1, 30};
    run_schedulers(t, 2, f, 60, (int)((end - f) / 60) + 1, skew, true);
    for (int i = 0; i < n; i++)
        check_fires(t, ids[i], &w[i]);
    for (int i = 0; i < n; i++) {
        char err[256];
        CHECK(cronjob_set_active(t->db, &t->cfg, w[i].name, false, err, sizeof(err)) == JOB_E_OK,
              "disable: %s", err);
    }
}

/* Both Chicago DST nights, minute by minute with two schedulers: each matching minute fires
 * exactly once. */
static void
test_dst_nights_exactly_once(struct tenv *t)
{
    t_clock_init(t);
    dst_night(t, spring, 4, "2026-03-08T05:00:00Z", "2026-03-08T11:00:00Z");
    dst_night(t, autumn, 4, "2026-11-01T04:00:00Z", "2026-11-01T10:00:00Z");
}

static int64_t
step_at(struct tenv *t, int64_t now)
{
    int fired = 0;
    CHECK(cronjob_fire_due(t->db, t->rq, &t->cfg, now, &fired) == 0, "fire step: %s",
          db_errstr(t->db));
    return fired;
}

static char *
fire_times(struct tenv *t, int64_t id)
{
    return t_sql_str(t,
                     "SELECT GROUP_CONCAT(cron_fire_time ORDER BY cron_fire_time SEPARATOR ',') "
                     "FROM jobs WHERE cron_job_id = ?",
                     DB_P(DBI(id)));
}

#define CHECK_FIRES(t, id, want)                                                                   \
    do {                                                                                           \
        char *got_ = fire_times((t), (id));                                                        \
        CHECK(got_ &&strcmp(got_, (want)) == 0, "fires of %lld: %s, want %s", (long long)(id),     \
              got_ ? got_ : "(none)", (want));                                                     \
        free(got_);                                                                                \
    } while (0)

/* The scheduler is down for three simulated hours: each cron job fires at most one catch-up
 * run, for its latest miss within cron_catchup_s (3600); older misses are skipped. */
static void
test_downtime_one_catchup(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z"); /* 05:00 CDT */
    int64_t every = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    int64_t five = t_cron_add_at(t, t0 - 30, "five", "*/5 * * * *", NULL, NULL);
    int64_t none = t_cron_add_at(t, t0 - 30, "five-none", "*/5 * * * *", NULL, "none");
    /* 06:00 CDT (11:00Z) is missed by 2 h: skipped. 07:30 CDT (12:30Z) by 31 min: caught up. */
    int64_t old = t_cron_add_at(t, t0 - 30, "daily-0600", "0 6 * * *", NULL, NULL);
    int64_t recent = t_cron_add_at(t, t0 - 30, "daily-0730", "30 7 * * *", NULL, NULL);
    CHECK(step_at(t, t0 + 1) == 3, "the on-time tick fires every, five and five-none");
    /* Down from 10:00:01Z to 13:01:30Z; two schedulers come back at once. */
    int back = run_schedulers(t, 2, t0 + 3 * 3600 + 90, 60, 1, NULL, true);
    CHECK(back == 3, "%d catch-up jobs, want 3 (every, five, daily-0730)", back);
    CHECK(t_cron_jobs(t, every) == 2, "every: %lld jobs, want 2 (not 182)",
          (long long)t_cron_jobs(t, every));
    CHECK_FIRES(t, every, "2026-05-01 10:00:00,2026-05-01 13:01:00");
    CHECK_FIRES(t, five, "2026-05-01 10:00:00,2026-05-01 13:00:00");
    CHECK_FIRES(t, none, "2026-05-01 10:00:00");
    CHECK(t_cron_jobs(t, old) == 0, "daily-0600 missed by 2 h must be skipped");
    CHECK_FIRES(t, recent, "2026-05-01 12:30:00");
    /* Back to normal: the next tick in 13:05 fires the current minute, nothing old. */
    step_at(t, t_iso("2026-05-01T13:05:10Z"));
    CHECK_FIRES(t, every, "2026-05-01 10:00:00,2026-05-01 13:01:00,2026-05-01 13:05:00");
    CHECK_FIRES(t, none, "2026-05-01 10:00:00,2026-05-01 13:05:00");
    char *next = t_sql_str(t, "SELECT dt_next_fire FROM cron_jobs WHERE id = ?", DB_P(DBI(old)));
    CHECK(strcmp(next, "2026-05-02 11:00:00") == 0, "daily-0600 waits for tomorrow: %s", next);
    free(next);
}

/* A disabled cron job fires nothing; enabled again it does not catch up the disabled time. */
static void
test_disabled_fires_nothing(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    t_clock_set(t, t0 - 20);
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"cron", "disable", "every", NULL}) == 0,
          "cron disable");
    CHECK(strcmp(out, "disabled every\n") == 0, "disable said: %s", out);
    free(out);
    for (int k = 0; k < 10; k++)
        step_at(t, t0 + 60 * k + 1);
    CHECK(t_cron_jobs(t, id) == 0, "a disabled cron job made %lld jobs",
          (long long)t_cron_jobs(t, id));
    t_clock_set(t, t0 + 610);
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "enable", "every", NULL}) == 0,
          "cron enable");
    for (int k = 10; k <= 15; k++)
        step_at(t, t0 + 60 * k + 1);
    CHECK_FIRES(t, id,
                "2026-05-01 10:11:00,2026-05-01 10:12:00,2026-05-01 10:13:00,"
                "2026-05-01 10:14:00,2026-05-01 10:15:00");
    /* Disabling twice is fine; a name that does not exist is exit 2. */
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "disable", "every", NULL}) == 0,
          "cron disable");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "disable", "every", NULL}) == 0,
          "cron disable again");
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "enable", "nope", NULL}) == 2,
          "enable of a missing name");
    CHECK(strcmp(err, "jobfleet: cron enable: no cron job named \"nope\"\n") == 0, "said: %s", err);
    free(err);
}

/* A removed cron job keeps its past jobs and fires no more; a new one of the same name is a
 * new cron job whose fires do not collide with the old ones. */
static void
test_removed_keeps_jobs(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    for (int k = 0; k < 3; k++)
        step_at(t, t0 + 60 * k + 1);
    CHECK(t_cron_jobs(t, id) == 3, "3 jobs before remove");
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"cron", "remove", "every", NULL}) == 0,
          "cron remove");
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name = 'every'", DB_NOP) == 0,
          "the cron job is gone");
    for (int k = 3; k < 6; k++)
        step_at(t, t0 + 60 * k + 1);
    CHECK(t_cron_jobs(t, id) == 3, "a removed cron job keeps exactly its 3 past jobs, has %lld",
          (long long)t_cron_jobs(t, id));
    /* Re-added at 10:01:30, its first fire is 10:02, a fire time the old one also had. */
    int64_t id2 = t_cron_add_at(t, t0 + 90, "every", "* * * * *", NULL, NULL);
    CHECK(id2 != id, "a re-added name gets a new id");
    step_at(t, t0 + 121);
    CHECK(t_cron_jobs(t, id2) == 1 && t_cron_jobs(t, id) == 3, "old and new fires are apart");
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "remove", "nope", NULL}) == 2,
          "remove of a missing name");
    CHECK(strcmp(err, "jobfleet: cron remove: no cron job named \"nope\"\n") == 0, "said: %s", err);
    free(err);
}

/* migrate installs System/Cleanup/Jobs and System/Cleanup/Webhooks once, daily at 02:00, and a
 * later migrate neither duplicates them nor re-enables one an operator disabled. */
static void
test_migrate_builtins_once(struct tenv *t)
{
    const char *sql = "SELECT COUNT(*) FROM cron_jobs WHERE name IN ('System/Cleanup/Jobs', "
                      "'System/Cleanup/Webhooks') AND action = name AND schedule = '0 2 * * *' "
                      "AND is_active = 1";
    /* The setup disabled them (t_builtin_crons_off): as the database was before 002 ran. */
    CHECK(t_sql_int(t, -1, sql, DB_NOP) == 0, "the setup disabled the built-ins");
    CHECK(db_exec_static(t->db, "DELETE FROM cron_jobs") == 0 &&
              db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = 2") == 0,
          "undo 002: %s", db_errstr(t->db));
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"migrate", NULL}) == 0, "migrate 002");
    CHECK(t_sql_int(t, -1, sql, DB_NOP) == 2, "migrate installed both built-ins");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"migrate", NULL}) == 0, "migrate again");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"migrate", NULL}) == 0, "and again");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs", DB_NOP) == 2, "still two cron jobs");
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "disable", "System/Cleanup/Jobs", NULL}) == 0,
          "disable a built-in");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"migrate", NULL}) == 0, "migrate");
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'System/Cleanup/Jobs'",
                    DB_NOP) == 0,
          "migrate re-enabled a disabled built-in");
    /* The built-ins' first fire is the first 02:00 after migrate, in [scheduler] timezone. */
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"--json", "cron", "next", "System/Cleanup/Webhooks",
                                      "--count", "2", NULL}) == 0,
          "cron next of a built-in");
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL, "cron next --json: %s", out);
    const cJSON *tz = cJSON_GetObjectItem(j, "timezone");
    CHECK(cJSON_IsString(tz) && strcmp(tz->valuestring, "America/Chicago") == 0, "zone: %s", out);
    const cJSON *n0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "next"), 0);
    CHECK(cJSON_IsString(n0) && strstr(n0->valuestring, "T02:00:00-0") != NULL, "next: %s", out);
    cJSON_Delete(j);
    free(out);
}

/* Every rejected-expression class reaches the operator through `jobfleet cron add` as exit 2
 * and one line naming the field, the token and the allowed range. */
static void
test_cli_rejects(struct tenv *t)
{
    static const char *const bad[][2] = {
        {"0 2 * *", "expected 5 fields, got 4"},
        {"@often", "unknown macro \"@often\""},
        {"@daily 5", "macro \"@daily\" must be the whole expression"},
        {"1,,2 * * * *", "field 1 (minute): empty list item"},
        {"x * * * *", "field 1 (minute): \"x\" is not a number or name"},
        {"0 0 32 * *", "field 3 (day-of-month): \"32\" is outside 1-31"},
        {"0 24 * * *", "field 2 (hour): \"24\" is outside 0-23"},
        {"0 0 * 13 *", "field 4 (month): \"13\" is outside 1-12"},
        {"0 0 * * 8", "field 5 (day-of-week): \"8\" is outside 0-7"},
        {"0 20-8 * * *", "field 2 (hour): range \"20-8\" has start greater than end"},
        {"0 0 * * MON-", "field 5 (day-of-week): range \"MON-\" is incomplete"},
        {"*/x * * * *", "field 1 (minute): step \"x\" is not a number"},
        {"0 */0 * * *", "field 2 (hour): step \"0\" must be positive"},
        {"*/60 * * * *", "field 1 (minute): step \"60\" is outside 1-59"},
        {"0 0 * * */7", "field 5 (day-of-week): step \"7\" is outside 1-6"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *err = NULL, *out = NULL;
        int rc = t_cli(t, &out, &err,
                       (const char *const[]){"cron", "add", "bad", bad[i][0], "System/Noop", NULL});
        char *want = xasprintf("jobfleet: cron add: schedule: %s\n", bad[i][1]);
        CHECK(rc == 2, "\"%s\": exit %d, want 2", bad[i][0], rc);
        CHECK(strcmp(err, want) == 0, "\"%s\": stderr %s, want %s", bad[i][0], err, want);
        CHECK(out[0] == '\0', "\"%s\": stdout %s", bad[i][0], out);
        free(want);
        free(err);
        free(out);
    }
    static const char *const other[][8] = {
        {"jobfleet: cron add: schedule: \"0 0 30 2 *\" never fires\n", "bad", "0 0 30 2 *",
         "System/Noop", NULL},
        {"jobfleet: cron add: timezone: \"Mars/Olympus\" is not a zone of the system tz database "
         "(e.g. America/Chicago)\n",
         "bad", "0 2 * * *", "System/Noop", "--tz", "Mars/Olympus", NULL},
        {"jobfleet: cron add: timezone: \"localtime\" is each host's own zone (/etc/localtime), "
         "which may differ between hosts: name the zone (e.g. America/Chicago)\n",
         "bad", "0 2 * * *", "System/Noop", "--tz", "localtime", NULL},
        {"jobfleet: cron add: unknown action \"No/Such\"\n", "bad", "0 2 * * *", "No/Such", NULL},
        {"jobfleet: cron add: parameters must be a JSON object\n", "bad", "0 2 * * *",
         "System/Noop", "--params", "[1]", NULL},
        {"jobfleet: cron add: parameters are not valid JSON\n", "bad", "0 2 * * *", "System/Noop",
         "--params", "{nope", NULL},
        {"jobfleet: cron add: catchup: \"all\" must be none or latest\n", "bad", "0 2 * * *",
         "System/Noop", "--catchup", "all", NULL},
        {"jobfleet: cron add: --timeout \"0\" must be an integer in 1..604800\n", "bad",
         "0 2 * * *", "System/Noop", "--timeout", "0", NULL},
        {"jobfleet: cron add: name: \"a b\" must be 1-191 characters of A-Z a-z 0-9 . _ / : -\n",
         "a b", "0 2 * * *", "System/Noop", NULL},
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        const char *av[10] = {"cron", "add"};
        for (int k = 1; k < 8 && other[i][k]; k++)
            av[1 + k] = other[i][k];
        char *err = NULL;
        int rc = t_cli(t, NULL, &err, av);
        CHECK(rc == 2 && strcmp(err, other[i][0]) == 0, "case %zu: exit %d, stderr %s, want %s", i,
              rc, err, other[i][0]);
        free(err);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name NOT LIKE 'System/%'",
                    DB_NOP) == 0,
          "a rejected cron job was stored");
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "ok", "0 2 * * *", "System/Noop", NULL}) == 0,
          "a good one is accepted");
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err,
                (const char *const[]){"cron", "add", "ok", "0 3 * * *", "System/Noop", NULL}) == 2,
          "a duplicate name is exit 2");
    CHECK(strcmp(err, "jobfleet: cron add: a cron job named \"ok\" already exists\n") == 0,
          "said: %s", err);
    free(err);
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "add", "ok", NULL}) == 2 &&
              t_count(err, "\n") == 1 && strstr(err, "needs NAME SCHEDULE ACTION"),
          "missing arguments: %s", err);
    free(err);
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "next", "ok", "--count", "0", NULL}) ==
                  2 &&
              strstr(err, "--count \"0\" must be an integer in 1..1000"),
          "bad --count: %s", err);
    free(err);
}

/* cron next prints fire times with UTC offsets across a DST change (including a zone with a
 * 30-minute shift); cron list shows next fire, last fire and the last job's state. */
static void
test_cli_list_next(struct tenv *t)
{
    t_clock_init(t);
    t_clock_set(t, t_iso("2026-03-07T12:00:00Z"));
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"cron", "add", "nightly", "30 2 * * *", "System/Echo", "--tz",
                                      "America/Chicago", "--params", "{\"a\":1}", "--queue",
                                      "cronq", "--max-attempts", "3", NULL}) == 0,
          "cron add: %s", err);
    CHECK(strtoll(out, NULL, 10) > 0, "cron add prints the id: %s", out);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"cron", "next", "nightly", "--count", "5", NULL}) == 0,
          "cron next");
    CHECK(strcmp(out, "2026-03-08T03:00:00-05:00\n2026-03-09T02:30:00-05:00\n"
                      "2026-03-10T02:30:00-05:00\n2026-03-11T02:30:00-05:00\n"
                      "2026-03-12T02:30:00-05:00\n") == 0,
          "cron next printed:\n%s", out);
    free(out);
    t_clock_set(t, t_iso("2026-10-03T00:00:00Z"));
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "lord-howe", "0 2 * * *", "System/Noop",
                                      "--tz", "Australia/Lord_Howe", NULL}) == 0,
          "cron add lord-howe");
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"cron", "next", "lord-howe", "--count", "3", NULL}) == 0,
          "cron next lord-howe");
    CHECK(strcmp(out, "2026-10-04T02:30:00+11:00\n2026-10-05T02:00:00+11:00\n"
                      "2026-10-06T02:00:00+11:00\n") == 0,
          "cron next printed:\n%s", out);
    free(out);
    /* Fire nightly at its skipped 02:30, i.e. 03:00 CDT, then list. */
    t_clock_set(t, t_iso("2026-03-07T12:00:00Z"));
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "remove", "lord-howe", NULL}) == 0,
          "remove lord-howe");
    step_at(t, t_iso("2026-03-08T08:00:05Z"));
    t_clock_set(t, t_iso("2026-03-08T08:00:05Z"));
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"--json", "cron", "list", NULL}) == 0,
          "cron list --json");
    cJSON *a = cJSON_Parse(out), *o = NULL, *it;
    CHECK(cJSON_IsArray(a), "cron list --json: %s", out);
    cJSON_ArrayForEach(it, a)
    {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "nightly") == 0)
            o = it;
    }
    CHECK(o != NULL, "nightly missing from %s", out);
    const char *want[][2] = {{"schedule", "30 2 * * *"},
                             {"timezone", "America/Chicago"},
                             {"action", "System/Echo"},
                             {"queue", "cronq"},
                             {"catchup", "latest"},
                             {"next_fire", "2026-03-09T02:30:00-05:00"},
                             {"last_fire", "2026-03-08T03:00:00-05:00"},
                             {"last_fire_utc", "2026-03-08 08:00:00"},
                             {"last_job_state", "queued"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cJSON *v = cJSON_GetObjectItem(o, want[i][0]);
        CHECK(cJSON_IsString(v) && strcmp(v->valuestring, want[i][1]) == 0, "%s: want %s in %s",
              want[i][0], want[i][1], out);
    }
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(o, "is_active")), "is_active");
    CHECK(cJSON_GetObjectItem(o, "max_attempts")->valuedouble == 3, "max_attempts");
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "timeout_s")), "timeout_s follows the action");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "parameters"), "a")->valuedouble == 1,
          "parameters");
    int64_t job = (int64_t)cJSON_GetObjectItem(o, "last_job_id")->valuedouble;
    cJSON_Delete(a);
    free(out);
    char *q = t_sql_str(t,
                        "SELECT CONCAT(origin, ' ', queue, ' ', max_attempts, ' ', parameters) "
                        "FROM jobs WHERE id = ?",
                        DB_P(DBI(job)));
    CHECK(q && strcmp(q, "cron cronq 3 {\"a\":1}") == 0, "the fired job: %s", q ? q : "(none)");
    free(q);
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"cron", "list", NULL}) == 0, "cron list");
    CHECK(strstr(out, "nightly") && strstr(out, "2026-03-09T02:30:00-05:00") &&
              strstr(out, "queued") && strstr(out, "System/Cleanup/Jobs"),
          "cron list printed:\n%s", out);
    free(out);
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "next", "nope", NULL}) == 2 &&
              strcmp(err, "jobfleet: cron next: no cron job named \"nope\"\n") == 0,
          "next of a missing name: %s", err);
    free(err);
}

/* The cron job name as `jobfleet --json cron list` shows it; *all (to delete) owns it. */
static const cJSON *
listed(struct tenv *t, const char *name, cJSON **all)
{
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"--json", "cron", "list", NULL}) == 0,
          "cron list --json");
    *all = cJSON_Parse(out);
    CHECK(cJSON_IsArray(*all), "cron list --json: %s", out);
    free(out);
    const cJSON *it;
    cJSON_ArrayForEach(it, *all)
    {
        if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, name) == 0)
            return it;
    }
    CHECK(false, "%s is not listed", name);
    return NULL;
}

/* `cron list` shows the fire the scheduler acts on next, and marks it overdue when no
 * scheduler fired it; `cron next` of a disabled cron job says it fires at none of the times.
 * Before, the list showed the schedule's next time after now, so a fleet without a running
 * scheduler looked on time. */
static void
test_list_shows_plan(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z"); /* 05:00 CDT */
    t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    t_clock_set(t, t0 + 600); /* ten minutes without a scheduler */
    cJSON *all;
    const cJSON *o = listed(t, "every", &all);
    const cJSON *next = cJSON_GetObjectItem(o, "next_fire");
    CHECK(cJSON_IsString(next) && strcmp(next->valuestring, "2026-05-01T05:00:00-05:00") == 0 &&
              cJSON_IsTrue(cJSON_GetObjectItem(o, "overdue")),
          "the waiting 05:00 fire, overdue: %s", cJSON_PrintUnformatted(o));
    cJSON_Delete(all);
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"cron", "list", NULL}) == 0, "cron list");
    CHECK(strstr(out, "2026-05-01T05:00:00-05:00 (overdue)"), "cron list printed:\n%s", out);
    free(out);
    step_at(t, t0 + 601); /* a scheduler is back: the catch-up run for 10:10 */
    o = listed(t, "every", &all);
    next = cJSON_GetObjectItem(o, "next_fire");
    CHECK(cJSON_IsString(next) && strcmp(next->valuestring, "2026-05-01T05:11:00-05:00") == 0 &&
              cJSON_IsFalse(cJSON_GetObjectItem(o, "overdue")),
          "after the catch-up: %s", cJSON_PrintUnformatted(o));
    cJSON_Delete(all);
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "disable", "every", NULL}) == 0,
          "cron disable");
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"--json", "cron", "next", "every", "--count", "1", NULL}) ==
              0,
          "cron next of a disabled cron job");
    CHECK(strstr(out, "\"is_active\":false") && strstr(err, "\"every\" is disabled: it fires at "
                                                            "none of these times"),
          "cron next of a disabled cron job: %s / %s", out, err);
    free(out);
    free(err);
}

/* A cron job without a zone of its own fires in the scheduler's [scheduler] timezone even when
 * the CLI that added it (or enabled it) has another: before, the CLI stored the first fire in its
 * own zone, and a CLI west of the scheduler made it miss its first day (logged as "missed"). */
static void
test_zoneless_first_fire_in_scheduler_zone(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T12:00:00Z"); /* 07:00 in Chicago, the tests' zone */
    t_clock_set(t, t0);
    setenv("JOBFLEET_SCHEDULER_TIMEZONE", "America/Los_Angeles", 1);
    char *err = NULL;
    int rc = t_cli(t, NULL, &err,
                   (const char *const[]){"cron", "add", "nine", "0 9 * * *", "System/Noop", NULL});
    CHECK(rc == 0, "cron add: %s", err);
    free(err);
    int64_t id = t_sql_int(t, -1, "SELECT id FROM cron_jobs WHERE name = 'nine'", DB_NOP);
    step_at(t, t_iso("2026-05-01T14:00:30Z")); /* 09:00 in Chicago; 07:00 in Los Angeles */
    CHECK_FIRES(t, id, "2026-05-01 14:00:00");
    /* Disabled and enabled again by that CLI, the next fire is still Chicago's. */
    t_clock_set(t, t_iso("2026-05-01T15:00:00Z"));
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cron", "disable", "nine", NULL}) == 0 &&
              t_cli(t, NULL, NULL, (const char *const[]){"cron", "enable", "nine", NULL}) == 0,
          "disable, enable");
    unsetenv("JOBFLEET_SCHEDULER_TIMEZONE");
    step_at(t, t_iso("2026-05-02T14:00:30Z"));
    CHECK_FIRES(t, id, "2026-05-01 14:00:00,2026-05-02 14:00:00");
}

/* The real scheduler fires on its injected clock: a skipped DST time once, a downtime once,
 * and exactly once across a failover to a standby after kill -9. */
static void
test_scheduler_clock(struct tenv *t)
{
    t_clock_init(t);
    t_clock_set(t, t_iso("2026-03-08T07:00:00Z")); /* 01:00 CST, the night clocks spring forward */
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "dst", "30 2 * * *", "System/Noop", "--tz",
                                      "America/Chicago", NULL}) == 0,
          "cron add dst");
    int64_t dst = t_sql_int(t, 0, "SELECT id FROM cron_jobs WHERE name = 'dst'", DB_NOP);
    /* The first scheduler serves its metrics (the standby started later does not). */
    char murl[64];
    pid_t a = t_spawn_scheduler_metrics(t, murl, sizeof(murl));
    t_clock_set(t, t_iso("2026-03-08T08:00:02Z")); /* 03:00:02 CDT: 02:30 did not exist */
    WAIT_UNTIL(t_cron_jobs(t, dst) == 1, 10000, "the skipped 02:30 never fired");
    CHECK_FIRES(t, dst, "2026-03-08 08:00:00");
    t_clock_set(t, t_iso("2026-03-09T07:30:01Z"));
    WAIT_UNTIL(t_cron_jobs(t, dst) == 2, 10000, "the next 02:30 CDT never fired");
    CHECK_FIRES(t, dst, "2026-03-08 08:00:00,2026-03-09 07:30:00");

    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    t_clock_set(t, t0 - 30);
    /* The jump from March skips dst's missed fires (a late misfire): counted before the one
     * this test counts below. A zone-less cron job is stored unplanned and sorts first among
     * the due, so without this wait both came in one tick and "every" fired first (CI saw 2
     * late misfires where 1 was counted from). */
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM cron_jobs WHERE id = ? AND dt_next_fire > "
                         "'2026-05-01 00:00:00'",
                         DB_P(DBI(dst))) == 1,
               10000, "the scheduler never moved dst past its missed fires");
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "every", "* * * * *", "System/Noop", NULL}) ==
              0,
          "cron add every");
    int64_t every = t_sql_int(t, 0, "SELECT id FROM cron_jobs WHERE name = 'every'", DB_NOP);
    t_clock_set(t, t0 + 1);
    WAIT_UNTIL(t_cron_jobs(t, every) == 1, 10000, "every never fired");
    const char *late = "jobfleet_cron_misfires_total{reason=\"late\"}";
    double late0 = t_metric(murl, late);
    late0 = late0 < 0 ? 0 : late0;
    /* Three hours later: one catch-up job, and the scheduler has moved on past it. */
    t_clock_set(t, t0 + 3 * 3600 + 30);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM cron_jobs WHERE id = ? AND "
                         "dt_next_fire = '2026-05-01 13:01:00'",
                         DB_P(DBI(every))) == 1,
               10000, "the catch-up never happened");
    CHECK_FIRES(t, every, "2026-05-01 10:00:00,2026-05-01 13:00:00");
    /* The scheduler counts the misfire after it has advanced the row waited for above. */
    WAIT_UNTIL(t_metric(murl, late) == late0 + 1, 5000,
               "the skipped 10:01-12:59 is not one late misfire: %g", t_metric(murl, late));
    int64_t made = t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE origin = 'cron'", DB_NOP);
    CHECK(t_metric(murl, "jobfleet_jobs_enqueued_total{queue=\"default\",action=\"System/"
                         "Noop\"}") == (double)made,
          "every cron job made is counted as enqueued (%lld)", (long long)made);
    /* Failover: a standby takes over from a leader killed with SIGKILL. */
    pid_t b = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_signal(t, a, SIGKILL);
    CHECK(t_wait_exit(t, a, 10000) != -1, "the leader did not die");
    t_clock_set(t, t0 + 3 * 3600 + 65);
    WAIT_UNTIL(t_cron_jobs(t, every) == 3, 15000, "the standby never fired");
    t_clock_set(t, t0 + 3 * 3600 + 125);
    WAIT_UNTIL(t_cron_jobs(t, every) == 4, 10000, "the standby stopped firing");
    CHECK_FIRES(t, every,
                "2026-05-01 10:00:00,2026-05-01 13:00:00,2026-05-01 13:01:00,2026-05-01 13:02:00");
    CHECK(t_cron_jobs(t, dst) == 2, "dst fired again: %lld", (long long)t_cron_jobs(t, dst));
    t_signal(t, b, SIGTERM);
    CHECK(t_wait_exit(t, b, 10000) != -1, "the scheduler did not stop on SIGTERM");
}

/* The built-in actions delete what is past retention, in batches, and nothing else. */
static void
test_cleanup_builtins(struct tenv *t)
{
    static const char *const setup[] = {
        /* Four old succeeded jobs with attempts, one recent, one old failed. */
        "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, dt_completed) "
        "SELECT UUID(), 'System/Noop', '{}', 'succeeded', NOW(6) - INTERVAL 30 DAY, "
        "NOW(6) - INTERVAL 30 DAY, NOW(6) - INTERVAL 30 DAY FROM seq_1_to_4",
        "INSERT INTO job_attempts (job_id, attempt, dt_completed, outcome) "
        "SELECT id, 1, dt_completed, 'succeeded' FROM jobs",
        "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, dt_completed) "
        "VALUES (UUID(), 'System/Noop', '{}', 'succeeded', NOW(6), NOW(6), "
        "NOW(6) - INTERVAL 1 DAY)",
        "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, dt_completed) "
        "VALUES (UUID(), 'System/Noop', '{}', 'failed', NOW(6), NOW(6), "
        "NOW(6) - INTERVAL 30 DAY)",
        "INSERT INTO webhook_log (dt_received, path, status) SELECT NOW(6) - INTERVAL 20 DAY, "
        "'/webhook/x', 202 FROM seq_1_to_3",
        "INSERT INTO webhook_log (dt_received, path, status) VALUES (NOW(6), '/webhook/x', 202)",
    };
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
        CHECK(db_exec_static(t->db, setup[i]) == 0, "%s: %s", setup[i], db_errstr(t->db));
    int64_t jobs = t_enqueue(t, "System/Cleanup/Jobs", "{\"batch\": 3}", NULL);
    int64_t hooks = t_enqueue(t, "System/Cleanup/Webhooks", NULL, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(t_job_in_state(t, jobs, "succeeded") && t_job_in_state(t, hooks, "succeeded"), 15000,
               "cleanup jobs did not succeed: %s", t_job_state(t, jobs));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE dt_completed < NOW(6) - INTERVAL 14 DAY",
                    DB_NOP) == 1,
          "only the old failed job is left of the old ones");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded' AND action = "
                    "'System/Noop'",
                    DB_NOP) == 1,
          "the recent succeeded job stays");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM job_attempts a LEFT JOIN jobs j ON j.id = a.job_id "
                    "WHERE j.id IS NULL",
                    DB_NOP) == 0,
          "attempts of deleted jobs are left behind");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == 1,
          "webhook log rows: %lld, want 1",
          (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log", DB_NOP));
    char *res = t_sql_str(t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(jobs)));
    CHECK(res && strstr(res, "\"deleted\":4"), "System/Cleanup/Jobs result: %s", res);
    free(res);
}

/* A cron job stored before its parameters were refused (a "dry_run" of 0, which ran the job for
 * real) makes no job, and says why: its fires were counted as an unknown action. */
static void
test_refused_definition_misfires(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    CHECK(db_exec(t->db, "UPDATE cron_jobs SET parameters = '{\"dry_run\":0}' WHERE id = ?",
                  DB_P(DBI(id)), NULL, NULL) == 0,
          "store the old parameters: %s", db_errstr(t->db));
    metrics_reset();
    step_at(t, t0 + 1);
    CHECK(t_cron_jobs(t, id) == 0, "a refused definition made a job");
    struct buf b;
    buf_init(&b, 0);
    metrics_render(&b);
    CHECK(strstr(b.data, "jobfleet_cron_misfires_total{reason=\"invalid_definition\"} 1"),
          "the misfire's reason: %s", b.data);
    buf_release(&b);
}

static const struct test_case cases[] = {
    {"e2e_cron_two_schedulers_exactly_once", test_two_schedulers_exactly_once, NULL},
    {"e2e_cron_skewed_schedulers_exactly_once", test_skewed_schedulers_exactly_once, NULL},
    {"e2e_cron_dst_nights_exactly_once", test_dst_nights_exactly_once, NULL},
    {"e2e_cron_downtime_one_catchup", test_downtime_one_catchup, NULL},
    {"e2e_cron_disabled_fires_nothing", test_disabled_fires_nothing, NULL},
    {"e2e_cron_removed_keeps_jobs", test_removed_keeps_jobs, NULL},
    {"e2e_cron_migrate_builtins_once", test_migrate_builtins_once, NULL},
    {"e2e_cron_cli_rejects", test_cli_rejects, NULL},
    {"e2e_cron_cli_list_next", test_cli_list_next, NULL},
    {"e2e_cron_list_shows_plan", test_list_shows_plan, NULL},
    {"e2e_cron_zoneless_first_fire_in_scheduler_zone", test_zoneless_first_fire_in_scheduler_zone,
     NULL},
    {"e2e_cron_scheduler_clock", test_scheduler_clock, NULL},
    {"e2e_cron_cleanup_builtins", test_cleanup_builtins, NULL},
    {"e2e_cron_refused_definition_misfires", test_refused_definition_misfires, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
