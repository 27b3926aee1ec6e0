/* This file is the JSON API under /api/: create one job or many, read, list, retry and cancel,
 * behind a bearer token ([producer] api_token). It is a thin layer over common/job.c and
 * job_change.c, the places that know the jobs table's SQL; errors are {"error": "...", "field":
 * ...} with 400 (bad input, naming the field), 401, 404, 405, 409 (wrong state or a unique key
 * already held), 413 and 503 (MariaDB unavailable; with "stored": "unknown" when the answer to the
 * write that makes jobs was lost, so they may exist). Routes and examples: docs/api.md.
 *
 * A single job (POST /api/jobs) goes through the webhooks' group-commit writer: the request is
 * suspended until the writer has committed it together with whatever else arrived meanwhile,
 * so concurrent clients share commits, and the reply is built from what the insert knows. */
#include "action.h"
#include "api.h"
#include "caltime.h"
#include "hmac.h"
#include "http_server.h"
#include "job_batch.h"
#include "json.h"
#include "json_escape.h"
#include "log.h"
#include "log_limit.h"
#include "producer.h"
#include "producer_writer.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_BULK_MAX 1000
#define API_LIST_MAX 1000
#define API_RETRY_AFTER_S 5

/* The last second of 9999-12-31 UTC: a unix time past it is no DATETIME. */
#define API_RUN_AT_MAX_S 253402300799.0

int
api_begin(struct http_req *r)
{
    const char *want = r->p->cfg->producer.api_token;
    if (want == NULL || want[0] == '\0') {
        http_reply_error(r, 404, NULL, "the JSON API is disabled ([producer] api_token is empty)");
        return 1;
    }
    const char *a = http_headers_get(&r->headers, "authorization");
    const char *why = NULL;
    if (a == NULL)
        why = "no Authorization header";
    else if (strncmp(a, "Bearer ", 7) != 0)
        why = "Authorization is not a Bearer token";
    else if (!hmac_secret_equal(a + 7, strlen(a + 7), want, strlen(want)))
        why = "wrong token";
    if (why == NULL)
        return 0;
    /* The reason is for the log: the caller learns only that it is not let in. */
    static struct log_limit limit = LOG_LIMIT_INIT("API 401");
    log_warnx_limited(&limit, "api %s %s: 401: %s", r->method, r->url, why);
    http_reply_with(r, 401, NULL, "{\"error\":\"authentication required\",\"field\":null}",
                    "WWW-Authenticate", "Bearer realm=\"jobfleet\"");
    return 1;
}

void
api_reply_json(struct http_req *r, int status, const cJSON *j)
{
    char *s = json_print(j);
    http_reply(r, status, NULL, s, NULL);
    free(s);
}

const struct audit_by api_by = {"api-token", NULL};

void
api_db_error(struct http_req *r, const char *err)
{
    /* One line per request would let any client fill the disk while MariaDB is down. */
    static struct log_limit limit = LOG_LIMIT_INIT("API database error");
    log_warnx_limited(&limit, "api %s %s: %s", r->method, r->url, err);
    http_reply_unavailable(r, API_RETRY_AFTER_S, "database unavailable: %s", err);
}

/* Replies to a write whose outcome is unknown (its answer was lost, or MariaDB did not answer
 * in time): the jobs may be stored, so the reply must not read as "nothing stored", and says
 * how to find out. */
static void
api_unknown(struct http_req *r, const char *why)
{
    static struct log_limit limit = LOG_LIMIT_INIT("API outcome unknown");
    log_warnx_limited(&limit, "api %s %s: outcome unknown: %s", r->method, r->url, why);
    cJSON *o = cJSON_CreateObject();
    char *msg = xasprintf("outcome unknown: %s; the job may or may not be stored: retry with the "
                          "same Idempotency-Key",
                          why);
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNullToObject(o, "field");
    cJSON_AddStringToObject(o, "code", "outcome_unknown");
    cJSON_AddStringToObject(o, "stored", "unknown");
    char *body = json_print(o);
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", API_RETRY_AFTER_S);
    http_reply_with(r, 503, NULL, body, "Retry-After", ra);
    free(body);
    free(msg);
    cJSON_Delete(o);
}

