/* This file runs the HTTP client's transfers over libcurl (the only file that includes
 * <curl/curl.h>): every request, single or batched, goes through one curl multi loop that
 * takes a budget slot before each attempt, retries with backoff and honours cancellation. */
#include "httpc_int.h"
#include "ids.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The longest the loop sleeps before looking at the cancel flag again. */
#define HTTPC_TICK_MS 100
/* Response headers are small; a server that sends megabytes of them is broken. */
#define HTTPC_MAX_HEADER_BYTES (256 * 1024)

/* One request of a batch, across its attempts. */
struct httpc_xfer {
    const struct httpc_req *req;
    struct httpc_resp *resp;
    const char *method;
    char *url;
    char *json_body;
    CURL *easy;
    struct curl_slist *hdrs;
    struct curl_slist *connect_to; /* req->connect_to as curl takes it */
    struct buf body, head;
    char errbuf[CURL_ERROR_SIZE];
    bool too_big, running, done;
    int64_t not_before;        /* monotonic: the next attempt may not start sooner */
    int64_t idle_since;        /* monotonic: when it last began to wait */
    int64_t budget_wait_since; /* monotonic: when the budget first said wait; 0 when not */
};

static pthread_once_t httpc_once = PTHREAD_ONCE_INIT;

static void
httpc_global(void)
{
    /* Once per process, before any thread makes a handle: curl_global_init is not
     * thread-safe on every build. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct httpc *
httpc_new(const struct httpc_conf *conf, struct rq *rq)
{
    pthread_once(&httpc_once, httpc_global);
    struct httpc *h = xcalloc(1, sizeof(*h));
    httpc_conf_copy(&h->conf, conf);
    if (h->conf.max_attempts < 1)
        h->conf.max_attempts = 1;
    h->bearer = conf->token ? xstrdup(conf->token) : NULL;
    h->rq = rq;
    h->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)now_wall_ms() ^ (uint64_t)(uintptr_t)h;
    if (h->rng == 0)
        h->rng = 1;
    return h;
}

void
httpc_free(struct httpc *h)
{
    if (h == NULL)
        return;
    httpc_conf_free(&h->conf);
    free(h->bearer);
    free(h);
}

void
httpc_set_cancel(struct httpc *h, volatile int *flag)
{
    h->cancel = flag;
}

void
httpc_set_bearer(struct httpc *h, const char *token)
{
    free(h->bearer);
    h->bearer = token ? xstrdup(token) : NULL;
    h->conf.auth = HTTPC_AUTH_BEARER;
}

bool
httpc_bearer_set(const struct httpc *h)
{
    return h->bearer != NULL && h->bearer[0] != '\0';
}

int64_t
httpc_retry_after_ms(const char *value, int64_t now_ms)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    int64_t secs, ms;
    /* Digits past INT64_MAX / 1000 are still a number of seconds: the cap, not "absent". */
    if (value[0] >= '0' && value[0] <= '9' && strspn(value, "0123456789") == strlen(value))
        ms = parse_int64(value, 0, HTTPC_RETRY_AFTER_CAP_MS / 1000, &secs) == 0
                 ? secs * 1000
                 : HTTPC_RETRY_AFTER_CAP_MS;
    else {
        /* curl_getdate reads the three HTTP date forms (IMF-fixdate, RFC 850, asctime). */
        time_t t = curl_getdate(value, NULL);
        if (t == (time_t)-1)
            return -1;
        ms = (int64_t)t * 1000 - now_ms;
    }
    return ms < 0 ? 0 : ms < HTTPC_RETRY_AFTER_CAP_MS ? ms : HTTPC_RETRY_AFTER_CAP_MS;
}

void
httpc_resp_release(struct httpc_resp *r)
{
    free(r->body);
    free(r->headers);
    free(r->link_next);
    cJSON_Delete(r->json);
    r->body = r->headers = r->link_next = NULL;
    r->json = NULL;
    r->body_len = 0;
}

bool
httpc_resp_transient(const struct httpc_resp *r)
{
    switch (r->error) {
    case HTTPC_ETRANSPORT:
    case HTTPC_EBUDGET:
        return true;
    case HTTPC_ESTATUS:
        return r->status == 408 || r->status == 429 || (r->status >= 500 && r->status != 501);
    default:
        return false;
    }
}

