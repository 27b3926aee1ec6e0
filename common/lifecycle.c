/* This file holds the claim and check-out statements of the jobs table. */
#include "lifecycle.h"
#include "action.h"
#include "fault.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
claimed_job_release(struct claimed_job *j)
{
    free(j->action);
    free(j->parameters);
    free(j->queue);
    free(j->dt_started);
    memset(j, 0, sizeof(*j));
}

static struct db_param *
lifecycle_id_params(const int64_t *ids, int n, int extra)
{
    struct db_param *p = xcalloc((size_t)(n + extra), sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(ids[i]);
    return p;
}

/* The length a list of n values is padded to by repeating its last value, which changes
 * nothing in an IN list or a per-row lookup: a few statement texts then serve every batch
 * size and stay prepared in the connection's cache. Parsing and preparing a text per size was
 * ~9 % of MariaDB's CPU in a drain, with a prepare for 4 of every 10 statements. */
static int
lifecycle_padded(int n)
{
    int b = 1;
    while (b < n)
        b *= 2;
    return b;
}

/* Appends " IN (?,...)" for ids padded (lifecycle_padded), binding them at p[*k...] (room for
 * lifecycle_padded(n) of them). */
static void
lifecycle_in(struct buf *sql, struct db_param *p, int *k, const int64_t *ids, int n)
{
    buf_appends(sql, " IN (");
    for (int i = 0, np = lifecycle_padded(n); i < np; i++) {
        buf_appends(sql, i ? ",?" : "?");
        p[(*k)++] = DBI(ids[i < n ? i : n - 1]);
    }
    buf_appends(sql, ")");
}

int
lifecycle_claim_read(struct db *db, const int64_t *ids, int n, int64_t instance_id, int64_t token,
                     struct claimed_job *out)
{
    if (n <= 0)
        return 0;
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "SELECT id, attempt, max_attempts, timeout_s, action, parameters, queue, "
                      "dt_started, TIMESTAMPDIFF(MICROSECOND, GREATEST(run_at, dt_created), "
                      "dt_started) FROM jobs WHERE id");
    struct db_param *p = xcalloc((size_t)lifecycle_padded(n) + 2, sizeof(*p));
    int k = 0;
    lifecycle_in(&sql, p, &k, ids, n);
    buf_appends(&sql, " AND instance_id = ? AND claim_token = ? AND state = 'running'");
    p[k++] = DBI(instance_id);
    p[k++] = DBI(token);
    struct db_rows *r = db_query(db, sql.data, p, k);
    free(p);
    buf_release(&sql);
    if (r == NULL)
        return -1;
    int got = 0;
    for (int i = 0; i < r->n_rows && got < n; i++) {
        struct claimed_job *j = &out[got++];
        j->id = db_rows_int(r, i, 0, 0);
        j->attempt = (int)db_rows_int(r, i, 1, 0);
        j->max_attempts = (int)db_rows_int(r, i, 2, 1);
        j->timeout_s = (int)db_rows_int(r, i, 3, 60);
        j->action = xstrdup(db_rows_get(r, i, 4));
        j->parameters = xstrdup(db_rows_get(r, i, 5));
        j->queue = xstrdup(db_rows_get(r, i, 6));
        j->dt_started = xstrdup(db_rows_get(r, i, 7) ? db_rows_get(r, i, 7) : "");
        j->due_wait_us = db_rows_int(r, i, 8, 0);
        j->token = token;
    }
    db_rows_free(r);
    return got;
}

/* Appends " AND col NOT IN (?,...)" for the names, binding them at p[*k...]. */
static void
lifecycle_not_in(struct buf *sql, struct db_param *p, int *k, const char *col, const char **names,
                 int n)
{
    if (n <= 0)
        return;
    buf_printf(sql, " AND %s NOT IN (", col);
    for (int i = 0; i < n; i++) {
        buf_appends(sql, i ? ",?" : "?");
        p[(*k)++] = DBS(names[i]);
    }
    buf_appends(sql, ")");
}

