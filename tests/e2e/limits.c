/* End-to-end tests of the worker's fleet-wide limits (worker/limits.c) against the test's Redis:
 * each acquire of a job's slots is its own, so that two claims of one job (after a hand-back or
 * a recovery) neither share a slot nor free each other's. */
#include "limits.h"
#include "rq.h"
#include "tsupport.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEASE_MS 300

/* A limiter over the test's settings, with System/Sleep limited to one at a time. */
static void
limiter_one_at_a_time(struct tenv *t, struct limiter *l)
{
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, concurrency_limit, "
                                "dt_updated) VALUES ('System/Sleep', 1, NOW(6))") == 0,
          "settings: %s", db_errstr(t->db));
    limiter_init(l, &t->cfg.redis, LEASE_MS);
    CHECK(limiter_refresh(l, t->db) == 0, "load the settings: %s", db_errstr(t->db));
}

static int64_t
acquire(struct limiter *l, struct job_limits *jl, int64_t id)
{
    limiter_scopes(l, "default", "System/Sleep", jl);
    return limiter_acquire(l, jl, id, "default", (double)id);
}

/* A worker whose outcome waited past its slot's lease (a stalled check-out) while the job was
 * recovered and claimed again frees its slots late. The slots' member was the job's id, so the
 * second claim went in on the first one's slot, and the late free took the second claim's: a
 * job of a concurrency of 1 then started beside it. */
static void
test_late_free_keeps_later_claim(struct tenv *t)
{
    struct limiter l;
    limiter_one_at_a_time(t, &l);
    struct job_limits first, second, other;
    CHECK(acquire(&l, &first, 42) == 0, "the first claim of job 42 takes the slot");
    CHECK(acquire(&l, &second, 42) > 0,
          "a second claim of job 42 went in on the first claim's slot while it was held");
    WAIT_UNTIL(acquire(&l, &second, 42) == 0, 5000, "the slot never came back with its lease");
    limiter_free_slots(&l, &first);
    CHECK(acquire(&l, &other, 43) > 0,
          "job 43 took the slot job 42's second claim holds: the late free of the first claim "
          "freed it");
    limiter_free_slots(&l, &second);
    CHECK(acquire(&l, &other, 43) == 0, "the slot is free once its holder frees it");
    limiter_free_slots(&l, &other);
    limiter_release(&l);
}

/* A job that runs longer than two leases keeps its slot: its worker renews it at every
 * heartbeat. The renew moved the slot's end but not the slot set's expiry (two leases from the
 * last acquire): the set vanished under a running job, and the next job of a concurrency of 1
 * started beside it (a limit of 1 ran 3 jobs at once with a 12 s sleep and lease_s 2). */
static void
test_renewed_slot_outlives_two_leases(struct tenv *t)
{
    struct limiter l;
    limiter_one_at_a_time(t, &l);
    struct job_limits held, other;
    CHECK(acquire(&l, &held, 42) == 0, "job 42 takes the slot");
    int64_t until = now_mono_ms() + 4 * LEASE_MS;
    while (now_mono_ms() < until) {
        limiter_renew(&l, &held);
        CHECK(acquire(&l, &other, 43) > 0,
              "job 43 took the slot of job 42, renewed all along, %lld ms into its run",
              (long long)(now_mono_ms() - (until - 4 * LEASE_MS)));
        usleep(LEASE_MS / 4 * 1000); /* the heartbeat's pace, not a wait for a condition */
    }
    limiter_free_slots(&l, &held);
    limiter_release(&l);
}

/* Redis lost its data (a restart without persistence, FLUSHALL) while a job held its slot: the
 * renew, a ZADD XX, re-added nothing, and every later job of the limit ran beside it. The
 * renew puts the running job's slot back. */
