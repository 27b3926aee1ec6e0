/* This file holds the jobs table's retry and cancel: of one job by its ID (the CLI, the API,
 * a dashboard button), of many by their IDs, 1,000 to a transaction (the dashboard's bulk
 * changes), and of every job a filter matches (jobfleet retry --state, cancel --state). Each
 * change's audit rows are written in its own transaction. */
#include "job.h"
#include "caltime.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Explains why a job is not in a state an operation accepts. */
static enum job_err
job_state_error(struct db *db, int64_t id, const char *what, char *err, size_t errlen)
{
    char *state = NULL;
    struct db_rows *r = db_query(db, "SELECT state FROM jobs WHERE id = ?", DB_P(DBI(id)));
    if (r == NULL) {
        snprintf(err, errlen, "read job: %s", db_errstr(db));
        return JOB_E_DB;
    }
    if (r->n_rows == 0) {
        db_rows_free(r);
        snprintf(err, errlen, "no job with id %lld", (long long)id);
        return JOB_E_NOTFOUND;
    }
    state = xstrdup(db_rows_get(r, 0, 0));
    db_rows_free(r);
    snprintf(err, errlen, "job %lld is %s: %s", (long long)id, state, what);
    free(state);
    return JOB_E_STATE;
}

/* What a retry sets: queued now, one more attempt allowed, the last outcome cleared, and the
 * unique key the job gave back when it ended taken again (job_rows_drop_held has left out the
 * jobs whose key another live job holds). */
#define JOB_RETRY_SET                                                                              \
    "UPDATE jobs SET state = 'queued', dt_queued = NOW(6), run_at = NOW(6), "                      \
    "max_attempts = GREATEST(max_attempts, attempt + 1), dt_completed = NULL, "                    \
    "is_success = NULL, failure_reason = NULL, result = NULL, execution_ms = NULL, "               \
    "cancel_requested = 0, limit_deferred = 0, instance_id = NULL, unique_key = released_key, "    \
    "released_key = NULL "

/* How often a retry's transaction is run again after a duplicate key: a job of a key one of
 * its jobs gave back, committed between the check for held keys and the UPDATE (which then
 * waited for it). Read again, the check sees it and leaves that job out. */
#define JOB_RETRY_DUP_TRIES 3

/* For rows of (id, queue, priority, state): is the job running, or waiting to run. */
static bool
job_row_running(const struct db_rows *r, int row)
{
    return strcmp(db_rows_get(r, row, 3), "running") == 0;
}

static bool
job_row_waiting(const struct db_rows *r, int row)
{
    return !job_row_running(r, row);
}

/* Records, in the caller's transaction, that by changed the n jobs ids (action "retry" or
 * "cancel"; state the detail when by gives none). Nothing when by is NULL. Returns 0 or -1. */
static int
job_audit(struct db *db, const struct audit_by *by, const char *action, const int64_t *ids, int n,
          const char *state)
{
    if (by == NULL || n <= 0)
        return 0;
    return audit_add_ids(db, by->actor, action, "job", ids, n, by->detail ? by->detail : state);
}

/* job_audit for the jobs of rows r (id first) that keep, when not NULL, accepts. */
static int
job_audit_rows(struct db *db, const struct audit_by *by, const char *action,
               const struct db_rows *r, bool (*keep)(const struct db_rows *r, int row),
               const char *state)
{
    if (by == NULL)
        return 0;
    int64_t *ids = xcalloc((size_t)r->n_rows + 1, sizeof(*ids));
    int n = 0;
    for (int i = 0; i < r->n_rows; i++)
        if (keep == NULL || keep(r, i))
            ids[n++] = db_rows_int(r, i, 0, 0);
    int rc = job_audit(db, by, action, ids, n, state);
    free(ids);
    return rc;
}

/* Commits the caller's transaction, or rolls it back when ok is false or the commit fails.
 * Returns 0, or -1 with err set to what failed. */
