/* This file holds the Frappe REST calls of the dispatch bridge. */
#include "frappe.h"
#include "httpc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pages ask for more than the default 20, so a list costs fewer requests. */
#define FRAPPE_PAGE 100
/* The most pages one list is followed for (a million documents): a server that pages wrongly
 * must not hold the job, and its memory, for the job's whole timeout. */
#define FRAPPE_LIST_PAGES_MAX 10000

int
frappe_open(struct job_ctx *ctx, struct frappe *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    f->h = job_http(ctx, "frappe", err, errlen);
    return f->h ? 0 : -1;
}

enum frappe_fail
frappe_classify(long status, bool transient, const char *body)
{
    if (status == 401 || status == 403)
        return FRAPPE_AUTH;
    if (status == 417 && body && strstr(body, "TimestampMismatchError"))
        return FRAPPE_CHANGED;
    if (status == 409 || status == 417) {
        /* 417 is every ValidationError: only a unique violation means "already there". */
        if (status == 409 ||
            (body && (strstr(body, "UniqueValidationError") || strstr(body, "DuplicateEntry"))))
            return FRAPPE_DUPLICATE;
    }
    if (transient)
        return FRAPPE_TRANSIENT;
    return FRAPPE_OTHER;
}

static enum frappe_fail
frappe_resp_fail(const struct httpc_resp *r, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", r->err);
    if (r->error == HTTPC_ECANCELLED)
        return FRAPPE_TRANSIENT;
    return frappe_classify(r->status, httpc_resp_transient(r), r->body);
}

/* The URL path of a doctype ("Dispatch Job" → "/api/resource/Dispatch%20Job") and name. */
static char *
frappe_path(const char *doctype, const char *name)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "/api/resource/");
    for (int k = 0; k < (name ? 2 : 1); k++) {
        for (const unsigned char *p = (const unsigned char *)(k ? name : doctype); *p; p++) {
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                strchr("-_.~", *p))
                buf_append(&b, p, 1);
            else
                buf_printf(&b, "%%%02X", *p);
        }
        if (k == 0 && name)
            buf_appends(&b, "/");
    }
    return buf_detach(&b);
}

/* The name of out's member at index i, "" when it has none. */
static const char *
frappe_name_at(const cJSON *out, int i)
{
    const char *n =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(out, i), "name"));
    return n ? n : "";
}

/* Moves the members of resp's "data" array to out; returns how many. -1 when there is none. */
static int
frappe_take_page(struct httpc_resp *resp, cJSON *out)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(resp->json, "data");
    if (!cJSON_IsArray(arr))
        return -1;
    int n = 0;
    while (cJSON_GetArraySize(arr) > 0) {
        cJSON_AddItemToArray(out, cJSON_DetachItemFromArray(arr, 0));
        n++;
    }
    return n;
}

enum frappe_fail
frappe_list(struct frappe *f, const char *doctype, const char *filters, const char *fields,
            cJSON *out, char *err, size_t errlen)
{
    char *path = frappe_path(doctype, NULL);
    enum frappe_fail fail = FRAPPE_OK;
    char *first = NULL; /* the previous page's first name */
    for (int start = 0;; start += FRAPPE_PAGE) {
        if (start / FRAPPE_PAGE == FRAPPE_LIST_PAGES_MAX) {
            snprintf(err, errlen, "frappe: GET %s: the list ran past %d pages", path,
                     FRAPPE_LIST_PAGES_MAX);
            fail = FRAPPE_OTHER;
            break;
        }
        char s_start[24], s_len[24];
        snprintf(s_start, sizeof(s_start), "%d", start);
        snprintf(s_len, sizeof(s_len), "%d", FRAPPE_PAGE);
        const char *q[] = {"fields",
                           fields,
                           "order_by",
                           "name asc",
                           "limit_start",
                           s_start,
                           "limit_page_length",
                           s_len,
                           filters ? "filters" : NULL,
                           filters,
                           NULL};
        struct httpc_req req = {.method = "GET", .path = path, .query = q};
        struct httpc_resp resp;
        int n = -1;
        if (job_http_send(f->ctx, f->h, &req, &resp) < 0)
            fail = frappe_resp_fail(&resp, err, errlen);
        else if ((n = frappe_take_page(&resp, out)) < 0) {
            snprintf(err, errlen, "frappe: GET %s: the answer has no \"data\" array", path);
            fail = FRAPPE_OTHER;
        }
        httpc_resp_release(&resp);
        const char *name = n > 0 ? frappe_name_at(out, cJSON_GetArraySize(out) - n) : "";
        if (n > 0 && first && name[0] && strcmp(name, first) == 0) {
            /* A server (or proxy) that ignores limit_start answers the first page for ever. */
            snprintf(err, errlen,
                     "frappe: GET %s: the page at limit_start %d repeats the one before it "
                     "(starts with \"%.80s\"): the server does not page",
                     path, start, name);
            fail = FRAPPE_OTHER;
        }
        if (fail != FRAPPE_OK || n < FRAPPE_PAGE)
            break;
        free(first);
        first = xstrdup(name);
    }
    free(first);
    free(path);
    return fail;
}

/* Sends a write; 1 when a dry run left it unsent. */
static enum frappe_fail
frappe_write(struct frappe *f, const char *method, char *path, const cJSON *doc, bool *sent,
             char *err, size_t errlen)
{
    struct httpc_req req = {.method = method, .path = path, .json = doc};
    struct httpc_resp resp;
    enum frappe_fail fail = FRAPPE_OK;
    int rc = job_http_send(f->ctx, f->h, &req, &resp);
    if (rc < 0)
        fail = frappe_resp_fail(&resp, err, errlen);
    if (sent)
        *sent = rc == 0;
    httpc_resp_release(&resp);
    free(path);
    return fail;
}

enum frappe_fail
frappe_insert(struct frappe *f, const char *doctype, const cJSON *doc, bool *sent, char *err,
              size_t errlen)
{
    return frappe_write(f, "POST", frappe_path(doctype, NULL), doc, sent, err, errlen);
}

enum frappe_fail
frappe_update(struct frappe *f, const char *doctype, const char *name, const cJSON *patch,
              char *err, size_t errlen)
{
    return frappe_write(f, "PUT", frappe_path(doctype, name), patch, NULL, err, errlen);
}