static void
test_renew_restores_lost_slot(struct tenv *t)
{
    struct limiter l;
    limiter_one_at_a_time(t, &l);
    struct job_limits held, other;
    CHECK(acquire(&l, &held, 42) == 0, "job 42 takes the slot");
    char *key = xasprintf("%s:lim:c:%s", t->cfg.redis.prefix, held.ascope);
    const char *del[] = {"DEL", key};
    CHECK(rq_command(t->rq, 2, del) == 1, "the slot set is gone: %s", rq_errstr(t->rq));
    limiter_renew(&l, &held);
    CHECK(acquire(&l, &other, 43) > 0,
          "job 43 took the slot while job 42 runs on: the renew did not put it back");
    free(key);
    limiter_free_slots(&l, &held);
    limiter_release(&l);
}

/* 10,000 settings rows that set nothing (a dashboard pause and resume of many names leaves
 * them) pushed a real limit out: the workers read the first 10,000 rows, in no order, and the
 * limit of queue zz was ignored. Only rows that set something are read, by name. */
static void
test_cleared_rows_leave_limits_alone(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO queue_settings (queue, is_paused, dt_updated) "
                                "SELECT CONCAT('a', LPAD(seq, 5, '0')), 0, NOW(6) FROM "
                                "seq_1_to_10000") == 0 &&
              db_exec_static(t->db,
                             "INSERT INTO queue_settings (queue, is_paused, "
                             "concurrency_limit, dt_updated) VALUES ('zz', 0, 1, NOW(6))") == 0,
          "settings rows: %s", db_errstr(t->db));
    struct limiter l;
    limiter_init(&l, &t->cfg.redis, LEASE_MS);
    CHECK(limiter_refresh(&l, t->db) == 0, "load the settings: %s", db_errstr(t->db));
    struct job_limits jl;
    limiter_scopes(&l, "zz", "System/Noop", &jl);
    CHECK(jl.n == 1 && jl.lim[0].concurrency == 1,
          "queue zz's limit of 1 was left out behind 10,000 rows that set nothing");
    limiter_release(&l);
}

/* The gaps, in ms, between one System/Sleep attempt's end and the next one's start, in the
 * order they ran, into gaps (at most max); returns how many. */
static int
sleep_gaps(struct tenv *t, int64_t *gaps, int max)
{
    struct db_rows *r = db_query(t->db,
                                 "SELECT TIMESTAMPDIFF(MICROSECOND, LAG(a.dt_completed) OVER "
                                 "(ORDER BY a.dt_started), a.dt_started) DIV 1000 FROM "
                                 "job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.action = "
                                 "'System/Sleep' ORDER BY a.dt_started",
                                 DB_NOP);
    CHECK(r != NULL, "gaps: %s", db_errstr(t->db));
    int n = 0;
    for (int i = 1; i < r->n_rows && n < max; i++)
        gaps[n++] = db_rows_int(r, i, 0, -1);
    db_rows_free(r);
    return n;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Jobs over a full concurrency limit wait in pending. The next one used to start when its own
 * deferral ran out (a quarter second) and the scheduler's tick queued it: a limit of 1 ran 100 ms
 * jobs at 1.7 a second, and in no particular order. A freed slot now queues the first job in
 * line at once, highest priority first. */
static void
test_free_wakes_next_in_line(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, concurrency_limit, "
                                "dt_updated) VALUES ('System/Sleep', 1, NOW(6))") == 0,
          "settings: %s", db_errstr(t->db));
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_spawn(t, t_bin("jobfleet-worker"), (const char *const[]){"--concurrency", "4", NULL});
    int64_t holder = t_enqueue(t, "System/Sleep", "{\"seconds\":1}", NULL);
    WAIT_UNTIL(t_job_in_state(t, holder, "running"), 10000, "the first job never started");
    for (int i = 0; i < 6; i++)
        t_enqueue(t, "System/Sleep", "{\"seconds\":0.2}", NULL);
    int64_t urgent = t_enqueue(t, "System/Sleep", "{\"seconds\":0.2}",
                               (const char *const[]){"--priority", "9", NULL});
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP) == 8, 30000,
        "%lld of 8 jobs succeeded",
        (long long)t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP));
    int64_t second = t_sql_int(
        t, -1, "SELECT id FROM jobs WHERE id <> ? ORDER BY dt_started LIMIT 1", DB_P(DBI(holder)));
    CHECK(second == urgent, "job %lld of priority 0 ran before the waiting job %lld of priority 9",
          (long long)second, (long long)urgent);
    int64_t gaps[16];
    int n = sleep_gaps(t, gaps, 16);
    CHECK(n == 7, "%d gaps between 8 jobs", n);
    qsort(gaps, (size_t)n, sizeof(gaps[0]), cmp_i64);
    CHECK(gaps[n / 2] < 150,
          "a freed slot stayed unused %lld ms (the median of %d gaps; the longest "
          "%lld ms)",
          (long long)gaps[n / 2], n, (long long)gaps[n - 1]);
}

