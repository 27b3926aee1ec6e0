/* End-to-end tests of jobfleet-scheduler: leader election and takeover, pickup of due jobs,
 * reconcile after Redis lost its queues, lease recovery, the watchdog, retention, flags, and
 * MariaDB and Redis restarts under a running scheduler (on private servers). */
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
sched_bin(void)
{
    return t_bin("jobfleet-scheduler");
}

/* The log path of a spawned process, found before it is reaped (reaping forgets the pid). */
static const char *
log_path(struct tenv *t, pid_t pid)
{
    for (int i = 0; i < t->n_procs; i++)
        if (t->procs[i].pid == pid)
            return t->procs[i].log_path;
    CHECK(false, "no spawned process %d", (int)pid);
    return NULL;
}

static int
path_count(const char *path, const char *needle)
{
    char *log = t_read_file(path);
    int n = log ? t_count(log, needle) : 0;
    free(log);
    return n;
}

static int
log_count(struct tenv *t, pid_t pid, const char *needle)
{
    return path_count(log_path(t, pid), needle);
}

/* The sum of the counts of a process's "reconcile: pushed N" lines. */
static int64_t
pushed_total(struct tenv *t, pid_t pid)
{
    const char *needle = "reconcile: pushed ";
    char *log = t_read_file(log_path(t, pid));
    int64_t sum = 0;
    for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        sum += strtoll(p + strlen(needle), NULL, 10);
    free(log);
    return sum;
}

static pid_t
start_leader(struct tenv *t)
{
    pid_t s = t_spawn(t, sched_bin(), NULL);
    WAIT_UNTIL(log_count(t, s, "became leader") == 1, 15000, "scheduler %d never led", (int)s);
    return s;
}

/* Stops a scheduler with SIGTERM and checks it released the lock and exited 0. */
static void
stop_cleanly(struct tenv *t, pid_t pid)
{
    const char *path = log_path(t, pid);
    t_signal(t, pid, SIGTERM);
    int st = t_wait_exit(t, pid, 15000);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "scheduler exit status %d", st);
    CHECK(path_count(path, "released lock") == 1, "no \"released lock\" line");
}

static bool
in_redis(struct tenv *t, const char *queue, int64_t id)
{
    bool missing = true;
    if (rq_missing(t->rq, queue, &id, 1, &missing) < 0 && !rq_connected(t->rq))
        rq_missing(t->rq, queue, &id, 1, &missing);
    return !missing;
}

static int64_t
queue_depth(struct tenv *t, const char *queue)
{
    int64_t n = rq_depth(t->rq, queue);
    return n < 0 ? rq_depth(t->rq, queue) : n;
}

/* A worker instance row whose last heartbeat is age_s seconds ago (negative: ahead). */
static int64_t
insert_instance(struct tenv *t, const char *state, int age_s)
{
    uint64_t id = 0;
    CHECK(db_exec(t->db,
                  "INSERT INTO worker_instances (host, pid, queues, concurrency, dt_started, "
                  "dt_heartbeat, state) VALUES ('test-host', 999999, 'default:1', 1, "
                  "NOW(6) - INTERVAL 1 HOUR, NOW(6) - INTERVAL ? SECOND, ?)",
                  DB_P(DBI(age_s), DBS(state)), NULL, &id) == 0,
          "insert instance: %s", db_errstr(t->db));
    return (int64_t)id;
}

/* A job running its first attempt on instance, with its deadline deadline_in_s from now. */
static int64_t
insert_running(struct tenv *t, int64_t instance, int max_attempts, int deadline_in_s)
{
    uint64_t id = 0;
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "attempt, max_attempts, timeout_s, dt_created, dt_queued, dt_started, "
                  "dt_deadline, instance_id) VALUES (UUID(), 'cli', 'default', 'System/Noop', "
                  "'{}', 'running', NOW(6) - INTERVAL 1 MINUTE, 1, ?, 60, "
                  "NOW(6) - INTERVAL 1 MINUTE, NOW(6) - INTERVAL 1 MINUTE, "
                  "NOW(6) - INTERVAL 1 MINUTE, NOW(6) + INTERVAL ? SECOND, ?)",
                  DB_P(DBI(max_attempts), DBI(deadline_in_s), DBI(instance)), NULL, &id) == 0,
          "insert running job: %s", db_errstr(t->db));
    return (int64_t)id;
}

static bool
reason_is(struct tenv *t, int64_t id, const char *reason)
{
    char *r = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    bool eq = r != NULL && strcmp(r, reason) == 0;
    free(r);
    return eq;
}

