/* End-to-end tests of job options: retries and backoff, priorities, uniqueness, queue pause,
 * fleet-wide concurrency and rate limits, and bulk retry. */
#include "job.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
cli_ok(struct tenv *t, const char *const *argv)
{
    char *err = NULL;
    int rc = t_cli(t, NULL, &err, argv);
    CHECK(rc == 0, "jobfleet %s %s exited %d: %s", argv[0], argv[1] ? argv[1] : "", rc, err);
    free(err);
}

/* The jobs the test made in a state. Cron-fired jobs are left out: migrate installs the daily
 * System/Cleanup crons, which fire at 02:00 in the test's time zone when a test spans it. */
static int64_t
count_jobs(struct tenv *t, const char *state)
{
    return t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = ? AND cron_job_id IS NULL",
                     DB_P(DBS(state)));
}

/* Gaps between an attempt's end and the next one's start, in ms, for a job. */
static int
attempt_gaps(struct tenv *t, int64_t id, int64_t *gaps, int max)
{
    struct db_rows *r = db_query(t->db,
                                 "SELECT TIMESTAMPDIFF(MICROSECOND, a.dt_completed, "
                                 "b.dt_started) DIV 1000 FROM job_attempts a JOIN job_attempts b "
                                 "ON b.job_id = a.job_id AND b.attempt = a.attempt + 1 "
                                 "WHERE a.job_id = ? ORDER BY a.attempt",
                                 DB_P(DBI(id)));
    CHECK(r != NULL, "gaps: %s", db_errstr(t->db));
    int n = r->n_rows < max ? r->n_rows : max;
    for (int i = 0; i < n; i++)
        gaps[i] = db_rows_int(r, i, 0, -1);
    db_rows_free(r);
    return n;
}

static void
test_retry_backoff(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_start_worker(t, NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Touch", "--backoff-base", "1s",
                                    "--backoff-cap", "2s", NULL});
    char *path = xasprintf("%s/touch", t->dir);
    char *params = xasprintf("{\"path\":\"%s\",\"fail_until_attempt\":3}", path);
    int64_t ok =
        t_enqueue(t, "System/Touch", params, (const char *const[]){"--max-attempts", "3", NULL});
    int64_t fails =
        t_enqueue(t, "System/Touch", params, (const char *const[]){"--max-attempts", "2", NULL});
    WAIT_UNTIL(t_job_done(t, ok) && t_job_done(t, fails), 20000, "jobs never finished");
    CHECK(t_job_in_state(t, ok, "succeeded"), "3 attempts allowed: succeeded");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(ok))) == 3,
          "3 attempts");
    CHECK(t_job_in_state(t, fails, "failed"), "2 attempts allowed: failed");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND outcome = 'failed'",
                    DB_P(DBI(fails))) == 2,
          "both failed attempts recorded");
    /* Full jitter: gap k lies in [0, min(cap, base * 2^(k-1))], plus the scheduler's pickup
     * (a 200 ms tick) and the hand-over. */
    int64_t gaps[4];
    int n = attempt_gaps(t, ok, gaps, 4);
    CHECK(n == 2, "two gaps, got %d", n);
    CHECK(gaps[0] >= 0 && gaps[0] <= 1000 + 1000, "gap 1 = %lld ms, bound 1 s", (long long)gaps[0]);
    CHECK(gaps[1] >= 0 && gaps[1] <= 2000 + 1000, "gap 2 = %lld ms, bound 2 s", (long long)gaps[1]);
    free(params);
    free(path);
}

