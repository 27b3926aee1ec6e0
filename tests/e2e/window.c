/* End-to-end tests of the worker's claim-ahead window ([worker] prefetch): jobs claimed ahead
 * of idle children are checked in, recovered by the lease when the worker dies, handed back
 * at once on SIGTERM (a cancel asked for meanwhile still holding), and handed back to idle
 * workers elsewhere when they wait too long; the default window stays at one job per child for
 * jobs too long to start within 20 ms and grows until claims are full statements for short
 * ones; short jobs handed ahead to a busy child whose job then
 * runs long are taken back and run by another child; the window's gauges show what it holds. */
#include "thttp.h"
#include "tproducer.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define N_JOBS 6 /* 2 children + a window of 4 */

static int64_t
instance_of(struct tenv *t, pid_t w)
{
    return t_sql_int(t, 0, "SELECT id FROM worker_instances WHERE pid = ?", DB_P(DBI(w)));
}

static int64_t
count(struct tenv *t, const char *sql)
{
    return t_sql_int(t, -1, sql, DB_NOP);
}

/* Has the worker serve its metrics on a free port (the test config gains the line; call it
 * before the worker starts) and writes their URL into url. */
static void
worker_metrics_on(struct tenv *t, char *url, size_t len)
{
    int port = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp, "[worker]\nmetrics_listen = 127.0.0.1:%d\n", port);
    fclose(fp);
    snprintf(url, len, "http://127.0.0.1:%d/metrics", port);
}

/* True once url answers 200: a worker serves its metrics a moment after it starts. */
static bool
scrape_up(const char *url)
{
    struct t_http_resp r;
    t_http("GET", url, NULL, 0, NULL, &r);
    bool up = r.status == 200;
    t_http_release(&r);
    return up;
}

/* Enqueues n jobs before any worker runs, so that the first pop finds them all. */
static void
enqueue_sleeps(struct tenv *t, int64_t *ids, int n, const char *seconds, const char *attempts)
{
    char params[64];
    snprintf(params, sizeof(params), "{\"seconds\":%s}", seconds);
    for (int i = 0; i < n; i++)
        ids[i] = t_enqueue(t, "System/Sleep", params,
                           (const char *const[]){"--max-attempts", attempts, NULL});
}

/* How many times the workers' logs say a job ran to success (debug level in tests). */
static int
runs_of(struct tenv *t, int64_t id)
{
    return t_attempt_lines(t, id, " succeeded");
}

/* How many jobs the worker started in a child (debug level in tests). */
static int
started(struct tenv *t, pid_t w)
{
    /* The child's word, not the supervisor's "started" (written to the child, which may not
     * have taken it yet: a drain then hands it back, rightly). */
    return t_log_count(t, w, " taken by its child");
}

/* How many jobs the supervisor wrote to a child: it logs "started" after the write, so the
 * child may have taken a job (and said so) before this counts it. */
static int
written_to_children(struct tenv *t, pid_t w)
{
    return t_log_count(t, w, " attempt 1 started ");
}

/* Enqueues N_JOBS 3-second jobs (one attempt each), starts a worker and waits until its two
 * children run two of them and its window holds the other four (the supervisor's log says
 * which started); returns the worker. */
static pid_t
fill_window(struct tenv *t, int64_t *ids)
{
    enqueue_sleeps(t, ids, N_JOBS, "3", "1");
    pid_t w = t_start_worker(t, NULL);
    WAIT_UNTIL(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'running'") == N_JOBS, 10000,
               "the worker never claimed all %d jobs", N_JOBS);
    WAIT_UNTIL(started(t, w) == 2 && written_to_children(t, w) == 2, 5000,
               "the children never started their jobs");
    return w;
}

static void
test_kill9_full_window_loses_nothing(struct tenv *t)
{
    int64_t ids[N_JOBS];
    enqueue_sleeps(t, ids, N_JOBS, "2", "2");
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    pid_t w[2];
    w[0] = t_start_worker(t, NULL);
    int64_t inst = instance_of(t, w[0]);
    /* Two run in the children, four wait in the window: all six are checked in. */
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND "
                         "instance_id = ?",
                         DB_P(DBI(inst))) == N_JOBS,
               10000, "the worker never claimed all %d jobs", N_JOBS);
    WAIT_UNTIL(started(t, w[0]) == 2, 5000, "the children never started their jobs");
    kill(w[0], SIGKILL);
    t_wait_gone(t, w[0], 5000, "the killed worker");
    w[1] = t_start_worker(t, NULL);
    /* lease_s = 5 in the test config: the lease recovers all six, the retries run on w[1]. */
    for (int i = 0; i < N_JOBS; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), 40000, "job %lld stayed %s", (long long)ids[i],
                   t_job_state(t, ids[i]));
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") == N_JOBS,
          "every job succeeded in the end (nothing lost)");
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts WHERE outcome = 'succeeded'") == N_JOBS &&
              count(t, "SELECT COUNT(DISTINCT job_id) FROM job_attempts WHERE outcome = "
                       "'succeeded'") == N_JOBS,
          "one successful attempt per job");
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts WHERE reason = 'worker lost'") == N_JOBS,
          "the lease recovered all %d checked-in jobs, the window's too", N_JOBS);
    for (int i = 0; i < N_JOBS; i++)
        CHECK(runs_of(t, ids[i]) == 1, "job %lld ran to success %d times, not once",
              (long long)ids[i], runs_of(t, ids[i]));
}

