/* This file is the worker child's loop: read a job, run its function, write the outcome. */
#include "child.h"
#include "checkout.h"
#include "db_tls.h"
#include "fault.h"
#include "gate.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "registry.h"
#include "runtime_env.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* When a job whose action this worker lacks is tried again. */
#define CHILD_UNKNOWN_RETRY_MS 60000

static volatile int child_cancel;
/* The job running now (0: none) and this child's gate, for the cancel signal to tell whether it
 * is meant for this job: the supervisor may have asked to cancel the job before it. */
static _Atomic int64_t child_running;
static struct gate *child_gate;
/* The configuration, for child_term_thread's connection. */
static const struct cfg *child_cfg;

static void
child_on_usr1(int sig)
{
    (void)sig;
    int64_t id = atomic_load(&child_running);
    if (id != 0 && atomic_load(&child_gate->cancel_id) == id)
        child_cancel = 1;
}

static void
child_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    /* SIGTERM kills a child (the supervisor's timeout); SIGINT from a terminal's Ctrl-C goes
     * to the whole process group and must leave running jobs to the supervisor's drain. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = child_on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The thread that takes the supervisor's SIGTERM (blocked in every other thread): the job's
 * thread may be stuck in a call for as long as the job's timeout, and the lines it logged in its
 * last second, not yet saved, are what tells where. It saves them, then ends the process by the
 * signal, as the default action would have. */
static void *
child_term_thread(void *arg)
{
    (void)arg;
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    int sig = 0;
    while (sigwait(&term, &sig) != 0)
        ;
    job_rt_last_words(child_cfg);
    signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    raise(SIGTERM);
    _exit(1);
}

/* A process a job forks must not inherit the blocked SIGTERM (posix_spawn runs no fork
 * handlers: see jobs/runtime.h). */
static void
child_forked_unblock(void)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &term, NULL);
}

/* Blocks SIGTERM here (and in threads started later) and starts child_term_thread. */
static void
child_term_start(const struct cfg *cfg)
{
    child_cfg = cfg;
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    pthread_atfork(NULL, NULL, child_forked_unblock);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)256 << 10);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &a, child_term_thread, NULL) != 0) {
        /* Without it a SIGTERM still stops the child; only the last lines are lost. */
        log_warnx("child: no thread for SIGTERM; a stopped job's last second of log is lost");
        pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    }
    pthread_attr_destroy(&a);
}

static void
child_run(struct job_env *env, const struct proto_job *j, const struct cfg *cfg,
          struct proto_outcome *o)
{
    struct job_out out = {.status = JOB_FAIL};
    int64_t start = now_mono_ms();
    job_fn *fn = registry_find(j->action, cfg->worker.test_actions);
    if (j->start_by_ms > 0 && start >= j->start_by_ms) {
        /* The worker was stopped or starved between the hand-over and this read, past the
         * claim's lease: the job may run elsewhere by now (the supervisor checks the same
         * before the hand-over; this covers the time after it). The fenced check-out drops
         * the outcome if the job was recovered. */
        job_out_fail(&out, JOB_RETRY, "not started: handed over %lld ms past the lease",
                     (long long)(start - j->start_by_ms));
    } else if (fn == NULL) {
        /* The producer takes only registered actions: this worker is older than the one that
         * enqueued it (a rolling deploy) or has test actions off. A worker that has it may take
         * it on a later attempt. */
        job_out_fail(&out, JOB_RETRY,
                     "action \"%s\" is not registered in this worker (an older build?); retried "
                     "in a minute",
                     j->action);
        out.retry_delay_ms = CHILD_UNKNOWN_RETRY_MS;
    } else {
        job_run(env, fn, j->id, j->attempt, j->action, j->parameters, &child_cancel, &out);
    }
    o->id = j->id;
    o->status = out.status;
    o->retry_delay_ms = out.retry_delay_ms;
    o->execution_ms = now_mono_ms() - start;
    o->result = out.result;
    o->reason = out.reason;
    if (o->status != JOB_OK && o->reason == NULL)
        o->reason = xstrdup("failed");
    struct buf m;
    buf_init(&m, 0);
    metrics_drain(&m);
    o->metrics = m.len ? buf_detach(&m) : NULL;
    buf_release(&m);
}