cJSON *
api_parse(struct http_req *r, bool required)
{
    if (r->body.len == 0 && !required)
        return cJSON_CreateObject();
    if (json_text_has_nul(r->body.data, r->body.len)) {
        http_reply_error(r, 400, "body", "the body holds " JSON_NUL_REFUSED);
        return NULL;
    }
    long at = 0;
    cJSON *j = http_body_json(r, &at);
    if (j == NULL) {
        if (r->body.len == 0)
            http_reply_error(r, 400, "body", "a JSON body is required");
        else
            http_reply_error(r, 400, "body", "the body is not valid JSON (error at byte %ld)", at);
    }
    return j;
}

static int
api_int(const cJSON *v, int64_t min, int64_t max, int *out)
{
    int64_t n;
    if (!json_int_of(v, min, max, &n))
        return -1;
    *out = (int)n;
    return 0;
}

/* Fills spec from one JSON object. Strings stay borrowed from o, except *params_own (printed
 * parameters), which the caller frees. With with_key, an "idempotency_key" field is taken
 * into spec->idempotency_key as the client sent it (the caller maps it with
 * job_idempotency_key); without, it is an unknown field. Writes the problem and the field on
 * error. */
static int
api_spec(const cJSON *o, bool with_key, struct job_spec *spec, char **params_own,
         const char **field, char *err, size_t errlen)
{
    memset(spec, 0, sizeof(*spec));
    spec->origin = "api";
    *params_own = NULL;
    if (!cJSON_IsObject(o)) {
        *field = NULL;
        snprintf(err, errlen, "a job is a JSON object");
        return -1;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, o)
    {
        const char *k = v->string;
        *field = k;
        bool ok = true;
        if (strcmp(k, "action") == 0 || strcmp(k, "queue") == 0 || strcmp(k, "unique_key") == 0) {
            ok = cJSON_IsString(v);
            const char *s = ok ? v->valuestring : NULL;
            if (k[0] == 'a')
                spec->action = s;
            else if (k[0] == 'q')
                spec->queue = s;
            else
                spec->unique_key = s;
        } else if (with_key && strcmp(k, "idempotency_key") == 0) {
            ok = cJSON_IsString(v) && v->valuestring[0] != '\0';
            spec->idempotency_key = ok ? v->valuestring : NULL;
        } else if (strcmp(k, "parameters") == 0) {
            ok = cJSON_IsObject(v);
            if (ok && json_params_inexact(v, err, errlen))
                return -1;
            if (ok) {
                free(*params_own);
                *params_own = json_print(v);
                spec->parameters = *params_own;
            }
        } else if (strcmp(k, "priority") == 0) {
            ok = api_int(v, JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &spec->priority) == 0;
        } else if (strcmp(k, "max_attempts") == 0) {
            ok = api_int(v, 1, 1000, &spec->max_attempts) == 0;
        } else if (strcmp(k, "timeout_s") == 0) {
            ok = api_int(v, 1, 604800, &spec->timeout_s) == 0;
        } else if (strcmp(k, "run_at") == 0) {
            if (cJSON_IsString(v))
                ok = caltime_parse(v->valuestring, &spec->run_at_ms) == 0;
            else if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
                     v->valuedouble <= API_RUN_AT_MAX_S) /* checked before the conversion */
                spec->run_at_ms = (int64_t)(v->valuedouble * 1000.0);
            else
                ok = false;
        } else {
            snprintf(err, errlen, "unknown field \"%s\"", k);
            return -1;
        }
        if (!ok) {
            snprintf(err, errlen, "%s has the wrong type or is out of range (see docs/api.md)", k);
            return -1;
        }
    }
    *field = NULL;
    return 0;
}

/* A POST /api/jobs waiting for the group-commit writer. */
struct api_state {
    struct producer_write *w;
    char *idem;         /* the idempotency key made from the Idempotency-Key header, or NULL */
    bool submit_failed; /* the writer refused the item: MariaDB is known to be down */
};

void
api_end(struct http_req *r)
{
    struct api_state *st = r->api;
    if (st == NULL)
        return;
    producer_write_release(st->w);
    free(st->idem);
    free(st);
    r->api = NULL;
}

static void
api_reply_held(struct http_req *r, const struct job_ref *ref)
{
    char *b = xasprintf("{\"error\":\"job %lld (%s) already holds this unique_key\","
                        "\"field\":\"unique_key\",\"job_id\":%lld}",
                        (long long)ref->id, ref->state, (long long)ref->id);
    http_reply(r, 409, NULL, b, NULL);
    free(b);
}

