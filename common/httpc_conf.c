/* This file reads a [service.<name>] section into the HTTP client's settings and holds the
 * client's pure helpers: URL joining, origin checks and Link header parsing. */
#include "httpc_int.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
httpc_conf_defaults(struct httpc_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->name = "http";
    conf->base_url = "";
    conf->auth = HTTPC_AUTH_NONE;
    conf->timeout_ms = 30000;
    conf->connect_timeout_ms = 10000;
    conf->max_response_bytes = INT64_C(16) << 20;
    conf->max_attempts = 5;
    conf->backoff_base_ms = 500;
    conf->backoff_max_ms = 30000;
    conf->retry_after_max_ms = 120000;
    conf->redis_prefix = "jobfleet";
}

/* An integer key of the section into *out when present; -1 with err set when malformed. */
static int
httpc_conf_int(const struct cfg_section *s, const char *key, int64_t min, int64_t max, int64_t *out,
               char *err, size_t errlen)
{
    const char *v = cfg_section_get(s, key);
    if (v == NULL)
        return 0;
    if (parse_int64(v, min, max, out) < 0) {
        snprintf(err, errlen, "%s: [%s] %s: expected an integer in %lld-%lld, got \"%s\"",
                 cfg_section_where(s, key), s->name, key, (long long)min, (long long)max, v);
        return -1;
    }
    return 0;
}

static int
httpc_conf_auth(const struct cfg_section *s, struct httpc_conf *conf, char *err, size_t errlen)
{
    const char *v = cfg_section_get(s, "auth");
    if (v == NULL) {
        /* Without an explicit mode the credentials given decide: a token is a bearer token,
         * a lone API key is Freshservice-style Basic. Key + secret stays explicit because
         * Frappe (token) and TOGA (a login call) use the pair differently. */
        if (conf->token && *conf->token)
            conf->auth = HTTPC_AUTH_BEARER;
        else if (conf->api_key && *conf->api_key && !(conf->api_secret && *conf->api_secret))
            conf->auth = HTTPC_AUTH_BASIC;
        return 0;
    }
    static const char *const names[] = {"none", "basic", "bearer", "token"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, names[i]) == 0) {
            conf->auth = (enum httpc_auth)i;
            break;
        }
        if (i == 3) {
            snprintf(err, errlen,
                     "%s: [%s] auth: expected basic, bearer, token or none, got \"%s\"",
                     cfg_section_where(s, "auth"), s->name, v);
            return -1;
        }
    }
    const char *need = conf->auth == HTTPC_AUTH_BEARER ? conf->token
                       : conf->auth == HTTPC_AUTH_NONE ? "-"
                                                       : conf->api_key;
    if (need == NULL || *need == '\0') {
        snprintf(err, errlen, "[%s] auth = %s needs %s (or %s_file)", s->name, v,
                 conf->auth == HTTPC_AUTH_BEARER ? "token" : "api_key",
                 conf->auth == HTTPC_AUTH_BEARER ? "token" : "api_key");
        return -1;
    }
    if (conf->auth == HTTPC_AUTH_TOKEN && (conf->api_secret == NULL || !*conf->api_secret)) {
        snprintf(err, errlen, "[%s] auth = token needs api_secret (or api_secret_file)", s->name);
        return -1;
    }
    return 0;
}

/* The numeric keys: name, bounds, and where each goes. */
static int
httpc_conf_numbers(const struct cfg_section *s, struct httpc_conf *conf, char *err, size_t errlen)
{
    int64_t rate = conf->rate_per_minute, to = conf->timeout_ms, cto = conf->connect_timeout_ms;
    int64_t att = conf->max_attempts;
    if (httpc_conf_int(s, "rate_per_minute", 0, 600000, &rate, err, errlen) < 0 ||
        httpc_conf_int(s, "timeout_ms", 100, 3600000, &to, err, errlen) < 0 ||
        httpc_conf_int(s, "connect_timeout_ms", 100, 600000, &cto, err, errlen) < 0 ||
        httpc_conf_int(s, "max_attempts", 1, 100, &att, err, errlen) < 0 ||
        httpc_conf_int(s, "max_response_bytes", 0, INT64_C(1) << 40, &conf->max_response_bytes, err,
                       errlen) < 0 ||
        httpc_conf_int(s, "backoff_base_ms", 1, 3600000, &conf->backoff_base_ms, err, errlen) < 0 ||
        httpc_conf_int(s, "backoff_max_ms", 1, 3600000, &conf->backoff_max_ms, err, errlen) < 0 ||
        httpc_conf_int(s, "retry_after_max_ms", 0, 86400000, &conf->retry_after_max_ms, err,
                       errlen) < 0)
        return -1;
    conf->rate_per_minute = (int)rate;
    conf->timeout_ms = (int)to;
    conf->connect_timeout_ms = (int)cto;
    conf->max_attempts = (int)att;
    return 0;
}