/* A job a rate holds back waits outside the concurrency line: woken by a free, it took the wake
 * of a job that could run and went back to wait, and the slot stayed unused until the next
 * job's deferral ran out (the final review: gaps of 1,000 ms between 200 ms jobs). */
static void
test_rate_held_job_not_in_line(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO queue_settings (queue, is_paused, concurrency_limit, "
                                "dt_updated) VALUES ('default', 0, 1, NOW(6))") == 0 &&
              db_exec_static(t->db, "INSERT INTO action_settings (action, rate_limit, "
                                    "rate_interval_ms, dt_updated) VALUES ('System/Echo', 1, "
                                    "3600000, NOW(6))") == 0,
          "settings: %s", db_errstr(t->db));
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_spawn(t, t_bin("jobfleet-worker"), (const char *const[]){"--concurrency", "4", NULL});
    int64_t first = t_enqueue(t, "System/Echo", "{}", NULL);
    WAIT_UNTIL(t_job_in_state(t, first, "succeeded"), 10000, "the first echo never ran");
    int64_t holder = t_enqueue(t, "System/Sleep", "{\"seconds\":1}", NULL);
    WAIT_UNTIL(t_job_in_state(t, holder, "running"), 10000, "the first sleep never started");
    for (int i = 0; i < 6; i++)
        t_enqueue(t, "System/Echo", "{}", NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'System/Echo' AND state = "
                         "'pending' AND limit_deferred = 1",
                         DB_NOP) == 6,
               15000, "the echoes never waited");
    for (int i = 0; i < 6; i++)
        t_enqueue(t, "System/Sleep", "{\"seconds\":0.2}", NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded' AND action = "
                         "'System/Sleep'",
                         DB_NOP) == 7,
               30000, "the sleeps never finished");
    int64_t gaps[16];
    int n = sleep_gaps(t, gaps, 16);
    qsort(gaps, (size_t)n, sizeof(gaps[0]), cmp_i64);
    CHECK(n == 6 && gaps[n / 2] < 150,
          "a freed slot stayed unused %lld ms (the median of %d gaps; the longest %lld ms)",
          (long long)gaps[n / 2], n, (long long)gaps[n - 1]);
}

static const struct test_case cases[] = {
    {"e2e_limits_late_free_keeps_later_claim", test_late_free_keeps_later_claim, NULL},
    {"e2e_limits_renewed_slot_outlives_two_leases", test_renewed_slot_outlives_two_leases, NULL},
    {"e2e_limits_renew_restores_lost_slot", test_renew_restores_lost_slot, NULL},
    {"e2e_limits_cleared_rows_leave_limits_alone", test_cleared_rows_leave_limits_alone, NULL},
    {"e2e_limits_free_wakes_next_in_line", test_free_wakes_next_in_line, NULL},
    {"e2e_limits_rate_held_job_not_in_line", test_rate_held_job_not_in_line, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
