/* This file is the worker supervisor's loop: it hands claimed jobs to idle children, writes
 * their outcomes, enforces timeouts and cancellations, replaces dead children, heartbeats,
 * and drains on SIGTERM. */
#include "supervisor.h"
#include "child.h"
#include "db.h"
#include "fetch.h"
#include "instance.h"
#include "lifecycle.h"
#include "limits.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUP_CANCEL_POLL_MS 1000

struct slot {
    pid_t pid;
    int fd;
    bool busy;
    struct claimed_job job;
    int64_t started_ms;
    int64_t deadline_ms;
    int64_t term_ms;   /* when SIGTERM went to a job past its timeout or cancel grace */
    int64_t cancel_ms; /* when SIGUSR1 asked the job to cancel */
    enum job_status kill_status;
    char kill_reason[128];
    struct job_limits jl; /* the fleet-wide slots this job holds */
};

/* An outcome waiting to be written, with the strings it owns. */
struct pending {
    struct outcome o;
    struct claimed_job job;
    char *reason;
    char *result;
};

struct sup {
    const struct cfg *cfg;
    struct db *db;
    int64_t instance_id;
    struct fetch fetch;
    struct slot *slots;
    int n_slots;
    struct pending *pending;
    int n_pending, cap_pending;
    bool draining;
    int64_t drain_deadline;
    bool db_down;
    int64_t db_retry_at, db_backoff;
    int withheld; /* capacity not offered to the fetch thread while MariaDB is down */
    int64_t next_heartbeat, next_cancel_poll, next_flush_try, next_settings;
    pid_t self;
    struct limiter lim;
    char fbuf[sizeof(struct fetch_item) * FETCH_BATCH_MAX * 2];
    size_t flen;
    struct job_limits jls[FETCH_BATCH_MAX * 2];
    /* How well claims and check-outs coalesce, logged when the worker stops. */
    int64_t n_claims, n_claimed, n_flushes, n_flushed;
};

#define SUP_SETTINGS_MS 500

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

static void
sup_mark_db_down(struct sup *s, const char *what)
{
    if (!s->db_down)
        log_warnx("%s: %s; will reconnect", what, db_errstr(s->db));
    s->db_down = true;
    if (s->db_retry_at == 0) {
        s->db_backoff = 100;
        s->db_retry_at = now_mono_ms() + s->db_backoff;
    }
}

/* Reconnects with backoff from inside the loop, so children's outcomes keep being read. */
static void
sup_db_retry(struct sup *s)
{
    if (!s->db_down || now_mono_ms() < s->db_retry_at)
        return;
    if (db_connect(s->db) == 0) {
        log_info("MariaDB is reachable again");
        s->db_down = false;
        s->db_retry_at = 0;
        if (!s->draining && s->withheld > 0)
            fetch_want(&s->fetch, s->withheld);
        s->withheld = 0;
        return;
    }
    s->db_backoff = s->db_backoff * 2 > 5000 ? 5000 : s->db_backoff * 2;
    s->db_retry_at = now_mono_ms() + s->db_backoff;
}

static int
sup_spawn(struct sup *s, int i)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        log_warn("socketpair");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("fork");
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        /* The supervisor's descriptors are not the child's business. */
        for (int k = 0; k < s->n_slots; k++)
            if (s->slots[k].fd >= 0)
                close(s->slots[k].fd);
        close(sup_sigpipe[0]);
        close(sup_sigpipe[1]);
        child_main(sv[1], s->self, s->cfg);
    }
    close(sv[1]);
    struct slot *sl = &s->slots[i];
    memset(sl, 0, sizeof(*sl));
    sl->pid = pid;
    sl->fd = sv[0];
    return 0;
}

static struct pending *
sup_pending_add(struct sup *s)
{
    if (s->n_pending == s->cap_pending) {
        s->cap_pending = s->cap_pending ? s->cap_pending * 2 : 16;
        s->pending = xrealloc(s->pending, sizeof(*s->pending) * (size_t)s->cap_pending);
    }
    struct pending *p = &s->pending[s->n_pending++];
    memset(p, 0, sizeof(*p));
    return p;
}

/* Moves a busy slot's job into the pending outcomes and frees the slot. Takes reason and
 * result. */
