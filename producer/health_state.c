/* This file keeps the producer's view of MariaDB and Redis: a thread probes each server in
 * turn with its own connection and records the outcome with the time the probe began, under
 * a lock that only guards those few fields. Readers take the lock for a copy, so /health and
 * the pages answer in microseconds whatever the servers do; the errors themselves go to the
 * log (once per change), not to readers. */
#include "health_state.h"
#include "bgthread.h"
#include "db.h"
#include "log.h"
#include "rq.h"
#include "util.h"

#include <stdlib.h>

#define HEALTH_IO_TIMEOUT_S 2

/* One server's probe: whether the last one answered, and whether one is running since when. */
struct health_probe {
    bool ok;
    bool busy;
    int64_t began_ms;
};

struct health_state {
    struct bgthread bg; /* its lock guards db and redis */
    struct health_probe db, redis;
    int interval_ms, stale_ms;
    const struct cfg *cfg;
};

/* Marks the start or the end of a probe. */
static void
health_mark(struct health_state *h, struct health_probe *p, bool busy, bool ok)
{
    bgthread_lock(&h->bg);
    p->busy = busy;
    if (busy)
        p->began_ms = now_mono_ms();
    else
        p->ok = ok;
    bgthread_unlock(&h->bg);
}

static void
health_note(const char *what, bool was_ok, bool ok, const char *err)
{
    if (was_ok && !ok)
        log_warnx("health: %s unreachable: %s", what, err);
    else if (!was_ok && ok)
        log_info("health: %s reachable again", what);
}

static void *
health_main(void *arg)
{
    struct health_state *h = arg;
    /* Short timeouts: a hung server must not hold the thread (and a shutdown) for long. */
    struct cfg_mysql m = h->cfg->mysql;
    m.connect_timeout_s = HEALTH_IO_TIMEOUT_S;
    m.read_timeout_s = HEALTH_IO_TIMEOUT_S;
    struct db *db = db_new(&m);
    struct rq *rq = rq_new(&h->cfg->redis);
    /* A write, not a PING: a Redis that answers but refuses writes (a demoted master's
     * READONLY, OOM, MISCONF) takes no push, and /health must say so. */
    char *probe_key =
        xasprintf("%s:producer:health", h->cfg->redis.prefix ? h->cfg->redis.prefix : "jobfleet");
    const char *probe[] = {"SET", probe_key, "1", "PX", "10000"};
    bool db_was = true, rq_was = true;
    bgthread_lock(&h->bg);
    while (!bgthread_stopping(&h->bg)) {
        bgthread_unlock(&h->bg);
        health_mark(h, &h->db, true, false);
        bool db_ok = db_exec_static(db, "SELECT 1") == 0;
        health_mark(h, &h->db, false, db_ok);
        health_note("MariaDB", db_was, db_ok, db_errstr(db));
        health_mark(h, &h->redis, true, false);
        bool rq_ok = rq_command(rq, 5, probe) >= 0;
        health_mark(h, &h->redis, false, rq_ok);
        health_note("Redis", rq_was, rq_ok, rq_errstr(rq));
        db_was = db_ok;
        rq_was = rq_ok;
        bgthread_lock(&h->bg);
        if (!bgthread_stopping(&h->bg))
            bgthread_wait_until(&h->bg, now_mono_ms() + h->interval_ms);
    }
    bgthread_unlock(&h->bg);
    db_free(db);
    rq_free(rq);
    free(probe_key);
    return NULL;
}

struct health_state *
health_state_start(const struct cfg *c, int interval_ms, int stale_ms)
{
    struct health_state *h = xcalloc(1, sizeof(*h));
    h->cfg = c;
    h->interval_ms = interval_ms;
    h->stale_ms = stale_ms;
    /* Until the first probe answers, nothing is known to be wrong. */
    h->db.ok = h->redis.ok = true;
    if (bgthread_start(&h->bg, health_main, h) < 0)
        fatal("pthread_create");
    return h;
}

void
health_state_stop(struct health_state *h)
{
    if (h == NULL)
        return;
    bgthread_stop(&h->bg);
    bgthread_release(&h->bg);
    free(h);
}

/* With the lock held: a probe stuck past stale_ms is a failure even before it returns. */
static bool
health_probe_ok(const struct health_state *h, const struct health_probe *p, int64_t now)
{
    if (p->busy && now - p->began_ms > h->stale_ms)
        return false;
    return p->ok;
}

struct health_view
health_state_get(struct health_state *h)
{
    int64_t now = now_mono_ms();
    bgthread_lock(&h->bg);
    struct health_view v = {.db_ok = health_probe_ok(h, &h->db, now),
                            .redis_ok = health_probe_ok(h, &h->redis, now)};
    bgthread_unlock(&h->bg);
    return v;
}