/* Inserts n queued System/Noop jobs (as enqueue would) and pushes them; returns the count. */
static int64_t
insert_queued(struct tenv *t, int n)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "max_attempts, timeout_s, dt_created, dt_queued) SELECT UUID(), 'cli', "
                  "'default', 'System/Noop', '{}', 'queued', NOW(6), 1, 60, NOW(6), NOW(6) "
                  "FROM seq_1_to_1000000 WHERE seq <= ?",
                  DB_P(DBI(n)), NULL, NULL) == 0,
          "insert queued jobs: %s", db_errstr(t->db));
    struct db_rows *r = db_query(t->db, "SELECT id FROM jobs WHERE state = 'queued'", DB_NOP);
    CHECK(r && r->n_rows == n, "queued rows: %s", db_errstr(t->db));
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    for (int i = 0; i < n; i++)
        ids[i] = db_rows_int(r, i, 0, 0);
    CHECK(rq_push(t->rq, "default", ids, NULL, n) == 0, "push: %s", rq_errstr(t->rq));
    free(ids);
    db_rows_free(r);
    return n;
}

/* Empties this test's queue in Redis. Not FLUSHALL: the Redis server is shared with the
 * tests running alongside, and wiping their queues would strand their jobs. */
static void
lose_redis_queue(struct tenv *t)
{
    char *key = rq_queue_key(t->rq, "default");
    const char *argv[] = {"DEL", key};
    CHECK(rq_command(t->rq, 2, argv) >= 0, "DEL %s: %s", key, rq_errstr(t->rq));
    free(key);
    CHECK(queue_depth(t, "default") == 0, "queue still holds IDs");
}

/* Starts two schedulers and waits until one leads and the other stands by. */
static void
start_pair(struct tenv *t, pid_t *leader, pid_t *standby)
{
    pid_t a = t_spawn(t, sched_bin(), NULL);
    pid_t b = t_spawn(t, sched_bin(), NULL);
    /* Decided once one leads and the other has waited out a GET_LOCK as standby. */
    WAIT_UNTIL(log_count(t, a, "became leader") + log_count(t, b, "became leader") == 1 &&
                   log_count(t, a, "standby") + log_count(t, b, "standby") == 1,
               15000, "expected one leader and one standby");
    *leader = log_count(t, a, "became leader") ? a : b;
    *standby = *leader == a ? b : a;
}

static void
test_single_leader(struct tenv *t)
{
    pid_t leader, standby;
    start_pair(t, &leader, &standby);
    CHECK(log_count(t, standby, "became leader") == 0, "both became leader");
    /* The lock is named after the database, so the other tests' schedulers on this server
     * (each with its own database) do not compete with these two. */
    char *name = xasprintf("jobfleet:%s:scheduler", t->db_name);
    CHECK(log_count(t, leader, name) >= 1, "lock name lacks the database: want %s", name);
    free(name);

    int64_t t0 = now_mono_ms();
    t_signal(t, leader, SIGKILL);
    WAIT_UNTIL(log_count(t, standby, "became leader") == 1, 10000, "standby never took over");
    int64_t took = now_mono_ms() - t0;
    fprintf(stderr, "takeover %lld ms after kill -9 of the leader\n", (long long)took);
    CHECK(took <= 2000, "takeover took %lld ms (limit 2000)", (long long)took);
    t_wait_gone(t, leader, 5000, "the killed leader");

    /* The new leader does the work. */
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(t_job_in_state(t, id, "queued") && in_redis(t, "default", id), 10000,
               "new leader did not queue job %lld", (long long)id);
    CHECK(log_count(t, standby, "lost leadership") == 0, "unexpected loss of leadership");
    stop_cleanly(t, standby);
}

/* A leader that stops without closing its connection (its host hung, powered off or cut off:
 * SIGSTOP here) frees the lock once its lock connection has idled two leases (10 s at least),
 * and a standby leads; the old leader, resumed, finds its connection gone and steps down.
 * Before, the server kept the session, and the lock, until TCP keepalive gave up (hours). */
static void
test_frozen_leader(struct tenv *t)
{
    pid_t leader, standby;
    start_pair(t, &leader, &standby);
    int64_t t0 = now_mono_ms();
    t_signal(t, leader, SIGSTOP);
    WAIT_UNTIL(log_count(t, standby, "became leader") == 1, 30000,
               "the standby never took over from a frozen leader");
    int64_t took = now_mono_ms() - t0;
    fprintf(stderr, "takeover %lld ms after the leader froze\n", (long long)took);
    CHECK(took >= 8000, "took over while the leader's lease was fresh (%lld ms)", (long long)took);
    t_signal(t, leader, SIGCONT);
    WAIT_UNTIL(log_count(t, leader, "lost leadership") == 1, 15000,
               "the resumed leader never stepped down");
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(t_job_in_state(t, id, "queued"), 10000, "the new leader does the work");
    stop_cleanly(t, standby);
    stop_cleanly(t, leader);
}