/* Replies once the writer committed the job (or found the one its keys belong to). */
static void
api_create_done(struct http_req *r, struct api_state *st)
{
    const struct job_spec *s = &st->w->spec;
    const struct job_ref *ref = &st->w->ref;
    /* A live job holding the unique key is a conflict, unless the Idempotency-Key is the
     * one the job was made with: then this is a repeat of that request. */
    if (ref->existing && st->idem == NULL) {
        api_reply_held(r, ref);
        return;
    }
    if (!ref->existing) {
        /* A new job: the reply is what the insert knows, with the unique key it was stored
         * under. Not read back: a read that failed after the commit answered 503 for a job
         * that was stored. */
        struct job_spec stored = *s;
        char made[JOB_UNIQUE_KEY_SIZE], err[256];
        if (job_spec_unique_key(s, made, &stored.unique_key, err, sizeof(err)) < 0)
            stored.unique_key = NULL;
        cJSON *j = job_new_json(&stored, ref);
        cJSON_AddBoolToObject(j, "existing", false);
        api_reply_json(r, 201, j);
        cJSON_Delete(j);
        return;
    }
    /* The row must be read: it is another request's job. */
    char err[512];
    enum job_err e;
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *j = job_get(c->db, ref->id, &e, err, sizeof(err));
    producer_pool_put(r->p, c);
    if (j == NULL) {
        api_db_error(r, err);
        return;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "idempotency_key");
    if (ref->existing && !(cJSON_IsString(k) && strcmp(k->valuestring, st->idem) == 0)) {
        api_reply_held(r, ref);
    } else if (ref->existing && !job_same_request(j, s)) {
        http_reply_error(r, 422, "Idempotency-Key",
                         "this Idempotency-Key made job %lld, with another action or other "
                         "parameters: use a new key for a new request",
                         (long long)ref->id);
    } else {
        cJSON_AddBoolToObject(j, "existing", ref->existing);
        api_reply_json(r, ref->existing ? 200 : 201, j);
    }
    cJSON_Delete(j);
}

/* The writer answered (or was never reachable). */
static void
api_create_resumed(struct http_req *r, struct api_state *st)
{
    int s = st->submit_failed ? PW_FAILED : producer_write_state(r->p->writer, st->w);
    if (s == PW_PENDING) {
        /* Not answered yet: a wake from an earlier suspension. Wait again. */
        http_suspend(r);
    } else if (s == PW_DONE) {
        api_create_done(r, st);
    } else if (s == PW_TIMEOUT) {
        /* The insert may still commit: only a retry with the same Idempotency-Key is safe. */
        api_unknown(r, "MariaDB did not answer within [producer] db_timeout_ms");
    } else if (s == PW_UNKNOWN) {
        api_unknown(r, st->w->err);
    } else if (s == PW_REFUSED) {
        http_reply_error(r, 413, "parameters", "%s", st->w->err);
    } else {
        api_db_error(r, st->submit_failed ? "MariaDB unavailable" : st->w->err);
    }
}

/* POST /api/jobs: checked here, then handed to the writer; the request sleeps until the
 * writer wakes it (api_create_resumed). */
static void
api_create(struct http_req *r)
{
    if (r->api) {
        api_create_resumed(r, r->api);
        return;
    }
    cJSON *body = api_parse(r, true);
    if (body == NULL)
        return;
    struct job_spec spec, checked;
    char *params = NULL, *idem = NULL, err[512];
    const char *field = NULL;
    if (api_spec(body, false, &spec, &params, &field, err, sizeof(err)) < 0 ||
        job_spec_check(&spec, r->p->cfg->worker.test_actions, &checked, &field, err, sizeof(err)) !=
            JOB_E_OK) {
        http_reply_error(r, 400, field, "%s", err);
        goto out;
    }
    const char *key = http_headers_get(&r->headers, "idempotency-key");
    if (key && *key && !job_client_key_ok(key)) {
        http_reply_error(r, 400, "Idempotency-Key", "Idempotency-Key must be UTF-8 text");
        goto out;
    }
    if (key && *key) {
        idem = xcalloc(1, JOB_UNIQUE_KEY_SIZE);
        job_idempotency_key("api", key, idem);
        checked.idempotency_key = idem;
    }
    if (!producer_writer_db_up(r->p->writer)) {
        api_db_error(r, "MariaDB unavailable");
        goto out;
    }
    struct api_state *st = xcalloc(1, sizeof(*st));
    r->api = st;
    st->idem = idem;
    idem = NULL;
    st->w = producer_write_new(&checked); /* copies the strings borrowed from body */
    st->w->wake = http_wake;
    st->w->wake_arg = r;
    /* Suspend first: the writer may answer before submit even returns. */
    http_suspend(r);
    if (producer_writer_submit(r->p->writer, st->w) < 0) {
        st->submit_failed = true;
        http_wake(r);
    }
out:
    cJSON_Delete(body);
    free(params);
    free(idem);
}

