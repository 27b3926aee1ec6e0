/* This file is the worker supervisor's loop: it takes the jobs the fetch thread claimed into
 * the window (sup_handover.c hands them to children), passes their outcomes to the check-out
 * thread, enforces timeouts and cancellations, replaces dead children, and drains on SIGTERM.
 * The loop itself never waits on MariaDB or Redis (except for fleet-wide limit slots, when
 * limits are set). */
#include "supervisor.h"
#include "sup_int.h"
#include "checkout.h"
#include "child.h"
#include "db.h"
#include "fault.h"
#include "fetch.h"
#include "gate.h"
#include "instance.h"
#include "lifecycle.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "retry.h"
#include "util.h"
#include "worker_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sup_sigpipe[2] = {-1, -1};
static volatile sig_atomic_t sup_term_count;

static void
sup_on_signal(int sig)
{
    int saved = errno;
    char c = sig == SIGCHLD ? 'C' : 'T';
    if (sig != SIGCHLD)
        sup_term_count++;
    ssize_t w = write(sup_sigpipe[1], &c, 1);
    (void)w;
    errno = saved;
}

static void
sup_signals(void)
{
    if (pipe2(sup_sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
        fatal("pipe");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sup_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* What a child made by the spawner runs. s is the spawner's copy, taken before the first
 * child: it holds no child's descriptor, and the spawner closed the supervisor's. */
static void
sup_child_entry(int fd, int slot, void *arg)
{
    struct sup *s = arg;
    child_main(fd, s->self, s->cfg, &s->gates[slot]);
}

/* Forks the child of slot i on sv[1] from the supervisor itself: only when it has no spawner
 * (it could not start one, or it died). Returns the pid in the parent, or -1. */
static pid_t
sup_fork(struct sup *s, int i, const int sv[2])
{
    pid_t pid = fork();
    if (pid < 0)
        log_warn("fork");
    if (pid != 0)
        return pid < 0 ? -1 : pid;
    close(sv[0]);
    /* The supervisor's descriptors are not the child's business. */
    for (int k = 0; k < s->n_slots; k++)
        if (s->slots[k].fd >= 0)
            close(s->slots[k].fd);
    close(sup_sigpipe[0]);
    close(sup_sigpipe[1]);
    child_main(sv[1], s->self, s->cfg, &s->gates[i]);
}

static int
sup_spawn(struct sup *s, int i)
{
    /* A new child starts from job 1, with no cancel asked. */
    atomic_store(&s->gates[i].word, 0);
    atomic_store(&s->gates[i].cancel_id, 0);
    int sv[2];
    if (FAULT_FAIL("spawn")) {
        errno = EAGAIN;
        log_warn("start the child of slot %d", i);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        log_warn("socketpair");
        return -1;
    }
    pid_t pid = spawner_spawn(&s->spawner, i, sv[1]);
    if (pid < 0)
        pid = sup_fork(s, i, sv);
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    struct slot *sl = &s->slots[i];
    memset(sl, 0, sizeof(*sl));
    sl->pid = pid;
    sl->fd = sv[0];
    return 0;
}

void
sup_record(struct sup *s, struct claimed_job *job, struct job_limits *jl, enum job_status st,
           char *reason, char *result, int64_t retry_delay_ms, int64_t exec_ms)
{
    struct checkout_item it = {.job = *job, .reason = reason, .result = result, .jl = *jl};
    memset(job, 0, sizeof(*job));
    memset(jl, 0, sizeof(*jl));
    it.o = (struct outcome){.id = it.job.id,
                            .instance_id = s->instance_id,
                            .attempt = it.job.attempt,
                            .max_attempts = it.job.max_attempts,
                            .action = it.job.action,
                            .status = st,
                            .reason = it.reason,
                            .result = it.result,
                            .execution_ms = exec_ms,
                            .retry_delay_ms = retry_delay_ms,
                            .dt_started = it.job.dt_started,
                            .write_started = it.job.started_late};
    log_debug("job %lld attempt %d %s%s%s", (long long)it.job.id, it.job.attempt,
              st == JOB_OK ? "succeeded" : "ended", reason ? ": " : "", reason ? reason : "");
    /* The child said "failed, retried if attempts remain"; only here is it known that none do
     * (its check-out makes the job failed for good). */
    if (st == JOB_RETRY && it.job.attempt >= it.job.max_attempts && it.job.max_attempts > 0)
        log_warnx("job %lld (%s) failed for good: attempt %d of %d: %s", (long long)it.job.id,
                  it.job.action ? it.job.action : "?", it.job.attempt, it.job.max_attempts,
                  reason ? reason : "");
    checkout_add(&s->checkout, &it);
}

/* Moves a busy slot's job into the pending outcomes and frees the slot. Takes reason and
 * result. */
static void
sup_complete(struct sup *s, struct slot *sl, enum job_status st, char *reason, char *result,
             int64_t retry_delay_ms, int64_t exec_ms)
{
    /* Slow to move: the window is sized to the fleet's usual jobs, not to one outlier. The
     * first job seeds it: from 0, six 2-second jobs left it at 0.37 s, and a fresh worker
     * sized its window and hand-aheads for jobs several times shorter than its own. */
    double ran = (double)(now_mono_ms() - sl->started_ms);
    s->avg_run_ms = s->n_runs == 0 ? ran : s->avg_run_ms * 0.95 + ran * 0.05;
    s->n_runs++;
    sup_record(s, &sl->job, &sl->jl, st, reason, result, retry_delay_ms, exec_ms);
    atomic_store(&s->gates[sl - s->slots].cancel_id, 0);
    sl->busy = false;
    sl->term_ms = sl->cancel_ms = 0;
    sl->kill_reason[0] = '\0';
    sl->fence_killed = false;
}

/* The child passed over job id, withdrawn: once it passed over all of them, nothing withdrawn
 * is left in its socket, and its gate opens again for the jobs written next. */
static void
sup_passed_over(struct sup *s, struct slot *sl, int64_t id)
{
    if (sl->passing == 0) {
        /* Cannot be (the gate opens only when nothing withdrawn is left): say so loudly. */
        log_warnx("child %d passed over job %lld, which was not withdrawn", (int)sl->pid,
                  (long long)id);
        return;
    }
    if (--sl->passing == 0)
        gate_reopen(&s->gates[sl - s->slots], sl->sent);
}

/* Takes the next whole message of the child of slot sl from its buffer; returns
 * proto_next_outcome's answer. */
static int
sup_next_outcome(struct sup *s, struct slot *sl)
{
    struct proto_outcome po;
    int rc = proto_next_outcome(&sl->rb, &po);
    if (rc != 1)
        return rc; /* part of one (read more), or garbage: the reaper records the crash */
    if (po.status == PROTO_PASSED_OVER) {
        sup_passed_over(s, sl, po.id);
        proto_outcome_release(&po);
        return 1;
    }
    if (!sl->busy || po.id != sl->job.id) {
        log_warnx("child %d sent an outcome for job %lld it was not running", (int)sl->pid,
                  (long long)po.id);
        proto_outcome_release(&po);
        return 1;
    }
    worker_metrics_merge(po.metrics);
    free(po.metrics);
    enum job_status st = (enum job_status)po.status;
    char *reason = po.reason, *result = po.result;
    /* A job killed for its timeout that still managed to answer keeps its own answer. */
    sup_complete(s, sl, st, reason, result, po.retry_delay_ms, po.execution_ms);
    sup_promote(s, sl);
    return 1;
}

/* Reads what the child of slot sl wrote (its socket is readable) and takes every whole message
 * in it. */
static void
sup_read_outcomes(struct sup *s, struct slot *sl)
{
    if (proto_fill(&sl->rb, sl->fd) > 0)
        while (sup_next_outcome(s, sl) == 1)
            ;
}

/* Takes every message the child of slot sl wrote before it died. */
static void
sup_read_last_outcomes(struct sup *s, struct slot *sl)
{
    while (sup_next_outcome(s, sl) == 1)
        ;
    struct pollfd pfd = {.fd = sl->fd, .events = POLLIN};
    while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) && proto_fill(&sl->rb, sl->fd) > 0)
        while (sup_next_outcome(s, sl) == 1)
            ;
}

static void
sup_reap(struct sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i;
        for (i = 0; i < s->n_slots && s->slots[i].pid != pid; i++)
            ;
        if (i == s->n_slots && spawner_reaped(&s->spawner, pid))
            log_warnx("the spawner (pid %d) exited (status %d): the supervisor forks its "
                      "children itself from now on",
                      (int)pid, status);
        if (i == s->n_slots)
            continue;
        struct slot *sl = &s->slots[i];
        /* Outcomes written just before dying still count; the jobs it never started go on. */
        sup_read_last_outcomes(s, sl);
        sup_withdraw(s, sl);
        if (sl->busy) {
            char *reason;
            enum job_status st = JOB_RETRY;
            int64_t ran = now_mono_ms() - sl->started_ms;
            if (sl->kill_reason[0]) {
                reason = xstrdup(sl->kill_reason);
                st = sl->kill_status;
            } else if (WIFSIGNALED(status)) {
                worker_metrics_crash();
                const char *abbr = sigabbrev_np(WTERMSIG(status));
                reason = abbr ? xasprintf("crashed: SIG%s", abbr)
                              : xasprintf("crashed: signal %d", WTERMSIG(status));
            } else {
                worker_metrics_crash();
                reason = xasprintf("crashed: exit status %d", WEXITSTATUS(status));
            }
            log_warnx("job %lld (%s) attempt %d: %s", (long long)sl->job.id, sl->job.action,
                      sl->job.attempt, reason);
            sup_complete(s, sl, st, reason, NULL, 0, ran);
        }
        close(sl->fd);
        proto_rbuf_release(&sl->rb);
        sl->fd = -1;
        sl->pid = 0;
        if (s->draining)
            continue;
        if (sup_spawn(s, i) == 0)
            worker_metrics_restart();
        else
            log_warnx("slot %d has no child; trying again every %d ms", i, SUP_RESPAWN_MS);
    }
}

