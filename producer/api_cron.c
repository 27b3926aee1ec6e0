/* This file is the cron part of the JSON API: list, add, show, enable, disable, remove and the
 * next fire times of cron jobs, behind the same bearer token as /api/jobs. It is a thin layer
 * over the JSON forms in common/cronjob_json.h, which the CLI's --json shares; errors are
 * {"error": "...", "field": ...} with 400 (naming the field), 401, 404, 405, 409 and 503.
 * Routes and examples: docs/api.md.
 *
 * A cron job's name may hold '/' ("System/Cleanup/Jobs"). The route is read from the request
 * target as sent, so a name can be written with its slashes as they are, or with each one as
 * %2F; only a last segment that is literally enable, disable or next is a verb, so a name that
 * itself ends in "/next" is reached with its slash escaped. */
#include "api.h"
#include "cronjob_json.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "producer.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_CRON_PREFIX "/api/cron"
#define API_CRON_NEXT_DEFAULT 5

/* The fields a cron job is added with, and the count of /next: an error message from
 * cronjob.h that starts with one of them (e.g. "schedule: field 3 ...") is about it. */
static const char *const api_cron_fields[] = {"name",         "schedule", "action",   "parameters",
                                              "timezone",     "queue",    "priority", "timeout_s",
                                              "max_attempts", "catchup",  "count",    NULL};

/* The field an error message of cronjob.h is about, copied into out; NULL when none is. */
static const char *
api_cron_field(const char *err, char *out, size_t len)
{
    size_t w = strspn(err, "abcdefghijklmnopqrstuvwxyz_");
    for (int i = 0; api_cron_fields[i]; i++) {
        if (w == strlen(api_cron_fields[i]) && strncmp(err, api_cron_fields[i], w) == 0 &&
            (err[w] == ':' || err[w] == ' ')) {
            snprintf(out, len, "%s", api_cron_fields[i]);
            return out;
        }
    }
    static const char unknown[] = "unknown field \"";
    if (strncmp(err, unknown, sizeof(unknown) - 1) == 0) {
        const char *f = err + sizeof(unknown) - 1;
        snprintf(out, len, "%.*s", (int)strcspn(f, "\""), f);
        return out;
    }
    /* The job checks of cronjob_add: "an action is required", "unknown action \"X\"". */
    if (strstr(err, " action"))
        return "action";
    return NULL;
}

/* Replies to a failed cronjob_*_json call. */
static void
api_cron_fail(struct http_req *r, enum job_err e, const char *err, const char *conflict_field)
{
    char field[64];
    switch (e) {
    case JOB_E_INPUT:
        http_reply_error(r, 400, api_cron_field(err, field, sizeof(field)), "%s", err);
        break;
    case JOB_E_NOTFOUND:
        http_reply_error(r, 404, "name", "%s", err);
        break;
    case JOB_E_STATE:
        http_reply_error(r, 409, conflict_field, "%s", err);
        break;
    default:
        api_db_error(r, err);
        break;
    }
}

/* Percent-decodes s[0..n) into a new string ('+' stays '+': this is a path). NULL when an
 * escape is malformed or decodes to a NUL byte. */
