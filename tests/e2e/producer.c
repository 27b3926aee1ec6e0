/* End-to-end tests of the producer's webhook path against real MariaDB and Redis: routing,
 * per-source authentication, body limits, idempotency, the webhook log, and spooling when
 * MariaDB is slower than db_timeout_ms. The producer is the real binary; the tests talk HTTP
 * to it. */
#include "hmac.h"
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "utf8.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Each test's sources. Only System/Echo/Webhook is registered in test mode, so a source that
 * must reach authentication covers /webhook/system/echo; the mapping table uses none-auth
 * sources for paths whose actions are not registered (their 404 names the action). */
#define ROUTING_SOURCES                                                                            \
    "[webhook.system]\nauth = none\n\n[webhook.clickup]\nauth = none\n\n"                          \
    "[webhook.a]\nauth = none\n"
#define HMAC_SOURCE                                                                                \
    "[webhook.gh]\npath_prefix = system\nauth = hmac-sha256\nsecret = s3cret-0123456789abc\n"      \
    "signature_header = X-Hub-Signature-256\n"
#define STAMPED_SOURCE                                                                             \
    "[webhook.stamped]\npath_prefix = system/echo\nauth = hmac-sha256\nsecret = "                  \
    "k2-0123456789abcdef\n"                                                                        \
    "timestamp_header = X-Timestamp\ntolerance_s = 60\n"
#define TOKEN_SOURCES                                                                              \
    "[webhook.fs]\npath_prefix = system\nauth = token\ntoken = t0ken-0123456789abc\ntoken_header " \
    "= X-Auth\n"
#define BASIC_SOURCE                                                                               \
    "[webhook.desk]\npath_prefix = system\nauth = basic\nusername = bot\npassword = "              \
    "pw-0123456789abcdef\n"
#define TICKET_SOURCE                                                                              \
    "[webhook.tickets]\npath_prefix = system\nauth = none\n"                                       \
    "idempotency_field = /ticket/id, /ticket/updated_at\n"
#define NUL_TICKET_SOURCE                                                                          \
    "[webhook.tickets]\npath_prefix = system\nauth = none\nidempotency_field = /ticket/id\n"
#define ECHO_SOURCE "[webhook.system]\nauth = none\n"

/* POSTs body to path with extra headers; returns the status and keeps the body in *out when
 * out is not NULL. */
static long
post(struct tenv *t, const char *path, const char *body, const char *const *hdrs, char **out)
{
    return tprod_post(t, path, body, body ? strlen(body) : 0, hdrs, out);
}

static int64_t
jobs_count(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP);
}

static int64_t
json_id(const char *body)
{
    const char *p = strstr(body, "\"job_id\":");
    return p ? strtoll(p + 9, NULL, 10) : -1;
}