static void
test_permanent_and_retry_after(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_start_worker(t, NULL);
    int64_t perm = t_enqueue(t, "System/Fail", "{\"reason\":\"bad input\",\"permanent\":true}",
                             (const char *const[]){"--max-attempts", "5", NULL});
    int64_t later = t_enqueue(t, "System/Fail", "{\"reason\":\"429\",\"retry_after_s\":2}",
                              (const char *const[]){"--max-attempts", "2", NULL});
    WAIT_UNTIL(t_job_done(t, perm), 10000, "permanent failure never finished");
    CHECK(t_job_in_state(t, perm, "failed"), "failed");
    CHECK(t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(perm))) == 1,
          "a permanent failure stops at attempt 1");
    WAIT_UNTIL(t_job_done(t, later), 15000, "retry-after job never finished");
    int64_t gaps[2];
    CHECK(attempt_gaps(t, later, gaps, 2) == 1, "one gap");
    /* Above: the delay itself. The slack on top is the scheduler's pickup (a 200 ms tick)
     * and the hand-over, with room for a loaded CI machine under sanitizers. */
    CHECK(gaps[0] >= 2000 && gaps[0] <= 2000 + 1500, "Retry-After 2 s honoured: gap %lld ms",
          (long long)gaps[0]);
}

static void
test_priority_order(struct tenv *t)
{
    cli_ok(t, (const char *const[]){"queue", "pause", "default", NULL});
    /* Enqueue in bulk through the job model: 1,000 CLI processes would only test process
     * start-up. Priorities are shuffled so that id order says nothing. */
    CHECK(db_begin(t->db) == 0, "begin");
    struct job_ref refs[1000];
    for (int i = 0; i < 1000; i++) {
        struct job_spec spec = {.action = "System/Noop", .priority = (int)((i * 7) % 10)}, chk;
        const char *field;
        char err[256];
        CHECK(job_spec_check(&spec, true, &chk, &field, err, sizeof(err)) == JOB_E_OK, "%s", err);
        CHECK(job_insert(t->db, &chk, &refs[i], err, sizeof(err)) == JOB_E_OK, "%s", err);
    }
    CHECK(db_commit(t->db) == 0, "commit");
    for (int i = 0; i < 1000; i++)
        CHECK(job_push(t->rq, &refs[i]) == 0, "push");
    t_start_worker(t, (const char *const[]){"--concurrency", "1", NULL});
    /* Paused: nothing starts while the worker idles. */
    int64_t until = now_mono_ms() + 1000;
    while (now_mono_ms() < until)
        CHECK(count_jobs(t, "running") + count_jobs(t, "succeeded") == 0, "a job ran while paused");
    cli_ok(t, (const char *const[]){"queue", "resume", "default", NULL});
    WAIT_UNTIL(count_jobs(t, "succeeded") == 1000, 60000, "only %lld of 1000 succeeded",
               (long long)count_jobs(t, "succeeded"));
    struct db_rows *r =
        db_query(t->db, "SELECT priority FROM jobs ORDER BY dt_started, id", DB_NOP);
    CHECK(r && r->n_rows == 1000, "rows");
    for (int i = 1; i < r->n_rows; i++)
        CHECK(db_rows_int(r, i, 0, 0) <= db_rows_int(r, i - 1, 0, 0),
              "job #%d started at priority %lld after one of priority %lld", i,
              (long long)db_rows_int(r, i, 0, 0), (long long)db_rows_int(r, i - 1, 0, 0));
    db_rows_free(r);
}

static void
test_unique_concurrent(struct tenv *t)
{
    pid_t kids[50];
    for (int i = 0; i < 50; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            char *out = xasprintf("%s/enq-%d.out", t->dir, i);
            if (freopen(out, "w", stdout) == NULL)
                _exit(3);
            execl(t_bin("jobfleet"), "jobfleet", "--config", t->conf, "enqueue", "System/Noop",
                  "--in", "1h", "--unique-key", "ticket-42", (char *)NULL);
            _exit(127);
        }
    }
    int64_t first = 0;
    for (int i = 0; i < 50; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "enqueue %d failed", i);
        char *path = xasprintf("%s/enq-%d.out", t->dir, i);
        char *out = t_read_file(path);
        int64_t id = strtoll(out, NULL, 10);
        CHECK(id > 0, "no id printed: %s", out);
        if (first == 0)
            first = id;
        CHECK(id == first, "enqueue %d got job %lld, another got %lld", i, (long long)id,
              (long long)first);
        free(out);
        free(path);
    }
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1, "exactly one job");
    /* Once the holder finishes the key is free again. */
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)first);
    cli_ok(t, (const char *const[]){"cancel", idbuf, NULL});
    int64_t again =
        t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--unique-key", "ticket-42", NULL});
    CHECK(again != first, "a finished job releases its unique key");
}