int
httpc_conf_from_cfg(const struct cfg *cfg, const char *service, struct httpc_conf *conf, char *err,
                    size_t errlen)
{
    httpc_conf_defaults(conf);
    char full[160];
    snprintf(full, sizeof(full), "service.%s", service);
    const struct cfg_section *s = cfg_find_section(cfg, full);
    if (s == NULL) {
        snprintf(err, errlen, "[%s]: no such section in the configuration", full);
        return -1;
    }
    conf->name = s->label;
    conf->redis_prefix = cfg->redis.prefix ? cfg->redis.prefix : "jobfleet";
    conf->base_url = cfg_section_get(s, "base_url");
    if (conf->base_url == NULL || strncmp(conf->base_url, "http", 4) != 0) {
        snprintf(err, errlen, "%s: [%s] base_url: expected an http:// or https:// URL, got \"%s\"",
                 cfg_section_where(s, "base_url"), full, conf->base_url ? conf->base_url : "");
        return -1;
    }
    /* The *_file variants are already read into the plain keys by cfg_load. */
    conf->api_key = cfg_section_get(s, "api_key");
    conf->api_secret = cfg_section_get(s, "api_secret");
    conf->token = cfg_section_get(s, "token");
    conf->ca_file = cfg_section_get(s, "ca_file");
    if (httpc_conf_numbers(s, conf, err, errlen) < 0 || httpc_conf_auth(s, conf, err, errlen) < 0)
        return -1;
    return 0;
}

static char *
httpc_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void
httpc_conf_copy(struct httpc_conf *dst, const struct httpc_conf *src)
{
    *dst = *src;
    dst->name = httpc_dup(src->name ? src->name : "http");
    dst->base_url = httpc_dup(src->base_url ? src->base_url : "");
    dst->api_key = httpc_dup(src->api_key);
    dst->api_secret = httpc_dup(src->api_secret);
    dst->token = httpc_dup(src->token);
    dst->ca_file = httpc_dup(src->ca_file);
    dst->redis_prefix = httpc_dup(src->redis_prefix ? src->redis_prefix : "jobfleet");
}

void
httpc_conf_free(struct httpc_conf *c)
{
    /* The copies were made by httpc_conf_copy, so casting const away frees our own memory. */
    const char *own[] = {c->name,  c->base_url, c->api_key,     c->api_secret,
                         c->token, c->ca_file,  c->redis_prefix};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        free((char *)(uintptr_t)own[i]);
    memset(c, 0, sizeof(*c));
}

static int
httpc_is_full_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

char *
httpc_url_join(const char *base, const char *path)
{
    if (path == NULL)
        path = "";
    if (httpc_is_full_url(path) || base == NULL || *base == '\0')
        return xstrdup(path);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    while (*path == '/')
        path++;
    return xasprintf("%.*s%s%s", (int)bl, base, *path ? "/" : "", path);
}

/* The length of url's scheme://host[:port] part. */
static size_t
httpc_origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return 0;
    p += 3;
    p += strcspn(p, "/?#");
    return (size_t)(p - url);
}

int
httpc_same_origin(const char *base, const char *url)
{
    size_t bl = httpc_origin_len(base), ul = httpc_origin_len(url);
    return bl > 0 && bl == ul && strncasecmp(base, url, bl) == 0;
}

/* Does the parameter list of one Link entry (from after '>' up to the next entry) say
 * rel="next"? rel may hold several space-separated values. */
static int
httpc_link_is_next(const char *p, const char *end)
{
    for (; p < end; p++) {
        if (strncasecmp(p, "rel", 3) != 0)
            continue;
        const char *v = p + 3;
        while (v < end && (*v == ' ' || *v == '=' || *v == '"'))
            v++;
        while (v < end && *v != ';' && *v != ',') {
            if (strncasecmp(v, "next", 4) == 0 && (v + 4 >= end || !isalnum((unsigned char)v[4])))
                return 1;
            v++;
        }
    }
    return 0;
}

/* Does the parameter list of one Link entry name a relation at all? */
static bool
httpc_link_has_rel(const char *p, const char *end)
{
    for (; p + 3 <= end; p++)
        if (strncasecmp(p, "rel", 3) == 0)
            return true;
    return false;
}

char *
httpc_link_next(const char *link)
{
    if (link == NULL)
        return NULL;
    char *only = NULL;
    int entries = 0;
    for (const char *p = strchr(link, '<'); p; p = strchr(p, '<')) {
        const char *gt = strchr(p, '>');
        if (gt == NULL)
            break;
        entries++;
        /* The entry's parameters end where the next "<" starts. */
        const char *next = strchr(gt, '<');
        const char *end = next ? next : gt + strlen(gt);
        if (httpc_link_is_next(gt + 1, end)) {
            free(only);
            return xstrndup(p + 1, (size_t)(gt - p - 1));
        }
        /* A lone entry that names its relation (prev, first, last) is not the next page. */
        if (only == NULL && !httpc_link_has_rel(gt + 1, end))
            only = xstrndup(p + 1, (size_t)(gt - p - 1));
        p = gt;
    }
    /* Freshservice's exact rel text is unconfirmed: a lone entry is taken as the next page. */
    if (entries == 1)
        return only;
    free(only);
    return NULL;
}
