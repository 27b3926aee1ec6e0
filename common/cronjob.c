/* This file holds the cron_jobs table's SQL: the firing step each scheduler tick runs, and the
 * management operations of the CLI and the JSON API.
 *
 * How firing stays exactly once: a cron job's dt_next_fire is the first fire time not yet
 * handled. A step reads the due rows, decides with cronjob_plan which one fire time (if any) to
 * make a job for, inserts that job under jobs' UNIQUE (cron_job_id, cron_fire_time), pushes it,
 * and moves dt_next_fire with a compare-and-set on the value it read. Two schedulers doing this
 * at once make the same decision; the unique key keeps one job, the compare-and-set one
 * advance. Fire times are UTC instants computed by cron_next, so DST gaps and repeats are
 * settled there (cron.h). */
#include "cronjob.h"
#include "caltime.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns cronjob_fire_due reads, in this order. */
#define FIRE_COLS                                                                                  \
    "id, name, schedule, timezone, catchup, action, parameters, queue, priority, timeout_s, "      \
    "max_attempts, dt_next_fire, dt_created"
enum {
    FC_ID,
    FC_NAME,
    FC_SCHEDULE,
    FC_TZ,
    FC_CATCHUP,
    FC_ACTION,
    FC_PARAMS,
    FC_QUEUE,
    FC_PRIORITY,
    FC_TIMEOUT,
    FC_ATTEMPTS,
    FC_NEXT,
    FC_CREATED
};

/* The columns of a cron job as listed, in this order. */
#define LIST_SQL                                                                                   \
    "SELECT c.id, c.name, c.schedule, c.timezone, c.action, c.parameters, c.queue, c.priority, "   \
    "c.timeout_s, c.max_attempts, c.catchup, c.is_active, c.dt_last_fire, c.last_job_id, "         \
    "j.state, c.dt_created FROM cron_jobs c LEFT JOIN jobs j ON j.id = c.last_job_id"
enum {
    LC_ID,
    LC_NAME,
    LC_SCHEDULE,
    LC_TZ,
    LC_ACTION,
    LC_PARAMS,
    LC_QUEUE,
    LC_PRIORITY,
    LC_TIMEOUT,
    LC_ATTEMPTS,
    LC_CATCHUP,
    LC_ACTIVE,
    LC_LAST_FIRE,
    LC_LAST_JOB,
    LC_LAST_STATE,
    LC_CREATED
};

/* A cron job whose schedule cannot be evaluated is looked at again this much later. */
#define CRONJOB_PARK_S 3600

int
cronjob_plan(const struct cron_expr *e, const char *tz, int64_t first, int64_t now,
             int64_t window_s, struct cronjob_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->next = first;
    if (first > now)
        return 0;
    if (window_s < 0)
        window_s = 0;
    /* Invariant of the search below: the first fire after lo is <= now, the first after hi is
     * not. Fires before `first` were handled; fires older than the window are not wanted. */
    int64_t lo = first - 1;
    if (now - window_s - 1 > lo)
        lo = now - window_s - 1;
    int64_t g;
    if (cron_next(e, tz, lo, &g) < 0)
        return -1;
    if (g > now) {
        p->skipped_first = first;
        return cron_next(e, tz, now, &p->next) < 0 ? -1 : 0;
    }
    /* Binary search for the latest fire <= now, so that a year of downtime costs ~25 calls
     * rather than one per missed minute. */
    int64_t hi = now;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2, m;
        if (cron_next(e, tz, mid, &m) < 0)
            return -1;
        if (m <= now) {
            lo = mid;
            g = m;
        } else {
            hi = mid;
        }
    }
    p->fire = g;
    if (first < g)
        p->skipped_first = first;
    return cron_next(e, tz, g, &p->next) < 0 ? -1 : 1;
}