int
lifecycle_claim(struct db *db, const int64_t *ids, int n, int64_t instance_id, int64_t token,
                const struct lifecycle_except *except, struct claimed_job *out)
{
    if (n <= 0)
        return 0;
    int nq = except ? except->n_queues : 0, na = except ? except->n_actions : 0;
    /* One conditional UPDATE claims every ID still queued; the row lock makes each row go to
     * exactly one claimer. A paused queue's jobs stay queued even if their IDs were popped
     * just before the pause took effect in the fetch thread. Autocommit: the statement is its
     * own transaction, one round trip for the claim and its commit.
     *
     * The same statement refreshes the instance's heartbeat, and claims nothing for an
     * instance the scheduler marked lost: the claim and the lease check lock the instance's
     * row in turn, so either the claim comes first and the lease starts again from it, or the
     * instance is lost first and takes no job. Otherwise a worker whose heartbeat lags after
     * an outage could claim a job the lease recovery gives to another worker a moment later,
     * and start it within its start deadline while that worker runs it too.
     *
     * The paused-queue check is a LEFT JOIN (queue is queue_settings' key: one row at most
     * per job), not NOT EXISTS: the dependent subquery made each claim ~70 us slower on an
     * idle server (p50 687 against 614 us, 300 claims each, alternating). */
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "UPDATE jobs JOIN worker_instances wi ON wi.id = ? AND wi.state IN "
                      "('running', 'draining') LEFT JOIN queue_settings qs ON qs.queue = "
                      "jobs.queue AND qs.is_paused = 1 SET jobs.state = 'running', jobs.attempt = "
                      "jobs.attempt + 1, jobs.instance_id = wi.id, jobs.claim_token = ?, "
                      "jobs.dt_started = NOW(6), jobs.dt_deadline = NOW(6) + INTERVAL "
                      "jobs.timeout_s SECOND, jobs.cancel_requested = 0, wi.dt_heartbeat = "
                      "NOW(6) WHERE jobs.id");
    struct db_param *p = xcalloc((size_t)(lifecycle_padded(n) + nq + na) + 2, sizeof(*p));
    int k = 0;
    p[k++] = DBI(instance_id);
    p[k++] = DBI(token);
    lifecycle_in(&sql, p, &k, ids, n);
    buf_appends(&sql, " AND jobs.state = 'queued' AND qs.queue IS NULL");
    lifecycle_not_in(&sql, p, &k, "jobs.queue", except ? except->queues : NULL, nq);
    lifecycle_not_in(&sql, p, &k, "jobs.action", except ? except->actions : NULL, na);
    uint64_t affected = 0;
    int rc = db_exec(db, sql.data, p, k, &affected, NULL);
    int64_t sent_us = db_exec_sent_us(db);
    free(p);
    buf_release(&sql);
    if (rc < 0)
        return db_lost(db) ? -2 : -1;
    if (affected == 0)
        return 0;
    /* The rows are committed and stamped: whatever goes wrong from here, a later read-back
     * by the token finds them. */
    int got = lifecycle_claim_read(db, ids, n, instance_id, token, out);
    for (int i = 0; i < got; i++)
        out[i].sent_us = sent_us;
    return got < 0 ? -2 : got;
}

struct db_rows *
lifecycle_peek(struct db *db, const int64_t *ids, int n)
{
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *sql = xasprintf(
        "SELECT id, queue, action, priority FROM jobs WHERE id IN (%s) AND state = 'queued'", ph);
    struct db_param *p = lifecycle_id_params(ids, n, 0);
    struct db_rows *r = db_query(db, sql, p, n);
    free(p);
    free(sql);
    free(ph);
    return r;
}