static int
job_change_end(struct db *db, bool ok, const char *what, char *err, size_t errlen)
{
    if (ok && db_commit(db) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", what, db_errstr(db));
    db_rollback(db);
    return -1;
}

/* Explains, after its retry met a duplicate key, that another live job holds the unique key
 * job id gave back. */
static enum job_err
job_key_held_error(struct db *db, int64_t id, char *err, size_t errlen)
{
    struct db_rows *r = db_query(db,
                                 "SELECT x.released_key, j.id, j.state FROM jobs x JOIN jobs j "
                                 "ON j.unique_key = x.released_key WHERE x.id = ?",
                                 DB_P(DBI(id)));
    if (r == NULL || r->n_rows == 0) {
        snprintf(err, errlen, "retry job: %s", r ? "its unique key is taken" : db_errstr(db));
        db_rows_free(r);
        return JOB_E_DB;
    }
    snprintf(err, errlen,
             "job %lld's unique key \"%s\" is held by job %s (%s), which does the same work: "
             "cancel that job first to retry this one",
             (long long)id, db_rows_get(r, 0, 0), db_rows_get(r, 0, 1), db_rows_get(r, 0, 2));
    db_rows_free(r);
    return JOB_E_STATE;
}

enum job_err
job_retry(struct db *db, struct rq *rq, int64_t id, bool force, const struct audit_by *by,
          char *err, size_t errlen)
{
    uint64_t n = 0;
    const char *sql = force ? JOB_RETRY_SET
                          "WHERE id = ? AND state IN ('failed','cancelled','succeeded')"
                            : JOB_RETRY_SET "WHERE id = ? AND state IN ('failed','cancelled')";
    if (db_begin(db) < 0 || db_exec(db, sql, DB_P(DBI(id)), &n, NULL) < 0) {
        bool held = db_duplicate(db);
        job_change_end(db, false, "retry job", err, errlen);
        return held ? job_key_held_error(db, id, err, errlen) : JOB_E_DB;
    }
    if (n == 0) {
        db_rollback(db);
        return job_state_error(db, id,
                               force ? "only finished jobs can be retried"
                                     : "only failed or cancelled jobs can be retried "
                                       "(a succeeded one with --force)",
                               err, errlen);
    }
    struct db_rows *r =
        db_query(db, "SELECT queue, priority FROM jobs WHERE id = ?", DB_P(DBI(id)));
    bool ok = r && r->n_rows == 1 && job_audit(db, by, "retry", &id, 1, "queued") == 0;
    if (job_change_end(db, ok, "retry job", err, errlen) < 0) {
        db_rows_free(r);
        return JOB_E_DB;
    }
    struct job_ref ref = {.id = id, .priority = (int)db_rows_int(r, 0, 1, 0)};
    snprintf(ref.queue, sizeof(ref.queue), "%s", db_rows_get(r, 0, 0));
    snprintf(ref.state, sizeof(ref.state), "queued");
    job_push(rq, &ref);
    db_rows_free(r);
    return JOB_E_OK;
}

/* Jobs per statement of a bulk retry: bounded work and lock time per transaction. */
#define JOB_RETRY_BATCH 1000

/* Pushes the jobs of rows r (id, queue, priority), one pipelined push per queue. A push that
 * fails leaves its jobs queued for the scheduler's reconcile, as job_push does. */
static void
job_push_rows(struct rq *rq, const struct db_rows *r)
{
    int n = r->n_rows;
    const char **queues = xcalloc((size_t)n, sizeof(*queues));
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    int *prios = xcalloc((size_t)n, sizeof(*prios));
    for (int i = 0; i < n; i++) {
        queues[i] = db_rows_get(r, i, 1);
        ids[i] = db_rows_int(r, i, 0, 0);
        prios[i] = (int)db_rows_int(r, i, 2, 0);
    }
    if (rq_push_each(rq, queues, ids, prios, n, NULL) < 0)
        log_warnx("push retried jobs: %s (the scheduler will push them)", rq_errstr(rq));
    free(queues);
    free(ids);
    free(prios);
}

/* Runs head followed by "id IN (...)" over the ids of the rows r (id first) for which keep,
 * when not NULL, returns true; nothing when none is kept. Returns 0 or -1. */
static int
job_exec_ids(struct db *db, const char *head, const struct db_rows *r,
             bool (*keep)(const struct db_rows *r, int row))
{
    struct db_param *p = xcalloc((size_t)r->n_rows + 1, sizeof(*p));
    int n = 0;
    for (int i = 0; i < r->n_rows; i++)
        if (keep == NULL || keep(r, i))
            p[n++] = DBI(db_rows_int(r, i, 0, 0));
    char *in = xasprintf("%sid IN ", head);
    int rc = n > 0 ? db_exec_in(db, in, p, n) : 0;
    free(in);
    free(p);
    return rc;
}

/* Leaves out of the rows r (id first, the unique key each job gave back in column key_col),
 * locked by the caller's transaction, the jobs whose key a live job holds, or an earlier row
 * of r takes: retried, each would be a second live job of its key. Returns 0 or -1. */
static int
job_rows_drop_held(struct db *db, struct db_rows *r, int key_col)
{
    int n = 0;
    struct db_param *p = xcalloc((size_t)r->n_rows + 1, sizeof(*p));
    for (int i = 0; i < r->n_rows; i++)
        if (db_rows_get(r, i, key_col))
            p[n++] = DBS(db_rows_get(r, i, key_col));
    struct db_rows *held =
        n ? db_query_in(db, "SELECT unique_key FROM jobs WHERE unique_key IN ", p, n) : NULL;
    free(p);
    if (n && held == NULL)
        return -1;
    bool *keep = xcalloc((size_t)r->n_rows + 1, sizeof(*keep));
    for (int i = 0; i < r->n_rows; i++) {
        const char *k = db_rows_get(r, i, key_col);
        keep[i] = true;
        for (int h = 0; k && held && h < held->n_rows && keep[i]; h++)
            keep[i] = strcmp(k, db_rows_get(held, h, 0)) != 0;
        for (int j = 0; k && j < i && keep[i]; j++)
            keep[i] = !keep[j] || !db_rows_get(r, j, key_col) ||
                      strcmp(k, db_rows_get(r, j, key_col)) != 0;
    }
    db_rows_keep(r, keep);
    free(keep);
    db_rows_free(held);
    return 0;
}

/* Queues the rows r (id first, the key given back in column key_col) locked by the caller's
 * transaction with one statement, after leaving out those whose key is held. Returns 0 or
 * -1. */
static int
job_retry_rows(struct db *db, struct db_rows *r, int key_col)
{
    if (job_rows_drop_held(db, r, key_col) < 0)
        return -1;
    return job_exec_ids(db, JOB_RETRY_SET "WHERE ", r, NULL);
}

/* Retries the next keyset batch after *cursor: its rows are locked as they are read, so none
 * can change state before the UPDATE, which then queues exactly them (but those whose unique
 * key is held); they are pushed after the commit. Adds the number queued to *count. Returns
 * the number of rows the batch read (0: none left), or -1 with err set. */
static int
job_retry_batch(struct db *db, struct rq *rq, const char *state, const char *action,
                const char *since, const struct audit_by *by, int64_t *cursor, int64_t *count,
                char *err, size_t errlen)
{
    if (db_begin(db) < 0) {
        snprintf(err, errlen, "retry: %s", db_errstr(db));
        return -1;
    }
    struct db_rows *r = db_query(
        db,
        "SELECT id, queue, priority, released_key FROM jobs WHERE state = ? AND id > ? "
        "AND (? IS NULL OR action = ?) AND dt_due >= ? "
        "ORDER BY id LIMIT ? FOR UPDATE",
        DB_P(DBS(state), DBI(*cursor), DBS(action), DBS(action), DBS(since), DBI(JOB_RETRY_BATCH)));
    int read = r ? r->n_rows : 0;
    int64_t last = read ? db_rows_int(r, read - 1, 0, 0) : *cursor;
    bool ok = r && (read == 0 || (job_retry_rows(db, r, 3) == 0 &&
                                  job_audit_rows(db, by, "retry", r, NULL, "queued") == 0));
    if (job_change_end(db, ok, "retry", err, errlen) < 0) {
        db_rows_free(r);
        return -1;
    }
    *cursor = last;
    *count += r->n_rows;
    if (r->n_rows > 0)
        job_push_rows(rq, r);
    db_rows_free(r);
    return read;
}

enum job_err
job_retry_bulk(struct db *db, struct rq *rq, const char *state, const char *action,
               int64_t since_ms, bool force, const struct audit_by *by, int64_t *count, char *err,
               size_t errlen)
{
    *count = 0;
    if (strcmp(state, "failed") && strcmp(state, "cancelled") &&
        !(force && strcmp(state, "succeeded") == 0)) {
        snprintf(err, errlen,
                 "--state must be failed or cancelled (succeeded only with --force), not \"%s\"",
                 state);
        return JOB_E_INPUT;
    }
    char since[40];
    caltime_format_dt6(since_ms, since, sizeof(since));
    int64_t cursor = 0;
    /* One transaction and one push per batch, not per job: a retry of thousands of failed
     * jobs after an outage would otherwise wait for a commit per job. */
    for (;;) {
        int n, tries = 0;
        while ((n = job_retry_batch(db, rq, state, action, since, by, &cursor, count, err,
                                    errlen)) < 0 &&
               db_duplicate(db) && ++tries < JOB_RETRY_DUP_TRIES)
            ;
        if (n < 0)
            return JOB_E_DB;
        if (n < JOB_RETRY_BATCH)
            return JOB_E_OK;
    }
}

/* What a cancel sets on a job that has not started, and on a running one (its worker stops
 * it). */
#define JOB_CANCEL_SET                                                                             \
    "UPDATE jobs SET state = 'cancelled', dt_completed = NOW(6), is_success = 0, "                 \
    "failure_reason = 'cancelled', released_key = unique_key, unique_key = NULL "
#define JOB_CANCEL_ASK "UPDATE jobs SET cancel_requested = 1 "

enum job_err
job_cancel(struct db *db, struct rq *rq, int64_t id, const struct audit_by *by,
           const char **state_out, char *err, size_t errlen)
{
    if (db_begin(db) < 0) {
        job_change_end(db, false, "cancel job", err, errlen);
        return JOB_E_DB;
    }
    struct db_rows *r =
        db_query(db, "SELECT queue, state FROM jobs WHERE id = ? FOR UPDATE", DB_P(DBI(id)));
    const char *state = r && r->n_rows ? db_rows_get(r, 0, 1) : "";
    bool waiting = strcmp(state, "pending") == 0 || strcmp(state, "queued") == 0;
    if (r && !waiting && strcmp(state, "running") != 0) {
        db_rows_free(r);
        db_rollback(db);
        return job_state_error(db, id, "only pending, queued or running jobs can be cancelled", err,
                               errlen);
    }
    *state_out = waiting ? "cancelled" : "cancelling";
    bool ok = r &&
              db_exec(db, waiting ? JOB_CANCEL_SET "WHERE id = ?" : JOB_CANCEL_ASK "WHERE id = ?",
                      DB_P(DBI(id)), NULL, NULL) == 0 &&
              job_audit(db, by, "cancel", &id, 1, *state_out) == 0;
    if (job_change_end(db, ok, "cancel job", err, errlen) < 0) {
        db_rows_free(r);
        return JOB_E_DB;
    }
    /* Redis may still hold the ID; a worker popping it finds it not queued anyway. */
    if (waiting)
        rq_remove(rq, db_rows_get(r, 0, 0), &id, 1);
    db_rows_free(r);
    return JOB_E_OK;
}

/* Locks, in the caller's transaction, those of ids[0..n-1] in one of states (an SQL list of
 * our own, not input), as rows of (id, queue, priority, state, released_key) in id order. NULL
 * on error. */
static struct db_rows *
job_lock_ids(struct db *db, const int64_t *ids, int n, const char *states)
{
    char *head = xasprintf("SELECT id, queue, priority, state, released_key FROM jobs WHERE "
                           "state IN (%s) AND id IN ",
                           states);
    struct db_rows *r = db_query_ids(db, head, " ORDER BY id FOR UPDATE", ids, n);
    free(head);
    return r;
}

/* Copies the ids of rows r (id first) to out; returns their count. */
static int
job_row_ids(const struct db_rows *r, int64_t *out)
{
    for (int i = 0; i < r->n_rows; i++)
        out[i] = db_rows_int(r, i, 0, 0);
    return r->n_rows;
}

static int
job_retry_ids_once(struct db *db, struct rq *rq, const int64_t *ids, int n, const char *states,
                   const struct audit_by *by, int64_t *done, char *err, size_t errlen)
{
    if (db_begin(db) < 0)
        return job_change_end(db, false, "retry", err, errlen);
    struct db_rows *r = job_lock_ids(db, ids, n, states);
    bool ok = r && job_retry_rows(db, r, 4) == 0 &&
              job_audit_rows(db, by, "retry", r, NULL, "queued") == 0;
    if (job_change_end(db, ok, "retry", err, errlen) < 0) {
        db_rows_free(r);
        return -1;
    }
    if (r->n_rows > 0)
        job_push_rows(rq, r);
    int got = job_row_ids(r, done);
    db_rows_free(r);
    return got;
}

int
job_retry_ids(struct db *db, struct rq *rq, const int64_t *ids, int n, const char *only_state,
              const struct audit_by *by, int64_t *done, char *err, size_t errlen)
{
    static const char *const one[][2] = {
        {"failed", "'failed'"}, {"cancelled", "'cancelled'"}, {"succeeded", "'succeeded'"}};
    const char *states = only_state ? NULL : "'failed','cancelled'";
    for (int i = 0; only_state && i < 3; i++)
        if (strcmp(only_state, one[i][0]) == 0)
            states = one[i][1];
    if (states == NULL) {
        snprintf(err, errlen, "a retry takes failed, cancelled or succeeded jobs, not %s",
                 only_state);
        return -2;
    }
    if (n <= 0)
        return 0;
    int got, tries = 0;
    while ((got = job_retry_ids_once(db, rq, ids, n, states, by, done, err, errlen)) == -1 &&
           db_duplicate(db) && ++tries < JOB_RETRY_DUP_TRIES)
        ;
    return got;
}

/* Takes the cancelled jobs of rows r (id, queue, _, state) out of their Redis queues, one
 * ZREM per queue. Best effort: a worker that pops one finds it cancelled and drops it. */
static void
job_unqueue_rows(struct rq *rq, const struct db_rows *r)
{
    int64_t *ids = xcalloc((size_t)r->n_rows + 1, sizeof(*ids));
    bool *gone = xcalloc((size_t)r->n_rows + 1, sizeof(*gone));
    for (int i = 0; i < r->n_rows; i++) {
        if (gone[i] || job_row_running(r, i))
            continue;
        const char *queue = db_rows_get(r, i, 1);
        int k = 0;
        for (int j = i; j < r->n_rows; j++)
            if (!gone[j] && !job_row_running(r, j) && strcmp(db_rows_get(r, j, 1), queue) == 0) {
                ids[k++] = db_rows_int(r, j, 0, 0);
                gone[j] = true;
            }
        rq_remove(rq, queue, ids, k);
    }
    free(ids);
    free(gone);
}

/* The SQL list of states a cancel locks: every cancellable one, or only one of them. */
static const char *
job_cancel_states(const char *only)
{
    static const char *const one[][2] = {
        {"pending", "'pending'"}, {"queued", "'queued'"}, {"running", "'running'"}};
    for (int i = 0; only && i < 3; i++)
        if (strcmp(only, one[i][0]) == 0)
            return one[i][1];
    return only ? NULL : "'pending','queued','running'";
}

int
job_cancel_ids(struct db *db, struct rq *rq, const int64_t *ids, int n, const char *only_state,
               const struct audit_by *by, int64_t *done, int *running, char *err, size_t errlen)
{
    if (running)
        *running = 0;
    const char *states = job_cancel_states(only_state);
    if (states == NULL) {
        snprintf(err, errlen, "cancel: \"%s\" is not a state a job can be cancelled in",
                 only_state);
        return -1;
    }
    if (n <= 0)
        return 0;
    if (db_begin(db) < 0)
        return job_change_end(db, false, "cancel", err, errlen);
    struct db_rows *r = job_lock_ids(db, ids, n, states);
    bool ok = r && job_exec_ids(db, JOB_CANCEL_SET "WHERE ", r, job_row_waiting) == 0 &&
              job_exec_ids(db, JOB_CANCEL_ASK "WHERE ", r, job_row_running) == 0 &&
              job_audit_rows(db, by, "cancel", r, job_row_waiting, "cancelled") == 0 &&
              job_audit_rows(db, by, "cancel", r, job_row_running, "cancelling") == 0;
    if (job_change_end(db, ok, "cancel", err, errlen) < 0) {
        db_rows_free(r);
        return -1;
    }
    job_unqueue_rows(rq, r);
    for (int i = 0; running && i < r->n_rows; i++)
        *running += job_row_running(r, i);
    int got = job_row_ids(r, done);
    db_rows_free(r);
    return got;
}

enum job_err
job_cancel_bulk(struct db *db, struct rq *rq, const char *state, const char *action,
                const char *queue, const struct audit_by *by, int64_t *count, char *err,
                size_t errlen)
{
    *count = 0;
    if (strcmp(state, "pending") && strcmp(state, "queued") && strcmp(state, "running")) {
        snprintf(err, errlen, "--state must be pending, queued or running, not \"%s\"", state);
        return JOB_E_INPUT;
    }
    int64_t cursor = 0, *ids = xcalloc(JOB_CHANGE_MAX, sizeof(*ids));
    int64_t *done = xcalloc(JOB_CHANGE_MAX, sizeof(*done));
    enum job_err e = JOB_E_OK;
    for (;;) {
        /* Read without locks: job_cancel_ids locks each batch and skips what moved on. */
        struct db_rows *r = db_query(db,
                                     "SELECT id FROM jobs WHERE state = ? AND id > ? "
                                     "AND (? IS NULL OR action = ?) AND (? IS NULL OR queue = ?) "
                                     "ORDER BY id LIMIT ?",
                                     DB_P(DBS(state), DBI(cursor), DBS(action), DBS(action),
                                          DBS(queue), DBS(queue), DBI(JOB_CHANGE_MAX)));
        if (r == NULL) {
            snprintf(err, errlen, "cancel: %s", db_errstr(db));
            e = JOB_E_DB;
            break;
        }
        int n = job_row_ids(r, ids);
        db_rows_free(r);
        /* Only jobs still in state: a queued job that started meanwhile keeps running. */
        int got = n ? job_cancel_ids(db, rq, ids, n, state, by, done, NULL, err, errlen) : 0;
        if (got < 0) {
            e = JOB_E_DB;
            break;
        }
        *count += got;
        if (n < JOB_CHANGE_MAX)
            break;
        cursor = ids[n - 1];
    }
    free(ids);
    free(done);
    return e;
}