/* Starts the children that could not be started when theirs ended: a slot left without one
 * would be lost for good, and a worker whose every slot went would claim for no child. */
static void
sup_respawn(struct sup *s, int64_t now)
{
    if (s->draining || now < s->next_respawn)
        return;
    s->next_respawn = now + SUP_RESPAWN_MS;
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].pid == 0 && sup_spawn(s, i) == 0) {
            log_info("slot %d: a child started again", i);
            worker_metrics_restart();
        }
}

static struct slot *
sup_slot_of_job(struct sup *s, int64_t id)
{
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy && s->slots[i].job.id == id)
            return &s->slots[i];
    return NULL;
}

/* Takes the jobs the fetch thread claimed into the window (or, once draining, hands them
 * back) and starts what idle children can run. woken: its pipe was readable. Every delivery
 * writes to the pipe after it, so without that there is nothing new (a read would only cost a
 * system call per loop); once draining the thread's last jobs are taken whatever the pipe says,
 * before its end is believed. */
static void
sup_take_jobs(struct sup *s, bool woken)
{
    char buf[256];
    if (!woken && !s->draining)
        return;
    while (woken && read(s->fetch.pipe_rd, buf, sizeof(buf)) > 0)
        ;
    int n = 0;
    struct fetch_job *jobs = fetch_take_jobs(&s->fetch, &n);
    s->delivered += n;
    if (s->n_win + n > s->cap_win) {
        s->cap_win = (s->n_win + n) * 2;
        s->win = xrealloc(s->win, sizeof(*s->win) * (size_t)s->cap_win);
    }
    int first = s->n_win;
    for (int i = 0; i < n; i++)
        s->win[s->n_win++] = jobs[i];
    free(jobs);
    if (s->draining)
        sup_hand_back_window(s);
    else
        sup_hand_back_paused(s, first); /* claimed on a snapshot older than this one */
    sup_fill(s);
}

