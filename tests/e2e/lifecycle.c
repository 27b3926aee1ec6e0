/* End-to-end tests of a job's life through the real CLI, worker and scheduler. */
#include "job.h"
#include "tservers.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t
start_worker(struct tenv *t)
{
    return t_start_worker(t, NULL);
}

static int64_t
attempts_of(struct tenv *t, int64_t id)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id)));
}

static void
test_noop_succeeds(struct tenv *t)
{
    start_worker(t);
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, id), 10000, "job %lld never finished", (long long)id);
    CHECK(t_job_in_state(t, id, "succeeded"), "job should have succeeded");
    CHECK(attempts_of(t, id) == 1, "one job_attempts row");
    /* Timestamps in order: created <= queued <= started <= completed, all set. */
    CHECK(t_sql_int(t, 0,
                    "SELECT dt_created <= dt_queued AND dt_queued <= dt_started AND "
                    "dt_started <= dt_completed AND is_success = 1 AND attempt = 1 "
                    "FROM jobs WHERE id = ?",
                    DB_P(DBI(id))) == 1,
          "timestamps out of order or missing");
    CHECK(t_sql_int(t, 0,
                    "SELECT a.outcome = 'succeeded' AND a.dt_started = j.dt_started AND "
                    "a.dt_completed >= a.dt_started AND a.instance_id = j.instance_id "
                    "FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE a.job_id = ?",
                    DB_P(DBI(id))) == 1,
          "attempt row does not match the job");
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"show", "--json", "1", NULL}) == 0,
          "show --json");
    CHECK(strstr(out, "\"attempts\":[{") && strstr(out, "\"state\":\"succeeded\""),
          "show --json lacks attempts or state: %s", out);
    free(out);
}

static void
test_fail_then_retry(struct tenv *t)
{
    pid_t w = start_worker(t);
    int64_t id = t_enqueue(t, "System/Fail", "{\"reason\":\"disk on fire\"}", NULL);
    WAIT_UNTIL(t_job_done(t, id), 10000, "job never finished");
    CHECK(t_job_in_state(t, id, "failed"), "job should have failed");
    /* Its one attempt (max_attempts 1) is its last: the worker's log says so, with the action
     * (before: "attempt ended: disk on fire", then "to be retried while attempts remain"). */
    WAIT_UNTIL(t_log_has(t, w, "(System/Fail) failed for good: attempt 1 of 1: disk on fire"), 5000,
               "the worker's log does not say the job failed for good");
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(reason && strcmp(reason, "disk on fire") == 0, "failure_reason: %s", reason);
    free(reason);
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"retry", idbuf, NULL}) == 0, "retry: %s", err);
    free(err);
    WAIT_UNTIL(attempts_of(t, id) == 2 && t_job_done(t, id), 10000, "retry never ran");
    CHECK(t_job_in_state(t, id, "failed"), "the retried attempt fails again");
    CHECK(t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(id))) == 2,
          "attempt 2");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(DISTINCT attempt) FROM job_attempts WHERE job_id = ? AND "
                    "outcome = 'failed' AND reason = 'disk on fire'",
                    DB_P(DBI(id))) == 2,
          "both attempts kept in history");
}

/* Claims that took nothing, as the worker logs them. */
static int
empty_claims(struct tenv *t, pid_t w)
{
    return t_log_count(t, w, "claimed 0 of ");
}

/* A queued System/Noop made without a push: its ID goes into Redis with a duplicate, so that
 * the claim of the two changes a row and reads its claim back. */
static int64_t
queued_unpushed(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO jobs (uuid, origin, action, parameters, state, "
                                "run_at, dt_created, dt_queued) VALUES (UUID(), 'api', "
                                "'System/Noop', '{}', 'queued', NOW(6), NOW(6), NOW(6))") == 0,
          "insert: %s", db_errstr(t->db));
    return t_sql_int(t, 0, "SELECT MAX(id) FROM jobs", DB_NOP);
}

/* Pushes ids[0..n) in one call. */
static void
push_ids(struct tenv *t, const int64_t *ids, int n)
{
    int prio[4] = {0, 0, 0, 0};
    CHECK(rq_push(t->rq, "default", ids, prio, n) == 0, "push");
}

/* The ID of a finished job pushed again: waits until a claim took nothing (no second run). */
static void
push_after_success(struct tenv *t, pid_t w, int64_t id)
{
    int before = empty_claims(t, w), prio = 0;
    CHECK(rq_push(t->rq, "default", &id, &prio, 1) == 0, "push after success");
    WAIT_UNTIL(empty_claims(t, w) > before, 5000, "the worker never tried the last push");
}

