/* This file renders cron jobs and the results of the cron operations as JSON, the one form the
 * CLI's --json and the producer's /api/cron share. */
#include "cronjob_json.h"
#include "caltime.h"
#include "cronjob_check.h"
#include "cronjob_fire.h"
#include "cronjob_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON form of a local time with offset. */
static cJSON *
cronjob_local_json(int64_t t, const char *tz)
{
    char s[64];
    cron_format_local(t, tz, s, sizeof(s));
    return cJSON_CreateString(s);
}

/* A number, or null for 0 (the columns where SQL NULL reads as 0). */
static cJSON *
cronjob_num_or_null(int64_t v)
{
    return v ? cJSON_CreateNumber((double)v) : cJSON_CreateNull();
}

static cJSON *
cronjob_str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The next fire the scheduler will act on: the row's stored plan, or for a row not planned yet
 * (added or enabled without a zone, a built-in a migration installed) the first fire after it
 * was added or enabled, as the scheduler reads it (cronjob_fire.c; in this process's zone, which
 * should be the scheduler's). Returns 0, or -1 when there is none. */
static int
cronjob_planned(const struct cronjob_row *row, const char *tz, int64_t *next)
{
    struct cron_expr e;
    int64_t created;
    if (row->next_fire)
        return caltime_parse_dt(row->next_fire, next);
    if (cron_parse(row->schedule, &e, NULL, 0) < 0 ||
        caltime_parse_dt(row->plan_from ? row->plan_from : row->created, &created) < 0)
        return -1;
    return cron_next(&e, tz, created, next);
}

/* next_fire and last_fire, as local times in tz, or null; overdue when an active cron job's
 * next fire passed more than a minute ago (no scheduler is firing it: none runs, or it is
 * behind). */
static void
cronjob_fires_json(cJSON *o, const struct cronjob_row *row, const char *tz, int64_t now)
{
    int64_t next, last;
    bool planned = row->is_active && cronjob_planned(row, tz, &next) == 0;
    if (planned)
        cJSON_AddItemToObject(o, "next_fire", cronjob_local_json(next, tz));
    else
        cJSON_AddNullToObject(o, "next_fire");
    cJSON_AddBoolToObject(o, "overdue", planned && now - next > CRONJOB_CURRENT_MINUTE_S);
    if (row->last_fire && caltime_parse_dt(row->last_fire, &last) == 0)
        cJSON_AddItemToObject(o, "last_fire", cronjob_local_json(last, tz));
    else
        cJSON_AddNullToObject(o, "last_fire");
}

/* A row of cronjob_store_list as the cron job object described in cronjob_json.h. */
static cJSON *
cronjob_row_json(const struct cfg *cfg, const struct cronjob_row *row, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    const char *tz = cronjob_zone(cfg, row->timezone);
    cJSON_AddNumberToObject(o, "id", (double)row->id);
    cJSON_AddStringToObject(o, "name", row->name);
    cJSON_AddStringToObject(o, "schedule", row->schedule);
    cJSON_AddStringToObject(o, "timezone", tz);
    cJSON_AddBoolToObject(o, "timezone_default", row->timezone == NULL || row->timezone[0] == '\0');
    cJSON_AddStringToObject(o, "action", row->action);
    /* A row written by hand may hold text that is not JSON: show it rather than drop it. */
    cJSON *params = cJSON_Parse(row->parameters);
    cJSON_AddItemToObject(o, "parameters", params ? params : cJSON_CreateString(row->parameters));
    cJSON_AddStringToObject(o, "queue", row->queue);
    cJSON_AddNumberToObject(o, "priority", (double)row->priority);
    cJSON_AddItemToObject(o, "timeout_s", cronjob_num_or_null(row->timeout_s));
    cJSON_AddItemToObject(o, "max_attempts", cronjob_num_or_null(row->max_attempts));
    cJSON_AddStringToObject(o, "catchup",
                            row->catchup && strcmp(row->catchup, "none") == 0 ? "none" : "latest");
    cJSON_AddBoolToObject(o, "is_active", row->is_active);
    cronjob_fires_json(o, row, tz, now);
    cJSON_AddItemToObject(o, "last_fire_utc", cronjob_str_or_null(row->last_fire));
    cJSON_AddItemToObject(o, "last_job_id", cronjob_num_or_null(row->last_job_id));
    cJSON_AddItemToObject(o, "last_job_state", cronjob_str_or_null(row->last_job_state));
    cJSON_AddItemToObject(o, "dt_created", cronjob_str_or_null(row->created));
    return o;
}

cJSON *
cronjob_list_json(struct db *db, const struct cfg *cfg, enum job_err *e, char *err, size_t errlen)
{
    struct cronjob_rows *rs = cronjob_store_list(db, NULL);
    if (rs == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "list cron jobs: %s", db_errstr(db));
        return NULL;
    }
    int64_t now = cronjob_now(db, cfg);
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < rs->n; i++)
        cJSON_AddItemToArray(a, cronjob_row_json(cfg, &rs->row[i], now));
    cronjob_rows_free(rs);
    *e = JOB_E_OK;
    return a;
}

