/* This file pushes the IDs of the producer's committed jobs to Redis (after the commit,
 * invariant 1), and keeps what Redis does not take in a bounded backlog, pushed again when it
 * is back; the scheduler's reconcile covers whatever the backlog could not hold. */
#include "producer_push.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_BACKLOG_MAX 100000
#define PUSH_RETRY_MS 500
/* While Redis refuses pushes, a warning at the first and then at most this often, with the
 * IDs kept meanwhile: one per retry (every PUSH_RETRY_MS) wrote 7,200 lines an hour. */
#define PUSH_LOG_EVERY_MS 60000

struct push_item {
    int64_t id;
    int priority;
    char queue[65];
};

struct push_backlog {
    atomic_long *failures; /* the producer's push failures counter */
    pthread_mutex_t mu;
    struct push_item *items;
    int n;
    int64_t logged_ms;     /* the last "kept to push" warning; 0: none this outage */
    long kept;             /* IDs kept since it */
    atomic_llong retry_ms; /* no push before this time after a failure */
};

struct push_backlog *
push_backlog_new(atomic_long *failures)
{
    struct push_backlog *pb = xcalloc(1, sizeof(*pb));
    pb->failures = failures;
    pthread_mutex_init(&pb->mu, NULL);
    atomic_init(&pb->retry_ms, 0);
    return pb;
}

void
push_backlog_free(struct push_backlog *pb)
{
    if (pb == NULL)
        return;
    if (pb->n)
        log_warnx("%d job IDs not pushed at exit: the scheduler's reconcile will push them", pb->n);
    free(pb->items);
    pthread_mutex_destroy(&pb->mu);
    free(pb);
}

static void
push_backlog_add(struct push_backlog *pb, const struct push_item *it, int n)
{
    pthread_mutex_lock(&pb->mu);
    int room = PUSH_BACKLOG_MAX - pb->n;
    int take = n < room ? n : room;
    if (take > 0) {
        pb->items = xrealloc(pb->items, sizeof(*pb->items) * (size_t)(pb->n + take));
        memcpy(pb->items + pb->n, it, sizeof(*it) * (size_t)take);
        pb->n += take;
    }
    pthread_mutex_unlock(&pb->mu);
    if (take < n)
        log_warnx("push backlog full: %d job IDs left for the scheduler's reconcile", n - take);
}

/* Warns of n IDs kept after a refused push: the first of an outage at once, then once every
 * PUSH_LOG_EVERY_MS with the new IDs kept since (push_send counts them) and all that wait.
 * Any thread. */
static void
push_failed_log(struct push_backlog *pb, const char *err, int n)
{
    int64_t now = now_mono_ms();
    pthread_mutex_lock(&pb->mu);
    long kept = pb->kept, waiting = pb->n + n;
    bool say = pb->logged_ms == 0 || now - pb->logged_ms >= PUSH_LOG_EVERY_MS;
    if (say) {
        pb->logged_ms = now;
        pb->kept = 0;
    }
    pthread_mutex_unlock(&pb->mu);
    if (say)
        log_warnx("%s: %ld job IDs kept to push when Redis is back, %ld waiting in all (said "
                  "again once a minute while it lasts)",
                  err, kept, waiting);
}

/* Pushes items grouped by queue; what Redis does not take goes to the backlog. */
static void
push_send(struct push_backlog *pb, struct rq *rq, struct push_item *it, int n, bool fresh)
{
    if (n == 0)
        return;
    if (now_mono_ms() < atomic_load(&pb->retry_ms)) {
        /* New IDs (not the backlog tried again) that wait for Redis, for the warning. */
        if (fresh) {
            pthread_mutex_lock(&pb->mu);
            pb->kept += n;
            pthread_mutex_unlock(&pb->mu);
        }
        push_backlog_add(pb, it, n);
        return;
    }
    const char **queues = xcalloc((size_t)n, sizeof(*queues));
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    int *prios = xcalloc((size_t)n, sizeof(*prios));
    bool *pushed = xcalloc((size_t)n, sizeof(*pushed));
    for (int i = 0; i < n; i++) {
        queues[i] = it[i].queue;
        ids[i] = it[i].id;
        prios[i] = it[i].priority;
    }
    if (rq_push_each(rq, queues, ids, prios, n, pushed) < 0) {
        atomic_fetch_add(pb->failures, 1);
        atomic_store(&pb->retry_ms, now_mono_ms() + PUSH_RETRY_MS);
        if (fresh) {
            pthread_mutex_lock(&pb->mu);
            pb->kept += n;
            pthread_mutex_unlock(&pb->mu);
        }
        push_failed_log(pb, rq_errstr(rq), n);
        /* Keep every item not yet pushed, the refused queue's included. */
        int m = 0;
        for (int j = 0; j < n; j++)
            if (!pushed[j])
                it[m++] = it[j];
        push_backlog_add(pb, it, m);
    }
    free(queues);
    free(ids);
    free(prios);
    free(pushed);
}

void
push_backlog_send(struct push_backlog *pb, struct rq *rq, const struct job_ref *refs, int n)
{
    struct push_item *push = xcalloc((size_t)(n ? n : 1), sizeof(*push));
    int np = 0;
    for (int i = 0; i < n; i++) {
        if (refs[i].existing || strcmp(refs[i].state, "queued") != 0)
            continue;
        push[np].id = refs[i].id;
        push[np].priority = refs[i].priority;
        snprintf(push[np].queue, sizeof(push[np].queue), "%s", refs[i].queue);
        np++;
    }
    push_send(pb, rq, push, np, true);
    free(push);
}

void
push_backlog_flush(struct push_backlog *pb, struct rq *rq, bool now)
{
    if (now)
        atomic_store(&pb->retry_ms, 0);
    if (now_mono_ms() < atomic_load(&pb->retry_ms))
        return;
    pthread_mutex_lock(&pb->mu);
    struct push_item *it = pb->items;
    int n = pb->n;
    pb->items = NULL;
    pb->n = 0;
    pthread_mutex_unlock(&pb->mu);
    if (n == 0)
        return;
    push_send(pb, rq, it, n, false);
    if (now_mono_ms() >= atomic_load(&pb->retry_ms)) {
        log_info("Redis is back: pushed %d job IDs kept during its outage", n);
        pthread_mutex_lock(&pb->mu);
        pb->logged_ms = 0; /* the next outage is said at once */
        pb->kept = 0;
        pthread_mutex_unlock(&pb->mu);
    }
    free(it);
}