static void
test_duplicate_push_runs_once(struct tenv *t)
{
    char *path = xasprintf("%s/touched", t->dir);
    char *params = xasprintf("{\"path\":\"%s\"}", path);
    int64_t id = t_enqueue(t, "System/Touch", params, NULL);
    pid_t w = start_worker(t);
    for (int i = 0; i < 3; i++) {
        push_ids(t, &id, 1);
        WAIT_UNTIL(rq_depth(t->rq, "default") == 0, 5000, "the worker never popped the ID");
    }
    WAIT_UNTIL(t_job_done(t, id), 10000, "job never finished");
    push_after_success(t, w, id);
    char *content = t_read_file(path);
    CHECK(content && t_count(content, "\n") == 1, "the action ran %d times, not once",
          content ? t_count(content, "\n") : 0);
    CHECK(attempts_of(t, id) == 1, "exactly one attempt");
    CHECK(t_attempt_lines(t, id, " taken by its child") == 1, "started %d times",
          t_attempt_lines(t, id, " taken by its child"));
    free(content);
    free(params);
    free(path);
}

/* The same ID delivered again while this worker runs the job (and while its check-out may be
 * on its way) must not start a second run: the claim's read-back returns only what that claim
 * took, never a job the instance already holds. For the read-back to run, the duplicate must
 * share its claim with a job the claim takes: a fault point holds the second claim a second,
 * while the duplicate and a fresh job's ID gather in Redis for the third. */
static void
test_duplicate_while_running_runs_once(struct tenv *t)
{
    setenv("JOBFLEET_FAULT_POINT", "checkin.before@2", 1);
    setenv("JOBFLEET_FAULT_ACTION", "stall1:1000", 1);
    pid_t w = start_worker(t);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    /* Long enough to outlast the stalled claim and the fresh job on a loaded machine. */
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":6}", NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "running"), 10000, "job never started");
    int64_t first = queued_unpushed(t);
    push_ids(t, &first, 1);
    WAIT_UNTIL(rq_depth(t->rq, "default") == 0, 5000, "the worker never popped the first");
    int64_t pair[2] = {id, queued_unpushed(t)};
    push_ids(t, pair, 2);
    WAIT_UNTIL(t_job_done(t, pair[1]), 10000, "the fresh job %lld never ran", (long long)pair[1]);
    char *log = t_log(t, w);
    CHECK(log && strstr(log, " of 2 job(s) in one statement"), "the duplicate shared a claim");
    free(log);
    CHECK(t_job_in_state(t, id, "running"), "the duplicate came while it ran");
    WAIT_UNTIL(t_job_done(t, id), 10000, "job never finished");
    /* Pushed right after the success, while the check-out may still be in flight. */
    push_after_success(t, w, id);
    CHECK(t_job_in_state(t, id, "succeeded"), "job should have succeeded");
    CHECK(attempts_of(t, id) == 1, "exactly one attempt");
    CHECK(t_attempt_lines(t, id, " taken by its child") == 1, "the job started %d times, not once",
          t_attempt_lines(t, id, " taken by its child"));
}

static bool
all_gone(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (kill(pids[i], 0) == 0)
            return false;
    return true;
}

static void
test_kill9_worker_job_lost(struct tenv *t)
{
    char murl[64];
    t_spawn_scheduler_metrics(t, murl, sizeof(murl));
    pid_t w = start_worker(t);
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":60}", NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "running"), 10000, "job never started");
    pid_t kids[16];
    int nk = t_worker_children(w, kids, 16);
    CHECK(nk == 2, "expected 2 children, found %d", nk);
    int64_t killed_at = now_mono_ms();
    kill(w, SIGKILL);
    t_wait_gone(t, w, 5000, "the killed worker");
    /* No orphan keeps running the job. */
    WAIT_UNTIL(all_gone(kids, nk), 5000, "a child outlived its supervisor");
    /* lease_s = 5 in the test config; allow a tick and some slack. */
    WAIT_UNTIL(t_job_done(t, id), 15000, "job stayed %s", t_job_state(t, id));
    int64_t took = now_mono_ms() - killed_at;
    CHECK(t_job_in_state(t, id, "failed"), "job should be failed");
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(reason && strcmp(reason, "worker lost") == 0, "reason %s", reason);
    free(reason);
    CHECK(took < 5000 + 5000, "recovery took %lld ms, lease is 5 s", (long long)took);
    CHECK(attempts_of(t, id) == 1, "the lost attempt is in the history");
    /* Counted after the recovery's commit that ended the job. */
    WAIT_UNTIL(t_metric(murl, "jobfleet_jobs_recovered_total{queue=\"default\",action=\"System/"
                              "Sleep\"}") == 1,
               5000, "the scheduler does not count the job it recovered");
}