/* The stored idempotency key of bulk job i into out (JOB_UNIQUE_KEY_SIZE bytes): its own
 * "idempotency_key", else "<header>:<i>" when the request has an Idempotency-Key header, so a
 * repeat of the same request finds the same jobs. False when it has neither. */
static bool
api_bulk_key(const struct job_spec *spec, const char *header, int i, char *out)
{
    if (spec->idempotency_key) {
        job_idempotency_key("api", spec->idempotency_key, out);
        return true;
    }
    if (header == NULL || header[0] == '\0')
        return false;
    char *k = xasprintf("%s:%d", header, i);
    job_idempotency_key("api", k, out);
    free(k);
    return true;
}

/* The bulk reply, {"jobs":[{"id","uuid","queue","state","existing"},...]}, as cJSON would
 * print it but written straight into a buffer: a cJSON tree of 1,000 jobs, printed, cost ~20 %
 * of the producer's CPU for the request. */
static char *
api_bulk_reply(const struct job_ref *refs, int n)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "{\"jobs\":[");
    for (int i = 0; i < n; i++) {
        buf_printf(&b, "%s{\"id\":%lld,\"uuid\":", i ? "," : "", (long long)refs[i].id);
        json_escape_append(&b, refs[i].uuid, strlen(refs[i].uuid));
        buf_appends(&b, ",\"queue\":");
        json_escape_append(&b, refs[i].queue, strlen(refs[i].queue));
        buf_appends(&b, ",\"state\":");
        json_escape_append(&b, refs[i].state, strlen(refs[i].state));
        buf_appends(&b, refs[i].existing ? ",\"existing\":true}" : ",\"existing\":false}");
    }
    buf_appends(&b, "]}");
    return buf_detach(&b);
}

/* The 422 for bulk job i, whose idempotency key (its own, else the request's header) made
 * job ref with another action or other parameters. */
static void
api_bulk_reused(struct http_req *r, const cJSON *arr, int i, const struct job_ref *ref)
{
    char f[64];
    if (cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "idempotency_key"))
        snprintf(f, sizeof(f), "jobs[%d].idempotency_key", i);
    else
        snprintf(f, sizeof(f), "Idempotency-Key");
    http_reply_error(r, 422, f,
                     "job %d: its idempotency key made job %lld, with another action or other "
                     "parameters: use a new key for a new request",
                     i, (long long)ref->id);
}

