/* This file holds the cron job operations the CLI and the JSON API share: the clock they read,
 * the zone a cron job runs in, and add, enable, disable, remove and next fire times, each a
 * check (cronjob_check.c) followed by the table's SQL (cronjob_store.c). */
#include "cronjob.h"
#include "cronjob_check.h"
#include "cronjob_store.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The unix time in [scheduler] test_clock_file; 0 when none is set or it holds none. */
static int64_t
cronjob_test_clock(const struct cfg *cfg)
{
    const char *path = cfg ? cfg->scheduler.test_clock_file : NULL;
    if (path == NULL || *path == '\0')
        return 0;
    FILE *fp = fopen(path, "r");
    char line[64] = "";
    int64_t t;
    bool ok = fp && fgets(line, sizeof(line), fp);
    if (fp)
        fclose(fp);
    line[strcspn(line, " \r\n")] = '\0';
    if (ok && parse_int64(line, 0, INT64_C(253402300799), &t) == 0 && t > 0)
        return t;
    log_warnx("[scheduler] test_clock_file %s holds no unix time; using the server's clock", path);
    return 0;
}

int
cronjob_now_db(struct db *db, const struct cfg *cfg, int64_t *now)
{
    int64_t t = cronjob_test_clock(cfg);
    if (t > 0) {
        *now = t;
        return 0;
    }
    if (FAULT_FAIL("cron.now"))
        return -1;
    return db_now_s(db, now);
}

int64_t
cronjob_now(struct db *db, const struct cfg *cfg)
{
    int64_t t;
    if (db ? cronjob_now_db(db, cfg, &t) == 0 : (t = cronjob_test_clock(cfg)) > 0)
        return t;
    return now_wall_ms() / 1000;
}

const char *
cronjob_zone(const struct cfg *cfg, const char *tz)
{
    return tz && *tz ? tz : cfg->scheduler.timezone;
}