static void
test_crash_keeps_serving(struct tenv *t)
{
    pid_t w = start_worker(t);
    int64_t crash = t_enqueue(t, "System/Crash", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, crash), 10000, "crash job never finished");
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(crash)));
    CHECK(reason && strcmp(reason, "crashed: SIGSEGV") == 0, "reason %s", reason);
    free(reason);
    int64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = t_enqueue(t, "System/Noop", NULL, NULL);
    for (int i = 0; i < 5; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 10000, "job after the crash");
    CHECK(t_alive(w), "the supervisor survived");
    pid_t kids[16];
    CHECK(t_worker_children(w, kids, 16) == 2, "the crashed child was replaced");
}

/* The child that replaces a crashed one cannot be started at first (a fork refused: EAGAIN under
 * a pids limit, ENOMEM, EMFILE; here the test build's fault point): the slot was lost for good
 * before, the worker going on with one child fewer, none in the end. It is tried again. */
static void
test_respawn_after_refused_fork(struct tenv *t)
{
    /* Passes 1 and 2 start the two children; the replacement fails twice, then starts. */
    setenv("JOBFLEET_FAULT_POINT", "spawn@3", 1);
    setenv("JOBFLEET_FAULT_ACTION", "fail:2", 1);
    pid_t w = start_worker(t);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    int64_t crash = t_enqueue(t, "System/Crash", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, crash), 10000, "crash job never finished");
    pid_t kids[16];
    WAIT_UNTIL(t_worker_children(w, kids, 16) == 2, 10000, "the slot stayed without a child (%d)",
               t_worker_children(w, kids, 16));
    /* Logged once the spawner answers, which can be after the child shows in /proc. */
    WAIT_UNTIL(t_log_has(t, w, "a child started again"), 5000, "the log says the child is back");
    CHECK(t_log_has(t, w, "has no child; trying again"), "the log says the slot had no child");
    int64_t ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = t_enqueue(t, "System/Noop", NULL, NULL);
    for (int i = 0; i < 4; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 10000, "job after the respawn");
}

/* A job whose action this worker does not register (an older build during a rolling deploy;
 * here, a worker with test actions off): it failed for good before, with attempts left, though
 * a newer worker could run it. It is retried in a minute. */
static void
test_unknown_action_retried(struct tenv *t)
{
    setenv("JOBFLEET_WORKER_TEST_ACTIONS", "false", 1);
    start_worker(t);
    unsetenv("JOBFLEET_WORKER_TEST_ACTIONS");
    int64_t id =
        t_enqueue(t, "System/Crash", NULL, (const char *const[]){"--max-attempts", "3", NULL});
    WAIT_UNTIL(t_job_in_state(t, id, "pending") || t_job_done(t, id), 10000, "the attempt ends");
    char *st = t_sql_str(t,
                         "SELECT CONCAT(state, ' ', attempt, ' ', "
                         "TIMESTAMPDIFF(SECOND, NOW(), run_at) >= 50, ' ', failure_reason) "
                         "FROM jobs WHERE id = ?",
                         DB_P(DBI(id)));
    CHECK(st && strncmp(st, "pending 1 1 ", 12) == 0 && strstr(st, "not registered in this worker"),
          "the job: %s", st ? st : "(none)");
    free(st);
}

/* Whether every child of w runs with scheduling policy want. */
static bool
children_sched(pid_t w, int want, int *n)
{
    pid_t kids[16];
    *n = t_worker_children(w, kids, 16);
    for (int i = 0; i < *n; i++)
        if (sched_getscheduler(kids[i]) != want)
            return false;
    return *n > 0;
}

/* [worker] sched_batch: the children run as SCHED_BATCH (a respawned one too), the supervisor
 * as SCHED_OTHER; false leaves the children SCHED_OTHER. */
