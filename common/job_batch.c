/* This file holds the jobs table's INSERT: the one statement that writes new jobs, for one row
 * (job_insert in job.c) or up to JOB_INSERT_CHUNK rows at once (the producer's group commit).
 * To add a column a new job is written with, change the INSERT_COLS_ and INSERT_ROW_ of
 * both forms and insert_bind together, and the migration.
 *
 * RETURNING names the rows the statement inserted, with the time the server gave them. Under
 * INSERT IGNORE the rows whose keys are taken are skipped and then looked up by key. IGNORE
 * also turns other errors into warnings (a value too long would be cut), which is why the
 * contract wants checked specs: every value is within its column by then. */
#include "job_batch.h"
#include "caltime.h"
#include "fault.h"
#include "ids.h"
#include "log.h"
#include "action.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two forms of the row. The full one carries the keys only job_insert writes (a unique key,
 * a cron fire); the lean one leaves them to their NULL default, for the rows of a bulk enqueue
 * or a group commit, and is the form insert_bulk executes: every bound value costs MariaDB
 * work per row. dt_queued reads the state set earlier in the same row. */
#define INSERT_COLS_LEAN                                                                           \
    "(uuid, origin, queue, action, parameters, priority, state, run_at, max_attempts, "            \
    "timeout_s, idempotency_key, dt_created, dt_queued)"
#define INSERT_ROW_LEAN "(?,?,?,?,?,?,?,?,?,?,?,NOW(6),IF(state='queued',NOW(6),NULL))"
#define INSERT_COLS_FULL                                                                           \
    "(uuid, origin, queue, action, parameters, priority, state, run_at, max_attempts, "            \
    "timeout_s, idempotency_key, unique_key, cron_job_id, cron_fire_time, dt_created, dt_queued)"
#define INSERT_ROW_FULL "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,NOW(6),IF(state='queued',NOW(6),NULL))"
/* Placeholders per row of each form. */
#define INSERT_PARAMS_LEAN 11
#define INSERT_PARAMS_FULL 14

/* The statement for k rows. Its text holds only placeholders; one statement per size and
 * form stays in the connection's statement cache. */
static char *
insert_sql(int k, bool ignore, bool full)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, ignore ? "INSERT IGNORE INTO jobs " : "INSERT INTO jobs ");
    buf_appends(&b, full ? INSERT_COLS_FULL " VALUES " : INSERT_COLS_LEAN " VALUES ");
    const char *row = full ? INSERT_ROW_FULL : INSERT_ROW_LEAN;
    for (int i = 0; i < k; i++) {
        if (i)
            buf_appends(&b, ",");
        buf_appends(&b, row);
    }
    buf_appends(&b, " RETURNING id, uuid, dt_created");
    return buf_detach(&b);
}

/* True when the row of s needs the full form. */
static bool
insert_needs_full(const struct job_spec *s)
{
    return s->unique_key || s->cron_job_id || s->cron_fire_time;
}

/* Binds one row's values (INSERT_PARAMS_FULL of them with full, else INSERT_PARAMS_LEAN) into
 * q and fills what ref can know before the insert. ref's strings are bound, so ref must
 * outlive the statement. */
static void
insert_bind(const struct job_spec *s, int64_t now, bool full, struct job_ref *ref,
            struct db_param *q)
{
    memset(ref, 0, sizeof(*ref));
    int64_t at = s->run_at_ms > 0 ? s->run_at_ms : now;
    const char *state = at <= now ? "queued" : "pending";
    caltime_format_dt6(at, ref->run_at, sizeof(ref->run_at));
    ids_uuid(ref->uuid);
    snprintf(ref->queue, sizeof(ref->queue), "%s", s->queue);
    snprintf(ref->state, sizeof(ref->state), "%s", state);
    ref->priority = s->priority;
    q[0] = DBS(ref->uuid);
    q[1] = DBS(s->origin);
    q[2] = DBS(s->queue);
    q[3] = DBS(s->action);
    q[4] = DBS(s->parameters);
    q[5] = DBI(s->priority);
    q[6] = DBS(ref->state);
    q[7] = DBS(ref->run_at);
    q[8] = DBI(s->max_attempts);
    q[9] = DBI(s->timeout_s);
    q[10] = DBS(s->idempotency_key);
    if (!full)
        return;
    q[11] = DBS(s->unique_key);
    q[12] = s->cron_job_id ? DBI(s->cron_job_id) : DBNULL;
    q[13] = DBS(s->cron_fire_time);
}

