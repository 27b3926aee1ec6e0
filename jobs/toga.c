/* This file holds the TOGA 2 client: login and token renewal, the envelope, and the note and
 * file calls the attachment copy and the helpdesk sync share. */
#include "toga.h"
#include "cfg.h"
#include "hmac.h"
#include "httpc.h"
#include "job_memo.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
toga_open(struct job_ctx *ctx, struct toga *t, char *err, size_t errlen)
{
    return toga_open_service(ctx, t, "toga", err, errlen);
}

int
toga_open_service(struct job_ctx *ctx, struct toga *t, const char *service, char *err,
                  size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    char name[128];
    snprintf(name, sizeof(name), "service.%s", service);
    const struct cfg_section *s = cfg_find_section(ctx->cfg, name);
    t->key = s ? cfg_section_get(s, "api_key") : NULL;
    t->secret = s ? cfg_section_get(s, "api_secret") : NULL;
    t->client_uuid = s ? cfg_section_get(s, "client_uuid") : NULL;
    if (s && (t->key == NULL || t->secret == NULL)) {
        snprintf(err, errlen, "[%s] needs api_key and api_secret (or *_file)", name);
        return -1;
    }
    t->h = job_http(ctx, service, err, errlen);
    return t->h ? 0 : -1;
}

void
toga_close(struct toga *t)
{
    free(t->refresh);
    t->refresh = NULL;
}

void
toga_err_set(struct toga_err *e, enum toga_fail f, long status, const char *fmt, ...)
{
    e->fail = f;
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

/* The envelope's first message code and text, into e->code and msg. */
static void
toga_envelope_message(const cJSON *env, struct toga_err *e, char *msg, size_t len)
{
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(env, "messages"), 0);
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(m, "code"));
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(m, "message"));
    if (text == NULL)
        text = cJSON_GetStringValue(cJSON_GetObjectItem(env, "error"));
    snprintf(e->code, sizeof(e->code), "%s", code ? code : "");
    snprintf(msg, len, "%s%s%s", code ? code : "", code && text ? " " : "", text ? text : "");
}

/* Classifies a finished request: TOGA_OK for a 2xx envelope saying isSuccess. */
static enum toga_fail
toga_classify(const char *method, const char *path, struct httpc_resp *r, struct toga_err *e)
{
    char msg[256] = "";
    memset(e, 0, sizeof(*e));
    if (r->json)
        toga_envelope_message(r->json, e, msg, sizeof(msg));
    int plen = (int)strcspn(path, "?");
    if (r->error == HTTPC_OK) {
        const cJSON *ok = cJSON_GetObjectItem(r->json, "isSuccess");
        if (cJSON_IsObject(r->json) && !cJSON_IsFalse(ok))
            return TOGA_OK;
        toga_err_set(e, TOGA_OTHER, r->status, "toga: %s %.*s: HTTP %ld but %s%s", method, plen,
                     path, r->status, r->json ? "isSuccess is false: " : "no JSON envelope", msg);
        return e->fail;
    }
    /* EN-* codes are authentication (the credentials), EZ-* authorisation (API-FACTS §5): a
     * 403 for one record the key may not read is that record's failure, not the run's. */
    bool refused = r->status == 401 || (r->status == 403 && strncmp(e->code, "EN-", 3) == 0);
    enum toga_fail f = refused                                                   ? TOGA_AUTH
                       : httpc_resp_transient(r) || r->error == HTTPC_ECANCELLED ? TOGA_TRANSIENT
                       : r->status == 404                                        ? TOGA_NOTFOUND
                                                                                 : TOGA_OTHER;
    if (msg[0])
        toga_err_set(e, f, r->status, "toga: %s %.*s: HTTP %ld: %s", method, plen, path, r->status,
                     msg);
    else
        toga_err_set(e, f, r->status, "%s", r->err);
    return f;
}

/* The name of the cap a file download is held to, for its error. */
#define TOGA_FILE_CAP "a file of [attachments] max_bytes in base64"

/* Sends one request (a write through job_http_send, so a dry run skips it); cap bounds its
 * response instead of the service's max_response_bytes when above 0 (a file's download). */