static void
test_children_sched_batch(struct tenv *t)
{
    pid_t w = start_worker(t);
    int n = 0;
    WAIT_UNTIL(children_sched(w, SCHED_BATCH, &n) && n == 2, 10000,
               "the children are not SCHED_BATCH (%d children)", n);
    CHECK(sched_getscheduler(w) == SCHED_OTHER, "the supervisor is not SCHED_OTHER");
    int64_t crash = t_enqueue(t, "System/Crash", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, crash), 10000, "crash job never finished");
    WAIT_UNTIL(children_sched(w, SCHED_BATCH, &n) && n == 2, 10000,
               "the child started after a crash is not SCHED_BATCH (%d children)", n);
    kill(w, SIGTERM);
    t_wait_exit_ok(t, w, 10000, "the worker");
    setenv("JOBFLEET_WORKER_SCHED_BATCH", "false", 1);
    w = start_worker(t);
    unsetenv("JOBFLEET_WORKER_SCHED_BATCH");
    WAIT_UNTIL(children_sched(w, SCHED_OTHER, &n) && n == 2, 10000,
               "with sched_batch = false the children are not SCHED_OTHER (%d children)", n);
}

static void
test_timeout_kills(struct tenv *t)
{
    start_worker(t);
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":30}",
                           (const char *const[]){"--timeout", "1", NULL});
    int64_t start = now_mono_ms();
    WAIT_UNTIL(t_job_done(t, id), 10000, "job over its timeout never ended");
    CHECK(now_mono_ms() - start < 6000, "ended after %lld ms", (long long)(now_mono_ms() - start));
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(reason && strcmp(reason, "timeout after 1s") == 0, "reason %s", reason);
    free(reason);
    CHECK(t_job_in_state(t, id, "failed"), "failed");
}

static void
test_sigterm_drains(struct tenv *t)
{
    pid_t w = start_worker(t);
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":3}", NULL);
    /* Its child's word, not the row's 'running' (the claim's): a job written to a child that
     * has not taken it yet goes back to its queue on SIGTERM, rightly. */
    WAIT_UNTIL(t_attempt_lines(t, id, " taken by its child") == 1, 10000, "job never started");
    kill(w, SIGTERM);
    /* A job enqueued during the drain waits for another worker. */
    int64_t later = t_enqueue(t, "System/Noop", NULL, NULL);
    int status = t_wait_exit(t, w, 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "worker should exit 0 after draining (status %d)", status);
    CHECK(t_job_in_state(t, id, "succeeded"), "the running job finished");
    CHECK(t_job_in_state(t, later, "queued"), "no new job was taken during the drain");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM worker_instances WHERE pid = ? AND state = "
                    "'stopped'",
                    DB_P(DBI(w))) == 1,
          "the instance row is marked stopped");
}

static void
test_cancel_states(struct tenv *t)
{
    int64_t pending = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1h", NULL});
    int64_t queued = t_enqueue(t, "System/Noop", NULL, NULL);
    char a[32], b[32], c[32];
    snprintf(a, sizeof(a), "%lld", (long long)pending);
    snprintf(b, sizeof(b), "%lld", (long long)queued);
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cancel", a, NULL}) == 0, "cancel pending");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cancel", b, NULL}) == 0, "cancel queued");
    CHECK(t_job_in_state(t, pending, "cancelled"), "pending → cancelled");
    CHECK(t_job_in_state(t, queued, "cancelled"), "queued → cancelled");
    CHECK(rq_depth(t->rq, "default") == 0, "the queued ID left Redis");
    start_worker(t);
    int64_t running = t_enqueue(t, "System/Sleep", "{\"seconds\":60}", NULL);
    WAIT_UNTIL(t_job_in_state(t, running, "running"), 10000, "sleep never started");
    snprintf(c, sizeof(c), "%lld", (long long)running);
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"cancel", c, NULL}) == 0, "cancel running");
    CHECK(strstr(out, "cancelling"), "running job reports cancelling: %s", out);
    free(out);
    WAIT_UNTIL(t_job_done(t, running), 5000, "running job never stopped");
    CHECK(t_job_in_state(t, running, "cancelled"), "running → cancelled");
    /* A finished job cannot be cancelled: exit 2 with the reason. */
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cancel", c, NULL}) == 2, "cancel again");
    CHECK(strstr(err, "is cancelled"), "message: %s", err);
    free(err);
}