static void
test_pickup_due(struct tenv *t)
{
    pid_t s = start_leader(t);
    int64_t later = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1h", NULL});
    int64_t crit = t_enqueue(
        t, "System/Noop", NULL,
        (const char *const[]){"--in", "1s", "--queue", "critical", "--priority", "5", NULL});
    /* Enqueued last and checked at once, with seconds to spare: on a loaded machine each
     * ASan CLI run takes a while, and the check must still come before the job is due. */
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "4s", NULL});
    CHECK(t_job_in_state(t, id, "pending"), "a job due in 4 s should be pending");
    CHECK(!in_redis(t, "default", id), "a pending job must not be in Redis");
    WAIT_UNTIL(t_job_in_state(t, id, "queued"), 10000, "job %lld was never queued: %s",
               (long long)id, t_job_state(t, id));
    CHECK(t_sql_int(t, 0, "SELECT dt_queued >= run_at FROM jobs WHERE id = ?", DB_P(DBI(id))) == 1,
          "queued before it was due");
    /* The push follows the commit (invariant 1), so the ID may trail the state briefly. */
    WAIT_UNTIL(in_redis(t, "default", id), 2000, "job %lld queued but not in Redis", (long long)id);
    WAIT_UNTIL(t_job_in_state(t, crit, "queued") && in_redis(t, "critical", crit), 10000,
               "job in queue \"critical\" was not pushed there");
    CHECK(!in_redis(t, "default", crit), "job pushed to the wrong queue");
    CHECK(t_job_in_state(t, later, "pending") && !in_redis(t, "default", later),
          "a job due in an hour was picked up");
    stop_cleanly(t, s);
}

/* Scheduler only: Redis lost its queue, the scheduler pushes every queued ID again, in
 * batches (batch_size 300 makes it take several, carried across ticks by the cursor). */
static void
test_reconcile_repushes(struct tenv *t)
{
    insert_queued(t, 1000);
    CHECK(queue_depth(t, "default") == 1000, "pushed 1000");
    lose_redis_queue(t);
    int64_t t0 = now_mono_ms();
    pid_t s = start_leader(t);
    WAIT_UNTIL(queue_depth(t, "default") == 1000, 30000, "Redis holds %lld of 1000 IDs",
               (long long)queue_depth(t, "default"));
    fprintf(stderr, "reconcile restored 1000 IDs %lld ms after start (requeue_after_s = 2)\n",
            (long long)(now_mono_ms() - t0));
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP) == 1000,
          "jobs changed state");
    /* Each ID pushed exactly once, over more than one tick (the log line is per tick). */
    WAIT_UNTIL(pushed_total(t, s) >= 1000, 5000, "log reports %lld pushes",
               (long long)pushed_total(t, s));
    CHECK(pushed_total(t, s) == 1000, "pushed %lld IDs for 1000 lost",
          (long long)pushed_total(t, s));
    CHECK(log_count(t, s, "reconcile: pushed") >= 2, "expected batches over several ticks");
    /* A job pushed by pickup is not pushed again once reconcile's window covers it. */
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(t_job_in_state(t, id, "queued") && in_redis(t, "default", id), 10000,
               "pickup stalled");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT dt_queued < NOW(6) - INTERVAL 3 SECOND FROM jobs "
                         "WHERE id = ?",
                         DB_P(DBI(id))) == 1,
               10000, "time stands still");
    CHECK(queue_depth(t, "default") == 1001, "depth %lld", (long long)queue_depth(t, "default"));
    CHECK(pushed_total(t, s) == 1000, "reconcile pushed IDs Redis held");
    stop_cleanly(t, s);
}

/* With a worker: Redis lost 1,000 queued IDs; scheduler and worker together run every job
 * exactly once. */
static void
test_reconcile_runs_once(struct tenv *t)
{
    insert_queued(t, 1000);
    lose_redis_queue(t);
    int64_t t0 = now_mono_ms();
    start_leader(t);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP) == 1000,
        120000, "%lld of 1000 jobs succeeded",
        (long long)t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP));
    fprintf(stderr, "1000 lost jobs ran %lld ms after start\n", (long long)(now_mono_ms() - t0));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts", DB_NOP) == 1000,
          "job_attempts rows: %lld",
          (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts", DB_NOP));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE attempt <> 1", DB_NOP) == 0,
          "a job ran more than once");
}

