/* This file is a webhook's way through the producer: route and source, authentication, the
 * idempotency key, the job's parameters, then either the group-commit writer or, when
 * MariaDB is down or too slow, the spool. A 2xx is sent only once the job is committed or the
 * request is fsync'ed in the spool (invariant 7); when neither is possible the sender gets 503
 * and retries.
 *
 * Every delivery carries an idempotency key: the sender's (Idempotency-Key header or the
 * source's idempotency_field), else one made from a fresh delivery id. The key is fixed before
 * the first write attempt, so a write that was still in flight when its request gave up and
 * spooled cannot make a second job when the spool is replayed. */
#include "action.h"
#include "hmac.h"
#include "http_server.h"
#include "ids.h"
#include "json_escape.h"
#include "jsonptr.h"
#include "log.h"
#include "producer.h"
#include "producer_writer.h"
#include "spool.h"
#include "spool_replay.h"
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

static void
webhook_log_row(struct http_req *r, int status, int64_t job_id, const char *reason)
{
    struct webhook_state *st = r->webhook;
    webhook_log_add(r->p->wlog, st && st->src ? st->src->name : NULL, r->url,
                    st && st->action[0] ? st->action : NULL, status, job_id, reason);
}

int
webhook_begin(struct http_req *r)
{
    struct webhook_state *st = xcalloc(1, sizeof(*st));
    r->webhook = st;
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
    if (st->src == NULL) {
        http_reply_error(r, 404, "path", "no webhook source is configured for %s", r->url);
        webhook_log_row(r, 404, 0, "no source");
        return 1;
    }
    if (action_find(st->action, r->p->cfg->worker.test_actions) == NULL) {
        http_reply_error(r, 404, "path", "unknown action \"%s\"", st->action);
        webhook_log_row(r, 404, 0, "unknown action");
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

/* A body becomes a JSON string in the job's parameters, so it must be UTF-8 without NULs. */
static bool
webhook_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        int len = c < 0x80             ? 1
                  : (c & 0xE0) == 0xC0 ? 2
                  : (c & 0xF0) == 0xE0 ? 3
                  : (c & 0xF8) == 0xF0 ? 4
                                       : 0;
        if (c == 0 || len == 0 || i + (size_t)len > n || (len == 2 && c < 0xC2) ||
            (len == 4 && c > 0xF4))
            return false;
        for (int k = 1; k < len; k++)
            if ((s[i + (size_t)k] & 0xC0) != 0x80)
                return false;
        /* Overlong three-byte forms and UTF-16 surrogates are not valid UTF-8 either. */
        if (len == 3 && ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0)))
            return false;
        if (len == 4 && ((c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90)))
            return false;
        i += (size_t)len;
    }
    return true;
}

/* "<source>:<kind>:<value>", hashed when it would not fit the column. */
static char *
webhook_make_key(const char *source, const char *kind, const char *value)
{
    char *key = xasprintf("%s:%s:%s", source, kind, value);
    if (strlen(key) <= WEBHOOK_KEY_MAX)
        return key;
    uint8_t d[HMAC_SHA256_LEN];
    char hex[2 * HMAC_SHA256_LEN + 1];
    hmac_digest(key, strlen(key), d);
    hmac_hex(d, sizeof(d), hex);
    free(key);
    return xasprintf("%s:%s-sha256:%s", source, kind, hex);
}

/* Finds the delivery's idempotency key. Replies 400 and returns -1 when the source wants one
 * from a body that does not have it. */
static int
webhook_idem_key(struct http_req *r, struct webhook_state *st, const char *delivery)
{
    const struct webhook_source *src = st->src;
    const char *hdr = http_headers_get(&r->headers, "idempotency-key");
    cJSON *doc = NULL;
    if (src->n_idem > 0) {
        /* A source that names fields in its body takes JSON bodies only. */
        long at = 0;
        doc = http_body_json(r, &at);
        if (doc == NULL) {
            http_reply_error(r, 400, "body", "body is not valid JSON (error at byte %ld)", at);
            webhook_log_row(r, 400, 0, "body is not valid JSON");
            return -1;
        }
    }
    if (hdr && *hdr) {
        st->idem_key = webhook_make_key(src->name, "key", hdr);
    } else if (src->n_idem > 0) {
        cJSON *vals = cJSON_CreateArray();
        for (int i = 0; i < src->n_idem; i++) {
            const cJSON *it = jsonptr_get(doc, src->idem_fields[i]);
            char text[1024];
            if (it == NULL || cJSON_IsNull(it) || jsonptr_text(it, text, sizeof(text)) < 0) {
                http_reply_error(r, 400, "body", "idempotency field %s is missing or too long",
                                 src->idem_fields[i]);
                webhook_log_row(r, 400, 0, "idempotency field missing");
                cJSON_Delete(vals);
                cJSON_Delete(doc);
                return -1;
            }
            cJSON_AddItemToArray(vals, cJSON_CreateString(text));
        }
        char *joined = NULL;
        if (src->n_idem == 1)
            joined = xstrdup(cJSON_GetArrayItem(vals, 0)->valuestring);
        else
            joined = cJSON_PrintUnformatted(vals);
        st->idem_key = webhook_make_key(src->name, "field", joined);
        cJSON_free(joined);
        cJSON_Delete(vals);
    } else {
        st->idem_key = webhook_make_key(src->name, "delivery", delivery);
    }
    cJSON_Delete(doc);
    return 0;
}

