/* This file holds the Freshservice calls of the ticket sync. */
#include "freshservice.h"
#include "cfg.h"
#include "httpc.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Pages ask for the most the API gives, so a list costs as few requests as it can. */
#define FS_PER_PAGE "100"
/* Concurrent requests of a details batch; the budget, not this, sets the pace. */
#define FS_PARALLEL 8

int
fs_open(struct job_ctx *ctx, struct fs *fs, char *err, size_t errlen)
{
    memset(fs, 0, sizeof(*fs));
    fs->ctx = ctx;
    fs->h = job_http(ctx, "freshservice", err, errlen);
    if (fs->h == NULL)
        return -1;
    const struct cfg_section *s = cfg_find_section(ctx->cfg, "service.freshservice");
    const char *base = s ? cfg_section_get(s, "base_url") : NULL;
    size_t n = base ? strlen(base) : 0;
    while (n && base[n - 1] == '/')
        n--;
    /* base_url may be the site ("https://x.freshservice.com") or the API root. */
    fs->prefix = n >= 7 && strncmp(base + n - 7, "/api/v2", 7) == 0 ? "" : "/api/v2";
    return 0;
}

/* The number of values in an include parameter's len bytes: separated by commas, written as
 * is or percent-encoded. */
static int
fs_include_values(const char *v, size_t len)
{
    int n = 0;
    size_t run = 0; /* bytes of the value being read */
    for (size_t i = 0; i <= len; i++) {
        size_t sep = 0;
        if (i == len || v[i] == ',')
            sep = 1;
        else if (len - i >= 3 && strncasecmp(v + i, "%2C", 3) == 0)
            sep = 3;
        if (sep == 0) {
            run++;
            continue;
        }
        n += run > 0;
        run = 0;
        i += sep - 1;
    }
    return n;
}

/* What a GET of url costs in the account's budget: a credit, and one more for each value of
 * its include parameter. API-FACTS §1 says each include costs extra credits, not how many; one
 * each is what the fake charges. The URL is read, not the caller's intent: a Link header's
 * next page carries the include of the first. */
static int
fs_credits(const char *url)
{
    int n = 1;
    for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, "include=", 8) == 0)
            n += fs_include_values(p + 9, strcspn(p + 9, "&#"));
    }
    return n;
}

/* A GET of url (borrowed), costed for the budget. */
static struct httpc_req
fs_get(const char *url)
{
    return (struct httpc_req){.method = "GET", .path = url, .credits = fs_credits(url)};
}

static enum fs_fail
fs_classify(struct fs *fs, const struct httpc_resp *r)
{
    /* A Retry-After on any answer worth retrying (a 429, a 503 for maintenance) says when the
     * service can take requests again, as the fleet-wide pause that answer set does. */
    bool told = r->error == HTTPC_EBUDGET || (r->error == HTTPC_ESTATUS && httpc_resp_transient(r));
    if (told && r->retry_after_ms > fs->told_wait_ms)
        fs->told_wait_ms = r->retry_after_ms;
    /* The answer that set the pause names the cause better than the requests it held. */
    if (told && r->retry_after_ms >= 0 && r->status != 0)
        fs->told_status = r->status;
    if (r->status == 401)
        return FS_AUTH;
    if (r->status == 403)
        return FS_DENIED;
    if (r->error == HTTPC_ECANCELLED || httpc_resp_transient(r))
        return FS_TRANSIENT;
    return FS_OTHER;
}

void
fs_out_fail(const struct fs *fs, struct job_out *out, enum fs_fail f, const char *err)
{
    job_out_fail(out, f == FS_TRANSIENT ? JOB_RETRY : JOB_FAIL, "%s", err);
    if (f == FS_TRANSIENT && fs->told_wait_ms > 0)
        out->retry_delay_ms = fs->told_wait_ms;
}