static void
test_lease_recovery(struct tenv *t)
{
    int64_t dead = insert_instance(t, "running", 60);
    int64_t stopped = insert_instance(t, "stopped", 60);
    int64_t alive = insert_instance(t, "running", -3600);
    int64_t j_fail = insert_running(t, dead, 1, 300);
    int64_t j_retry = insert_running(t, dead, 3, 300);
    int64_t j_stopped = insert_running(t, stopped, 1, 300);
    int64_t j_alive = insert_running(t, alive, 1, 300);
    int64_t t0 = now_mono_ms();
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_job_in_state(t, j_fail, "failed"), 10000, "job on a dead worker: %s",
               t_job_state(t, j_fail));
    int64_t took = now_mono_ms() - t0;
    fprintf(stderr, "job of a dead worker failed %lld ms after scheduler start (lease 3 s)\n",
            (long long)took);
    CHECK(took <= 3000, "recovery took %lld ms, longer than the lease", (long long)took);
    CHECK(reason_is(t, j_fail, "worker lost"), "failure_reason");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND attempt = 1 AND "
                    "outcome = 'failed' AND reason = 'worker lost' AND instance_id = ?",
                    DB_P(DBI(j_fail), DBI(dead))) == 1,
          "attempt row of the lost job");
    CHECK(t_sql_int(t, 0, "SELECT state = 'lost' FROM worker_instances WHERE id = ?",
                    DB_P(DBI(dead))) == 1,
          "dead instance not marked lost");
    /* Attempts left: back to pending for a retry (or queued already, when its backoff was
     * short), never failed. */
    WAIT_UNTIL(reason_is(t, j_retry, "worker lost"), 5000, "retryable job not recovered");
    char *st = t_job_state(t, j_retry);
    CHECK(!strcmp(st, "pending") || !strcmp(st, "queued"), "retryable job is %s", st);
    free(st);
    WAIT_UNTIL(t_job_in_state(t, j_stopped, "failed") && reason_is(t, j_stopped, "worker lost"),
               5000, "job left running on a stopped instance");
    CHECK(t_sql_int(t, 0, "SELECT state = 'stopped' FROM worker_instances WHERE id = ?",
                    DB_P(DBI(stopped))) == 1,
          "stopped instance changed state");
    CHECK(t_job_in_state(t, j_alive, "running"), "job of a live worker was touched");
    CHECK(t_sql_int(t, 0, "SELECT state = 'running' FROM worker_instances WHERE id = ?",
                    DB_P(DBI(alive))) == 1,
          "live instance changed state");
    CHECK(log_count(t, s, "lost: no heartbeat") == 1, "one instance should be logged lost");
    stop_cleanly(t, s);
}

/* A host that died inside a transaction leaves its session, and the row locks it took, on the
 * server for hours (wait_timeout). Recovery finished its batch in one transaction and blocked
 * on the first such row: the lock wait ended the batch, the jobs of every other dead instance
 * with it, tick after tick. Rows another session holds are passed over now. */
static void
test_recovery_skips_locked_rows(struct tenv *t)
{
    int64_t dead = insert_instance(t, "running", 60);
    int64_t held = insert_running(t, dead, 1, -120);
    int64_t free_job = insert_running(t, dead, 1, -120);
    struct db *other = db_new(&t->cfg.mysql);
    CHECK(db_connect(other) == 0 && db_begin(other) == 0, "connect: %s", db_errstr(other));
    struct db_rows *r =
        db_query(other, "SELECT id FROM jobs WHERE id = ? FOR UPDATE", DB_P(DBI(held)));
    CHECK(r != NULL, "lock: %s", db_errstr(other));
    db_rows_free(r);
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_job_in_state(t, free_job, "failed"), 8000,
               "the job no session holds was not recovered: %s", t_job_state(t, free_job));
    CHECK(t_job_in_state(t, held, "running"), "the held job waits for its session");
    db_rollback(other);
    db_free(other);
    WAIT_UNTIL(t_job_in_state(t, held, "failed"), 8000, "the held job once free: %s",
               t_job_state(t, held));
    stop_cleanly(t, s);
}

/* A running job asked to cancel whose worker is lost ends cancelled with attempts left, and
 * gives its unique key back as every other cancel does: kept, it would hand this cancelled job
 * back as "existing" to every later enqueue of that key, which would then never run. */
static void
test_lease_recovery_cancel_frees_key(struct tenv *t)
{
    int64_t dead = insert_instance(t, "running", 60);
    int64_t j = insert_running(t, dead, 3, 300);
    CHECK(db_exec(t->db,
                  "UPDATE jobs SET cancel_requested = 1, unique_key = 'sync:acme' WHERE id = ?",
                  DB_P(DBI(j)), NULL, NULL) == 0,
          "ask to cancel");
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_job_in_state(t, j, "cancelled"), 10000, "the lost job ends cancelled: %s",
               t_job_state(t, j));
    CHECK(t_sql_int(t, -1,
                    "SELECT unique_key IS NULL AND is_success = 0 AND cancel_requested = 0 "
                    "FROM jobs WHERE id = ?",
                    DB_P(DBI(j))) == 1,
          "the cancelled job keeps no unique key");
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL,
                (const char *const[]){"enqueue", "System/Noop", "--unique-key", "sync:acme",
                                      "--json", NULL}) == 0,
          "enqueue: %s", out ? out : "");
    CHECK(out && !strstr(out, "\"existing\":true"), "a new job for the key: %s", out);
    free(out);
    stop_cleanly(t, s);
}

static void
test_watchdog(struct tenv *t)
{
    int64_t inst = insert_instance(t, "running", -3600);
    int64_t late = insert_running(t, inst, 1, -10);
    int64_t late_retry = insert_running(t, inst, 2, -10);
    int64_t in_time = insert_running(t, inst, 1, 300);
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_job_in_state(t, late, "failed"), 10000, "late job: %s", t_job_state(t, late));
    CHECK(reason_is(t, late, "timeout"), "failure_reason of the late job");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM job_attempts WHERE job_id = ? AND outcome = 'failed' "
                    "AND reason = 'timeout'",
                    DB_P(DBI(late))) == 1,
          "attempt row of the late job");
    WAIT_UNTIL(reason_is(t, late_retry, "timeout"), 5000, "retryable late job");
    char *st = t_job_state(t, late_retry);
    CHECK(!strcmp(st, "pending") || !strcmp(st, "queued"), "retryable late job is %s", st);
    free(st);
    CHECK(t_job_in_state(t, in_time, "running"), "a job within its deadline was touched");
    stop_cleanly(t, s);
}