/* Matches the rows of r (id, uuid, dt_created) to the refs not yet inserted, by uuid, and
 * marks them inserted; rows of other jobs match none. Returns how many matched. */
static int
insert_match(const struct db_rows *r, struct job_ref *refs, bool *inserted, int k)
{
    int from = 0, matched = 0;
    for (int row = 0; row < r->n_rows; row++) {
        const char *uuid = db_rows_get(r, row, 1), *created = db_rows_get(r, row, 2);
        /* Look first where the previous match left off: the rows come in order. */
        for (int j = 0; uuid && j < k; j++) {
            int i = (from + j) % k;
            if (!inserted[i] && strcmp(uuid, refs[i].uuid) == 0) {
                refs[i].id = db_rows_int(r, row, 0, 0);
                snprintf(refs[i].created, sizeof(refs[i].created), "%s", created ? created : "");
                inserted[i] = true;
                from = i + 1;
                matched++;
                break;
            }
        }
    }
    return matched;
}

/* Writes k lean rows (bound in p) with one bulk execution of the one-row INSERT IGNORE, then
 * reads the rows written back: MariaDB 10.11 gives a bulk execution no RETURNING, only the id
 * of its first row. The others' ids are larger but not consecutive (another connection's rows
 * can fall between), so the read walks the ids from there until it has found as many as were
 * written. */
static enum job_err
insert_bulk(struct db *db, const struct db_param *p, int k, struct job_ref *refs, bool *inserted,
            char *err, size_t errlen)
{
    uint64_t written = 0, first = 0;
    if (db_exec_bulk(db, "INSERT IGNORE INTO jobs " INSERT_COLS_LEAN " VALUES " INSERT_ROW_LEAN, p,
                     INSERT_PARAMS_LEAN, k, &written, &first) < 0) {
        snprintf(err, errlen, "insert jobs: %s", db_errstr(db));
        return JOB_E_DB;
    }
    int found = 0;
    int64_t from = (int64_t)first;
    while (found < (int)written) {
        struct db_rows *r =
            db_query(db, "SELECT id, uuid, dt_created FROM jobs WHERE id >= ? ORDER BY id LIMIT ?",
                     DB_P(DBI(from), DBI(k)));
        if (r == NULL) {
            snprintf(err, errlen, "read back inserted jobs: %s", db_errstr(db));
            return JOB_E_DB;
        }
        int n = r->n_rows;
        found += insert_match(r, refs, inserted, k);
        if (n > 0)
            from = db_rows_int(r, n - 1, 0, 0) + 1;
        db_rows_free(r);
        if (n == 0) {
            snprintf(err, errlen, "read back inserted jobs: %d of %llu rows not found",
                     (int)written - found, (unsigned long long)written);
            return JOB_E_DB;
        }
    }
    return JOB_E_OK;
}

enum job_err
job_insert_rows(struct db *db, const struct job_spec *specs, int k, bool ignore,
                struct job_ref *refs, bool *inserted, char *err, size_t errlen)
{
    int64_t now = now_wall_ms();
    bool full = false;
    for (int i = 0; i < k && !full; i++)
        full = insert_needs_full(&specs[i]);
    int per = full ? INSERT_PARAMS_FULL : INSERT_PARAMS_LEAN;
    struct db_param one[INSERT_PARAMS_FULL];
    struct db_param *p = k == 1 ? one : xcalloc((size_t)(k * per), sizeof(*p));
    for (int i = 0; i < k; i++) {
        insert_bind(&specs[i], now, full, &refs[i], p + i * per);
        inserted[i] = false;
    }
    enum job_err e = JOB_E_OK;
    if (ignore && !full && k >= JOB_INSERT_BULK_MIN) {
        e = insert_bulk(db, p, k, refs, inserted, err, errlen);
    } else {
        char *sql = insert_sql(k, ignore, full);
        struct db_rows *r = db_query(db, sql, p, k * per);
        free(sql);
        if (r == NULL) {
            snprintf(err, errlen, "insert job%s: %s", k > 1 ? "s" : "", db_errstr(db));
            e = JOB_E_DB;
        } else {
            /* RETURNING names the inserted rows, skipped ones left out. */
            insert_match(r, refs, inserted, k);
            db_rows_free(r);
        }
    }
    if (p != one)
        free(p);
    return e;
}