static void
test_mysql_restart(struct tenv *t)
{
    /* Private servers: restarting the shared MariaDB would disturb other tests. */
    struct tsrv srv;
    tsrv_start(t, &srv);
    pid_t sch = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    tsrv_use(t, &srv);
    int64_t before = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(t_job_in_state(t, before, "succeeded"), 15000, "job before the restart");
    tsrv_stop_mysql(&srv);
    tsrv_start_mysql(&srv);
    int64_t after = t_enqueue(t, "System/Noop", NULL, NULL);
    int64_t delayed = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1", NULL});
    WAIT_UNTIL(t_job_in_state(t, after, "succeeded"), 30000, "job after the restart: %s",
               t_job_state(t, after));
    WAIT_UNTIL(t_job_in_state(t, delayed, "succeeded"), 30000, "scheduled job after restart");
    CHECK(t_alive(w) && t_alive(sch), "no process exited");
    CHECK(waitpid(w, NULL, WNOHANG) == 0 && waitpid(sch, NULL, WNOHANG) == 0, "still running");
    kill(w, SIGKILL);
    kill(sch, SIGKILL);
    t_wait_gone(t, w, 5000, "the killed worker");
    t_wait_gone(t, sch, 5000, "the killed scheduler");
    CHECK(tsrv_stop(t, &srv) == 0, "stop private servers");
}

/* SIGTERM while MariaDB is down, a job running: the drain stops the job at its deadline
 * (drain_timeout_s = 1), cannot write its outcome, and the worker exits 0 a few seconds later
 * saying so; the lease recovery ends the job. Before, it waited for MariaDB for ever. */
static void
test_sigterm_mysql_down(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *log_path = xstrdup(t->procs[t->n_procs - 1].log_path); /* a reaped pid has no log */
    tsrv_use(t, &srv);
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":60}", NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "running"), 15000, "the job runs");
    tsrv_stop_mysql(&srv);
    t_signal(t, w, SIGTERM);
    int st = t_wait_exit(t, w, 40000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the worker exits 0: %d", st);
    char *log = t_read_file(log_path);
    CHECK(log && strstr(log, "still unwritten") && strstr(log, "could not be written"), "%s",
          log ? log : "(no log)");
    free(log);
    free(log_path);
    tsrv_start_mysql(&srv);
    CHECK(tsrv_stop(t, &srv) == 0, "stop private servers");
}

/* Starts a Redis of this test's own on a free port, so FLUSHALL cannot touch other tests. */
static pid_t
private_redis(struct tenv *t, int *port)
{
    for (int tries = 0; tries < 20; tries++) {
        *port = 20000 + (int)(random() % 30000);
        char *p = xasprintf("%d", *port);
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", (char *)NULL);
            _exit(127);
        }
        free(p);
        struct cfg_redis rc = t->cfg.redis;
        rc.port = *port;
        struct rq *probe = rq_new(&rc);
        int64_t deadline = now_mono_ms() + 3000;
        bool up = false;
        while (!up && now_mono_ms() < deadline && waitpid(pid, NULL, WNOHANG) == 0) {
            up = rq_connect(probe) == 0;
            if (!up)
                sleep_ms(20);
        }
        rq_free(probe);
        if (up)
            return pid;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    CHECK(false, "could not start a private redis-server");
    return -1;
}

static void
test_redis_flushall(struct tenv *t)
{
    int port;
    pid_t redis = private_redis(t, &port);
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    setenv("JOBFLEET_REDIS_PORT", portbuf, 1);
    struct cfg_redis rc = t->cfg.redis;
    rc.port = port;
    struct rq *rq = rq_new(&rc);
    int64_t ids[1000];
    for (int i = 0; i < 1000; i++)
        ids[i] = 0;
    /* 1,000 jobs committed queued with their IDs in Redis, as the CLI leaves them. */
    CHECK(db_begin(t->db) == 0, "begin");
    struct job_ref *refs = xcalloc(1000, sizeof(*refs));
    for (int i = 0; i < 1000; i++) {
        struct job_spec spec = {.action = "System/Noop"}, chk;
        const char *field;
        char err[256];
        CHECK(job_spec_check(&spec, true, &chk, &field, err, sizeof(err)) == JOB_E_OK, "%s", err);
        CHECK(job_insert(t->db, &chk, &refs[i], err, sizeof(err)) == JOB_E_OK, "%s", err);
        ids[i] = refs[i].id;
    }
    CHECK(db_commit(t->db) == 0, "commit");
    CHECK(rq_push(rq, "default", ids, NULL, 1000) == 0, "push");
    CHECK(rq_depth(rq, "default") == 1000, "1,000 IDs in Redis");
    CHECK(rq_command(rq, 1, (const char *[]){"FLUSHALL"}) == 0, "FLUSHALL");
    CHECK(rq_depth(rq, "default") == 0, "Redis lost every ID");
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP) == 1000,
        60000, "%lld of 1000 succeeded",
        (long long)t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts", DB_NOP) == 1000,
          "one attempt row per job");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE attempt <> 1", DB_NOP) == 0,
          "each job ran exactly once");
    unsetenv("JOBFLEET_REDIS_PORT");
    free(refs);
    rq_free(rq);
    kill(redis, SIGKILL);
    waitpid(redis, NULL, 0);
}

