/* This file runs the supervisor's MariaDB work in a thread of its own: the check-outs of
 * finished jobs, batched, and the heartbeat, settings and cancel polls between them. */
#include "checkout.h"
#include "fault.h"
#include "instance.h"
#include "log.h"
#include "utf8.h"
#include "util.h"
#include "worker_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECKOUT_MAX 256 /* outcomes per transaction */
/* The strings of the outcomes of one transaction, beyond its first: its statements stay far
 * below MariaDB's max_allowed_packet (16 MiB by default), the padded value lists included. */
#define CHECKOUT_BYTES_MAX (4u << 20)
/* What is kept of the reason of an outcome MariaDB refused alone. */
#define CHECKOUT_STRIPPED_REASON 1024
/* How long a check-out waits for a row another session holds locked (a cancel that read it
 * FOR UPDATE and has not committed yet): MariaDB's 50 s, or the 30 s read timeout before it,
 * held the heartbeat back past the lease, and the worker fenced itself over one row. */
#define CHECKOUT_LOCK_WAIT_S 2
#define CHECKOUT_SETTINGS_MS 500
#define CHECKOUT_CANCEL_POLL_MS 1000
#define CHECKOUT_CANCELS_MAX 64
/* How many jobs taken from a limit's line may turn out no longer waiting before a free gives
 * up waking one: they retry on their own within a second. */
#define CHECKOUT_WAKE_TRIES 4

static void
checkout_item_release(struct checkout *c, struct checkout_item *it)
{
    limiter_free_slots(&c->lim, &it->jl);
    claimed_job_release(&it->job);
    free(it->reason);
    free(it->result);
}

static void
checkout_mark_down(struct checkout *c, const char *what)
{
    if (!c->db_down) {
        log_warnx("%s: %s; will reconnect", what, db_errstr(c->db));
        retry_init(&c->db_retry, 100, 5000);
    }
    c->db_down = true;
    c->retry_at = now_mono_ms() + retry_fail(&c->db_retry);
}

/* Reconnects when the time has come; true when the connection may be used. */
static bool
checkout_db_up(struct checkout *c)
{
    if (!c->db_down)
        return true;
    if (now_mono_ms() < c->retry_at)
        return false;
    if (db_connect(c->db) < 0) {
        checkout_mark_down(c, "reconnect");
        return false;
    }
    log_info("MariaDB is reachable again");
    c->db_down = false;
    return true;
}

/* Drops the first n items of the batch, written. */
static void
checkout_written(struct checkout *c, int n)
{
    for (int i = 0; i < n; i++)
        checkout_item_release(c, &c->batch[i]);
    memmove(c->batch, c->batch + n, sizeof(*c->batch) * (size_t)(c->n_batch - n));
    c->n_batch -= n;
    c->n_single = c->n_single > n ? c->n_single - n : 0;
    bgthread_lock(&c->bg);
    c->n_unwritten -= n;
    c->n_flushes++;
    c->n_flushed += n;
    bgthread_unlock(&c->bg);
}

/* The first n items waited too long for a row another session holds locked: the rest of the
 * batch must not wait with it. A group is written again one item at a time; a single item goes
 * to the end of the batch, behind the others, to be tried again after them. */
static void
checkout_lock_waited(struct checkout *c, const char *what, int n)
{
    /* The lock may be held for hours (a session that froze before its commit): a line a
     * minute, not one a try. */
    int64_t now = now_mono_ms();
    c->lock_waits++;
    if (c->lock_log_ms == 0 || now - c->lock_log_ms >= 60000) {
        log_warnx("%s of %d job(s): %s (%d lock wait(s) since the last such line); %s", what, n,
                  db_errstr(c->db), c->lock_waits,
                  n > 1 ? "writing them one at a time" : "trying it again after the others");
        c->lock_log_ms = now;
        c->lock_waits = 0;
    }
    if (n > 1) {
        c->n_single = n;
    } else if (c->n_batch > 1) {
        struct checkout_item it = c->batch[0];
        memmove(c->batch, c->batch + 1, sizeof(*c->batch) * (size_t)(c->n_batch - 1));
        c->batch[c->n_batch - 1] = it;
        c->n_single = c->n_single > 0 ? c->n_single - 1 : 0;
    }
    c->retry_at = now + (n == 1 && c->n_batch == 1 ? 200 : 0);
}