static void
test_routing(struct tenv *t)
{
    tprod_start(t);
    /* The action a path maps to is kept in the webhook_log row of an unregistered action's
     * 404 (the 404 itself says only "not found", so it enumerates nothing). */
    static const struct {
        const char *path, *action;
    } map[] = {
        {"/webhook/clickup/task-update", "Clickup/TaskUpdate/Webhook"},
        {"/webhook/clickup/v2/task-status-changed", "Clickup/V2/TaskStatusChanged/Webhook"},
        {"/webhook/a", "A/Webhook"},
        {"/webhook/a/b-c/d-e-f/g/h/i", "A/BC/DEF/G/H/I/Webhook"},
        {"/webhook/a/x9/9x", "A/X9/9x/Webhook"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        char *body = NULL;
        long st = post(t, map[i].path, "{}", NULL, &body);
        CHECK(st == 404 && strstr(body, "\"not found\""), "%s: %ld %s", map[i].path, st, body);
        free(body);
        WAIT_UNTIL(t_sql_int(t, 0,
                             "SELECT COUNT(*) FROM webhook_log WHERE status = 404 AND path = ? "
                             "AND action = ?",
                             DB_P(DBS(map[i].path), DBS(map[i].action))) == 1,
                   5000, "%s: no 404 row with action %s", map[i].path, map[i].action);
    }
    char *body = NULL;
    CHECK(post(t, "/webhook/system/echo", "{\"x\":1}", NULL, &body) == 202, "echo: %s", body);
    CHECK(strstr(body, "\"action\":\"System/Echo/Webhook\"") && json_id(body) > 0, "%s", body);
    int64_t id = json_id(body);
    free(body);
    char *params = t_sql_str(t, "SELECT parameters FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(params && strstr(params, "\"payload\":\"{\\\"x\\\":1}\"") &&
              strstr(params, "\"headers\":{") && strstr(params, "\"content-type\":"),
          "parameters: %s", params);
    free(params);
    CHECK(t_job_in_state(t, id, "queued"), "state");

    static const char *bad[] = {"/webhook/System/echo",
                                "/webhook/system/echo_x",
                                "/webhook/system//echo",
                                "/webhook/system/echo/",
                                "/webhook/a/b/c/d/e/f/g",
                                "/webhook/a/b--c",
                                "/webhook/a/-b",
                                "/webhook",
                                "/webhook/",
                                "/webhook/a/b.c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b = NULL;
        long st = post(t, bad[i], "{}", NULL, &b);
        CHECK(st == 400 && strstr(b, "\"field\":\"path\""), "%s: %ld %s", bad[i], st, b);
        free(b);
    }
    CHECK(post(t, "/webhook/nosource/x", "{}", NULL, NULL) == 404, "no source");
    CHECK(post(t, "/webhook/system/nope", "{}", NULL, NULL) == 404, "unknown action");
    static const char *methods[] = {"GET", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 4; i++) {
        struct t_http_resp r;
        t_http(methods[i], tprod_url(t, "/webhook/system/echo"), NULL, 0, NULL, &r);
        char allow[64] = "";
        t_http_header(&r, "allow", allow, sizeof(allow));
        CHECK(r.status == 405 && strcmp(allow, "POST") == 0, "%s: %ld allow=%s", methods[i],
              r.status, allow);
        t_http_release(&r);
    }
    CHECK(jobs_count(t) == 1, "only the echo made a job: %lld", (long long)jobs_count(t));
    /* A header that is not UTF-8 (Latin-1 "café") does not cost the delivery. */
    const char *latin1[] = {"X-Name: caf\xe9", NULL};
    CHECK(post(t, "/webhook/system/echo", "{}", latin1, &body) == 202, "latin-1 header: %s", body);
    free(body);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE parameters LIKE ?",
                    DB_P(DBS("%\"x-name\":\"caf?\"%"))) == 1,
          "the header is kept, its stray byte replaced");
}

static void
sign(const char *secret, const char *ts, const char *body, char hex[65])
{
    const void *parts[3] = {ts ? ts : "", ts ? "." : "", body};
    size_t lens[3] = {ts ? strlen(ts) : 0, ts ? 1 : 0, strlen(body)};
    uint8_t mac[HMAC_SHA256_LEN];
    hmac_sha256(secret, strlen(secret), parts, lens, 3, mac);
    hmac_hex(mac, sizeof(mac), hex);
}

static long
post_with(struct tenv *t, const char *body, const char *h1, const char *h2)
{
    const char *h[3] = {h1, h2, NULL};
    if (h1 == NULL)
        h[0] = h2, h[1] = NULL;
    return post(t, "/webhook/system/echo", body, h, NULL);
}

static int
log_lines(struct tenv *t, pid_t p, const char *needle)
{
    char *log = t_log(t, p);
    int n = t_count(log, needle);
    free(log);
    return n;
}

static int64_t
log_rows(struct tenv *t, int status)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log WHERE status = ?", DB_P(DBI(status)));
}

static int declared_only(struct tenv *t, long long declared);