static void
test_unique_by_parameters(struct tenv *t)
{
    /* System/Echo/Unique makes its key from its "key" parameter. */
    int64_t a = t_enqueue(t, "System/Echo/Unique", "{\"key\":\"ticket-7\",\"n\":1}",
                          (const char *const[]){"--in", "1h", NULL});
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"enqueue", "System/Echo/Unique", "--params",
                                      "{\"key\":\"ticket-7\",\"n\":2}", "--in", "1h", NULL}) == 0,
          "the same key again: %s", err);
    int64_t b = strtoll(out, NULL, 10);
    CHECK(strstr(err, "already holds unique key \"System/Echo/Unique:ticket-7\""),
          "the message names the key: %s", err);
    free(out);
    free(err);
    int64_t c = t_enqueue(t, "System/Echo/Unique", "{\"key\":\"ticket-8\"}",
                          (const char *const[]){"--in", "1h", NULL});
    CHECK(a == b, "the same parameter value gives the same job (%lld, %lld)", (long long)a,
          (long long)b);
    CHECK(c != a, "another value gives another job");
    char *key = t_sql_str(t, "SELECT unique_key FROM jobs WHERE id = ?", DB_P(DBI(a)));
    CHECK(key && strcmp(key, "System/Echo/Unique:ticket-7") == 0, "key %s", key);
    free(key);
    err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"enqueue", "System/Echo/Unique", NULL}) == 2,
          "a missing key parameter is an input error");
    CHECK(strstr(err, "\"key\" (a string or number) is required"), "message: %s", err);
    free(err);
}

/* A failed job of key k, finished by a worker; its id. */
static int64_t
failed_with_key(struct tenv *t, const char *k)
{
    int64_t id = t_enqueue(t, "System/Fail", "{\"reason\":\"x\"}",
                           (const char *const[]){"--unique-key", k, "--max-attempts", "1", NULL});
    WAIT_UNTIL(t_job_in_state(t, id, "failed"), 10000, "job %lld never failed", (long long)id);
    return id;
}

struct bg_cli {
    struct tenv *t;
    const char *const *argv;
    int rc;
    char *out, *err;
    atomic_bool done;
};

static void *
bg_cli_main(void *arg)
{
    struct bg_cli *b = arg;
    b->rc = t_cli(b->t, &b->out, &b->err, b->argv);
    atomic_store(&b->done, true);
    return NULL;
}

static bool
cli_stalled(struct tenv *t)
{
    char *path = xasprintf("%s/cli.err", t->dir);
    char *err = t_read_file(path);
    bool yes = err && strstr(err, "fault point cli.inserted: stalled");
    free(err);
    free(path);
    return yes;
}

/* A key's holder that ends between `jobfleet enqueue`'s insert and its read-back has released
 * the key by then: the message still names the key the insert found taken. It read the key
 * back from the holder's row, and printed "(null)". */
static void
test_unique_holder_ends(struct tenv *t)
{
    int64_t holder =
        t_enqueue(t, "System/Noop", NULL,
                  (const char *const[]){"--unique-key", "ticket-9", "--in", "1h", NULL});
    setenv("JOBFLEET_FAULT_STALL", "cli.inserted:3000", 1);
    struct bg_cli b = {
        .t = t,
        .argv = (const char *const[]){"enqueue", "System/Noop", "--unique-key", "ticket-9", NULL}};
    pthread_t th;
    pthread_create(&th, NULL, bg_cli_main, &b);
    WAIT_UNTIL(cli_stalled(t), 10000, "the enqueue never reached its read-back");
    const struct audit_by by = {.actor = "test"};
    const char *state = NULL;
    char err[256];
    CHECK(job_cancel(t->db, t->rq, holder, &by, &state, err, sizeof(err)) == JOB_E_OK,
          "cancel the holder: %s", err);
    CHECK(!atomic_load(&b.done), "the enqueue read the holder back before it was cancelled");
    pthread_join(th, NULL);
    unsetenv("JOBFLEET_FAULT_STALL");
    CHECK(b.rc == 0, "the enqueue: %d %s", b.rc, b.err ? b.err : "");
    CHECK(b.out && strtoll(b.out, NULL, 10) == holder, "the holder's id: %s", b.out ? b.out : "");
    CHECK(b.err && strstr(b.err, "already holds unique key \"ticket-9\""),
          "the message names the key: %s", b.err ? b.err : "");
    CHECK(t_job_in_state(t, holder, "cancelled"), "the holder ended");
    free(b.out);
    free(b.err);
}