int
lifecycle_defer(struct db *db, int64_t id, int64_t delay_ms, const char *settings_at)
{
    /* A limit of the job changed after the worker read its settings: the job stays queued,
     * for a claim by the settings as they are now. Deferred by the old ones, it would wait
     * out the old window after the change's release has run. */
    uint64_t n = 0;
    int rc =
        db_exec(db,
                "UPDATE jobs SET state = 'pending', dt_queued = NULL, limit_deferred = 1, "
                "run_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = ? AND state = 'queued' "
                "AND NOT EXISTS (SELECT 1 FROM queue_settings s WHERE s.queue = jobs.queue "
                "COLLATE utf8mb4_bin AND s.dt_updated > ?) AND NOT EXISTS (SELECT 1 FROM "
                "action_settings s WHERE s.action = jobs.action COLLATE utf8mb4_bin AND "
                "s.dt_updated > ?)",
                DB_P(DBI(delay_ms * 1000), DBI(id), DBS(settings_at), DBS(settings_at)), &n, NULL);
    return rc < 0 ? -1 : (int)n;
}

int
lifecycle_wake(struct db *db, int64_t id)
{
    uint64_t n = 0;
    if (db_exec(db,
                "UPDATE jobs SET state = 'queued', dt_queued = NOW(6), limit_deferred = 0 "
                "WHERE id = ? AND state = 'pending' AND limit_deferred = 1",
                DB_P(DBI(id)), &n, NULL) < 0)
        return -1;
    return n > 0 ? 1 : 0;
}

int
lifecycle_hand_back(struct db *db, int64_t instance_id, const int64_t *ids, const int *attempts,
                    const int64_t *tokens, int n)
{
    if (n <= 0)
        return 0;
    /* The guard is the check-out's (id, instance, attempt, running) and the claim's token: a
     * job the lease already recovered stays as recovery left it, and so does one this worker
     * claimed again since (at the same attempt, which the hand-back gave back). The attempt the
     * claim counted is given back, since the job never started. A cancel asked for while the job
     * waited (cancel_requested, set on 'running' rows) ends it as cancelling a queued job would:
     * queued with the flag still set, the next claim would clear it and run the job. The
     * assignments read cancel_requested before the last one clears it (MariaDB applies them left to
     * right). */
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "UPDATE jobs SET state = IF(cancel_requested = 1, 'cancelled', 'queued'), "
                      "attempt = attempt - 1, instance_id = NULL, claim_token = NULL, "
                      "dt_started = NULL, dt_deadline = NULL, "
                      "dt_queued = IF(cancel_requested = 1, dt_queued, NOW(6)), "
                      "dt_completed = IF(cancel_requested = 1, NOW(6), NULL), "
                      "is_success = IF(cancel_requested = 1, 0, is_success), "
                      "failure_reason = IF(cancel_requested = 1, 'cancelled', failure_reason), "
                      "released_key = IF(cancel_requested = 1, unique_key, released_key), "
                      "unique_key = IF(cancel_requested = 1, NULL, unique_key), "
                      "cancel_requested = 0 WHERE instance_id = ? AND "
                      "state = 'running' AND attempt = CASE id");
    struct db_param *p = xcalloc((size_t)n * 5 + 1, sizeof(*p));
    int k = 0;
    p[k++] = DBI(instance_id);
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, " WHEN ? THEN ?");
        p[k++] = DBI(ids[i]);
        p[k++] = DBI(attempts[i]);
    }
    buf_appends(&sql, " END AND claim_token = CASE id");
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, " WHEN ? THEN ?");
        p[k++] = DBI(ids[i]);
        p[k++] = DBI(tokens[i]);
    }
    buf_appends(&sql, " END AND id IN (");
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, i ? ",?" : "?");
        p[k++] = DBI(ids[i]);
    }
    buf_appends(&sql, ")");
    int rc = db_exec(db, sql.data, p, k, NULL, NULL);
    buf_release(&sql);
    free(p);
    return rc;
}

static const char *
outcome_state(enum job_status s, bool will_retry)
{
    if (will_retry)
        return "pending";
    switch (s) {
    case JOB_OK:
        return "succeeded";
    case JOB_CANCELLED:
        return "cancelled";
    default:
        return "failed";
    }
}

static const char *
outcome_word(enum job_status s)
{
    switch (s) {
    case JOB_OK:
        return "succeeded";
    case JOB_CANCELLED:
        return "cancelled";
    default:
        return "failed";
    }
}