static void
checkout_failed(struct checkout *c, const char *what, int n)
{
    /* Nothing is lost: the items stay in the batch and the guards make a repeat harmless,
     * including after a commit whose answer never came. */
    if (db_lost(c->db)) {
        checkout_mark_down(c, what);
    } else if (db_lock_timeout(c->db)) {
        checkout_lock_waited(c, what, n);
    } else {
        log_warnx("%s: %s; will retry", what, db_errstr(c->db));
        c->retry_at = now_mono_ms() + 200;
    }
}

/* Points the outcome at the item's strings again after they changed. */
static void
checkout_relink(struct checkout_item *it)
{
    it->o.reason = it->reason;
    it->o.result = it->result;
}

char *
checkout_result_note(const char *why, size_t bytes)
{
    return xasprintf("{\"result_not_stored\":\"%s\",\"bytes\":%zu}", why, bytes);
}

/* Keeps only what MariaDB must take of an outcome it refused alone: the state, the first
 * CHECKOUT_STRIPPED_REASON bytes of the reason, and a note instead of the result. */
static void
checkout_strip(struct checkout_item *it)
{
    char *reason = utf8_clean_clip(it->reason, CHECKOUT_STRIPPED_REASON);
    if (it->result) {
        char *note = checkout_result_note("refused by MariaDB", strlen(it->result));
        free(it->result);
        it->result = note;
    }
    free(it->reason);
    it->reason = reason;
    it->stripped = true;
    checkout_relink(it);
}

/* A check-out of the first n items failed. A refusal of its values (db_data_error: a value a
 * column will not take, or a statement bigger than a proxy between the worker and MariaDB lets
 * through) would come back every time and hold back every later outcome: the batch is written
 * again one outcome at a time, and an outcome refused alone is stripped (checkout_strip).
 * Anything else is tried again as it was. */
static void
checkout_refused(struct checkout *c, int n)
{
    struct checkout_item *it = &c->batch[0];
    if (!db_data_error(c->db) || (n == 1 && it->stripped)) {
        checkout_failed(c, "check-out", n);
        return;
    }
    if (n > 1) {
        log_warnx("check-out of %d jobs: %s; writing them one at a time", n, db_errstr(c->db));
        c->n_single = n;
    } else {
        log_error("job %lld attempt %d: MariaDB refused its outcome (%s): storing it without its "
                  "result, its reason cut to %d bytes",
                  (long long)it->job.id, it->job.attempt, db_errstr(c->db),
                  CHECKOUT_STRIPPED_REASON);
        checkout_strip(it);
    }
    if (db_lost(c->db))
        checkout_mark_down(c, "check-out");
    else
        c->retry_at = now_mono_ms();
}

/* How many items from the head go in the next transaction: of one kind (outcomes or
 * hand-backs), at most CHECKOUT_MAX, and beyond the first at most CHECKOUT_BYTES_MAX of
 * strings; one at a time after a refused batch (checkout_refused). */
static int
checkout_batch_len(const struct checkout *c)
{
    int max = c->n_single > 0 ? 1 : CHECKOUT_MAX, n = 0;
    size_t bytes = 0;
    while (n < c->n_batch && n < max && c->batch[n].hand_back == c->batch[0].hand_back) {
        const struct checkout_item *it = &c->batch[n];
        bytes += (it->reason ? strlen(it->reason) : 0) + (it->result ? strlen(it->result) : 0);
        if (n > 0 && bytes > CHECKOUT_BYTES_MAX)
            break;
        n++;
    }
    return n;
}

/* Hands the first n items (hand-backs) back: their rows queued again, their limiter slots
 * freed, then their IDs pushed. An ID Redis does not take is pushed by the scheduler's
 * reconcile. */