/* How many jobs the window may hold now: prefetch, or fewer when children are slow, so that
 * a job waits there about half of wait_ms at most (Little's law: the last job of a full
 * window waits window * run time / children). The default (prefetch_auto) is one job per
 * child, more while a fuller window would still start within SUP_WINDOW_COVER_MS. */
static int
sup_window_size(const struct sup *s, int live)
{
    int cap = s->prefetch;
    if (live == 0)
        return 0; /* no child to run what it would hold */
    if (s->prefetch_auto) {
        double most = (double)live * SUP_WINDOW_AUTO_PER_CHILD;
        double cover = s->avg_run_ms < 1.0 ? most : live * SUP_WINDOW_COVER_MS / s->avg_run_ms;
        /* Until every child has finished a job the run time is a guess: one job per child. */
        if (s->n_runs < live)
            cover = live;
        cap = cover > most ? (int)most : cover > live ? (int)cover : live;
    }
    if (s->avg_run_ms < 1.0)
        return cap;
    double fit = (double)live * (double)s->wait_ms / 2.0 / s->avg_run_ms;
    return fit < cap ? (int)fit : cap;
}

/* Gives the fetch thread the capacity that lets it keep every live child busy and the window
 * filled, and tells it whether children have nothing to run. */
static void
sup_refill(struct sup *s)
{
    int live = 0, busy = 0, ahead = 0;
    for (int i = 0; i < s->n_slots; i++) {
        live += s->slots[i].pid > 0;
        busy += s->slots[i].busy;
        ahead += s->slots[i].n_ahead;
    }
    int idle = live - busy - s->n_win;
    if (idle < 0)
        idle = 0;
    if (idle != s->told_idle) {
        fetch_set_idle(&s->fetch, idle);
        s->told_idle = idle;
    }
    /* A fenced worker starts nothing, and the check-out that would hand its window back
     * cannot write: what it claimed would pile up, each claim refreshing the heartbeat the
     * scheduler reads to find it lost. */
    if (s->draining || s->fenced)
        return;
    int64_t have = busy + ahead + s->n_win + (s->granted - s->delivered);
    int64_t target = live + sup_window_size(s, live);
    if (have < target) {
        fetch_want(&s->fetch, (int)(target - have));
        s->granted += target - have;
    }
}

