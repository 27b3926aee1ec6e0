/* This file authenticates webhook deliveries per source: an HMAC-SHA256 signature over the raw
 * body (optionally bound to a timestamp against replays), a shared token in a named header, or
 * HTTP basic credentials. Every secret is compared in constant time. */
#include "hmac.h"
#include "webhook_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trims surrounding blanks into [*s, *s + *n). */
static void
webhook_trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Reads the timestamp header and checks it against the tolerance. The signed message is then
 * "<timestamp>.<body>", so a captured delivery cannot be replayed with a fresh timestamp. */
static int
webhook_timestamp(const struct webhook_source *src, const struct http_headers *h, int64_t now_s,
                  const char **ts, char *reason, size_t len)
{
    *ts = http_headers_get(h, src->timestamp_header);
    if (*ts == NULL) {
        snprintf(reason, len, "missing timestamp header %s", src->timestamp_header);
        return -1;
    }
    int64_t t;
    if (parse_int64(*ts, 0, INT64_C(99999999999999), &t) < 0) {
        snprintf(reason, len, "timestamp header %s is not unix seconds", src->timestamp_header);
        return -1;
    }
    /* Some senders give milliseconds; no date in seconds reaches 10^12 before the year 33658. */
    if (t >= INT64_C(1000000000000))
        t /= 1000;
    int64_t age = now_s - t;
    if (age > src->tolerance_s || -age > src->tolerance_s) {
        snprintf(reason, len, "stale timestamp (%lld s from now, tolerance %d s)", (long long)age,
                 src->tolerance_s);
        return -1;
    }
    return 0;
}

/* Reads the signature header into given: "sha256=<hex>" or bare hex, any case. Returns 0, or
 * -1 with the reason. */
static int
webhook_sig_parse(const struct webhook_source *src, const struct http_headers *h,
                  uint8_t given[HMAC_SHA256_LEN], char *reason, size_t len)
{
    const char *sig = http_headers_get(h, src->signature_header);
    if (sig == NULL) {
        snprintf(reason, len, "missing signature header %s", src->signature_header);
        return -1;
    }
    size_t n = strlen(sig);
    webhook_trim(&sig, &n);
    const char *eq = memchr(sig, '=', n);
    if (eq) {
        size_t al = (size_t)(eq - sig);
        if (al != 6 || strncasecmp(sig, "sha256", 6) != 0) {
            snprintf(reason, len, "unsupported signature algorithm \"%.*s\"",
                     (int)(al > 32 ? 32 : al), sig);
            return -1;
        }
        n -= al + 1;
        sig = eq + 1;
    }
    if (hmac_unhex(sig, n, given, HMAC_SHA256_LEN) < 0) {
        snprintf(reason, len, "malformed signature (expected 64 hex digits, got %zu characters)",
                 n);
        return -1;
    }
    return 0;
}

int
webhook_auth_signature_hex(const struct webhook_source *src, const struct http_headers *h,
                           char hex[2 * HMAC_SHA256_LEN + 1])
{
    uint8_t given[HMAC_SHA256_LEN];
    char reason[128];
    if (webhook_sig_parse(src, h, given, reason, sizeof(reason)) < 0)
        return -1;
    hmac_hex(given, sizeof(given), hex);
    return 0;
}

static int
webhook_auth_hmac(const struct webhook_source *src, const struct http_headers *h, const char *body,
                  size_t blen, int64_t now_s, char *reason, size_t len)
{
    uint8_t given[HMAC_SHA256_LEN], want[HMAC_SHA256_LEN];
    if (webhook_sig_parse(src, h, given, reason, len) < 0)
        return -1;
    const void *parts[3];
    size_t lens[3];
    int np = 0;
    const char *ts = NULL;
    if (src->timestamp_header) {
        if (webhook_timestamp(src, h, now_s, &ts, reason, len) < 0)
            return -1;
        parts[np] = ts;
        lens[np++] = strlen(ts);
        parts[np] = ".";
        lens[np++] = 1;
    }
    parts[np] = body;
    lens[np++] = blen;
    hmac_sha256(src->secret, strlen(src->secret), parts, lens, np, want);
    if (!hmac_equal(given, sizeof(given), want, sizeof(want))) {
        snprintf(reason, len, "signature does not match");
        return -1;
    }
    return 0;
}

static int
webhook_auth_token(const struct webhook_source *src, const struct http_headers *h, char *reason,
                   size_t len)
{
    const char *tok = http_headers_get(h, src->token_header);
    if (tok == NULL) {
        snprintf(reason, len, "missing token header %s", src->token_header);
        return -1;
    }
    if (!hmac_secret_equal(tok, strlen(tok), src->token, strlen(src->token))) {
        snprintf(reason, len, "wrong token in %s", src->token_header);
        return -1;
    }
    return 0;
}

static int
webhook_auth_basic(const struct webhook_source *src, const struct http_headers *h, char *reason,
                   size_t len)
{
    const char *a = http_headers_get(h, "authorization");
    if (a == NULL || strncasecmp(a, "basic ", 6) != 0) {
        snprintf(reason, len, "missing basic credentials");
        return -1;
    }
    const char *b64 = a + 6;
    size_t n = strlen(b64);
    webhook_trim(&b64, &n);
    char dec[1024];
    int dl = hmac_base64_decode(b64, n, dec, sizeof(dec));
    const char *colon = dl > 0 ? memchr(dec, ':', (size_t)dl) : NULL;
    if (colon == NULL) {
        snprintf(reason, len, "malformed basic credentials");
        return -1;
    }
    size_t ul = (size_t)(colon - dec);
    /* Both comparisons always run, so the time taken does not tell which one failed. */
    bool user_ok = hmac_secret_equal(dec, ul, src->username, strlen(src->username));
    bool pass_ok =
        hmac_secret_equal(colon + 1, (size_t)dl - ul - 1, src->password, strlen(src->password));
    if (!(user_ok & pass_ok)) {
        snprintf(reason, len, "wrong basic credentials");
        return -1;
    }
    return 0;
}

int
webhook_auth_headers(const struct webhook_source *src, const struct http_headers *h, int64_t now_s,
                     char *reason, size_t reasonlen)
{
    if (src->auth != WEBHOOK_AUTH_HMAC)
        return webhook_auth_check(src, h, NULL, 0, now_s, reason, reasonlen);
    uint8_t given[HMAC_SHA256_LEN];
    const char *ts;
    if (webhook_sig_parse(src, h, given, reason, reasonlen) < 0)
        return -1;
    if (src->timestamp_header && webhook_timestamp(src, h, now_s, &ts, reason, reasonlen) < 0)
        return -1;
    return 0;
}

int
webhook_auth_check(const struct webhook_source *src, const struct http_headers *h, const char *body,
                   size_t len, int64_t now_s, char *reason, size_t reasonlen)
{
    switch (src->auth) {
    case WEBHOOK_AUTH_NONE:
        return 0;
    case WEBHOOK_AUTH_HMAC:
        return webhook_auth_hmac(src, h, body, len, now_s, reason, reasonlen);
    case WEBHOOK_AUTH_TOKEN:
        return webhook_auth_token(src, h, reason, reasonlen);
    case WEBHOOK_AUTH_BASIC:
        return webhook_auth_basic(src, h, reason, reasonlen);
    }
    snprintf(reason, reasonlen, "unknown auth kind");
    return -1;
}
