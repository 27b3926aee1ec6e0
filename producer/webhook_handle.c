/* This file is a webhook's way through the producer, as one pipeline read top to bottom:
 *
 *   admit         headers only: method, path -> action, source, a registered action, the
 *                 declared length, and the credentials that need no body (token, basic);
 *   authenticate  the body's signature (hmac-sha256);
 *   parse         UTF-8, the idempotency key, the job's parameters, and whether the row fits
 *                 what MariaDB takes in one packet;
 *   store/spool   the group-commit writer, or the spool when MariaDB is down or too slow;
 *   reply + log   one function per outcome, each of which also queues the webhook_log row.
 *
 * A 2xx is sent only once the job is committed or the request is fsync'ed in the spool
 * (invariant 7); when neither is possible the sender gets 503 and retries. What can never be
 * stored (bad UTF-8, a key that is not printable ASCII, a row too large) gets a 4xx before
 * any 2xx, so nothing answered 2xx ends in the spool's failed/.
 *
 * Every delivery carries an idempotency key, fixed before the first write attempt (so a write
 * still in flight when its request gave up and spooled cannot make a second job when the spool
 * is replayed): the source's idempotency_field when it has one; else, for a signed source, the
 * signature, so a captured delivery replayed within its tolerance finds its job instead of
 * making one; else the sender's Idempotency-Key header; else a fresh delivery id. The header is
 * ignored whenever the body or the signature decides, since nothing signs it. */
#include "action.h"
#include "hmac.h"
#include "http_server.h"
#include "ids.h"
#include "json.h"
#include "json_escape.h"
#include "jsonptr.h"
#include "log.h"
#include "log_limit.h"
#include "metrics.h"
#include "producer.h"
#include "producer_writer.h"
#include "spool.h"
#include "spool_replay.h"
#include "utf8.h"
#include "util.h"
#include "webhook_auth.h"
#include "webhook_handle.h"
#include "webhook_log.h"
#include "webhook_route.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_PREFIX "/webhook"
#define WEBHOOK_KEY_MAX 191
/* A sender's Idempotency-Key; longer keys are refused rather than hashed, as no sender needs one.
 */
#define WEBHOOK_HEADER_KEY_MAX 200
#define WEBHOOK_RETRY_AFTER_S 30
#define WEBHOOK_DELIVERY_BYTES 16

struct webhook_state {
    const struct webhook_source *src;
    char action[192];
    char *parameters;
    char *idem_key;
    struct producer_write *w;
    bool submit_failed;
};

/* A delivery id: 128 random bits in hex. */
static void
webhook_delivery_id(char out[2 * WEBHOOK_DELIVERY_BYTES + 1])
{
    uint8_t b[WEBHOOK_DELIVERY_BYTES];
    ids_random(b, sizeof(b));
    hmac_hex(b, sizeof(b), out);
}

/* The part of the path after "/webhook/". */
static const char *
webhook_rest(const char *url)
{
    const char *rest = url + strlen(WEBHOOK_PREFIX);
    return *rest == '/' ? rest + 1 : rest;
}

static const struct metric_def webhook_metric_requests = {
    "jobfleet_webhook_requests_total",
    "Webhook deliveries by source ([webhook.<source>]; \"(none)\" when no source matched the "
    "path) and the status answered (499: the sender left before the answer).",
    METRIC_COUNTER,
    {"source", "code"},
    NULL,
    0};

/* Logs the delivery in webhook_log and counts it; every answer of the pipeline passes here. */
static void
webhook_log_row(struct http_req *r, int status, int64_t job_id, const char *reason)
{
    struct webhook_state *st = r->webhook;
    char code[16];
    snprintf(code, sizeof(code), "%d", status);
    metrics_add(&webhook_metric_requests, st && st->src ? st->src->name : "(none)", code, 1);
    webhook_log_add(r->p->wlog, st && st->src ? st->src->name : NULL, r->url,
                    st && st->action[0] ? st->action : NULL, status, job_id, reason);
}

