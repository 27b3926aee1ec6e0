/* This file is the producer's HTTP layer on libmicrohttpd: an internal pool of [producer]
 * threads polls the connections, this file collects each request's headers and bounded body,
 * refuses a declared oversized body before reading it, routes the request to the webhook
 * path, the JSON API or the pages, and queues their responses. A webhook waiting for its
 * commit is suspended rather than holding its thread, so a few threads serve many concurrent
 * senders. */
#include "api.h"
#include "health_page.h"
#include "http_client_addr.h"
#include "http_guard.h"
#include "http_prefix_limit.h"
#include "http_server.h"
#include "http_tls.h"
#include "listen_addr.h"
#include "log.h"
#include "log_limit.h"
#include "producer.h"
#include "producer_pages.h"
#include "utf8.h"
#include "util.h"
#include "webhook_handle.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum http_route { ROUTE_PAGE, ROUTE_WEBHOOK, ROUTE_API };

/* A chunked body past the limit is read and thrown away up to this many times the limit, so
 * the sender can still be told 413; past that the connection is simply closed. */
#define HTTP_DISCARD_FACTOR 4
/* Per connection: the request line and headers must fit, with the read buffer. libmicrohttpd
 * zeroes this memory for every request, which at the default 32 KiB was a few percent of the
 * producer's CPU under load; 16 KiB still takes twice the 8 KiB of headers most proxies
 * allow. */
#define HTTP_CONN_MEMORY (16 * 1024)
/* The pages take no body beyond a form; anything larger is refused before it is read, so a
 * request to an unknown path cannot make the producer buffer max_body_bytes. The largest form
 * is a bulk change of a page's 500 selected rows: 500 × "&id=" and 19 digits is 11,500 bytes. */
#define HTTP_PAGE_BODY_MAX (16 * 1024)
/* File descriptors beside the connections: MariaDB, Redis, the spool, logs. */
#define HTTP_FD_SPARE 128
/* Every reply carries these: nothing served is meant to be framed, sniffed as another type,
 * or to load anything from elsewhere. The dashboard's pages load only their own assets. Nor
 * kept by a cache on the way, unless the reply says otherwise (the dashboard's assets): the
 * API's answers hold job parameters and results. */
static const char *const http_security[][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Cache-Control", "no-store"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
     "form-action 'self'"},
    {"Referrer-Policy", "no-referrer"},
};
#define HTTP_SECURITY_N ((int)(sizeof(http_security) / sizeof(http_security[0])))

int
http_reply_with(struct http_req *r, int status, const char *content_type, const char *body,
                const char *hname, const char *hvalue)
{
    const char *hdrs[] = {hname, hvalue, NULL};
    return http_reply_headers(r, status, content_type, body, hdrs);
}

int
http_reply_headers(struct http_req *r, int status, const char *content_type, const char *body,
                   const char *const *hdrs)
{
    size_t n = body ? strlen(body) : 0;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        n, (void *)(uintptr_t)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        fatalx("libmicrohttpd: out of memory creating a response");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type ? content_type : "application/json");
    /* The security headers go on every reply; a caller (the dashboard) may set its own. */
    bool own[HTTP_SECURITY_N] = {false};
    for (int i = 0; hdrs && hdrs[i]; i += 2) {
        MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]);
        for (int k = 0; k < HTTP_SECURITY_N; k++)
            if (strcasecmp(hdrs[i], http_security[k][0]) == 0)
                own[k] = true;
    }
    for (int k = 0; k < HTTP_SECURITY_N; k++)
        if (!own[k])
            MHD_add_response_header(resp, http_security[k][0], http_security[k][1]);
    if (atomic_load(&r->p->draining) || r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->replied = true;
    if (status >= 100 && status < 600)
        atomic_fetch_add(&r->p->metrics.by_status[status], 1);
    return rc == MHD_YES ? 0 : -1;
}

int
http_reply(struct http_req *r, int status, const char *content_type, const char *body,
           const char *allow)
{
    return http_reply_with(r, status, content_type, body, allow ? MHD_HTTP_HEADER_ALLOW : NULL,
                           allow);
}

