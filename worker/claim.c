/* This file claims, on the fetch thread and its own MariaDB connection, the job IDs popped
 * together: fleet-wide limits first, then one claim statement committed before any of the
 * jobs can run, then the hand-over to the supervisor, and the put-back of what it did not
 * take. */
#include "claim.h"
#include "fault.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"
#include "worker_metrics.h"

#include <stdlib.h>
#include <string.h>

/* Delays the next use of the connection, doubling the delay while failures last. */
static void
claim_failed(struct fetch *f, const char *what)
{
    int64_t now = now_mono_ms();
    if (f->last_db_log == 0 || now - f->last_db_log > 10000) {
        log_warnx("fetch: %s: %s; will retry", what, db_errstr(f->db));
        f->last_db_log = now;
    }
    f->db_retry_at = now + retry_fail(&f->db_retry);
}

static void
claim_succeeded(struct fetch *f)
{
    if (f->last_db_log) {
        log_info("fetch: MariaDB answers claims again");
        f->last_db_log = 0;
    }
    retry_reset(&f->db_retry);
}

/* Reads the settings again once the snapshot is max_age_ms old. False when there is no
 * snapshot to go by: without a first one the paused queues are unknown; a later failure keeps
 * the last one unless the connection is gone. */
static bool
claim_refresh(struct fetch *f, int64_t now, int64_t max_age_ms)
{
    if (now < f->next_settings - SETTINGS_REFRESH_MS + max_age_ms && f->lim.loaded)
        return true;
    if (limiter_refresh(&f->lim, f->db) < 0 && (db_lost(f->db) || !f->lim.loaded))
        return false;
    for (int i = 0; i < f->n_queues; i++)
        f->paused[i] = limiter_paused(&f->lim, f->queues[i].name);
    f->next_settings = now + SETTINGS_REFRESH_MS;
    return true;
}

bool
claim_ready(struct fetch *f)
{
    int64_t now = now_mono_ms();
    if (now < f->db_retry_at)
        return false;
    if (!db_connected(f->db) && db_connect(f->db) < 0) {
        claim_failed(f, "connect");
        return false;
    }
    if (!claim_refresh(f, now, SETTINGS_REFRESH_MS)) {
        claim_failed(f, "settings");
        return false;
    }
    return true;
}

/* Keeps the IDs still queued whose fleet-wide slots could be taken (their slots in jls, in
 * step with the kept order) and sends the others back to pending until a slot is likely free.
 * Returns how many were kept, or -1 when MariaDB did not answer. */
static int
claim_apply_limits(struct fetch *f, int64_t *ids, int n, struct job_limits *jls)
{
    struct db_rows *r = lifecycle_peek(f->db, ids, n);
    if (r == NULL)
        return -1;
    int kept = 0;
    for (int i = 0; i < r->n_rows; i++) {
        int64_t id = db_rows_int(r, i, 0, 0);
        struct job_limits jl;
        limiter_scopes(&f->lim, db_rows_get(r, i, 1), db_rows_get(r, i, 2), &jl);
        int64_t wait = limiter_acquire(&f->lim, &jl, id, db_rows_get(r, i, 1),
                                       rq_score((int)db_rows_int(r, i, 3, 0), id));
        if (wait == 0) {
            ids[kept] = id;
            jls[kept] = jl;
            kept++;
            continue;
        }
        /* Over a limit (or Redis unreachable): the job waits in pending, not failed. An
         * acquire whose answer was lost may have taken the slots under its member, which no
         * later acquire shares: freed now, not held for a lease. */
        if (wait < 0) {
            limiter_free_slots(&f->lim, &jl);
            wait = 1000;
        }
        int rc = lifecycle_defer(f->db, id, wait, f->lim.set.read_at);
        if (rc < 0)
            log_warnx("defer job %lld: %s", (long long)id, db_errstr(f->db));
        /* Its settings changed since they were read: it goes back to its queue (put back
         * with the unclaimed), and the next claim reads them first. */
        if (rc == 0)
            f->next_settings = 0;
    }
    db_rows_free(r);
    return kept;
}

/* A claim whose answer was lost may or may not have committed: reads back what the token
 * took, waiting for MariaDB as long as it takes, since a job whose check-in committed must
 * run. Only an abort (a second signal) ends the wait; then nothing runs, and the scheduler's
 * lease recovery finishes what did commit. Returns the number read back into out. */
