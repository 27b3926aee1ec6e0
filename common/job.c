/* This file holds the operator side of the jobs table: enqueue, read, list, counts (retry and
 * cancel are job_change.c's). */
#include "job.h"
#include "job_query.h"
#include "utf8.h"
#include "hmac.h"
#include "instance.h"
#include "job_batch.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "action.h"
#include "job_log.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_COLUMNS                                                                                \
    "id, uuid, origin, queue, action, parameters, priority, state, run_at, attempt, "              \
    "max_attempts, timeout_s, unique_key, idempotency_key, cron_job_id, cron_fire_time, "          \
    "dt_created, dt_queued, dt_started, dt_completed, execution_ms, instance_id, is_success, "     \
    "failure_reason, result, cancel_requested"

/* Adds v as a string, or null when v is NULL. */
static void
job_add_str(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

/* Made without a read, on purpose (the reply to an insert must not cost a query): it must
 * name exactly the columns of JOB_COLUMNS, plus "attempts", with the values the INSERT of
 * job_insert_rows (job_batch.c) gives them. Change the three together;
 * e2e_producer_api_create_reply compares this with job_get for the same job. */
cJSON *
job_new_json(const struct job_spec *s, const struct job_ref *ref)
{
    static const char *const unset[] = {
        "dt_started", "dt_completed",   "execution_ms", "instance_id",
        "is_success", "failure_reason", "result",       NULL};
    bool queued = strcmp(ref->state, "queued") == 0;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)ref->id);
    cJSON_AddStringToObject(j, "uuid", ref->uuid);
    cJSON_AddStringToObject(j, "origin", s->origin);
    cJSON_AddStringToObject(j, "queue", s->queue);
    cJSON_AddStringToObject(j, "action", s->action);
    cJSON_AddStringToObject(j, "parameters", s->parameters);
    cJSON_AddNumberToObject(j, "priority", s->priority);
    cJSON_AddStringToObject(j, "state", ref->state);
    cJSON_AddStringToObject(j, "run_at", ref->run_at);
    cJSON_AddNumberToObject(j, "attempt", 0);
    cJSON_AddNumberToObject(j, "max_attempts", s->max_attempts);
    cJSON_AddNumberToObject(j, "timeout_s", s->timeout_s);
    job_add_str(j, "unique_key", s->unique_key);
    job_add_str(j, "idempotency_key", s->idempotency_key);
    cJSON_AddNullToObject(j, "cron_job_id");
    cJSON_AddNullToObject(j, "cron_fire_time");
    cJSON_AddStringToObject(j, "dt_created", ref->created);
    /* The INSERT sets dt_queued to the same NOW(6) as dt_created when the job is due. */
    job_add_str(j, "dt_queued", queued ? ref->created : NULL);
    for (int i = 0; unset[i]; i++)
        cJSON_AddNullToObject(j, unset[i]);
    cJSON_AddNumberToObject(j, "cancel_requested", 0);
    cJSON_AddArrayToObject(j, "attempts");
    return j;
}

/* "<prefix>-sha256:<hex SHA-256 of text>" into out (JOB_UNIQUE_KEY_SIZE bytes; may be text). */
static void
job_key_hash(const char *prefix, const char *text, char *out)
{
    uint8_t d[HMAC_SHA256_LEN];
    char hex[2 * HMAC_SHA256_LEN + 1];
    hmac_digest(text, strlen(text), d);
    hmac_hex(d, sizeof(d), hex);
    snprintf(out, JOB_UNIQUE_KEY_SIZE, "%s-sha256:%s", prefix, hex);
}

/* Puts c at key[*n] while it fits with its NUL, and counts it either way. */
static void
job_key_put(char *key, size_t *n, char c)
{
    if (*n + 1 < JOB_UNIQUE_KEY_SIZE) {
        key[*n] = c;
        key[*n + 1] = '\0';
    }
    (*n)++;
}

/* Appends ":" and text to key (holding *n characters) with ':' and '\\' escaped by a '\\', so
 * that values cannot run into each other or into the dry-run mark ("1:X" then "n" is not "1"
 * then "X:n"); keys of values without either are as before. Past the end of key only the
 * length is counted. */