/* The jobs worker w's log says it handed back: the sum of its "N job(s) claimed ahead handed
 * back" lines. */
static int
handed_back_sum(struct tenv *t, pid_t w)
{
    char *log = t_log(t, w);
    const char *needle = " job(s) claimed ahead handed back to their queues";
    int sum = 0;
    for (char *p = log; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        char *q = p;
        while (q > log && q[-1] >= '0' && q[-1] <= '9')
            q--;
        sum += atoi(q);
    }
    free(log);
    return sum;
}

static void
test_sigterm_hands_back_at_once(struct tenv *t)
{
    int64_t ids[N_JOBS];
    pid_t w[2];
    w[0] = fill_window(t, ids);
    int64_t term_at = now_mono_ms();
    kill(w[0], SIGTERM);
    /* The four in the window are queued again, their attempt given back, while the two
     * running jobs still have seconds to go. */
    WAIT_UNTIL(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempt = 0 AND "
                        "instance_id IS NULL AND dt_started IS NULL") == N_JOBS - 2,
               2500, "the window was not handed back at once");
    CHECK(now_mono_ms() - term_at < 2500, "hand-back took %lld ms",
          (long long)(now_mono_ms() - term_at));
    /* All four in one transaction, logged after it commits and the IDs are pushed. */
    WAIT_UNTIL(t_log_has(t, w[0], "4 job(s) claimed ahead handed back to their queues"), 2500,
               "the drain did not hand back its window at once: %d in all",
               handed_back_sum(t, w[0]));
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state IN ('running', 'succeeded') AND "
                   "attempt = 1") == 2,
          "the running jobs go on during the drain");
    /* The row first, then the ID (invariant 1). */
    WAIT_UNTIL(rq_depth(t->rq, "default") == N_JOBS - 2, 1000,
               "the IDs are not back in Redis (%lld)", (long long)rq_depth(t->rq, "default"));
    int status = t_wait_exit(t, w[0], 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "worker should exit 0 after draining (status %d)", status);
    w[1] = t_start_worker(t, NULL);
    for (int i = 0; i < N_JOBS; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 20000, "job %lld is %s",
                   (long long)ids[i], t_job_state(t, ids[i]));
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == N_JOBS, "one attempt row per job");
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE attempt <> 1") == 0,
          "a hand-back costs no attempt (max_attempts is 1)");
    for (int i = 0; i < N_JOBS; i++)
        CHECK(runs_of(t, ids[i]) == 1, "job %lld ran %d times", (long long)ids[i],
              runs_of(t, ids[i]));
}

/* The window's gauges, as an operator scrapes them: with both children busy on 2-second jobs,
 * the four others wait in the window and the gauges say so (held 4 of a limit of 4, the
 * prefetch); once all have run, the window is empty and the cycle time the window is sized by
 * is about the jobs' run time. */
static void
test_gauges_show_the_window(struct tenv *t)
{
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    int64_t ids[N_JOBS];
    enqueue_sleeps(t, ids, N_JOBS, "2", "1");
    t_start_worker(t, NULL);
    WAIT_UNTIL(scrape_up(url), 5000, "the worker never served %s", url);
    WAIT_UNTIL(t_metric(url, "jobfleet_worker_window_jobs") == N_JOBS - 2, 10000,
               "jobfleet_worker_window_jobs is %g, expected %d with both children busy",
               t_metric(url, "jobfleet_worker_window_jobs"), N_JOBS - 2);
    CHECK(t_metric(url, "jobfleet_worker_window_limit") == 4,
          "jobfleet_worker_window_limit is %g, expected 4 ([worker] prefetch)",
          t_metric(url, "jobfleet_worker_window_limit"));
    CHECK(t_metric(url, "jobfleet_worker_slots_busy") == 2, "jobfleet_worker_slots_busy is %g",
          t_metric(url, "jobfleet_worker_slots_busy"));
    for (int i = 0; i < N_JOBS; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 20000, "job %lld is %s",
                   (long long)ids[i], t_job_state(t, ids[i]));
    WAIT_UNTIL(t_metric(url, "jobfleet_worker_window_jobs") == 0, 5000,
               "jobfleet_worker_window_jobs is %g with every job done",
               t_metric(url, "jobfleet_worker_window_jobs"));
    double cycle = t_metric(url, "jobfleet_worker_job_cycle_seconds");
    CHECK(cycle >= 1.5 && cycle <= 10, "jobfleet_worker_job_cycle_seconds is %g for 2 s jobs",
          cycle);
}