/* POST /api/jobs/bulk: every job is checked first, then all go in one transaction. */
static void
api_bulk(struct http_req *r)
{
    cJSON *body = api_parse(r, true);
    if (body == NULL)
        return;
    const cJSON *arr = cJSON_IsArray(body) ? body : cJSON_GetObjectItemCaseSensitive(body, "jobs");
    int n = cJSON_GetArraySize(arr);
    struct job_spec *specs = NULL;
    struct job_ref *refs = NULL;
    char **params = NULL, err[512];
    char(*keys)[JOB_UNIQUE_KEY_SIZE] = NULL;
    struct producer_conn *c = NULL;
    if (!cJSON_IsArray(arr) || n < 1 || n > API_BULK_MAX) {
        http_reply_error(r, 400, "jobs", "expected an array of 1 to %d jobs", API_BULK_MAX);
        goto out;
    }
    specs = xcalloc((size_t)n, sizeof(*specs));
    refs = xcalloc((size_t)n, sizeof(*refs));
    params = xcalloc((size_t)n, sizeof(*params));
    keys = xcalloc((size_t)n, sizeof(*keys));
    const char *header = http_headers_get(&r->headers, "idempotency-key");
    if (header && *header && !job_client_key_ok(header)) {
        http_reply_error(r, 400, "Idempotency-Key", "Idempotency-Key must be UTF-8 text");
        goto out;
    }
    /* A walk along the list: cJSON_GetArrayItem(arr, i) would walk it from the start for
     * every job (8 % of the producer's CPU at 1,000 jobs). */
    const cJSON *item = arr->child;
    for (int i = 0; i < n; i++, item = item->next) {
        struct job_spec spec;
        const char *field = NULL;
        if (api_spec(item, true, &spec, &params[i], &field, err, sizeof(err)) < 0 ||
            job_spec_check(&spec, r->p->cfg->worker.test_actions, &specs[i], &field, err,
                           sizeof(err)) != JOB_E_OK) {
            char f[160];
            snprintf(f, sizeof(f), "jobs[%d]%s%s", i, field ? "." : "", field ? field : "");
            http_reply_error(r, 400, f, "job %d: %s", i, err);
            goto out;
        }
        specs[i].idempotency_key = api_bulk_key(&spec, header, i, keys[i]) ? keys[i] : NULL;
    }
    c = producer_pool_get(r->p);
    if (db_begin(c->db) < 0) {
        api_db_error(r, db_errstr(c->db));
        goto out;
    }
    /* Multi-row statements (a round trip and a statement per JOB_INSERT_CHUNK jobs, not per
     * job), with job_insert's key semantics; the IDs go to Redis in one pipeline per queue. */
    if (job_insert_batch(c->db, specs, n, refs, NULL, err, sizeof(err)) != JOB_E_OK) {
        db_rollback(c->db);
        api_db_error(r, err);
        goto out;
    }
    /* A key sent again with another job must not answer "existing" for a job never made. */
    int reused = job_first_key_reused(c->db, specs, refs, n, err, sizeof(err));
    if (reused != -1) {
        db_rollback(c->db);
        if (reused == -2)
            api_db_error(r, err);
        else
            api_bulk_reused(r, arr, reused, &refs[reused]);
        goto out;
    }
    if (db_commit(c->db) < 0) {
        /* A commit whose answer was lost may have taken: say so, or a client retrying
         * without keys makes every job twice. */
        if (db_lost(c->db)) {
            api_unknown(r, db_errstr(c->db));
            goto out;
        }
        db_rollback(c->db);
        api_db_error(r, db_errstr(c->db));
        goto out;
    }
    for (int i = 0; i < n; i++)
        job_count_enqueued(specs[i].action, &refs[i]);
    producer_writer_push(r->p->writer, c->rq, refs, n);
    char *reply = api_bulk_reply(refs, n);
    http_reply(r, 201, NULL, reply, NULL);
    free(reply);
out:
    producer_pool_put(r->p, c);
    for (int i = 0; params && i < n; i++)
        free(params[i]);
    free(params);
    free(keys);
    free(specs);
    free(refs);
    cJSON_Delete(body);
}

/* GET /api/jobs?state=&action=&queue=&limit=&after= */
static void
api_list(struct http_req *r)
{
    static const char *states[] = {"pending",   "queued", "running",
                                   "succeeded", "failed", "cancelled"};
    struct job_filter f = {.state = http_query(r, "state"),
                           .action = http_query(r, "action"),
                           .queue = http_query(r, "queue"),
                           .limit = 50};
    if (f.state) {
        bool ok = false;
        for (int i = 0; i < 6; i++)
            ok |= strcmp(f.state, states[i]) == 0;
        if (!ok) {
            http_reply_error(r, 400, "state",
                             "state must be pending, queued, running, succeeded, failed or "
                             "cancelled");
            return;
        }
    }
    const char *v;
    int64_t n;
    if ((v = http_query(r, "limit")) != NULL) {
        if (parse_int64(v, 1, API_LIST_MAX, &n) < 0) {
            http_reply_error(r, 400, "limit", "limit must be an integer in 1..%d", API_LIST_MAX);
            return;
        }
        f.limit = (int)n;
    }
    if ((v = http_query(r, "after")) != NULL) {
        if (parse_int64(v, 1, INT64_MAX, &f.after_id) < 0) {
            http_reply_error(r, 400, "after", "after must be a job id");
            return;
        }
    }
    f.timeout_ms = r->p->cfg->producer.db_timeout_ms;
    char err[512];
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *jobs = job_list(c->db, &f, err, sizeof(err));
    bool timed_out = jobs == NULL && db_errno(c->db) == JOB_LIST_TIMED_OUT;
    producer_pool_put(r->p, c);
    if (timed_out) {
        http_reply_unavailable(r, API_RETRY_AFTER_S,
                               "the listing took longer than [producer] db_timeout_ms (%d ms): "
                               "few jobs match the filter and the table is large; filter by "
                               "action (indexed), or narrow with after=",
                               f.timeout_ms);
        return;
    }
    if (jobs == NULL) {
        api_db_error(r, err);
        return;
    }
    int cnt = cJSON_GetArraySize(jobs);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "jobs", jobs);
    /* Keyset paging: the next page starts below the last id of a full page. */
    const cJSON *last = cnt == f.limit ? cJSON_GetArrayItem(jobs, cnt - 1) : NULL;
    const cJSON *lid = last ? cJSON_GetObjectItemCaseSensitive(last, "id") : NULL;
    if (cJSON_IsNumber(lid))
        cJSON_AddNumberToObject(o, "next_after", lid->valuedouble);
    else
        cJSON_AddNullToObject(o, "next_after");
    api_reply_json(r, 200, o);
    cJSON_Delete(o);
}