/* Moves the members of resp's array under key to out. */
static enum fs_fail
fs_take_items(struct httpc_resp *resp, const char *key, cJSON *out, char *err, size_t errlen)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(resp->json, key);
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "freshservice: the answer has no \"%s\" array", key);
        return FS_OTHER;
    }
    while (cJSON_GetArraySize(arr) > 0)
        cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(arr, 0));
    return FS_OK;
}

/* The most pages one list is followed for (a million items at 100 a page): a server whose Link
 * header leads round in a circle would otherwise be followed until memory ran out. */
#define FS_LIST_PAGES_MAX 10000

/* Follows a list from url (taken: a full URL or a path with the prefix) to its last page. */
static enum fs_fail
fs_list_from(struct fs *fs, char *url, const char *key, cJSON *out, char *err, size_t errlen)
{
    enum fs_fail f = FS_OK;
    for (int pages = 0; url && f == FS_OK; pages++) {
        if (pages == FS_LIST_PAGES_MAX) {
            snprintf(err, errlen,
                     "freshservice: a list ran past %d pages (its Link header "
                     "may lead round in a circle); stopped",
                     FS_LIST_PAGES_MAX);
            f = FS_OTHER;
            break;
        }
        struct httpc_req req = fs_get(url);
        struct httpc_resp resp;
        if (httpc_request(fs->h, &req, &resp) < 0) {
            f = fs_classify(fs, &resp);
            snprintf(err, errlen, "%s", resp.err);
        } else {
            f = fs_take_items(&resp, key, out, err, errlen);
        }
        free(url);
        url = f == FS_OK && resp.link_next ? xstrdup(resp.link_next) : NULL;
        httpc_resp_release(&resp);
    }
    free(url);
    return f;
}

enum fs_fail
fs_list(struct fs *fs, const char *path, const char *key, cJSON *out, char *err, size_t errlen)
{
    return fs_list_from(fs, xasprintf("%s%s", fs->prefix, path), key, out, err, errlen);
}

void
fs_details_release(struct fs_details *d)
{
    cJSON_Delete(d->conversations);
    cJSON_Delete(d->time_entries);
    d->conversations = d->time_entries = NULL;
}

/* Takes the first page of one list of a ticket from its batch response and fetches the rest. */
static void
fs_details_take(struct fs *fs, struct httpc_resp *resp, int ok, const char *key, cJSON *out,
                struct fs_details *d)
{
    if (d->fail != FS_OK)
        return;
    if (!ok) {
        d->fail = fs_classify(fs, resp);
        snprintf(d->err, sizeof(d->err), "%s", resp->err);
        return;
    }
    d->fail = fs_take_items(resp, key, out, d->err, sizeof(d->err));
    if (d->fail == FS_OK && resp->link_next)
        d->fail = fs_list_from(fs, xstrdup(resp->link_next), key, out, d->err, sizeof(d->err));
}

void
fs_details(struct fs *fs, const int64_t *ids, int n, struct fs_details *d)
{
    struct httpc_req *req = xcalloc((size_t)n * 2 + 1, sizeof(*req));
    struct httpc_resp *resp = xcalloc((size_t)n * 2 + 1, sizeof(*resp));
    char **paths = xcalloc((size_t)n * 2 + 1, sizeof(*paths));
    for (int i = 0; i < n; i++) {
        paths[2 * i] = xasprintf("%s/tickets/%lld/conversations?per_page=" FS_PER_PAGE, fs->prefix,
                                 (long long)ids[i]);
        paths[2 * i + 1] = xasprintf("%s/tickets/%lld/time_entries?per_page=" FS_PER_PAGE,
                                     fs->prefix, (long long)ids[i]);
        req[2 * i] = fs_get(paths[2 * i]);
        req[2 * i + 1] = fs_get(paths[2 * i + 1]);
    }
    httpc_batch(fs->h, req, resp, n * 2, FS_PARALLEL);
    for (int i = 0; i < n; i++) {
        memset(&d[i], 0, sizeof(d[i]));
        d[i].conversations = cJSON_CreateArray();
        d[i].time_entries = cJSON_CreateArray();
        for (int k = 0; k < 2; k++) {
            struct httpc_resp *r = &resp[2 * i + k];
            fs_details_take(fs, r, r->error == HTTPC_OK, k ? "time_entries" : "conversations",
                            k ? d[i].time_entries : d[i].conversations, &d[i]);
        }
    }
    for (int i = 0; i < n * 2; i++) {
        httpc_resp_release(&resp[i]);
        free(paths[i]);
    }
    free(paths);
    free(resp);
    free(req);
}

