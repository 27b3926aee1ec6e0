/* This file is the worker supervisor's hand-over of claimed jobs to its children: to idle
 * children, ahead to busy ones through their start gates (gate.h), and back (withdrawn from a
 * child, or handed back to their queues: overdue in the window, cancelled there, or claimed
 * past the lease). */
#include "sup_int.h"
#include "caltime.h"
#include "gate.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "worker_metrics.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct slot *
sup_idle_slot(struct sup *s)
{
    for (int i = 0; i < s->n_slots; i++)
        if (!s->slots[i].busy && s->slots[i].pid > 0 && s->slots[i].passing == 0)
            return &s->slots[i];
    return NULL;
}

/* Jobs are handed ahead only while the children's jobs are short on average ([worker]
 * hand_ahead_run_ms): then a child's sleep and wake-up per job is a good part of the job's
 * cost, and a job waits behind at most a few short ones. And only jobs this small, so that their
 * writes never block on a busy child's socket. */
#define SUP_AHEAD_BYTES 4096

/* The busy child to hand a job ahead to: the one with the fewest waiting, among those whose
 * current job is not overdue nor being stopped; NULL when none may take one. */
static struct slot *
sup_ahead_slot(struct sup *s, int live)
{
    if (s->draining || s->n_runs < live || s->avg_run_ms > s->ahead_run_ms)
        return NULL;
    int64_t now = now_mono_ms();
    struct slot *best = NULL;
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (!sl->busy || sl->pid <= 0 || sl->passing > 0 || sl->n_ahead >= s->hand_ahead ||
            sl->term_ms || sl->cancel_ms || now - sl->started_ms > SUP_WINDOW_COVER_MS)
            continue;
        if (best == NULL || sl->n_ahead < best->n_ahead)
            best = sl;
    }
    return best;
}

static bool
sup_small_job(const struct fetch_job *fj)
{
    size_t n = strlen(fj->job.action) + (fj->job.parameters ? strlen(fj->job.parameters) : 0);
    return n <= SUP_AHEAD_BYTES;
}

/* Stamps the job with the time a child really starts it, on MariaDB's clock (start_clock.h),
 * learnt from the claims' own dt_started. The check-out writes the stamp to the row and the
 * attempt row, capped by the server's time. */
static void
sup_real_start(struct sup *s, struct fetch_job *fj)
{
    struct claimed_job *job = &fj->job;
    int64_t claimed_us;
    if (job->dt_started == NULL || caltime_parse_dt_us(job->dt_started, &claimed_us) < 0)
        return; /* the row's own dt_started stays */
    /* The UPDATE's own send time when known: claimed_us is earlier, before its prepare. */
    int64_t sent_us = job->sent_us ? job->sent_us : fj->claimed_us;
    start_clock_learn(&s->clock, claimed_us, sent_us, fj->got_us);
    char when[32];
    caltime_format_dt6_us(start_clock_stamp(&s->clock, fetch_now_us()), when, sizeof(when));
    free(job->dt_started);
    job->dt_started = xstrdup(when);
    job->started_late = true;
}

/* Records a claimed job that will not be started, with why (taken); takes the job. */
static void
sup_not_started(struct sup *s, struct fetch_job *fj, enum job_status st, char *why)
{
    log_warnx("job %lld attempt %d: %s", (long long)fj->job.id, fj->job.attempt, why);
    sup_record(s, &fj->job, &fj->jl, st, why, NULL, 0, 0);
    memset(fj, 0, sizeof(*fj));
}

/* How long before a claim's lease runs out the supervisor stops handing the job to a child: a
 * fifth of the lease, at most SUP_START_MARGIN_MAX_MS. The child refuses a job it reads past
 * the lease (child.c), and its read comes after the hand-over by as long as the child takes to
 * be scheduled: at a job kept in the window until just before its lease, that refusal cost the
 * job an attempt it never ran. */
static int64_t
sup_start_margin_ms(const struct sup *s)
{
    int64_t m = s->fetch.lease_ms / 5;
    return m < SUP_START_MARGIN_MAX_MS ? m : SUP_START_MARGIN_MAX_MS;
}