static int
lifecycle_finish_one(struct db *db, const struct outcome *o, bool *took)
{
    bool will_retry = o->status == JOB_RETRY && o->attempt < o->max_attempts;
    int64_t delay_us = 0;
    if (will_retry) {
        const struct action_info *def = action_find(o->action, true);
        int64_t base = o->backoff_base_ms > 0 ? o->backoff_base_ms
                       : def                  ? def->backoff_base_ms
                                              : 15000;
        int64_t cap = o->backoff_cap_ms > 0 ? o->backoff_cap_ms
                      : def                 ? def->backoff_cap_ms
                                            : 3600000;
        int64_t ms = o->retry_delay_ms > 0 ? o->retry_delay_ms : backoff_ms(o->attempt, base, cap);
        delay_us = (ms < JOB_RETRY_DELAY_MAX_MS ? ms : JOB_RETRY_DELAY_MAX_MS) * 1000;
    }
    const char *state = outcome_state(o->status, will_retry);
    uint64_t affected = 0;
    int rc;
    if (will_retry) {
        /* Back to pending: the scheduler queues it again when run_at comes; not as a job that
         * waits for a limit, whatever an older scheduler that queued it left in
         * limit_deferred, so a limit's release leaves its backoff alone. A cancellation
         * requested meanwhile wins over the retry, and ends the job as every cancel does: its
         * unique key given back (kept, every later enqueue of the key would get this finished
         * job as "existing"). The assignments read cancel_requested before the last clears it
         * (MariaDB applies them left to right). */
        rc = db_exec(db,
                     "UPDATE jobs SET state = IF(cancel_requested = 1, 'cancelled', 'pending'), "
                     "dt_started = LEAST(COALESCE(?, dt_started), NOW(6)), "
                     "run_at = NOW(6) + INTERVAL ? MICROSECOND, failure_reason = ?, "
                     "execution_ms = ?, dt_queued = NULL, dt_deadline = NULL, "
                     "dt_completed = IF(cancel_requested = 1, NOW(6), NULL), "
                     "is_success = IF(cancel_requested = 1, 0, is_success), "
                     "released_key = IF(cancel_requested = 1, unique_key, released_key), "
                     "unique_key = IF(cancel_requested = 1, NULL, unique_key), "
                     "cancel_requested = 0, limit_deferred = 0 "
                     "WHERE id = ? AND instance_id = ? AND attempt = ? AND state = 'running' "
                     "AND (? = 0 OR claim_token = ?)",
                     DB_P(DBS(o->write_started ? o->dt_started : NULL), DBI(delay_us),
                          DBS(o->reason), o->execution_ms >= 0 ? DBI(o->execution_ms) : DBNULL,
                          DBI(o->id), DBI(o->instance_id), DBI(o->attempt), DBI(o->claim_token),
                          DBI(o->claim_token)),
                     &affected, NULL);
    } else {
        rc = db_exec(
            db,
            "UPDATE jobs SET state = ?, dt_started = LEAST(COALESCE(?, dt_started), NOW(6)), "
            "dt_completed = NOW(6), execution_ms = ?, "
            "is_success = ?, failure_reason = ?, result = ?, released_key = unique_key, "
            "unique_key = NULL, "
            "cancel_requested = 0 "
            "WHERE id = ? AND instance_id = ? AND attempt = ? AND state = 'running' "
            "AND (? = 0 OR claim_token = ?)",
            DB_P(DBS(state), DBS(o->write_started ? o->dt_started : NULL),
                 o->execution_ms >= 0 ? DBI(o->execution_ms) : DBNULL,
                 DBI(o->status == JOB_OK ? 1 : 0), DBS(o->status == JOB_OK ? NULL : o->reason),
                 DBS(o->result), DBI(o->id), DBI(o->instance_id), DBI(o->attempt),
                 DBI(o->claim_token), DBI(o->claim_token)),
            &affected, NULL);
    }
    if (rc < 0)
        return -1;
    *took = affected == 1;
    return 0;
}