static void
test_hmac(struct tenv *t)
{
    pid_t p = tprod_start(t);
    const char *body = "{\"action\":\"opened\",\"n\":1}";
    char hex[65], line[256], upper[65];
    sign("s3cret-0123456789abc", NULL, body, hex);
    snprintf(line, sizeof(line), "X-Hub-Signature-256: sha256=%s", hex);
    CHECK(post_with(t, body, line, NULL) == 202, "sha256= prefix");
    /* The same signature in other spellings is the same delivery again: a replay finds the
     * job its signature made. */
    snprintf(line, sizeof(line), "X-Hub-Signature-256: %s", hex);
    CHECK(post_with(t, body, line, NULL) == 200, "bare hex");
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
    snprintf(line, sizeof(line), "X-Hub-Signature-256: SHA256=%s", upper);
    CHECK(post_with(t, body, line, NULL) == 200, "upper-case hex");
    CHECK(jobs_count(t) == 1, "one signed delivery three times, one job");

    char wrong[65];
    sign("not-the-secret", NULL, body, wrong);
    struct {
        const char *what, *header, *reason;
    } bad[] = {
        {"wrong", NULL, "signature does not match"},
        {"missing", NULL, "missing signature header"},
        {"truncated", NULL, "malformed signature"},
        {"sha1", NULL, "unsupported signature algorithm"},
        {"other body", NULL, "signature does not match"},
    };
    char h_wrong[256], h_trunc[256], h_sha1[256];
    snprintf(h_wrong, sizeof(h_wrong), "X-Hub-Signature-256: sha256=%s", wrong);
    snprintf(h_trunc, sizeof(h_trunc), "X-Hub-Signature-256: sha256=%.40s", hex);
    snprintf(h_sha1, sizeof(h_sha1), "X-Hub-Signature-256: sha1=%.40s", hex);
    bad[0].header = h_wrong;
    bad[2].header = h_trunc;
    bad[3].header = h_sha1;
    snprintf(line, sizeof(line), "X-Hub-Signature-256: sha256=%s", hex);
    bad[4].header = line;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        const char *h[] = {bad[i].header, NULL};
        const char *b = i == 4 ? "{\"action\":\"opened\",\"n\":2}" : body;
        long st = post(t, "/webhook/system/echo", b, bad[i].header ? h : NULL, &out);
        CHECK(st == 401, "%s: %ld %s", bad[i].what, st, out);
        /* The sender learns nothing about why. */
        CHECK(strstr(out, "authentication failed") && !strstr(out, bad[i].reason), "%s", out);
        free(out);
        CHECK(log_lines(t, p, bad[i].reason) >= 1, "no log line with \"%s\"", bad[i].reason);
    }
    CHECK(log_lines(t, p, "401 for source gh") == 5, "each 401 logged with its source");
    CHECK(jobs_count(t) == 1, "nothing stored for a 401");
    WAIT_UNTIL(log_rows(t, 401) == 5, 5000, "webhook_log rows of the 401s");
    /* Without a signature header no body can pass: refused before it is read, so unsigned
     * requests cannot make the producer buffer a megabyte each. */
    CHECK(declared_only(t, 1024 * 1024) == 401, "an unsigned 1 MiB body was waited for");
}

static void
test_hmac_timestamp(struct tenv *t)
{
    pid_t p = tprod_start(t);
    const char *body = "{\"event\":\"ping\"}";
    char ts[32], hex[65], sig[128], tsh[64];
    int64_t now = now_wall_ms() / 1000;
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    sign("k2-0123456789abcdef", ts, body, hex);
    snprintf(sig, sizeof(sig), "X-Signature: %s", hex);
    snprintf(tsh, sizeof(tsh), "X-Timestamp: %s", ts);
    CHECK(post_with(t, body, sig, tsh) == 202, "fresh signed timestamp");
    /* The same delivery replayed with a new timestamp: the signature covers the old one. */
    char tsh2[64];
    snprintf(tsh2, sizeof(tsh2), "X-Timestamp: %lld", (long long)now + 5);
    CHECK(post_with(t, body, sig, tsh2) == 401, "timestamp swapped");
    CHECK(post_with(t, body, sig, NULL) == 401, "timestamp missing");
    int64_t stale[] = {now - 120, now + 120};
    for (int i = 0; i < 2; i++) {
        snprintf(ts, sizeof(ts), "%lld", (long long)stale[i]);
        sign("k2-0123456789abcdef", ts, body, hex);
        snprintf(sig, sizeof(sig), "X-Signature: sha256=%s", hex);
        snprintf(tsh, sizeof(tsh), "X-Timestamp: %s", ts);
        CHECK(post_with(t, body, sig, tsh) == 401, "stale timestamp %lld accepted",
              (long long)stale[i]);
    }
    /* A signature over the body alone does not do when the source signs timestamps. */
    sign("k2-0123456789abcdef", NULL, body, hex);
    snprintf(sig, sizeof(sig), "X-Signature: %s", hex);
    snprintf(tsh, sizeof(tsh), "X-Timestamp: %lld", (long long)now);
    CHECK(post_with(t, body, sig, tsh) == 401, "body-only signature");
    CHECK(log_lines(t, p, "stale timestamp") == 2, "stale timestamps logged");
    CHECK(log_lines(t, p, "missing timestamp header x-timestamp") == 1, "missing ts logged");
    CHECK(jobs_count(t) == 1, "only the good delivery is stored");
}

static void
test_token(struct tenv *t)
{
    pid_t p = tprod_start(t);
    CHECK(post_with(t, "{}", "X-Auth: t0ken-0123456789abc", NULL) == 202, "right token");
    CHECK(post_with(t, "{}", "X-Auth: t0ken-0123456789abd", NULL) == 401, "wrong token");
    CHECK(post_with(t, "{}", "X-Auth: t0ke", NULL) == 401, "prefix of the token");
    CHECK(post_with(t, "{}", NULL, NULL) == 401, "missing token");
    CHECK(post_with(t, "{}", "X-Other: t0ken-0123456789abc", NULL) == 401,
          "token in another header");
    CHECK(log_lines(t, p, "401 for source fs: wrong token") == 2, "wrong token logged");
    CHECK(log_lines(t, p, "401 for source fs: missing token header x-auth") == 2, "missing");
    CHECK(jobs_count(t) == 1, "one job");
    /* The shared secret is not copied into the job's parameters. */
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE parameters LIKE '%t0ken%'", DB_NOP) ==
              0,
          "token stored in parameters");
}