static void
checkout_hand_back(struct checkout *c, int n)
{
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    int *attempts = xcalloc((size_t)n, sizeof(*attempts));
    int64_t *tokens = xcalloc((size_t)n, sizeof(*tokens));
    for (int i = 0; i < n; i++) {
        ids[i] = c->batch[i].job.id;
        attempts[i] = c->batch[i].job.attempt;
        tokens[i] = c->batch[i].job.token;
    }
    if (lifecycle_hand_back(c->db, c->instance_id, ids, attempts, tokens, n) < 0) {
        checkout_failed(c, "hand back", n);
    } else {
        /* Freed before the push: the job's next claim, here or on another worker, finds its
         * slot free rather than waiting for this one. */
        for (int i = 0; i < n; i++)
            limiter_free_slots(&c->lim, &c->batch[i].jl);
        if (c->rq == NULL)
            c->rq = rq_new(c->redis);
        for (int i = 0; i < n; i++)
            if (rq_requeue(c->rq, c->batch[i].job.queue, &ids[i], &c->batch[i].score, 1) < 0)
                log_warnx("hand back job %lld: %s (reconcile will push it)", (long long)ids[i],
                          rq_errstr(c->rq));
        FAULT_POINT("handback.pushed");
        log_info("%d job(s) claimed ahead handed back to their queues", n);
        checkout_written(c, n);
    }
    free(ids);
    free(attempts);
    free(tokens);
}

/* Queues again the first job in line for a slot of scope i of held, trying the next while the
 * one taken is no longer waiting (it ran, was cancelled, or is on its way back already).
 * Returns -1 when MariaDB failed. */
static int
checkout_wake_scope(struct checkout *c, struct job_limits *held, int i)
{
    struct limit_waiter w;
    for (int tries = 0; tries < CHECKOUT_WAKE_TRIES; tries++) {
        if (limiter_next_waiter(&c->lim, held, i, &w) <= 0)
            return 0;
        int rc = lifecycle_wake(c->db, w.id);
        if (rc < 0) {
            log_warnx("wake job %lld waiting for a slot: %s", (long long)w.id, db_errstr(c->db));
            if (db_lost(c->db))
                checkout_mark_down(c, "wake");
            return -1;
        }
        if (rc == 0)
            continue;
        if (c->rq == NULL)
            c->rq = rq_new(c->redis);
        if (rq_requeue(c->rq, w.queue, &w.id, &w.score, 1) < 0)
            log_warnx("wake job %lld: %s (reconcile will push it)", (long long)w.id,
                      rq_errstr(c->rq));
        return 0;
    }
    return 0;
}

/* Frees the limiter slots of the first n items (written) and queues again the jobs in line for
 * them: the next job of a full concurrency limit starts as soon as a slot frees, in its
 * priority and enqueue order, not when its deferral runs out (then up to a quarter second and
 * the scheduler's tick: a limit of 1 ran 100 ms jobs at 1.7 a second). A wake lost here
 * (MariaDB or Redis away) costs that deferral. */
static void
checkout_wake_waiters(struct checkout *c, int n)
{
    for (int k = 0; k < n; k++) {
        if (c->batch[k].jl.n == 0)
            continue; /* most jobs: no limit, nothing held */
        struct job_limits held;
        limiter_free_keep(&c->lim, &c->batch[k].jl, &held);
        for (int i = 0; i < held.n; i++)
            if (checkout_wake_scope(c, &held, i) < 0)
                return;
    }
}

/* Writes the oldest outcomes of the batch in one transaction, or hands back the oldest
 * hand-backs, in the order they came. */
static void
checkout_write(struct checkout *c)
{
    int n = checkout_batch_len(c);
    if (c->batch[0].hand_back) {
        checkout_hand_back(c, n);
        return;
    }
    struct outcome *o = xcalloc((size_t)n, sizeof(*o));
    bool took[CHECKOUT_MAX] = {false};
    for (int i = 0; i < n; i++) {
        o[i] = c->batch[i].o;
        limiter_backoff(&c->lim, o[i].action, &o[i].backoff_base_ms, &o[i].backoff_cap_ms);
    }
    FAULT_POINT("checkout.before");
    if (lifecycle_finish(c->db, o, n, took) < 0) {
        checkout_refused(c, n);
        free(o);
        return;
    }
    free(o);
    worker_metrics_checkout(n);
    FAULT_POINT("checkout.after");
    /* Counted once stored, as job_attempts holds them: a zombie's refused outcome is not. */
    for (int i = 0; i < n; i++)
        if (took[i])
            worker_metrics_outcome(&c->batch[i].job, c->batch[i].o.status,
                                   c->batch[i].o.execution_ms);
        else
            log_info("job %lld attempt %d: outcome not recorded, the job was already recovered",
                     (long long)c->batch[i].job.id, c->batch[i].job.attempt);
    checkout_wake_waiters(c, n);
    checkout_written(c, n);
}