/* Fills refs of the rows that were not inserted from the jobs holding their keys. */
static enum job_err
batch_find_existing(struct db *db, const struct job_spec *specs, struct job_ref *refs,
                    const bool *inserted, int n, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (inserted[i])
            continue;
        /* A row without a key is never skipped for one; not inserted means something else. */
        int f = FAULT_FAIL("batch.find") ? -2 : job_find_existing(db, &specs[i], &refs[i]);
        if (f != 0) {
            snprintf(err, errlen, "insert job: %s",
                     f == -2 ? "the test build's fault point batch.find"
                     : f > 0 ? "a row was neither inserted nor found by its key"
                             : db_errstr(db));
            return JOB_E_DB;
        }
    }
    return JOB_E_OK;
}

/* True for a spec that only job_insert can write: one with a unique key, given or made from
 * its parameters (the action's unique_by), or a cron fire. */
static bool
batch_needs_single(const struct job_spec *s)
{
    const struct action_info *def = action_find(s->action, true);
    return s->unique_key || s->cron_job_id || (def && def->unique_by);
}

bool
job_insert_batch_is_one_statement(const struct job_spec *specs, int n)
{
    /* The bulk path writes with one statement but reads the rows back with a second: a read
     * that failed after an autocommitted write would pass for nothing written. */
    if (n < 1 || n >= JOB_INSERT_BULK_MIN)
        return false;
    for (int i = 0; i < n; i++)
        if (batch_needs_single(&specs[i]))
            return false;
    return true;
}

enum job_err
job_insert_batch(struct db *db, const struct job_spec *specs, int n, struct job_ref *refs,
                 bool *wrote, char *err, size_t errlen)
{
    bool wrote_any = false;
    /* The specs the multi-row statement can take go first into a copy; the others go through
     * job_insert, in the same transaction. */
    struct job_spec *multi = xcalloc((size_t)(n ? n : 1), sizeof(*multi));
    struct job_ref *mrefs = xcalloc((size_t)(n ? n : 1), sizeof(*mrefs));
    int *where = xcalloc((size_t)(n ? n : 1), sizeof(*where));
    bool *inserted = xcalloc((size_t)(n ? n : 1), sizeof(*inserted));
    enum job_err e = JOB_E_OK;
    int m = 0;
    for (int i = 0; i < n && e == JOB_E_OK; i++) {
        if (batch_needs_single(&specs[i])) {
            e = job_insert(db, &specs[i], &refs[i], err, errlen);
            wrote_any |= e == JOB_E_OK && !refs[i].existing;
        } else {
            where[m] = i;
            multi[m++] = specs[i];
        }
    }
    int done = 0;
    while (done < m && e == JOB_E_OK) {
        int k = m - done < JOB_INSERT_CHUNK ? m - done : JOB_INSERT_CHUNK;
        e = job_insert_rows(db, multi + done, k, true, mrefs + done, inserted + done, err, errlen);
        for (int j = done; e == JOB_E_OK && j < done + k; j++)
            wrote_any |= inserted[j];
        done += k;
    }
    if (e == JOB_E_OK)
        e = batch_find_existing(db, multi, mrefs, inserted, m, err, errlen);
    for (int j = 0; e == JOB_E_OK && j < m; j++)
        refs[where[j]] = mrefs[j];
    free(multi);
    free(mrefs);
    free(where);
    free(inserted);
    if (wrote)
        *wrote = wrote_any;
    return e;
}