static void
test_basic(struct tenv *t)
{
    pid_t p = tprod_start(t);
    /* base64("bot:pw-0123456789abcdef") and base64("bot:px-0123456789abcdef") */
    CHECK(post_with(t, "{}", "Authorization: Basic Ym90OnB3LTAxMjM0NTY3ODlhYmNkZWY=", NULL) == 202,
          "right credentials");
    CHECK(post_with(t, "{}", "Authorization: Basic Ym90OnB4LTAxMjM0NTY3ODlhYmNkZWY=", NULL) == 401,
          "wrong password");
    CHECK(post_with(t, "{}", "Authorization: Basic !!!", NULL) == 401, "not base64");
    CHECK(post_with(t, "{}", "Authorization: Bearer Ym90OnB3LTAxMjM0NTY3ODlhYmNkZWY=", NULL) == 401,
          "not basic");
    CHECK(post_with(t, "{}", NULL, NULL) == 401, "missing");
    CHECK(log_lines(t, p, "401 for source desk") == 4, "401s logged");
    CHECK(jobs_count(t) == 1, "one job");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE parameters LIKE '%Ym90OnB3LTAx%'",
                    DB_NOP) == 0,
          "credentials stored in parameters");
}
/* Sends only the headers of a request that declares a large body, over a plain socket, and
 * returns the status line's code: the producer must answer without waiting for the body. */
static int
declared_only(struct tenv *t, long long declared)
{
    char host[128];
    int port = 0;
    CHECK(sscanf(t->cfg.producer.listen, "%127[^:]:%d", host, &port) == 2, "listen");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     "application/json\r\nContent-Length: %lld\r\n\r\n",
                     declared);
    CHECK(write(fd, req, (size_t)n) == n, "write");
    return t_http_raw_status(fd, 5);
}

static void
test_oversize(struct tenv *t)
{
    pid_t p = tprod_start(t);
    CHECK(declared_only(t, 10LL * 1024 * 1024 * 1024) == 413, "declared 10 GiB: no 413 before "
                                                              "the body");
    size_t big = 100 * 1024;
    char *body = xmalloc(big + 1);
    memset(body, 'a', big);
    body[big] = '\0';
    struct t_http_resp r;
    const char *expect[] = {"Expect: 100-continue", NULL};
    t_http("POST", tprod_url(t, "/webhook/system/echo"), body, big, expect, &r);
    CHECK(r.status == 413 && strstr(r.body, "limit"), "100 KiB with Expect: %ld %s", r.status,
          r.body);
    t_http_release(&r);
    /* No declared length: the body is read up to the limit, then refused. */
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    t_http("POST", tprod_url(t, "/webhook/system/echo"), body, big, chunked, &r);
    CHECK(r.status == 413, "100 KiB chunked: %ld %s", r.status, r.err);
    t_http_release(&r);
    /* Exactly at the limit is fine. */
    body[65536] = '\0';
    CHECK(post(t, "/webhook/system/echo", body, NULL, NULL) == 202, "64 KiB body");
    free(body);
    CHECK(t_alive(p), "the producer died");
    CHECK(post(t, "/webhook/system/echo", "{\"after\":true}", NULL, NULL) == 202, "next request");
    CHECK(jobs_count(t) == 2, "two jobs");
    char bad[] = {'{', '"', 'x', '"', ':', '"', (char)0xff, '"', '}', 0};
    char *out = NULL;
    CHECK(post(t, "/webhook/system/echo", bad, NULL, &out) == 400 && strstr(out, "UTF-8"),
          "invalid UTF-8: %s", out);
    free(out);
}