static int
toga_send(struct toga *t, const char *method, const char *path, const cJSON *body, bool write,
          int64_t cap, struct httpc_resp *r)
{
    struct httpc_req req = {.method = method,
                            .path = path,
                            .json = body,
                            .max_response_bytes = cap,
                            .max_response_name = TOGA_FILE_CAP,
                            .attempt_id_header = TOGA_TXN_HEADER,
                            /* A fresh transactionId makes a retried write a new request; the
                             * callers' dedup reads make a repeated write harmless. */
                            .unsafe_retry = false};
    if (write)
        return job_http_send(t->ctx, t->h, &req, r);
    return httpc_request(t->h, &req, r);
}

/* Logs in (refresh when a refresh token is held, else the API key) and sets the bearer. */
static enum toga_fail
toga_login(struct toga *t, struct toga_err *e)
{
    for (int pass = t->refresh ? 0 : 1; pass < 2; pass++) {
        cJSON *b = cJSON_CreateObject();
        if (pass == 0) {
            cJSON_AddStringToObject(b, "refreshToken", t->refresh);
        } else {
            cJSON_AddStringToObject(b, "apiKey", t->key ? t->key : "");
            cJSON_AddStringToObject(b, "apiSecret", t->secret ? t->secret : "");
            if (t->client_uuid)
                cJSON_AddStringToObject(b, "clientUuid", t->client_uuid);
        }
        const char *path = pass == 0 ? "/auth/refresh" : "/auth/api";
        struct httpc_resp r;
        toga_send(t, "POST", path, b, false, 0, &r);
        cJSON_Delete(b);
        enum toga_fail f = toga_classify("POST", path, &r, e);
        const cJSON *data = cJSON_GetObjectItem(r.json, "data");
        const char *access = cJSON_GetStringValue(cJSON_GetObjectItem(data, "accessToken"));
        const char *refresh = cJSON_GetStringValue(cJSON_GetObjectItem(data, "refreshToken"));
        if (f == TOGA_OK && access) {
            httpc_set_bearer(t->h, access);
            free(t->refresh);
            t->refresh = refresh ? xstrdup(refresh) : NULL;
            httpc_resp_release(&r);
            return TOGA_OK;
        }
        httpc_resp_release(&r);
        if (f == TOGA_OK)
            toga_err_set(e, TOGA_OTHER, 200, "toga: POST %s: no data.accessToken", path);
        free(t->refresh);
        t->refresh = NULL;
        if (pass == 1 || e->fail == TOGA_TRANSIENT)
            return e->fail;
    }
    return e->fail;
}

/* Whether the client holds a token yet (httpc_set_bearer switched it to bearer auth). */
static bool
toga_has_token(const struct toga *t)
{
    return t->refresh != NULL || httpc_bearer_set(t->h);
}

/* toga_call with the response held to cap (0: the service's max_response_bytes). */
static enum toga_fail
toga_call_capped(struct toga *t, const char *method, const char *path, const cJSON *body,
                 int64_t cap, cJSON **data, cJSON **meta, struct toga_err *e)
{
    memset(e, 0, sizeof(*e));
    *data = NULL;
    if (meta)
        *meta = NULL;
    bool write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
    if (write && t->ctx->dry_run) {
        struct httpc_resp r;
        toga_send(t, method, path, body, true, cap, &r);
        httpc_resp_release(&r);
        toga_err_set(e, TOGA_DRY, 0, "dry run");
        return TOGA_DRY;
    }
    if (!toga_has_token(t) && toga_login(t, e) != TOGA_OK)
        return e->fail;
    struct httpc_resp r;
    for (int round = 0;; round++) {
        toga_send(t, method, path, body, write, cap, &r);
        enum toga_fail f = toga_classify(method, path, &r, e);
        /* An expired or revoked JWT: renew once and send again (a new transactionId). */
        if (f == TOGA_AUTH && r.status == 401 && round == 0) {
            httpc_resp_release(&r);
            if (toga_login(t, e) != TOGA_OK)
                return e->fail;
            continue;
        }
        break;
    }
    if (e->fail == TOGA_OK) {
        cJSON *d = cJSON_DetachItemFromObject(r.json, "data");
        *data = d ? d : cJSON_CreateObject();
        if (meta) {
            cJSON *m = cJSON_DetachItemFromObject(r.json, "meta");
            *meta = m ? m : cJSON_CreateObject();
        }
    }
    httpc_resp_release(&r);
    return e->fail;
}

enum toga_fail
toga_call(struct toga *t, const char *method, const char *path, const cJSON *body, cJSON **data,
          cJSON **meta, struct toga_err *e)
{
    return toga_call_capped(t, method, path, body, 0, data, meta, e);
}