static char *
http_error_body(const char *field, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* The message may quote the request (a decoded path segment, a member name) or be cut
     * inside a character: cleaned, so the body is JSON a strict client can read. */
    char *clean_msg = utf8_clean(msg), *clean_field = field ? utf8_clean(field) : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", clean_msg);
    if (clean_field)
        cJSON_AddStringToObject(o, "field", clean_field);
    else
        cJSON_AddNullToObject(o, "field");
    free(clean_msg);
    free(clean_field);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        fatalx("out of memory");
    return s;
}

int
http_reply_error(struct http_req *r, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = http_error_body(field, fmt, ap);
    va_end(ap);
    int rc = http_reply(r, status, NULL, body,
                        status == 405 ? (r->route == ROUTE_WEBHOOK ? "POST" : "GET, POST") : NULL);
    cJSON_free(body);
    return rc;
}

int
http_reply_not_found(struct http_req *r)
{
    return http_reply(r, 404, NULL, "{\"error\":\"not found\",\"field\":null}", NULL);
}

int64_t
http_declared_length(const struct http_req *r)
{
    const char *cl = http_headers_get(&r->headers, "content-length");
    int64_t len;
    if (cl && parse_int64(cl, 0, INT64_MAX, &len) == 0)
        return len;
    return -1;
}

int
http_reply_not_allowed(struct http_req *r, const char *allow)
{
    cJSON *o = cJSON_CreateObject();
    char *msg = xasprintf("%s is not allowed here; use %s", r->method, allow);
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNullToObject(o, "field");
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(msg);
    if (body == NULL)
        fatalx("out of memory");
    int rc = http_reply(r, 405, NULL, body, allow);
    cJSON_free(body);
    return rc;
}