static void
sup_complete(struct sup *s, struct slot *sl, enum job_status st, char *reason, char *result,
             int64_t retry_delay_ms, int64_t exec_ms)
{
    struct pending *p = sup_pending_add(s);
    p->job = sl->job;
    memset(&sl->job, 0, sizeof(sl->job));
    p->reason = reason;
    p->result = result;
    p->o = (struct outcome){.id = p->job.id,
                            .instance_id = s->instance_id,
                            .attempt = p->job.attempt,
                            .max_attempts = p->job.max_attempts,
                            .action = p->job.action,
                            .status = st,
                            .reason = p->reason,
                            .result = p->result,
                            .execution_ms = exec_ms,
                            .retry_delay_ms = retry_delay_ms,
                            .dt_started = p->job.dt_started};
    log_debug("job %lld attempt %d %s%s%s", (long long)p->job.id, p->job.attempt,
              st == JOB_OK ? "succeeded" : "ended", reason ? ": " : "", reason ? reason : "");
    limiter_backoff(&s->lim, p->job.action, &p->o.backoff_base_ms, &p->o.backoff_cap_ms);
    /* The job no longer runs: its concurrency slots are free for the fleet now. */
    limiter_free_slots(&s->lim, &sl->jl, p->job.id);
    sl->busy = false;
    sl->term_ms = sl->cancel_ms = 0;
    sl->kill_reason[0] = '\0';
}

static void
sup_read_outcome(struct sup *s, struct slot *sl)
{
    struct proto_outcome po;
    int rc = proto_read_outcome(sl->fd, &po);
    if (rc != 1)
        return; /* EOF or garbage: the reaper records the crash */
    if (!sl->busy || po.id != sl->job.id) {
        log_warnx("child %d sent an outcome for job %lld it was not running", (int)sl->pid,
                  (long long)po.id);
        proto_outcome_release(&po);
        return;
    }
    enum job_status st = (enum job_status)po.status;
    char *reason = po.reason, *result = po.result;
    /* A job killed for its timeout that still managed to answer keeps its own answer. */
    sup_complete(s, sl, st, reason, result, po.retry_delay_ms, po.execution_ms);
    if (!s->draining) {
        if (s->db_down)
            s->withheld++;
        else
            fetch_want(&s->fetch, 1);
    }
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
        if (i == s->n_slots)
            continue;
        struct slot *sl = &s->slots[i];
        /* An outcome written just before dying still counts. */
        struct pollfd pfd = {.fd = sl->fd, .events = POLLIN};
        if (sl->busy && poll(&pfd, 1, 0) == 1)
            sup_read_outcome(s, sl);
        bool was_busy = sl->busy;
        if (sl->busy) {
            char *reason;
            enum job_status st = JOB_RETRY;
            int64_t ran = now_mono_ms() - sl->started_ms;
            if (sl->kill_reason[0]) {
                reason = xstrdup(sl->kill_reason);
                st = sl->kill_status;
            } else if (WIFSIGNALED(status)) {
                const char *abbr = sigabbrev_np(WTERMSIG(status));
                reason = abbr ? xasprintf("crashed: SIG%s", abbr)
                              : xasprintf("crashed: signal %d", WTERMSIG(status));
            } else {
                reason = xasprintf("crashed: exit status %d", WEXITSTATUS(status));
            }
            log_warnx("job %lld (%s) attempt %d: %s", (long long)sl->job.id, sl->job.action,
                      sl->job.attempt, reason);
            sup_complete(s, sl, st, reason, NULL, 0, ran);
        }
        close(sl->fd);
        sl->fd = -1;
        sl->pid = 0;
        if (s->draining)
            continue;
        if (sup_spawn(s, i) == 0 && was_busy) {
            if (s->db_down)
                s->withheld++;
            else
                fetch_want(&s->fetch, 1);
        }
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

static struct slot *
sup_idle_slot(struct sup *s)
{
    for (int i = 0; i < s->n_slots; i++)
        if (!s->slots[i].busy && s->slots[i].pid > 0)
            return &s->slots[i];
    return NULL;
}

static void
sup_dispatch(struct sup *s, struct claimed_job *j, const struct job_limits *jl)
{
    struct slot *sl = sup_idle_slot(s);
    if (sl == NULL) {
        /* Cannot happen while the capacity accounting holds; the job goes back through the
         * scheduler's lease/watchdog rather than being dropped silently. */
        log_error("no idle child for job %lld", (long long)j->id);
        claimed_job_release(j);
        return;
    }
    sl->busy = true;
    sl->jl = *jl;
    sl->job = *j;
    memset(j, 0, sizeof(*j));
    sl->started_ms = now_mono_ms();
    sl->deadline_ms = sl->started_ms + (int64_t)sl->job.timeout_s * 1000;
    struct proto_job pj = {.id = sl->job.id,
                           .attempt = sl->job.attempt,
                           .timeout_s = sl->job.timeout_s,
                           .action = sl->job.action,
                           .parameters = sl->job.parameters};
    if (proto_write_job(sl->fd, &pj) < 0) {
        /* The child is gone; the reaper records the job as crashed. */
        log_warn("hand job %lld to child %d", (long long)sl->job.id, (int)sl->pid);
        snprintf(sl->kill_reason, sizeof(sl->kill_reason), "crashed: child lost before start");
        sl->kill_status = JOB_RETRY;
        kill(sl->pid, SIGKILL);
    }
}

/* Keeps the IDs whose fleet-wide slots could be taken (their slots in jls, in step with the
 * returned order) and sends the others back to pending until a slot is likely free. */
static int
sup_apply_limits(struct sup *s, int64_t *ids, int n, struct job_limits *jls)
{
    struct db_rows *r = lifecycle_peek(s->db, ids, n);
    if (r == NULL) {
        sup_mark_db_down(s, "limits");
        return 0;
    }
    int kept = 0;
    for (int i = 0; i < r->n_rows; i++) {
        int64_t id = db_rows_int(r, i, 0, 0);
        struct job_limits jl;
        limiter_scopes(&s->lim, db_rows_get(r, i, 1), db_rows_get(r, i, 2), &jl);
        int64_t wait = limiter_acquire(&s->lim, &jl, id);
        if (wait == 0) {
            ids[kept] = id;
            jls[kept] = jl;
            kept++;
            continue;
        }
        /* Over a limit (or Redis unreachable): the job waits in pending, not failed. */
        if (wait < 0)
            wait = 1000;
        if (lifecycle_defer(s->db, id, wait) < 0)
            log_warnx("defer job %lld: %s", (long long)id, db_errstr(s->db));
    }
    db_rows_free(r);
    return kept;
}

/* Puts back the unclaimed IDs whose rows are still queued: their queue was paused between
 * the pop and the claim. Without this they would wait for the scheduler's reconcile. */
static void
sup_put_back_unclaimed(struct sup *s, const struct fetch_item *items, int n, const bool *claimed)
{
    int64_t ids[FETCH_BATCH_MAX];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!claimed[i])
            ids[m++] = items[i].id;
    if (m == 0 || s->db_down)
        return;
    struct db_rows *r = lifecycle_peek(s->db, ids, m);
    if (r == NULL)
        return;
    struct fetch_item back[FETCH_BATCH_MAX];
    int nb = 0;
    for (int k = 0; k < r->n_rows; k++)
        for (int i = 0; i < n; i++)
            if (items[i].id == db_rows_int(r, k, 0, 0) && !claimed[i])
                back[nb++] = items[i];
    db_rows_free(r);
    if (nb > 0) {
        fetch_put_back(&s->fetch, back, nb);
        s->next_settings = 0; /* learn of the pause now, not in half a second */
    }
}