static void
job_key_append(char *key, size_t *n, const char *text)
{
    job_key_put(key, n, ':');
    for (const char *p = text; *p; p++) {
        if (*p == ':' || *p == '\\')
            job_key_put(key, n, '\\');
        job_key_put(key, n, *p);
    }
}

const char *
job_unique_key(const char *action, const char *unique_by, const char *params, char *key,
               const char **field, char *err, size_t errlen)
{
    cJSON *p = cJSON_Parse(params);
    size_t n = (size_t)snprintf(key, JOB_UNIQUE_KEY_SIZE, "%s", action);
    char *names = xstrdup(unique_by), *save = NULL;
    const char *result = key;
    for (char *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, name);
        char *text = cJSON_IsString(v)   ? xstrdup(v->valuestring)
                     : cJSON_IsNumber(v) ? json_print(v)
                                         : NULL;
        if (text == NULL) {
            *field = "parameters";
            snprintf(err, errlen, "parameters: \"%s\" (a string or number) is required by %s", name,
                     action);
            result = NULL;
            break;
        }
        /* Past the end only the length is counted: the key is refused below. */
        job_key_append(key, &n, text);
        free(text);
    }
    free(names);
    /* A dry run holds a key of its own: with the real job's key, a dry run of a client's sync
     * would absorb the real syncs enqueued while it runs (a value's ':' is escaped). */
    if (result && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "dry_run"))) {
        size_t room = n < JOB_UNIQUE_KEY_SIZE ? JOB_UNIQUE_KEY_SIZE - n : 0;
        n += (size_t)snprintf(room ? key + n : NULL, room, ":dry-run");
    }
    cJSON_Delete(p);
    if (result && n >= JOB_UNIQUE_KEY_SIZE) {
        *field = "parameters";
        snprintf(err, errlen, "the unique key made from %s is longer than %d characters", unique_by,
                 JOB_UNIQUE_KEY_SIZE - 1);
        return NULL;
    }
    /* A value ending in a space: hashed, so that it stays apart from the one without. */
    if (result && job_key_padded(key))
        job_key_hash(action, key, key);
    return result;
}

bool
job_key_padded(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && key[n - 1] == ' ';
}

bool
job_client_key_ok(const char *key)
{
    return key && *key && utf8_valid(key, strlen(key));
}

void
job_idempotency_key(const char *ns, const char *key, char *out)
{
    size_t n = strlen(key);
    if (n <= JOB_CLIENT_KEY_MAX && !job_key_padded(key)) {
        snprintf(out, JOB_UNIQUE_KEY_SIZE, "%s:%s", ns, key);
        return;
    }
    job_key_hash(ns, key, out);
}