/* Keeps instance inst's heartbeat fresh (its jobs are not the lease recovery's) and tells
 * whether job id is in state. */
static bool
alive_and_in_state(struct tenv *t, int64_t inst, int64_t id, const char *state)
{
    CHECK(db_exec(t->db, "UPDATE worker_instances SET dt_heartbeat = NOW(6) WHERE id = ?",
                  DB_P(DBI(inst)), NULL, NULL) == 0,
          "heartbeat: %s", db_errstr(t->db));
    return t_job_in_state(t, id, state);
}

/* timeout_grace_s below the worker's own stop: the worker times a job from its hand-over (up
 * to prefetch_wait_ms, 1 s, after the claim that set the deadline) and kills it kill_grace_s
 * (8 s) after its SIGTERM. A watchdog at the deadline plus 0 s retried the job while its first
 * attempt still ran; it waits at least 8 + 1 + 1 s now. */
static void
test_watchdog_waits_for_worker(struct tenv *t)
{
    int64_t inst = insert_instance(t, "running", 0);
    int64_t recent = insert_running(t, inst, 1, -3);
    int64_t old = insert_running(t, inst, 1, -30);
    pid_t s = start_leader(t);
    WAIT_UNTIL(alive_and_in_state(t, inst, old, "failed"), 15000, "the watchdog runs: %s",
               t_job_state(t, old));
    CHECK(t_job_in_state(t, recent, "running"),
          "a job 3 s past its deadline, which its worker may still be stopping, was failed");
    WAIT_UNTIL(alive_and_in_state(t, inst, recent, "failed") && reason_is(t, recent, "timeout"),
               15000, "the job is failed after the grace");
    stop_cleanly(t, s);
}

/* 1,200 audit_log rows of 400 days ago (more than a batch) and one of 300 days ago. */
static void
audit_rows(struct tenv *t)
{
    CHECK(db_exec_static(t->db,
                         "INSERT INTO audit_log (dt_created, actor, action, object_kind, "
                         "object_id) SELECT NOW(6) - INTERVAL 400 DAY, 'admin', 'retry', 'job', "
                         "seq FROM seq_1_to_1200") == 0,
          "insert audit_log: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db, "INSERT INTO audit_log (dt_created, actor, action, object_kind, "
                                "object_id) VALUES (NOW(6) - INTERVAL 300 DAY, 'admin', 'pause', "
                                "'queue', 'recent')") == 0,
          "insert audit_log");
}