#define LOCK_HOLD_MS 8000 /* past the test's lease of 6 s */

/* A session of the test's own holding job id's row locked, as a cancel's FOR UPDATE does. */
static struct db *
lock_job_row(struct tenv *t, int64_t id)
{
    struct db *lk = db_new(&t->cfg.mysql);
    CHECK(db_connect(lk) == 0 && db_begin(lk) == 0, "lock session: %s", db_errstr(lk));
    struct db_rows *r = db_query(lk, "SELECT id FROM jobs WHERE id = ? FOR UPDATE", DB_P(DBI(id)));
    CHECK(r && r->n_rows == 1, "lock job %lld: %s", (long long)id, db_errstr(lk));
    db_rows_free(r);
    return lk;
}

/* Until LOCK_HOLD_MS after t0 (the lock's duration is the scenario), checks all along that
 * worker w has not fenced itself. */
static void
hold_without_fence(struct tenv *t, pid_t w, int64_t t0)
{
    while (now_mono_ms() - t0 < LOCK_HOLD_MS) {
        CHECK(!t_log_has(t, w, "no heartbeat committed"),
              "the worker fenced itself %lld ms into the lock", (long long)(now_mono_ms() - t0));
        sleep_ms(100);
    }
}

/* A row another session holds locked (a cancel that read it FOR UPDATE, then stalled before
 * its commit) holds back only its own check-out: the other outcomes are written around it, the
 * heartbeat goes on, and no job is stopped. Before, the check-out waited for the lock on the
 * thread that also beats, past the lease: the worker fenced itself, SIGKILLed its other jobs
 * and started none until the lock went. */
static void
test_locked_row_no_fence(struct tenv *t)
{
    int64_t locked = t_enqueue(t, "System/Sleep", "{\"seconds\":3}", NULL);
    int64_t other = t_enqueue(t, "System/Sleep", "{\"seconds\":4}", NULL);
    int64_t longer = t_enqueue(t, "System/Sleep", "{\"seconds\":60}",
                               (const char *const[]){"--max-attempts", "1", NULL});
    pid_t w = start_worker(t);
    WAIT_UNTIL(t_job_in_state(t, locked, "running") && t_job_in_state(t, other, "running") &&
                   t_job_in_state(t, longer, "running"),
               10000, "the three jobs never ran at once");
    struct db *lk = lock_job_row(t, locked);
    /* Locked while it runs: its outcome comes while the lock is held. */
    CHECK(t_job_in_state(t, locked, "running"), "job %lld ended before the lock",
          (long long)locked);
    int64_t t0 = now_mono_ms();
    WAIT_UNTIL(t_job_in_state(t, other, "succeeded"), 10000,
               "job %lld's outcome waited behind the locked row", (long long)other);
    /* The lock stays past the lease; the worker must go on beating all along. */
    hold_without_fence(t, w, t0);
    CHECK(t_job_in_state(t, longer, "running"), "job %lld was stopped", (long long)longer);
    CHECK(t_log_has(t, w, "Lock wait timeout"), "the check-out never met the lock");
    db_rollback(lk);
    db_free(lk);
    WAIT_UNTIL(t_job_in_state(t, locked, "succeeded"), 10000,
               "job %lld's outcome was not written once the lock went", (long long)locked);
    int64_t attempt = t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(longer)));
    CHECK(attempt == 1 && t_job_in_state(t, longer, "running"), "job %lld: attempt %lld",
          (long long)longer, (long long)attempt);
}

/* A worker the scheduler declared lost claims nothing until it runs again: its claims of a
 * queued job take none, and it rests between them rather than popping the ID again at once (it
 * made thousands of empty claims a second). Once it runs again, the job runs. */