/* A retry makes a finished job live again, so it takes its unique key again: a new enqueue of
 * the key gets the retried job, not a second live job of the key. When another live job holds
 * the key meanwhile, the retry is refused (one job) or skipped (bulk), as is the second of two
 * finished jobs of one key in one bulk retry. */
static void
test_retry_takes_unique_key(struct tenv *t)
{
    pid_t w = t_start_worker(t, NULL);
    int64_t a = failed_with_key(t, "k1");
    int64_t d = failed_with_key(t, "k2");
    int64_t f1 = failed_with_key(t, "k3");
    int64_t f2 = failed_with_key(t, "k3");
    t_signal(t, w, SIGTERM);
    t_wait_exit_ok(t, w, 30000, "the worker");
    char ida[24], idd[24];
    snprintf(ida, sizeof(ida), "%lld", (long long)a);
    snprintf(idd, sizeof(idd), "%lld", (long long)d);
    cli_ok(t, (const char *const[]){"retry", ida, NULL});
    int64_t again =
        t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--unique-key", "k1", NULL});
    CHECK(again == a, "the retried job holds its key again: a new enqueue got %lld, not %lld",
          (long long)again, (long long)a);
    int64_t e =
        t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--unique-key", "k2", NULL});
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"retry", idd, NULL}) == 2,
          "a retry of a key another live job holds is refused");
    char *want = xasprintf("is held by job %lld (queued)", (long long)e);
    CHECK(err && strstr(err, want), "the message names the holder: %s", err ? err : "");
    free(want);
    free(err);
    CHECK(t_job_in_state(t, d, "failed"), "the refused job is left failed");
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"retry", "--state", "failed", "--action", "System/Fail",
                                      NULL}) == 0,
          "bulk retry");
    CHECK(out && strstr(out, "1 job(s) queued again"), "k2's job and k3's second skipped: %s",
          out ? out : "");
    free(out);
    CHECK(t_job_in_state(t, f1, "queued") && t_job_in_state(t, f2, "failed") &&
              t_job_in_state(t, d, "failed"),
          "one live job per key");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE unique_key = 'k3'", DB_NOP) == 1,
          "k3 held once");
}

static void
test_pause_resume(struct tenv *t)
{
    t_start_worker(t, NULL);
    cli_ok(t, (const char *const[]){"queue", "pause", "default", NULL});
    CHECK(db_begin(t->db) == 0, "begin");
    static struct job_ref refs[500];
    for (int i = 0; i < 500; i++) {
        struct job_spec spec = {.action = "System/Noop"}, chk;
        const char *field;
        char err[256];
        CHECK(job_spec_check(&spec, true, &chk, &field, err, sizeof(err)) == JOB_E_OK, "%s", err);
        CHECK(job_insert(t->db, &chk, &refs[i], err, sizeof(err)) == JOB_E_OK, "%s", err);
    }
    CHECK(db_commit(t->db) == 0, "commit");
    for (int i = 0; i < 500; i++)
        job_push(t->rq, &refs[i]);
    /* The behaviour under test is an absence over time, so this watches for 5 s. */
    int64_t until = now_mono_ms() + 5000;
    while (now_mono_ms() < until) {
        CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE dt_started IS NOT NULL", DB_NOP) ==
                  0,
              "a job of a paused queue started");
        sleep_ms(100);
    }
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"queue", "list", "--json", NULL}) == 0,
          "queue list");
    CHECK(strstr(out, "\"queued\":500") && strstr(out, "\"paused\":true") &&
              strstr(out, "\"depth\":500"),
          "queue list shows the waiting jobs: %s", out);
    free(out);
    cli_ok(t, (const char *const[]){"queue", "resume", "default", NULL});
    WAIT_UNTIL(count_jobs(t, "succeeded") == 500, 60000, "%lld of 500 succeeded",
               (long long)count_jobs(t, "succeeded"));
}

