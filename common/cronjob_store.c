/* This file holds every statement on the cron_jobs table, and turns what they read into struct
 * cronjob_row values so that no other file knows a column's position. */
#include "cronjob_store.h"
#include "caltime.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

/* The columns a read can fill; each read lists its SELECT's columns in order. */
enum cronjob_col {
    CC_ID,
    CC_NAME,
    CC_SCHEDULE,
    CC_TZ,
    CC_ACTION,
    CC_PARAMS,
    CC_QUEUE,
    CC_PRIORITY,
    CC_TIMEOUT,
    CC_ATTEMPTS,
    CC_CATCHUP,
    CC_ACTIVE,
    CC_NEXT,
    CC_LAST_FIRE,
    CC_LAST_JOB,
    CC_LAST_STATE,
    CC_CREATED,
    CC_FROM
};

#define DUE_SQL                                                                                    \
    "SELECT id, name, schedule, timezone, catchup, action, parameters, queue, priority, "          \
    "timeout_s, max_attempts, dt_next_fire, dt_created, dt_updated FROM cron_jobs WHERE "          \
    "is_active = 1 AND "                                                                           \
    "(dt_next_fire IS NULL OR dt_next_fire <= ?) ORDER BY dt_next_fire LIMIT ?"
static const enum cronjob_col due_cols[] = {
    CC_ID,    CC_NAME,     CC_SCHEDULE, CC_TZ,       CC_CATCHUP, CC_ACTION,  CC_PARAMS,
    CC_QUEUE, CC_PRIORITY, CC_TIMEOUT,  CC_ATTEMPTS, CC_NEXT,    CC_CREATED, CC_FROM};

#define LIST_SQL                                                                                   \
    "SELECT c.id, c.name, c.schedule, c.timezone, c.action, c.parameters, c.queue, c.priority, "   \
    "c.timeout_s, c.max_attempts, c.catchup, c.is_active, c.dt_next_fire, c.dt_last_fire, "        \
    "c.last_job_id, j.state, c.dt_created, c.dt_updated FROM cron_jobs c LEFT JOIN jobs j ON "     \
    "j.id = "                                                                                      \
    "c.last_job_id"
static const enum cronjob_col list_cols[] = {
    CC_ID,    CC_NAME,      CC_SCHEDULE, CC_TZ,         CC_ACTION,  CC_PARAMS,
    CC_QUEUE, CC_PRIORITY,  CC_TIMEOUT,  CC_ATTEMPTS,   CC_CATCHUP, CC_ACTIVE,
    CC_NEXT,  CC_LAST_FIRE, CC_LAST_JOB, CC_LAST_STATE, CC_CREATED, CC_FROM};

/* What cronjob_ensure compares a config-kept schedule with, and what enable needs. */
#define FIND_SQL                                                                                   \
    "SELECT id, schedule, timezone, is_active, action, parameters, catchup FROM cron_jobs "        \
    "WHERE name = ?"
static const enum cronjob_col find_cols[] = {CC_ID,     CC_SCHEDULE, CC_TZ,     CC_ACTIVE,
                                             CC_ACTION, CC_PARAMS,   CC_CATCHUP};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void
cronjob_row_set(struct cronjob_row *row, enum cronjob_col c, const struct db_rows *r, int i, int k)
{
    const char *v = db_rows_get(r, i, k);
    int64_t n = db_rows_int(r, i, k, 0);
    switch (c) {
    case CC_ID:
        row->id = n;
        break;
    case CC_NAME:
        row->name = v;
        break;
    case CC_SCHEDULE:
        row->schedule = v;
        break;
    case CC_TZ:
        row->timezone = v;
        break;
    case CC_ACTION:
        row->action = v;
        break;
    case CC_PARAMS:
        row->parameters = v;
        break;
    case CC_QUEUE:
        row->queue = v;
        break;
    case CC_PRIORITY:
        row->priority = (int)n;
        break;
    case CC_TIMEOUT:
        row->timeout_s = (int)n;
        break;
    case CC_ATTEMPTS:
        row->max_attempts = (int)n;
        break;
    case CC_CATCHUP:
        row->catchup = v;
        break;
    case CC_ACTIVE:
        row->is_active = n != 0;
        break;
    case CC_NEXT:
        row->next_fire = v;
        break;
    case CC_LAST_FIRE:
        row->last_fire = v;
        break;
    case CC_LAST_JOB:
        row->last_job_id = n;
        break;
    case CC_LAST_STATE:
        row->last_job_state = v;
        break;
    case CC_CREATED:
        row->created = v;
        break;
    case CC_FROM:
        row->plan_from = v;
        break;
    }
}