/* Stops the current job of slot sl with SIGTERM, to be recorded with st and reason; false
 * (and nothing sent) when the child turned out to have finished it or never to have started
 * it: the jobs it was handed ahead are withdrawn first, so the signal can only hit this job. */
static bool
sup_stop_job(struct sup *s, struct slot *sl, enum job_status st, const char *reason)
{
    if (sup_withdraw(s, sl) != 0)
        return false;
    snprintf(sl->kill_reason, sizeof(sl->kill_reason), "%s", reason);
    sl->kill_status = st;
    sl->term_ms = now_mono_ms();
    kill(sl->pid, SIGTERM);
    return true;
}

static void
sup_enforce(struct sup *s)
{
    int64_t now = now_mono_ms();
    int grace = s->cfg->worker.kill_grace_s * 1000;
    char why[128];
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (!sl->busy)
            continue;
        if (sl->term_ms == 0 && now >= sl->deadline_ms) {
            snprintf(why, sizeof(why), "timeout after %ds", sl->job.timeout_s);
            if (sup_stop_job(s, sl, JOB_RETRY, why)) {
                worker_metrics_timeout();
                log_warnx("job %lld: %s; stopping its child", (long long)sl->job.id, why);
            }
        } else if (sl->cancel_ms && sl->term_ms == 0 && now >= sl->cancel_ms + grace) {
            sup_stop_job(s, sl, JOB_CANCELLED, "cancelled");
        } else if (sl->term_ms && now >= sl->term_ms + grace) {
            kill(sl->pid, SIGKILL);
        }
        if (s->draining && now >= s->drain_deadline && sl->busy && sl->term_ms == 0) {
            snprintf(why, sizeof(why), "worker stopped: drain timeout after %ds",
                     s->cfg->worker.drain_timeout_s);
            sup_stop_job(s, sl, JOB_RETRY, why);
        }
    }
}

/* Renews the fleet-wide slots of running jobs, and tells the check-out thread whether to poll
 * for cancel requests; signals the jobs asked to cancel. */
static void
sup_periodic(struct sup *s)
{
    int64_t now = now_mono_ms();
    int busy = 0, live = 0, ahead = 0;
    for (int i = 0; i < s->n_slots; i++) {
        busy += s->slots[i].busy;
        live += s->slots[i].pid > 0;
        ahead += s->slots[i].n_ahead;
    }
    sup_respawn(s, now);
    worker_metrics_slots(busy, s->n_slots);
    /* A sample every SUP_GAUGE_MS is plenty for a scrape, and spares a drain's loop, which
     * turns thousands of times a second, the registry's lock. */
    if (now >= s->next_gauges) {
        worker_metrics_window(s->n_win + ahead, sup_window_size(s, live), s->avg_run_ms);
        worker_metrics_standing(s->fenced, checkout_unwritten(&s->checkout),
                                (double)(now - checkout_last_beat(&s->checkout)) / 1000.0);
        s->next_gauges = now + SUP_GAUGE_MS;
    }
    checkout_set_busy(&s->checkout, busy > 0);
    if (now >= s->next_renew) {
        for (int i = 0; i < s->n_slots; i++) {
            struct slot *sl = &s->slots[i];
            if (sl->busy)
                limiter_renew(&s->lim, &sl->jl);
            for (int k = 0; k < sl->n_ahead; k++)
                limiter_renew(&s->lim, &sl->ahead[k].fj.jl);
        }
        for (int i = 0; i < s->n_win; i++)
            limiter_renew(&s->lim, &s->win[i].jl);
        s->next_renew = now + s->cfg->worker.heartbeat_s * 1000;
    }
}