static void
test_retention(struct tenv *t)
{
    const char *ins = "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                      "attempt, max_attempts, dt_created, dt_completed, is_success) VALUES "
                      "(UUID(), 'cli', 'default', 'System/Noop', '{}', ?, NOW(6), 1, 1, "
                      "NOW(6) - INTERVAL ? DAY, NOW(6) - INTERVAL ? DAY, 1)";
    uint64_t old_ok = 0, new_ok = 0, old_failed = 0;
    CHECK(db_exec(t->db, ins, DB_P(DBS("succeeded"), DBI(21), DBI(20)), NULL, &old_ok) == 0,
          "insert: %s", db_errstr(t->db));
    CHECK(db_exec(t->db, ins, DB_P(DBS("succeeded"), DBI(2), DBI(1)), NULL, &new_ok) == 0, "i");
    CHECK(db_exec(t->db, ins, DB_P(DBS("failed"), DBI(21), DBI(20)), NULL, &old_failed) == 0, "i");
    uint64_t ids[] = {old_ok, new_ok, old_failed};
    for (int i = 0; i < 3; i++)
        CHECK(db_exec(t->db,
                      "INSERT INTO job_attempts (job_id, attempt, dt_completed, outcome) "
                      "VALUES (?, 1, NOW(6), 'succeeded')",
                      DB_P(DBI(ids[i])), NULL, NULL) == 0,
              "insert attempt");
    for (int i = 0; i < 3; i++)
        CHECK(db_exec(t->db,
                      "INSERT INTO job_memos (job_id, name, value, dt_updated) VALUES (?, 'm', "
                      "'v', NOW(6))",
                      DB_P(DBI(ids[i])), NULL, NULL) == 0,
              "insert memo: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db, "INSERT INTO webhook_log (dt_received, path, status) VALUES "
                                "(NOW(6) - INTERVAL 30 DAY, '/webhook/old', 202), "
                                "(NOW(6), '/webhook/new', 202)") == 0,
          "insert webhook_log");
    /* Every worker start adds an instance row and nothing deleted them (the dashboard's
     * /workers page took 60 ms at 220,000): stopped and lost ones go after retention_days, not a
     * worker running for 30 days, nor a recent one. */
    CHECK(db_exec_static(t->db,
                         "INSERT INTO worker_instances (host, pid, queues, concurrency, "
                         "dt_started, dt_heartbeat, state) VALUES "
                         "('old', 1, 'default', 1, NOW(6) - INTERVAL 30 DAY, NOW(6) - INTERVAL 30 "
                         "DAY, 'stopped'), ('old', 2, 'default', 1, NOW(6) - INTERVAL 30 DAY, "
                         "NOW(6) - INTERVAL 30 DAY, 'lost'), ('old', 3, 'default', 1, NOW(6) - "
                         "INTERVAL 30 DAY, NOW(6), 'running'), ('new', 4, "
                         "'default', 1, NOW(6), NOW(6) - INTERVAL 1 HOUR, 'stopped')") == 0,
          "insert worker_instances: %s", db_errstr(t->db));
    audit_rows(t);
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE id = ?", DB_P(DBI(old_ok))) == 0,
               10000, "old succeeded job kept");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?",
                    DB_P(DBI(old_ok))) == 0,
          "attempts of a deleted job kept");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE id IN (?, ?)",
                    DB_P(DBI(new_ok), DBI(old_failed))) == 2,
          "retention deleted a recent or a failed job");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts", DB_NOP) == 2, "attempts lost");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_memos WHERE job_id = ?", DB_P(DBI(old_ok))) ==
                  0 &&
              t_sql_int(t, 0, "SELECT COUNT(*) FROM job_memos", DB_NOP) == 2,
          "the memos of a deleted job kept, or others' deleted");
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log WHERE path = '/webhook/old'",
                         DB_NOP) == 0,
               5000, "old webhook_log row kept");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == 1, "new row deleted");
    WAIT_UNTIL(
        t_sql_int(t, -1, "SELECT COUNT(*) FROM worker_instances WHERE pid IN (1, 2)", DB_NOP) == 0,
        5000, "stopped or lost instances of 30 days ago kept");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM worker_instances WHERE pid IN (3, 4)", DB_NOP) ==
              2,
          "a running instance, or a recent one, deleted");
    /* audit_log keeps its own window ([scheduler] audit_retention_days, 365 by default). */
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == 1, 10000,
               "1,200 audit_log rows of 400 days ago not deleted");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log WHERE object_id = 'recent'", DB_NOP) ==
              1,
          "a row of 300 days ago deleted");
    stop_cleanly(t, s);
}

/* With audit_retention_days = 0 audit_log is kept for good, while the rest's retention runs. */
static void
test_retention_audit_kept(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO webhook_log (dt_received, path, status) VALUES "
                                "(NOW(6) - INTERVAL 30 DAY, '/webhook/old', 202)") == 0,
          "insert webhook_log");
    audit_rows(t);
    pid_t s = start_leader(t);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == 0, 10000,
               "retention never ran");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == 1201,
          "audit_log rows deleted with audit_retention_days = 0");
    stop_cleanly(t, s);
}

/* Runs the scheduler with args (after the harness's own --config) and returns its exit
 * status; *out gets its output. */
static int
run_flags(struct tenv *t, const char *const *args, char **out)
{
    pid_t p = t_spawn(t, sched_bin(), args);
    const char *path = log_path(t, p);
    char *saved = xstrdup(path);
    int st = t_wait_exit(t, p, 15000);
    CHECK(st != -1 && WIFEXITED(st), "scheduler %s did not exit", args[0]);
    *out = t_read_file(saved);
    free(saved);
    return WEXITSTATUS(st);
}

static void
test_flags(struct tenv *t)
{
    char *out = NULL;
    CHECK(run_flags(t, (const char *const[]){"--help", NULL}, &out) == 0, "--help exit");
    CHECK(strstr(out, "usage: jobfleet-scheduler") && strstr(out, "--check-config") &&
              strstr(out, "--config PATH"),
          "--help text: %s", out);
    free(out);
    CHECK(run_flags(t, (const char *const[]){"--check-config", NULL}, &out) == 0,
          "--check-config of a good file: %s", out);
    free(out);
    CHECK(run_flags(t, (const char *const[]){"--frobnicate", NULL}, &out) == 2, "unknown flag");
    CHECK(t_count(out, "\n") == 1 && strstr(out, "--frobnicate"), "one line: %s", out);
    free(out);
    char *bad = xasprintf("%s/bad.conf", t->dir);
    FILE *fp = fopen(bad, "w");
    CHECK(fp != NULL, "write %s", bad);
    fputs("[scheduler]\ntick_ms = often\n", fp);
    fclose(fp);
    CHECK(run_flags(t, (const char *const[]){"--config", bad, NULL}, &out) == 2, "bad config");
    CHECK(t_count(out, "\n") == 1 && strstr(out, "tick_ms"), "one line naming the key: %s", out);
    free(out);
    CHECK(run_flags(t, (const char *const[]){"--config", bad, "--check-config", NULL}, &out) == 2,
          "--check-config of a bad file");
    free(out);
    free(bad);
}