/* Reads what the fetch thread delivered; a read can end mid-record when several writes are
 * waiting, so the tail stays in the buffer. */
static void
sup_read_ids(struct sup *s)
{
    ssize_t r = read(s->fetch.pipe_rd, s->fbuf + s->flen, sizeof(s->fbuf) - s->flen);
    if (r > 0)
        s->flen += (size_t)r;
}

/* Marks the outcomes written and frees them. */
static void
sup_outcomes_done(struct sup *s, int n, const bool *took)
{
    for (int i = 0; i < n; i++) {
        struct pending *p = &s->pending[i];
        if (!took[i])
            log_info("job %lld attempt %d: outcome not recorded, the job was already recovered",
                     (long long)p->job.id, p->job.attempt);
        claimed_job_release(&p->job);
        free(p->reason);
        free(p->result);
    }
    memmove(s->pending, s->pending + n, sizeof(*s->pending) * (size_t)(s->n_pending - n));
    s->n_pending -= n;
    s->n_flushes++;
    s->n_flushed += n;
}

/* Writes the pending outcomes and claims the popped IDs in one transaction, then hands the
 * claimed jobs to idle children. */
static void
sup_sync(struct sup *s)
{
    int n_out = s->n_pending > 0 && now_mono_ms() >= s->next_flush_try ? s->n_pending : 0;
    int n = (int)(s->flen / sizeof(struct fetch_item));
    if (n > FETCH_BATCH_MAX * 2)
        n = FETCH_BATCH_MAX * 2;
    if (n_out == 0 && n == 0)
        return;
    struct fetch_item items[FETCH_BATCH_MAX * 2];
    memcpy(items, s->fbuf, sizeof(struct fetch_item) * (size_t)n);
    size_t used = sizeof(struct fetch_item) * (size_t)n;
    memmove(s->fbuf, s->fbuf + used, s->flen - used);
    s->flen -= used;
    if (s->db_down) {
        /* The popped IDs are out of Redis but their rows are still queued: the scheduler's
         * reconcile pushes them again. The outcomes wait for MariaDB. */
        if (!s->draining)
            s->withheld += n;
        return;
    }

    int64_t uniq[FETCH_BATCH_MAX * 2];
    int nu = 0;
    for (int i = 0; i < n; i++) {
        bool dup = sup_slot_of_job(s, items[i].id) != NULL;
        for (int k = 0; k < nu && !dup; k++)
            dup = uniq[k] == items[i].id;
        if (!dup)
            uniq[nu++] = items[i].id;
    }
    struct job_limits *jls = s->jls;
    memset(jls, 0, sizeof(*jls) * (size_t)nu);
    if (nu > 0 && limiter_active(&s->lim))
        nu = sup_apply_limits(s, uniq, nu, jls);

    struct outcome *o = xcalloc((size_t)(n_out ? n_out : 1), sizeof(*o));
    bool *took = xcalloc((size_t)(n_out ? n_out : 1), sizeof(bool));
    for (int i = 0; i < n_out; i++)
        o[i] = s->pending[i].o;
    struct claimed_job jobs[FETCH_BATCH_MAX * 2];
    memset(jobs, 0, sizeof(struct claimed_job) * (size_t)(nu ? nu : 1));
    int claimed = 0;
    int rc = lifecycle_sync(s->db, o, n_out, took, uniq, nu, s->instance_id, jobs, &claimed);
    free(o);
    if (nu > 0) {
        s->n_claims++;
        s->n_claimed += claimed;
    }
    if (rc == 0 && n_out > 0)
        sup_outcomes_done(s, n_out, took);
    if (rc < 0) {
        /* Nothing is lost: the outcomes stay pending and the guards make a repeat harmless,
         * including after a commit whose answer never came (rc -2). */
        if (db_lost(s->db) || rc == -2)
            sup_mark_db_down(s, "check-out and claim");
        else
            log_warnx("check-out and claim: %s; will retry", db_errstr(s->db));
        s->next_flush_try = now_mono_ms() + 200;
    }
    free(took);
    for (int k = 0; k < nu; k++) {
        int i;
        for (i = 0; i < claimed && jobs[i].id != uniq[k]; i++)
            ;
        if (i < claimed)
            sup_dispatch(s, &jobs[i], &jls[k]);
        else
            limiter_free_slots(&s->lim, &jls[k], uniq[k]);
    }
    if (rc == 0 && claimed < n) {
        bool taken[FETCH_BATCH_MAX * 2] = {false};
        for (int i = 0; i < n; i++)
            for (int k = 0; k < claimed && !taken[i]; k++)
                taken[i] = jobs[k].id == items[i].id;
        sup_put_back_unclaimed(s, items, n, taken);
    }
    int unused = n - claimed;
    if (unused > 0 && !s->draining) {
        if (s->db_down)
            s->withheld += unused;
        else
            fetch_want(&s->fetch, unused);
    }
}