/* Wraps a result whose columns are cols[0..ncols); takes r. NULL when r is. */
static struct cronjob_rows *
cronjob_rows_from(struct db_rows *r, const enum cronjob_col *cols, int ncols)
{
    if (r == NULL)
        return NULL;
    struct cronjob_rows *rs = xcalloc(1, sizeof(*rs));
    rs->cells = r;
    rs->n = r->n_rows;
    rs->row = xcalloc(r->n_rows > 0 ? (size_t)r->n_rows : 1, sizeof(*rs->row));
    for (int i = 0; i < r->n_rows; i++) {
        for (int k = 0; k < ncols && k < r->n_cols; k++)
            cronjob_row_set(&rs->row[i], cols[k], r, i, k);
    }
    return rs;
}

void
cronjob_rows_free(struct cronjob_rows *rs)
{
    if (rs == NULL)
        return;
    db_rows_free(rs->cells);
    free(rs->row);
    free(rs);
}

struct cronjob_rows *
cronjob_store_due(struct db *db, int64_t now, int limit)
{
    char now_dt[32];
    caltime_format_dt(now, now_dt, sizeof(now_dt));
    /* ix_cron_jobs_due (is_active, dt_next_fire) serves both ranges; NULLs sort first. */
    struct cronjob_rows *rs = cronjob_rows_from(
        db_query(db, DUE_SQL, DB_P(DBS(now_dt), DBI(limit))), due_cols, NCOLS(due_cols));
    for (int i = 0; rs != NULL && i < rs->n; i++)
        rs->row[i].is_active = true;
    return rs;
}

struct cronjob_rows *
cronjob_store_list(struct db *db, const char *name)
{
    /* Operators keep a handful of schedules; the cap only bounds a runaway table. */
    struct db_rows *r = name != NULL
                            ? db_query(db, LIST_SQL " WHERE c.name = ?", DB_P(DBS(name)))
                            : db_query(db, LIST_SQL " ORDER BY c.name LIMIT 10000", DB_NOP);
    return cronjob_rows_from(r, list_cols, NCOLS(list_cols));
}

struct cronjob_rows *
cronjob_store_find(struct db *db, const char *name)
{
    return cronjob_rows_from(db_query(db, FIND_SQL, DB_P(DBS(name))), find_cols, NCOLS(find_cols));
}

int
cronjob_store_insert(struct db *db, const struct cronjob_spec *spec, const struct job_spec *checked,
                     int64_t next, int64_t from, int64_t *id)
{
    char next_dt[32], from_dt[32];
    caltime_format_dt(next, next_dt, sizeof(next_dt));
    caltime_format_dt(from, from_dt, sizeof(from_dt));
    uint64_t new_id = 0;
    /* timeout_s and max_attempts stay NULL unless given, so the action's defaults apply. */
    if (db_exec(db,
                "INSERT INTO cron_jobs (name, schedule, timezone, action, parameters, queue, "
                "priority, timeout_s, max_attempts, catchup, is_active, dt_next_fire, "
                "dt_created, dt_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, NOW(6), ?)",
                DB_P(DBS(spec->name), DBS(spec->schedule), DBS(spec->timezone),
                     DBS(checked->action), DBS(checked->parameters), DBS(checked->queue),
                     DBI(checked->priority), spec->timeout_s ? DBI(checked->timeout_s) : DBNULL,
                     spec->max_attempts ? DBI(checked->max_attempts) : DBNULL, DBS(spec->catchup),
                     next ? DBS(next_dt) : DBNULL, DBS(from_dt)),
                NULL, &new_id) < 0)
        return -1;
    *id = (int64_t)new_id;
    return 0;
}

