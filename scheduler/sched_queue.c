/* This file holds the steps that put job IDs into Redis: the pickup of due pending jobs and
 * the reconcile that re-pushes queued jobs Redis has lost. MariaDB is the truth; Redis only
 * ever receives IDs of rows already committed as queued (invariant 1). */
#include "fault.h"
#include "lifecycle_sched.h"
#include "log.h"
#include "sched.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One job ID on its way to Redis. queue is borrowed from the result rows. */
struct sched_item {
    int64_t id;
    int priority;
    const char *queue;
};

static int
sched_item_cmp(const void *a, const void *b)
{
    const struct sched_item *x = a, *y = b;
    int c = strcmp(x->queue, y->queue);
    if (c != 0)
        return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Fills items from rows whose first three columns are id, queue, priority. */
static struct sched_item *
sched_items_from_rows(const struct db_rows *r)
{
    struct sched_item *it = xcalloc((size_t)r->n_rows, sizeof(*it));
    for (int i = 0; i < r->n_rows; i++) {
        const char *q = db_rows_get(r, i, 1);
        it[i].id = db_rows_int(r, i, 0, 0);
        it[i].queue = q ? q : "default";
        it[i].priority = (int)db_rows_int(r, i, 2, 0);
    }
    /* One ZADD (or ZMSCORE) per queue: sort so that each queue's IDs are adjacent. */
    qsort(it, (size_t)r->n_rows, sizeof(*it), sched_item_cmp);
    return it;
}

/* The length of the run of items sharing it[0]'s queue. */
static int
sched_items_run(const struct sched_item *it, int n)
{
    int k = 1;
    while (k < n && strcmp(it[k].queue, it[0].queue) == 0)
        k++;
    return k;
}

/* Pushes items (sorted by queue) with their priorities. Returns 0 or -1 on a Redis error. */
static int
sched_push_items(struct sched *s, const struct sched_item *it, int n)
{
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    int *prio = xcalloc((size_t)n, sizeof(*prio));
    int rc = 0;
    for (int i = 0; i < n;) {
        int k = sched_items_run(it + i, n - i);
        for (int j = 0; j < k; j++) {
            ids[j] = it[i + j].id;
            prio[j] = it[i + j].priority;
        }
        if (rq_push(s->rq, it[i].queue, ids, prio, k) < 0) {
            rc = -1;
            break;
        }
        i += k;
    }
    free(ids);
    free(prio);
    return rc;
}

/* Moves one batch of due pending jobs to queued, commits, then pushes them. Returns the
 * number of jobs queued, or -1. */
static int
sched_pickup_batch(struct sched *s, int limit)
{
    struct db *db = s->db;
    struct db_rows *r = NULL;
    struct sched_item *it = NULL;
    int rc = -1, n = 0;
    if (db_begin(db) < 0)
        return sched_db_fail(s, SCHED_STEP_PICKUP, db);
    r = lifecycle_sched_due(db, limit);
    if (r == NULL)
        goto fail;
    n = r->n_rows;
    if (n == 0) {
        db_rollback(db);
        rc = 0;
        goto out;
    }
    if (lifecycle_sched_queue(db, r) < 0)
        goto fail;
    FAULT_POINT("pickup.commit");
    if (db_commit(db) < 0) {
        /* With the answer lost the rows may be queued already; reconcile pushes them after
         * requeue_after_s, and if they are still pending the next pickup takes them. */
        sched_db_fail(s, SCHED_STEP_PICKUP, db);
        if (!db_lost(db))
            db_rollback(db);
        goto out;
    }
    /* Committed: only now may the IDs become visible in Redis (invariant 1). */
    it = sched_items_from_rows(r);
    if (sched_push_items(s, it, n) < 0) {
        /* An error answer (the connection up) may last: the next batches wait for Redis. */
        s->rq_refusing = rq_connected(s->rq) || rq_demoted(s->rq);
        sched_rq_fail(s, SCHED_STEP_PICKUP); /* reconcile pushes these later */
    }
    rc = n;
    goto out;
fail:
    sched_db_fail(s, SCHED_STEP_PICKUP, db);
    db_rollback(db);
out:
    free(it);
    db_rows_free(r);
    return rc;
}

bool
sched_rq_writable(struct sched *s)
{
    if (!s->rq_refusing)
        return true;
    /* A write of a key of its own: LOADING, OOM, MISCONF and READONLY refuse it as they refuse
     * a push. */
    char *key = xasprintf("%s:scheduler:probe", s->cfg->redis.prefix);
    const char *argv[] = {"SET", key, "1", "PX", "10000"};
    bool ok = rq_command(s->rq, 5, argv) == 0;
    free(key);
    if (!ok) {
        sched_rq_fail(s, SCHED_STEP_PICKUP);
        return false;
    }
    log_info("Redis takes writes again: due jobs are queued and pushed");
    s->rq_refusing = false;
    return true;
}

int
sched_pickup(struct sched *s)
{
    int limit = s->cfg->scheduler.batch_size, total = 0;
    if (!sched_rq_writable(s))
        return 0; /* due jobs stay pending, and are pushed as soon as Redis takes them */
    for (int round = 0; round < SCHED_PICKUP_ROUNDS && !*s->stop; round++) {
        int n = sched_pickup_batch(s, limit);
        if (n < 0)
            return -1;
        total += n;
        s->counts.picked += n;
        if (n < limit || !rq_connected(s->rq) || s->rq_refusing)
            break;
    }
    return total;
}

/* Asks Redis which of the items (sorted by queue) it lacks and pushes those. Returns the
 * number pushed, -1 when a push failed, or -2 when the question did. */
static int
sched_repush_missing(struct sched *s, const struct sched_item *it, int n)
{
    bool *missing = xcalloc((size_t)n, sizeof(*missing));
    struct sched_item *push = xcalloc((size_t)n, sizeof(*push));
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    int n_push = 0, rc = -1;
    for (int i = 0; i < n;) {
        int k = sched_items_run(it + i, n - i);
        for (int j = 0; j < k; j++)
            ids[j] = it[i + j].id;
        if (rq_missing(s->rq, it[i].queue, ids, k, missing + i) < 0) {
            rc = -2;
            goto out;
        }
        i += k;
    }
    for (int i = 0; i < n; i++)
        if (missing[i])
            push[n_push++] = it[i];
    if (n_push > 0 && sched_push_items(s, push, n_push) < 0)
        goto out;
    rc = n_push;
out:
    free(missing);
    free(push);
    free(ids);
    return rc;
}

static void
sched_reconcile_rewind(struct sched *s)
{
    snprintf(s->reconcile_dt, sizeof(s->reconcile_dt), "1970-01-01 00:00:00");
    s->reconcile_id = 0;
}

/* Checks one batch after the cursor. Returns the number of rows checked, or -1. */
static int
sched_reconcile_batch(struct sched *s, int limit, int *pushed)
{
    const struct cfg_scheduler *c = &s->cfg->scheduler;
    /* One index range read from the cursor to the LIMIT (lifecycle_sched.c says why). */
    struct db_rows *r = lifecycle_sched_queued_stale(s->db, c->requeue_after_s, s->reconcile_dt,
                                                     s->reconcile_id, limit);
    if (r == NULL)
        return sched_db_fail(s, SCHED_STEP_RECONCILE, s->db);
    int n = r->n_rows;
    *pushed = 0;
    if (n > 0) {
        struct sched_item *it = sched_items_from_rows(r);
        int k = sched_repush_missing(s, it, n);
        free(it);
        /* The cursor stays on a batch Redis refused (OOM, READONLY), to check it again once
         * Redis takes writes, and a refused push may last, so reconcile waits for the probe
         * write as pickup does. A batch that fails on its own (a queue key of the wrong type)
         * is passed after a few tries, not retried for ever ahead of all the rest. */
        if (k < 0 && ++s->reconcile_fails < SCHED_RECONCILE_TRIES) {
            db_rows_free(r);
            s->rq_refusing = k == -1 && (rq_connected(s->rq) || rq_demoted(s->rq));
            return sched_rq_fail(s, SCHED_STEP_RECONCILE);
        }
        if (k < 0)
            sched_rq_fail(s, SCHED_STEP_RECONCILE);
        *pushed = k > 0 ? k : 0;
    }
    s->reconcile_fails = 0;
    if (n < limit) {
        sched_reconcile_rewind(s);
    } else {
        const char *dt = db_rows_get(r, n - 1, 3);
        snprintf(s->reconcile_dt, sizeof(s->reconcile_dt), "%s", dt ? dt : "1970-01-01");
        s->reconcile_id = db_rows_int(r, n - 1, 0, 0);
    }
    db_rows_free(r);
    return n;
}

int
sched_reconcile(struct sched *s)
{
    int limit = s->cfg->scheduler.batch_size, pushed_total = 0;
    for (int round = 0; round < SCHED_RECONCILE_ROUNDS && !*s->stop; round++) {
        int pushed = 0;
        int n = sched_reconcile_batch(s, limit, &pushed);
        if (n < 0)
            return -1;
        s->counts.checked += n;
        s->counts.repushed += pushed;
        pushed_total += pushed;
        /* A short batch reached the end and rewound the cursor: stop until the next tick. */
        if (n < limit)
            break;
    }
    if (pushed_total > 0)
        log_info("reconcile: pushed %d queued jobs that Redis did not hold", pushed_total);
    return pushed_total;
}