static void
sup_enforce(struct sup *s)
{
    int64_t now = now_mono_ms();
    int grace = s->cfg->worker.kill_grace_s * 1000;
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (!sl->busy)
            continue;
        if (sl->term_ms == 0 && now >= sl->deadline_ms) {
            snprintf(sl->kill_reason, sizeof(sl->kill_reason), "timeout after %ds",
                     sl->job.timeout_s);
            sl->kill_status = JOB_RETRY;
            sl->term_ms = now;
            log_warnx("job %lld: %s; stopping its child", (long long)sl->job.id, sl->kill_reason);
            kill(sl->pid, SIGTERM);
        } else if (sl->cancel_ms && sl->term_ms == 0 && now >= sl->cancel_ms + grace) {
            snprintf(sl->kill_reason, sizeof(sl->kill_reason), "cancelled");
            sl->kill_status = JOB_CANCELLED;
            sl->term_ms = now;
            kill(sl->pid, SIGTERM);
        } else if (sl->term_ms && now >= sl->term_ms + grace) {
            kill(sl->pid, SIGKILL);
        }
        if (s->draining && now >= s->drain_deadline && sl->term_ms == 0) {
            snprintf(sl->kill_reason, sizeof(sl->kill_reason),
                     "worker stopped: drain timeout after %ds", s->cfg->worker.drain_timeout_s);
            sl->kill_status = JOB_RETRY;
            sl->term_ms = now;
            kill(sl->pid, SIGTERM);
        }
    }
}