/* ---- admit: headers only ---- */

/* Checks method, path, source and action; replies and returns 1 when refused. Unknown
 * sources and actions get one and the same 404, so the answer enumerates nothing. */
static int
webhook_admit(struct http_req *r, struct webhook_state *st)
{
    char err[256];
    const char *rest = webhook_rest(r->url);
    if (strcmp(r->method, "POST") != 0) {
        http_reply_error(r, 405, NULL, "webhooks are delivered with POST");
        webhook_log_row(r, 405, 0, "method not allowed");
        return 1;
    }
    if (webhook_route_action(rest, st->action, sizeof(st->action), err, sizeof(err)) < 0) {
        st->action[0] = '\0';
        http_reply_error(r, 400, "path", "%s", err);
        webhook_log_row(r, 400, 0, err);
        return 1;
    }
    st->src = webhook_route_source(r->p->sources, r->p->n_sources, rest);
    if (st->src == NULL || action_find(st->action, r->p->cfg->worker.test_actions) == NULL) {
        http_reply_not_found(r);
        webhook_log_row(r, 404, 0, st->src ? "unknown action" : "no source");
        return 1;
    }
    int64_t max = r->p->cfg->producer.max_body_bytes, len = http_declared_length(r);
    if (len > max) {
        http_reply_error(r, 413, "body", "the body is %lld bytes; the limit is %lld",
                         (long long)len, (long long)max);
        webhook_log_row(r, 413, 0, "body too large");
        return 1;
    }
    return 0;
}

/* Replies 401, the reason kept for the log and webhook_log. */
static void
webhook_refuse_auth(struct http_req *r, struct webhook_state *st, const char *reason)
{
    static struct log_limit limit = LOG_LIMIT_INIT("webhook 401");
    log_warnx_limited(&limit, "webhook %s: 401 for source %s: %s", r->url, st->src->name, reason);
    http_reply_error(r, 401, NULL, "authentication failed");
    webhook_log_row(r, 401, 0, reason);
}

int
webhook_begin(struct http_req *r)
{
    struct webhook_state *st = xcalloc(1, sizeof(*st));
    r->webhook = st;
    if (webhook_admit(r, st))
        return 1;
    /* What the headers decide is checked before a byte of the body is read: a delivery that
     * cannot pass is not buffered. */
    char reason[256];
    if (webhook_auth_headers(st->src, &r->headers, now_wall_ms() / 1000, reason, sizeof(reason)) <
        0) {
        webhook_refuse_auth(r, st, reason);
        return 1;
    }
    return 0;
}

/* A sender that closes its connection while its webhook waits for the commit may get no
 * reply: libmicrohttpd can end the request without asking for one. The job may still have
 * been stored, so the log says what became of it. 499 is nginx's "client closed request". */
static void
webhook_log_sender_gone(struct http_req *r, struct webhook_state *st)
{
    if (r->replied || st->w == NULL)
        return;
    bool stored = producer_write_state(r->p->writer, st->w) == PW_DONE;
    webhook_log_row(r, 499, stored ? st->w->ref.id : 0,
                    stored ? "the sender closed the connection before the reply; job stored"
                           : "the sender closed the connection before the reply");
}

void
webhook_end(struct http_req *r)
{
    struct webhook_state *st = r->webhook;
    if (st == NULL)
        return;
    webhook_log_sender_gone(r, st);
    producer_write_release(st->w);
    free(st->parameters);
    free(st->idem_key);
    free(st);
    r->webhook = NULL;
}

/* ---- parse: the key, the parameters, the row ---- */

/* "<source>:<kind>:<value>", hashed when it would not fit the column or ends in a space (the
 * column would take it for the key without). */