int
httpc_resp_header(const struct httpc_resp *r, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = eol ? (size_t)(eol - v) : strlen(v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(out, len, "%.*s", (int)vl, v);
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return -1;
}

/* Appends name=value with both percent-encoded (RFC 3986 unreserved characters kept). */
static void
httpc_query_append(struct buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            buf_append(b, p, 1);
        else
            buf_printf(b, "%%%02X", *p);
    }
}

static char *
httpc_build_url(const struct httpc *h, const struct httpc_req *req)
{
    char *joined = httpc_url_join(h->conf.base_url, req->path);
    if (req->query == NULL || req->query[0] == NULL)
        return joined;
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, joined);
    char sep = strchr(joined, '?') ? '&' : '?';
    free(joined);
    for (int i = 0; req->query[i] && req->query[i + 1]; i += 2) {
        buf_append(&b, &sep, 1);
        httpc_query_append(&b, req->query[i]);
        buf_append(&b, "=", 1);
        httpc_query_append(&b, req->query[i + 1]);
        sep = '&';
    }
    return buf_detach(&b);
}

/* The error line every failure carries: service, method, path, then what went wrong. */
static void httpc_fail(struct httpc *h, struct httpc_xfer *x, enum httpc_error e, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static void
httpc_fail(struct httpc *h, struct httpc_xfer *x, enum httpc_error e, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* The query is left out: it may carry a signature or a token. */
    const char *path = x->req->path ? x->req->path : "";
    int plen = (int)strcspn(path, "?");
    snprintf(x->resp->err, sizeof(x->resp->err), "%s: %s %.*s: %s", h->conf.name, x->method,
             plen > 160 ? 160 : plen, path, what);
    x->resp->error = e;
    x->done = true;
}

static bool
httpc_has_header(const char *const *hdrs, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; hdrs && hdrs[i]; i++)
        if (strncasecmp(hdrs[i], name, n) == 0 && hdrs[i][n] == ':')
            return true;
    return false;
}

static struct curl_slist *
httpc_headers(const struct httpc *h, const struct httpc_xfer *x, bool creds)
{
    const struct httpc_req *req = x->req;
    struct curl_slist *sl = NULL;
    if (!httpc_has_header(req->headers, "Accept"))
        sl = curl_slist_append(sl, "Accept: application/json");
    /* curl would wait for "100 Continue" before large bodies; APIs answer without it. */
    if (!httpc_has_header(req->headers, "Expect"))
        sl = curl_slist_append(sl, "Expect:");
    if (x->json_body)
        sl = curl_slist_append(sl, "Content-Type: application/json");
    else if (req->body && req->content_type) {
        char *ct = xasprintf("Content-Type: %s", req->content_type);
        sl = curl_slist_append(sl, ct);
        free(ct);
    }
    if (creds && h->conf.auth == HTTPC_AUTH_BEARER && h->bearer) {
        char *a = xasprintf("Authorization: Bearer %s", h->bearer);
        sl = curl_slist_append(sl, a);
        free(a);
    } else if (creds && h->conf.auth == HTTPC_AUTH_TOKEN) {
        char *a = xasprintf("Authorization: token %s:%s", h->conf.api_key ? h->conf.api_key : "",
                            h->conf.api_secret ? h->conf.api_secret : "");
        sl = curl_slist_append(sl, a);
        free(a);
    }
    if (req->attempt_id_header) {
        char id[37];
        ids_uuid(id);
        char *line = xasprintf("%s: %s", req->attempt_id_header, id);
        sl = curl_slist_append(sl, line);
        free(line);
    }
    for (int i = 0; req->headers && req->headers[i]; i++)
        sl = curl_slist_append(sl, req->headers[i]);
    return sl;
}

static size_t
httpc_on_body(char *p, size_t size, size_t n, void *ud)
{
    struct httpc_xfer *x = ud;
    if (buf_append(&x->body, p, size * n) < 0) {
        /* Returning short aborts the transfer with CURLE_WRITE_ERROR. */
        x->too_big = true;
        return 0;
    }
    return size * n;
}