/* True when worker w's log says it started job id in a child (debug level in tests). */
static bool
started_job(struct tenv *t, pid_t w, int64_t id)
{
    char *log = t_log(t, w);
    char *line = xasprintf("job %lld attempt 1 started ", (long long)id);
    bool yes = log && strstr(log, line) != NULL;
    free(line);
    free(log);
    return yes;
}

/* Cancels (with the CLI) the jobs of ids that wait in w's window, filling waiting with them;
 * returns how many (checked to be all but the two running). */
static int
cancel_waiting(struct tenv *t, pid_t w, const int64_t *ids, int64_t *waiting)
{
    int n_waiting = 0;
    for (int i = 0; i < N_JOBS; i++)
        if (!started_job(t, w, ids[i]))
            waiting[n_waiting++] = ids[i];
    CHECK(n_waiting == N_JOBS - 2, "%d jobs wait in the window, not %d", n_waiting, N_JOBS - 2);
    for (int i = 0; i < n_waiting; i++) {
        char id[32];
        snprintf(id, sizeof(id), "%lld", (long long)waiting[i]);
        CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cancel", id, NULL}) == 0, "cancel job %s",
              id);
    }
    return n_waiting;
}

/* Jobs cancelled while they wait in the window end cancelled within the cancel poll, unstarted,
 * while the running jobs go on. They waited for a child before, started, and were stopped only
 * after their start. */
static void
test_cancel_in_window(struct tenv *t)
{
    int64_t ids[N_JOBS];
    pid_t w = fill_window(t, ids);
    int64_t waiting[N_JOBS];
    int n_waiting = cancel_waiting(t, w, ids, waiting);
    for (int i = 0; i < n_waiting; i++)
        WAIT_UNTIL(t_job_in_state(t, waiting[i], "cancelled"), 2500,
                   "job %lld, cancelled in the window, is %s", (long long)waiting[i],
                   t_job_state(t, waiting[i]));
    /* 3 s jobs: on a slow machine they may be done by now. */
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state IN ('running', 'succeeded') AND "
                   "attempt = 1") == 2,
          "the running jobs go on");
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'cancelled' AND attempt = 0") ==
              n_waiting,
          "the cancelled jobs never started");
}

/* A queue paused while its jobs wait in the window: they go back to their queue unstarted
 * within the workers' settings read (twice a second), while the running jobs go on. They
 * waited for a child before, and started when one came free, however long after the pause.
 * Resumed, each runs once. */
static void
test_pause_hands_back_window(struct tenv *t)
{
    int64_t ids[N_JOBS];
    pid_t w = fill_window(t, ids);
    int64_t waiting[N_JOBS];
    int n_waiting = 0;
    for (int i = 0; i < N_JOBS; i++)
        if (!started_job(t, w, ids[i]))
            waiting[n_waiting++] = ids[i];
    CHECK(n_waiting == N_JOBS - 2, "%d jobs wait in the window, not %d", n_waiting, N_JOBS - 2);
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"queue", "pause", "default", NULL}) == 0,
          "queue pause");
    for (int i = 0; i < n_waiting; i++)
        WAIT_UNTIL(t_job_in_state(t, waiting[i], "queued"), 10000,
                   "job %lld, waiting in the window of a paused queue, is %s",
                   (long long)waiting[i], t_job_state(t, waiting[i]));
    /* The two started go on (3 s jobs: on a slow machine they may be done by now). */
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state IN ('running', 'succeeded') AND "
                   "attempt = 1") == 2,
          "the running jobs go on");
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempt = 0") == n_waiting,
          "the handed-back jobs never started");
    WAIT_UNTIL(t_log_has(t, w, "handed back unstarted: their queue is paused"), 5000,
               "the log says why");
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"queue", "resume", "default", NULL}) == 0,
          "queue resume");
    for (int i = 0; i < N_JOBS; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 20000, "job %lld is %s",
                   (long long)ids[i], t_job_state(t, ids[i]));
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == N_JOBS, "each job ran once");
    /* Once resumed, the jobs claimed again are not taken for the paused queue's. */
    int lines = t_log_count(t, w, "their queue is paused");
    CHECK(lines == 1, "%d hand-backs for the pause, not 1", lines);
}

/* A cancel asked for while a job waits in the window: the row is 'running' with
 * cancel_requested set, and no child runs it. When the drain hands it back, the cancel must
 * hold; queued again with the flag still set, the next claim would clear the flag and run the
 * job the operator cancelled. */