static char *
webhook_make_key(const char *source, const char *kind, const char *value)
{
    char *key = xasprintf("%s:%s:%s", source, kind, value);
    if (strlen(key) <= WEBHOOK_KEY_MAX && !job_key_padded(key))
        return key;
    uint8_t d[HMAC_SHA256_LEN];
    char hex[2 * HMAC_SHA256_LEN + 1];
    hmac_digest(key, strlen(key), d);
    hmac_hex(d, sizeof(d), hex);
    free(key);
    return xasprintf("%s:%s-sha256:%s", source, kind, hex);
}

/* A sender's Idempotency-Key is used as it is, so it must be text every layer keeps as it is:
 * printable ASCII. A byte MariaDB would mangle could make two keys one. */
static bool
webhook_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > WEBHOOK_HEADER_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

/* Replies 400 for an idempotency field that cannot make a key (rc from jsonptr_text). */
static void
webhook_field_refused(struct http_req *r, const char *field, int rc)
{
    if (rc == -2) {
        http_reply_error(r, 400, "body",
                         "idempotency field %s is a number past 2^53, where JSON numbers lose "
                         "digits (two ids would be one key): send it as a string",
                         field);
        webhook_log_row(r, 400, 0, "idempotency field past 2^53");
    } else {
        http_reply_error(r, 400, "body", "idempotency field %s is missing or too long", field);
        webhook_log_row(r, 400, 0, "idempotency field missing");
    }
}

/* ---- a NUL inside an idempotency field ---- */

/* The JSON body with each \u0000 escape turned into an escaped backslash and "u0000", and each
 * escaped backslash doubled. cJSON ends a string at a NUL, so "42\u0000zzz" parses as "42"; in
 * this text's parse a string v reads as v with each '\' written "\\" and each NUL "\u0000":
 * nothing is cut, and no two values read alike. The body is valid JSON, so every backslash is
 * an escape inside a string. */
static char *
webhook_nul_visible(const char *body, size_t len)
{
    struct buf b;
    buf_init(&b, 0);
    const char *p = body, *end = body + len;
    for (const char *bs; (bs = memchr(p, '\\', (size_t)(end - p))) != NULL && bs + 1 < end;) {
        buf_append(&b, p, (size_t)(bs - p));
        /* A backslash written \u005c is one too: doubled like "\\", or "\u005cu0000" (a
         * backslash, then "u0000") would read as the NUL's "\u0000". */
        bool u5c =
            end - bs >= 6 && (memcmp(bs + 1, "u005c", 5) == 0 || memcmp(bs + 1, "u005C", 5) == 0);
        if (bs[1] == '\\' || u5c) {
            buf_appends(&b, "\\\\\\\\");
            p = bs + (u5c ? 6 : 2);
        } else if (end - bs >= 6 && memcmp(bs + 1, "u0000", 5) == 0) {
            buf_appends(&b, "\\\\u0000");
            p = bs + 6;
        } else {
            buf_append(&b, bs, 2);
            p = bs + 2;
        }
    }
    buf_append(&b, p, (size_t)(end - p));
    return buf_detach(&b);
}

/* True when a string of webhook_nul_visible's parse held a NUL: there every backslash is a
 * doubled one or starts "\u0000". */
static bool
webhook_str_nul(const char *s)
{
    for (size_t i = 0; s && s[i]; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u')
            return true;
        if (s[i + 1] != '\0')
            i++;
    }
    return false;
}

/* True when a string of the item, or a member name inside it, held a NUL. */
static bool
webhook_item_nul(const cJSON *it)
{
    if (cJSON_IsString(it) && webhook_str_nul(it->valuestring))
        return true;
    for (const cJSON *c = it->child; c; c = c->next)
        if (webhook_str_nul(c->string) || webhook_item_nul(c))
            return true;
    return false;
}

/* Writes s (of webhook_nul_visible's parse, without a NUL) back as it was sent, in place. */
static void
webhook_str_unvisible(char *s)
{
    if (s == NULL || webhook_str_nul(s))
        return;
    char *o = s;
    for (const char *i = s; *i; i++) {
        *o++ = *i;
        if (*i == '\\' && i[1] == '\\')
            i++;
    }
    *o = '\0';
}