/* True when a claimed job may be handed to a child; otherwise records why not (taking the
 * job). */
static bool
sup_startable(struct sup *s, struct fetch_job *fj)
{
    int64_t waited = fetch_now_us() - fj->claimed_us;
    if (!proto_fits(fj->job.parameters)) {
        /* The child could not be handed the job whole: fail it for good, saying why. */
        sup_not_started(s, fj, JOB_FAIL,
                        xasprintf("parameters of %zu bytes exceed the worker protocol's limit "
                                  "of %u",
                                  strlen(fj->job.parameters), PROTO_MAX_FIELD));
        return false;
    }
    if (waited >= (s->fetch.lease_ms - sup_start_margin_ms(s)) * 1000) {
        /* This worker was stopped or starved since the claim, long enough for its lease to
         * run out: the scheduler may have given the job to another worker already, so
         * starting it could run it twice. Handed back, not failed: it never ran, so it costs no
         * attempt, and the hand-back's guard leaves a job recovered meanwhile alone. So is one
         * whose lease runs out within the margin: its child would read it past the lease,
         * refuse it, and fail the attempt. */
        if (waited >= s->fetch.lease_ms * 1000)
            log_warnx("job %lld: claimed %lld s ago, past the lease: handed back unstarted",
                      (long long)fj->job.id, (long long)(waited / 1000000));
        else
            log_warnx("job %lld: claimed %lld ms ago, too near its lease to start: handed back "
                      "unstarted",
                      (long long)fj->job.id, (long long)(waited / 1000));
        sup_hand_back(s, fj);
        return false;
    }
    return true;
}

/* Writes job fj, numbered seq, to the child of slot sl; on failure the child is gone or going
 * (the reaper tells from the gate whether it started). */
static void
sup_write_job(struct sup *s, struct slot *sl, const struct fetch_job *fj, uint64_t seq)
{
    struct proto_job pj = {.id = fj->job.id,
                           .seq = seq,
                           .start_by_ms = fj->claimed_us / 1000 + s->fetch.lease_ms,
                           .attempt = fj->job.attempt,
                           .timeout_s = fj->job.timeout_s,
                           .action = fj->job.action,
                           .parameters = fj->job.parameters};
    if (proto_write_job(sl->fd, &pj) < 0) {
        log_warn("hand job %lld to child %d", (long long)fj->job.id, (int)sl->pid);
        kill(sl->pid, SIGKILL);
    }
}

/* Makes fj, numbered seq, the current job of slot sl, starting now; takes the job. */
static void
sup_begin(struct sup *s, struct slot *sl, struct fetch_job *fj, uint64_t seq)
{
    int64_t waited = fetch_now_us() - fj->claimed_us;
    sup_real_start(s, fj);
    worker_metrics_queue_wait(&fj->job, fj->job.due_wait_us + waited);
    log_debug("job %lld attempt %d started %lld us after its claim", (long long)fj->job.id,
              fj->job.attempt, (long long)waited);
    sl->busy = true;
    sl->jl = fj->jl;
    sl->job = fj->job;
    sl->seq = seq;
    sl->score = fj->score;
    memset(fj, 0, sizeof(*fj));
    sl->started_ms = now_mono_ms();
    sl->deadline_ms = sl->started_ms + (int64_t)sl->job.timeout_s * 1000;
}

/* Hands a claimed job to the idle child of slot sl; takes the job. */
static void
sup_dispatch(struct sup *s, struct slot *sl, struct fetch_job *fj)
{
    if (!sup_startable(s, fj))
        return;
    uint64_t seq = ++sl->sent;
    sup_write_job(s, sl, fj, seq);
    sup_begin(s, sl, fj, seq);
}

/* Hands a claimed job to the busy child of slot sl, to start as soon as its current job ends;
 * takes the job. */