enum job_err
job_spec_check(const struct job_spec *spec, bool test_actions, struct job_spec *out,
               const char **field, char *err, size_t errlen)
{
    *out = *spec;
    *field = NULL;
    if (spec->action == NULL || spec->action[0] == '\0') {
        *field = "action";
        snprintf(err, errlen, "an action is required");
        return JOB_E_INPUT;
    }
    const struct action_info *def = action_find(spec->action, test_actions);
    if (def == NULL) {
        *field = "action";
        snprintf(err, errlen, "unknown action \"%s\"", spec->action);
        return JOB_E_INPUT;
    }
    if (out->parameters == NULL)
        out->parameters = "{}";
    /* cJSON takes any bytes inside a string; the utf8mb4 column would refuse them later, as a
     * database error rather than the input's. */
    size_t plen = strlen(out->parameters), bad = utf8_invalid_at(out->parameters, plen);
    if (bad < plen) {
        *field = "parameters";
        snprintf(err, errlen, "parameters must be UTF-8 text (byte %zu is not)", bad);
        return JOB_E_INPUT;
    }
    if (json_text_has_nul(out->parameters, plen)) {
        *field = "parameters";
        snprintf(err, errlen, "parameters hold " JSON_NUL_REFUSED);
        return JOB_E_INPUT;
    }
    cJSON *p = cJSON_ParseWithOpts(out->parameters, NULL, 1);
    if (p == NULL) {
        *field = "parameters";
        snprintf(err, errlen, "parameters are not valid JSON");
        return JOB_E_INPUT;
    }
    bool is_obj = cJSON_IsObject(p);
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive(p, "dry_run");
    bool dry_ok = dry == NULL || cJSON_IsBool(dry);
    cJSON_Delete(p);
    if (!is_obj) {
        *field = "parameters";
        snprintf(err, errlen, "parameters must be a JSON object");
        return JOB_E_INPUT;
    }
    /* Only true asks for a dry run: "true" or 1 would run the job for real. */
    if (!dry_ok) {
        *field = "parameters";
        snprintf(err, errlen, "parameters: \"dry_run\" must be true or false");
        return JOB_E_INPUT;
    }
    if (out->queue == NULL || out->queue[0] == '\0')
        out->queue = def->queue;
    if (!job_queue_name_ok(out->queue)) {
        *field = "queue";
        snprintf(err, errlen, "queue \"%s\" must be 1-64 of [A-Za-z0-9._-]", out->queue);
        return JOB_E_INPUT;
    }
    if (out->priority < JOB_PRIORITY_MIN || out->priority > JOB_PRIORITY_MAX) {
        *field = "priority";
        snprintf(err, errlen, "priority must be in %d..%d", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX);
        return JOB_E_INPUT;
    }
    if (out->max_attempts == 0)
        out->max_attempts = def->max_attempts;
    if (out->max_attempts < 1 || out->max_attempts > 1000) {
        *field = "max_attempts";
        snprintf(err, errlen, "max_attempts must be in 1..1000");
        return JOB_E_INPUT;
    }
    if (out->timeout_s == 0)
        out->timeout_s = def->timeout_s;
    if (out->timeout_s < 1 || out->timeout_s > 7 * 86400) {
        *field = "timeout_s";
        snprintf(err, errlen, "timeout_s must be in 1..604800");
        return JOB_E_INPUT;
    }
    char made[JOB_UNIQUE_KEY_SIZE];
    /* Checked here, made again by job_insert: a spec holds only borrowed strings. */
    if (out->unique_key == NULL && def->unique_by &&
        job_unique_key(def->action, def->unique_by, out->parameters, made, field, err, errlen) ==
            NULL)
        return JOB_E_INPUT;
    if (out->unique_key && (out->unique_key[0] == '\0' || strlen(out->unique_key) > 191)) {
        *field = "unique_key";
        snprintf(err, errlen, "unique_key must be 1-191 characters");
        return JOB_E_INPUT;
    }
    if (out->unique_key && job_key_padded(out->unique_key)) {
        *field = "unique_key";
        snprintf(err, errlen,
                 "unique_key must not end with a space (the database would take it "
                 "for the key without)");
        return JOB_E_INPUT;
    }
    /* A key MariaDB would mangle (bytes that are not UTF-8) could make two keys one. */
    const char *keys[] = {out->unique_key, out->idempotency_key};
    const char *names[] = {"unique_key", "idempotency_key"};
    for (int i = 0; i < 2; i++) {
        if (keys[i] && !utf8_valid(keys[i], strlen(keys[i]))) {
            *field = names[i];
            snprintf(err, errlen, "%s must be UTF-8 text", names[i]);
            return JOB_E_INPUT;
        }
    }
    if (out->origin == NULL)
        out->origin = "cli";
    return JOB_E_OK;
}

int
job_find_existing(struct db *db, const struct job_spec *s, struct job_ref *ref)
{
    static const char *const where[] = {"idempotency_key = ?", "unique_key = ?",
                                        "cron_job_id = ? AND cron_fire_time = ?"};
    for (int k = 0; k < 3; k++) {
        struct db_param p[2];
        int n = 0;
        if (k == 0 && s->idempotency_key)
            p[n++] = DBS(s->idempotency_key);
        else if (k == 1 && s->unique_key)
            p[n++] = DBS(s->unique_key);
        else if (k == 2 && s->cron_job_id) {
            p[n++] = DBI(s->cron_job_id);
            p[n++] = DBS(s->cron_fire_time);
        }
        if (n == 0)
            continue;
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT id, uuid, queue, state, priority FROM jobs WHERE %s",
                 where[k]);
        struct db_rows *r = db_query(db, sql, p, n);
        if (r == NULL)
            return -1;
        bool found = r->n_rows > 0;
        if (found) {
            ref->id = db_rows_int(r, 0, 0, 0);
            snprintf(ref->uuid, sizeof(ref->uuid), "%s", db_rows_get(r, 0, 1));
            snprintf(ref->queue, sizeof(ref->queue), "%s", db_rows_get(r, 0, 2));
            snprintf(ref->state, sizeof(ref->state), "%s", db_rows_get(r, 0, 3));
            ref->priority = (int)db_rows_int(r, 0, 4, 0);
            ref->run_at[0] = ref->created[0] = '\0';
            ref->existing = true;
        }
        db_rows_free(r);
        if (found)
            return 0;
    }
    return 1;
}