int64_t
cronjob_now(const struct cfg *cfg)
{
    const char *path = cfg ? cfg->scheduler.test_clock_file : NULL;
    if (path && *path) {
        FILE *fp = fopen(path, "r");
        char line[64] = "";
        int64_t t;
        bool ok = fp && fgets(line, sizeof(line), fp);
        if (fp)
            fclose(fp);
        line[strcspn(line, " \r\n")] = '\0';
        if (ok && parse_int64(line, 0, INT64_C(253402300799), &t) == 0)
            return t;
        log_warnx("[scheduler] test_clock_file %s holds no unix time; using the system clock",
                  path);
    }
    return now_wall_ms() / 1000;
}

static const char *
cronjob_tz(const struct cfg *cfg, const char *tz)
{
    return tz && *tz ? tz : cfg->scheduler.timezone;
}

/* The catch-up window of a cron job: its own policy, else [scheduler] cron_catchup_s. The
 * current minute always fires. */
static int64_t
cronjob_window(const struct cfg *cfg, const char *catchup)
{
    if (catchup && strcmp(catchup, "none") == 0)
        return CRONJOB_CURRENT_MINUTE_S;
    int64_t w = cfg->scheduler.cron_catchup_s;
    return w > CRONJOB_CURRENT_MINUTE_S ? w : CRONJOB_CURRENT_MINUTE_S;
}

/* Moves a cron job's next fire from old_next (NULL: never set) to next, recording the fire and
 * its job when fire_dt is not NULL. *n is 1 when this call moved it, 0 when another scheduler
 * (or an operator) got there first. */
static int
cronjob_advance(struct db *db, int64_t id, const char *old_next, int64_t next, const char *fire_dt,
                int64_t job_id, uint64_t *n)
{
    char next_dt[32];
    caltime_format_dt(next, next_dt, sizeof(next_dt));
    if (fire_dt)
        return db_exec(db,
                       "UPDATE cron_jobs SET dt_next_fire = ?, dt_last_fire = ?, last_job_id = ?, "
                       "dt_updated = NOW(6) WHERE id = ? AND dt_next_fire <=> ?",
                       DB_P(DBS(next_dt), DBS(fire_dt), DBI(job_id), DBI(id), DBS(old_next)), n,
                       NULL);
    return db_exec(db, "UPDATE cron_jobs SET dt_next_fire = ? WHERE id = ? AND dt_next_fire <=> ?",
                   DB_P(DBS(next_dt), DBI(id), DBS(old_next)), n, NULL);
}

/* Makes the job of one fire: checked against the registry, inserted (or found), pushed, then
 * the cron job advanced. Returns 1 for a new job, 0 for none, -1 on a database error. */