/* Wakes the supervisor to take what this thread read (the byte says what, for a reader). */
static void
checkout_wake_supervisor(struct checkout *c, char what)
{
    ssize_t w = write(c->pipe_wr, &what, 1);
    (void)w; /* a full pipe already wakes the supervisor */
}

static void
checkout_cancel_poll(struct checkout *c)
{
    int64_t ids[CHECKOUT_CANCELS_MAX];
    int n = lifecycle_cancel_requests(c->db, c->instance_id, ids, CHECKOUT_CANCELS_MAX);
    if (n < 0) {
        if (db_lost(c->db))
            checkout_mark_down(c, "cancel poll");
        return;
    }
    if (n == 0)
        return;
    bgthread_lock(&c->bg);
    c->cancels = xrealloc(c->cancels, sizeof(*c->cancels) * (size_t)(c->n_cancels + n));
    memcpy(c->cancels + c->n_cancels, ids, sizeof(*ids) * (size_t)n);
    c->n_cancels += n;
    bgthread_unlock(&c->bg);
    checkout_wake_supervisor(c, 'c');
}

/* Tells the supervisor which queues are paused when that changed: the jobs of a queue paused
 * after their claim must not start from the window. */
static void
checkout_publish_paused(struct checkout *c, int64_t read_us)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < c->lim.set.n_queues; i++)
        if (c->lim.set.queues[i].paused)
            buf_printf(&b, "%s%s\n", b.len ? "" : "\n", c->lim.set.queues[i].name);
    char *now = b.len ? buf_detach(&b) : xstrdup("");
    if (c->paused_seen && strcmp(now, c->paused_seen) == 0) {
        free(now);
        return;
    }
    free(c->paused_seen);
    c->paused_seen = now;
    bgthread_lock(&c->bg);
    free(c->paused_new);
    c->paused_new = xstrdup(now);
    c->paused_new_us = read_us;
    bgthread_unlock(&c->bg);
    checkout_wake_supervisor(c, 'p');
}

/* What a heartbeat found: the instance alive (committed at now), or marked lost. */
static void
checkout_beat_seen(struct checkout *c, bool lost, int64_t now)
{
    bgthread_lock(&c->bg);
    bool was_lost = c->lost;
    c->lost = lost;
    if (!lost) {
        c->beat_ok_ms = now;
        c->revive = false;
    }
    bgthread_unlock(&c->bg);
    if (lost && !was_lost) {
        log_error("the scheduler declared this worker lost (no heartbeat for its lease): its jobs "
                  "were given to other workers; stopping those still running here");
        checkout_wake_supervisor(c, 'l');
    } else if (!lost && was_lost) {
        log_warnx("this worker runs again under its instance: claiming jobs");
    }
}

/* Heartbeat, settings and cancel polls, when due. */
static void
checkout_periodic(struct checkout *c, bool draining, bool any_busy, bool beat_now)
{
    int64_t now = now_mono_ms();
    if (now >= c->next_settings) {
        c->next_settings = now + CHECKOUT_SETTINGS_MS;
        int64_t read_us = now_mono_us();
        int rc = limiter_refresh(&c->lim, c->db);
        if (rc < 0 && db_lost(c->db)) {
            checkout_mark_down(c, "settings");
            return;
        }
        if (rc == 0)
            checkout_publish_paused(c, read_us);
    }
    if (beat_now || now >= c->next_heartbeat) {
        bgthread_lock(&c->bg);
        bool revive = c->revive;
        bgthread_unlock(&c->bg);
        int rc =
            instance_heartbeat(c->db, c->instance_id, draining ? "draining" : "running", revive);
        if (rc < 0 && db_lost(c->db)) {
            checkout_mark_down(c, "heartbeat");
            return;
        }
        if (rc >= 0)
            checkout_beat_seen(c, rc == 1, now);
        c->next_heartbeat = now + c->heartbeat_ms;
    }
    if (any_busy && now >= c->next_cancel_poll) {
        c->next_cancel_poll = now + CHECKOUT_CANCEL_POLL_MS;
        checkout_cancel_poll(c);
    }
}