static size_t
httpc_on_header(char *p, size_t size, size_t n, void *ud)
{
    struct httpc_xfer *x = ud;
    size_t len = size * n;
    /* A status line starts a new response (after a 100 Continue): keep only the last. */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
        buf_reset(&x->head);
    size_t start = x->head.len;
    if (buf_append(&x->head, p, len) < 0)
        return 0;
    /* Lower-case the name so lookups need not care how the server spelled it. */
    for (size_t i = start; i < x->head.len && x->head.data[i] != ':'; i++)
        x->head.data[i] = (char)tolower((unsigned char)x->head.data[i]);
    return len;
}

static void
httpc_set_body(CURL *c, const struct httpc_xfer *x)
{
    const char *m = x->method;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (x->json_body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->json_body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(x->json_body));
    } else if (x->req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req->body_len);
    } else if (strcmp(m, "GET") != 0) {
        /* An empty body still gets "Content-Length: 0", which some servers require. */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
}

/* The cap on req's response body: its own, else the service's (0: none). */
static int64_t
httpc_cap(const struct httpc *h, const struct httpc_req *req)
{
    return req->max_response_bytes > 0 ? req->max_response_bytes : h->conf.max_response_bytes;
}

static CURL *
httpc_easy(struct httpc *h, struct httpc_xfer *x)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        fatalx("curl_easy_init failed");
    /* Credentials go only to the service's own origin, never to a URL another host handed
     * us (a signed attachment URL, a redirect target). */
    bool creds = h->conf.base_url[0] && httpc_same_origin(h->conf.base_url, x->url);
    x->hdrs = httpc_headers(h, x, creds);
    if (x->req->connect_to)
        x->connect_to = curl_slist_append(NULL, x->req->connect_to);
    curl_easy_setopt(c, CURLOPT_URL, x->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(c, CURLOPT_PRIVATE, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpc_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, httpc_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->conf.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->conf.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, x->req->untrusted_url ? "https" : "http,https");
    /* Redirects stay unfollowed: the caller decides whether a Location may be visited. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (h->conf.ca_file && *h->conf.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->conf.ca_file);
    if (x->req->untrusted_url) {
        /* A proxy would make the address check moot: it, not we, would connect. */
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    }
    if (x->connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, x->connect_to);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "jobfleet");
    int64_t cap = httpc_cap(h, x->req);
    if (cap > 0)
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
    if (creds && h->conf.auth == HTTPC_AUTH_BASIC) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, h->conf.api_key ? h->conf.api_key : "");
        curl_easy_setopt(c, CURLOPT_PASSWORD,
                         h->conf.api_secret && *h->conf.api_secret ? h->conf.api_secret : "X");
    }
    httpc_set_body(c, x);
    return c;
}

/* Makes the URL and the body once; a request that cannot be made ends here. */
static void
httpc_prepare(struct httpc *h, struct httpc_xfer *x, const struct httpc_req *req,
              struct httpc_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->retry_after_ms = resp->rate_remaining = resp->rate_total = -1;
    x->req = req;
    x->resp = resp;
    x->method = req->method ? req->method : "GET";
    x->idle_since = now_mono_ms();
    if (req->path == NULL || (!h->conf.base_url[0] && strncmp(req->path, "http", 4) != 0)) {
        httpc_fail(h, x, HTTPC_EREQUEST, "no URL: set base_url or give a full URL");
        return;
    }
    x->url = httpc_build_url(h, req);
    if (req->json && (x->json_body = cJSON_PrintUnformatted(req->json)) == NULL)
        httpc_fail(h, x, HTTPC_EREQUEST, "the JSON body cannot be printed");
}

static void
httpc_start(struct httpc *h, CURLM *m, struct httpc_xfer *x)
{
    struct httpc_resp *r = x->resp;
    httpc_resp_release(r);
    r->retry_after_ms = r->rate_remaining = r->rate_total = -1;
    r->status = 0;
    r->attempts++;
    r->waited_ms += now_mono_ms() - x->idle_since;
    /* The cap is checked on every append; the NUL the buffer keeps is not counted. */
    buf_init(&x->body, (size_t)httpc_cap(h, x->req));
    buf_init(&x->head, HTTPC_MAX_HEADER_BYTES);
    x->too_big = false;
    x->errbuf[0] = '\0';
    x->easy = httpc_easy(h, x);
    x->running = true;
    curl_multi_add_handle(m, x->easy);
}