/* The largest number of attempts of an action running at the same instant. */
static int64_t
max_overlap(struct tenv *t, const char *action)
{
    return t_sql_int(t, -1,
                     "SELECT MAX(c) FROM (SELECT (SELECT COUNT(*) FROM job_attempts b JOIN jobs jb "
                     "ON jb.id = b.job_id WHERE jb.action = ? AND b.dt_started <= a.dt_started "
                     "AND b.dt_completed > a.dt_started) AS c FROM job_attempts a JOIN jobs ja "
                     "ON ja.id = a.job_id WHERE ja.action = ?) x",
                     DB_P(DBS(action), DBS(action)));
}

static void
test_concurrency_limit(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Sleep", "--concurrency", "2", NULL});
    int64_t ids[20];
    /* The backlog first: enqueued one CLI run at a time on a loaded machine, 0.3 s jobs
     * could each finish before the next arrives, and the limit would never be reached. */
    for (int i = 0; i < 20; i++)
        ids[i] = t_enqueue(t, "System/Sleep", "{\"seconds\":0.3}", NULL);
    for (int i = 0; i < 3; i++)
        t_start_worker(t, NULL); /* 3 workers x 2 children = 6 slots */
    for (int i = 0; i < 20; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 60000, "sleep %d never succeeded", i);
    int64_t peak = max_overlap(t, "System/Sleep");
    CHECK(peak == 2, "at most 2 (and at some point 2) running at once, saw %lld", (long long)peak);
}

static void
test_concurrency_slot_not_leaked(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Sleep", "--concurrency", "1", NULL});
    pid_t a = t_start_worker(t, NULL);
    int64_t held = t_enqueue(t, "System/Sleep", "{\"seconds\":60}", NULL);
    WAIT_UNTIL(t_job_in_state(t, held, "running"), 10000, "holder never started");
    kill(a, SIGKILL);
    t_wait_gone(t, a, 5000, "the killed worker");
    int64_t killed = now_mono_ms();
    t_start_worker(t, NULL);
    int64_t next = t_enqueue(t, "System/Sleep", "{\"seconds\":0}", NULL);
    /* lease_s = 5: the dead holder's slot frees itself by then. */
    WAIT_UNTIL(t_job_in_state(t, next, "succeeded"), 15000, "the slot leaked: job is %s",
               t_job_state(t, next));
    CHECK(now_mono_ms() - killed <= 5000 + 3000, "slot came back after %lld ms",
          (long long)(now_mono_ms() - killed));
}

static void
test_rate_limit(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Noop", "--rate", "5/1s", NULL});
    t_start_worker(t, NULL);
    t_start_worker(t, NULL);
    for (int i = 0; i < 20; i++)
        t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(count_jobs(t, "succeeded") == 20, 30000, "%lld of 20 succeeded",
               (long long)count_jobs(t, "succeeded"));
    /* Every window of 1 s that starts at a start holds at most 5 starts. */
    int64_t worst = t_sql_int(t, -1,
                              "SELECT MAX(c) FROM (SELECT (SELECT COUNT(*) FROM jobs b WHERE "
                              "b.action = 'System/Noop' AND b.dt_started >= a.dt_started AND "
                              "b.dt_started < a.dt_started + INTERVAL 1 SECOND) AS c FROM jobs a "
                              "WHERE a.action = 'System/Noop') x",
                              DB_NOP);
    CHECK(worst <= 5, "%lld starts within one second", (long long)worst);
    int64_t span = t_sql_int(t, -1,
                             "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(dt_started), MAX(dt_started)) "
                             "DIV 1000 FROM jobs WHERE action = 'System/Noop'",
                             DB_NOP);
    CHECK(span >= 3000, "20 starts at 5/s take at least 3 s, took %lld ms", (long long)span);
}