/* webhook_str_unvisible for every string and member name of the document. */
static void
webhook_doc_unvisible(cJSON *it)
{
    if (cJSON_IsString(it))
        webhook_str_unvisible(it->valuestring);
    for (cJSON *c = it->child; c; c = c->next) {
        webhook_str_unvisible(c->string);
        webhook_doc_unvisible(c);
    }
}

/* The item ptr names in doc (borrowed), or NULL. In webhook_nul_visible's parse the member
 * names have their backslashes doubled, and so must the pointer. */
static const cJSON *
webhook_field_get(const cJSON *doc, const char *ptr, bool visible)
{
    if (!visible || strchr(ptr, '\\') == NULL)
        return jsonptr_get(doc, ptr);
    struct buf b;
    buf_init(&b, 0);
    for (const char *p = ptr; *p; p++)
        buf_append(&b, *p == '\\' ? "\\\\" : p, *p == '\\' ? 2 : 1);
    const cJSON *it = jsonptr_get(doc, b.data);
    buf_release(&b);
    return it;
}

/* ---- the key ---- */

/* The body parsed for its idempotency fields, or NULL (with the error's offset in *at) when it
 * is not JSON; *visible says it is webhook_nul_visible's parse. The caller deletes it. */
static cJSON *
webhook_field_doc(const struct http_req *r, long *at, bool *visible)
{
    cJSON *doc = http_body_json(r, at);
    *visible = doc && json_text_has_nul(r->body.data, r->body.len);
    if (!*visible)
        return doc;
    /* The fields would be cut at their NUL: they are read where it is written out. */
    cJSON_Delete(doc);
    char *text = webhook_nul_visible(r->body.data, r->body.len);
    doc = cJSON_Parse(text);
    free(text);
    return doc;
}

/* The key from the source's idempotency fields of the JSON body. Replies 400 and returns -1
 * when the body is not JSON or lacks a field. A field holding a NUL makes a "field-nul" key
 * from the fields as webhook_nul_visible writes them: a 400 would lose the delivery, and the
 * value cut at the NUL would make it a repeat of another. */
static int
webhook_field_key(struct http_req *r, struct webhook_state *st)
{
    const struct webhook_source *src = st->src;
    long at = 0;
    bool visible;
    cJSON *doc = webhook_field_doc(r, &at, &visible);
    if (doc == NULL) {
        http_reply_error(r, 400, "body", "body is not valid JSON (error at byte %ld)", at);
        webhook_log_row(r, 400, 0, "body is not valid JSON");
        return -1;
    }
    const cJSON *items[WEBHOOK_MAX_IDEM_FIELDS];
    bool nul = false;
    for (int i = 0; i < src->n_idem; i++) {
        items[i] = webhook_field_get(doc, src->idem_fields[i], visible);
        nul |= visible && items[i] && webhook_item_nul(items[i]);
    }
    /* Without a NUL in the fields the key is the one they always made. */
    if (visible && !nul)
        webhook_doc_unvisible(doc);
    cJSON *vals = cJSON_CreateArray();
    for (int i = 0; i < src->n_idem; i++) {
        char text[1024];
        int rc = items[i] == NULL || cJSON_IsNull(items[i])
                     ? -1
                     : jsonptr_text(items[i], text, sizeof(text));
        if (rc < 0) {
            webhook_field_refused(r, src->idem_fields[i], rc);
            cJSON_Delete(vals);
            cJSON_Delete(doc);
            return -1;
        }
        cJSON_AddItemToArray(vals, cJSON_CreateString(text));
    }
    char *joined = src->n_idem == 1 ? xstrdup(cJSON_GetArrayItem(vals, 0)->valuestring)
                                    : cJSON_PrintUnformatted(vals);
    st->idem_key = webhook_make_key(src->name, nul ? "field-nul" : "field", joined);
    cJSON_free(joined);
    cJSON_Delete(vals);
    cJSON_Delete(doc);
    return 0;
}

