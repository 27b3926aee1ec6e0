/* This file keeps the worker's snapshot of queue and action settings and takes the Redis
 * leases of fleet-wide concurrency and rate limits. */
#include "limits.h"
#include "job.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

void
limiter_init(struct limiter *l, const struct cfg_redis *redis, int64_t lease_ms)
{
    memset(l, 0, sizeof(*l));
    l->redis = redis;
    l->lease_ms = lease_ms;
    /* Members must differ between every worker on every host, not just within this process. */
    if (getrandom(&l->nonce, sizeof(l->nonce), 0) != (ssize_t)sizeof(l->nonce))
        l->nonce = ((uint64_t)getpid() << 32) ^ (uint64_t)now_mono_ms();
}

void
limiter_release(struct limiter *l)
{
    settings_release(&l->set);
    rq_free(l->rq);
    l->rq = NULL;
}

int
limiter_refresh(struct limiter *l, struct db *db)
{
    struct settings fresh;
    if (settings_load(db, &fresh) < 0)
        return -1;
    settings_release(&l->set);
    l->set = fresh;
    l->loaded = true;
    return 0;
}

bool
limiter_active(const struct limiter *l)
{
    return l->loaded && settings_has_limits(&l->set);
}

bool
limiter_paused(const struct limiter *l, const char *queue)
{
    const struct queue_setting *q = settings_queue(&l->set, queue);
    return q && q->paused;
}

static bool
limiter_limits(const struct limits *lim)
{
    return lim->concurrency > 0 || lim->rate > 0;
}

void
limiter_except(const struct limiter *l, struct lifecycle_except *ex)
{
    memset(ex, 0, sizeof(*ex));
    if (!limiter_active(l))
        return;
    const char **q = xcalloc((size_t)l->set.n_queues + 1, sizeof(*q));
    const char **a = xcalloc((size_t)l->set.n_actions + 1, sizeof(*a));
    for (int i = 0; i < l->set.n_queues; i++)
        if (limiter_limits(&l->set.queues[i].lim))
            q[ex->n_queues++] = l->set.queues[i].name;
    for (int i = 0; i < l->set.n_actions; i++)
        if (limiter_limits(&l->set.actions[i].lim))
            a[ex->n_actions++] = l->set.actions[i].name;
    ex->queues = q;
    ex->actions = a;
}

void
limiter_except_free(struct lifecycle_except *ex)
{
    free(ex->queues);
    free(ex->actions);
    memset(ex, 0, sizeof(*ex));
}

static void
limiter_add(struct job_limits *jl, const char *scope, const struct limits *lim)
{
    if (!limiter_limits(lim))
        return;
    jl->is_queue[jl->n] = scope == jl->qscope;
    struct rq_limit *r = &jl->lim[jl->n++];
    r->scope = scope;
    r->concurrency = lim->concurrency;
    r->rate = lim->rate;
    r->rate_interval_ms = lim->rate_interval_ms;
}

void
limiter_scopes(const struct limiter *l, const char *queue, const char *action,
               struct job_limits *jl)
{
    memset(jl, 0, sizeof(*jl));
    snprintf(jl->qscope, sizeof(jl->qscope), "q:%s", queue);
    snprintf(jl->ascope, sizeof(jl->ascope), "a:%s", action);
    const struct queue_setting *q = settings_queue(&l->set, queue);
    const struct action_setting *a = settings_action(&l->set, action);
    if (q)
        limiter_add(jl, jl->qscope, &q->lim);
    if (a)
        limiter_add(jl, jl->ascope, &a->lim);
}

/* The rq_limit entries point into jl itself, which moves when copied (between threads, too):
 * re-point them, without reading through the old pointers, which may point into a copy that is
 * gone. */
static void
limiter_fix(struct job_limits *jl)
{
    for (int i = 0; i < jl->n; i++)
        jl->lim[i].scope = jl->is_queue[i] ? jl->qscope : jl->ascope;
}

static struct rq *
limiter_rq(struct limiter *l)
{
    if (l->rq == NULL)
        l->rq = rq_new(l->redis);
    return l->rq;
}

int64_t
limiter_acquire(struct limiter *l, struct job_limits *jl, int64_t id, const char *queue,
                double score)
{
    if (jl->n == 0)
        return 0;
    limiter_fix(jl);
    snprintf(jl->member, sizeof(jl->member), "%lld:%016llx", (long long)id,
             (unsigned long long)l->nonce++);
    /* The job in line: "<id>:<queue>", the same at each try, so it keeps its place. */
    char *waiter = xasprintf("%lld:%s", (long long)id, queue);
    int64_t rc =
        rq_limit_acquire(limiter_rq(l), jl->lim, jl->n, jl->member, l->lease_ms, waiter, score);
    free(waiter);
    if (rc < 0)
        log_warnx("limits: %s", rq_errstr(l->rq));
    return rc;
}

void
limiter_free_slots(struct limiter *l, struct job_limits *jl)
{
    if (jl->n == 0)
        return;
    limiter_fix(jl);
    /* A slot that cannot be freed now expires with its lease. */
    if (rq_limit_release(limiter_rq(l), jl->lim, jl->n, jl->member) < 0)
        log_warnx("limits: release slot %s: %s", jl->member, rq_errstr(l->rq));
    jl->n = 0;
}

void
limiter_free_keep(struct limiter *l, struct job_limits *jl, struct job_limits *held)
{
    *held = *jl;
    limiter_free_slots(l, jl);
    limiter_fix(held);
}

int
limiter_next_waiter(struct limiter *l, struct job_limits *held, int i, struct limit_waiter *w)
{
    if (i >= held->n || held->lim[i].concurrency <= 0)
        return 0;
    limiter_fix(held);
    char *name = NULL;
    double score = 0;
    int got = rq_limit_next_waiter(limiter_rq(l), held->lim[i].scope, &name, &score);
    if (got < 0)
        log_warnx("limits: the next job in line: %s", rq_errstr(l->rq));
    if (got <= 0)
        return got;
    char *colon = strchr(name, ':');
    long long id = strtoll(name, NULL, 10);
    bool ok = colon && id > 0 && job_queue_name_ok(colon + 1);
    if (ok) {
        *w = (struct limit_waiter){.id = id, .score = score};
        snprintf(w->queue, sizeof(w->queue), "%s", colon + 1);
    }
    free(name);
    return ok ? 1 : 0;
}

void
limiter_renew(struct limiter *l, struct job_limits *jl)
{
    if (jl->n == 0)
        return;
    limiter_fix(jl);
    if (rq_limit_renew(limiter_rq(l), jl->lim, jl->n, jl->member, l->lease_ms) < 0)
        log_warnx("limits: renew slot %s: %s", jl->member, rq_errstr(l->rq));
}

void
limiter_backoff(const struct limiter *l, const char *action, int64_t *base_ms, int64_t *cap_ms)
{
    const struct action_setting *a = settings_action(&l->set, action);
    *base_ms = a ? a->backoff_base_ms : 0;
    *cap_ms = a ? a->backoff_cap_ms : 0;
}