static int
claim_resolve(struct fetch *f, const int64_t *ids, int n, int64_t token, struct claimed_job *out)
{
    log_warnx("fetch: the answer to a claim of %d job(s) was lost (%s); reading back what "
              "committed",
              n, db_errstr(f->db));
    struct retry r;
    retry_init(&r, FETCH_RETRY_MIN_MS, FETCH_RETRY_MAX_MS);
    for (;;) {
        if (db_connected(f->db) || db_connect(f->db) == 0) {
            int c = lifecycle_claim_read(f->db, ids, n, f->instance_id, token, out);
            if (c >= 0) {
                log_info("fetch: %d of %d job(s) of the lost claim were taken", c, n);
                return c;
            }
        }
        if (fetch_aborted(f)) {
            log_error("fetch: stopped before MariaDB could tell whether %d job(s) were claimed; "
                      "those that were end as worker lost",
                      n);
            return 0;
        }
        fetch_nap(f, retry_fail(&r), false);
    }
}

/* How long the fetch rests after a claim that took none of the queued jobs it popped: a lost
 * instance's claims cost four statements a second, and it claims again soon after it is back. */
#define CLAIM_EMPTY_REST_MS 250

/* Puts back in Redis the unclaimed IDs whose rows are still queued: their queue was paused
 * between the pop and the claim, or this instance may not claim. Without this they would wait
 * for the scheduler's reconcile. IDs of rows no longer queued (a duplicate, cancelled, deferred
 * by a limit, claimed elsewhere) are dropped: their rows say what happens to them. Returns how
 * many went back. */
static int
claim_put_back_queued(struct fetch *f, struct rq *rq, const struct fetch_item *items, int n,
                      const bool *claimed)
{
    int64_t ids[FETCH_BATCH_MAX];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!claimed[i])
            ids[m++] = items[i].id;
    if (m == 0)
        return 0;
    struct db_rows *r = lifecycle_peek(f->db, ids, m);
    if (r == NULL) {
        claim_failed(f, "put back");
        return 0;
    }
    struct fetch_item back[FETCH_BATCH_MAX];
    int nb = 0;
    for (int k = 0; k < r->n_rows; k++)
        for (int i = 0; i < n; i++)
            if (items[i].id == db_rows_int(r, k, 0, 0) && !claimed[i])
                back[nb++] = items[i];
    db_rows_free(r);
    if (nb > 0) {
        fetch_requeue(f, rq, back, nb);
        f->next_settings = 0; /* learn of the pause now, not in half a second */
    }
    return nb;
}

/* Pairs each claimed job with its slots and hands them over; frees the slots of the IDs that
 * were not claimed and marks the claimed items. */
static void
claim_hand_over(struct fetch *f, const int64_t *ids, int nk, struct job_limits *jls,
                struct claimed_job *out, int c, const struct fetch_item *items, int n,
                bool *claimed, int64_t sent_us)
{
    bool *kept_claimed = xcalloc((size_t)(nk > 0 ? nk : 1), sizeof(bool));
    struct fetch_job *jobs = xcalloc((size_t)(c > 0 ? c : 1), sizeof(*jobs));
    int *pos = xcalloc((size_t)(c > 0 ? c : 1), sizeof(*pos)); /* each job's place in items */
    int64_t got_us = fetch_now_us();
    for (int i = 0; i < c; i++) {
        jobs[i].job = out[i];
        jobs[i].claimed_us = sent_us;
        jobs[i].got_us = got_us;
        for (int k = 0; k < nk; k++)
            if (ids[k] == out[i].id && !kept_claimed[k]) {
                jobs[i].jl = jls[k];
                kept_claimed[k] = true;
                break;
            }
        pos[i] = n;
        for (int k = 0; k < n; k++)
            if (items[k].id == out[i].id) {
                claimed[k] = true;
                jobs[i].score = items[k].score;
                pos[i] = pos[i] < k ? pos[i] : k;
            }
    }
    /* The read-back comes in id order; the supervisor starts jobs in the order given, which
     * must be the order they were popped in (priority, then enqueue order). */
    for (int i = 1; i < c; i++)
        for (int j = i; j > 0 && pos[j - 1] > pos[j]; j--) {
            struct fetch_job tj = jobs[j];
            int tp = pos[j];
            jobs[j] = jobs[j - 1];
            pos[j] = pos[j - 1];
            jobs[j - 1] = tj;
            pos[j - 1] = tp;
        }
    fetch_deliver(f, jobs, c);
    for (int k = 0; k < nk; k++)
        if (!kept_claimed[k])
            limiter_free_slots(&f->lim, &jls[k]);
    free(jobs);
    free(pos);
    free(kept_claimed);
}

/* Claims ids[0..nk) with one statement (except: the scopes left to the limiter) and hands the
 * jobs over, paired with their slots in jls (NULL: none held); marks the claimed items.
 * Returns the count, or -1 when nothing was claimed because MariaDB failed. */
