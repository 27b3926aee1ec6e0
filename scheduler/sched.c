/* This file holds the scheduler's loop: leadership, the order of a tick's steps, and the
 * connection backoff that keeps the loop alive through MariaDB and Redis restarts. */
#include "sched.h"
#include "cronjob_fire.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHED_BACKOFF_MIN_MS 100
#define SCHED_BACKOFF_MAX_MS 2000
#define SCHED_WARN_REPEAT_MS 60000

void
sched_link_down(struct sched_link *l, const char *err)
{
    int64_t now = now_mono_ms();
    if (!l->down) {
        log_warnx("%s unavailable: %s; retrying with backoff", l->what, err);
        l->down = true;
        retry_init(&l->retry, SCHED_BACKOFF_MIN_MS, SCHED_BACKOFF_MAX_MS);
    }
    l->next_try_ms = now + retry_fail(&l->retry);
}

void
sched_link_up(struct sched *s, struct sched_link *l)
{
    if (!l->down)
        return;
    log_info("%s available again", l->what);
    l->down = false;
    retry_reset(&l->retry);
    l->next_try_ms = 0;
    /* Both MariaDB links see the same server; either one coming back ends the outage. */
    if (l != &s->rq_link)
        s->db_back_ms = now_mono_ms();
}

/* A server that started less than a lease ago was away (restarted, its host rebooted) whether
 * or not this process saw it go: a scheduler started just after it finds the workers'
 * heartbeats and held outcomes as stale as after an outage it saw, so the outage's end is
 * taken to be the server's start. */
static void
sched_note_server_start(struct sched *s, struct db *db)
{
    struct db_rows *r = db_query(db,
                                 "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                 "WHERE VARIABLE_NAME = 'UPTIME'",
                                 DB_NOP);
    int64_t up = r && r->n_rows ? db_rows_int(r, 0, 0, -1) : -1;
    db_rows_free(r);
    /* Recorded however long ago: a worker's lease may be longer than this process's. */
    if (up < 0)
        return;
    int64_t back = now_mono_ms() - up * 1000;
    if (back > s->db_back_ms)
        s->db_back_ms = back > 0 ? back : 1;
}

bool
sched_db_ready(struct sched *s, struct sched_link *l, struct db *db)
{
    if (db_connected(db))
        return true;
    if (now_mono_ms() < l->next_try_ms)
        return false;
    if (db_connect(db) < 0) {
        sched_link_down(l, db_errstr(db));
        return false;
    }
    sched_link_up(s, l);
    sched_note_server_start(s, db);
    return true;
}

int64_t
sched_db_back_s(const struct sched *s)
{
    return s->db_back_ms ? (now_mono_ms() - s->db_back_ms) / 1000 : INT64_C(1) << 31;
}

bool
sched_db_settling(const struct sched *s)
{
    return s->db_back_ms != 0 &&
           now_mono_ms() - s->db_back_ms < (int64_t)s->cfg->worker.lease_s * 1000;
}

bool
sched_rq_ready(struct sched *s)
{
    if (rq_connected(s->rq))
        return true;
    if (now_mono_ms() < s->rq_link.next_try_ms)
        return false;
    if (rq_connect(s->rq) < 0 || rq_version_check(s->rq) < 0) {
        sched_link_down(&s->rq_link, rq_errstr(s->rq));
        return false;
    }
    sched_link_up(s, &s->rq_link);
    return true;
}

static const char *const sched_step_names[SCHED_N_STEPS] = {
    "leader", "pickup", "watchdog", "lease recovery", "reconcile", "cron", "retention", "tick",
};

void
sched_warn(struct sched *s, enum sched_step step, const char *err)
{
    int64_t now = now_mono_ms();
    /* The same error with other job IDs in it (Redis quotes a refused command's arguments) is
     * the same error: compared up to its first digit, it is logged once a minute, not at every
     * tick. */
    size_t key = strcspn(err, "0123456789");
    const char *args = strstr(err, ", with args");
    if (args && (size_t)(args - err) < key)
        key = (size_t)(args - err);
    if (key < 8) /* too short to tell errors apart: the whole text */
        key = strlen(err);
    if (key >= sizeof(s->last_err[step]))
        key = sizeof(s->last_err[step]) - 1;
    if (strlen(s->last_err[step]) == key && strncmp(s->last_err[step], err, key) == 0 &&
        now - s->last_err_ms[step] < SCHED_WARN_REPEAT_MS)
        return;
    snprintf(s->last_err[step], sizeof(s->last_err[step]), "%.*s", (int)key, err);
    s->last_err_ms[step] = now;
    log_warnx("%s: %s", sched_step_names[step], err);
}

