/* This file reads the [webhook.<source>] sections and maps webhook paths to sources and to
 * action names. */
#include "jsonptr.h"
#include "log.h"
#include "util.h"
#include "webhook_route.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks one path segment: [a-z0-9-]+ without a leading, trailing or doubled hyphen, since
 * "a--b", "-ab" and "ab-" would map to the same action as other spellings. */
static bool
webhook_segment_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        if (c == '-' && s[i + 1] == '-')
            return false;
    }
    return true;
}

int
webhook_route_action(const char *rest, char *action_out, size_t len, char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b, len - 1);
    int nseg = 0;
    const char *p = rest;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!webhook_segment_ok(p, n)) {
            snprintf(err, errlen,
                     "path segment \"%.*s\" must be lower-case letters, digits and single "
                     "inner hyphens",
                     (int)(n > 64 ? 64 : n), p);
            goto bad;
        }
        if (++nseg > WEBHOOK_MAX_SEGMENTS) {
            snprintf(err, errlen, "a webhook path has at most %d segments", WEBHOOK_MAX_SEGMENTS);
            goto bad;
        }
        if (nseg > 1 && buf_append(&b, "/", 1) < 0)
            goto too_long;
        bool upper = true;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '-') {
                upper = true;
                continue;
            }
            char c = upper ? (char)toupper((unsigned char)p[i]) : p[i];
            upper = false;
            if (buf_append(&b, &c, 1) < 0)
                goto too_long;
        }
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    if (buf_appends(&b, "/Webhook") < 0)
        goto too_long;
    snprintf(action_out, len, "%s", b.data);
    buf_release(&b);
    return nseg;
too_long:
    snprintf(err, errlen, "the action name would be too long");
bad:
    buf_release(&b);
    return -1;
}

const struct webhook_source *
webhook_route_source(const struct webhook_source *s, int n, const char *rest)
{
    const struct webhook_source *best = NULL;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(s[i].prefix);
        /* The prefix must end at a segment boundary: "desk" covers "desk/x", not "desktop". */
        if (strncmp(rest, s[i].prefix, l) != 0 || (rest[l] != '/' && rest[l] != '\0'))
            continue;
        if (best == NULL || s[i].n_prefix > best->n_prefix)
            best = &s[i];
    }
    return best;
}

static char *
webhook_lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Splits idempotency_field ("/ticket/id, /ticket/updated_at") into pointers. */
static int
webhook_idem_fields(struct webhook_source *src, const char *v, const char *where, char *err,
                    size_t errlen)
{
    const char *p = v;
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n == 0)
            break;
        char *tok = xstrndup(p, n);
        p += n;
        if (tok[0] != '/' || !jsonptr_valid(tok)) {
            snprintf(err, errlen,
                     "%s idempotency_field: \"%s\" is not a JSON pointer (e.g. /ticket/id)", where,
                     tok);
            free(tok);
            return -1;
        }
        if (src->n_idem == WEBHOOK_MAX_IDEM_FIELDS) {
            snprintf(err, errlen, "%s idempotency_field: at most %d pointers", where,
                     WEBHOOK_MAX_IDEM_FIELDS);
            free(tok);
            return -1;
        }
        src->idem_fields[src->n_idem++] = tok;
    }
    return 0;
}

/* A key that must be present and non-empty. */
static const char *
webhook_need(const struct cfg_section *sec, const char *key, const char *why, char *err,
             size_t errlen)
{
    const char *v = cfg_section_get(sec, key);
    if (v == NULL || v[0] == '\0') {
        snprintf(err, errlen, "%s: [%s] %s: required %s", cfg_section_where(sec, key), sec->name,
                 key, why);
        return NULL;
    }
    return v;
}

/* A secret short enough to guess is refused: every one a sender proves must have at least
 * CFG_SECRET_MIN_LEN characters. */
static int
webhook_long_enough(const struct cfg_section *sec, const char *key, const char *v, char *err,
                    size_t errlen)
{
    if (strlen(v) >= CFG_SECRET_MIN_LEN)
        return 0;
    snprintf(err, errlen, "%s: [%s] %s: at least %d characters required, got %zu",
             cfg_section_where(sec, key), sec->name, key, CFG_SECRET_MIN_LEN, strlen(v));
    return -1;
}