static int
claim_step(struct fetch *f, int64_t *ids, int nk, const struct lifecycle_except *except,
           struct job_limits *jls, const struct fetch_item *items, int n, bool *claimed)
{
    struct claimed_job *out = xcalloc((size_t)(nk > 0 ? nk : 1), sizeof(*out));
    struct job_limits *none = jls ? NULL : xcalloc((size_t)(nk > 0 ? nk : 1), sizeof(*none));
    /* The token only has to differ between this instance's claim statements. */
    int64_t token = ++f->claim_token;
    int64_t sent_us = fetch_now_us();
    FAULT_POINT("checkin.before");
    int c = lifecycle_claim(f->db, ids, nk, f->instance_id, token, except, out);
    if (c == -2)
        c = claim_resolve(f, ids, nk, token, out);
    FAULT_POINT_IF(c > 0, "checkin.after");
    if (c >= 0) {
        bgthread_lock(&f->bg);
        f->n_claims++;
        f->n_claimed += c;
        bgthread_unlock(&f->bg);
        worker_metrics_claim(c);
        /* Jobs per statement is what the window is for: this shows whether claims are full. */
        log_debug("claimed %d of %d job(s) in one statement", c, nk);
        claim_hand_over(f, ids, nk, jls ? jls : none, out, c, items, n, claimed, sent_us);
    }
    free(none);
    free(out);
    return c;
}

void
claim_batch(struct fetch *f, struct rq *rq, const struct fetch_item *items, int n)
{
    int64_t ids[FETCH_BATCH_MAX];
    bool claimed[FETCH_BATCH_MAX] = {false};
    for (int i = 0; i < n; i++)
        ids[i] = items[i].id;
    /* The snapshot was read before the pop, which may have waited: a claim never goes by one
     * older than SETTINGS_AGE_MAX_MS, which a limit's release counts on (settings.h). Read
     * again only past that (a late fetch thread), not after every wait: the read would add to
     * the pickup of a job pushed to an idle fleet. A failure is the claim's to meet. */
    (void)claim_refresh(f, now_mono_ms(), SETTINGS_AGE_MAX_MS);
    /* The jobs of scopes without a limit, which are most, in one claim as if there were no
     * limits at all; only the rest pays for the limiter's read and its Redis round trips. */
    struct lifecycle_except ex;
    limiter_except(&f->lim, &ex);
    int c = claim_step(f, ids, n, &ex, NULL, items, n, claimed);
    bool limited = ex.n_queues + ex.n_actions > 0, held_back = false;
    limiter_except_free(&ex);
    if (c >= 0 && c < n && limited) {
        /* A limited job holds its fleet-wide slots from its claim on: it is claimed only for a
         * child with nothing to run, never into the window, where it would hold a slot without
         * running. The others stay queued and go back to Redis until a child is idle. */
        int room = fetch_idle(f) - c, m = 0;
        for (int i = 0; i < n && m < room; i++)
            if (!claimed[i])
                ids[m++] = items[i].id;
        if (m < n - c)
            f->wait_idle = held_back = true;
        struct job_limits *jls = xcalloc((size_t)(m > 0 ? m : 1), sizeof(*jls));
        int nk = m > 0 ? claim_apply_limits(f, ids, m, jls) : 0;
        int c2 = nk > 0 ? claim_step(f, ids, nk, NULL, jls, items, n, claimed) : 0;
        if (nk > 0 && c2 < 0)
            for (int k = 0; k < nk; k++)
                limiter_free_slots(&f->lim, &jls[k]);
        free(jls);
        if (nk < 0 || c2 < 0)
            claim_failed(f, "claim of limited jobs");
        else
            c += c2;
    } else if (c < 0) {
        /* Nothing was claimed: the rows are as they were, so the IDs go back where they
         * were, and the connection rests before the next pop. */
        claim_failed(f, "claim");
        fetch_requeue(f, rq, items, n);
        fetch_want(f, n);
        return;
    }
    claim_succeeded(f);
    int back = c < n ? claim_put_back_queued(f, rq, items, n, claimed) : 0;
    /* Queued jobs, none of them taken, none held back for want of an idle child (those wait
     * for one): this instance may claim nothing (the scheduler declared it lost, until it
     * comes back), or their queue was just paused. Popping them again at once made thousands
     * of empty claims a second. */
    if (c == 0 && back > 0 && !held_back)
        f->db_retry_at = now_mono_ms() + CLAIM_EMPTY_REST_MS;
    if (c < n)
        fetch_want(f, n - c);
}
