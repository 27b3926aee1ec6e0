/* This file runs the worker's Redis pops and claims in a thread of their own, so the
 * supervisor's loop never waits on Redis or on a claim's commit, and an idle worker still picks
 * a new job up within milliseconds. */
#include "fetch.h"
#include "claim.h"
#include "log.h"
#include "rq.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FETCH_WAIT_MS 1000
/* A claim goes by settings read before its pop's wait (claim.c). */
_Static_assert(SETTINGS_REFRESH_MS + FETCH_WAIT_MS <= SETTINGS_AGE_MAX_MS,
               "a pop's wait outlasts the settings' age bound");

/* Orders the queue names by weighted random choice without replacement, so a queue of
 * weight 3 is tried first three times as often as one of weight 1. */
static int
fetch_order(struct fetch *f, const char **names, unsigned *seed)
{
    bool used[FETCH_QUEUES_MAX] = {false};
    int n = f->n_queues < FETCH_QUEUES_MAX ? f->n_queues : FETCH_QUEUES_MAX;
    int total = 0, active = n;
    for (int i = 0; i < n; i++) {
        /* A paused queue is left out of this round as if already chosen. */
        used[i] = f->paused[i];
        active -= used[i];
        if (!used[i])
            total += f->queues[i].weight;
    }
    for (int k = 0; k < active; k++) {
        int pick = (int)(rand_r(seed) % (unsigned)(total > 0 ? total : 1));
        int chosen = -1;
        for (int i = 0; i < n; i++) {
            if (used[i])
                continue;
            if (pick < f->queues[i].weight) {
                chosen = i;
                break;
            }
            pick -= f->queues[i].weight;
        }
        for (int i = 0; i < n && chosen < 0; i++)
            if (!used[i])
                chosen = i;
        used[chosen] = true;
        total -= f->queues[chosen].weight;
        names[k] = f->queues[chosen].name;
    }
    return active;
}

/* Waits until the supervisor has idle children; returns how many, or -1 once stopped. */
static int
fetch_take_want(struct fetch *f)
{
    bgthread_lock(&f->bg);
    while (f->want <= 0 && !bgthread_stopping(&f->bg))
        bgthread_wait_until(&f->bg, BGTHREAD_NO_DEADLINE);
    int want = bgthread_stopping(&f->bg) ? -1 : f->want;
    bgthread_unlock(&f->bg);
    return want;
}

static bool
fetch_stopped(struct fetch *f)
{
    bgthread_lock(&f->bg);
    bool stop = bgthread_stopping(&f->bg);
    bgthread_unlock(&f->bg);
    return stop;
}

void
fetch_nap(struct fetch *f, int64_t ms, bool wake_on_stop)
{
    int64_t deadline = now_mono_ms() + ms;
    bgthread_lock(&f->bg);
    /* Other wakes (more capacity) do not end the nap: only its deadline, an abort or a stop. */
    while (!f->abort && !(wake_on_stop && bgthread_stopping(&f->bg)) && now_mono_ms() < deadline)
        bgthread_wait_until(&f->bg, deadline);
    bgthread_unlock(&f->bg);
}

bool
fetch_aborted(struct fetch *f)
{
    bgthread_lock(&f->bg);
    bool abort = f->abort;
    bgthread_unlock(&f->bg);
    return abort;
}

void
fetch_requeue(struct fetch *f, struct rq *rq, const struct fetch_item *items, int n)
{
    for (int i = 0; i < n; i++)
        if (rq_requeue(rq, f->queues[items[i].qidx].name, &items[i].id, &items[i].score, 1) < 0)
            log_warnx("fetch: put back job %lld: %s (reconcile will push it)",
                      (long long)items[i].id, rq_errstr(rq));
}

/* Wakes the supervisor. The pipe only carries wake-ups: when it is full, the supervisor has
 * enough of them waiting already. */
static void
fetch_wake(struct fetch *f)
{
    char c = 'j';
    ssize_t w;
    do
        w = write(f->pipe_wr, &c, 1);
    while (w < 0 && errno == EINTR);
}