int
sched_db_fail(struct sched *s, enum sched_step step, struct db *db)
{
    struct sched_link *l = db == s->lock_db ? &s->lock_link : &s->db_link;
    if (!db_lost(db)) {
        sched_warn(s, step, db_errstr(db));
        return -1;
    }
    /* A connection that sat idle through a server restart fails once although the server
     * is back: one immediate reconnect tells that apart from an outage. */
    char lost[512];
    snprintf(lost, sizeof(lost), "%s", db_errstr(db));
    if (!l->down && db_connect(db) == 0) {
        log_info("%s connection was lost (%s); reconnected", l->what, lost);
        /* The server may have been away for a while: workers' heartbeats too. */
        s->db_back_ms = now_mono_ms();
        return -1;
    }
    sched_link_down(l, db_errstr(db));
    return -1;
}

int
sched_rq_fail(struct sched *s, enum sched_step step)
{
    /* A demoted server's connection is made anew by the next tick's sched_rq_ready, quietly:
     * its error is the warning, once a minute. */
    if (rq_connected(s->rq) || rq_demoted(s->rq)) {
        sched_warn(s, step, rq_errstr(s->rq));
        return -1;
    }
    char lost[256];
    snprintf(lost, sizeof(lost), "%s", rq_errstr(s->rq));
    if (!s->rq_link.down && rq_connect(s->rq) == 0) {
        log_info("Redis connection was lost (%s); reconnected", lost);
        return -1;
    }
    sched_link_down(&s->rq_link, rq_errstr(s->rq));
    return -1;
}

/* True when the main connection is still usable after a step, so the tick may go on. */
static bool
sched_db_alive(struct sched *s)
{
    return db_connected(s->db);
}

static void
sched_tick(struct sched *s)
{
    int64_t start = now_mono_ms();
    memset(&s->counts, 0, sizeof(s->counts));
    if (!sched_db_ready(s, &s->db_link, s->db))
        return;
    /* Without Redis, due jobs stay pending (and reconcile waits) so that they are pushed as
     * soon as Redis is back instead of after requeue_after_s. The other steps need MariaDB
     * only. */
    bool redis = sched_rq_ready(s);
    if (redis)
        sched_pickup(s);
    if (sched_db_alive(s))
        sched_watchdog(s);
    if (sched_db_alive(s))
        sched_lease(s);
    if (sched_db_alive(s) && redis && rq_connected(s->rq) && !s->rq_refusing)
        sched_reconcile(s);
    if (sched_db_alive(s))
        sched_cron_step(s);
    if (sched_db_alive(s))
        sched_retention(s);
    const struct sched_counts *c = &s->counts;
    int64_t took = now_mono_ms() - start;
    sched_metrics_tick(s, took);
    /* Idle ticks stay silent even at debug level: a log full of them hides what happened. */
    bool busy = c->picked || c->timed_out || c->instances_lost || c->jobs_lost || c->repushed ||
                c->deleted_jobs || c->deleted_webhooks;
    if (busy)
        log_debug("tick: %lld ms; picked %d, timed out %d, instances lost %d, jobs lost %d, "
                  "reconcile %d checked %d re-pushed, deleted %d jobs %d webhook rows",
                  (long long)took, c->picked, c->timed_out, c->instances_lost, c->jobs_lost,
                  c->checked, c->repushed, c->deleted_jobs, c->deleted_webhooks);
    if (took > s->cfg->scheduler.tick_ms) {
        /* A fixed text, so that sched_warn logs a run of slow ticks once a minute. */
        char msg[96];
        snprintf(msg, sizeof(msg), "a tick took longer than tick_ms = %d ms",
                 s->cfg->scheduler.tick_ms);
        sched_warn(s, SCHED_STEP_TICK, msg);
    }
}