static void
test_bad_json(struct tenv *t)
{
    tprod_start(t);
    char *out = NULL;
    CHECK(post(t, "/webhook/system/echo", "{\"ticket\": {\"id\": 42,", NULL, &out) == 400, "%s",
          out);
    CHECK(strstr(out, "not valid JSON") && strstr(out, "\"field\":\"body\""), "reason: %s", out);
    free(out);
    CHECK(post(t, "/webhook/system/echo", "{\"ticket\": {\"id\": 42}}", NULL, &out) == 400,
          "missing field");
    CHECK(strstr(out, "/ticket/updated_at"), "names the missing field: %s", out);
    free(out);
    CHECK(jobs_count(t) == 0, "nothing stored for a 400");
    const char *v1 = "{\"ticket\": {\"id\": 42, \"updated_at\": \"2026-01-01T10:00:00Z\"}}";
    const char *v2 = "{\"ticket\": {\"id\": 42, \"updated_at\": \"2026-01-01T11:00:00Z\"}}";
    char *a = NULL, *b = NULL, *c = NULL;
    CHECK(post(t, "/webhook/system/echo", v1, NULL, &a) == 202, "first delivery: %s", a);
    CHECK(post(t, "/webhook/system/echo", v1, NULL, &b) == 200, "repeat: %s", b);
    CHECK(json_id(a) == json_id(b) && strstr(b, "\"existing\":true"), "%s vs %s", a, b);
    CHECK(post(t, "/webhook/system/echo", v2, NULL, &c) == 202, "a later update is new");
    CHECK(json_id(c) != json_id(a), "new job");
    free(a);
    free(b);
    free(c);
    char *key = t_sql_str(t, "SELECT idempotency_key FROM jobs ORDER BY id LIMIT 1", DB_NOP);
    CHECK(key && strcmp(key, "tickets:field:[\"42\",\"2026-01-01T10:00:00Z\"]") == 0, "key %s",
          key);
    free(key);
    CHECK(jobs_count(t) == 2, "two jobs");
}

/* POSTs body to the ticket source; returns the status and the job id in *id. */
static long
post_ticket(struct tenv *t, const char *body, int64_t *id)
{
    char *out = NULL;
    long st = post(t, "/webhook/system/echo", body, NULL, &out);
    *id = out ? json_id(out) : -1;
    free(out);
    return st;
}

/* A \u0000 inside the idempotency field is part of its value: cJSON ends the string there, so
 * "42\u0000zzz" was keyed as "42" and the delivery answered as a repeat of ticket 42, never
 * stored. A NUL elsewhere in the body leaves the key alone. */
static void
test_idempotency_field_nul(struct tenv *t)
{
    tprod_start(t);
    int64_t plain, nul, again, other, text, elsewhere;
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\"}}", &plain) == 202, "ticket 42");
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\\u0000zzz\"}}", &nul) == 202 && nul != plain,
          "42\\u0000zzz was taken for job %lld (got %lld)", (long long)plain, (long long)nul);
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\\u0000zzz\"}}", &again) == 200 && again == nul,
          "its repeat: job %lld, not %lld", (long long)again, (long long)nul);
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\\u0000zzy\"}}", &other) == 202 && other != nul,
          "what follows the NUL tells keys apart");
    /* The six characters \u0000 written out (an escaped backslash) are another value. */
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\\\\u0000zzz\"}}", &text) == 202 && text != nul,
          "the text \\u0000 was taken for the NUL");
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\",\"note\":\"a\\u0000b\"}}", &elsewhere) ==
                  200 &&
              elsewhere == plain,
          "a NUL outside the field changed ticket 42's key");
    /* A backslash written \u005c, then "u0000", is no NUL: the same value as the text above
     * (a repeat of its job), not of the NUL's. */
    int64_t u5c;
    CHECK(post_ticket(t, "{\"ticket\":{\"id\":\"42\\u005cu0000zzz\"},\"n\":\"\\u0000\"}", &u5c) ==
                  200 &&
              u5c == text,
          "\\u005cu0000: job %lld, expected the text's %lld (the NUL's is %lld)", (long long)u5c,
          (long long)text, (long long)nul);
    CHECK(jobs_count(t) == 4, "four deliveries, four jobs: %lld", (long long)jobs_count(t));
    char *key = t_sql_str(t, "SELECT idempotency_key FROM jobs WHERE id = ?", DB_P(DBI(nul)));
    CHECK(key && strcmp(key, "tickets:field-nul:42\\u0000zzz") == 0, "key %s", key ? key : "-");
    free(key);
}

struct concurrent_post {
    struct tenv *t;
    const char *key;
    long status;
    int64_t id;
};

static void *
concurrent_post_main(void *arg)
{
    struct concurrent_post *c = arg;
    char h[128];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", c->key);
    const char *hdrs[] = {h, NULL};
    struct t_http_resp r;
    t_http("POST", tprod_url(c->t, "/webhook/system/echo"), "{}", 2, hdrs, &r);
    c->status = r.status;
    c->id = r.body ? json_id(r.body) : -1;
    t_http_release(&r);
    return NULL;
}