static int64_t
httpc_header_int(const struct httpc_resp *r, const char *name)
{
    char v[64];
    int64_t n;
    if (httpc_resp_header(r, name, v, sizeof(v)) < 0 || parse_int64(v, 0, INT64_MAX, &n) < 0)
        return -1;
    return n;
}

/* The server's time when it answered, from its Date header, else ours: a Retry-After date is
 * written by the server's clock, which may be far from ours. */
static int64_t
httpc_server_now_ms(const struct httpc_resp *r)
{
    char v[128];
    time_t t;
    if (httpc_resp_header(r, "date", v, sizeof(v)) == 0 && (t = curl_getdate(v, NULL)) != -1)
        return (int64_t)t * 1000;
    return now_wall_ms();
}

/* Moves the finished attempt's body and headers into the response and reads the headers
 * of interest. */
static void
httpc_take_response(struct httpc_xfer *x, long status)
{
    struct httpc_resp *r = x->resp;
    r->status = status;
    r->body_len = x->body.len;
    r->body = buf_detach(&x->body);
    r->headers = buf_detach(&x->head);
    char v[2048];
    if (httpc_resp_header(r, "link", v, sizeof(v)) == 0)
        r->link_next = httpc_link_next(v);
    if (httpc_resp_header(r, "retry-after", v, sizeof(v)) == 0)
        r->retry_after_ms = httpc_retry_after_ms(v, httpc_server_now_ms(r));
    r->rate_remaining = httpc_header_int(r, "x-ratelimit-remaining");
    r->rate_total = httpc_header_int(r, "x-ratelimit-total");
    char *ct = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    bool json =
        ct ? strstr(ct, "json") != NULL : r->body_len && (r->body[0] == '{' || r->body[0] == '[');
    if (json && r->body_len)
        r->json = cJSON_ParseWithLength(r->body, r->body_len);
}

static bool
httpc_method_idempotent(const char *m)
{
    return strcmp(m, "POST") != 0 && strcmp(m, "PATCH") != 0;
}

/* Whether the attempt's failure may be retried: transport errors and 408/429/5xx, but for a
 * POST or PATCH only failures that prove the server did not act on it. */
static bool
httpc_retryable(const struct httpc_xfer *x, CURLcode rc, long status)
{
    bool safe = httpc_method_idempotent(x->method) || x->req->unsafe_retry;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        return true;
    if (rc != CURLE_OK)
        return safe && (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
                        rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
                        rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM);
    if (status == 408 || status == 429 || status == 503)
        return true;
    return safe && status >= 500 && status != 501 && status <= 599;
}

uint64_t
httpc_random(struct httpc *h)
{
    /* xorshift64*: the worker's children are forks of one process, so a shared libc random()
     * state would give them the same jitter, which is what jitter is meant to avoid. */
    uint64_t x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return x * UINT64_C(2685821657736338717);
}

/* The wait before the next attempt: never sooner than Retry-After nor than the capped
 * exponential backoff with jitter (half fixed, half random), so that clients that failed
 * together do not come back together. */
static int64_t
httpc_delay(struct httpc *h, const struct httpc_resp *r)
{
    int64_t cap = h->conf.backoff_base_ms;
    for (int i = 1; i < r->attempts && cap < h->conf.backoff_max_ms; i++)
        cap *= 2;
    if (cap > h->conf.backoff_max_ms)
        cap = h->conf.backoff_max_ms;
    int64_t d = cap / 2 + (int64_t)(httpc_random(h) % (uint64_t)(cap / 2 + 1));
    if (r->retry_after_ms >= 0) {
        /* Never sooner than either: "Retry-After: 0" on every answer would spend the attempts
         * at once. */
        int64_t spread = r->retry_after_ms / 10 < 250 ? r->retry_after_ms / 10 : 250;
        int64_t ra = r->retry_after_ms + (int64_t)(httpc_random(h) % (uint64_t)(spread + 1));
        d = ra > d ? ra : d;
    }
    return d;
}