enum lifecycle_col { LC_EXECUTION_MS, LC_RESULT, LC_ATTEMPT, LC_STARTED };

static struct db_param
lifecycle_value(const struct outcome *o, enum lifecycle_col col)
{
    switch (col) {
    case LC_EXECUTION_MS:
        return o->execution_ms >= 0 ? DBI(o->execution_ms) : DBNULL;
    case LC_RESULT:
        return DBS(o->result);
    case LC_ATTEMPT:
        return DBI(o->attempt);
    case LC_STARTED:
    default:
        return DBS(o->write_started ? o->dt_started : NULL);
    }
}

/* Appends an expression that gives each of the m rows o[at[...]] (in ascending order of id)
 * its own value: "ELT(INTERVAL(id, ?, ...), ?, ...)", binding the ids, then the values in the
 * same order. INTERVAL finds the row's position by binary search and ELT takes the value at
 * it; "CASE id WHEN ? THEN ? ..." compared the row's id with each WHEN in turn, and cost a
 * check-out of 256 rows 5-8 % of its speed per column (ELT and INTERVAL: within the noise of
 * none). Padded (see lifecycle_padded) by repeating the last id with its value: INTERVAL lands
 * on one of the repeats, which all carry the same value. A column of integers that are all the
 * same (attempt 1, a no-op's 0 ms) is just "?". */
static void
lifecycle_per_row(struct buf *sql, struct db_param *p, int *k, const struct outcome *o,
                  const int *at, int m, enum lifecycle_col col)
{
    bool same = col == LC_EXECUTION_MS || col == LC_ATTEMPT;
    struct db_param v0 = lifecycle_value(&o[at[0]], col);
    for (int j = 1; j < m && same; j++) {
        struct db_param v = lifecycle_value(&o[at[j]], col);
        same = v.t == v0.t && v.i == v0.i;
    }
    if (same) {
        buf_appends(sql, "?");
        p[(*k)++] = v0;
        return;
    }
    int np = lifecycle_padded(m);
    buf_appends(sql, "ELT(INTERVAL(id");
    for (int j = 0; j < np; j++) {
        buf_appends(sql, ",?");
        p[(*k)++] = DBI(o[at[j < m ? j : m - 1]].id);
    }
    buf_appends(sql, ")");
    for (int j = 0; j < np; j++) {
        buf_appends(sql, ",?");
        p[(*k)++] = lifecycle_value(&o[at[j < m ? j : m - 1]], col);
    }
    buf_appends(sql, ")");
}

struct lifecycle_pos {
    int64_t id;
    int i;
};

static int
lifecycle_pos_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct lifecycle_pos *)a)->id, y = ((const struct lifecycle_pos *)b)->id;
    return (x > y) - (x < y);
}

/* Orders the m rows at[] by id, as lifecycle_per_row needs them. False when two share an id, or
 * an id is beyond 2^53, where INTERVAL (which compares as doubles) could not tell two apart:
 * such a batch goes row by row. */
static bool
lifecycle_sort_by_id(const struct outcome *o, int *at, int m)
{
    struct lifecycle_pos *v = xcalloc((size_t)m, sizeof(*v));
    for (int j = 0; j < m; j++)
        v[j] = (struct lifecycle_pos){o[at[j]].id, at[j]};
    qsort(v, (size_t)m, sizeof(*v), lifecycle_pos_cmp);
    bool ok = true;
    for (int j = 0; j < m; j++) {
        at[j] = v[j].i;
        ok &= v[j].id < (INT64_C(1) << 53) && (j == 0 || v[j].id > v[j - 1].id);
    }
    free(v);
    return ok;
}

/* Checks out every success of one instance with a single UPDATE and writes their attempt
 * rows from the rows it updated. Returns 1 when every row took (marking them in took and
 * batched), 0 when some guard missed (the caller rolls back and goes row by row, to learn
 * which), 2 when there was nothing to batch (or its ids cannot be sorted for lifecycle_per_row),
 * -1 on error. */