static void
test_idempotency(struct tenv *t)
{
    tprod_start(t);
    int64_t first = -1;
    for (int i = 0; i < 10; i++) {
        char *out = NULL;
        const char *h[] = {"Idempotency-Key: delivery-7", NULL};
        long st = post(t, "/webhook/system/echo", "{\"n\":7}", h, &out);
        CHECK(st == (i == 0 ? 202 : 200), "delivery %d: %ld %s", i, st, out);
        if (i == 0)
            first = json_id(out);
        CHECK(json_id(out) == first, "delivery %d returned another job: %s", i, out);
        free(out);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = ?",
                    DB_P(DBS("system:key:delivery-7"))) == 1,
          "one job for the key");
    /* Ten at once: they may share one transaction or race across two; still one job. */
    struct concurrent_post cp[10];
    pthread_t th[10];
    for (int i = 0; i < 10; i++) {
        cp[i] = (struct concurrent_post){.t = t, .key = "burst-1"};
        pthread_create(&th[i], NULL, concurrent_post_main, &cp[i]);
    }
    int created = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        CHECK(cp[i].status == 200 || cp[i].status == 202, "burst %d: %ld", i, cp[i].status);
        CHECK(cp[i].id == cp[0].id, "burst %d: job %lld, not %lld", i, (long long)cp[i].id,
              (long long)cp[0].id);
        created += cp[i].status == 202;
    }
    CHECK(created == 1, "%d requests were told they made the job", created);
    CHECK(jobs_count(t) == 2, "two keys, two jobs: %lld", (long long)jobs_count(t));
    /* No key: every delivery is its own job. */
    CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "no key 1");
    CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "no key 2");
    CHECK(jobs_count(t) == 4, "keyless deliveries");
}

static void
test_log(struct tenv *t)
{
    tprod_start(t);
    char *out = NULL;
    CHECK(post(t, "/webhook/system/echo", "{}", NULL, &out) == 202, "stored");
    int64_t id = json_id(out);
    free(out);
    post(t, "/webhook/nosource/x", "{}", NULL, NULL);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == 2, 5000,
               "two webhook_log rows");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM webhook_log WHERE status = 202 AND job_id = ? AND "
                    "source = 'system' AND action = 'System/Echo/Webhook' AND "
                    "path = '/webhook/system/echo'",
                    DB_P(DBI(id))) == 1,
          "row of the stored webhook");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 404 AND job_id IS NULL",
                    DB_NOP) == 1,
          "row of the 404");
    /* Without its table the log cannot be written; the webhooks are stored all the same. */
    CHECK(db_exec_static(t->db, "RENAME TABLE webhook_log TO webhook_log_away") == 0, "rename");
    for (int i = 0; i < 5; i++)
        CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "stored without a log");
    CHECK(jobs_count(t) == 6, "six jobs");
    CHECK(db_exec_static(t->db, "RENAME TABLE webhook_log_away TO webhook_log") == 0, "rename");
    CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "after");
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 202", DB_NOP) >= 2,
               5000, "logging resumed");
}

/* The connection of a transaction that holds 100 rows or more (the flusher's), or 0. InnoDB
 * refreshes what INNODB_TRX shows only when it was last read over 100 ms ago: polled faster,
 * it shows the first read's transactions for good. */
static int64_t
log_flusher_thread(struct tenv *t)
{
    sleep_ms(150);
    return t_sql_int(t, 0,
                     "SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX WHERE "
                     "trx_rows_modified >= 100",
                     DB_NOP);
}

/* The webhook log writes what is queued in one transaction, 100 rows per statement. When its
 * connection was lost after the first statement, the rows of that statement went with the
 * rolled-back transaction, uncounted: the test stalls the flusher before its second statement
 * (fault points), kills its connection there, and counts the rows after the retry. */
static void
test_log_lost_mid_flush(struct tenv *t)
{
    setenv("JOBFLEET_FAULT_STALL", "webhook_log.write:1500", 1);
    setenv("JOBFLEET_FAULT_POINT", "webhook_log.chunk@1", 1);
    setenv("JOBFLEET_FAULT_ACTION", "stall1:4000", 1);
    tprod_start(t);
    int sent = 0;
    for (; sent < 150; sent++)
        CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "webhook %d", sent);
    int64_t thread = 0;
    WAIT_UNTIL((thread = log_flusher_thread(t)) > 0, 10000,
               "the flusher inserted its first 100 rows and waits before the next");
    char *kill = xasprintf("KILL CONNECTION %lld", (long long)thread);
    CHECK(db_exec_static(t->db, kill) == 0, "%s: %s", kill, db_errstr(t->db));
    free(kill);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == sent, 15000,
               "all %d rows written after the lost connection: %lld", sent,
               (long long)t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log", DB_NOP));
    CHECK(tprod_metric(t, "jobfleet_producer_webhook_log_dropped_total") == 0, "none dropped");
}

/* Error bodies are JSON of valid UTF-8 whatever the request held: a percent-decoded path
 * segment or a member name that is not UTF-8 was echoed byte for byte, and a strict JSON
 * client could not read why it was refused. */
