/* This file is the dashboard's background cache: one thread with its own MariaDB connection
 * runs the queries whose cost grows with the tables (counts by state and queue, the oldest
 * queued job per queue, finished jobs and webhooks per minute over 24 hours, the scheduler
 * leader) every [dashboard] cache_refresh_ms, and keeps the result as one JSON snapshot. Pages
 * and /metrics read the snapshot, so no such query ever runs on an HTTP thread, and a slow
 * database makes the numbers older, not the webhook intake slower. */
#include "dash_int.h"
#include "job.h"
#include "instance.h"
#include "job_query.h"
#include "log.h"
#include "webhook_log_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_MINUTES 1440
/* Minutes re-read at each refresh; older ones are kept from the previous refreshes, and the
 * whole 24 h is re-read every DASH_FULL_EVERY_MS (retries and retention change the past a
 * little). */
#define DASH_RECENT_MINUTES 5
#define DASH_FULL_EVERY_MS (10 * 60 * 1000)
/* How often the finished states are read whole, and how far before that read the jobs that
 * finished are counted again at each refresh (dash_cache_finished): longer than a check-out's
 * transaction, from its NOW(6) to its commit. */
#define DASH_FINISHED_EVERY_MS 60000
#define DASH_FINISHED_OVERLAP_MS 30000

static const char *const dash_series[DASH_SERIES] = {"succeeded", "failed", "webhooks"};

/* Adds rows of (minute, count) at columns mcol, ccol (keeping only those whose column scol,
 * when >= 0, equals want) to v, for the minutes from `from` on. */
static void
dash_cache_add(double *v, const struct db_rows *r, int64_t start, int64_t from, int mcol, int ccol,
               int scol, const char *want)
{
    for (int i = 0; i < r->n_rows; i++) {
        const char *sv = scol >= 0 ? db_rows_get(r, i, scol) : NULL;
        if (scol >= 0 && (sv == NULL || strcmp(sv, want) != 0))
            continue;
        int64_t m = db_rows_int(r, i, mcol, 0);
        if (m >= from && m - start >= 0 && m - start < DASH_MINUTES)
            v[m - start] += (double)db_rows_int(r, i, ccol, 0);
    }
}

/* Refreshes the per-minute series: all 24 h at the first refresh and every
 * DASH_FULL_EVERY_MS, else the last few minutes on top of what the previous refreshes read,
 * so a refresh costs a few minutes of index entries rather than a day's. */
static int
dash_cache_minutes(struct dash_cache *c, cJSON *snap)
{
    int64_t now_min = now_wall_ms() / 60000, start = now_min - (DASH_MINUTES - 1);
    bool full = c->pm_start == 0 || now_mono_ms() - c->pm_full_ms > DASH_FULL_EVERY_MS;
    int span = full ? DASH_MINUTES : DASH_RECENT_MINUTES;
    struct db_rows *fin = job_query_finished_per_minute(c->db, span + 1);
    struct db_rows *wh = fin ? webhook_log_store_per_minute(c->db, span + 1) : NULL;
    if (wh == NULL) {
        db_rows_free(fin);
        return -1;
    }
    int64_t from = full ? start : now_min - span + 1;
    for (int k = 0; k < DASH_SERIES; k++) {
        double *v = xcalloc(DASH_MINUTES, sizeof(double));
        /* The minutes before `from` as the previous refresh counted them. */
        for (int64_t m = start; !full && m < from; m++)
            if (m - c->pm_start >= 0 && m - c->pm_start < DASH_MINUTES)
                v[m - start] = c->pm[k][m - c->pm_start];
        if (k < 2)
            dash_cache_add(v, fin, start, from, 1, 2, 0, dash_series[k]);
        else
            dash_cache_add(v, wh, start, from, 0, 1, -1, NULL);
        free(c->pm[k]);
        c->pm[k] = v;
    }
    c->pm_start = start;
    if (full)
        c->pm_full_ms = now_mono_ms();
    db_rows_free(fin);
    db_rows_free(wh);
    cJSON *pm = cJSON_AddObjectToObject(snap, "per_minute");
    cJSON_AddNumberToObject(pm, "start_minute", (double)start);
    for (int k = 0; k < DASH_SERIES; k++)
        cJSON_AddItemToObject(pm, dash_series[k], cJSON_CreateDoubleArray(c->pm[k], DASH_MINUTES));
    return 0;
}