static void
test_lost_instance_claims_rest(struct tenv *t)
{
    pid_t w = start_worker(t);
    /* A first job run: the worker's first heartbeat, which would set it running again, is
     * behind it, and the next is heartbeat_s away. */
    int64_t first = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, first), 10000, "the first job never ran");
    CHECK(db_exec_static(t->db, "UPDATE worker_instances SET state = 'lost'") == 0, "lost: %s",
          db_errstr(t->db));
    int before = empty_claims(t, w);
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(empty_claims(t, w) > before, 5000, "the worker never tried the job");
    sleep_ms(2000); /* what a lost worker claims in two seconds */
    int empty = empty_claims(t, w) - before;
    fprintf(stderr, "FIGURES: %d empty claims in 2 s while lost\n", empty);
    CHECK(empty <= 20, "%d empty claims in 2 s while lost", empty);
    CHECK(t_job_in_state(t, id, "queued"), "job %lld ran on a lost worker", (long long)id);
    CHECK(db_exec_static(t->db, "UPDATE worker_instances SET state = 'running'") == 0,
          "running: %s", db_errstr(t->db));
    WAIT_UNTIL(t_job_done(t, id), 10000, "job %lld never ran once the worker ran again",
               (long long)id);
}

/* The pid of the worker's child that took job id's first attempt, from the worker's log; 0
 * when none did yet. */
static pid_t
child_of(struct tenv *t, pid_t w, int64_t id)
{
    char *log = t_log(t, w), needle[96];
    snprintf(needle, sizeof(needle), "] debug: job %lld attempt 1 taken by its child",
             (long long)id);
    const char *at = log ? strstr(log, needle) : NULL;
    pid_t pid = 0;
    if (at) {
        const char *open = at;
        while (open > log && *open != '[')
            open--;
        pid = (pid_t)strtol(open + 1, NULL, 10);
    }
    free(log);
    return pid;
}

/* A worker the scheduler declared lost while it was alive (frozen past its lease, say, and back
 * before its fence could tell) stops the jobs it still runs, which the scheduler gave to other
 * workers: its heartbeat brought the instance back at once, and the jobs ran here and elsewhere
 * at the same time. Once its children are stopped it comes back and runs jobs again. */
static void
test_lost_worker_stops_its_jobs(struct tenv *t)
{
    int64_t id = t_enqueue(t, "System/Sleep", "{\"seconds\":60}",
                           (const char *const[]){"--max-attempts", "1", NULL});
    pid_t w = start_worker(t), child = 0;
    WAIT_UNTIL((child = child_of(t, w, id)) > 0, 10000, "no child took job %lld", (long long)id);
    CHECK(db_exec_static(t->db, "UPDATE worker_instances SET state = 'lost'") == 0, "lost: %s",
          db_errstr(t->db));
    WAIT_UNTIL(kill(child, 0) != 0, 5000, "child %d still runs job %lld of a lost worker",
               (int)child, (long long)id);
    CHECK(t_log_has(t, w, "declared this worker lost"), "the worker never said it was lost");
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM worker_instances WHERE state = 'running'",
                         DB_NOP) == 1,
               5000, "the worker never came back");
    int64_t next = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(t_job_done(t, next), 10000, "no job ran once the worker came back");
}

/* A queued job's row another session holds locked (a cancel's FOR UPDATE, stalled) costs its
 * claim a lock wait, not the worker's heartbeat: the claim also holds the instance's row, which
 * the heartbeat updates, and waited for the job's row until the read timeout, past the lease,
 * so the worker fenced itself. Once the lock goes, the job runs, and the one behind it too. */
static void
test_locked_queued_row_no_fence(struct tenv *t)
{
    int64_t locked = t_enqueue(t, "System/Noop", NULL, NULL);
    int64_t behind = t_enqueue(t, "System/Noop", NULL, NULL);
    struct db *lk = lock_job_row(t, locked);
    pid_t w = start_worker(t);
    int64_t t0 = now_mono_ms();
    hold_without_fence(t, w, t0);
    CHECK(t_job_in_state(t, locked, "queued"), "job %lld left the queue while locked",
          (long long)locked);
    db_rollback(lk);
    db_free(lk);
    WAIT_UNTIL(t_job_done(t, locked) && t_job_done(t, behind), 15000,
               "the jobs never ran once the lock went");
}

/* FAULTS #11: the server answers a job row's change with a deadlock (1213), which rolls the
 * transaction back: twice at the claim, twice at the check-out. Each is tried again; the jobs
 * run once and succeed on their first attempt, and no change of state is lost. (A trigger
 * raises it; its counter is a MEMORY table, which the statement's rollback leaves alone.) */