int
job_spec_unique_key(const struct job_spec *s, char *made, const char **key, char *err,
                    size_t errlen)
{
    *key = s->unique_key;
    const struct action_info *def = action_find(s->action, true);
    if (*key || def == NULL || def->unique_by == NULL)
        return 0;
    const char *field = NULL;
    *key = job_unique_key(def->action, def->unique_by, s->parameters, made, &field, err, errlen);
    return *key ? 0 : -1;
}

enum job_err
job_insert(struct db *db, const struct job_spec *s, struct job_ref *ref, char *err, size_t errlen)
{
    memset(ref, 0, sizeof(*ref));
    struct job_spec with_key;
    char made[JOB_UNIQUE_KEY_SIZE];
    const char *key;
    if (job_spec_unique_key(s, made, &key, err, errlen) < 0)
        return JOB_E_INPUT;
    if (key != s->unique_key) {
        with_key = *s;
        with_key.unique_key = key;
        s = &with_key;
    }
    /* A duplicate key races with the holder finishing and releasing it: try again a few times. */
    for (int tries = 0; tries < 5; tries++) {
        bool inserted = false;
        enum job_err e = job_insert_rows(db, s, 1, false, ref, &inserted, err, errlen);
        if (e == JOB_E_OK && inserted)
            return JOB_E_OK;
        if (e == JOB_E_OK) {
            snprintf(err, errlen, "insert job: the row was not inserted");
            return JOB_E_DB;
        }
        if (!db_duplicate(db))
            return e;
        int f = job_find_existing(db, s, ref);
        if (f == 0)
            return JOB_E_OK;
        if (f < 0) {
            snprintf(err, errlen, "find existing job: %s", db_errstr(db));
            return JOB_E_DB;
        }
    }
    snprintf(err, errlen, "insert job: unique key kept changing hands");
    return JOB_E_DB;
}

int
job_push(struct rq *rq, const struct job_ref *ref)
{
    if (strcmp(ref->state, "queued") != 0)
        return 0;
    if (rq_push(rq, ref->queue, &ref->id, &ref->priority, 1) < 0) {
        log_warnx("push job %lld: %s (the scheduler will push it)", (long long)ref->id,
                  rq_errstr(rq));
        return -1;
    }
    return 0;
}

/* Adds the job's last JOB_GET_ATTEMPTS attempt rows to j as "attempts", oldest first, and when
 * there are more, how many were left out ("attempts_omitted"): a job retried a thousand times
 * would otherwise make one reply of every reason and log it ever had. *first is the first
 * attempt number shown (0 when none). Returns 0 or -1. */
static int
job_get_attempts(struct db *db, int64_t id, cJSON *j, int64_t *first)
{
    struct db_rows *r = db_query(db,
                                 "SELECT attempt, instance_id, dt_started, dt_completed, outcome, "
                                 "reason, execution_ms FROM (SELECT * FROM job_attempts WHERE "
                                 "job_id = ? ORDER BY attempt DESC, id DESC LIMIT ?) a "
                                 "ORDER BY attempt, id",
                                 DB_P(DBI(id), DBI(JOB_GET_ATTEMPTS)));
    if (r == NULL)
        return -1;
    *first = r->n_rows ? db_rows_int(r, 0, 0, 0) : 0;
    cJSON_AddItemToObject(j, "attempts", json_from_rows(r));
    bool full = r->n_rows == JOB_GET_ATTEMPTS;
    db_rows_free(r);
    if (!full)
        return 0;
    r = db_query(db, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id)));
    if (r == NULL)
        return -1;
    int64_t left = db_rows_int(r, 0, 0, 0) - JOB_GET_ATTEMPTS;
    db_rows_free(r);
    if (left > 0)
        cJSON_AddNumberToObject(j, "attempts_omitted", (double)left);
    return 0;
}