static void
test_sigterm_hand_back_keeps_cancel(struct tenv *t)
{
    int64_t ids[N_JOBS];
    pid_t w[2];
    w[0] = fill_window(t, ids);
    int64_t waiting[N_JOBS];
    int n_waiting = 0;
    for (int i = 0; i < N_JOBS; i++)
        if (!started_job(t, w[0], ids[i]))
            waiting[n_waiting++] = ids[i];
    CHECK(n_waiting == N_JOBS - 2, "%d jobs wait in the window, not %d", n_waiting, N_JOBS - 2);
    /* The cancels as the CLI asks for them on a running row, all at once right before the
     * SIGTERM: the worker's cancel poll (every second) must not end them first, so that the
     * hand-back is what meets them. */
    struct db_param p[N_JOBS];
    for (int i = 0; i < n_waiting; i++)
        p[i] = DBI(waiting[i]);
    CHECK(db_exec_in(t->db, "UPDATE jobs SET cancel_requested = 1 WHERE id IN ", p, n_waiting) == 0,
          "flag the cancels: %s", db_errstr(t->db));
    kill(w[0], SIGTERM);
    for (int i = 0; i < n_waiting; i++)
        WAIT_UNTIL(!t_job_in_state(t, waiting[i], "running"), 2500,
                   "job %lld was not handed back at once", (long long)waiting[i]);
    /* Logged after the rows commit and the IDs are pushed: waited for. A cancel poll that read
     * the flags before the SIGTERM may have handed some back on its own. */
    WAIT_UNTIL(handed_back_sum(t, w[0]) == n_waiting, 2500, "the log says %d handed back, not %d",
               handed_back_sum(t, w[0]), n_waiting);
    for (int i = 0; i < n_waiting; i++) {
        char *st = t_job_state(t, waiting[i]);
        CHECK(strcmp(st, "cancelled") == 0,
              "job %lld, cancelled in the window, is %s after the "
              "hand-back",
              (long long)waiting[i], st);
        free(st);
    }
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'cancelled' AND cancel_requested = 0 "
                   "AND attempt = 0 AND failure_reason = 'cancelled' AND dt_completed IS NOT "
                   "NULL AND instance_id IS NULL") == n_waiting,
          "the handed-back cancelled rows read as cancelled before they ran");
    int status = t_wait_exit(t, w[0], 15000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "worker should exit 0 after draining (status %d)", status);
    /* Their IDs were pushed back: another worker pops them and must not run them. */
    w[1] = t_start_worker(t, NULL);
    WAIT_UNTIL(rq_depth(t->rq, "default") == 0, 10000, "the IDs were never popped (%lld left)",
               (long long)rq_depth(t->rq, "default"));
    for (int i = 0; i < N_JOBS; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), 10000, "job %lld stayed %s", (long long)ids[i],
                   t_job_state(t, ids[i]));
    for (int i = 0; i < n_waiting; i++)
        CHECK(runs_of(t, waiting[i]) == 0 && t_job_in_state(t, waiting[i], "cancelled"),
              "job %lld, cancelled, ran %d times and is %s", (long long)waiting[i],
              runs_of(t, waiting[i]), t_job_state(t, waiting[i]));
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") == 2,
          "the two jobs that were running finished");
}

static void
test_overdue_jobs_go_to_idle_workers(struct tenv *t)
{
    /* concurrency 1, prefetch 2, prefetch_wait_ms 300: one job runs, two wait behind it. */
    int64_t ids[3];
    enqueue_sleeps(t, ids, 3, "4", "1");
    pid_t w[2];
    w[0] = t_start_worker(t, NULL);
    int64_t first = instance_of(t, w[0]);
    WAIT_UNTIL(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'running'") == 3, 10000,
               "the worker never claimed the 3 jobs");
    w[1] = t_start_worker(t, NULL);
    int64_t second = instance_of(t, w[1]);
    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 20000, "job %lld is %s",
                   (long long)ids[i], t_job_state(t, ids[i]));
    /* Without the hand-back all three would have run on the first worker, one after another. */
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE instance_id = ?", DB_P(DBI(second))) >=
              1,
          "no job went to the idle worker");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE instance_id = ?", DB_P(DBI(first))) >= 1,
          "the first worker ran its first job");
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == 3, "one attempt row per job");
    for (int i = 0; i < 3; i++)
        CHECK(runs_of(t, ids[i]) == 1, "job %lld ran %d times", (long long)ids[i],
              runs_of(t, ids[i]));
}