cJSON *
cronjob_get_json(struct db *db, const struct cfg *cfg, const char *name, enum job_err *e, char *err,
                 size_t errlen)
{
    struct cronjob_rows *rs =
        cronjob_store_one(cronjob_store_list(db, name), db, name, e, err, errlen);
    if (rs == NULL)
        return NULL;
    cJSON *o = cronjob_row_json(cfg, &rs->row[0], cronjob_now(db, cfg));
    cronjob_rows_free(rs);
    *e = JOB_E_OK;
    return o;
}

cJSON *
cronjob_add_json(struct db *db, const struct cfg *cfg, const cJSON *body, enum job_err *e,
                 char *err, size_t errlen)
{
    struct cronjob_spec spec;
    char *ptext = NULL;
    *e = JOB_E_INPUT;
    if (cronjob_spec_from_json(body, &spec, &ptext, err, errlen) < 0)
        return NULL;
    *e = cronjob_add(db, cfg, &spec, NULL, err, errlen);
    free(ptext);
    if (*e != JOB_E_OK)
        return NULL;
    return cronjob_get_json(db, cfg, spec.name, e, err, errlen);
}

cJSON *
cronjob_set_active_json(struct db *db, const struct cfg *cfg, const char *name, bool active,
                        enum job_err *e, char *err, size_t errlen)
{
    *e = cronjob_set_active(db, cfg, name, active, err, errlen);
    if (*e != JOB_E_OK)
        return NULL;
    return cronjob_get_json(db, cfg, name, e, err, errlen);
}

cJSON *
cronjob_remove_json(struct db *db, const char *name, enum job_err *e, char *err, size_t errlen)
{
    int64_t id = 0;
    *e = cronjob_remove(db, name, &id, err, errlen);
    if (*e != JOB_E_OK)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "removed", name);
    cJSON_AddNumberToObject(o, "id", (double)id);
    return o;
}

cJSON *
cronjob_next_json(struct db *db, const struct cfg *cfg, const char *name, int count,
                  enum job_err *e, char *err, size_t errlen)
{
    int64_t *times =
        xcalloc(count > 0 && count <= CRONJOB_NEXT_MAX ? (size_t)count : 1, sizeof(int64_t));
    char tz[128];
    int n = 0;
    bool active = false;
    *e = cronjob_next_times(db, cfg, name, count, times, &n, tz, sizeof(tz), &active, err, errlen);
    if (*e != JOB_E_OK) {
        free(times);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "timezone", tz);
    cJSON_AddBoolToObject(o, "is_active", active);
    cJSON *local = cJSON_AddArrayToObject(o, "next");
    cJSON *utc = cJSON_AddArrayToObject(o, "next_utc");
    for (int i = 0; i < n; i++) {
        char s[32];
        caltime_format_utc(times[i], s, sizeof(s));
        cJSON_AddItemToArray(local, cronjob_local_json(times[i], tz));
        cJSON_AddItemToArray(utc, cJSON_CreateString(s));
    }
    free(times);
    return o;
}