int
http_reply_unavailable(struct http_req *r, int retry_after_s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = http_error_body(NULL, fmt, ap);
    va_end(ap);
    char ra[16];
    snprintf(ra, sizeof(ra), "%d", retry_after_s);
    int rc = http_reply_with(r, 503, NULL, body, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    cJSON_free(body);
    return rc;
}

void
http_client(struct http_req *r, char *out, size_t len)
{
    char peer[64];
    http_peer(r, peer, sizeof(peer));
    http_client_addr(r->p->proxies, peer, &r->headers, out, len);
}

void
http_host(struct http_req *r, char *out, size_t len)
{
    const char *host = http_headers_get(&r->headers, "host");
    const char *fwd = http_headers_get(&r->headers, "x-forwarded-host");
    char peer[64];
    if (fwd && *fwd) {
        http_peer(r, peer, sizeof(peer));
        if (http_proxies_has(r->p->proxies, peer)) {
            /* Each proxy on the way appends the host it was asked for: the first is the
             * browser's. */
            size_t n = strcspn(fwd, ",");
            while (n && fwd[n - 1] == ' ')
                n--;
            snprintf(out, len, "%.*s", (int)n, fwd);
            return;
        }
    }
    snprintf(out, len, "%s", host ? host : "");
}

void
http_peer(struct http_req *r, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = '\0';
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

void
http_suspend(struct http_req *r)
{
    r->suspended = true;
    atomic_fetch_add(&r->p->suspended, 1);
    MHD_suspend_connection(r->conn);
}

void
http_wake(void *req)
{
    struct http_req *r = req;
    MHD_resume_connection(r->conn);
}

cJSON *
http_body_json(const struct http_req *r, long *err_at)
{
    const char *end = NULL;
    const char *data = r->body.data ? r->body.data : "";
    /* cJSON takes any bytes in a string; a JSON text must be UTF-8, and MariaDB would mangle
     * what is not. */
    size_t bad = utf8_invalid_at(data, r->body.len);
    if (bad < r->body.len) {
        *err_at = (long)bad;
        return NULL;
    }
    /* Not cJSON's own NUL check: with a length it wants the NUL inside the length, and a NUL
     * byte inside the body must not end the document early either. */
    cJSON *j = cJSON_ParseWithLengthOpts(data, r->body.len, &end, 0);
    if (j && end) {
        while (end < data + r->body.len &&
               (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
    }
    if (j && end == data + r->body.len)
        return j;
    cJSON_Delete(j);
    *err_at = end && end >= data ? (long)(end - data) : 0;
    return NULL;
}

const char *
http_query(struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result
http_collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct http_headers *h = cls;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 16;
        h->names = xrealloc(h->names, sizeof(char *) * (size_t)h->cap);
        h->values = xrealloc(h->values, sizeof(char *) * (size_t)h->cap);
    }
    value = value ? value : "";
    size_t kl = strlen(key), vl = strlen(value);
    char *name = xmalloc(kl + vl + 2);
    for (size_t i = 0; i < kl; i++)
        name[i] = (char)tolower((unsigned char)key[i]);
    name[kl] = '\0';
    memcpy(name + kl + 1, value, vl + 1);
    h->names[h->n] = name;
    h->values[h->n] = name + kl + 1;
    h->n++;
    return MHD_YES;
}

static void
http_headers_release(struct http_headers *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->names[i]);
    free(h->names);
    free(h->values);
    memset(h, 0, sizeof(*h));
}

/* The largest body a route takes. */
static size_t
http_body_max(const struct http_req *r)
{
    return r->route == ROUTE_PAGE ? HTTP_PAGE_BODY_MAX : (size_t)r->p->cfg->producer.max_body_bytes;
}

/* True for a request framed two ways: Content-Length beside Transfer-Encoding, two
 * Content-Lengths, or a Transfer-Encoding other than one "chunked" (two headers, or a list
 * whose last coding is not chunked: RFC 9112 6.3 leaves its length unknown). libmicrohttpd
 * picks one reading; a proxy in front that picks another sees a second request where this
 * server sees body, or the reverse (request smuggling). */
static bool
http_framing_ambiguous(const struct http_headers *h)
{
    int lengths = 0, encodings = 0;
    bool chunked = true;
    for (int i = 0; i < h->n; i++) {
        lengths += strcmp(h->names[i], "content-length") == 0;
        if (strcmp(h->names[i], "transfer-encoding") == 0) {
            encodings++;
            const char *v = h->values[i] + strspn(h->values[i], " \t");
            size_t n = strlen(v);
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            chunked = n == 7 && strncasecmp(v, "chunked", 7) == 0;
        }
    }
    return lengths > 1 || (lengths > 0 && encodings > 0) || encodings > 1 ||
           (encodings == 1 && !chunked);
}

/* Runs once the headers are in, before any of the body is read: routes the request and lets
 * its route refuse it. Returns true when a response is already queued. */
static bool
http_begin(struct http_req *r)
{
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, http_collect_header, &r->headers);
    if (http_framing_ambiguous(&r->headers)) {
        r->close = true; /* RFC 9112 6.3: what follows on the connection cannot be trusted */
        http_reply_error(r, 400, "content-length",
                         "the request's length is framed two ways (two Content-Length headers, "
                         "Content-Length and Transfer-Encoding, or a Transfer-Encoding other "
                         "than one \"chunked\"): send one Content-Length, or chunked alone");
        return true;
    }
    const char *url = r->url;
    if (strncmp(url, "/webhook", 8) == 0 && (url[8] == '/' || url[8] == '\0'))
        r->route = ROUTE_WEBHOOK;
    else if (strncmp(url, "/api", 4) == 0 && (url[4] == '/' || url[4] == '\0'))
        r->route = ROUTE_API;
    else
        r->route = ROUTE_PAGE;
    /* The webhook path checks its own declared length, so that its refusal is logged. */
    if (r->route == ROUTE_WEBHOOK)
        return webhook_begin(r);
    if (r->route == ROUTE_API && api_begin(r))
        return true;
    int64_t len = http_declared_length(r);
    if (len > (int64_t)http_body_max(r)) {
        http_reply_error(r, 413, "body", "the body is %lld bytes; the limit here is %lld",
                         (long long)len, (long long)http_body_max(r));
        return true;
    }
    return false;
}

static void
http_dispatch(struct http_req *r)
{
    if (r->too_large && r->route != ROUTE_WEBHOOK) {
        http_reply_error(r, 413, "body", "the body is over the limit of %lld bytes",
                         (long long)http_body_max(r));
        return;
    }
    buf_append(&r->body, "", 0); /* data is never NULL from here on */
    switch (r->route) {
    case ROUTE_WEBHOOK:
        webhook_handle(r);
        break;
    case ROUTE_API:
        api_handle(r);
        break;
    default:
        if (strcmp(r->url, "/health") == 0)
            health_page(r);
        else
            producer_pages_handle(r);
        break;
    }
}

/* Runs before libmicrohttpd decodes the request target: the request starts here, keeping the
 * target as sent, since a decoded path no longer tells "%2F" (inside a cron job's name) from
 * "/" (between the segments of /api/cron/{name}/next). */
static void *
http_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct http_req *r = xcalloc(1, sizeof(*r));
    r->raw_url = xstrdup(uri ? uri : "");
    return r;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct producer *p = cls;
    struct http_req *r = *con_cls;
    if (r == NULL) {
        r = xcalloc(1, sizeof(*r));
        r->raw_url = xstrdup(url);
    }
    if (!r->started) {
        r->started = true;
        r->p = p;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->t_start_ms = now_mono_ms();
        atomic_fetch_add(&p->active, 1);
        *con_cls = r;
        http_guard_headers_in(p->guard, conn);
        http_begin(r);
        buf_init(&r->body, http_body_max(r));
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        http_guard_body_bytes(p->guard, conn, n);
        if (r->replied) {
            /* Refused before its body: what still comes is thrown away, within a bound. */
            r->discarded += n;
            return r->discarded > http_body_max(r) * HTTP_DISCARD_FACTOR ? MHD_NO : MHD_YES;
        }
        if (!r->too_large && buf_append(&r->body, upload_data, n) < 0) {
            r->too_large = true;
            buf_release(&r->body);
        }
        if (r->too_large) {
            r->body.len += n; /* counts what was thrown away */
            if (r->body.len > http_body_max(r) * HTTP_DISCARD_FACTOR)
                return MHD_NO;
        }
        return MHD_YES;
    }
    http_guard_body_done(p->guard, conn);
    if (r->suspended) {
        r->suspended = false;
        atomic_fetch_sub(&p->suspended, 1);
    }
    if (!r->replied)
        http_dispatch(r);
    return MHD_YES;
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct producer *p = cls;
    struct http_req *r = *con_cls;
    if (r == NULL)
        return;
    *con_cls = NULL;
    if (!r->started) {
        /* The connection ended between the request line and the headers. */
        free(r->raw_url);
        free(r);
        return;
    }
    http_guard_request_done(p->guard, conn);
    webhook_end(r);
    api_end(r);
    http_headers_release(&r->headers);
    buf_release(&r->body);
    free(r->raw_url);
    free(r);
    atomic_fetch_sub(&p->active, 1);
}