static int
webhook_auth_load(struct webhook_source *src, const struct cfg_section *sec, char *err,
                  size_t errlen)
{
    const char *auth = cfg_section_get(sec, "auth"), *v;
    if (auth == NULL || auth[0] == '\0') {
        snprintf(err, errlen,
                 "%s: [%s] auth: required (hmac-sha256, token, basic, or none to accept "
                 "unauthenticated deliveries)",
                 cfg_section_where(sec, "auth"), sec->name);
        return -1;
    }
    if (strcmp(auth, "none") == 0) {
        src->auth = WEBHOOK_AUTH_NONE;
    } else if (strcmp(auth, "hmac-sha256") == 0) {
        src->auth = WEBHOOK_AUTH_HMAC;
        if ((v = webhook_need(sec, "secret", "with auth = hmac-sha256 (or secret_file)", err,
                              errlen)) == NULL)
            return -1;
        if (webhook_long_enough(sec, "secret", v, err, errlen) < 0)
            return -1;
        src->secret = xstrdup(v);
        v = cfg_section_get(sec, "signature_header");
        src->signature_header = webhook_lower_dup(v && *v ? v : "X-Signature");
        v = cfg_section_get(sec, "timestamp_header");
        src->timestamp_header = v && *v ? webhook_lower_dup(v) : NULL;
        src->tolerance_s = 300;
        v = cfg_section_get(sec, "tolerance_s");
        int64_t t;
        if (v && parse_int64(v, 1, 86400, &t) < 0) {
            snprintf(err, errlen, "%s: [%s] tolerance_s: expected seconds in 1-86400, got \"%s\"",
                     cfg_section_where(sec, "tolerance_s"), sec->name, v);
            return -1;
        }
        if (v)
            src->tolerance_s = (int)t;
    } else if (strcmp(auth, "token") == 0) {
        src->auth = WEBHOOK_AUTH_TOKEN;
        v = cfg_section_get(sec, "token");
        if (v == NULL || *v == '\0')
            v = cfg_section_get(sec, "secret");
        if (v == NULL || *v == '\0') {
            snprintf(err, errlen, "%s: [%s] token: required with auth = token (or token_file)",
                     cfg_section_where(sec, "auth"), sec->name);
            return -1;
        }
        if (webhook_long_enough(sec, "token", v, err, errlen) < 0)
            return -1;
        src->token = xstrdup(v);
        v = cfg_section_get(sec, "token_header");
        src->token_header = webhook_lower_dup(v && *v ? v : "X-Webhook-Token");
    } else if (strcmp(auth, "basic") == 0) {
        src->auth = WEBHOOK_AUTH_BASIC;
        if ((v = webhook_need(sec, "username", "with auth = basic", err, errlen)) == NULL)
            return -1;
        src->username = xstrdup(v);
        if ((v = webhook_need(sec, "password", "with auth = basic (or password_file)", err,
                              errlen)) == NULL)
            return -1;
        if (webhook_long_enough(sec, "password", v, err, errlen) < 0)
            return -1;
        src->password = xstrdup(v);
    } else {
        snprintf(err, errlen,
                 "%s: [%s] auth: expected hmac-sha256, token, basic or none, got \"%s\"",
                 cfg_section_where(sec, "auth"), sec->name, auth);
        return -1;
    }
    return 0;
}

static int
webhook_source_load(struct webhook_source *src, const struct cfg_section *sec, char *err,
                    size_t errlen)
{
    /* The source's name begins the idempotency keys of its deliveries ("<source>:<kind>:..."):
     * "api" and "cli" begin the API's and the CLI's ("api:<key>"), and a ':' in a name would let
     * one source's keys be another's. A shared key answers a delivery with another's job. */
    if (strcmp(sec->label, "api") == 0 || strcmp(sec->label, "cli") == 0 ||
        strchr(sec->label, ':') != NULL) {
        snprintf(err, errlen,
                 "%s: [%s]: the source name \"%s\" is %s (it begins the idempotency keys of its "
                 "deliveries): rename the section",
                 cfg_section_where(sec, ""), sec->name, sec->label,
                 strchr(sec->label, ':') ? "not allowed to hold ':'" : "the API's or the CLI's");
        return -1;
    }
    src->name = xstrdup(sec->label);
    const char *v = cfg_section_get(sec, "path_prefix");
    src->prefix = xstrdup(v && *v ? v : sec->label);
    /* A prefix follows the rules of the path it matches. */
    char scratch[256], why[160];
    src->n_prefix = webhook_route_action(src->prefix, scratch, sizeof(scratch), why, sizeof(why));
    if (src->n_prefix < 0) {
        snprintf(err, errlen, "%s: [%s] path_prefix: \"%s\": %s",
                 cfg_section_where(sec, "path_prefix"), sec->name, src->prefix, why);
        return -1;
    }
    if (webhook_auth_load(src, sec, err, errlen) < 0)
        return -1;
    char where[512];
    snprintf(where, sizeof(where), "%s: [%s]", cfg_section_where(sec, "idempotency_field"),
             sec->name);
    v = cfg_section_get(sec, "idempotency_field");
    if (v && *v && webhook_idem_fields(src, v, where, err, errlen) < 0)
        return -1;
    return 0;
}