static void
test_default_window_holds_back_little(struct tenv *t)
{
    /* concurrency 2, default prefetch: the 0.4 s jobs are far too long for the window to grow
     * past one job per child, so at most 4 of the 12 are ever checked in at once, from the
     * first pop on, and 2 more that finished and wait for their check-out's commit (a window
     * sized for short jobs would take all 12 at once). */
    int64_t ids[12];
    enqueue_sleeps(t, ids, 12, "0.4", "1");
    t_start_worker(t, NULL);
    int64_t most = 0, deadline = now_mono_ms() + 30000;
    while (count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") < 12 &&
           now_mono_ms() < deadline) {
        int64_t running = count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'running'");
        most = running > most ? running : most;
        sleep_ms(20);
    }
    CHECK(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") == 12,
          "the 12 jobs did not all succeed");
    CHECK(most >= 2 && most <= 6, "%lld jobs were checked in at once, not 2 to 6", (long long)most);
    for (int i = 0; i < 12; i++)
        CHECK(runs_of(t, ids[i]) == 1, "job %lld ran %d times", (long long)ids[i],
              runs_of(t, ids[i]));
}

#define N_FILL_BATCHES 3
#define N_FILL_PER_BATCH 1000
#define FILL_CHILDREN 4

/* The jobs claimed and the claim statements, from the stop line of the test's worker (reaped:
 * found by its log's name), and the most jobs one statement claimed (its debug lines); fails
 * the test when there is no stop line. */
static void
claims_of(struct tenv *t, long long *claimed, long long *claims, int *largest)
{
    bool found = false;
    *largest = 0;
    for (int k = 0; k < t->n_procs && !found; k++) {
        if (strstr(t->procs[k].log_path, "jobfleet-worker") == NULL)
            continue;
        char *log = t_read_file(t->procs[k].log_path);
        for (const char *p = log; p && (p = strstr(p, "] debug: claimed ")) != NULL; p++) {
            int c = 0;
            if (sscanf(p, "] debug: claimed %d of", &c) == 1 && c > *largest)
                *largest = c;
        }
        for (const char *p = log; p && !found && (p = strstr(p, "stopped: ")) != NULL; p++)
            found =
                sscanf(p, "stopped: %lld jobs claimed in %lld statements", claimed, claims) == 2;
        free(log);
    }
    CHECK(found, "no stop line with the claim counts in the worker's log");
}

/* With jobs short enough, the default window grows past one job per child until claims are
 * full statements: 3,000 no-ops drained by 4 children take claims of more than 68 jobs, the
 * most that 16 jobs ahead per child (64, and 4 idle children) would let one claim take; with
 * 64 per child a claim takes up to FETCH_BATCH_MAX. The largest claim is asserted, not the
 * average: the window covers SUP_WINDOW_COVER_MS of work, so its size follows how fast the
 * children run, and with the whole suite running beside it the average fell to 64 once (its
 * first and last claims are small whatever the window). The average must still be twice what
 * a window of one job per child allows (4 ahead, 4 idle). The worker's metrics count the
 * claims and check-outs as its stop line does. */
static void
test_default_window_fills_claims(struct tenv *t)
{
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    tprod_start(t);
    struct buf body;
    buf_init(&body, 0);
    buf_appends(&body, "[");
    for (int i = 0; i < N_FILL_PER_BATCH; i++)
        buf_appends(&body, i ? ",{\"action\":\"System/Noop\"}" : "{\"action\":\"System/Noop\"}");
    buf_appends(&body, "]");
    for (int b = 0; b < N_FILL_BATCHES; b++)
        CHECK(tprod_call(t, "POST", "/api/jobs/bulk", body.data, NULL, NULL) == 201,
              "bulk request %d was refused", b);
    buf_release(&body);
    const int n = N_FILL_BATCHES * N_FILL_PER_BATCH;
    pid_t w = t_start_worker(t, NULL);
    WAIT_UNTIL(count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'") == n, 60000,
               "%lld of %d jobs succeeded",
               (long long)count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'"), n);
    /* A check-out counts once its commit has returned, a moment after the rows show it. */
    WAIT_UNTIL(t_metric(url, "jobfleet_worker_checked_out_total") == n, 10000,
               "jobfleet_worker_checked_out_total is %g, expected %d",
               t_metric(url, "jobfleet_worker_checked_out_total"), n);
    double m_claims = t_metric(url, "jobfleet_worker_claims_total");
    double m_claimed = t_metric(url, "jobfleet_worker_claimed_jobs_total");
    double m_commits = t_metric(url, "jobfleet_worker_checkout_commits_total");
    CHECK(m_claimed == n, "jobfleet_worker_claimed_jobs_total is %g, expected %d", m_claimed, n);
    CHECK(m_commits >= 1 && m_commits <= n, "jobfleet_worker_checkout_commits_total is %g",
          m_commits);
    t_signal(t, w, SIGTERM);
    CHECK(t_wait_exit(t, w, 20000) == 0, "the worker did not stop cleanly");
    long long claimed = 0, claims = 0;
    int largest = 0;
    claims_of(t, &claimed, &claims, &largest);
    CHECK(claimed == n && claims > 0, "%lld jobs claimed in %lld statements, expected %d", claimed,
          claims, n);
    CHECK(m_claims == (double)claims, "jobfleet_worker_claims_total is %g, the log says %lld",
          m_claims, claims);
    CHECK(largest > 16 * FILL_CHILDREN + FILL_CHILDREN,
          "the largest claim took %d jobs, not more than %d (%lld jobs in %lld statements)",
          largest, 16 * FILL_CHILDREN + FILL_CHILDREN, claimed, claims);
    CHECK(claimed > claims * 4 * FILL_CHILDREN,
          "%lld jobs claimed in %lld statements: %.1f per claim, not more than %d", claimed, claims,
          (double)claimed / (double)claims, 4 * FILL_CHILDREN);
}

#define N_WARM 30
#define N_QUICK 20

/* Queues the pending jobs ids[0..n) with one UPDATE and pushes their IDs with one ZADD, as the
 * scheduler's pickup does, so that the worker pops them together. (jobfleet retry commits and
 * pushes each job on its own: on a loaded machine the worker took each alone and never had one
 * waiting to hand ahead.) */
static void
queue_at_once(struct tenv *t, const int64_t *ids, int n)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "UPDATE jobs SET state = 'queued', dt_queued = NOW(6) WHERE state = "
                      "'pending' AND id IN (");
    struct db_param *p = xcalloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, i ? ",?" : "?");
        p[i] = DBI(ids[i]);
    }
    buf_appends(&sql, ")");
    uint64_t queued = 0;
    CHECK(db_exec(t->db, sql.data, p, n, &queued, NULL) == 0 && queued == (uint64_t)n,
          "queued %llu of %d jobs (%s)", (unsigned long long)queued, n, db_errstr(t->db));
    CHECK(rq_push(t->rq, "default", ids, NULL, n) == 0, "push: %s", rq_errstr(t->rq));
    buf_release(&sql);
    free(p);
}