static int
cronjob_fire_job(struct db *db, struct rq *rq, const struct cfg *cfg, const struct db_rows *r,
                 int i, const struct cronjob_plan *p, int64_t now, int64_t window)
{
    int64_t id = db_rows_int(r, i, FC_ID, 0);
    const char *name = db_rows_get(r, i, FC_NAME), *old_next = db_rows_get(r, i, FC_NEXT);
    const char *tz = cronjob_tz(cfg, db_rows_get(r, i, FC_TZ));
    char fire_dt[32], fire_local[64], skip_local[64];
    caltime_format_dt(p->fire, fire_dt, sizeof(fire_dt));
    cron_format_local(p->fire, tz, fire_local, sizeof(fire_local));
    struct job_spec spec = {
        .action = db_rows_get(r, i, FC_ACTION),
        .parameters = db_rows_get(r, i, FC_PARAMS),
        .queue = db_rows_get(r, i, FC_QUEUE),
        .priority = (int)db_rows_int(r, i, FC_PRIORITY, 0),
        .timeout_s = (int)db_rows_int(r, i, FC_TIMEOUT, 0),
        .max_attempts = (int)db_rows_int(r, i, FC_ATTEMPTS, 0),
        .origin = "cron",
        .cron_job_id = id,
        .cron_fire_time = fire_dt,
    };
    struct job_spec checked;
    const char *field = NULL;
    char err[512];
    uint64_t n = 0;
    if (job_spec_check(&spec, cfg->worker.test_actions, &checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        /* An action this scheduler does not know (an older binary, test actions off): skip
         * the fire rather than stall the cron job on it every tick. */
        if (cronjob_advance(db, id, old_next, p->next, NULL, 0, &n) < 0)
            return -1;
        if (n == 1)
            log_warnx("cron job %s: fire at %s skipped: %s", name, fire_local, err);
        return 0;
    }
    struct job_ref ref;
    if (job_insert(db, &checked, &ref, err, sizeof(err)) != JOB_E_OK)
        return -1;
    /* The insert committed (autocommit): the ID may now be pushed (invariant 1). A failed push
     * is left to the scheduler's reconcile. */
    if (rq)
        job_push(rq, &ref);
    if (cronjob_advance(db, id, old_next, p->next, fire_dt, ref.id, &n) < 0)
        return -1;
    if (ref.existing)
        return 0;
    if (p->skipped_first) {
        cron_format_local(p->skipped_first, tz, skip_local, sizeof(skip_local));
        log_info("cron job %s: catch-up fire for %s (job %lld); missed fires from %s on were "
                 "skipped (catch-up window %llds)",
                 name, fire_local, (long long)ref.id, skip_local, (long long)window);
    } else if (now - p->fire > CRONJOB_CURRENT_MINUTE_S) {
        log_info("cron job %s: catch-up fire for %s (job %lld)", name, fire_local,
                 (long long)ref.id);
    } else {
        log_info("cron job %s: fired for %s (job %lld)", name, fire_local, (long long)ref.id);
    }
    return 1;
}

/* Handles one due cron job: row i of r. Returns the jobs made (0 or 1), or -1 on a database
 * error. */
static int
cronjob_fire_one(struct db *db, struct rq *rq, const struct cfg *cfg, const struct db_rows *r,
                 int i, int64_t now)
{
    int64_t id = db_rows_int(r, i, FC_ID, 0);
    const char *name = db_rows_get(r, i, FC_NAME), *old_next = db_rows_get(r, i, FC_NEXT);
    const char *tz = cronjob_tz(cfg, db_rows_get(r, i, FC_TZ));
    uint64_t n = 0;
    struct cron_expr e;
    char perr[256] = "";
    int64_t first = 0, created = 0;
    int k = -1;
    struct cronjob_plan p = {0};
    int64_t window = cronjob_window(cfg, db_rows_get(r, i, FC_CATCHUP));
    if (cron_parse(db_rows_get(r, i, FC_SCHEDULE), &e, perr, sizeof(perr)) == 0) {
        /* A cron job that never fired nor was planned (a built-in installed by a migration)
         * starts after its creation. */
        if (old_next)
            k = caltime_parse_dt(old_next, &first);
        else if (caltime_parse_dt(db_rows_get(r, i, FC_CREATED), &created) == 0)
            k = cron_next(&e, tz, created, &first);
        if (k == 0)
            k = cronjob_plan(&e, tz, first, now, window, &p);
    }
    if (k < 0) {
        if (cronjob_advance(db, id, old_next, now + CRONJOB_PARK_S, NULL, 0, &n) < 0)
            return -1;
        if (n == 1)
            log_warnx("cron job %s: %s%s; looking again in %ds", name,
                      perr[0] ? "schedule: " : "no fire time in zone ", perr[0] ? perr : tz,
                      CRONJOB_PARK_S);
        return 0;
    }
    if (k == 1)
        return cronjob_fire_job(db, rq, cfg, r, i, &p, now, window);
    if (old_next && p.skipped_first == 0)
        return 0; /* read as due, no longer due: another scheduler advanced it */
    if (cronjob_advance(db, id, old_next, p.next, NULL, 0, &n) < 0)
        return -1;
    if (n == 1 && p.skipped_first) {
        char from[64], to[64];
        cron_format_local(p.skipped_first, tz, from, sizeof(from));
        cron_format_local(now, tz, to, sizeof(to));
        log_warnx("cron job %s: missed fires from %s to %s skipped: older than the catch-up "
                  "window of %llds",
                  name, from, to, (long long)window);
    }
    return 0;
}

int
cronjob_fire_due(struct db *db, struct rq *rq, const struct cfg *cfg, int64_t now_s, int *fired)
{
    *fired = 0;
    char now_dt[32];
    caltime_format_dt(now_s, now_dt, sizeof(now_dt));
    /* ix_cron_jobs_due (is_active, dt_next_fire) serves both ranges; NULLs sort first. */
    struct db_rows *r = db_query(db,
                                 "SELECT " FIRE_COLS " FROM cron_jobs WHERE is_active = 1 AND "
                                 "(dt_next_fire IS NULL OR dt_next_fire <= ?) "
                                 "ORDER BY dt_next_fire LIMIT ?",
                                 DB_P(DBS(now_dt), DBI(CRONJOB_FIRE_BATCH)));
    if (r == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < r->n_rows; i++) {
        int f = cronjob_fire_one(db, rq, cfg, r, i, now_s);
        if (f > 0)
            *fired += f;
        if (f < 0) {
            rc = -1;
            /* A lost connection ends the step; any other error (a deadlock, a lock wait) is
             * one cron job's, retried next tick while the others go on. */
            if (db_lost(db))
                break;
        }
    }
    db_rows_free(r);
    return rc;
}

/* Names are shown in logs and used in API paths: keep them plain. */
static bool
cronjob_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 191)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("._/:-", c))
            return false;
    }
    return true;
}