/* Runs the CLI expecting a usage error (exit 2) whose message holds want. */
static void
cli_refused(struct tenv *t, const char *want, const char *const *argv)
{
    char *err = NULL;
    int rc = t_cli(t, NULL, &err, argv);
    CHECK(rc == 2 && err && strstr(err, want), "jobfleet %s %s: exit %d, want 2 and \"%s\": %s",
          argv[0], argv[1], rc, want, err);
    free(err);
}

/* Settings an operator types wrong are refused with what is wrong, not taken in silence: an
 * action no worker knows (a typo throttled nothing), an option the queue command does not
 * use, a rate window longer than the column holds (it failed as a database error, exit 1). */
static void
test_settings_refused(struct tenv *t)
{
    cli_refused(t, "unknown action \"System/NoOp\"",
                (const char *const[]){"action", "set", "System/NoOp", "--concurrency", "1", NULL});
    cli_refused(t, "--backoff-base",
                (const char *const[]){"queue", "limit", "default", "--backoff-base", "10s", NULL});
    cli_refused(t, "--concurrency",
                (const char *const[]){"queue", "pause", "default", "--concurrency", "5", NULL});
    cli_refused(t, "24 days",
                (const char *const[]){"action", "set", "System/Noop", "--rate", "100/30d", NULL});
    cli_refused(
        t, "24 days",
        (const char *const[]){"queue", "limit", "default", "--rate", "1/9999999999d", NULL});
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM action_settings WHERE action = 'System/NoOp'",
                    DB_NOP) == 0,
          "nothing stored for the unknown action");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM queue_settings WHERE is_paused = 1", DB_NOP) == 0,
          "the queue is not paused");
    cli_ok(t, (const char *const[]){"action", "set", "System/Noop", "--rate", "100/24d", NULL});
}

static void
test_bulk_retry(struct tenv *t)
{
    t_start_worker(t, NULL);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = t_enqueue(t, "System/Fail", "{\"reason\":\"x\"}", NULL);
    int64_t other = t_enqueue(t, "System/Crash", NULL, NULL);
    for (int i = 0; i < 5; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), 10000, "job %d", i);
    WAIT_UNTIL(t_job_done(t, other), 10000, "crash job");
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"retry", "--state", "failed", "--action", "System/Fail",
                                      "--since", "1h", NULL}) == 0,
          "bulk retry");
    CHECK(strstr(out, "5 job(s) queued again"), "output: %s", out);
    free(out);
    for (int i = 0; i < 5; i++)
        WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?",
                             DB_P(DBI(ids[i]))) == 2 &&
                       t_job_done(t, ids[i]),
                   10000, "job %d not retried", i);
    CHECK(t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(other))) == 1,
          "another action's failed job was left alone");
}

/* A retry by state of more jobs than one batch: every job is queued once with one more attempt
 * and its ID pushed to its own queue, a job in another state is left alone, and the jobs are
 * queued a batch per statement (a statement's rows share its NOW(6)), not a commit per job. */
static void
test_bulk_retry_batches(struct tenv *t)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, priority, state, "
                  "run_at, attempt, max_attempts, dt_created, dt_completed, is_success, "
                  "failure_reason) SELECT UUID(), 'api', IF(seq % 2, 'default', 'other'), "
                  "'System/Noop', '{}', seq % 3, IF(seq = 1, 'cancelled', 'failed'), NOW(6), 1, "
                  "1, NOW(6), NOW(6), 0, 'boom' FROM seq_1_to_2501",
                  DB_NOP, NULL, NULL) == 0,
          "insert failed jobs: %s", db_errstr(t->db));
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"retry", "--state", "failed", NULL}) == 0,
          "bulk retry");
    CHECK(strstr(out, "2500 job(s) queued again"), "output: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND max_attempts = 2 AND "
                    "failure_reason IS NULL AND dt_completed IS NULL",
                    DB_NOP) == 2500,
          "every failed job queued with one more attempt");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'cancelled'", DB_NOP) == 1,
          "the cancelled job was left alone");
    int64_t in_redis = rq_depth(t->rq, "default") + rq_depth(t->rq, "other");
    CHECK(rq_depth(t->rq, "default") == 1250 && in_redis == 2500,
          "%lld IDs in Redis (default %lld), not 2500 (1250)", (long long)in_redis,
          (long long)rq_depth(t->rq, "default"));
    int64_t stamps = t_sql_int(
        t, -1, "SELECT COUNT(DISTINCT dt_queued) FROM jobs WHERE state = 'queued'", DB_NOP);
    CHECK(stamps <= 3, "%lld distinct queue times: a statement per job, not per batch of 1,000",
          (long long)stamps);
}