/* Short jobs are handed ahead to busy children (written to their sockets, to start as soon as
 * the job before ends); those handed to a child whose job then runs long are withdrawn and run
 * by the other child, not after the long job. */
static void
test_ahead_overrun_goes_elsewhere(struct tenv *t)
{
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    pid_t w = t_start_worker(t, NULL);
    /* Short jobs first: the worker measures its jobs short and starts handing them ahead. */
    int64_t warm[N_WARM];
    for (int i = 0; i < N_WARM; i++)
        warm[i] = t_enqueue(t, "System/Noop", "{}", NULL);
    for (int i = 0; i < N_WARM; i++)
        WAIT_UNTIL(t_job_in_state(t, warm[i], "succeeded"), 20000, "warm-up job %lld is %s",
                   (long long)warm[i], t_job_state(t, warm[i]));
    /* A 6-second job and 20 short ones, in one pop: the 6-second one's child gets short jobs
     * handed ahead before it is seen to run long. */
    const char *const later[] = {"--in", "1h", NULL};
    int64_t ids[1 + N_QUICK];
    ids[0] = t_enqueue(t, "System/Sleep", "{\"seconds\":6}", later);
    for (int i = 1; i <= N_QUICK; i++)
        ids[i] = t_enqueue(t, "System/Noop", "{}", later);
    queue_at_once(t, ids, 1 + N_QUICK);
    int64_t queued_at = now_mono_ms();
    for (int i = 1; i <= N_QUICK; i++)
        WAIT_UNTIL(t_job_in_state(t, ids[i], "succeeded"), 20000, "job %lld is %s",
                   (long long)ids[i], t_job_state(t, ids[i]));
    int64_t took = now_mono_ms() - queued_at;
    CHECK(t_job_in_state(t, ids[0], "running"),
          "the short jobs took %lld ms, waiting behind the 6-second job (it is %s)",
          (long long)took, t_job_state(t, ids[0]));
    /* Whether the slow job's child got jobs ahead depends on timing (it must be busy with it
     * for under 20 ms when they come); that some were handed ahead does not, and the counters
     * must agree with the log. */
    char *log = t_log(t, w);
    int ahead = log ? t_count(log, " handed ahead to child ") : 0;
    int withdrawals = log ? t_count(log, " withdrawn, never started") : 0;
    free(log);
    CHECK(ahead > 0, "no job was handed ahead");
    CHECK(t_metric(url, "jobfleet_worker_jobs_handed_ahead_total") == ahead,
          "jobfleet_worker_jobs_handed_ahead_total is %g, the log says %d",
          t_metric(url, "jobfleet_worker_jobs_handed_ahead_total"), ahead);
    CHECK(withdrawals == 0 || t_metric(url, "jobfleet_worker_jobs_withdrawn_total") >= withdrawals,
          "jobfleet_worker_jobs_withdrawn_total is %g, the log says %d withdrawals",
          t_metric(url, "jobfleet_worker_jobs_withdrawn_total"), withdrawals);
    WAIT_UNTIL(t_job_in_state(t, ids[0], "succeeded"), 20000, "the 6-second job is %s",
               t_job_state(t, ids[0]));
    for (int i = 0; i <= N_QUICK; i++)
        CHECK(runs_of(t, ids[i]) == 1, "job %lld ran %d times", (long long)ids[i],
              runs_of(t, ids[i]));
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == N_WARM + 1 + N_QUICK,
          "one attempt row per job");
}