static void
sup_cancels(struct sup *s)
{
    int n = 0;
    int64_t *ids = checkout_take_cancels(&s->checkout, &n);
    int64_t now = now_mono_ms();
    for (int k = 0; k < n; k++) {
        struct slot *sl = sup_slot_of_job(s, ids[k]);
        if (sl && sl->cancel_ms == 0) {
            log_info("job %lld: cancel requested", (long long)ids[k]);
            sl->cancel_ms = now;
            atomic_store(&s->gates[sl - s->slots].cancel_id, ids[k]);
            kill(sl->pid, SIGUSR1);
        } else if (sl == NULL) {
            sup_cancel_waiting(s, ids[k]);
        }
    }
    free(ids);
}

/* What the check-out thread read: cancel requests, and the paused queues when they changed. */
static void
sup_cancels_and_pauses(struct sup *s)
{
    sup_cancels(s);
    int64_t read_us = 0;
    char *p = checkout_take_paused(&s->checkout, &read_us);
    if (p == NULL)
        return;
    free(s->paused);
    s->paused = p;
    s->paused_us = read_us;
    if (!s->draining)
        sup_hand_back_paused(s, 0);
}

static void
sup_start_drain(struct sup *s)
{
    if (s->draining)
        return;
    int busy = 0;
    for (int i = 0; i < s->n_slots; i++)
        busy += s->slots[i].busy;
    log_info("draining: %d running job(s), up to %ds", busy, s->cfg->worker.drain_timeout_s);
    fetch_stop(&s->fetch);
    checkout_set_draining(&s->checkout);
    /* The window's jobs, and those handed ahead that no child started, go back at once, for
     * other workers, rather than wait out the drain or the lease. Withdrawn before draining is
     * set, those handed ahead join the window, and all go back in one transaction. */
    for (int i = 0; i < s->n_slots; i++)
        sup_withdraw(s, &s->slots[i]);
    s->draining = true;
    s->drain_deadline = now_mono_ms() + (int64_t)s->cfg->worker.drain_timeout_s * 1000;
    if (s->n_win > 0)
        log_info("draining: handing back %d job(s) claimed ahead", s->n_win);
    sup_hand_back_window(s);
}

/* True when nothing runs, nothing waits to be written, and the fetch thread, done with its
 * last pop and claim, has nothing left to hand over (fetch_done is read before the jobs it
 * handed over were taken). */
static bool
sup_idle_and_drained(struct sup *s, bool fetch_done)
{
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy)
            return false;
    return fetch_done && s->n_win == 0 && checkout_unwritten(&s->checkout) == 0;
}

/* How long past the drain's deadline the supervisor waits for what is left to write. */
#define SUP_DRAIN_GRACE_MS 5000

/* True when a drain has run past its deadline and SUP_DRAIN_GRACE_MS with no job left running
 * (sup_enforce stopped them): what is still to write or hand back waits for MariaDB, which may
 * not come back. The shutdown gives it a last few seconds; the lease recovery does the rest. */
static bool
sup_drain_overdue(struct sup *s)
{
    if (now_mono_ms() < s->drain_deadline + SUP_DRAIN_GRACE_MS)
        return false;
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy)
            return false;
    log_warnx("draining: %d outcome(s) still unwritten %ds after the drain's deadline "
              "(MariaDB away?): stopping",
              checkout_unwritten(&s->checkout), SUP_DRAIN_GRACE_MS / 1000);
    return true;
}