enum job_err
cronjob_add(struct db *db, const struct cfg *cfg, const struct cronjob_spec *spec, int64_t *id,
            char *err, size_t errlen)
{
    struct cronjob_checked c;
    int64_t now = cronjob_now(db, cfg);
    enum job_err je = cronjob_check(cfg, spec, now, &c, err, errlen);
    if (je != JOB_E_OK)
        return je;
    int64_t new_id = 0;
    /* A cron job without a zone of its own fires in the scheduler's [scheduler] timezone, which
     * this process's config may not share: the scheduler plans its first fire. */
    int64_t next = spec->timezone && *spec->timezone ? c.next : 0;
    if (cronjob_store_insert(db, spec, &c.job, next, now, &new_id) < 0) {
        if (db_duplicate(db)) {
            snprintf(err, errlen, "a cron job named \"%s\" already exists", spec->name);
            return JOB_E_STATE;
        }
        snprintf(err, errlen, "add cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    if (id)
        *id = new_id;
    return JOB_E_OK;
}

/* Reads a cron job by name (cronjob_store_find's columns). NULL with *e set. */
static struct cronjob_rows *
cronjob_find(struct db *db, const char *name, enum job_err *e, char *err, size_t errlen)
{
    return cronjob_store_one(cronjob_store_find(db, name), db, name, e, err, errlen);
}

/* Enables row (disabled) from the next fire after now. */
static enum job_err
cronjob_enable(struct db *db, const struct cfg *cfg, const char *name,
               const struct cronjob_row *row, char *err, size_t errlen)
{
    struct cron_expr ex;
    const char *tz = cronjob_zone(cfg, row->timezone);
    int64_t next, now = cronjob_now(db, cfg);
    if (cron_parse(row->schedule, &ex, err, errlen) < 0 || cron_next(&ex, tz, now, &next) < 0) {
        snprintf(err, errlen, "cron job \"%s\" has no next fire time in zone %s", name, tz);
        return JOB_E_STATE;
    }
    /* Fires missed while disabled stay missed: start from the next one after now (planned by
     * the scheduler, in its zone, for a cron job without one: from the enable's time). */
    if (cronjob_store_enable(db, row->id, row->timezone && *row->timezone ? next : 0, now) < 0) {
        snprintf(err, errlen, "enable cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    return JOB_E_OK;
}

enum job_err
cronjob_set_active(struct db *db, const struct cfg *cfg, const char *name, bool active, char *err,
                   size_t errlen)
{
    enum job_err e;
    struct cronjob_rows *rs = cronjob_find(db, name, &e, err, errlen);
    if (rs == NULL)
        return e;
    const struct cronjob_row *row = &rs->row[0];
    if (!active && row->is_active && cronjob_store_disable(db, row->id) < 0) {
        snprintf(err, errlen, "disable cron job: %s", db_errstr(db));
        e = JOB_E_DB;
    } else if (active && !row->is_active) {
        e = cronjob_enable(db, cfg, name, row, err, errlen);
    }
    cronjob_rows_free(rs);
    return e;
}

enum job_err
cronjob_remove(struct db *db, const char *name, int64_t *id, char *err, size_t errlen)
{
    struct cronjob_rows *rs = cronjob_store_find(db, name);
    if (id)
        *id = rs && rs->n ? rs->row[0].id : 0;
    cronjob_rows_free(rs);
    uint64_t n = 0;
    if (cronjob_store_remove(db, name, &n) < 0) {
        snprintf(err, errlen, "remove cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    if (n == 0) {
        snprintf(err, errlen, "no cron job named \"%s\"", name);
        return JOB_E_NOTFOUND;
    }
    return JOB_E_OK;
}

/* a and b, NULL read as "". */
static bool
cronjob_same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether row holds what spec keeps: a config-kept schedule's zone, action, parameters or
 * catch-up can change while its text stays the same. */
static bool
cronjob_row_is(const struct cronjob_row *row, const struct cronjob_spec *spec)
{
    return strcmp(row->schedule, spec->schedule) == 0 &&
           cronjob_same_text(row->timezone, spec->timezone) &&
           cronjob_same_text(row->action, spec->action) &&
           cronjob_same_text(row->parameters, spec->parameters ? spec->parameters : "{}") &&
           cronjob_same_text(row->catchup ? row->catchup : "latest",
                             spec->catchup ? spec->catchup : "latest");
}

enum job_err
cronjob_ensure(struct db *db, const struct cfg *cfg, const struct cronjob_spec *spec, char *err,
               size_t errlen)
{
    struct cronjob_rows *rs = cronjob_store_find(db, spec->name);
    if (rs == NULL) {
        snprintf(err, errlen, "find cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    bool same = rs->n && cronjob_row_is(&rs->row[0], spec);
    bool exists = rs->n > 0;
    cronjob_rows_free(rs);
    if (same)
        return JOB_E_OK;
    enum job_err e = JOB_E_OK;
    if (exists && (e = cronjob_remove(db, spec->name, NULL, err, errlen)) != JOB_E_OK &&
        e != JOB_E_NOTFOUND)
        return e;
    e = cronjob_add(db, cfg, spec, NULL, err, errlen);
    return e == JOB_E_STATE ? JOB_E_OK : e;
}

enum job_err
cronjob_next_times(struct db *db, const struct cfg *cfg, const char *name, int count,
                   int64_t *times, int *n, char *tz_out, size_t tz_len, bool *active, char *err,
                   size_t errlen)
{
    *n = 0;
    if (count < 1 || count > CRONJOB_NEXT_MAX) {
        snprintf(err, errlen, "count must be in 1..%d", CRONJOB_NEXT_MAX);
        return JOB_E_INPUT;
    }
    enum job_err e;
    struct cronjob_rows *rs = cronjob_find(db, name, &e, err, errlen);
    if (rs == NULL)
        return e;
    char tz[128];
    snprintf(tz, sizeof(tz), "%s", cronjob_zone(cfg, rs->row[0].timezone));
    if (tz_out)
        snprintf(tz_out, tz_len, "%s", tz);
    if (active)
        *active = rs->row[0].is_active;
    struct cron_expr ex;
    char perr[256];
    if (cron_parse(rs->row[0].schedule, &ex, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "cron job \"%s\": schedule: %s", name, perr);
        cronjob_rows_free(rs);
        return JOB_E_STATE;
    }
    cronjob_rows_free(rs);
    int64_t t = cronjob_now(db, cfg);
    while (*n < count && cron_next(&ex, tz, t, &t) == 0)
        times[(*n)++] = t;
    return JOB_E_OK;
}