/* GET /api/jobs/{id}, POST /api/jobs/{id}/retry, POST /api/jobs/{id}/cancel */
static void
api_one(struct http_req *r, int64_t id, const char *verb)
{
    bool post = strcmp(r->method, "POST") == 0;
    if (verb == NULL ? strcmp(r->method, "GET") != 0 : !post) {
        http_reply_not_allowed(r, verb ? "POST" : "GET");
        return;
    }
    cJSON *body = verb ? api_parse(r, false) : NULL;
    if (verb && body == NULL)
        return;
    char err[512];
    enum job_err e;
    const char *state = "queued";
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *j = NULL;
    if (verb == NULL) {
        j = job_get(c->db, id, &e, err, sizeof(err));
    } else if (strcmp(verb, "retry") == 0) {
        const cJSON *force = cJSON_GetObjectItemCaseSensitive(body, "force");
        if (force && !cJSON_IsBool(force)) {
            http_reply_error(r, 400, "force", "force must be true or false");
            goto out;
        }
        e = job_retry(c->db, c->rq, id, cJSON_IsTrue(force), &api_by, err, sizeof(err));
    } else {
        e = job_cancel(c->db, c->rq, id, &api_by, &state, err, sizeof(err));
    }
    if (e == JOB_E_NOTFOUND)
        http_reply_error(r, 404, "id", "%s", err);
    else if (e == JOB_E_STATE)
        http_reply_error(r, 409, "state", "%s", err);
    else if (e != JOB_E_OK)
        api_db_error(r, err);
    else if (j)
        api_reply_json(r, 200, j);
    else {
        char *b = xasprintf("{\"id\":%lld,\"state\":\"%s\"}", (long long)id, state);
        http_reply(r, 200, NULL, b, NULL);
        free(b);
    }
out:
    producer_pool_put(r->p, c);
    cJSON_Delete(j);
    cJSON_Delete(body);
}

void
api_handle(struct http_req *r)
{
    const char *u = r->url;
    if (strcmp(u, "/api/jobs") == 0) {
        if (strcmp(r->method, "POST") == 0)
            api_create(r);
        else if (strcmp(r->method, "GET") == 0)
            api_list(r);
        else
            http_reply_not_allowed(r, "GET, POST");
        return;
    }
    if (strcmp(u, "/api/jobs/bulk") == 0) {
        if (strcmp(r->method, "POST") == 0)
            api_bulk(r);
        else
            http_reply_not_allowed(r, "POST");
        return;
    }
    if (strcmp(u, "/api/cron") == 0 || strncmp(u, "/api/cron/", 10) == 0) {
        api_cron_handle(r);
        return;
    }
    if (strcmp(u, "/api/recordings/link-csv") == 0) {
        api_recordings_handle(r);
        return;
    }
    if (strncmp(u, "/api/companies/", 15) == 0) {
        api_tickets_handle(r);
        return;
    }
    if (strncmp(u, "/api/jobs/", 10) == 0) {
        const char *idp = u + 10;
        size_t n = strcspn(idp, "/");
        char ids[24];
        int64_t id;
        snprintf(ids, sizeof(ids), "%.*s", (int)(n < sizeof(ids) ? n : sizeof(ids) - 1), idp);
        const char *verb = idp[n] == '/' ? idp + n + 1 : NULL;
        if (verb && strcmp(verb, "retry") != 0 && strcmp(verb, "cancel") != 0) {
            http_reply_error(r, 404, NULL, "no such route: %s", u);
            return;
        }
        if (n >= sizeof(ids) || parse_int64(ids, 1, INT64_MAX, &id) < 0) {
            http_reply_error(r, 400, "id", "\"%.*s\" is not a job id", (int)(n > 40 ? 40 : n), idp);
            return;
        }
        api_one(r, id, verb);
        return;
    }
    http_reply_error(r, 404, NULL, "no such route: %s", u);
}