void
fetch_deliver(struct fetch *f, struct fetch_job *jobs, int n)
{
    if (n <= 0)
        return;
    bgthread_lock(&f->bg);
    if (f->n_ready + n > f->cap_ready) {
        f->cap_ready = (f->n_ready + n) * 2;
        f->ready = xrealloc(f->ready, sizeof(*f->ready) * (size_t)f->cap_ready);
    }
    memcpy(f->ready + f->n_ready, jobs, sizeof(*jobs) * (size_t)n);
    f->n_ready += n;
    bgthread_unlock(&f->bg);
    fetch_wake(f);
}

/* With nothing waiting in Redis and every child busy: waits until a child has nothing to run
 * (or a stop). Returns false once stopped. */
static bool
fetch_wait_idle(struct fetch *f)
{
    bgthread_lock(&f->bg);
    while (f->idle <= 0 && !bgthread_stopping(&f->bg))
        bgthread_wait_until(&f->bg, BGTHREAD_NO_DEADLINE);
    bool stop = bgthread_stopping(&f->bg);
    bgthread_unlock(&f->bg);
    return !stop;
}

int64_t
fetch_now_us(void)
{
    return now_mono_us();
}

int
fetch_idle(struct fetch *f)
{
    bgthread_lock(&f->bg);
    int idle = f->idle;
    bgthread_unlock(&f->bg);
    return idle;
}

static bool
fetch_idle_now(struct fetch *f)
{
    return fetch_idle(f) > 0;
}

/* Popped IDs use the capacity they were popped for; claim_batch gives back what it did not
 * claim. */
static void
fetch_use(struct fetch *f, int n)
{
    bgthread_lock(&f->bg);
    f->want -= n;
    bgthread_unlock(&f->bg);
}

static void *
fetch_loop(void *arg)
{
    struct fetch *f = arg;
    struct rq *rq = rq_new(&f->redis);
    const char *order[FETCH_QUEUES_MAX];
    int64_t ids[FETCH_BATCH_MAX];
    int qidx[FETCH_BATCH_MAX];
    double scores[FETCH_BATCH_MAX];
    unsigned seed = (unsigned)getpid();
    struct retry redis_retry;
    retry_init(&redis_retry, FETCH_RETRY_MIN_MS, FETCH_RETRY_MAX_MS);
    int64_t last_log = 0;
    for (;;) {
        int want = fetch_take_want(f);
        if (want < 0)
            break;
        /* No pop without a connection to claim with and a fresh view of paused queues:
         * popped IDs would only have to go back. */
        if (!claim_ready(f)) {
            fetch_nap(f, 50, true);
            continue;
        }
        if (want > FETCH_BATCH_MAX)
            want = FETCH_BATCH_MAX;
        int nq = fetch_order(f, order, &seed);
        if (nq == 0) {
            /* Every queue is paused: look again shortly. */
            fetch_nap(f, 100, true);
            continue;
        }
        /* Take what is there at once; block only when every queue is empty, and only for a
         * child with nothing to run: the window fills with what already waits in Redis, never
         * with a job pushed for idle workers elsewhere. */
        int got = rq_pop(rq, order, nq, want, ids, qidx, scores);
        if (got == 0 && !fetch_idle_now(f)) {
            if (!fetch_wait_idle(f))
                break;
            continue;
        }
        if (got == 0) {
            int64_t one;
            got = rq_pop_wait(rq, order, nq, FETCH_WAIT_MS, &one, &qidx[0], &scores[0]);
            if (got == 1)
                ids[0] = one;
        }
        struct fetch_item items[FETCH_BATCH_MAX];
        for (int i = 0; i < got; i++) {
            items[i] = (struct fetch_item){.id = ids[i], .score = scores[i]};
            for (int q = 0; q < f->n_queues; q++)
                if (f->queues[q].name == order[qidx[i]])
                    items[i].qidx = q;
        }
        if (got > 0 && fetch_stopped(f)) {
            /* A drain began while this pop was under way: the IDs are not ours to run. */
            fetch_requeue(f, rq, items, got);
            break;
        }
        if (got < 0) {
            if (now_mono_ms() - last_log > 10000) {
                log_warnx("fetch: %s; retrying", rq_errstr(rq));
                last_log = now_mono_ms();
            }
            fetch_nap(f, retry_fail(&redis_retry), true);
            continue;
        }
        if (last_log) {
            log_info("fetch: Redis is reachable again");
            last_log = 0;
        }
        retry_reset(&redis_retry);
        if (got > 0) {
            fetch_use(f, got);
            claim_batch(f, rq, items, got);
        }
        if (f->wait_idle) {
            f->wait_idle = false;
            if (!fetch_wait_idle(f))
                break;
        }
    }
    rq_free(rq);
    bgthread_lock(&f->bg);
    f->done = true;
    bgthread_unlock(&f->bg);
    fetch_wake(f);
    return NULL;
}