/* Checks the schedule and zone of a spec; fills *e and the effective zone. */
static enum job_err
cronjob_check_schedule(const struct cfg *cfg, const struct cronjob_spec *spec, struct cron_expr *e,
                       char *err, size_t errlen)
{
    char perr[256];
    if (spec->schedule == NULL || spec->schedule[0] == '\0') {
        snprintf(err, errlen, "schedule: a schedule is required (e.g. \"0 2 * * *\")");
        return JOB_E_INPUT;
    }
    if (strlen(spec->schedule) > 255) {
        snprintf(err, errlen, "schedule: longer than 255 characters");
        return JOB_E_INPUT;
    }
    if (cron_parse(spec->schedule, e, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "schedule: %s", perr);
        return JOB_E_INPUT;
    }
    if (spec->timezone && (strlen(spec->timezone) > 64 || !cron_tz_valid(spec->timezone))) {
        snprintf(err, errlen,
                 "timezone: \"%s\" is not a zone of the system tz database (e.g. "
                 "America/Chicago)",
                 spec->timezone);
        return JOB_E_INPUT;
    }
    if (spec->timezone == NULL && !cron_tz_valid(cfg->scheduler.timezone)) {
        snprintf(err, errlen,
                 "timezone: none given and [scheduler] timezone \"%s\" is not a zone of the "
                 "system tz database",
                 cfg->scheduler.timezone);
        return JOB_E_INPUT;
    }
    return JOB_E_OK;
}