static void
sup_loop(struct sup *s)
{
    struct pollfd *pfd = xcalloc((size_t)s->n_slots + 3, sizeof(*pfd));
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = sup_sigpipe[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->fetch.pipe_rd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->checkout.pipe_rd, .events = POLLIN};
        for (int i = 0; i < s->n_slots; i++)
            pfd[n++] =
                (struct pollfd){.fd = s->slots[i].busy || s->slots[i].passing ? s->slots[i].fd : -1,
                                .events = POLLIN};
        /* Timeouts and the drain's end are checked at least every 100 ms. */
        int pr = poll(pfd, (nfds_t)n, 100);
        if (pr < 0 && errno != EINTR)
            fatal("poll");
        if (pr > 0 && (pfd[0].revents & POLLIN)) {
            char buf[64];
            while (read(sup_sigpipe[0], buf, sizeof(buf)) > 0)
                ;
            if (sup_term_count >= 2) {
                log_warnx("second signal: stopping now");
                break;
            }
            if (sup_term_count == 1)
                sup_start_drain(s);
        }
        for (int i = 0; pr > 0 && i < s->n_slots; i++)
            if (pfd[3 + i].revents & (POLLIN | POLLHUP))
                sup_read_outcomes(s, &s->slots[i]);
        sup_reap(s);
        /* Read first: jobs handed over before the thread finished are taken just below. */
        bool fetch_done = s->draining && fetch_finished(&s->fetch);
        sup_take_jobs(s, pr > 0 && (pfd[1].revents & POLLIN));
        if (pr > 0 && (pfd[2].revents & POLLIN))
            sup_cancels_and_pauses(s);
        if (!s->draining)
            sup_expire_window(s);
        sup_fill(s);
        sup_refill(s);
        sup_enforce(s);
        sup_periodic(s);
        if (s->draining && (sup_idle_and_drained(s, fetch_done) || sup_drain_overdue(s)))
            break;
    }
    free(pfd);
}

static void
sup_shutdown(struct sup *s, bool hard, int64_t *n_flushes, int64_t *n_flushed)
{
    /* Children still running jobs (a second signal): stop them and record what we know. */
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].pid > 0)
            kill(s->slots[i].pid, hard ? SIGKILL : SIGTERM);
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->pid <= 0)
            continue;
        int status;
        waitpid(sl->pid, &status, 0);
        /* What the child finished counts; what it never started goes back to its queue. */
        sup_read_last_outcomes(s, sl);
        sup_withdraw(s, sl);
        if (sl->busy)
            sup_complete(s, sl, JOB_RETRY, xstrdup("worker stopped"), NULL, 0,
                         now_mono_ms() - sl->started_ms);
        close(sl->fd);
        proto_rbuf_release(&sl->rb);
        sl->fd = -1;
        sl->pid = 0;
    }
    /* Write what is pending, giving a restarting MariaDB a few seconds. */
    int left = checkout_stop(&s->checkout, 10000);
    *n_flushes = s->checkout.n_flushes;
    *n_flushed = s->checkout.n_flushed;
    if (left > 0)
        log_error("%d outcome(s) could not be written; the scheduler will record them as "
                  "worker lost",
                  left);
    /* With MariaDB away the row stays 'running' and the scheduler's lease recovery ends it. */
    if (!s->checkout.db_down && instance_stop(s->db, s->instance_id) < 0)
        log_warnx("mark the instance stopped: %s", db_errstr(s->db));
}

/* Connects to MariaDB and registers the instance, waiting as long as MariaDB is away. Returns
 * 0 once registered, -1 when SIGTERM or SIGINT arrived first: nothing runs yet, so there is
 * nothing to drain. */
static int
sup_register(struct sup *s)
{
    if (db_connect(s->db) < 0) {
        log_warnx("%s; retrying until MariaDB answers", db_errstr(s->db));
        if (db_connect_retry(s->db, &sup_term_count) < 0)
            return -1;
    }
    struct retry r;
    retry_init(&r, 500, 5000);
    for (;;) {
        s->instance_id = instance_register(s->db, s->cfg->worker.queues, s->cfg->worker.concurrency,
                                           s->cfg->worker.lease_s);
        if (s->instance_id > 0)
            return 0;
        log_warnx("register instance: %s; retrying", db_errstr(s->db));
        if (retry_sleep(retry_fail(&r), &sup_term_count))
            return -1;
        if (!db_connected(s->db))
            db_connect(s->db);
    }
}