/* Reloads queue and action settings: paused queues go to the fetch thread. */
static void
sup_settings(struct sup *s, int64_t now)
{
    if (now < s->next_settings)
        return;
    s->next_settings = now + SUP_SETTINGS_MS;
    if (limiter_refresh(&s->lim, s->db) < 0) {
        if (db_lost(s->db))
            sup_mark_db_down(s, "settings");
        return;
    }
    bool paused[64] = {false};
    for (int i = 0; i < s->fetch.n_queues && i < 64; i++)
        paused[i] = limiter_paused(&s->lim, s->fetch.queues[i].name);
    fetch_set_paused(&s->fetch, paused);
}

static void
sup_periodic(struct sup *s)
{
    int64_t now = now_mono_ms();
    if (s->db_down)
        return;
    sup_settings(s, now);
    if (now >= s->next_heartbeat) {
        if (instance_heartbeat(s->db, s->instance_id, s->draining ? "draining" : "running") < 0)
            sup_mark_db_down(s, "heartbeat");
        for (int i = 0; i < s->n_slots; i++)
            if (s->slots[i].busy)
                limiter_renew(&s->lim, &s->slots[i].jl, s->slots[i].job.id);
        s->next_heartbeat = now + s->cfg->worker.heartbeat_s * 1000;
    }
    bool any_busy = false;
    for (int i = 0; i < s->n_slots; i++)
        any_busy |= s->slots[i].busy;
    if (any_busy && now >= s->next_cancel_poll && !s->db_down) {
        int64_t ids[64];
        int n = instance_cancel_requests(s->db, s->instance_id, ids, 64);
        if (n < 0)
            sup_mark_db_down(s, "cancel poll");
        for (int k = 0; k < n; k++) {
            struct slot *sl = sup_slot_of_job(s, ids[k]);
            if (sl && sl->cancel_ms == 0) {
                log_info("job %lld: cancel requested", (long long)ids[k]);
                sl->cancel_ms = now;
                kill(sl->pid, SIGUSR1);
            }
        }
        s->next_cancel_poll = now + SUP_CANCEL_POLL_MS;
    }
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
    s->draining = true;
    s->drain_deadline = now_mono_ms() + (int64_t)s->cfg->worker.drain_timeout_s * 1000;
    fetch_stop(&s->fetch);
    s->next_heartbeat = 0;
}

static bool
sup_idle_and_drained(struct sup *s)
{
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy)
            return false;
    if (s->n_pending > 0)
        return false;
    pthread_mutex_lock(&s->fetch.mu);
    bool fetch_live = s->fetch.stop == false;
    pthread_mutex_unlock(&s->fetch.mu);
    return !fetch_live;
}

static int
sup_poll_timeout(struct sup *s)
{
    int64_t t = 100;
    if (s->n_pending > 0 && !s->db_down)
        t = 1;
    return (int)t;
}

static void
sup_loop(struct sup *s)
{
    struct pollfd *pfd = xcalloc((size_t)s->n_slots + 2, sizeof(*pfd));
    int64_t drained_at = 0;
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = sup_sigpipe[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->fetch.pipe_rd, .events = POLLIN};
        for (int i = 0; i < s->n_slots; i++)
            pfd[n++] =
                (struct pollfd){.fd = s->slots[i].busy ? s->slots[i].fd : -1, .events = POLLIN};
        int pr = poll(pfd, (nfds_t)n, sup_poll_timeout(s));
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
            if (pfd[2 + i].revents & (POLLIN | POLLHUP))
                sup_read_outcome(s, &s->slots[i]);
        sup_reap(s);
        if (pr > 0 && (pfd[1].revents & POLLIN))
            sup_read_ids(s);
        sup_sync(s);
        sup_enforce(s);
        sup_db_retry(s);
        sup_periodic(s);
        if (s->draining && sup_idle_and_drained(s)) {
            /* IDs popped just before the stop are in flight too: give the fetch thread's last
             * blocking pop time to end and deliver. */
            if (drained_at == 0) {
                fetch_join(&s->fetch);
                s->fetch.pipe_rd = -1;
                drained_at = now_mono_ms();
            }
            break;
        }
    }
    free(pfd);
}