/* Runs one job of one attempt whose first claim the fetch thread holds for stall_ms (the test
 * build's stall at checkin.after), each child reading its jobs child_stall_ms late
 * (child.read), and checks that it ran once, on its one attempt, and that the log has line. */
static void
claim_held(struct tenv *t, const char *stall_ms, const char *child_stall_ms, const char *line)
{
    int64_t id =
        t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--max-attempts", "1", NULL});
    char *stall = xasprintf("stall1:%s", stall_ms);
    char *child = xasprintf("child.read:%s", child_stall_ms);
    setenv("JOBFLEET_FAULT_POINT", "checkin.after", 1);
    setenv("JOBFLEET_FAULT_ACTION", stall, 1);
    setenv("JOBFLEET_FAULT_STALL", child, 1);
    pid_t w = t_start_worker(t, NULL);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    unsetenv("JOBFLEET_FAULT_STALL");
    free(stall);
    free(child);
    WAIT_UNTIL(t_job_done(t, id), 30000, "the job: %s", t_job_state(t, id));
    char *st = t_sql_str(t,
                         "SELECT CONCAT(state, ' ', attempt, ' ', COALESCE(failure_reason, '')) "
                         "FROM jobs WHERE id = ?",
                         DB_P(DBI(id)));
    CHECK(st && strcmp(st, "succeeded 1 ") == 0, "the job: %s", st ? st : "(none)");
    free(st);
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == 1, "one attempt row, the run's");
    CHECK(t_log_has(t, w, line), "the log says \"%s\"", line);
}

/* The fetch thread stalls after a claim for longer than the lease: the worker does not start a
 * job its lease may have lost, and hands it back unstarted. It recorded a failed attempt
 * before: with one attempt allowed, the job failed without ever running. */
static void
test_past_lease_handed_back(struct tenv *t)
{
    claim_held(t, "6000", "0", "past the lease: handed back unstarted");
}

/* Held 4.5 s of its 5 s lease, the job was still handed to a child, which read it 1 s later,
 * past the lease, and refused it: "not started: handed over 502 ms past the lease", its one
 * attempt failed (CI met it with a job kept 5 s in the window). A job within a fifth of its
 * lease of running out is handed back instead. */
static void
test_near_lease_handed_back(struct tenv *t)
{
    claim_held(t, "4500", "1000", "too near its lease to start: handed back unstarted");
}

/* A hand-back frees a limited job's slot before it pushes the ID. The slot's member is the job's
 * id: freed after the push (stalled there, at handback.pushed), it was the slot of the job's
 * next claim, which had started meanwhile, and a job of a concurrency of 1 ran beside it. */
static void
test_hand_back_frees_slot_first(struct tenv *t)
{
    char *err = NULL;
    int rc =
        t_cli(t, NULL, &err,
              (const char *const[]){"action", "set", "System/Sleep", "--concurrency", "1", NULL});
    CHECK(rc == 0, "action set: exit %d: %s", rc, err);
    free(err);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    int64_t held = t_enqueue(t, "System/Sleep", "{\"seconds\":4}", NULL);
    setenv("JOBFLEET_FAULT_POINT", "checkin.after", 1);
    setenv("JOBFLEET_FAULT_ACTION", "stall1:6000", 1);
    setenv("JOBFLEET_FAULT_STALL", "handback.pushed:2000", 1);
    pid_t w = t_start_worker(t, NULL);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    unsetenv("JOBFLEET_FAULT_STALL");
    WAIT_UNTIL(t_log_has(t, w, "claimed ahead handed back"), 20000, "no hand-back: the job is %s",
               t_job_state(t, held));
    int64_t next = t_enqueue(t, "System/Sleep", "{\"seconds\":0}", NULL);
    WAIT_UNTIL(t_job_done(t, held) && t_job_done(t, next), 30000, "the jobs: %s, %s",
               t_job_state(t, held), t_job_state(t, next));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM job_attempts a JOIN job_attempts b ON b.job_id = ? "
                    "WHERE a.job_id = ? AND a.dt_started < b.dt_completed",
                    DB_P(DBI(held), DBI(next))) == 0,
          "the second job started while the first ran, past the limit of 1");
    CHECK(count(t, "SELECT COUNT(*) FROM job_attempts") == 2, "one attempt row each");
}

/* Jobs claimed by this instance and not finished. */
static int64_t
running_jobs(struct tenv *t)
{
    return count(t, "SELECT COUNT(*) FROM jobs WHERE state = 'running'");
}