cJSON *
job_get(struct db *db, int64_t id, enum job_err *e, char *err, size_t errlen)
{
    struct db_rows *r =
        db_query(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?", DB_P(DBI(id)));
    if (r == NULL) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "read job: %s", db_errstr(db));
        return NULL;
    }
    if (r->n_rows == 0) {
        db_rows_free(r);
        *e = JOB_E_NOTFOUND;
        snprintf(err, errlen, "no job with id %lld", (long long)id);
        return NULL;
    }
    cJSON *j = json_from_row(r, 0);
    db_rows_free(r);
    int64_t first = 0;
    if (job_get_attempts(db, id, j, &first) < 0) {
        cJSON_Delete(j);
        *e = JOB_E_DB;
        snprintf(err, errlen, "read attempts: %s", db_errstr(db));
        return NULL;
    }
    if (job_log_attach(db, id, first, j) < 0) {
        cJSON_Delete(j);
        *e = JOB_E_DB;
        snprintf(err, errlen, "read job logs: %s", db_errstr(db));
        return NULL;
    }
    *e = JOB_E_OK;
    return j;
}

cJSON *
job_list(struct db *db, const struct job_filter *f, char *err, size_t errlen)
{
    /* The filters are bound; the text only gains fixed fragments for the ones present. */
    struct buf sql;
    buf_init(&sql, 0);
    /* A filter few jobs match walks the table back to its start: the bound keeps that from
     * holding a producer thread and MariaDB for as long as the table is big. */
    char prefix[96];
    job_query_timeout_prefix(f->timeout_ms, prefix, sizeof(prefix));
    buf_appends(&sql, prefix);
    buf_appends(&sql, "SELECT id, uuid, origin, queue, action, priority, state, run_at, attempt, "
                      "max_attempts, dt_created, dt_started, dt_completed, execution_ms, "
                      "failure_reason FROM jobs WHERE 1=1");
    struct db_param p[5];
    int n = 0;
    if (f->state) {
        buf_appends(&sql, " AND state = ?");
        p[n++] = DBS(f->state);
    }
    if (f->action) {
        buf_appends(&sql, " AND action = ?");
        p[n++] = DBS(f->action);
    }
    if (f->queue) {
        buf_appends(&sql, " AND queue = ?");
        p[n++] = DBS(f->queue);
    }
    if (f->after_id > 0) {
        buf_appends(&sql, " AND id < ?");
        p[n++] = DBI(f->after_id);
    }
    buf_appends(&sql, " ORDER BY id DESC LIMIT ?");
    p[n++] = DBI(f->limit > 0 ? f->limit : 50);
    struct db_rows *r = db_query(db, sql.data, p, n);
    buf_release(&sql);
    if (r == NULL) {
        snprintf(err, errlen, "list jobs: %s", db_errstr(db));
        return NULL;
    }
    cJSON *a = json_from_rows(r);
    db_rows_free(r);
    return a;
}