/* Fixes the delivery's idempotency key (see the top of the file for the order). Replies 400
 * and returns -1 when the key cannot be made. */
static int
webhook_idem_key(struct http_req *r, struct webhook_state *st)
{
    const struct webhook_source *src = st->src;
    if (src->n_idem > 0)
        return webhook_field_key(r, st);
    char sig[2 * HMAC_SHA256_LEN + 1];
    if (src->auth == WEBHOOK_AUTH_HMAC && webhook_auth_signature_hex(src, &r->headers, sig) == 0) {
        /* The signature's SHA-256, not the signature: the key is shown to every reader of the
         * API and the dashboard, and with the body (in the parameters) the signature would let
         * one replay the delivery once its job is deleted. */
        uint8_t d[HMAC_SHA256_LEN];
        char hex[2 * HMAC_SHA256_LEN + 1];
        hmac_digest(sig, strlen(sig), d);
        hmac_hex(d, sizeof(d), hex);
        st->idem_key = webhook_make_key(src->name, "sighash", hex);
        return 0;
    }
    const char *hdr = http_headers_get(&r->headers, "idempotency-key");
    if (hdr && !webhook_key_ok(hdr)) {
        http_reply_error(r, 400, "Idempotency-Key",
                         "Idempotency-Key must be 1-%d printable ASCII characters",
                         WEBHOOK_HEADER_KEY_MAX);
        webhook_log_row(r, 400, 0, "bad Idempotency-Key");
        return -1;
    }
    if (hdr) {
        st->idem_key = webhook_make_key(src->name, "key", hdr);
        return 0;
    }
    char delivery[2 * WEBHOOK_DELIVERY_BYTES + 1];
    webhook_delivery_id(delivery);
    st->idem_key = webhook_make_key(src->name, "delivery", delivery);
    return 0;
}

/* Headers that carry credentials, or the signature and timestamp that prove a delivery: none
 * is kept in the job's parameters, where API users and job output could read and replay
 * them. */
static bool
webhook_header_secret(const struct webhook_source *src, const char *name)
{
    static const char *const always[] = {"authorization", "proxy-authorization", "cookie",
                                         "x-api-key"};
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        if (strcmp(name, always[i]) == 0)
            return true;
    const char *own[] = {src->token_header, src->signature_header, src->timestamp_header};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (own[i] && strcmp(name, own[i]) == 0)
            return true;
    return false;
}

/* {"payload": "<raw body>", "headers": {name: value}}, without webhook_header_secret's
 * headers. A header sent more than once is one value, joined with ", "; bytes of a header
 * that are not UTF-8 (Latin-1 from an old sender) become '?'. Written directly rather than
 * through cJSON: this runs for every webhook, and a cJSON tree costs an allocation per node
 * and a copy per string. */
static char *
webhook_parameters(struct http_req *r, const struct webhook_source *src)
{
    int n = r->headers.n;
    char **names = xcalloc((size_t)(n ? n : 1), sizeof(*names));
    for (int i = 0; i < n; i++)
        if (!webhook_header_secret(src, r->headers.names[i]))
            names[i] = utf8_clean(r->headers.names[i]);
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "{\"payload\":");
    json_escape_append(&b, r->body.data, r->body.len);
    buf_appends(&b, ",\"headers\":{");
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (names[i] == NULL)
            continue;
        struct buf v;
        buf_init(&v, 0);
        for (int k = i; k < n; k++) {
            if (names[k] == NULL || (k > i && strcmp(names[k], names[i]) != 0))
                continue;
            char *value = utf8_clean(r->headers.values[k]);
            if (k > i)
                buf_append(&v, ", ", 2);
            buf_appends(&v, value);
            free(value);
            if (k > i) {
                free(names[k]);
                names[k] = NULL;
            }
        }
        if (!first)
            buf_append(&b, ",", 1);
        first = false;
        json_escape_append(&b, names[i], strlen(names[i]));
        buf_append(&b, ":", 1);
        json_escape_append(&b, v.data ? v.data : "", v.len);
        buf_release(&v);
        free(names[i]);
    }
    free(names);
    buf_appends(&b, "}}");
    return buf_detach(&b);
}