enum job_err
cronjob_add(struct db *db, const struct cfg *cfg, const struct cronjob_spec *spec, int64_t *id,
            char *err, size_t errlen)
{
    if (!cronjob_name_ok(spec->name)) {
        snprintf(err, errlen, "name: \"%s\" must be 1-191 characters of A-Z a-z 0-9 . _ / : -",
                 spec->name ? spec->name : "");
        return JOB_E_INPUT;
    }
    struct cron_expr e;
    enum job_err je = cronjob_check_schedule(cfg, spec, &e, err, errlen);
    if (je != JOB_E_OK)
        return je;
    if (spec->catchup && strcmp(spec->catchup, "none") && strcmp(spec->catchup, "latest")) {
        snprintf(err, errlen, "catchup: \"%s\" must be none or latest", spec->catchup);
        return JOB_E_INPUT;
    }
    const char *tz = cronjob_tz(cfg, spec->timezone);
    int64_t next;
    if (cron_next(&e, tz, cronjob_now(cfg), &next) < 0) {
        snprintf(err, errlen, "schedule: \"%s\" never fires", spec->schedule);
        return JOB_E_INPUT;
    }
    /* The job a fire makes must pass the same checks an enqueue does: find out now. */
    struct job_spec js = {.action = spec->action,
                          .parameters = spec->parameters,
                          .queue = spec->queue,
                          .priority = spec->priority,
                          .timeout_s = spec->timeout_s,
                          .max_attempts = spec->max_attempts,
                          .origin = "cron"};
    struct job_spec checked;
    const char *field = NULL;
    je = job_spec_check(&js, cfg->worker.test_actions, &checked, &field, err, errlen);
    if (je != JOB_E_OK)
        return je;
    char next_dt[32];
    caltime_format_dt(next, next_dt, sizeof(next_dt));
    uint64_t new_id = 0;
    /* timeout_s and max_attempts stay NULL unless given, so the action's defaults apply. */
    if (db_exec(db,
                "INSERT INTO cron_jobs (name, schedule, timezone, action, parameters, queue, "
                "priority, timeout_s, max_attempts, catchup, is_active, dt_next_fire, "
                "dt_created, dt_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, NOW(6), "
                "NOW(6))",
                DB_P(DBS(spec->name), DBS(spec->schedule), DBS(spec->timezone), DBS(checked.action),
                     DBS(checked.parameters), DBS(checked.queue), DBI(checked.priority),
                     spec->timeout_s ? DBI(checked.timeout_s) : DBNULL,
                     spec->max_attempts ? DBI(checked.max_attempts) : DBNULL, DBS(spec->catchup),
                     DBS(next_dt)),
                NULL, &new_id) < 0) {
        if (db_duplicate(db)) {
            snprintf(err, errlen, "a cron job named \"%s\" already exists", spec->name);
            return JOB_E_STATE;
        }
        snprintf(err, errlen, "add cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    if (id)
        *id = (int64_t)new_id;
    return JOB_E_OK;
}

/* Reads the id, schedule, timezone and is_active of a cron job by name. NULL with *e set. */
static struct db_rows *
cronjob_find(struct db *db, const char *name, enum job_err *e, char *err, size_t errlen)
{
    struct db_rows *r =
        db_query(db, "SELECT id, schedule, timezone, is_active FROM cron_jobs WHERE name = ?",
                 DB_P(DBS(name)));
    if (r == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "read cron job: %s", db_errstr(db));
        return NULL;
    }
    if (r->n_rows == 0) {
        db_rows_free(r);
        *e = JOB_E_NOTFOUND;
        snprintf(err, errlen, "no cron job named \"%s\"", name);
        return NULL;
    }
    *e = JOB_E_OK;
    return r;
}

enum job_err
cronjob_set_active(struct db *db, const struct cfg *cfg, const char *name, bool active, char *err,
                   size_t errlen)
{
    enum job_err e;
    struct db_rows *r = cronjob_find(db, name, &e, err, errlen);
    if (r == NULL)
        return e;
    int64_t id = db_rows_int(r, 0, 0, 0);
    bool was = db_rows_int(r, 0, 3, 0) != 0;
    int rc = 0;
    if (!active && was) {
        rc = db_exec(db, "UPDATE cron_jobs SET is_active = 0, dt_updated = NOW(6) WHERE id = ?",
                     DB_P(DBI(id)), NULL, NULL);
    } else if (active && !was) {
        struct cron_expr ex;
        const char *tz = cronjob_tz(cfg, db_rows_get(r, 0, 2));
        int64_t next;
        if (cron_parse(db_rows_get(r, 0, 1), &ex, err, errlen) < 0 ||
            cron_next(&ex, tz, cronjob_now(cfg), &next) < 0) {
            snprintf(err, errlen, "cron job \"%s\" has no next fire time in zone %s", name, tz);
            db_rows_free(r);
            return JOB_E_STATE;
        }
        /* Fires missed while disabled stay missed: start from the next one after now. */
        char next_dt[32];
        caltime_format_dt(next, next_dt, sizeof(next_dt));
        rc = db_exec(db,
                     "UPDATE cron_jobs SET is_active = 1, dt_next_fire = ?, dt_updated = NOW(6) "
                     "WHERE id = ? AND is_active = 0",
                     DB_P(DBS(next_dt), DBI(id)), NULL, NULL);
    }
    db_rows_free(r);
    if (rc < 0) {
        snprintf(err, errlen, "%s cron job: %s", active ? "enable" : "disable", db_errstr(db));
        return JOB_E_DB;
    }
    return JOB_E_OK;
}

enum job_err
cronjob_remove(struct db *db, const char *name, char *err, size_t errlen)
{
    uint64_t n = 0;
    /* jobs.cron_job_id has no foreign key: the past jobs of a removed cron job stay, and a new
     * cron job of the same name gets a new id, so its fires never collide with theirs. */
    if (db_exec(db, "DELETE FROM cron_jobs WHERE name = ?", DB_P(DBS(name)), &n, NULL) < 0) {
        snprintf(err, errlen, "remove cron job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    if (n == 0) {
        snprintf(err, errlen, "no cron job named \"%s\"", name);
        return JOB_E_NOTFOUND;
    }
    return JOB_E_OK;
}

enum job_err
cronjob_next_times(struct db *db, const struct cfg *cfg, const char *name, int count,
                   int64_t *times, int *n, char *tz_out, size_t tz_len, char *err, size_t errlen)
{
    *n = 0;
    if (count < 1 || count > CRONJOB_NEXT_MAX) {
        snprintf(err, errlen, "count must be in 1..%d", CRONJOB_NEXT_MAX);
        return JOB_E_INPUT;
    }
    enum job_err e;
    struct db_rows *r = cronjob_find(db, name, &e, err, errlen);
    if (r == NULL)
        return e;
    char tz[128];
    snprintf(tz, sizeof(tz), "%s", cronjob_tz(cfg, db_rows_get(r, 0, 2)));
    if (tz_out)
        snprintf(tz_out, tz_len, "%s", tz);
    struct cron_expr ex;
    char perr[256];
    if (cron_parse(db_rows_get(r, 0, 1), &ex, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "cron job \"%s\": schedule: %s", name, perr);
        db_rows_free(r);
        return JOB_E_STATE;
    }
    db_rows_free(r);
    int64_t t = cronjob_now(cfg);
    while (*n < count && cron_next(&ex, tz, t, &t) == 0)
        times[(*n)++] = t;
    return JOB_E_OK;
}

/* The JSON form of a local time with offset, or null. */
static cJSON *
cronjob_local_json(int64_t t, const char *tz)
{
    char s[64];
    cron_format_local(t, tz, s, sizeof(s));
    return cJSON_CreateString(s);
}

static cJSON *
cronjob_int_or_null(const struct db_rows *r, int i, int col)
{
    const char *v = db_rows_get(r, i, col);
    return v ? cJSON_CreateNumber((double)db_rows_int(r, i, col, 0)) : cJSON_CreateNull();
}

static cJSON *
cronjob_str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Row i of a LIST_SQL result as the cron job object described in cronjob.h. */
static cJSON *
cronjob_row_json(const struct cfg *cfg, const struct db_rows *r, int i, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    const char *tz_set = db_rows_get(r, i, LC_TZ);
    const char *tz = cronjob_tz(cfg, tz_set);
    const char *catchup = db_rows_get(r, i, LC_CATCHUP);
    bool active = db_rows_int(r, i, LC_ACTIVE, 0) != 0;
    cJSON_AddNumberToObject(o, "id", (double)db_rows_int(r, i, LC_ID, 0));
    cJSON_AddStringToObject(o, "name", db_rows_get(r, i, LC_NAME));
    cJSON_AddStringToObject(o, "schedule", db_rows_get(r, i, LC_SCHEDULE));
    cJSON_AddStringToObject(o, "timezone", tz);
    cJSON_AddBoolToObject(o, "timezone_default", tz_set == NULL || tz_set[0] == '\0');
    cJSON_AddStringToObject(o, "action", db_rows_get(r, i, LC_ACTION));
    cJSON *params = cJSON_Parse(db_rows_get(r, i, LC_PARAMS));
    cJSON_AddItemToObject(o, "parameters",
                          params ? params : cJSON_CreateString(db_rows_get(r, i, LC_PARAMS)));
    cJSON_AddStringToObject(o, "queue", db_rows_get(r, i, LC_QUEUE));
    cJSON_AddNumberToObject(o, "priority", (double)db_rows_int(r, i, LC_PRIORITY, 0));
    cJSON_AddItemToObject(o, "timeout_s", cronjob_int_or_null(r, i, LC_TIMEOUT));
    cJSON_AddItemToObject(o, "max_attempts", cronjob_int_or_null(r, i, LC_ATTEMPTS));
    cJSON_AddStringToObject(o, "catchup",
                            catchup && strcmp(catchup, "none") == 0 ? "none" : "latest");
    cJSON_AddBoolToObject(o, "is_active", active);
    struct cron_expr e;
    int64_t next;
    if (active && cron_parse(db_rows_get(r, i, LC_SCHEDULE), &e, NULL, 0) == 0 &&
        cron_next(&e, tz, now, &next) == 0)
        cJSON_AddItemToObject(o, "next_fire", cronjob_local_json(next, tz));
    else
        cJSON_AddNullToObject(o, "next_fire");
    const char *last = db_rows_get(r, i, LC_LAST_FIRE);
    int64_t last_s;
    if (last && caltime_parse_dt(last, &last_s) == 0)
        cJSON_AddItemToObject(o, "last_fire", cronjob_local_json(last_s, tz));
    else
        cJSON_AddNullToObject(o, "last_fire");
    cJSON_AddItemToObject(o, "last_fire_utc", cronjob_str_or_null(last));
    cJSON_AddItemToObject(o, "last_job_id", cronjob_int_or_null(r, i, LC_LAST_JOB));
    cJSON_AddItemToObject(o, "last_job_state",
                          cronjob_str_or_null(db_rows_get(r, i, LC_LAST_STATE)));
    cJSON_AddItemToObject(o, "dt_created", cronjob_str_or_null(db_rows_get(r, i, LC_CREATED)));
    return o;
}

cJSON *
cronjob_list_json(struct db *db, const struct cfg *cfg, enum job_err *e, char *err, size_t errlen)
{
    /* Operators keep a handful of schedules; the cap only bounds a runaway table. */
    struct db_rows *r = db_query(db, LIST_SQL " ORDER BY c.name LIMIT 10000", DB_NOP);
    if (r == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "list cron jobs: %s", db_errstr(db));
        return NULL;
    }
    int64_t now = cronjob_now(cfg);
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < r->n_rows; i++)
        cJSON_AddItemToArray(a, cronjob_row_json(cfg, r, i, now));
    db_rows_free(r);
    *e = JOB_E_OK;
    return a;
}