static void
test_mysql_restart(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t s = start_leader(t);
    int64_t before = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(t_job_in_state(t, before, "queued") && in_redis(t, "default", before), 10000,
               "job before the restart");

    tsrv_stop_mysql(&srv);
    WAIT_UNTIL(log_count(t, s, "lost leadership") == 1, 10000, "outage not noticed");
    tsrv_start_mysql(&srv);
    WAIT_UNTIL(log_count(t, s, "became leader") == 2, 30000, "never led again");
    int64_t after = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(t_job_in_state(t, after, "queued") && in_redis(t, "default", after), 15000,
               "job after the restart: %s", t_job_state(t, after));
    CHECK(waitpid(s, NULL, WNOHANG) == 0, "the scheduler exited");
    /* One line when the outage began and one when it ended, not one per tick. */
    CHECK(log_count(t, s, "MariaDB (lock connection) unavailable") == 1, "outage logged %d times",
          log_count(t, s, "MariaDB (lock connection) unavailable"));
    CHECK(log_count(t, s, "MariaDB unavailable") <= 1, "main connection outage logged often");
    stop_cleanly(t, s);
    tsrv_stop(t, &srv);
}

/* Whether job id is still running once ms milliseconds have passed since the monotonic time
 * since_ms. */
static bool
running_after(struct tenv *t, int64_t id, int64_t since_ms, int64_t ms)
{
    WAIT_UNTIL(now_mono_ms() - since_ms >= ms, ms + 1000, "time passes");
    return t_job_in_state(t, id, "running");
}

/* After a MariaDB outage the workers hold the outcomes they could not write, and their
 * heartbeats are stale: the watchdog and the lease recovery wait a lease before ending jobs
 * that may have finished, whether this scheduler saw the outage or started just after it (a
 * host reboot; it reads the server's uptime). Before, a job whose deadline passed during the
 * outage was timed out at the first tick, and its success, written a moment later, lost. */
static void
test_outage_grace(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t s = start_leader(t);
    int64_t alive = insert_instance(t, "running", -3600);
    int64_t j = insert_running(t, alive, 1, 2);
    int64_t deadline = now_mono_ms() + 2000;
    tsrv_stop_mysql(&srv);
    WAIT_UNTIL(log_count(t, s, "lost leadership") == 1, 10000, "outage not noticed");
    WAIT_UNTIL(now_mono_ms() > deadline + 500, 5000, "the deadline passes during the outage");
    tsrv_start_mysql(&srv);
    WAIT_UNTIL(log_count(t, s, "became leader") == 2, 30000, "never led again");
    int64_t back = now_mono_ms();
    CHECK(running_after(t, j, back, 1500), "the watchdog waited for the workers: %s",
          t_job_state(t, j));
    WAIT_UNTIL(reason_is(t, j, "timeout"), 15000, "the job is timed out after the grace");
    stop_cleanly(t, s);
    /* A scheduler started on a server that has just started. */
    int64_t dead = insert_instance(t, "running", 60);
    int64_t k = insert_running(t, dead, 1, 300);
    tsrv_stop_mysql(&srv);
    tsrv_start_mysql(&srv);
    s = start_leader(t);
    back = now_mono_ms();
    CHECK(running_after(t, k, back, 1000), "the lease recovery waited for the workers: %s",
          t_job_state(t, k));
    WAIT_UNTIL(reason_is(t, k, "worker lost"), 15000, "the job is recovered after the grace");
    stop_cleanly(t, s);
    tsrv_stop(t, &srv);
}

static void
test_redis_restart(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    pid_t s = start_leader(t);
    tsrv_stop_redis(&srv);
    /* Due while Redis is down: the scheduler must push it once Redis is back. */
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    WAIT_UNTIL(log_count(t, s, "Redis unavailable") == 1, 10000, "Redis outage not noticed");
    tsrv_start_redis(&srv);
    WAIT_UNTIL(in_redis(t, "default", id), 20000, "job %lld not pushed after Redis came back",
               (long long)id);
    CHECK(t_job_in_state(t, id, "queued"), "job state");
    CHECK(waitpid(s, NULL, WNOHANG) == 0, "the scheduler exited");
    CHECK(log_count(t, s, "Redis unavailable") == 1, "outage logged more than once");
    CHECK(log_count(t, s, "Redis available again") == 1, "no recovery line");
    stop_cleanly(t, s);
    tsrv_stop(t, &srv);
}

/* A scheduler whose host clock runs ten minutes fast (libfaketime) cannot read MariaDB's clock
 * at its first cron steps (the test build's fault point: a lost connection): it fired by its
 * own clock before, the next five-minute fire ahead of time. It waits a tick now. */