/* GETs one object wrapped under key; NULL with *fail and err set. */
static cJSON *
fs_get_one(struct fs *fs, const char *path, const char *key, enum fs_fail *fail, long *status,
           char *err, size_t errlen)
{
    char *url = xasprintf("%s%s", fs->prefix, path);
    struct httpc_req req = fs_get(url);
    struct httpc_resp resp;
    cJSON *obj = NULL;
    *fail = FS_OK;
    if (httpc_request(fs->h, &req, &resp) < 0) {
        *fail = fs_classify(fs, &resp);
        snprintf(err, errlen, "%s", resp.err);
    } else if ((obj = cJSON_DetachItemFromObjectCaseSensitive(resp.json, key)) == NULL) {
        *fail = FS_OTHER;
        snprintf(err, errlen, "freshservice: GET %s: the answer has no \"%s\"", path, key);
    }
    *status = resp.status;
    httpc_resp_release(&resp);
    free(url);
    return obj;
}

cJSON *
fs_ticket(struct fs *fs, int64_t id, enum fs_fail *fail, char *err, size_t errlen)
{
    char path[96];
    snprintf(path, sizeof(path), "/tickets/%lld?include=stats,requester", (long long)id);
    long status;
    return fs_get_one(fs, path, "ticket", fail, &status, err, errlen);
}

/* "first last" of a person object, or its "name". */
static char *
fs_person_name(const cJSON *p)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    if (cJSON_IsString(name))
        return xstrdup(name->valuestring);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "first_name");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(p, "last_name");
    const char *fs = cJSON_IsString(f) ? f->valuestring : "";
    const char *ls = cJSON_IsString(l) ? l->valuestring : "";
    return xasprintf("%s%s%s", fs, *fs && *ls ? " " : "", ls);
}

/* The name and email of person id, a requester or else an agent. */
static enum fs_fail
fs_person(struct fs *fs, int64_t id, char **name, char **email, char *err, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/requesters/%lld", (long long)id);
    enum fs_fail f;
    long status = 0;
    cJSON *p = fs_get_one(fs, path, "requester", &f, &status, err, errlen);
    if (p == NULL && status == 404) {
        /* The requester of a ticket an agent raised is an agent (API-FACTS §1). */
        snprintf(path, sizeof(path), "/agents/%lld", (long long)id);
        p = fs_get_one(fs, path, "agent", &f, &status, err, errlen);
    }
    if (p == NULL)
        return f;
    *name = fs_person_name(p);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "primary_email");
    if (!cJSON_IsString(e))
        e = cJSON_GetObjectItemCaseSensitive(p, "email");
    *email = cJSON_IsString(e) ? xstrdup(e->valuestring) : NULL;
    cJSON_Delete(p);
    return FS_OK;
}

enum fs_fail
fs_ticket_person(struct fs *fs, const cJSON *t, char **name, char **email, char *err, size_t errlen)
{
    const cJSON *rq = cJSON_GetObjectItemCaseSensitive(t, "requester");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(rq, "email");
    if (!cJSON_IsString(e))
        e = cJSON_GetObjectItemCaseSensitive(rq, "primary_email");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rq, "name");
    if (cJSON_IsString(e) && cJSON_IsString(n)) {
        *name = xstrdup(n->valuestring);
        *email = xstrdup(e->valuestring);
        return FS_OK;
    }
    return fs_person(fs, json_int(t, "requester_id", -JSON_INT_MAX, JSON_INT_MAX, 0), name, email,
                     err, errlen);
}