int
fetch_start(struct fetch *f)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    f->pipe_rd = fds[0];
    f->pipe_wr = fds[1];
    f->want = 0;
    f->abort = f->done = false;
    f->paused = xcalloc((size_t)f->n_queues, sizeof(bool));
    f->db = db_new(f->mysql);
    /* A claim that waits for a job's row another session holds locked (a cancel's FOR UPDATE)
     * also holds this instance's row, which it refreshes: the heartbeat would wait behind it,
     * past the lease. It gives up instead, and its IDs go back to wait out the lock. */
    db_set_lock_wait_s(f->db, FETCH_LOCK_WAIT_S);
    limiter_init(&f->lim, &f->redis, f->lease_ms);
    f->next_settings = 0;
    retry_init(&f->db_retry, FETCH_RETRY_MIN_MS, FETCH_RETRY_MAX_MS);
    f->db_retry_at = 0;
    if (bgthread_start(&f->bg, fetch_loop, f) < 0) {
        /* Give back what the thread would have used: the caller may carry on or exit. */
        int err = errno;
        limiter_release(&f->lim);
        db_free(f->db);
        f->db = NULL;
        free(f->paused);
        f->paused = NULL;
        close(f->pipe_rd);
        close(f->pipe_wr);
        f->pipe_rd = f->pipe_wr = -1;
        errno = err;
        return -1;
    }
    return 0;
}

void
fetch_set_idle(struct fetch *f, int idle)
{
    bgthread_lock(&f->bg);
    if (idle > 0 && f->idle <= 0)
        bgthread_wake_all(&f->bg);
    f->idle = idle;
    bgthread_unlock(&f->bg);
}

void
fetch_want(struct fetch *f, int delta)
{
    bgthread_lock(&f->bg);
    f->want += delta;
    bgthread_wake_all(&f->bg);
    bgthread_unlock(&f->bg);
}

struct fetch_job *
fetch_take_jobs(struct fetch *f, int *n)
{
    bgthread_lock(&f->bg);
    struct fetch_job *jobs = f->ready;
    *n = f->n_ready;
    f->ready = NULL;
    f->n_ready = f->cap_ready = 0;
    bgthread_unlock(&f->bg);
    return jobs;
}

void
fetch_stop(struct fetch *f)
{
    bgthread_ask_stop(&f->bg);
}

void
fetch_abort(struct fetch *f)
{
    /* Stop first, so the thread sees what a second signal after a first one shows it. */
    bgthread_ask_stop(&f->bg);
    bgthread_lock(&f->bg);
    f->abort = true;
    bgthread_wake_all(&f->bg);
    bgthread_unlock(&f->bg);
}

bool
fetch_finished(struct fetch *f)
{
    bgthread_lock(&f->bg);
    bool done = f->done;
    bgthread_unlock(&f->bg);
    return done;
}

struct fetch_job *
fetch_join(struct fetch *f, int *n)
{
    /* Joins only: fetch_stop or fetch_abort has asked the thread to stop. */
    bgthread_stop(&f->bg);
    struct fetch_job *left = fetch_take_jobs(f, n);
    close(f->pipe_rd);
    close(f->pipe_wr);
    f->pipe_rd = f->pipe_wr = -1;
    bgthread_release(&f->bg);
    free(f->paused);
    f->paused = NULL;
    db_free(f->db);
    f->db = NULL;
    limiter_release(&f->lim);
    return left;
}