static void
test_cron_waits_for_db_clock(struct tenv *t)
{
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "every5", "*/5 * * * *", "System/Noop",
                                      NULL}) == 0,
          "cron add");
    int64_t later = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "2s", NULL});
    FILE *p = popen("ls /usr/lib/*/faketime/libfaketimeMT.so.1 | head -1", "r");
    char path[256] = "";
    CHECK(p && fgets(path, sizeof(path), p), "libfaketime is installed");
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    setenv("LD_PRELOAD", path, 1);
    setenv("FAKETIME", "+600s", 1);
    setenv("DONT_FAKE_MONOTONIC", "1", 1);
    setenv("FAKETIME_NO_CACHE", "1", 1);
    const char *asan = getenv("ASAN_OPTIONS");
    char *asan_was = asan ? xstrdup(asan) : NULL;
    char *asan_now = xasprintf("%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");
    setenv("ASAN_OPTIONS", asan_now, 1);
    setenv("JOBFLEET_FAULT_POINT", "cron.now", 1);
    setenv("JOBFLEET_FAULT_ACTION", "fail:3", 1);
    pid_t s = t_spawn(t, sched_bin(), NULL);
    unsetenv("LD_PRELOAD");
    unsetenv("FAKETIME");
    unsetenv("DONT_FAKE_MONOTONIC");
    unsetenv("FAKETIME_NO_CACHE");
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    if (asan_was)
        setenv("ASAN_OPTIONS", asan_was, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(asan_was);
    free(asan_now);
    /* The job due in 2 s is queued by a later tick: the cron steps before it have run. */
    WAIT_UNTIL(t_job_in_state(t, later, "queued"), 15000, "the due job: %s", t_job_state(t, later));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE origin = 'cron' AND cron_fire_time > NOW()",
                    DB_NOP) == 0,
          "a cron fire was made ahead of its time");
    /* The step's own warning: the test's database name, which the log shows, holds "cron". */
    /* Waited for: a slow start may queue the job in the tick whose cron step then fails. */
    WAIT_UNTIL(log_count(t, s, "warn: cron: ") >= 1, 5000, "the skipped step is logged");
    stop_cleanly(t, s);
}

/* A tick longer than the lock connection's idle timeout (two leases, at least 10 s): the
 * server closed the idle lock connection between ticks, so at every tick the leader "lost
 * leadership", reconnected, took the lock again and, taking the reconnect for an outage,
 * skipped the watchdog and the lease recovery for good. */
static void
test_long_tick(struct tenv *t)
{
    int64_t id = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "5s", NULL});
    int64_t spawned = now_mono_ms();
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    /* The first tick finds the job not yet due; the second, 11 s later, queues it. */
    WAIT_UNTIL(t_job_in_state(t, id, "queued"), 30000, "the second tick never queued the job");
    CHECK(now_mono_ms() - spawned >= 10000,
          "queued %lld ms after the start: by the first tick, so no idle gap was tested",
          (long long)(now_mono_ms() - spawned));
    CHECK(log_count(t, s, "lost leadership") == 0 && log_count(t, s, "became leader") == 1,
          "the leader kept its lock across an 11 s tick");
    stop_cleanly(t, s);
}

static const struct test_case cases[] = {
    {"e2e_scheduler_single_leader", test_single_leader, NULL},
    {"e2e_scheduler_long_tick", test_long_tick,
     "[worker]\nlease_s = 2\n\n[scheduler]\ntick_ms = 11000\n"},
    {"e2e_scheduler_frozen_leader", test_frozen_leader, "[worker]\nlease_s = 3\n"},
    {"e2e_scheduler_pickup_due", test_pickup_due, NULL},
    {"e2e_scheduler_reconcile_repushes", test_reconcile_repushes,
     "[scheduler]\nbatch_size = 300\n"},
    {"e2e_scheduler_reconcile_runs_once", test_reconcile_runs_once, "[worker]\nconcurrency = 4\n"},
    {"e2e_scheduler_lease_recovery_cancel_frees_key", test_lease_recovery_cancel_frees_key, NULL},
    {"e2e_scheduler_lease_recovery", test_lease_recovery, "[worker]\nlease_s = 3\n"},
    {"e2e_scheduler_recovery_skips_locked_rows", test_recovery_skips_locked_rows,
     "[worker]\nlease_s = 3\n"},
    {"e2e_scheduler_watchdog", test_watchdog, NULL},
    {"e2e_scheduler_watchdog_waits_for_worker", test_watchdog_waits_for_worker,
     "[worker]\nkill_grace_s = 8\n\n[scheduler]\ntimeout_grace_s = 0\n"},
    {"e2e_scheduler_retention", test_retention, NULL},
    {"e2e_scheduler_retention_audit_kept", test_retention_audit_kept,
     "[scheduler]\naudit_retention_days = 0\n"},
    {"e2e_scheduler_flags", test_flags, NULL},
    {"e2e_scheduler_mysql_restart", test_mysql_restart, NULL},
    {"e2e_scheduler_redis_restart", test_redis_restart, NULL},
    {"e2e_scheduler_cron_waits_for_db_clock", test_cron_waits_for_db_clock, NULL},
    {"e2e_scheduler_outage_grace", test_outage_grace,
     "[worker]\nlease_s = 4\n\n[scheduler]\ntimeout_grace_s = 0\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