/* A worker whose check-outs and heartbeats cannot commit fences itself: it kills its jobs and
 * starts none. Its fetch thread went on claiming, every claim refreshing the heartbeat the
 * scheduler reads, and the window handed the claims back to a check-out that could not write
 * them: the backlog piled up in a worker that ran nothing, never declared lost. A fenced
 * worker claims nothing more now. */
static void
test_fenced_worker_claims_nothing(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "INSERT INTO jobs (uuid, origin, action, parameters, state, "
                                "run_at, dt_created, dt_queued) SELECT UUID(), 'api', "
                                "'System/Noop', '{}', 'queued', NOW(6), NOW(6), NOW(6) FROM "
                                "seq_1_to_20000") == 0,
          "backlog: %s", db_errstr(t->db));
    struct db_rows *r = db_query(t->db, "SELECT id FROM jobs ORDER BY id", DB_NOP);
    CHECK(r && r->n_rows == 20000, "ids: %s", db_errstr(t->db));
    int64_t *ids = xcalloc(20000, sizeof(*ids));
    int *prio = xcalloc(20000, sizeof(*prio));
    for (int i = 0; i < r->n_rows; i++)
        ids[i] = db_rows_int(r, i, 0, 0);
    db_rows_free(r);
    CHECK(rq_push(t->rq, "default", ids, prio, 20000) == 0, "push");
    free(ids);
    free(prio);
    char url[64];
    worker_metrics_on(t, url, sizeof(url));
    /* The first check-out hangs for good: no outcome and no heartbeat commits from then on. */
    setenv("JOBFLEET_FAULT_STALL", "checkout.before:60000", 1);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    unsetenv("JOBFLEET_FAULT_STALL");
    WAIT_UNTIL(t_log_has(t, w, "no heartbeat committed"), 20000, "the worker never fenced");
    int64_t at_fence = running_jobs(t);
    sleep_ms(2000); /* what a fenced worker claims in two seconds */
    int64_t later = running_jobs(t);
    fprintf(stderr, "FIGURES: %lld jobs claimed at the fence, %lld two seconds later\n",
            (long long)at_fence, (long long)later);
    CHECK(later - at_fence <= 16, "the fenced worker claimed %lld more jobs in 2 s",
          (long long)(later - at_fence));
    /* What an operator watches: the fence, the outcomes waiting, the heartbeat's age. */
    WAIT_UNTIL(t_metric(url, "jobfleet_worker_fenced") == 1, 3000, "jobfleet_worker_fenced is %g",
               t_metric(url, "jobfleet_worker_fenced"));
    CHECK(t_metric(url, "jobfleet_worker_outcomes_unwritten") > 0 &&
              t_metric(url, "jobfleet_worker_heartbeat_age_seconds") >= 1.5,
          "unwritten %g, heartbeat age %g s", t_metric(url, "jobfleet_worker_outcomes_unwritten"),
          t_metric(url, "jobfleet_worker_heartbeat_age_seconds"));
}

static const struct test_case cases[] = {
    {"e2e_window_kill9_full_window_loses_nothing", test_kill9_full_window_loses_nothing,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_sigterm_hands_back_at_once", test_sigterm_hands_back_at_once,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_gauges_show_the_window", test_gauges_show_the_window,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_sigterm_hand_back_keeps_cancel", test_sigterm_hand_back_keeps_cancel,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_cancel_in_window", test_cancel_in_window,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_pause_hands_back_window", test_pause_hands_back_window,
     "[worker]\nconcurrency = 2\nprefetch = 4\nprefetch_wait_ms = 60000\n"},
    {"e2e_window_overdue_jobs_go_to_idle_workers", test_overdue_jobs_go_to_idle_workers,
     "[worker]\nconcurrency = 1\nprefetch = 2\nprefetch_wait_ms = 300\n"},
    {"e2e_window_default_holds_back_little", test_default_window_holds_back_little,
     "[worker]\nconcurrency = 2\n"},
    {"e2e_window_past_lease_handed_back", test_past_lease_handed_back, NULL},
    {"e2e_window_near_lease_handed_back", test_near_lease_handed_back, NULL},
    {"e2e_window_hand_back_frees_slot_first", test_hand_back_frees_slot_first, NULL},
    {"e2e_window_fenced_worker_claims_nothing", test_fenced_worker_claims_nothing,
     "[worker]\nconcurrency = 2\nlease_s = 2\nheartbeat_s = 1\n"},
    {"e2e_window_default_fills_claims", test_default_window_fills_claims,
     "[worker]\nconcurrency = 4\n"},
    /* hand_ahead_run_ms raised: a loaded ASan build can take over the default 2 ms a no-op. */
    {"e2e_window_ahead_overrun_goes_elsewhere", test_ahead_overrun_goes_elsewhere,
     "[worker]\nconcurrency = 2\nhand_ahead_run_ms = 1000\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