static void
httpc_describe(const struct httpc_xfer *x, CURLcode rc, char *out, size_t len)
{
    const struct httpc_resp *r = x->resp;
    if (rc != CURLE_OK) {
        snprintf(out, len, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        return;
    }
    /* An excerpt of the body on one line: APIs explain their refusals there. */
    char excerpt[161];
    size_t n = 0;
    for (size_t i = 0; r->body && i < r->body_len && n + 1 < sizeof(excerpt); i++)
        excerpt[n++] = (r->body[i] == '\n' || r->body[i] == '\r') ? ' ' : r->body[i];
    excerpt[n] = '\0';
    snprintf(out, len, "HTTP %ld%s%s", r->status, n ? ": " : "", excerpt);
}

/* Decides what a finished attempt means: done (success or failure) or a retry later. */
static void
httpc_finish(struct httpc *h, struct httpc_xfer *x, CURLcode rc)
{
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    httpc_take_response(x, rc == CURLE_OK ? status : 0);
    httpc_metrics_attempt(h, rc == CURLE_OK ? status : 0);
    struct httpc_resp *r = x->resp;
    /* The account's budget is spent (other clients share it, or ours is set too high): the
     * next request would be refused. In a per-minute window a credit frees about every
     * 60 s / total, so the whole fleet waits that long rather than collect a 429. */
    if (r->rate_remaining == 0 && r->rate_total > 0)
        httpc_budget_pause(h, 60000 / r->rate_total + 1);
    x->running = false;
    x->idle_since = now_mono_ms();
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        httpc_fail(h, x, HTTPC_ETOOBIG, "response larger than %s (%lld bytes)",
                   x->req->max_response_bytes > 0 && x->req->max_response_name
                       ? x->req->max_response_name
                       : "max_response_bytes",
                   (long long)httpc_cap(h, x->req));
        return;
    }
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        if (r->body_len && r->json == NULL) {
            char *ct = NULL;
            curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
            if (ct && strstr(ct, "json")) {
                httpc_fail(h, x, HTTPC_EBODY, "HTTP %ld with a JSON body that does not parse",
                           status);
                return;
            }
        }
        r->error = HTTPC_OK;
        r->err[0] = '\0';
        x->done = true;
        return;
    }
    char what[256];
    httpc_describe(x, rc, what, sizeof(what));
    enum httpc_error e = rc == CURLE_OK ? HTTPC_ESTATUS : HTTPC_ETRANSPORT;
    if (!httpc_retryable(x, rc, status)) {
        httpc_fail(h, x, e, "%s", what);
        return;
    }
    /* A 429 speaks for the whole account, and so does a Retry-After on any answer retried (a
     * 503's: down for maintenance until then): every process of the fleet waits it out,
     * whether or not this request tries again (httpc_start_ready). */
    bool told = rc == CURLE_OK && (status == 429 || r->retry_after_ms >= 0);
    if (r->retry_after_ms > h->conf.retry_after_max_ms) {
        /* Sleeping that long inside a job would hold a worker: the caller retries the job
         * later instead, with resp->retry_after_ms as the delay. */
        if (told)
            httpc_budget_pause(h, r->retry_after_ms);
        httpc_fail(h, x, e, "%s (Retry-After %lld s is past retry_after_max_ms)", what,
                   (long long)(r->retry_after_ms / 1000));
        return;
    }
    int64_t d = httpc_delay(h, r);
    if (told)
        httpc_budget_pause(h, r->retry_after_ms >= 0 ? r->retry_after_ms : d);
    int max_attempts = x->req->max_attempts > 0 ? x->req->max_attempts : h->conf.max_attempts;
    if (r->attempts >= max_attempts) {
        httpc_fail(h, x, e, "%s (after %d attempts)", what, r->attempts);
        return;
    }
    x->not_before = x->idle_since + d;
    int plen = (int)strcspn(x->req->path, "?");
    log_info("%s: %s %.*s: %s; attempt %d of %d in %lld ms", h->conf.name, x->method,
             plen > 160 ? 160 : plen, x->req->path, what, r->attempts + 1, max_attempts,
             (long long)d);
}

static void
httpc_drop_easy(CURLM *m, struct httpc_xfer *x)
{
    if (x->easy) {
        curl_multi_remove_handle(m, x->easy);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    curl_slist_free_all(x->connect_to);
    x->connect_to = NULL;
    buf_release(&x->body);
    buf_release(&x->head);
}

static void
httpc_collect(struct httpc *h, CURLM *m, int *running)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct httpc_xfer *x = (struct httpc_xfer *)(void *)priv;
        httpc_finish(h, x, msg->data.result);
        httpc_drop_easy(m, x);
        (*running)--;
    }
}