/* The earliest time the thread has something to do without being woken. */
static int64_t
checkout_next_due(struct checkout *c, bool any_busy)
{
    if (c->db_down || c->n_batch > 0)
        return c->retry_at;
    int64_t t = c->next_heartbeat < c->next_settings ? c->next_heartbeat : c->next_settings;
    if (any_busy && c->next_cancel_poll < t)
        t = c->next_cancel_poll;
    return t;
}

static void *
checkout_loop(void *arg)
{
    struct checkout *c = arg;
    bool last_draining = false;
    if (db_set_lock_wait_s(c->db, CHECKOUT_LOCK_WAIT_S) < 0)
        log_warnx("innodb_lock_wait_timeout for check-outs: %s", db_errstr(c->db));
    for (;;) {
        bgthread_lock(&c->bg);
        /* Sleep while there is nothing to write and nothing due. */
        while (c->n_queue == 0 && !(bgthread_stopping(&c->bg) && c->n_batch == 0) &&
               c->draining == last_draining && !c->revive_now &&
               now_mono_ms() < checkout_next_due(c, c->any_busy))
            bgthread_wait_until(&c->bg, checkout_next_due(c, c->any_busy));
        if (c->n_queue > 0) {
            if (c->n_batch + c->n_queue > c->cap_batch) {
                c->cap_batch = (c->n_batch + c->n_queue) * 2;
                c->batch = xrealloc(c->batch, sizeof(*c->batch) * (size_t)c->cap_batch);
            }
            memcpy(c->batch + c->n_batch, c->queue, sizeof(*c->queue) * (size_t)c->n_queue);
            c->n_batch += c->n_queue;
            c->n_queue = 0;
        }
        bool stop = bgthread_stopping(&c->bg), draining = c->draining, any_busy = c->any_busy;
        bool revive_now = c->revive_now;
        c->revive_now = false;
        int64_t stop_by = c->stop_by;
        bgthread_unlock(&c->bg);
        bool beat_now = draining != last_draining || revive_now;
        last_draining = draining;
        if (checkout_db_up(c)) {
            /* Check-outs first: they free the fleet's view of the jobs soonest. */
            if (c->n_batch > 0 && now_mono_ms() >= c->retry_at)
                checkout_write(c);
            if (!c->db_down && !stop)
                checkout_periodic(c, draining, any_busy, beat_now);
        }
        if (stop && (c->n_batch == 0 || now_mono_ms() >= stop_by))
            break;
        if (stop && c->n_batch > 0) {
            /* Outcomes left and MariaDB away: try again shortly, until the grace is over. */
            bgthread_lock(&c->bg);
            bgthread_wait_until(&c->bg, now_mono_ms() + 200);
            bgthread_unlock(&c->bg);
        }
    }
    return NULL;
}

int
checkout_start(struct checkout *c)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    c->pipe_rd = fds[0];
    c->pipe_wr = fds[1];
    limiter_init(&c->lim, c->redis, c->lease_ms);
    c->beat_ok_ms = now_mono_ms();
    if (bgthread_start(&c->bg, checkout_loop, c) < 0) {
        /* Give back what the thread would have used: the caller may carry on or exit. */
        int err = errno;
        limiter_release(&c->lim);
        close(c->pipe_rd);
        close(c->pipe_wr);
        c->pipe_rd = c->pipe_wr = -1;
        errno = err;
        return -1;
    }
    return 0;
}

/* Makes an outcome's strings storable (checkout_add). */
static void
checkout_bound(struct checkout_item *it)
{
    size_t n = it->reason ? strlen(it->reason) : 0;
    if (n > OUTCOME_REASON_MAX || (n && !utf8_valid(it->reason, n))) {
        char *clean = utf8_clean_clip(it->reason, OUTCOME_REASON_MAX);
        free(it->reason);
        it->reason = clean;
        if (n > OUTCOME_REASON_MAX) {
            it->reason = xasprintf("%s [... cut from %zu bytes]", clean, n);
            free(clean);
        }
    }
    n = it->result ? strlen(it->result) : 0;
    if (n > OUTCOME_RESULT_MAX) {
        log_warnx("job %lld attempt %d: its result of %zu bytes is over %u: not stored",
                  (long long)it->job.id, it->job.attempt, n, OUTCOME_RESULT_MAX);
        free(it->result);
        it->result = checkout_result_note("too large", n);
    } else if (n && !utf8_valid(it->result, n)) {
        char *clean = utf8_clean(it->result);
        free(it->result);
        it->result = clean;
    }
    checkout_relink(it);
}