int
supervisor_run(const struct cfg *cfg)
{
    struct sup s;
    memset(&s, 0, sizeof(s));
    s.spawner.fd = -1;
    s.cfg = cfg;
    s.self = getpid();
    char err[256];
    if (fetch_parse_queues(cfg->worker.queues, &s.fetch.queues, &s.fetch.n_queues, err,
                           sizeof(err)) < 0) {
        log_error("queues: %s", err);
        return 2;
    }
    s.fetch.redis = cfg->redis;
    s.fetch.mysql = &cfg->mysql;
    s.fetch.lease_ms = (int64_t)cfg->worker.lease_s * 1000;
    limiter_init(&s.lim, &cfg->redis, (int64_t)cfg->worker.lease_s * 1000);
    sup_signals();
    s.db = db_new(&cfg->mysql);
    int rc = 0;
    if (sup_register(&s) < 0) {
        log_info("signal received while waiting for MariaDB: exiting");
        goto out;
    }
    s.n_slots = cfg->worker.concurrency;
    s.slots = xcalloc((size_t)s.n_slots, sizeof(*s.slots));
    s.gates = gate_map(s.n_slots);
    if (s.gates == NULL)
        fatal("map the children's start gates");
    for (int i = 0; i < s.n_slots; i++)
        s.slots[i].fd = -1;
    /* Before any thread starts: see spawner.h. */
    if (spawner_start(&s.spawner, sup_child_entry, &s) < 0)
        log_warn("start the spawner; the supervisor forks its children itself");
    for (int i = 0; i < s.n_slots; i++)
        if (sup_spawn(&s, i) < 0)
            fatalx("cannot start child processes");
    s.checkout.db = s.db;
    s.checkout.redis = &cfg->redis;
    s.checkout.lease_ms = (int64_t)cfg->worker.lease_s * 1000;
    s.checkout.instance_id = s.instance_id;
    s.checkout.heartbeat_ms = cfg->worker.heartbeat_s * 1000;
    if (checkout_start(&s.checkout) < 0)
        fatal("start check-out thread");
    /* The fetch thread loads the paused queues itself before its first pop. */
    s.fetch.instance_id = s.instance_id;
    if (fetch_start(&s.fetch) < 0)
        fatal("start fetch thread");
    s.prefetch_auto = cfg->worker.prefetch < 0;
    s.prefetch = s.prefetch_auto ? s.n_slots * SUP_WINDOW_AUTO_PER_CHILD : cfg->worker.prefetch;
    s.wait_ms = cfg->worker.prefetch_wait_ms;
    s.hand_ahead = cfg->worker.hand_ahead;
    s.ahead_run_ms = cfg->worker.hand_ahead_run_ms;
    s.told_idle = -1;
    sup_refill(&s);
    /* Started after the first children are forked, so they do not hold its socket. */
    worker_metrics_start();
    struct metrics_server *ms = NULL;
    if (cfg->worker.metrics_listen && cfg->worker.metrics_listen[0]) {
        ms = metrics_server_start(cfg->worker.metrics_listen, NULL, NULL, err, sizeof(err));
        if (ms == NULL)
            log_error("[worker] %s; running without it", err);
    }
    log_info("worker instance %lld: %d children, %d claimed ahead at most, %d handed ahead per "
             "child, queues %s",
             (long long)s.instance_id, s.n_slots, s.prefetch, s.hand_ahead, cfg->worker.queues);
    s.next_renew = now_mono_ms() + cfg->worker.heartbeat_s * 1000;
    sup_loop(&s);
    bool hard = sup_term_count >= 2;
    /* From here on, jobs taken back from the children go back to their queues. */
    s.draining = true;
    /* After a drain the thread has finished and handed everything over. After a second
     * signal, jobs claimed that no child started are handed back: their check-in is
     * committed, so they must not be left running. */
    fetch_abort(&s.fetch);
    int n_left = 0;
    struct fetch_job *left = fetch_join(&s.fetch, &n_left);
    for (int i = 0; i < n_left; i++)
        sup_hand_back(&s, &left[i]);
    free(left);
    sup_hand_back_window(&s);
    int64_t n_flushes = 0, n_flushed = 0;
    sup_shutdown(&s, hard, &n_flushes, &n_flushed);
    log_info("worker instance %lld stopped: %lld jobs claimed in %lld statements, %lld "
             "outcomes written in %lld transactions",
             (long long)s.instance_id, (long long)s.fetch.n_claimed, (long long)s.fetch.n_claims,
             (long long)n_flushed, (long long)n_flushes);
    rc = hard ? 1 : 0;
    metrics_server_stop(ms);
out:
    spawner_stop(&s.spawner);
    free(s.win);
    gate_unmap(s.gates, s.n_slots);
    free(s.slots);
    fetch_queues_free(s.fetch.queues, s.fetch.n_queues);
    limiter_release(&s.lim);
    free(s.paused);
    db_free(s.db);
    return rc;
}