/* toga_get with the response held to cap (0: the service's max_response_bytes). */
static cJSON *
toga_get_capped(struct toga *t, const char *path, const char *key, int64_t cap, struct toga_err *e)
{
    cJSON *data;
    if (toga_call_capped(t, "GET", path, NULL, cap, &data, NULL, e) != TOGA_OK)
        return NULL;
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(data, key);
    cJSON_Delete(data);
    if (v == NULL)
        toga_err_set(e, TOGA_OTHER, 200, "toga: GET %.*s: the answer has no data.%s",
                     (int)strcspn(path, "?"), path, key);
    return v;
}

cJSON *
toga_get(struct toga *t, const char *path, const char *key, struct toga_err *e)
{
    return toga_get_capped(t, path, key, 0, e);
}

/* The largest answer a file of max bytes comes in: its bytes in base64 (4 for every 3) and
 * room for the envelope and the file's other fields. */
static int64_t
toga_file_cap(int64_t max)
{
    return max > 0 ? (max + 2) / 3 * 4 + (INT64_C(64) << 10) : 0;
}

static void
toga_encode(struct buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            buf_append(b, p, 1);
        else
            buf_printf(b, "%%%02X", *p);
    }
}

char *
toga_path(const char *path, ...)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, path);
    char sep = strchr(path, '?') ? '&' : '?';
    va_list ap;
    va_start(ap, path);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        buf_append(&b, &sep, 1);
        toga_encode(&b, name);
        if (value && *value) {
            buf_append(&b, "=", 1);
            toga_encode(&b, value);
        }
        sep = '&';
    }
    va_end(ap);
    return buf_detach(&b);
}

/* prefix, the percent-encoded uuid and suffix; the caller frees it. */
static char *
toga_item_path(const char *prefix, const char *uuid, const char *suffix)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, prefix);
    toga_encode(&b, uuid);
    buf_appends(&b, suffix);
    return buf_detach(&b);
}

cJSON *
toga_note_files(struct toga *t, const char *note_uuid, struct toga_err *e)
{
    char *p = toga_item_path("/ticket-notes/", note_uuid, "?depth=5");
    cJSON *note = toga_get(t, p, "ticketNotes", e);
    free(p);
    if (note == NULL)
        return NULL;
    /* The key is ticketNoteFiles; its absence is an error, never "no files" (API-FACTS §5). */
    const cJSON *links = cJSON_GetObjectItemCaseSensitive(note, "ticketNoteFiles");
    if (!cJSON_IsArray(links)) {
        toga_err_set(e, TOGA_OTHER, 200,
                     "toga: ticket note %s: the answer has no ticketNoteFiles array", note_uuid);
        cJSON_Delete(note);
        return NULL;
    }
    cJSON *out = cJSON_CreateArray();
    const cJSON *l;
    cJSON_ArrayForEach(l, links)
    {
        const cJSON *f = cJSON_GetObjectItem(l, "file");
        const char *uuid = cJSON_GetStringValue(cJSON_GetObjectItem(f, "uuid"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
        if (uuid == NULL || name == NULL) {
            toga_err_set(e, TOGA_OTHER, 200,
                         "toga: ticket note %s: a ticketNoteFiles entry has no file uuid and name",
                         note_uuid);
            cJSON_Delete(out);
            cJSON_Delete(note);
            return NULL;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uuid", uuid);
        cJSON_AddStringToObject(o, "name", name);
        const cJSON *size = cJSON_GetObjectItem(f, "size");
        if (cJSON_IsNumber(size))
            cJSON_AddNumberToObject(o, "size", size->valuedouble);
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(note);
    return out;
}

enum toga_fail
toga_file_get(struct toga *t, const char *file_uuid, char **name, unsigned char **bytes,
              size_t *len, struct toga_err *e)
{
    *name = NULL;
    *bytes = NULL;
    *len = 0;
    char *p = toga_item_path("/files/", file_uuid, "?depth=1");
    cJSON *f = toga_get_capped(t, p, "files", toga_file_cap(t->file_max_bytes), e);
    free(p);
    if (f == NULL)
        return e->fail;
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(f, "name"));
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(f, "data"));
    size_t dl = d ? strlen(d) : 0;
    char *out = d ? xmalloc(dl / 4 * 3 + 1) : NULL;
    int got = d ? hmac_base64_decode(d, dl, out, dl / 4 * 3 + 1) : -1;
    if (n == NULL || got < 0) {
        toga_err_set(e, TOGA_OTHER, 200, "toga: file %s: %s", file_uuid,
                     n == NULL ? "no name" : "data is missing or not base64");
        free(out);
        cJSON_Delete(f);
        return e->fail;
    }
    *name = xstrdup(n);
    *bytes = (unsigned char *)out;
    *len = (size_t)got;
    cJSON_Delete(f);
    return TOGA_OK;
}

static enum toga_fail
toga_file_upload(struct toga *t, const char *name, const unsigned char *bytes, size_t len,
                 char uuid_out[37], struct toga_err *e)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", name);
    char *b64 = hmac_base64_encode(bytes, len);
    cJSON_AddItemToObject(body, "data", cJSON_CreateStringReference(b64));
    cJSON *data;
    enum toga_fail f = toga_call(t, "POST", "/files", body, &data, NULL, e);
    cJSON_Delete(body);
    free(b64);
    if (f != TOGA_OK)
        return f;
    const char *uuid =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(data, "files"), "uuid"));
    if (uuid == NULL || strlen(uuid) != 36) {
        cJSON_Delete(data);
        toga_err_set(e, TOGA_OTHER, 200, "toga: POST /files: no data.files.uuid");
        return e->fail;
    }
    snprintf(uuid_out, 37, "%s", uuid);
    cJSON_Delete(data);
    return TOGA_OK;
}