cJSON *
job_stats(struct db *db, char *err, size_t errlen)
{
    struct db_rows *r = db_query(db,
                                 "SELECT " JOB_QUEUE_EXACT ", state, COUNT(*) AS n FROM jobs "
                                 "GROUP BY 1, 2 ORDER BY 1, 2",
                                 DB_NOP);
    if (r == NULL) {
        snprintf(err, errlen, "stats: %s", db_errstr(db));
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *by_state = cJSON_AddObjectToObject(o, "states");
    cJSON *by_queue = cJSON_AddObjectToObject(o, "queues");
    static const char *states[] = {"pending",   "queued", "running",
                                   "succeeded", "failed", "cancelled"};
    for (int i = 0; i < 6; i++)
        cJSON_AddNumberToObject(by_state, states[i], 0);
    for (int i = 0; i < r->n_rows; i++) {
        const char *q = db_rows_get(r, i, 0), *st = db_rows_get(r, i, 1);
        double cnt = (double)db_rows_int(r, i, 2, 0);
        cJSON *s = cJSON_GetObjectItemCaseSensitive(by_state, st);
        if (s)
            cJSON_SetNumberValue(s, s->valuedouble + cnt);
        cJSON *qo = cJSON_GetObjectItemCaseSensitive(by_queue, q);
        if (qo == NULL)
            qo = cJSON_AddObjectToObject(by_queue, q);
        cJSON_AddNumberToObject(qo, st, cnt);
    }
    db_rows_free(r);
    int64_t workers, slots;
    if (instance_live(db, &workers, &slots) == 0) {
        cJSON_AddNumberToObject(o, "workers", (double)workers);
        cJSON_AddNumberToObject(o, "slots", (double)slots);
    }
    return o;
}

struct db_rows *
job_live_counts(struct db *db)
{
    return db_query(db,
                    "SELECT " JOB_QUEUE_EXACT ", state, COUNT(*), SUM(limit_deferred) FROM jobs "
                    "WHERE state IN ('pending','queued','running') GROUP BY 1, 2 ORDER BY 1, 2",
                    DB_NOP);
}

const struct metric_def job_metric_enqueued = {
    "jobfleet_jobs_enqueued_total",
    "Jobs made (committed) by this process, by queue and action: webhooks and API jobs in the "
    "producer, cron fires in the scheduler, child jobs in the worker.",
    METRIC_COUNTER,
    {"queue", "action"},
    NULL,
    0};

void
job_count_enqueued(const char *action, const struct job_ref *ref)
{
    if (!ref->existing && action)
        metrics_add(&job_metric_enqueued, ref->queue, action, 1);
}

bool
job_queue_name_ok(const char *q)
{
    size_t l = strlen(q);
    if (l == 0 || l > 64)
        return false;
    for (size_t i = 0; i < l; i++)
        if (!((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= 'A' && q[i] <= 'Z') ||
              (q[i] >= '0' && q[i] <= '9') || q[i] == '-' || q[i] == '_' || q[i] == '.'))
            return false;
    return true;
}

/* Whether a stored job with this action and these parameters (as stored, NULL for none) was
 * made by the request s repeats. */
static bool
job_same_parts(const char *action, const char *stored, const struct job_spec *s)
{
    if (action == NULL || strcmp(action, s->action) != 0)
        return false;
    cJSON *a = cJSON_Parse(stored ? stored : "{}"),
          *b = cJSON_Parse(s->parameters ? s->parameters : "{}");
    bool same = a && b && json_equal(a, b);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

bool
job_same_request(const cJSON *j, const struct job_spec *s)
{
    return job_same_parts(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "action")),
                          cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "parameters")),
                          s);
}

/* The first of the k jobs idx[] names whose stored row (in r) has its idempotency key and
 * another request's action or parameters, or -1. */
static int
job_first_other_request(const struct db_rows *r, const struct job_spec *specs,
                        const struct job_ref *refs, const int *idx, int k)
{
    for (int a = 0; a < k; a++) {
        const struct job_spec *s = &specs[idx[a]];
        for (int row = 0; row < r->n_rows; row++) {
            if (db_rows_int(r, row, 0, 0) != refs[idx[a]].id)
                continue;
            const char *key = db_rows_get(r, row, 1);
            if (key && strcmp(key, s->idempotency_key) == 0 &&
                !job_same_parts(db_rows_get(r, row, 2), db_rows_get(r, row, 3), s))
                return idx[a];
            break;
        }
    }
    return -1;
}

int
job_first_key_reused(struct db *db, const struct job_spec *specs, const struct job_ref *refs, int n,
                     char *err, size_t errlen)
{
    enum { CHUNK = 256 };
    struct db_param p[CHUNK];
    int idx[CHUNK];
    for (int i = 0; i < n;) {
        int k = 0;
        for (; i < n && k < CHUNK; i++)
            if (refs[i].existing && specs[i].idempotency_key) {
                idx[k] = i;
                p[k++] = DBI(refs[i].id);
            }
        if (k == 0)
            continue;
        struct db_rows *r = db_query_in(
            db, "SELECT id, idempotency_key, action, parameters FROM jobs WHERE id IN ", p, k);
        if (r == NULL) {
            snprintf(err, errlen, "read the jobs of the keys: %s", db_errstr(db));
            return -2;
        }
        int bad = job_first_other_request(r, specs, refs, idx, k);
        db_rows_free(r);
        if (bad >= 0)
            return bad;
    }
    return -1;
}