/* Starts what may start: in order, while there is room and the budget gives credits. Lowers
 * *wake to when something waiting could start. */
static void
httpc_start_ready(struct httpc *h, CURLM *m, struct httpc_xfer *xs, int n, int max_parallel,
                  int *running, int64_t *wake)
{
    int64_t now = now_mono_ms();
    for (int i = 0; i < n && *running < max_parallel; i++) {
        struct httpc_xfer *x = &xs[i];
        if (x->done || x->running)
            continue;
        if (x->not_before > now) {
            *wake = x->not_before < *wake ? x->not_before : *wake;
            continue;
        }
        char err[256];
        bool paused;
        int64_t w = httpc_budget_take(h, x->req->credits > 1 ? x->req->credits : 1, &paused, err,
                                      sizeof(err));
        if (w < 0) {
            httpc_fail(h, x, HTTPC_EBUDGET, "%s", err);
            continue;
        }
        if (paused && w > h->conf.retry_after_max_ms) {
            /* A fleet-wide pause longer than a request may wait (a long Retry-After):
             * nothing is sent, and the job retries after it instead of holding a worker. */
            x->resp->retry_after_ms = w;
            httpc_fail(h, x, HTTPC_EBUDGET,
                       "paused fleet-wide for %lld s more after a 429 or a Retry-After (past "
                       "retry_after_max_ms)",
                       (long long)((w + 999) / 1000));
            continue;
        }
        if (w > 0) {
            if (x->budget_wait_since == 0)
                x->budget_wait_since = now;
            *wake = now + w < *wake ? now + w : *wake;
            return;
        }
        if (x->budget_wait_since != 0) {
            httpc_metrics_budget_wait(h, now - x->budget_wait_since);
            x->budget_wait_since = 0;
        }
        httpc_start(h, m, x);
        (*running)++;
    }
}

static int
httpc_pending(const struct httpc_xfer *xs, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += !xs[i].done;
    return k;
}

static void
httpc_cancel_all(struct httpc *h, CURLM *m, struct httpc_xfer *xs, int n)
{
    for (int i = 0; i < n; i++) {
        if (xs[i].done)
            continue;
        httpc_drop_easy(m, &xs[i]);
        xs[i].running = false;
        httpc_fail(h, &xs[i], HTTPC_ECANCELLED, "cancelled");
    }
}

int
httpc_batch(struct httpc *h, const struct httpc_req *reqs, struct httpc_resp *resps, int n,
            int max_parallel)
{
    if (n <= 0)
        return 0;
    struct httpc_xfer *xs = xcalloc((size_t)n, sizeof(*xs));
    for (int i = 0; i < n; i++)
        httpc_prepare(h, &xs[i], &reqs[i], &resps[i]);
    CURLM *m = curl_multi_init();
    if (m == NULL)
        fatalx("curl_multi_init failed");
    int running = 0;
    while (httpc_pending(xs, n) > 0) {
        if (h->cancel && *h->cancel) {
            httpc_cancel_all(h, m, xs, n);
            break;
        }
        int64_t wake = now_mono_ms() + HTTPC_TICK_MS;
        httpc_start_ready(h, m, xs, n, max_parallel < 1 ? 1 : max_parallel, &running, &wake);
        int still = 0;
        curl_multi_perform(m, &still);
        httpc_collect(h, m, &running);
        if (httpc_pending(xs, n) == 0)
            break;
        int64_t t = wake - now_mono_ms();
        t = t < 0 ? 0 : t > HTTPC_TICK_MS ? HTTPC_TICK_MS : t;
        curl_multi_poll(m, NULL, 0, (int)t, NULL);
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        httpc_drop_easy(m, &xs[i]);
        free(xs[i].url);
        cJSON_free(xs[i].json_body);
        failed += resps[i].error != HTTPC_OK;
    }
    curl_multi_cleanup(m);
    free(xs);
    return failed;
}

int
httpc_request(struct httpc *h, const struct httpc_req *req, struct httpc_resp *resp)
{
    return httpc_batch(h, req, resp, 1, 1) == 0 ? 0 : -1;
}