static enum toga_fail
toga_file_link(struct toga *t, const char *note_uuid, const char *file_uuid, struct toga_err *e)
{
    cJSON *link = cJSON_CreateObject(), *data = NULL;
    cJSON_AddItemToObject(cJSON_AddObjectToObject(link, "file"), "uuid",
                          cJSON_CreateString(file_uuid));
    char *p = toga_item_path("/ticket-notes/", note_uuid, "/ticket-note-files");
    enum toga_fail f = toga_call(t, "POST", p, link, &data, NULL, e);
    free(p);
    cJSON_Delete(link);
    cJSON_Delete(data);
    return f;
}

/* The memo that keeps the file an attempt uploaded for the note, by note, name and content. */
static void
toga_file_memo(const char *note_uuid, const char *name, const unsigned char *bytes, size_t len,
               char out[80])
{
    uint8_t sha[HMAC_SHA256_LEN];
    hmac_digest(bytes, len, sha);
    char hex[2 * HMAC_SHA256_LEN + 1];
    hmac_hex(sha, sizeof(sha), hex);
    char *key = xasprintf("%s\n%s\n%s", note_uuid, name, hex);
    hmac_digest(key, strlen(key), sha);
    free(key);
    hmac_hex(sha, sizeof(sha), hex);
    snprintf(out, 80, "toga_file:%s", hex);
}

enum toga_fail
toga_file_attach(struct toga *t, const char *note_uuid, const char *name,
                 const unsigned char *bytes, size_t len, char *file_uuid_out, struct toga_err *e)
{
    char memo[80], uuid[JOB_MEMO_VALUE_MAX + 1], err[512];
    toga_file_memo(note_uuid, name, bytes, len, memo);
    int have = job_memo_get(t->ctx, memo, uuid, sizeof(uuid), err, sizeof(err));
    if (have < 0) {
        toga_err_set(e, TOGA_TRANSIENT, 0, "toga: %s", err);
        return e->fail;
    }
    enum toga_fail f = TOGA_NOTFOUND;
    /* An earlier attempt uploaded it and failed before the link (or its check-out): link that
     * file. Gone meanwhile (404), it is uploaded again. */
    if (have == 1 && strlen(uuid) == 36)
        f = toga_file_link(t, note_uuid, uuid, e);
    if (f == TOGA_NOTFOUND) {
        if ((f = toga_file_upload(t, name, bytes, len, uuid, e)) != TOGA_OK)
            return f;
        if (job_memo_set(t->ctx, memo, uuid, err, sizeof(err)) < 0)
            job_warn(t->ctx, "%s: a failure before the link would upload %s again", err, name);
        f = toga_file_link(t, note_uuid, uuid, e);
    }
    if (f == TOGA_OK && file_uuid_out)
        memcpy(file_uuid_out, uuid, 37); /* 36 characters: checked, or toga_file_upload's */
    return f;
}