int
webhook_sources_load(const struct cfg *c, struct webhook_source **out, int *n, char *err,
                     size_t errlen)
{
    struct webhook_source *s = NULL;
    int ns = 0;
    for (int i = 0; i < c->n_sections; i++) {
        const struct cfg_section *sec = &c->sections[i];
        if (strcmp(sec->kind, "webhook") != 0)
            continue;
        s = xrealloc(s, sizeof(*s) * (size_t)(ns + 1));
        memset(&s[ns], 0, sizeof(s[ns]));
        ns++;
        if (webhook_source_load(&s[ns - 1], sec, err, errlen) < 0)
            goto fail;
        for (int j = 0; j < ns - 1; j++) {
            if (strcmp(s[j].prefix, s[ns - 1].prefix) == 0) {
                snprintf(err, errlen, "%s: [%s] path_prefix: \"%s\" is already [webhook.%s]'s",
                         cfg_section_where(sec, "path_prefix"), sec->name, s[ns - 1].prefix,
                         s[j].name);
                goto fail;
            }
        }
    }
    *out = s;
    *n = ns;
    return 0;
fail:
    webhook_sources_free(s, ns);
    return -1;
}

/* The keys each auth reads, beside path_prefix, auth and idempotency_field. */
static const struct {
    const char *auth;
    const char *keys[8];
} webhook_auth_keys[] = {
    {"none", {NULL}},
    {"hmac-sha256",
     {"secret", "secret_file", "signature_header", "timestamp_header", "tolerance_s", NULL}},
    {"token", {"token", "token_file", "secret", "secret_file", "token_header", NULL}},
    {"basic", {"username", "password", "password_file", NULL}},
};

static bool
webhook_key_read(const char *const *keys, const char *key)
{
    if (!strcmp(key, "path_prefix") || !strcmp(key, "auth") || !strcmp(key, "idempotency_field"))
        return true;
    for (int i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static void
webhook_section_warn_unused(const struct cfg_section *sec)
{
    const char *auth = cfg_section_get(sec, "auth");
    for (size_t a = 0; auth && a < sizeof(webhook_auth_keys) / sizeof(webhook_auth_keys[0]); a++) {
        if (strcmp(webhook_auth_keys[a].auth, auth) != 0)
            continue;
        for (int i = 0; i < sec->n_kv; i++) {
            const char *key = sec->kv[i].key;
            char *file_key = xasprintf("%s_file", key);
            /* A secret read from its *_file is warned about once, as the *_file. */
            bool from_file = cfg_section_get(sec, file_key) != NULL;
            free(file_key);
            if (from_file || webhook_key_read(webhook_auth_keys[a].keys, key))
                continue;
            log_warnx("%s: [%s] %s: ignored: auth = %s does not read it%s",
                      cfg_section_where(sec, key), sec->name, key, auth,
                      strcmp(auth, "none") == 0 ? " (deliveries are accepted unauthenticated)"
                                                : "");
        }
    }
}

void
webhook_sources_warn_unused(const struct cfg *c)
{
    for (int i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].kind, "webhook") == 0)
            webhook_section_warn_unused(&c->sections[i]);
}

void
webhook_sources_free(struct webhook_source *s, int n)
{
    for (int i = 0; s && i < n; i++) {
        free(s[i].name);
        free(s[i].prefix);
        free(s[i].secret);
        free(s[i].signature_header);
        free(s[i].timestamp_header);
        free(s[i].token_header);
        free(s[i].token);
        free(s[i].username);
        free(s[i].password);
        for (int k = 0; k < s[i].n_idem; k++)
            free(s[i].idem_fields[k]);
    }
    free(s);
}