static void
test_error_bodies_utf8(struct tenv *t)
{
    tprod_start(t);
    char *out = NULL;
    long st = post(t, "/webhook/%FF", "{}", NULL, &out);
    CHECK(st >= 400 && out && utf8_valid(out, strlen(out)), "bad path: %ld %s", st, out);
    free(out);
    out = NULL;
    const char body[] = "{\"action\":\"System/Noop\",\"\xff\":1}";
    st = tprod_call(t, "POST", "/api/jobs", body, NULL, &out);
    CHECK(st == 400 && out && utf8_valid(out, strlen(out)), "bad member: %ld %s", st, out);
    free(out);
}

/* The job's parameters carry the body byte for byte and the headers as sent (8 KiB of them
 * too): quotes,
 * backslashes, control characters and non-ASCII text survive the JSON round trip, a header
 * sent twice is one "a, b" value, a byte that is not UTF-8 in a header becomes '?', and
 * credentials are left out. */
static void
test_parameters(struct tenv *t)
{
    tprod_start(t);
    const char *body =
        "{\"s\":\"q\\\"b\\\\\"}\n\t\x01\x1f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 </x>";
    /* 8 KiB of headers, what most proxies let through, fit the connection's memory. */
    char big[8 * 1024 + 8];
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', 8 * 1024);
    big[7 + 8 * 1024] = '\0';
    const char *hdrs[] = {big,
                          "X-Dup: a",
                          "X-Dup: b",
                          "X-Latin: caf\xe9",
                          "X-Quote: say \"hi\" \\o/",
                          "Authorization: Bearer secret-token",
                          "Cookie: session=secret",
                          NULL};
    char *out = NULL;
    CHECK(post(t, "/webhook/system/echo", body, hdrs, &out) == 202, "post: %s", out);
    int64_t id = json_id(out);
    free(out);
    char *params = t_sql_str(t, "SELECT parameters FROM jobs WHERE id = ?", DB_P(DBI(id)));
    cJSON *p = cJSON_Parse(params);
    CHECK(p != NULL, "parameters are not JSON: %s", params);
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(p, "payload");
    CHECK(cJSON_IsString(payload) && strcmp(payload->valuestring, body) == 0,
          "payload differs from the body: %s", params);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(p, "headers");
    CHECK(cJSON_IsObject(h), "headers: %s", params);
    const struct {
        const char *name, *value;
    } want[] = {{"x-dup", "a, b"}, {"x-latin", "caf?"}, {"x-quote", "say \"hi\" \\o/"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, want[i].name);
        CHECK(cJSON_IsString(v) && strcmp(v->valuestring, want[i].value) == 0,
              "header %s: want \"%s\" in %s", want[i].name, want[i].value, params);
    }
    const cJSON *bv = cJSON_GetObjectItemCaseSensitive(h, "x-big");
    CHECK(cJSON_IsString(bv) && strlen(bv->valuestring) == 8 * 1024 &&
              strcmp(bv->valuestring, big + 7) == 0,
          "the 8 KiB header is missing or cut");
    CHECK(!cJSON_GetObjectItemCaseSensitive(h, "authorization") &&
              !cJSON_GetObjectItemCaseSensitive(h, "cookie") && !strstr(params, "secret"),
          "credentials stored: %s", params);
    cJSON_Delete(p);
    free(params);
}

/* A webhook whose sender hangs up while it waits for its commit still leaves its row. Which
 * row depends on whether libmicrohttpd sees the hang-up before it asks for the reply (499) or
 * after (202); the benchmark, whose load generator hangs up on the requests in flight when it
 * ends, sees both. */
static void
test_log_sender_gone(struct tenv *t)
{
    tprod_start(t);
    struct db *locker = db_new(&t->cfg.mysql);
    CHECK(db_connect(locker) == 0 && db_exec_static(locker, "LOCK TABLES jobs WRITE") == 0,
          "lock: %s", db_errstr(locker));
    char host[64];
    snprintf(host, sizeof(host), "%s", t->cfg.producer.listen);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
    const char req[] = "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\n"
                       "Idempotency-Key: gone-1\r\nContent-Length: 2\r\n\r\n{}";
    CHECK(write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1), "send");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM information_schema.processlist WHERE "
                         "db = DATABASE() AND info LIKE 'INSERT%' AND (state LIKE "
                         "'%metadata lock%' OR state LIKE '%table lock%')",
                         DB_NOP) >= 1,
               5000, "the insert is not waiting for the lock");
    close(fd);
    db_exec_static(locker, "UNLOCK TABLES");
    db_free(locker);
    const char *by_key = "SELECT id FROM jobs WHERE idempotency_key = 'system:key:gone-1'";
    WAIT_UNTIL(t_sql_int(t, 0, by_key, DB_NOP) > 0, 5000, "the job was not stored");
    int64_t id = t_sql_int(t, 0, by_key, DB_NOP);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE job_id = ?", DB_P(DBI(id))) == 1,
        5000, "no webhook_log row for the stored job of a sender that hung up");
    int64_t status =
        t_sql_int(t, 0, "SELECT status FROM webhook_log WHERE job_id = ?", DB_P(DBI(id)));
    CHECK(status == 499 || status == 202, "status %lld", (long long)status);
}