static int
lifecycle_finish_successes(struct db *db, const struct outcome *o, int n, bool *took, bool *batched)
{
    int m = 0;
    int *at = xcalloc((size_t)n, sizeof(*at));
    int64_t *ids = xcalloc((size_t)n, sizeof(*ids));
    bool has_result = false, has_started = false;
    for (int i = 0; i < n; i++) {
        if (o[i].status != JOB_OK)
            continue;
        if (o[i].instance_id != o[0].instance_id) {
            m = 0;
            break;
        }
        has_result |= o[i].result != NULL;
        has_started |= o[i].write_started;
        ids[m] = o[i].id;
        at[m++] = i;
    }
    int rc = 2;
    if (m < 2 || !lifecycle_sort_by_id(o, at, m))
        goto out;
    FAULT_POINT("checkout.batch");
    struct buf sql;
    buf_init(&sql, 0);
    struct db_param *p = xcalloc((size_t)lifecycle_padded(m) * 9 + 2, sizeof(*p));
    int k = 0;
    buf_appends(&sql, "UPDATE jobs SET state = 'succeeded', dt_completed = NOW(6), "
                      "is_success = 1, failure_reason = NULL, released_key = unique_key, "
                      "unique_key = NULL, "
                      "cancel_requested = 0, execution_ms = ");
    lifecycle_per_row(&sql, p, &k, o, at, m, LC_EXECUTION_MS);
    buf_appends(&sql, ", result = ");
    if (has_result)
        lifecycle_per_row(&sql, p, &k, o, at, m, LC_RESULT);
    else
        buf_appends(&sql, "NULL");
    if (has_started) {
        /* Jobs that waited in the worker's window: the row says when they really started
         * (the others' value is NULL: their row's own stays). */
        buf_appends(&sql, ", dt_started = LEAST(COALESCE(");
        lifecycle_per_row(&sql, p, &k, o, at, m, LC_STARTED);
        buf_appends(&sql, ", dt_started), NOW(6))");
    }
    buf_appends(&sql, " WHERE id");
    lifecycle_in(&sql, p, &k, ids, m);
    buf_appends(&sql, " AND instance_id = ? AND state = 'running' AND attempt = ");
    p[k++] = DBI(o[0].instance_id);
    lifecycle_per_row(&sql, p, &k, o, at, m, LC_ATTEMPT);
    uint64_t affected = 0;
    rc = db_exec(db, sql.data, p, k, &affected, NULL) < 0 ? -1 : (int)affected == m ? 1 : 0;
    if (rc == 1) {
        /* Every row took and stays locked by this transaction: its attempt rows are the rows
         * as just written, with no values to send again. */
        buf_reset(&sql);
        buf_appends(&sql, "INSERT INTO job_attempts (job_id, attempt, instance_id, dt_started, "
                          "dt_completed, outcome, reason, execution_ms) SELECT id, attempt, "
                          "instance_id, dt_started, dt_completed, 'succeeded', NULL, "
                          "execution_ms FROM jobs WHERE id");
        k = 0;
        lifecycle_in(&sql, p, &k, ids, m);
        buf_appends(&sql, " AND instance_id = ? AND state = 'succeeded'");
        p[k++] = DBI(o[0].instance_id);
        uint64_t rows = 0;
        if (db_exec(db, sql.data, p, k, &rows, NULL) < 0)
            rc = -1;
        else if ((int)rows != m)
            rc = 0; /* cannot be while the rows are locked; go row by row if it ever is */
    }
    buf_release(&sql);
    free(p);
    for (int j = 0; rc == 1 && j < m; j++)
        took[at[j]] = batched[at[j]] = true;
out:
    free(at);
    free(ids);
    return rc;
}

/* One multi-row insert of the attempt rows of every check-out that took, except those
 * written with their batch. */