/* Checks the body, fixes the key, builds the parameters and checks the job into *checked.
 * Replies 4xx and returns -1 when the delivery can never be stored. */
static int
webhook_parse(struct http_req *r, struct webhook_state *st, struct job_spec *checked)
{
    struct producer *p = r->p;
    size_t bad = utf8_invalid_at(r->body.data, r->body.len);
    if (bad < r->body.len) {
        http_reply_error(r, 400, "body",
                         "the body must be UTF-8 text without NUL bytes (bad byte at offset %zu)",
                         bad);
        webhook_log_row(r, 400, 0, "body is not UTF-8");
        return -1;
    }
    if (webhook_idem_key(r, st) < 0)
        return -1;
    st->parameters = webhook_parameters(r, st->src);
    /* Escaping can make the parameters several times the body: a row MariaDB cannot take in
     * one packet would fail every batch it joined, so it is refused here. */
    size_t plen = strlen(st->parameters), room = producer_writer_row_max(p->writer);
    if (plen > room) {
        http_reply_error(r, 413, "body",
                         "the webhook's parameters are %zu bytes once escaped; MariaDB takes at "
                         "most %zu",
                         plen, room);
        webhook_log_row(r, 413, 0, "parameters too large for one row");
        return -1;
    }
    /* The parameters are checked with a stand-in: they are an object built right here, and
     * parsing them again would only cost time (unless the action makes a key from them). */
    const struct action_info *def = action_find(st->action, p->cfg->worker.test_actions);
    struct job_spec spec = {.action = st->action,
                            .parameters = def && def->unique_by ? st->parameters : "{}",
                            .idempotency_key = st->idem_key,
                            .origin = "webhook"};
    const char *field = NULL;
    char err[256];
    if (job_spec_check(&spec, p->cfg->worker.test_actions, checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        http_reply_error(r, 400, field, "%s", err);
        webhook_log_row(r, 400, 0, err);
        return -1;
    }
    checked->parameters = st->parameters;
    return 0;
}

/* ---- reply + log, one function per outcome ---- */

static void
webhook_reply_spooled(struct http_req *r, const char *id)
{
    char *body = xasprintf("{\"spooled\":true,\"spool_id\":\"%s\"}", id);
    http_reply(r, 202, NULL, body, NULL);
    free(body);
    char reason[160];
    snprintf(reason, sizeof(reason), "spooled %s", id);
    webhook_log_row(r, 202, 0, reason);
}

static void
webhook_reply_unavailable(struct http_req *r, const char *why, const char *err)
{
    /* One line per refused delivery would let any sender fill the disk while MariaDB is down
     * and the spool full (the count is in webhooks_refused). */
    static struct log_limit limit = LOG_LIMIT_INIT("webhook not stored and not spooled");
    log_warnx_limited(&limit, "webhook %s: not stored (%s) and not spooled (%s): 503", r->url, why,
                      err);
    atomic_fetch_add(&r->p->metrics.webhooks_refused, 1);
    http_reply_unavailable(r, WEBHOOK_RETRY_AFTER_S,
                           "the webhook could not be stored; retry later");
    webhook_log_row(r, 503, 0, err);
}

static void
webhook_reply_stored(struct http_req *r, struct webhook_state *st)
{
    struct job_ref *ref = &st->w->ref;
    /* Written directly: a UUID and an action made by webhook_route_action ([A-Za-z0-9/])
     * need no escaping, and cJSON prints the id as a double (printf, then sscanf to check). */
    char body[sizeof(st->action) + 128];
    snprintf(body, sizeof(body), "{\"job_id\":%lld,\"uuid\":\"%s\",\"action\":\"%s\"%s}",
             (long long)ref->id, ref->uuid, st->action, ref->existing ? ",\"existing\":true" : "");
    int status = ref->existing ? 200 : 202;
    http_reply(r, status, NULL, body, NULL);
    atomic_fetch_add(
        ref->existing ? &r->p->metrics.webhooks_existing : &r->p->metrics.webhooks_stored, 1);
    webhook_log_row(r, status, ref->id, ref->existing ? "repeat delivery" : NULL);
}

/* ---- store or spool ---- */

static void
webhook_spool(struct http_req *r, struct webhook_state *st, const char *why)
{
    struct producer *p = r->p;
    struct spool_entry e = {.source = st->src->name,
                            .path = (char *)(uintptr_t)r->url,
                            .action = st->action,
                            .parameters = st->parameters,
                            .idempotency_key = st->idem_key,
                            .received_ms = now_wall_ms()};
    char id[64], err[512];
    if (spool_write(p->spool, &e, id, sizeof(id), err, sizeof(err)) < 0) {
        webhook_reply_unavailable(r, why, err);
        return;
    }
    atomic_fetch_add(&p->metrics.webhooks_spooled, 1);
    webhook_reply_spooled(r, id);
    /* When MariaDB was only slow the replay can start at once. */
    spool_replay_kick(p->replay);
}

/* Hands the checked job to the writer and suspends until it answers; spools at once when
 * MariaDB is known to be down. */
static void
webhook_store(struct http_req *r, struct webhook_state *st, const struct job_spec *checked)
{
    struct producer *p = r->p;
    if (!producer_writer_db_up(p->writer)) {
        webhook_spool(r, st, "MariaDB unavailable");
        return;
    }
    st->w = producer_write_new(checked);
    st->w->wake = http_wake;
    st->w->wake_arg = r;
    /* Suspend first: the writer may answer before submit even returns. */
    http_suspend(r);
    if (producer_writer_submit(p->writer, st->w) < 0) {
        st->submit_failed = true;
        http_wake(r);
    }
}

/* The writer answered (or gave up, or was never reachable): reply, or spool. */
static void
webhook_resumed(struct http_req *r, struct webhook_state *st)
{
    int s = st->submit_failed ? PW_FAILED : producer_write_state(r->p->writer, st->w);
    if (s == PW_PENDING) {
        /* Not answered yet: a wake from an earlier suspension. Wait again. */
        http_suspend(r);
        return;
    }
    if (s == PW_DONE) {
        webhook_reply_stored(r, st);
    } else if (s == PW_REFUSED) {
        /* Spooled, it would fail the same way at every replay: a 4xx now, not a 2xx. */
        http_reply_error(r, 413, "body", "%s", st->w->err);
        webhook_log_row(r, 413, 0, "row too large for MariaDB");
    } else {
        webhook_spool(r, st, st->submit_failed ? "MariaDB unavailable" : st->w->err);
    }
}

/* ---- the pipeline after the body ---- */

void
webhook_handle(struct http_req *r)
{
    struct webhook_state *st = r->webhook;
    if (st->w || st->submit_failed) {
        webhook_resumed(r, st);
        return;
    }
    if (r->too_large) {
        http_reply_error(r, 413, "body", "the body is over the limit of %lld bytes",
                         (long long)r->p->cfg->producer.max_body_bytes);
        webhook_log_row(r, 413, 0, "body too large");
        return;
    }
    char reason[256];
    if (st->src->auth == WEBHOOK_AUTH_HMAC &&
        webhook_auth_check(st->src, &r->headers, r->body.data, r->body.len, now_wall_ms() / 1000,
                           reason, sizeof(reason)) < 0) {
        webhook_refuse_auth(r, st, reason);
        return;
    }
    struct job_spec checked;
    if (webhook_parse(r, st, &checked) < 0)
        return;
    webhook_store(r, st, &checked);
}