static void
test_db_timeout(struct tenv *t)
{
    pid_t p = tprod_start(t);
    /* Another session holds the jobs table: inserts wait, as on a stalled server. */
    struct db *locker = db_new(&t->cfg.mysql);
    CHECK(db_connect(locker) == 0, "locker: %s", db_errstr(locker));
    CHECK(db_exec_static(locker, "LOCK TABLES jobs WRITE") == 0, "lock: %s", db_errstr(locker));
    int64_t t0 = now_mono_ms();
    char *out = NULL;
    const char *h[] = {"Idempotency-Key: slow-1", NULL};
    CHECK(post(t, "/webhook/system/echo", "{\"slow\":1}", h, &out) == 202, "%s", out);
    int64_t took = now_mono_ms() - t0;
    CHECK(strstr(out, "\"spooled\":true") && strstr(out, "\"spool_id\":"), "spooled: %s", out);
    CHECK(took >= 250 && took < 3000, "answered after %lld ms (db_timeout_ms is 300)",
          (long long)took);
    free(out);
    char *spool = xasprintf("%s/spool", t->dir);
    char *ls = xasprintf("ls %s | grep -c json", spool);
    CHECK(system(ls) == 0, "a file in the spool");
    db_exec_static(locker, "UNLOCK TABLES");
    db_free(locker);
    /* The insert that was waiting and the replay of the spooled copy race; one job results. */
    char *empty = xasprintf("test -z \"$(ls -A %s | grep json)\"", spool);
    WAIT_UNTIL(system(empty) == 0, 10000, "the spool never drained");
    /* The gauge drops after the file is gone. */
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_spool_files") == 0, 5000,
               "the spool gauge stayed up");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = ?",
                    DB_P(DBS("system:key:slow-1"))) == 1,
          "exactly one job");
    CHECK(post(t, "/webhook/system/echo", "{}", NULL, NULL) == 202, "stored directly again");
    struct t_http_resp r;
    t_http("GET", tprod_url(t, "/metrics"), NULL, 0, NULL, &r);
    CHECK(strstr(r.body, "jobfleet_producer_db_timeouts_total 1") &&
              strstr(r.body, "jobfleet_producer_spooled_total 1") &&
              strstr(r.body, "jobfleet_producer_spool_files 0"),
          "metrics: %s", r.body);
    t_http_release(&r);
    CHECK(t_alive(p), "alive");
    free(spool);
    free(ls);
    free(empty);
}
static const struct test_case cases[] = {
    {"e2e_producer_routing", test_routing, ROUTING_SOURCES},
    {"e2e_producer_hmac", test_hmac, HMAC_SOURCE},
    {"e2e_producer_hmac_timestamp", test_hmac_timestamp, STAMPED_SOURCE},
    {"e2e_producer_token", test_token, TOKEN_SOURCES},
    {"e2e_producer_basic", test_basic, BASIC_SOURCE},
    {"e2e_producer_oversize", test_oversize, ECHO_SOURCE "[producer]\nmax_body_bytes = 65536\n"},
    {"e2e_producer_bad_json", test_bad_json, TICKET_SOURCE},
    {"e2e_producer_idempotency", test_idempotency, ECHO_SOURCE},
    {"e2e_producer_idempotency_field_nul", test_idempotency_field_nul, NUL_TICKET_SOURCE},
    {"e2e_producer_parameters", test_parameters, ECHO_SOURCE},
    {"e2e_producer_webhook_log", test_log, ECHO_SOURCE},
    {"e2e_producer_error_bodies_utf8", test_error_bodies_utf8, ECHO_SOURCE},
    {"e2e_producer_webhook_log_lost_mid_flush", test_log_lost_mid_flush, ECHO_SOURCE},
    {"e2e_producer_webhook_log_sender_gone", test_log_sender_gone,
     ECHO_SOURCE "[producer]\ndb_timeout_ms = 30000\n"},
    {"e2e_producer_db_timeout", test_db_timeout, ECHO_SOURCE "[producer]\ndb_timeout_ms = 300\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