/* Sleeps until the monotonic time until_ms, waking early when asked to stop. */
static void
sched_sleep_until(struct sched *s, int64_t until_ms)
{
    for (;;) {
        int64_t left = until_ms - now_mono_ms();
        if (*s->stop || left <= 0)
            return;
        sleep_ms(left < 100 ? left : 100);
    }
}

static void
sched_init(struct sched *s, const struct cfg *cfg, volatile sig_atomic_t *stop)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->stop = stop;
    s->db = db_new(&cfg->mysql);
    s->lock_db = db_new(&cfg->mysql);
    s->rq = rq_new(&cfg->redis);
    s->db_link.what = "MariaDB";
    s->lock_link.what = "MariaDB (lock connection)";
    s->rq_link.what = "Redis";
    sched_lock_name(cfg->mysql.database ? cfg->mysql.database : "", s->lock_name,
                    sizeof(s->lock_name));
    snprintf(s->reconcile_dt, sizeof(s->reconcile_dt), "1970-01-01 00:00:00");
}

static void
sched_release_all(struct sched *s)
{
    db_free(s->db);
    db_free(s->lock_db);
    rq_free(s->rq);
    free(s->clean);
}

int
sched_run(const struct cfg *cfg, volatile sig_atomic_t *stop)
{
    struct sched s;
    sched_init(&s, cfg, stop);
    cronjob_fire_metrics_start();
    if (sched_watchdog_grace_s(cfg) > cfg->scheduler.timeout_grace_s)
        log_info("[scheduler] timeout_grace_s %d is raised to %d s: a worker may take [worker] "
                 "prefetch_wait_ms and kill_grace_s to stop a job itself",
                 cfg->scheduler.timeout_grace_s, sched_watchdog_grace_s(cfg));
    log_info("scheduler starting: tick %d ms, batch %d, lock \"%s\"", cfg->scheduler.tick_ms,
             cfg->scheduler.batch_size, s.lock_name);
    struct metrics_server *ms = NULL;
    if (cfg->scheduler.metrics_listen && cfg->scheduler.metrics_listen[0]) {
        char err[256];
        ms = metrics_server_start(cfg->scheduler.metrics_listen, NULL, NULL, err, sizeof(err));
        if (ms == NULL) {
            log_warnx("[scheduler] %s", err);
            sched_release_all(&s);
            return 1;
        }
    }
    while (!*stop) {
        sched_metrics_leader(s.leader);
        if (!s.leader) {
            /* GET_LOCK itself blocks for a while; only a failure needs a pause here. */
            int64_t before = now_mono_ms();
            sched_try_lead(&s);
            if (!s.leader && now_mono_ms() - before < 50)
                sched_sleep_until(&s, now_mono_ms() + 100);
            continue;
        }
        int64_t start = now_mono_ms();
        if (!sched_still_leader(&s))
            continue;
        sched_tick(&s);
        sched_sleep_until(&s, start + cfg->scheduler.tick_ms);
    }
    if (s.leader)
        sched_release(&s);
    log_info("scheduler stopped");
    metrics_server_stop(ms);
    sched_release_all(&s);
    return 0;
}

static int
sched_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int
sched_measure(const struct cfg *cfg, int n)
{
    static volatile sig_atomic_t never;
    struct sched s;
    sched_init(&s, cfg, &never);
    int64_t deadline = now_mono_ms() + 10000;
    while (!s.leader && now_mono_ms() < deadline)
        sched_try_lead(&s);
    if (!s.leader) {
        fprintf(stderr, "jobfleet-scheduler: could not take leadership within 10 s\n");
        sched_release_all(&s);
        return 1;
    }
    /* Microseconds: an idle tick takes about a millisecond. */
    int64_t *us = xcalloc((size_t)n, sizeof(int64_t));
    double sum = 0;
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        sched_tick(&s);
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
        sum += (double)us[i];
    }
    qsort(us, (size_t)n, sizeof(int64_t), sched_cmp_i64);
    printf("tick_p50_ms %.3f\ntick_mean_ms %.3f\ntick_max_ms %.3f\n", us[n / 2] / 1000.0,
           sum / n / 1000.0, us[n - 1] / 1000.0);
    free(us);
    sched_release(&s);
    sched_release_all(&s);
    return 0;
}