static void
sup_hand_ahead(struct sup *s, struct slot *sl, struct fetch_job *fj)
{
    if (!sup_startable(s, fj))
        return;
    struct ahead_job *a = &sl->ahead[sl->n_ahead++];
    a->seq = ++sl->sent;
    a->fj = *fj;
    memset(fj, 0, sizeof(*fj));
    log_debug("job %lld handed ahead to child %d", (long long)a->fj.job.id, (int)sl->pid);
    worker_metrics_handed_ahead();
    sup_write_job(s, sl, &a->fj, a->seq);
}

void
sup_promote(struct sup *s, struct slot *sl)
{
    if (sl->busy || sl->n_ahead == 0)
        return;
    struct ahead_job a = sl->ahead[0];
    sl->n_ahead--;
    memmove(sl->ahead, sl->ahead + 1, sizeof(*sl->ahead) * (size_t)sl->n_ahead);
    sup_begin(s, sl, &a.fj, a.seq);
}

/* Hands back n claimed jobs in one go (see checkout_add_many); takes them. */
static void
sup_hand_back_n(struct sup *s, struct fetch_job *fjs, int n)
{
    if (n <= 0)
        return;
    struct checkout_item *its = xcalloc((size_t)n, sizeof(*its));
    for (int i = 0; i < n; i++) {
        its[i] = (struct checkout_item){
            .job = fjs[i].job, .jl = fjs[i].jl, .hand_back = true, .score = fjs[i].score};
        memset(&fjs[i], 0, sizeof(fjs[i]));
    }
    checkout_add_many(&s->checkout, its, n);
    free(its);
}

void
sup_hand_back(struct sup *s, struct fetch_job *fj)
{
    sup_hand_back_n(s, fj, 1);
}

void
sup_hand_back_window(struct sup *s)
{
    sup_hand_back_n(s, s->win, s->n_win);
    s->n_win = 0;
}

/* Puts n claimed jobs back at the front of the window, in their order; takes them. */
static void
sup_win_unshift(struct sup *s, struct fetch_job *fjs, int n)
{
    if (s->n_win + n > s->cap_win) {
        s->cap_win = (s->n_win + n) * 2;
        s->win = xrealloc(s->win, sizeof(*s->win) * (size_t)s->cap_win);
    }
    memmove(s->win + n, s->win, sizeof(*s->win) * (size_t)s->n_win);
    memcpy(s->win, fjs, sizeof(*fjs) * (size_t)n);
    s->n_win += n;
}

int
sup_withdraw(struct sup *s, struct slot *sl)
{
    struct gate *g = &s->gates[sl - s->slots];
    if (!sl->busy)
        return -1;
    uint64_t taken = gate_shut(g);
    struct fetch_job back[SUP_AHEAD_MAX];
    int n = 0, keep = 0;
    for (int k = 0; k < sl->n_ahead; k++) {
        if (sl->ahead[k].seq <= taken)
            sl->ahead[keep++] = sl->ahead[k]; /* started: its outcome follows */
        else
            back[n++] = sl->ahead[k].fj;
    }
    sl->n_ahead = keep;
    sl->passing += n;
    if (n > 0) {
        log_debug("child %d: %d job(s) withdrawn, never started", (int)sl->pid, n);
        worker_metrics_withdrawn(n);
    }
    if (n > 0 && s->draining) {
        sup_hand_back_n(s, back, n);
    } else if (n > 0) {
        sup_win_unshift(s, back, n);
    }
    int on = taken > sl->seq ? 1 : 0;
    if (taken < sl->seq) {
        /* Written, never taken: it goes back to its queue, as a job of the window would. */
        struct fetch_job fj = {.job = sl->job, .jl = sl->jl, .score = sl->score};
        memset(&sl->job, 0, sizeof(sl->job));
        memset(&sl->jl, 0, sizeof(sl->jl));
        sup_hand_back(s, &fj);
        worker_metrics_withdrawn(1);
        atomic_store(&g->cancel_id, 0);
        sl->busy = false;
        sl->term_ms = sl->cancel_ms = 0;
        sl->kill_reason[0] = '\0';
        sl->fence_killed = false;
        sl->passing++;
        on = -1;
    }
    if (sl->passing == 0)
        gate_reopen(g, sl->sent);
    return on;
}