cJSON *
cronjob_get_json(struct db *db, const struct cfg *cfg, const char *name, enum job_err *e, char *err,
                 size_t errlen)
{
    struct db_rows *r = db_query(db, LIST_SQL " WHERE c.name = ?", DB_P(DBS(name)));
    if (r == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "read cron job: %s", db_errstr(db));
        return NULL;
    }
    if (r->n_rows == 0) {
        db_rows_free(r);
        *e = JOB_E_NOTFOUND;
        snprintf(err, errlen, "no cron job named \"%s\"", name);
        return NULL;
    }
    cJSON *o = cronjob_row_json(cfg, r, 0, cronjob_now(cfg));
    db_rows_free(r);
    *e = JOB_E_OK;
    return o;
}

/* Reads an optional string member; -1 with a message when it has another type. */
static int
cronjob_body_str(const cJSON *body, const char *key, const char **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s: must be a string", key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* Reads an optional integer member in [min, max]. */
static int
cronjob_body_int(const cJSON *body, const char *key, int min, int max, int *out, char *err,
                 size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble ||
        v->valuedouble < min || v->valuedouble > max) {
        snprintf(err, errlen, "%s: must be an integer in %d..%d", key, min, max);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

cJSON *
cronjob_add_json(struct db *db, const struct cfg *cfg, const cJSON *body, enum job_err *e,
                 char *err, size_t errlen)
{
    static const char *const known[] = {"name",         "schedule", "action",   "parameters",
                                        "timezone",     "queue",    "priority", "timeout_s",
                                        "max_attempts", "catchup",  NULL};
    *e = JOB_E_INPUT;
    if (!cJSON_IsObject(body)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return NULL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        bool ok = false;
        for (int k = 0; known[k] && !ok; k++)
            ok = strcmp(known[k], it->string) == 0;
        if (!ok) {
            snprintf(err, errlen, "unknown field \"%s\"", it->string);
            return NULL;
        }
    }
    struct cronjob_spec spec = {0};
    if (cronjob_body_str(body, "name", &spec.name, err, errlen) < 0 ||
        cronjob_body_str(body, "schedule", &spec.schedule, err, errlen) < 0 ||
        cronjob_body_str(body, "action", &spec.action, err, errlen) < 0 ||
        cronjob_body_str(body, "timezone", &spec.timezone, err, errlen) < 0 ||
        cronjob_body_str(body, "queue", &spec.queue, err, errlen) < 0 ||
        cronjob_body_str(body, "catchup", &spec.catchup, err, errlen) < 0 ||
        cronjob_body_int(body, "priority", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &spec.priority, err,
                         errlen) < 0 ||
        cronjob_body_int(body, "timeout_s", 1, 604800, &spec.timeout_s, err, errlen) < 0 ||
        cronjob_body_int(body, "max_attempts", 1, 1000, &spec.max_attempts, err, errlen) < 0)
        return NULL;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "parameters");
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: must be a JSON object");
        return NULL;
    }
    char *ptext = params && cJSON_IsObject(params) ? json_print(params) : NULL;
    spec.parameters = ptext;
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
    struct db_rows *r = db_query(db, "SELECT id FROM cron_jobs WHERE name = ?", DB_P(DBS(name)));
    int64_t id = r && r->n_rows ? db_rows_int(r, 0, 0, 0) : 0;
    db_rows_free(r);
    *e = cronjob_remove(db, name, err, errlen);
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
    *e = cronjob_next_times(db, cfg, name, count, times, &n, tz, sizeof(tz), err, errlen);
    if (*e != JOB_E_OK) {
        free(times);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "timezone", tz);
    cJSON *local = cJSON_AddArrayToObject(o, "next");
    cJSON *utc = cJSON_AddArrayToObject(o, "next_utc");
    for (int i = 0; i < n; i++) {
        char s[64];
        caltime_format_utc(times[i], s, sizeof(s));
        cJSON_AddItemToArray(local, cronjob_local_json(times[i], tz));
        cJSON_AddItemToArray(utc, cJSON_CreateString(s));
    }
    free(times);
    return o;
}