void
checkout_add_many(struct checkout *c, struct checkout_item *its, int n)
{
    for (int i = 0; i < n; i++)
        if (!its[i].hand_back)
            checkout_bound(&its[i]);
    bgthread_lock(&c->bg);
    if (c->n_queue + n > c->cap_queue) {
        c->cap_queue = (c->n_queue + n) * 2;
        c->queue = xrealloc(c->queue, sizeof(*c->queue) * (size_t)c->cap_queue);
    }
    memcpy(c->queue + c->n_queue, its, sizeof(*its) * (size_t)n);
    memset(its, 0, sizeof(*its) * (size_t)n);
    c->n_queue += n;
    c->n_unwritten += n;
    bgthread_wake(&c->bg);
    bgthread_unlock(&c->bg);
}

void
checkout_add(struct checkout *c, struct checkout_item *it)
{
    checkout_add_many(c, it, 1);
}

int
checkout_unwritten(struct checkout *c)
{
    bgthread_lock(&c->bg);
    int n = c->n_unwritten;
    bgthread_unlock(&c->bg);
    return n;
}

bool
checkout_lost(struct checkout *c)
{
    bgthread_lock(&c->bg);
    bool lost = c->lost;
    bgthread_unlock(&c->bg);
    return lost;
}

void
checkout_revive(struct checkout *c)
{
    bgthread_lock(&c->bg);
    c->revive = c->revive_now = true;
    bgthread_wake(&c->bg);
    bgthread_unlock(&c->bg);
}

int64_t
checkout_last_beat(struct checkout *c)
{
    bgthread_lock(&c->bg);
    int64_t t = c->beat_ok_ms;
    bgthread_unlock(&c->bg);
    return t;
}

void
checkout_set_draining(struct checkout *c)
{
    bgthread_lock(&c->bg);
    c->draining = true;
    bgthread_wake(&c->bg);
    bgthread_unlock(&c->bg);
}

void
checkout_set_busy(struct checkout *c, bool any_busy)
{
    bgthread_lock(&c->bg);
    if (any_busy && !c->any_busy)
        bgthread_wake(&c->bg);
    c->any_busy = any_busy;
    bgthread_unlock(&c->bg);
}

int64_t *
checkout_take_cancels(struct checkout *c, int *n)
{
    char buf[64];
    while (read(c->pipe_rd, buf, sizeof(buf)) > 0)
        ;
    bgthread_lock(&c->bg);
    int64_t *ids = c->cancels;
    *n = c->n_cancels;
    c->cancels = NULL;
    c->n_cancels = 0;
    bgthread_unlock(&c->bg);
    return ids;
}

char *
checkout_take_paused(struct checkout *c, int64_t *read_us)
{
    bgthread_lock(&c->bg);
    char *p = c->paused_new;
    *read_us = c->paused_new_us;
    c->paused_new = NULL;
    bgthread_unlock(&c->bg);
    return p;
}

int
checkout_stop(struct checkout *c, int64_t grace_ms)
{
    /* The thread reads stop_by only once it sees the stop, so setting it first is enough. */
    bgthread_lock(&c->bg);
    c->stop_by = now_mono_ms() + grace_ms;
    bgthread_unlock(&c->bg);
    bgthread_stop(&c->bg);
    int left = c->n_batch + c->n_queue;
    /* The jobs no longer run; the scheduler recovers their rows. */
    for (int i = 0; i < c->n_batch; i++)
        checkout_item_release(c, &c->batch[i]);
    for (int i = 0; i < c->n_queue; i++)
        checkout_item_release(c, &c->queue[i]);
    free(c->batch);
    free(c->queue);
    free(c->cancels);
    free(c->paused_new);
    free(c->paused_seen);
    c->batch = c->queue = NULL;
    c->cancels = NULL;
    c->paused_new = c->paused_seen = NULL;
    close(c->pipe_rd);
    close(c->pipe_wr);
    limiter_release(&c->lim);
    rq_free(c->rq);
    c->rq = NULL;
    bgthread_release(&c->bg);
    return left;
}
