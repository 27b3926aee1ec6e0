/* This file inserts jobs in multi-row statements. It writes the same columns as job_insert
 * in job.c: a change to the jobs table's INSERT there must be made here too.
 *
 * INSERT IGNORE skips the rows whose idempotency key is taken, and RETURNING names the rows
 * it did insert; the others are looked up by key. IGNORE also turns other errors into
 * warnings (a value too long would be cut), which is why the contract wants checked specs:
 * every value is within its column by then. */
#include "job_batch.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BATCH_COLS 13
#define BATCH_MAX_CHUNK 64

/* A random (version 4) UUID straight from the kernel. ids_uuid's libuuid reseeds and cranks
 * a PRNG under a lock on every call, which was a visible share of the ingestion profile; at
 * thousands of jobs per second this is cheaper and just as unique. */
static void
batch_uuid(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
        if (r < 0 && errno != EINTR)
            fatal("getrandom");
        if (r > 0)
            got += (size_t)r;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[b[i] >> 4];
        out[j++] = hex[b[i] & 15];
    }
    out[j] = '\0';
}

/* The statement for k rows (at most BATCH_MAX_CHUNK). Its text holds only placeholders; one
 * statement per size stays in the connection's statement cache. */
static char *
batch_sql(int k)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "INSERT IGNORE INTO jobs (uuid, origin, queue, action, parameters, priority, "
                    "state, run_at, max_attempts, timeout_s, unique_key, idempotency_key, "
                    "dt_created, dt_queued) VALUES ");
    for (int i = 0; i < k; i++)
        buf_appends(&b, i ? ",(?,?,?,?,?,?,?,?,?,?,?,?,NOW(6),IF(?='queued',NOW(6),NULL))"
                          : "(?,?,?,?,?,?,?,?,?,?,?,?,NOW(6),IF(?='queued',NOW(6),NULL))");
    buf_appends(&b, " RETURNING id, uuid");
    return buf_detach(&b);
}

/* Fills refs of the rows that were not inserted from the jobs holding their keys. */
static enum job_err
batch_find_existing(struct db *db, const struct job_spec *specs, struct job_ref *refs,
                    const bool *inserted, int n, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (inserted[i])
            continue;
        struct db_rows *r = db_query(db,
                                     "SELECT id, uuid, queue, state, priority FROM jobs "
                                     "WHERE idempotency_key = ?",
                                     DB_P(DBS(specs[i].idempotency_key)));
        if (r == NULL || r->n_rows == 0) {
            snprintf(err, errlen, "insert job: %s",
                     r ? "a row was neither inserted nor found by its key" : db_errstr(db));
            db_rows_free(r);
            return JOB_E_DB;
        }
        struct job_ref *ref = &refs[i];
        ref->id = db_rows_int(r, 0, 0, 0);
        snprintf(ref->uuid, sizeof(ref->uuid), "%s", db_rows_get(r, 0, 1));
        snprintf(ref->queue, sizeof(ref->queue), "%s", db_rows_get(r, 0, 2));
        snprintf(ref->state, sizeof(ref->state), "%s", db_rows_get(r, 0, 3));
        ref->priority = (int)db_rows_int(r, 0, 4, 0);
        ref->existing = true;
        db_rows_free(r);
    }
    return JOB_E_OK;
}

/* Inserts specs[0..k) with one statement; marks the rows it inserted. */
static enum job_err
batch_chunk(struct db *db, const struct job_spec *specs, int k, struct job_ref *refs,
            bool *inserted, char *err, size_t errlen)
{
    int64_t now = now_wall_ms();
    struct db_param *p = xcalloc((size_t)(k * BATCH_COLS), sizeof(*p));
    char(*run_at)[40] = xcalloc((size_t)k, sizeof(*run_at));
    for (int i = 0; i < k; i++) {
        const struct job_spec *s = &specs[i];
        struct job_ref *ref = &refs[i];
        memset(ref, 0, sizeof(*ref));
        int64_t at = s->run_at_ms > 0 ? s->run_at_ms : now;
        const char *state = at <= now ? "queued" : "pending";
        job_format_time(at, run_at[i], sizeof(run_at[i]));
        batch_uuid(ref->uuid);
        snprintf(ref->queue, sizeof(ref->queue), "%s", s->queue);
        snprintf(ref->state, sizeof(ref->state), "%s", state);
        ref->priority = s->priority;
        struct db_param *q = p + i * BATCH_COLS;
        q[0] = DBS(ref->uuid);
        q[1] = DBS(s->origin);
        q[2] = DBS(s->queue);
        q[3] = DBS(s->action);
        q[4] = DBS(s->parameters);
        q[5] = DBI(s->priority);
        q[6] = DBS(state);
        q[7] = DBS(run_at[i]);
        q[8] = DBI(s->max_attempts);
        q[9] = DBI(s->timeout_s);
        q[10] = DBNULL;
        q[11] = DBS(s->idempotency_key);
        q[12] = DBS(state);
    }
    char *sql = batch_sql(k);
    struct db_rows *r = db_query(db, sql, p, k * BATCH_COLS);
    free(sql);
    free(p);
    free(run_at);
    if (r == NULL) {
        snprintf(err, errlen, "insert jobs: %s", db_errstr(db));
        return JOB_E_DB;
    }
    for (int row = 0; row < r->n_rows; row++) {
        const char *uuid = db_rows_get(r, row, 1);
        for (int i = 0; i < k; i++) {
            if (!inserted[i] && uuid && strcmp(uuid, refs[i].uuid) == 0) {
                refs[i].id = db_rows_int(r, row, 0, 0);
                inserted[i] = true;
                break;
            }
        }
    }
    db_rows_free(r);
    return JOB_E_OK;
}

/* True for a spec that only job_insert can write: one with a unique key, given or made from
 * its parameters (the action's unique_by), or a cron fire. */
static bool
batch_needs_single(const struct job_spec *s)
{
    const struct job_def *def = registry_find(s->action, true);
    return s->unique_key || s->cron_job_id || s->idempotency_key == NULL || (def && def->unique_by);
}

enum job_err
job_insert_batch(struct db *db, const struct job_spec *specs, int n, struct job_ref *refs,
                 char *err, size_t errlen)
{
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
        } else {
            where[m] = i;
            multi[m++] = specs[i];
        }
    }
    int done = 0;
    while (done < m && e == JOB_E_OK) {
        int k = m - done < BATCH_MAX_CHUNK ? m - done : BATCH_MAX_CHUNK;
        e = batch_chunk(db, multi + done, k, mrefs + done, inserted + done, err, errlen);
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
    return e;
}
