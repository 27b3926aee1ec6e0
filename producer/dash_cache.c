/* This file is the dashboard's background cache: one thread with its own MariaDB connection
 * runs the queries whose cost grows with the tables (counts by state and queue, the oldest
 * queued job per queue, finished jobs and webhooks per minute over 24 hours, the scheduler
 * leader) every [dashboard] cache_refresh_ms, and keeps the result as one JSON snapshot. Pages
 * and /metrics read the snapshot, so no such query ever runs on an HTTP thread, and a slow
 * database makes the numbers older, not the webhook intake slower. */
#include "dash_int.h"
#include "job.h"
#include "job_query.h"
#include "log.h"
#include "webhook_log_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_MINUTES 1440

/* Fills a per-minute array from rows of (minute, count) at columns mcol, ccol, keeping only
 * rows whose column scol (when >= 0) equals want. */
static void
dash_cache_series(cJSON *o, const char *name, const struct db_rows *r, int64_t start, int mcol,
                  int ccol, int scol, const char *want)
{
    double *v = xcalloc(DASH_MINUTES, sizeof(double));
    for (int i = 0; r && i < r->n_rows; i++) {
        if (scol >= 0 && strcmp(db_rows_get(r, i, scol) ? db_rows_get(r, i, scol) : "", want))
            continue;
        int64_t m = db_rows_int(r, i, mcol, 0) - start;
        if (m >= 0 && m < DASH_MINUTES)
            v[m] += (double)db_rows_int(r, i, ccol, 0);
    }
    cJSON_AddItemToObject(o, name, cJSON_CreateDoubleArray(v, DASH_MINUTES));
    free(v);
}

static int
dash_cache_minutes(struct db *db, cJSON *snap)
{
    struct db_rows *fin = job_query_finished_per_minute(db, DASH_MINUTES);
    struct db_rows *wh = fin ? webhook_log_store_per_minute(db, DASH_MINUTES) : NULL;
    if (wh == NULL) {
        db_rows_free(fin);
        return -1;
    }
    int64_t start = now_wall_ms() / 60000 - (DASH_MINUTES - 1);
    cJSON *pm = cJSON_AddObjectToObject(snap, "per_minute");
    cJSON_AddNumberToObject(pm, "start_minute", (double)start);
    dash_cache_series(pm, "succeeded", fin, start, 1, 2, 0, "succeeded");
    dash_cache_series(pm, "failed", fin, start, 1, 2, 0, "failed");
    dash_cache_series(pm, "webhooks", wh, start, 0, 1, -1, NULL);
    db_rows_free(fin);
    db_rows_free(wh);
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
    char err[512] = "";
    int64_t t0 = now_mono_ms();
    cJSON *snap = job_stats(c->db, err, sizeof(err));
    if (snap == NULL) {
        snap = cJSON_CreateObject();
        cJSON_AddStringToObject(snap, "error", err);
    } else if (dash_cache_queued(c->db, snap) < 0 || dash_cache_minutes(c->db, snap) < 0 ||
               dash_cache_leader(c->db, c->cfg, snap) < 0) {
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
    c->db = db_new(&cfg->mysql);
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