/* Writes outcome o again after it was too large for the protocol: the job's status is kept
 * (its work is done, its writes made: a failure would run them again), an oversized result
 * becomes the note a too-large result is stored as, an oversized reason is cut, and the
 * counters are dropped. */
static int
child_write_oversized(int fd, struct proto_outcome *o)
{
    if (!proto_fits(o->result)) {
        char *note = checkout_result_note("too large", strlen(o->result));
        log_warnx("job %lld: its result of %zu bytes is over the worker protocol's %u: not stored",
                  (long long)o->id, strlen(o->result), PROTO_MAX_FIELD);
        free(o->result);
        o->result = note;
    }
    if (!proto_fits(o->reason))
        o->reason[PROTO_MAX_FIELD / 2] = '\0';
    if (!proto_fits(o->metrics)) {
        free(o->metrics);
        o->metrics = NULL;
    }
    return proto_write_outcome(fd, o);
}

/* Passes over job j, withdrawn by the supervisor: it never starts here. */
static int
child_pass_over(int fd, const struct proto_job *j)
{
    struct proto_outcome o = {.id = j->id, .status = PROTO_PASSED_OVER};
    return proto_write_outcome(fd, &o);
}

/* Takes job j through the gate and marks it running; false when it was withdrawn. A cancel
 * asked for before it was marked is seen here, after. */
static bool
child_take(const struct proto_job *j)
{
    if (!gate_take(child_gate, j->seq))
        return false;
    /* The supervisor logs a job "started" when it writes it to the child, which may not have
     * taken it yet (a drain then hands it back): this line is the child's word. */
    log_debug("job %lld attempt %d taken by its child", (long long)j->id, j->attempt);
    child_cancel = 0;
    atomic_store(&child_running, j->id);
    if (atomic_load(&child_gate->cancel_id) == j->id)
        child_cancel = 1;
    return true;
}

/* SCHED_BATCH: a child the supervisor wakes with a job does not preempt it, so the supervisor
 * finishes handing out jobs (and its threads their statements) before the child runs, instead
 * of a context switch at every write to a child's socket; the child still gets its fair share
 * of CPU, and an idle core runs it at once. A drain of no-op jobs, same run, 4 rounds: 17,700 -
 * 18,900 jobs/s as SCHED_OTHER, 20,500 - 21,400 as SCHED_BATCH; pickup latency unchanged. */
static void
child_sched_batch(void)
{
    struct sched_param sp = {0};
    if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
        log_warn("sched_setscheduler(SCHED_BATCH); the child runs as SCHED_OTHER");
}

void
child_main(int fd, pid_t parent, const struct cfg *cfg, struct gate *gate)
{
    child_gate = gate;
    /* Without its supervisor a child must not keep running a job nobody will check out. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    child_signals();
    child_term_start(cfg);
    if (cfg->worker.sched_batch)
        child_sched_batch();
    metrics_fork_child();
    db_tls_log_quiet(); /* sixteen children, respawned, would repeat it */
    /* The child's connections for job functions live as long as the child. */
    struct job_env *env = job_env_new(cfg, false);
    /* Jobs handed ahead arrive while one runs: one read takes them all. */
    struct proto_rbuf rb = {0};
    for (;;) {
        struct proto_job j;
        int rc = proto_read_job(fd, &rb, &j);
        if (rc != 1)
            _exit(rc == 0 ? 0 : 1);
        FAULT_POINT("child.read");
        if (!child_take(&j)) {
            int pw = child_pass_over(fd, &j);
            proto_job_release(&j);
            if (pw < 0)
                _exit(1);
            continue;
        }
        struct proto_outcome o;
        memset(&o, 0, sizeof(o));
        child_run(env, &j, cfg, &o);
        int w = proto_write_outcome(fd, &o);
        if (w < 0 && errno == EMSGSIZE)
            w = child_write_oversized(fd, &o);
        atomic_store(&child_running, 0);
        proto_job_release(&j);
        proto_outcome_release(&o);
        if (w < 0)
            _exit(1);
    }
}