/* The finished states' counts: read whole every DASH_FINISHED_EVERY_MS (their range of the
 * index is the whole history: read at every refresh it grew into a core's steady load, 711 ms
 * a refresh at 1.5 million jobs whether or not anyone looked). The whole read splits each count
 * at a moment T, DASH_FINISHED_OVERLAP_MS before it: the jobs finished before T are kept, and
 * at every refresh those finished at T or later are counted again. So a job whose check-out
 * committed after the whole read, its dt_completed taken just before, is still counted, and a
 * retry or retention of a recent job is seen at once (of an older one, at the next whole
 * read). */
static int
dash_cache_finished(struct dash_cache *c, int64_t out[3])
{
    static const char *states[] = {"succeeded", "failed", "cancelled"};
    bool whole = c->finished_ms == 0 || now_mono_ms() - c->finished_ms >= DASH_FINISHED_EVERY_MS;
    if (whole) {
        struct db_rows *t = db_query(c->db, "SELECT NOW(6) - INTERVAL ? MICROSECOND",
                                     DB_P(DBI((int64_t)DASH_FINISHED_OVERLAP_MS * 1000)));
        if (t == NULL)
            return -1;
        snprintf(c->finished_since, sizeof(c->finished_since), "%s",
                 t->n_rows && db_rows_get(t, 0, 0) ? db_rows_get(t, 0, 0) : "");
        db_rows_free(t);
    }
    struct db_rows *r = whole ? job_query_finished_counts(c->db, c->finished_since)
                              : job_query_finished_since(c->db, c->finished_since);
    if (r == NULL) {
        c->finished_ms = whole ? 0 : c->finished_ms;
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        int64_t n = 0, recent = 0;
        for (int k = 0; k < r->n_rows; k++)
            if (strcmp(db_rows_get(r, k, 0), states[i]) == 0) {
                n = db_rows_int(r, k, 1, 0);
                recent = whole ? db_rows_int(r, k, 2, 0) : n;
            }
        if (whole)
            c->finished[i] = n - recent; /* finished before T */
        out[i] = c->finished[i] + recent;
    }
    db_rows_free(r);
    if (whole)
        c->finished_ms = now_mono_ms();
    return 0;
}

/* Jobs by state (the state index alone) and the live ones by queue and state. */
static int
dash_cache_counts(struct dash_cache *c, cJSON *snap)
{
    static const char *states[] = {"pending",   "queued", "running",
                                   "succeeded", "failed", "cancelled"};
    struct db *db = c->db;
    int64_t finished[3];
    struct db_rows *st = dash_cache_finished(c, finished) == 0 ? job_query_state_counts(db) : NULL;
    struct db_rows *live = st ? job_live_counts(db) : NULL;
    int64_t workers = 0, slots = 0;
    if (live == NULL || instance_live(db, &workers, &slots) < 0) {
        db_rows_free(st);
        db_rows_free(live);
        return -1;
    }
    cJSON *by_state = cJSON_AddObjectToObject(snap, "states");
    for (int i = 0; i < 6; i++) {
        int64_t n = 0;
        for (int k = 0; i < 3 && k < st->n_rows; k++)
            if (strcmp(db_rows_get(st, k, 0), states[i]) == 0)
                n = db_rows_int(st, k, 1, 0);
        cJSON_AddNumberToObject(by_state, states[i], (double)(i >= 3 ? finished[i - 3] : n));
    }
    cJSON *by_queue = cJSON_AddObjectToObject(snap, "queues"), *qo = NULL;
    const char *last = NULL;
    for (int i = 0; i < live->n_rows; i++) {
        /* The rows come by queue: looking each one up took O(queues²), a minute of the cache
         * thread's time with 100,000 queues. */
        const char *q = db_rows_get(live, i, 0);
        if (last == NULL || strcmp(q, last) != 0)
            qo = cJSON_AddObjectToObject(by_queue, q);
        last = q;
        cJSON_AddNumberToObject(qo, db_rows_get(live, i, 1), (double)db_rows_int(live, i, 2, 0));
        if (strcmp(db_rows_get(live, i, 1), "pending") == 0)
            cJSON_AddNumberToObject(qo, "over_limit", (double)db_rows_int(live, i, 3, 0));
    }
    cJSON_AddNumberToObject(snap, "workers", (double)workers);
    cJSON_AddNumberToObject(snap, "slots", (double)slots);
    db_rows_free(st);
    db_rows_free(live);
    return 0;
}