static void
sup_shutdown(struct sup *s, bool hard)
{
    /* Children still running jobs (a second signal): stop them and record what we know. */
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->pid <= 0)
            continue;
        if (sl->busy) {
            snprintf(sl->kill_reason, sizeof(sl->kill_reason), "worker stopped");
            sl->kill_status = JOB_RETRY;
        }
        kill(sl->pid, hard ? SIGKILL : SIGTERM);
        close(sl->fd);
        sl->fd = -1;
    }
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->pid <= 0)
            continue;
        int status;
        waitpid(sl->pid, &status, 0);
        if (sl->busy)
            sup_complete(s, sl, sl->kill_status, xstrdup(sl->kill_reason), NULL, 0,
                         now_mono_ms() - sl->started_ms);
        sl->pid = 0;
    }
    /* Write what is pending, giving a restarting MariaDB a few seconds. */
    int64_t until = now_mono_ms() + 10000;
    while (s->n_pending > 0 && now_mono_ms() < until) {
        s->next_flush_try = 0;
        if (s->db_down) {
            s->db_retry_at = 0;
            sup_db_retry(s);
        }
        sup_sync(s);
        if (s->n_pending > 0)
            sleep_ms(200);
    }
    if (s->n_pending > 0)
        log_error("%d outcome(s) could not be written; the scheduler will record them as "
                  "worker lost",
                  s->n_pending);
    if (!s->db_down)
        instance_stop(s->db, s->instance_id);
}

int
supervisor_run(const struct cfg *cfg)
{
    struct sup s;
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.self = getpid();
    char err[256];
    if (fetch_parse_queues(cfg->worker.queues, &s.fetch.queues, &s.fetch.n_queues, err,
                           sizeof(err)) < 0) {
        log_error("queues: %s", err);
        return 2;
    }
    s.fetch.redis = cfg->redis;
    limiter_init(&s.lim, &cfg->redis, (int64_t)cfg->worker.lease_s * 1000);
    sup_signals();
    s.db = db_new(&cfg->mysql);
    volatile int stop = 0;
    if (db_connect(s.db) < 0) {
        log_warnx("%s; retrying until MariaDB answers", db_errstr(s.db));
        if (db_connect_retry(s.db, &stop) < 0)
            return 1;
    }
    for (;;) {
        s.instance_id = instance_register(s.db, cfg->worker.queues, cfg->worker.concurrency);
        if (s.instance_id > 0)
            break;
        log_warnx("register instance: %s; retrying", db_errstr(s.db));
        if (sup_term_count)
            return 0;
        sleep_ms(1000);
        if (!db_connected(s.db))
            db_connect(s.db);
    }
    s.n_slots = cfg->worker.concurrency;
    s.slots = xcalloc((size_t)s.n_slots, sizeof(*s.slots));
    for (int i = 0; i < s.n_slots; i++)
        s.slots[i].fd = -1;
    for (int i = 0; i < s.n_slots; i++)
        if (sup_spawn(&s, i) < 0)
            fatalx("cannot start child processes");
    if (fetch_start(&s.fetch) < 0)
        fatal("start fetch thread");
    /* Paused queues must be known before the first pop. */
    sup_settings(&s, now_mono_ms());
    fetch_want(&s.fetch, s.n_slots);
    log_info("worker instance %lld: %d children, queues %s", (long long)s.instance_id, s.n_slots,
             cfg->worker.queues);
    s.next_heartbeat = now_mono_ms() + cfg->worker.heartbeat_s * 1000;
    sup_loop(&s);
    bool hard = sup_term_count >= 2;
    if (s.fetch.pipe_rd >= 0) {
        fetch_stop(&s.fetch);
        fetch_join(&s.fetch);
    }
    sup_shutdown(&s, hard);
    log_info("worker instance %lld stopped: %lld jobs claimed in %lld statements, %lld "
             "outcomes written in %lld transactions",
             (long long)s.instance_id, (long long)s.n_claimed, (long long)s.n_claims,
             (long long)s.n_flushed, (long long)s.n_flushes);
    free(s.slots);
    free(s.pending);
    fetch_queues_free(s.fetch.queues, s.fetch.n_queues);
    limiter_release(&s.lim);
    db_free(s.db);
    return hard ? 1 : 0;
}