/* A bulk retry that fails in a later batch says how many the batches before it queued again:
 * it exited 1 with the error alone, and a script rerunning on 1 could not know. */
static void
test_bulk_retry_fails_midway(struct tenv *t)
{
    CHECK(db_exec_static(t->db,
                         "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, "
                         "attempt, max_attempts, dt_created, dt_completed, is_success, "
                         "failure_reason) SELECT UUID(), 'api', 'System/Noop', '{}', 'failed', "
                         "NOW(6), 1, 1, NOW(6), NOW(6), 0, 'boom' FROM seq_1_to_1500") == 0,
          "insert failed jobs: %s", db_errstr(t->db));
    /* The second batch meets a row the server refuses to change. */
    CHECK(db_exec_static(t->db, "CREATE TRIGGER refuse_1200 BEFORE UPDATE ON jobs FOR EACH ROW "
                                "IF NEW.id = 1200 THEN SIGNAL SQLSTATE '45000' SET "
                                "MESSAGE_TEXT = 'refused by the test'; END IF") == 0,
          "trigger: %s", db_errstr(t->db));
    char *err = NULL;
    int rc = t_cli(t, NULL, &err, (const char *const[]){"retry", "--state", "failed", NULL});
    int64_t queued = t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP);
    char want[64];
    snprintf(want, sizeof(want), "%lld job(s) were queued again", (long long)queued);
    CHECK(rc == 1 && queued > 0 && strstr(err, "refused by the test") && strstr(err, want),
          "exit %d, %lld queued: %s", rc, (long long)queued, err);
    free(err);
}

/* jobfleet cancel --state: every matching job, 1,000 to a transaction, out of Redis too; a
 * running one is flagged for its worker; other states and actions are left alone. */