static int
dash_cache_queued(struct db *db, cJSON *snap)
{
    struct db_rows *r = job_query_queued_age(db);
    if (r == NULL)
        return -1;
    cJSON *q = cJSON_AddObjectToObject(snap, "queued");
    for (int i = 0; i < r->n_rows; i++) {
        cJSON *o = cJSON_AddObjectToObject(q, db_rows_get(r, i, 0));
        cJSON_AddNumberToObject(o, "count", (double)db_rows_int(r, i, 1, 0));
        cJSON_AddNumberToObject(o, "oldest_age_ms", (double)db_rows_int(r, i, 2, 0));
    }
    db_rows_free(r);
    return 0;
}

/* The scheduler leader: the connection holding its lock (sched_leader.c names it) and the
 * host that connection comes from. */
static int
dash_cache_leader(struct db *db, const struct cfg *cfg, cJSON *snap)
{
    char name[128];
    snprintf(name, sizeof(name), "jobfleet:%s:scheduler", cfg->mysql.database);
    struct db_rows *r = db_query(db,
                                 "SELECT p.ID, p.HOST FROM information_schema.PROCESSLIST p "
                                 "WHERE p.ID = IS_USED_LOCK(?)",
                                 DB_P(DBS(name)));
    if (r == NULL)
        return -1;
    if (r->n_rows == 1) {
        cJSON *o = cJSON_AddObjectToObject(snap, "leader");
        cJSON_AddNumberToObject(o, "connection_id", (double)db_rows_int(r, 0, 0, 0));
        cJSON_AddStringToObject(o, "host", db_rows_get(r, 0, 1) ? db_rows_get(r, 0, 1) : "");
    } else {
        cJSON_AddNullToObject(snap, "leader");
    }
    db_rows_free(r);
    return 0;
}

/* One refresh: a new snapshot, or one holding "error" and the previous numbers' absence. */
static cJSON *
dash_cache_build(struct dash_cache *c)
{
    int64_t t0 = now_mono_ms();
    cJSON *snap = cJSON_CreateObject();
    if (dash_cache_counts(c, snap) < 0 || dash_cache_queued(c->db, snap) < 0 ||
        dash_cache_minutes(c, snap) < 0 || dash_cache_leader(c->db, c->cfg, snap) < 0) {
        cJSON_AddStringToObject(snap, "error", db_errstr(c->db));
    } else {
        cJSON_AddNullToObject(snap, "error");
    }
    cJSON_AddNumberToObject(snap, "refreshed_ms", (double)now_wall_ms());
    cJSON_AddNumberToObject(snap, "refresh_took_ms", (double)(now_mono_ms() - t0));
    return snap;
}

static void *
dash_cache_main(void *arg)
{
    struct dash_cache *c = arg;
    bgthread_lock(&c->t);
    while (!bgthread_stopping(&c->t)) {
        bgthread_unlock(&c->t);
        cJSON *snap = dash_cache_build(c);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(snap, "error");
        if (cJSON_IsString(e))
            log_warnx("dashboard cache: %s", e->valuestring);
        bgthread_lock(&c->t);
        cJSON_Delete(c->snap);
        c->snap = snap;
        bgthread_wait_until(&c->t, now_mono_ms() + c->cfg->dashboard.cache_refresh_ms);
    }
    bgthread_unlock(&c->t);
    return NULL;
}

int
dash_cache_start(struct dash_cache *c, const struct cfg *cfg)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    /* Its queries read whole indexes of big tables: give them minutes, not the HTTP path's
     * read timeout. It runs on no request's behalf, so only the numbers' age depends on it. */
    struct cfg_mysql m = cfg->mysql;
    if (m.read_timeout_s < DASH_CACHE_READ_TIMEOUT_S)
        m.read_timeout_s = DASH_CACHE_READ_TIMEOUT_S;
    c->db = db_new(&m);
    if (bgthread_start(&c->t, dash_cache_main, c) < 0) {
        db_free(c->db);
        c->db = NULL;
        return -1;
    }
    return 0;
}

void
dash_cache_stop(struct dash_cache *c)
{
    if (c->db == NULL)
        return;
    bgthread_stop(&c->t);
    bgthread_release(&c->t);
    cJSON_Delete(c->snap);
    db_free(c->db);
    for (int k = 0; k < DASH_SERIES; k++)
        free(c->pm[k]);
    memset(c, 0, sizeof(*c));
}

cJSON *
dash_cache_get(struct dash_cache *c)
{
    bgthread_lock(&c->t);
    cJSON *s = c->snap ? cJSON_Duplicate(c->snap, 1) : NULL;
    bgthread_unlock(&c->t);
    if (s == NULL) {
        s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "error", "the first refresh has not finished yet");
    }
    return s;
}