static int
lifecycle_insert_attempts(struct db *db, const struct outcome *o, int n, const bool *took,
                          const bool *batched)
{
    int n_took = 0;
    for (int i = 0; i < n; i++)
        n_took += took[i] && !batched[i];
    if (n_took == 0)
        return 0;
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "INSERT INTO job_attempts (job_id, attempt, instance_id, dt_started, "
                      "dt_completed, outcome, reason, execution_ms) VALUES ");
    struct db_param *p = xcalloc((size_t)n_took * 7, sizeof(*p));
    int k = 0, rows = 0;
    for (int i = 0; i < n; i++) {
        if (!took[i] || batched[i])
            continue;
        buf_appends(&sql, rows++ ? ",(?,?,?," : "(?,?,?,");
        p[k++] = DBI(o[i].id);
        p[k++] = DBI(o[i].attempt);
        p[k++] = DBI(o[i].instance_id);
        /* The row's dt_started as its check-out just wrote it (capped by that statement's
         * NOW(6)): the attempt row must say the same, whatever this statement's NOW(6). */
        buf_appends(&sql, "(SELECT dt_started FROM jobs WHERE id = ?),");
        p[k++] = DBI(o[i].id);
        buf_appends(&sql, "NOW(6),?,?,?)");
        p[k++] = DBS(outcome_word(o[i].status));
        p[k++] = DBS(o[i].status == JOB_OK ? NULL : o[i].reason);
        p[k++] = o[i].execution_ms >= 0 ? DBI(o[i].execution_ms) : DBNULL;
    }
    int rc = db_exec(db, sql.data, p, k, NULL, NULL);
    buf_release(&sql);
    free(p);
    return rc;
}

int
lifecycle_finish(struct db *db, const struct outcome *o, int n, bool *applied)
{
    if (n <= 0)
        return 0;
    bool *took = xcalloc((size_t)n, sizeof(bool)), *batched = xcalloc((size_t)n, sizeof(bool));
    int rc = -1;
    /* Most check-outs are successes of one worker: one statement for all of them. When a
     * guard misses (a recovered or re-claimed job), the second pass goes row by row to learn
     * which. */
    for (int pass = 0; pass < 2; pass++) {
        if (db_begin(db) < 0)
            goto out;
        int b = pass == 0 ? lifecycle_finish_successes(db, o, n, took, batched) : 2;
        if (b < 0)
            goto rollback;
        if (b == 0) {
            db_rollback(db);
            memset(took, 0, sizeof(bool) * (size_t)n);
            memset(batched, 0, sizeof(bool) * (size_t)n);
            continue;
        }
        for (int i = 0; i < n; i++)
            if (!took[i] && lifecycle_finish_one(db, &o[i], &took[i]) < 0)
                goto rollback;
        if (lifecycle_insert_attempts(db, o, n, took, batched) < 0)
            goto rollback;
        /* A commit whose answer was lost is unknown: the caller writes the outcomes again,
         * which the guards make a no-op for the rows that did take. */
        if (db_commit(db) == 0)
            rc = 0;
        else if (!db_lost(db))
            goto rollback;
        goto out;
    }
rollback:
    db_rollback(db);
out:
    if (rc == 0 && applied)
        memcpy(applied, took, sizeof(bool) * (size_t)n);
    free(took);
    free(batched);
    return rc;
}

int
lifecycle_cancel_requests(struct db *db, int64_t instance_id, int64_t *ids, int n)
{
    /* The running rows of ix_jobs_state_due are at most the fleet's slots, whatever the
     * backlog: cheaper to read each second than an index on cancel_requested would be to keep
     * up at every insert. */
    struct db_rows *r = db_query(db,
                                 "SELECT id FROM jobs FORCE INDEX (ix_jobs_state_due) "
                                 "WHERE state = 'running' AND instance_id = ? "
                                 "AND cancel_requested = 1 LIMIT ?",
                                 DB_P(DBI(instance_id), DBI(n)));
    if (r == NULL)
        return -1;
    int got = r->n_rows;
    for (int i = 0; i < got; i++)
        ids[i] = db_rows_int(r, i, 0, 0);
    db_rows_free(r);
    return got;
}