int
cronjob_store_advance(struct db *db, int64_t id, const char *old_next, int64_t next, int64_t fire,
                      int64_t job_id, uint64_t *n)
{
    char next_dt[32], fire_dt[32];
    caltime_format_dt(next, next_dt, sizeof(next_dt));
    /* `<=>` matches a NULL old_next too: a cron job that was never planned. */
    if (fire == 0)
        return db_exec(db,
                       "UPDATE cron_jobs SET dt_next_fire = ? WHERE id = ? AND dt_next_fire <=> ?",
                       DB_P(DBS(next_dt), DBI(id), DBS(old_next)), n, NULL);
    caltime_format_dt(fire, fire_dt, sizeof(fire_dt));
    return db_exec(db,
                   "UPDATE cron_jobs SET dt_next_fire = ?, dt_last_fire = ?, last_job_id = ?, "
                   "dt_updated = NOW(6) WHERE id = ? AND dt_next_fire <=> ?",
                   DB_P(DBS(next_dt), DBS(fire_dt), DBI(job_id), DBI(id), DBS(old_next)), n, NULL);
}

int
cronjob_store_lock_due(struct db *db, int64_t id, const char *old_next)
{
    struct db_rows *r = db_query(db,
                                 "SELECT is_active = 1 AND dt_next_fire <=> ? FROM cron_jobs "
                                 "WHERE id = ? FOR UPDATE",
                                 DB_P(DBS(old_next), DBI(id)));
    if (r == NULL)
        return -1;
    int still = r->n_rows > 0 && db_rows_int(r, 0, 0, 0) == 1;
    db_rows_free(r);
    return still;
}

int
cronjob_store_disable(struct db *db, int64_t id)
{
    return db_exec(db, "UPDATE cron_jobs SET is_active = 0, dt_updated = NOW(6) WHERE id = ?",
                   DB_P(DBI(id)), NULL, NULL);
}

int
cronjob_store_enable(struct db *db, int64_t id, int64_t next, int64_t from)
{
    char next_dt[32], from_dt[32];
    caltime_format_dt(next, next_dt, sizeof(next_dt));
    caltime_format_dt(from, from_dt, sizeof(from_dt));
    return db_exec(db,
                   "UPDATE cron_jobs SET is_active = 1, dt_next_fire = ?, dt_updated = ? "
                   "WHERE id = ? AND is_active = 0",
                   DB_P(next ? DBS(next_dt) : DBNULL, DBS(from_dt), DBI(id)), NULL, NULL);
}

int
cronjob_store_remove(struct db *db, const char *name, uint64_t *n)
{
    /* jobs.cron_job_id has no foreign key: the past jobs of a removed cron job stay, and a new
     * cron job of the same name gets a new id, so its fires never collide with theirs. */
    return db_exec(db, "DELETE FROM cron_jobs WHERE name = ?", DB_P(DBS(name)), n, NULL);
}

struct cronjob_rows *
cronjob_store_one(struct cronjob_rows *rs, struct db *db, const char *name, enum job_err *e,
                  char *err, size_t errlen)
{
    if (rs == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "read cron job: %s", db_errstr(db));
        return NULL;
    }
    if (rs->n == 0) {
        cronjob_rows_free(rs);
        *e = JOB_E_NOTFOUND;
        snprintf(err, errlen, "no cron job named \"%s\"", name);
        return NULL;
    }
    *e = JOB_E_OK;
    return rs;
}