/* A header value as valid UTF-8: bytes that are not (Latin-1 from an old sender) become '?',
 * since the parameters column takes UTF-8 only and a header must not make a delivery fail. */
static char *
webhook_utf8_clean(const char *s)
{
    char *d = xstrdup(s);
    size_t n = strlen(d);
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !webhook_utf8_ok((const unsigned char *)d + i, k))
            k++;
        if (k > 4 || i + k > n) {
            d[i++] = '?';
            continue;
        }
        i += k;
    }
    return d;
}

/* {"payload": "<raw body>", "headers": {name: value}}, without credentials: a token or a
 * password must not end up in the jobs table. A header sent more than once is one value,
 * joined with ", ". Written directly rather than through cJSON: this runs for every webhook,
 * and a cJSON tree costs an allocation per node and a copy per string. */
static char *
webhook_parameters(struct http_req *r, const struct webhook_source *src)
{
    int n = r->headers.n;
    char **names = xcalloc((size_t)(n ? n : 1), sizeof(*names));
    for (int i = 0; i < n; i++) {
        const char *name = r->headers.names[i];
        if (strcmp(name, "authorization") == 0 || strcmp(name, "cookie") == 0 ||
            (src->token_header && strcmp(name, src->token_header) == 0))
            continue;
        names[i] = webhook_utf8_clean(name);
    }
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
            char *value = webhook_utf8_clean(r->headers.values[k]);
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
        log_error("webhook %s: not stored (%s) and not spooled (%s): 503", r->url, why, err);
        atomic_fetch_add(&p->metrics.webhooks_refused, 1);
        http_reply_unavailable(r, WEBHOOK_RETRY_AFTER_S,
                               "the webhook could not be stored; retry later");
        webhook_log_row(r, 503, 0, err);
        return;
    }
    atomic_fetch_add(&p->metrics.webhooks_spooled, 1);
    char *body = xasprintf("{\"spooled\":true,\"spool_id\":\"%s\"}", id);
    http_reply(r, 202, NULL, body, NULL);
    free(body);
    char reason[160];
    snprintf(reason, sizeof(reason), "spooled %s", id);
    webhook_log_row(r, 202, 0, reason);
    /* When MariaDB was only slow the replay can start at once. */
    spool_replay_kick(p->replay);
}

static void
webhook_stored(struct http_req *r, struct webhook_state *st)
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

/* The writer answered (or gave up, or was never reachable). */
static void
webhook_resumed(struct http_req *r, struct webhook_state *st)
{
    int s = st->submit_failed ? PW_FAILED : producer_write_state(r->p->writer, st->w);
    if (s == PW_PENDING) {
        /* Not answered yet: a wake from an earlier suspension. Wait again. */
        http_suspend(r);
        return;
    }
    if (s == PW_DONE)
        webhook_stored(r, st);
    else
        webhook_spool(r, st, st->submit_failed ? "MariaDB unavailable" : st->w->err);
}

/* Authenticates and checks the body; replies and returns -1 when the request is refused. */
static int
webhook_admit(struct http_req *r, struct webhook_state *st, const char *delivery)
{
    char reason[256];
    if (webhook_auth_check(st->src, &r->headers, r->body.data, r->body.len, now_wall_ms() / 1000,
                           reason, sizeof(reason)) < 0) {
        log_warnx("webhook %s: 401 for source %s: %s", r->url, st->src->name, reason);
        http_reply_error(r, 401, NULL, "authentication failed");
        webhook_log_row(r, 401, 0, reason);
        return -1;
    }
    if (!webhook_utf8_ok((const unsigned char *)r->body.data, r->body.len)) {
        http_reply_error(r, 400, "body", "the body must be UTF-8 text without NUL bytes");
        webhook_log_row(r, 400, 0, "body is not UTF-8");
        return -1;
    }
    return webhook_idem_key(r, st, delivery);
}

void
webhook_handle(struct http_req *r)
{
    struct webhook_state *st = r->webhook;
    struct producer *p = r->p;
    if (st->w || st->submit_failed) {
        webhook_resumed(r, st);
        return;
    }
    char delivery[2 * WEBHOOK_DELIVERY_BYTES + 1];
    webhook_delivery_id(delivery);
    if (webhook_admit(r, st, delivery) < 0)
        return;
    st->parameters = webhook_parameters(r, st->src);
    /* The parameters are checked with a stand-in: they are an object built right here, and
     * parsing them again would only cost time (unless the action makes a key from them). */
    const struct action_info *def = action_find(st->action, p->cfg->worker.test_actions);
    struct job_spec spec = {.action = st->action,
                            .parameters = def && def->unique_by ? st->parameters : "{}",
                            .idempotency_key = st->idem_key,
                            .origin = "webhook"};
    struct job_spec checked;
    const char *field = NULL;
    char err[256];
    if (job_spec_check(&spec, p->cfg->worker.test_actions, &checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        http_reply_error(r, 400, field, "%s", err);
        webhook_log_row(r, 400, 0, err);
        return;
    }
    checked.parameters = st->parameters;
    if (!producer_writer_db_up(p->writer)) {
        webhook_spool(r, st, "MariaDB unavailable");
        return;
    }
    st->w = producer_write_new(&checked);
    st->w->wake = http_wake;
    st->w->wake_arg = r;
    /* Suspend first: the writer may answer before submit even returns. */
    http_suspend(r);
    if (producer_writer_submit(p->writer, st->w) < 0) {
        st->submit_failed = true;
        http_wake(r);
    }
}