static void
test_deadlocks_retried(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "CREATE TABLE deadlock_budget (what VARCHAR(16) PRIMARY KEY, "
                                "n INT) ENGINE=MEMORY") == 0 &&
              db_exec_static(t->db, "INSERT INTO deadlock_budget VALUES ('running', 2), "
                                    "('succeeded', 2)") == 0,
          "deadlock budget: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db,
                         "CREATE TRIGGER deadlock_on_change BEFORE UPDATE ON jobs FOR EACH ROW "
                         "IF NEW.state <> OLD.state AND (SELECT n FROM deadlock_budget WHERE "
                         "what = NEW.state) > 0 THEN UPDATE deadlock_budget SET n = n - 1 WHERE "
                         "what = NEW.state; SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, "
                         "MESSAGE_TEXT = 'Deadlock found when trying to get lock; try "
                         "restarting transaction'; END IF") == 0,
          "trigger: %s", db_errstr(t->db));
    int64_t a = t_enqueue(t, "System/Noop", NULL, NULL);
    int64_t b = t_enqueue(t, "System/Noop", NULL, NULL);
    pid_t w = start_worker(t);
    WAIT_UNTIL(t_job_done(t, a) && t_job_done(t, b), 20000, "jobs: %s, %s", t_job_state(t, a),
               t_job_state(t, b));
    CHECK(t_sql_int(t, -1, "SELECT SUM(n) FROM deadlock_budget", DB_NOP) == 0,
          "the four deadlocks did not all happen");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE id IN (?, ?) AND state = 'succeeded' AND "
                    "attempt = 1",
                    DB_P(DBI(a), DBI(b))) == 2 &&
              attempts_of(t, a) == 1 && attempts_of(t, b) == 1,
          "after the deadlocks: %s (%lld attempt rows), %s (%lld)", t_job_state(t, a),
          (long long)attempts_of(t, a), t_job_state(t, b), (long long)attempts_of(t, b));
    CHECK(t_log_has(t, w, "Deadlock found"), "the deadlocks are not logged");
    CHECK(db_exec_static(t->db, "DROP TRIGGER deadlock_on_change") == 0, "drop the trigger");
}

static const struct test_case cases[] = {
    {"e2e_lifecycle_noop_succeeds", test_noop_succeeds, NULL},
    {"e2e_lifecycle_deadlocks_retried", test_deadlocks_retried, NULL},
    {"e2e_lifecycle_fail_then_retry", test_fail_then_retry, NULL},
    {"e2e_lifecycle_duplicate_push_runs_once", test_duplicate_push_runs_once,
     "[worker]\nconcurrency = 4\n"},
    {"e2e_lifecycle_duplicate_while_running_runs_once", test_duplicate_while_running_runs_once,
     "[worker]\nconcurrency = 4\n"},
    {"e2e_lifecycle_kill9_worker_job_lost", test_kill9_worker_job_lost, NULL},
    {"e2e_lifecycle_crash_keeps_serving", test_crash_keeps_serving, NULL},
    {"e2e_lifecycle_respawn_after_refused_fork", test_respawn_after_refused_fork, NULL},
    {"e2e_lifecycle_unknown_action_retried", test_unknown_action_retried, NULL},
    {"e2e_lifecycle_children_sched_batch", test_children_sched_batch, NULL},
    {"e2e_lifecycle_timeout_kills", test_timeout_kills, "[worker]\nkill_grace_s = 1\n"},
    {"e2e_lifecycle_sigterm_drains", test_sigterm_drains, NULL},
    {"e2e_lifecycle_cancel_states", test_cancel_states, "[worker]\nkill_grace_s = 1\n"},
    {"e2e_lifecycle_mysql_restart", test_mysql_restart, NULL},
    {"e2e_lifecycle_sigterm_mysql_down", test_sigterm_mysql_down,
     "[worker]\ndrain_timeout_s = 1\nkill_grace_s = 1\n"},
    {"e2e_lifecycle_redis_flushall", test_redis_flushall, NULL},
    {"e2e_lifecycle_lost_instance_claims_rest", test_lost_instance_claims_rest,
     "[worker]\nheartbeat_s = 30\nlease_s = 60\n"},
    {"e2e_lifecycle_lost_worker_stops_its_jobs", test_lost_worker_stops_its_jobs,
     "[worker]\nheartbeat_s = 1\nlease_s = 30\n"},
    {"e2e_lifecycle_locked_queued_row_no_fence", test_locked_queued_row_no_fence,
     "[worker]\nlease_s = 6\nheartbeat_s = 1\n"},
    {"e2e_lifecycle_locked_row_no_fence", test_locked_row_no_fence,
     "[worker]\nconcurrency = 3\nlease_s = 6\nheartbeat_s = 1\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