/* libmicrohttpd's accept policy (cls is the prefix limit): refuses a connection before
 * anything is allocated for it when its address, or its IPv6 prefix, already holds
 * max_connections_per_ip connections. */
static enum MHD_Result
http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    return http_prefix_limit_allows(cls, addr, addrlen) ? MHD_YES : MHD_NO;
}

/* libmicrohttpd's connection notifications: the prefix limit counts the connections that
 * libmicrohttpd really opened (it may still refuse one after the accept policy let it in), and
 * the guard watches their deadlines. */
static void
http_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
            enum MHD_ConnectionNotificationCode code)
{
    struct producer *p = cls;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    /* libmicrohttpd keeps the address the accept gave it, whole, until after the close. */
    socklen_t len = sa && sa->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                                    : (socklen_t)sizeof(struct sockaddr_in);
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        http_prefix_limit_opened(p->prefix_limit, sa, len);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        http_prefix_limit_closed(p->prefix_limit, sa, len);
    http_guard_notify(p->guard, conn, socket_context, code);
}

static void http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
http_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    /* Most of these are a client's doing (a request dropped half-way, headers too big). */
    static struct log_limit limit = LOG_LIMIT_INIT("libmicrohttpd");
    log_limit_mhd_line(&limit, "libmicrohttpd: ", fmt, ap);
}

