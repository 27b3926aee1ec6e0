/* This file finds a request's client address when the producer stands behind reverse
 * proxies: the connection then comes from the proxy, and only the X-Forwarded-For hops that
 * trusted proxies appended say who the client is. Used where the address decides something
 * (the dashboard's per-address login lockout) and where it is logged. */
#include "http_client_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses numeric address text into p (family and bytes); IPv4-mapped IPv6 becomes IPv4.
 * Returns false when text is no address. */
static bool
http_addr_parse(const char *text, struct http_proxy *p)
{
    unsigned char a6[16];
    memset(p, 0, sizeof(*p));
    if (inet_pton(AF_INET, text, p->addr) == 1) {
        p->family = AF_INET;
        p->bits = 32;
        return true;
    }
    if (inet_pton(AF_INET6, text, a6) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
        p->family = AF_INET;
        memcpy(p->addr, a6 + 12, 4);
        p->bits = 32;
    } else {
        p->family = AF_INET6;
        memcpy(p->addr, a6, 16);
        p->bits = 128;
    }
    return true;
}

/* Parses one entry, "addr" or "addr/bits", into p. */
static bool
http_proxy_parse(const char *entry, struct http_proxy *p)
{
    char text[64];
    size_t n = strcspn(entry, "/");
    if (n >= sizeof(text))
        return false;
    memcpy(text, entry, n);
    text[n] = '\0';
    if (strchr(text, '.') == NULL && strchr(text, ':') == NULL)
        return false;
    bool v4_text = strchr(text, ':') == NULL;
    if (!http_addr_parse(text, p))
        return false;
    if (entry[n] == '\0')
        return true;
    char *end = NULL;
    long bits = strtol(entry + n + 1, &end, 10);
    int max = v4_text ? 32 : 128;
    if (end == entry + n + 1 || *end != '\0' || bits < 0 || bits > max)
        return false;
    /* An IPv4-mapped block stays a block of the IPv4 addresses it maps. */
    p->bits = (int)(p->family == AF_INET && !v4_text ? bits - 96 : bits);
    return p->bits >= 0;
}

int
http_proxies_parse(const char *spec, struct http_proxies *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *s = spec ? spec : "";
    while (*s) {
        s += strspn(s, ", \t\n");
        size_t n = strcspn(s, ", \t\n");
        if (n == 0)
            break;
        if (out->n == HTTP_PROXIES_MAX) {
            snprintf(err, errlen, "[producer] trusted_proxies: more than %d entries",
                     HTTP_PROXIES_MAX);
            return -1;
        }
        char entry[80];
        snprintf(entry, sizeof(entry), "%.*s", (int)(n < sizeof(entry) ? n : sizeof(entry) - 1), s);
        if (n >= sizeof(entry) || !http_proxy_parse(entry, &out->p[out->n])) {
            snprintf(err, errlen,
                     "[producer] trusted_proxies: \"%.*s\" is not an address or an address/bits "
                     "block",
                     (int)(n > 64 ? 64 : n), s);
            return -1;
        }
        out->n++;
        s += n;
    }
    return 0;
}

static bool
http_proxy_covers(const struct http_proxy *blk, const struct http_proxy *a)
{
    if (blk->family != a->family)
        return false;
    int full = blk->bits / 8, rest = blk->bits % 8;
    if (memcmp(blk->addr, a->addr, (size_t)full) != 0)
        return false;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return rest == 0 || (blk->addr[full] & mask) == (a->addr[full] & mask);
}

bool
http_proxies_has(const struct http_proxies *l, const char *addr)
{
    struct http_proxy a;
    if (l == NULL || addr == NULL || !http_addr_parse(addr, &a))
        return false;
    for (int i = 0; i < l->n; i++)
        if (http_proxy_covers(&l->p[i], &a))
            return true;
    return false;
}

/* Walks the hops of one X-Forwarded-For value from its end; returns true when the walk ends
 * in it (a hop that is not a trusted proxy, or no address), with out set to the client. */
static bool
http_xff_walk(const struct http_proxies *l, const char *value, char *out, size_t len)
{
    const char *end = value + strlen(value);
    while (end > value) {
        const char *start = end;
        while (start > value && start[-1] != ',')
            start--;
        const char *a = start, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        char hop[64];
        struct http_proxy p;
        if (b - a <= 0 || (size_t)(b - a) >= sizeof(hop))
            return true;
        snprintf(hop, sizeof(hop), "%.*s", (int)(b - a), a);
        if (!http_addr_parse(hop, &p))
            return true;
        snprintf(out, len, "%s", hop);
        if (!http_proxies_has(l, hop))
            return true;
        end = start > value ? start - 1 : value;
    }
    return false;
}

void
http_client_addr(const struct http_proxies *l, const char *peer, const struct http_headers *h,
                 char *out, size_t len)
{
    snprintf(out, len, "%s", peer ? peer : "");
    if (l == NULL || l->n == 0 || !http_proxies_has(l, out))
        return;
    for (int i = h ? h->n - 1 : -1; i >= 0; i--)
        if (strcmp(h->names[i], "x-forwarded-for") == 0 && http_xff_walk(l, h->values[i], out, len))
            return;
}