void
sup_fill(struct sup *s)
{
    int k = 0;
    if (sup_fence(s))
        return;
    struct slot *sl;
    while (k < s->n_win && (sl = sup_idle_slot(s)) != NULL)
        sup_dispatch(s, sl, &s->win[k++]);
    int live = 0;
    for (int i = 0; i < s->n_slots; i++)
        live += s->slots[i].pid > 0;
    while (k < s->n_win && sup_small_job(&s->win[k]) && (sl = sup_ahead_slot(s, live)) != NULL)
        sup_hand_ahead(s, sl, &s->win[k++]);
    if (k == 0)
        return;
    memmove(s->win, s->win + k, sizeof(*s->win) * (size_t)(s->n_win - k));
    s->n_win -= k;
}

void
sup_expire_window(struct sup *s)
{
    int64_t now = now_mono_ms();
    /* Jobs handed ahead to a child whose current job overran go back to the window first:
     * another child may be free for them, or else they expire with it. */
    for (int i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        if (sl->n_ahead > 0 && now - sl->started_ms > SUP_WINDOW_COVER_MS)
            sup_withdraw(s, sl);
    }
    int k = 0;
    while (k < s->n_win && (fetch_now_us() - s->win[k].claimed_us) / 1000 > s->wait_ms)
        sup_hand_back(s, &s->win[k++]);
    if (k == 0)
        return;
    memmove(s->win, s->win + k, sizeof(*s->win) * (size_t)(s->n_win - k));
    s->n_win -= k;
    /* The running jobs are as slow as the oldest one so far: size the window for them now,
     * rather than claim the same jobs again only to hand them back once more. */
    for (int i = 0; i < s->n_slots; i++)
        if (s->slots[i].busy && now - s->slots[i].started_ms > s->avg_run_ms)
            s->avg_run_ms = (double)(now - s->slots[i].started_ms);
    log_info("%d job(s) claimed ahead waited over %lld ms: handed back", k, (long long)s->wait_ms);
}

static bool
sup_job_paused(const struct sup *s, const struct fetch_job *fj)
{
    char key[80];
    if (fj->claimed_us >= s->paused_us)
        return false;
    snprintf(key, sizeof(key), "\n%s\n", fj->job.queue ? fj->job.queue : "");
    return strstr(s->paused, key) != NULL;
}

void
sup_hand_back_paused(struct sup *s, int from)
{
    if (s->paused == NULL || s->paused[0] == '\0')
        return;
    for (int i = 0; from == 0 && i < s->n_slots; i++)
        for (int k = 0; k < s->slots[i].n_ahead; k++)
            if (sup_job_paused(s, &s->slots[i].ahead[k].fj)) {
                sup_withdraw(s, &s->slots[i]); /* into the window, sorted out below */
                break;
            }
    struct fetch_job *back = xcalloc((size_t)(s->n_win - from) + 1, sizeof(*back));
    int nb = 0, keep = from;
    for (int i = from; i < s->n_win; i++) {
        if (sup_job_paused(s, &s->win[i]))
            back[nb++] = s->win[i];
        else
            s->win[keep++] = s->win[i];
    }
    s->n_win = keep;
    if (nb > 0) {
        log_info("%d job(s) claimed ahead handed back unstarted: their queue is paused", nb);
        sup_hand_back_n(s, back, nb);
    }
    free(back);
}

void
sup_cancel_waiting(struct sup *s, int64_t id)
{
    for (int i = 0; i < s->n_win; i++)
        if (s->win[i].job.id == id) {
            log_info("job %lld: cancel requested while it waited; not started", (long long)id);
            sup_hand_back(s, &s->win[i]);
            memmove(s->win + i, s->win + i + 1, sizeof(*s->win) * (size_t)(s->n_win - i - 1));
            s->n_win--;
            return;
        }
}