int
http_check_listen(const char *listen, char *err, size_t errlen)
{
    struct addrinfo *ai = listen_addr_resolve("[producer] listen", listen, err, errlen);
    if (ai == NULL)
        return -1;
    freeaddrinfo(ai);
    return 0;
}

/* Makes room for max_connections descriptors: raises the soft RLIMIT_NOFILE up to the hard
 * one when needed. -1 with a message when even the hard limit is too low. */
static int
http_check_nofile(const struct cfg_producer *pc, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    rlim_t need = (rlim_t)pc->max_connections + HTTP_FD_SPARE;
    if (rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        snprintf(err, errlen,
                 "[producer] max_connections = %d needs %llu open files; the limit is %llu "
                 "(raise LimitNOFILE or ulimit -n, or lower max_connections)",
                 pc->max_connections, (unsigned long long)need, (unsigned long long)rl.rlim_max);
        return -1;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        snprintf(err, errlen, "setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)need,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int
http_server_start(struct producer *p, char *err, size_t errlen)
{
    const struct cfg_producer *pc = &p->cfg->producer;
    if (http_check_nofile(pc, err, errlen) < 0)
        return -1;
    struct http_tls tls;
    if (http_tls_load(pc, &tls, err, errlen) < 0)
        return -1;
    struct addrinfo *ai = listen_addr_resolve("[producer] listen", pc->listen, err, errlen);
    if (ai == NULL) {
        http_tls_release(&tls);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (tls.cert)
        flags |= MHD_USE_TLS;
    struct http_guard_limits lim = {.header_ms = pc->header_timeout_s * 1000,
                                    .request_ms = pc->request_timeout_s * 1000,
                                    .body_grace_ms = pc->body_grace_s * 1000,
                                    .body_min_rate = pc->body_min_bytes_per_s};
    p->guard = http_guard_start(&lim);
    p->prefix_limit =
        http_prefix_limit_new(pc->max_connections_per_ip, pc->ipv6_prefix_len, pc->max_connections);
    /* libmicrohttpd's idle timeout also ends a request resumed after a long wait for its
     * commit, so it is the request deadline; the guard enforces the tighter header and body
     * rate ones. */
    static char tls_priorities[] = HTTP_TLS_PRIORITIES;
    struct MHD_OptionItem tls_opts[] = {
        {.option = tls.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, .ptr_value = tls.cert},
        {.option = MHD_OPTION_HTTPS_MEM_KEY, .ptr_value = tls.key},
        {.option = MHD_OPTION_HTTPS_PRIORITIES, .ptr_value = tls_priorities},
        {.option = MHD_OPTION_END}};
    p->mhd = MHD_start_daemon(
        flags, 0, http_accept, p->prefix_limit, http_access, p, MHD_OPTION_EXTERNAL_LOGGER,
        http_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)pc->threads, MHD_OPTION_NOTIFY_COMPLETED, http_completed, p,
        MHD_OPTION_URI_LOG_CALLBACK, http_uri_log, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)pc->request_timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)pc->max_connections, MHD_OPTION_NOTIFY_CONNECTION, http_notify, p,
        MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    freeaddrinfo(ai);
    http_tls_release(&tls);
    if (p->mhd == NULL) {
        http_guard_stop(p->guard);
        p->guard = NULL;
        http_prefix_limit_free(p->prefix_limit);
        p->prefix_limit = NULL;
        snprintf(err, errlen,
                 "cannot listen on %s (address in use, not allowed, or the TLS "
                 "certificate and key do not match)",
                 pc->listen);
        return -1;
    }
    return 0;
}

void
http_server_quiesce(struct producer *p)
{
    MHD_socket fd = MHD_quiesce_daemon(p->mhd);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void
http_server_stop(struct producer *p)
{
    if (p->mhd)
        MHD_stop_daemon(p->mhd);
    p->mhd = NULL;
    http_guard_stop(p->guard);
    p->guard = NULL;
    http_prefix_limit_free(p->prefix_limit);
    p->prefix_limit = NULL;
}