static void
test_bulk_cancel(struct tenv *t)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "attempt, max_attempts, dt_created, dt_completed, is_success, failure_reason) "
                  "SELECT UUID(), 'api', IF(seq % 2 AND seq <= 2500, 'other', 'default'), "
                  "IF(seq <= 2500, 'System/Noop', 'System/Echo'), '{}', 'failed', NOW(6), 1, 1, "
                  "NOW(6), NOW(6), 0, 'boom' FROM seq_1_to_2800",
                  DB_NOP, NULL, NULL) == 0,
          "insert jobs: %s", db_errstr(t->db));
    /* Queued and in Redis, as a retry leaves them: 1,250 + 300 in default, 1,250 in other. */
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"retry", "--state", "failed", NULL}) == 0,
          "queue them");
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "attempt, max_attempts, dt_created) SELECT UUID(), 'api', 'default', "
                  "'System/Noop', '{}', IF(seq <= 10, 'pending', 'running'), NOW(6) + INTERVAL 1 "
                  "HOUR, 1, 1, NOW(6) FROM seq_1_to_15",
                  DB_NOP, NULL, NULL) == 0,
          "insert pending and running: %s", db_errstr(t->db));
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"cancel", "--state", "queued", "--action", "System/Noop",
                                      NULL}) == 0,
          "bulk cancel");
    CHECK(out && strstr(out, "2500 job(s) cancelled"), "output: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE state = 'cancelled' AND "
                    "failure_reason = 'cancelled' AND action = 'System/Noop'",
                    DB_NOP) == 2500,
          "every queued System/Noop cancelled");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP) == 300,
          "the other action's jobs stay queued");
    CHECK(rq_depth(t->rq, "default") == 300 && rq_depth(t->rq, "other") == 0,
          "Redis holds %lld + %lld IDs, want 300 + 0", (long long)rq_depth(t->rq, "default"),
          (long long)rq_depth(t->rq, "other"));
    int64_t stamps = t_sql_int(
        t, -1, "SELECT COUNT(DISTINCT dt_completed) FROM jobs WHERE state = 'cancelled'", DB_NOP);
    CHECK(stamps <= 3, "%lld distinct cancel times: a statement per job, not per batch of 1,000",
          (long long)stamps);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'pending'", DB_NOP) == 10,
          "pending jobs are left alone");
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"cancel", "--state", "running", "--queue", "default",
                                      NULL}) == 0,
          "cancel running");
    CHECK(out && strstr(out, "5 job(s) cancelled (their workers stop them)"), "output: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND cancel_requested = 1",
                    DB_NOP) == 5,
          "running jobs flagged for their workers");
    /* The batch read takes no locks: a job that left the state before its batch is locked (a
     * queued one a worker started) is left as it is, not flagged. Called directly, since the
     * window between the read and the lock cannot be timed from outside. */
    int64_t ids[3], done[3];
    ids[0] = t_sql_int(t, -1, "SELECT MIN(id) FROM jobs WHERE state = 'queued'", DB_NOP);
    ids[1] = t_sql_int(t, -1, "SELECT MIN(id) FROM jobs WHERE state = 'pending'", DB_NOP);
    ids[2] = t_sql_int(t, -1, "SELECT MAX(id) FROM jobs WHERE state = 'running'", DB_NOP);
    CHECK(db_exec(t->db, "UPDATE jobs SET cancel_requested = 0 WHERE id = ?", DB_P(DBI(ids[2])),
                  NULL, NULL) == 0,
          "unflag");
    char msg[256];
    CHECK(job_cancel_ids(t->db, t->rq, ids, 3, "queued", NULL, done, NULL, msg, sizeof(msg)) == 1 &&
              done[0] == ids[0],
          "only the queued job cancelled");
    CHECK(t_sql_int(t, -1, "SELECT cancel_requested FROM jobs WHERE id = ?", DB_P(DBI(ids[2]))) ==
              0,
          "a running job is not flagged by a cancel of queued jobs");
    CHECK(t_job_in_state(t, ids[1], "pending"), "the pending job is left alone");
    char *err = NULL;
    static const char *const bad[][5] = {
        {"cancel", "--state", "failed", NULL, "--state must be pending, queued or running"},
        {"cancel", "5", "--state", "queued", "give a job ID or --state, not both"},
        {"cancel", "--action", "System/Noop", NULL, "--action and --queue need --state"},
    };
    for (int i = 0; i < 3; i++) {
        const char *argv[] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL};
        CHECK(t_cli(t, NULL, &err, argv) == 2, "%s %s: exit 2", bad[i][1], bad[i][2]);
        CHECK(err && strstr(err, bad[i][4]), "stderr: %s", err);
        free(err);
    }
}

static const struct test_case cases[] = {
    {"e2e_options_retry_backoff", test_retry_backoff, NULL},
    {"e2e_options_settings_refused", test_settings_refused, NULL},
    {"e2e_options_permanent_and_retry_after", test_permanent_and_retry_after, NULL},
    {"e2e_options_priority_order", test_priority_order, NULL},
    {"e2e_options_unique_concurrent", test_unique_concurrent, NULL},
    {"e2e_options_retry_takes_unique_key", test_retry_takes_unique_key, NULL},
    {"e2e_options_unique_by_parameters", test_unique_by_parameters, NULL},
    {"e2e_options_unique_holder_ends", test_unique_holder_ends, NULL},
    {"e2e_options_pause_resume", test_pause_resume, "[worker]\nconcurrency = 4\n"},
    {"e2e_options_concurrency_limit", test_concurrency_limit, NULL},
    {"e2e_options_concurrency_slot_not_leaked", test_concurrency_slot_not_leaked, NULL},
    {"e2e_options_rate_limit", test_rate_limit, NULL},
    {"e2e_options_bulk_retry", test_bulk_retry, NULL},
    {"e2e_options_bulk_retry_batches", test_bulk_retry_batches, NULL},
    {"e2e_options_bulk_cancel", test_bulk_cancel, NULL},
    {"e2e_options_bulk_retry_fails_midway", test_bulk_retry_fails_midway, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