static char *
api_cron_unescape(const char *s, size_t n)
{
    char *out = xcalloc(n + 1, 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[j++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return NULL;
        }
        out[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[j] = '\0';
    return out;
}

/* Opens the transaction a cron change and its audit_log row share; false after replying. */
static bool
api_cron_begin(struct http_req *r, struct db *db)
{
    if (db_begin(db) == 0)
        return true;
    api_db_error(r, db_errstr(db));
    return false;
}

/* Records the change made in the open transaction and commits both, so that a change is never
 * kept without its record; false after undoing the change and replying. */
static bool
api_cron_commit(struct http_req *r, struct db *db, const char *action, const char *name,
                const char *detail)
{
    char why[400], err[512];
    if (audit_commit(db, api_by.actor, action, "cron", name, detail, NULL, why, sizeof(why)) == 0)
        return true;
    snprintf(err, sizeof(err), "the change was not recorded in audit_log, so it was not made: %s",
             why);
    api_db_error(r, err);
    return false;
}

/* GET /api/cron, POST /api/cron */
static void
api_cron_collection(struct http_req *r, struct producer_conn **c)
{
    char err[512];
    enum job_err e = JOB_E_OK;
    bool get = strcmp(r->method, "GET") == 0;
    if (!get && strcmp(r->method, "POST") != 0) {
        http_reply_not_allowed(r, "GET, POST");
        return;
    }
    cJSON *body = NULL;
    if (!get && (body = api_parse(r, true)) == NULL)
        return;
    *c = producer_pool_get(r->p);
    if (!get && !api_cron_begin(r, (*c)->db)) {
        cJSON_Delete(body);
        return;
    }
    cJSON *j = get ? cronjob_list_json((*c)->db, r->p->cfg, &e, err, sizeof(err))
                   : cronjob_add_json((*c)->db, r->p->cfg, body, &e, err, sizeof(err));
    cJSON_Delete(body);
    if (j == NULL) {
        if (!get)
            db_rollback((*c)->db);
        api_cron_fail(r, e, err, "name");
        return;
    }
    if (get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "cron_jobs", j);
        j = o;
    } else {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
        const char *n = cJSON_IsString(name) ? name->valuestring : "?";
        char *detail = xasprintf("%s %s", json_str(j, "schedule", "?"), json_str(j, "action", "?"));
        bool ok = api_cron_commit(r, (*c)->db, "add", n, detail);
        free(detail);
        if (!ok) {
            cJSON_Delete(j);
            return;
        }
        log_info("api: cron job %s added", n);
    }
    api_reply_json(r, get ? 200 : 201, j);
    cJSON_Delete(j);
}

/* GET|DELETE /api/cron/{name}, POST /api/cron/{name}/enable|disable,
 * GET /api/cron/{name}/next?count=N */
static void
api_cron_one(struct http_req *r, const char *name, const char *verb, struct producer_conn **c)
{
    static const struct {
        const char *verb, *method, *allow;
    } routes[] = {
        {NULL, "GET", "GET, DELETE"}, {NULL, "DELETE", "GET, DELETE"}, {"enable", "POST", "POST"},
        {"disable", "POST", "POST"},  {"next", "GET", "GET"},
    };
    const char *allow = NULL;
    bool ok = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !ok; i++) {
        if ((verb == NULL) != (routes[i].verb == NULL) ||
            (verb && strcmp(verb, routes[i].verb) != 0))
            continue;
        allow = routes[i].allow;
        ok = strcmp(r->method, routes[i].method) == 0;
    }
    if (!ok) {
        http_reply_not_allowed(r, allow);
        return;
    }
    int64_t count = API_CRON_NEXT_DEFAULT;
    const char *cs = http_query(r, "count");
    if (verb && strcmp(verb, "next") == 0 && cs &&
        parse_int64(cs, 1, CRONJOB_NEXT_MAX, &count) < 0) {
        http_reply_error(r, 400, "count", "count must be an integer in 1..%d", CRONJOB_NEXT_MAX);
        return;
    }
    char err[512];
    enum job_err e = JOB_E_OK;
    const struct cfg *cfg = r->p->cfg;
    *c = producer_pool_get(r->p);
    struct db *db = (*c)->db;
    bool change = strcmp(r->method, "GET") != 0;
    if (change && !api_cron_begin(r, db))
        return;
    cJSON *j;
    if (verb == NULL && strcmp(r->method, "GET") == 0)
        j = cronjob_get_json(db, cfg, name, &e, err, sizeof(err));
    else if (verb == NULL)
        j = cronjob_remove_json(db, name, &e, err, sizeof(err));
    else if (strcmp(verb, "next") == 0)
        j = cronjob_next_json(db, cfg, name, (int)count, &e, err, sizeof(err));
    else
        j = cronjob_set_active_json(db, cfg, name, verb[0] == 'e', &e, err, sizeof(err));
    if (j == NULL) {
        if (change)
            db_rollback(db);
        api_cron_fail(r, e, err, NULL);
        return;
    }
    if (change && !api_cron_commit(r, db, verb ? verb : "remove", name, NULL)) {
        cJSON_Delete(j);
        return;
    }
    if (change)
        log_info("api: cron job %s %s", name,
                 verb ? (verb[0] == 'e' ? "enabled" : "disabled") : "removed");
    api_reply_json(r, 200, j);
    cJSON_Delete(j);
}

void
api_cron_handle(struct http_req *r)
{
    /* The path as sent (see the top of the file); a target written another way (escapes in
     * the prefix, absolute form) falls back to the decoded path. */
    const char *path = r->raw_url;
    size_t plen = strcspn(path, "?#");
    size_t pfx = strlen(API_CRON_PREFIX);
    if (plen < pfx || strncmp(path, API_CRON_PREFIX, pfx) != 0 ||
        (plen > pfx && path[pfx] != '/')) {
        path = r->url;
        plen = strlen(path);
    }
    struct producer_conn *c = NULL;
    if (plen == pfx) {
        api_cron_collection(r, &c);
        producer_pool_put(r->p, c);
        return;
    }
    const char *rest = path + pfx + 1;
    size_t n = plen - pfx - 1;
    const char *verb = NULL;
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (rest[i] == '/')
            slash = rest + i;
    if (slash) {
        size_t vl = n - (size_t)(slash + 1 - rest);
        static const char *const verbs[] = {"enable", "disable", "next"};
        for (int i = 0; i < 3; i++)
            if (vl == strlen(verbs[i]) && strncmp(slash + 1, verbs[i], vl) == 0)
                verb = verbs[i];
        if (verb)
            n = (size_t)(slash - rest);
    }
    char *name = api_cron_unescape(rest, n);
    if (name == NULL) {
        http_reply_error(r, 400, "name", "the cron job name in the path has a bad %% escape");
        return;
    }
    if (name[0] == '\0')
        http_reply_error(r, 404, NULL, "no such route: %s", r->url);
    else
        api_cron_one(r, name, verb, &c);
    producer_pool_put(r->p, c);
    free(name);
}
