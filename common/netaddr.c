/* This file resolves host names and checks addresses for untrusted downloads. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct netaddr_v4_range {
    uint32_t net;
    int bits;
    const char *why;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const struct netaddr_v4_range netaddr_v4[] = {
    {V4(0, 0, 0, 0), 8, "\"this\" network"},
    {V4(10, 0, 0, 0), 8, "private"},
    {V4(100, 64, 0, 0), 10, "CGNAT (shared address space)"},
    {V4(127, 0, 0, 0), 8, "loopback"},
    {V4(169, 254, 0, 0), 16, "link-local or metadata"},
    {V4(172, 16, 0, 0), 12, "private"},
    {V4(192, 0, 0, 0), 24, "IETF protocol assignments"},
    {V4(192, 0, 2, 0), 24, "documentation"},
    {V4(192, 88, 99, 0), 24, "6to4 relay anycast"},
    {V4(192, 168, 0, 0), 16, "private"},
    {V4(198, 18, 0, 0), 15, "benchmarking"},
    {V4(198, 51, 100, 0), 24, "documentation"},
    {V4(203, 0, 113, 0), 24, "documentation"},
    {V4(224, 0, 0, 0), 4, "multicast"},
    {V4(240, 0, 0, 0), 4, "reserved or broadcast"},
};

static const char *
netaddr_v4_blocked(uint32_t a)
{
    for (size_t i = 0; i < sizeof(netaddr_v4) / sizeof(netaddr_v4[0]); i++) {
        uint32_t mask = netaddr_v4[i].bits ? ~UINT32_C(0) << (32 - netaddr_v4[i].bits) : 0;
        if ((a & mask) == netaddr_v4[i].net)
            return netaddr_v4[i].why;
    }
    return NULL;
}

static uint32_t
netaddr_v4_at(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int
netaddr_prefix(const unsigned char *a, const unsigned char *net, int bits)
{
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xFF : (unsigned char)(0xFF << (8 - bits));
        if ((a[i] & mask) != (net[i] & mask))
            return 0;
    }
    return 1;
}

static const char *
netaddr_v6_blocked(const unsigned char *a)
{
    static const unsigned char zero[16],
        mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, nat64[12] = {0, 0x64, 0xFF, 0x9B},
        sixtofour[2] = {0x20, 0x02}, teredo[4] = {0x20, 0x01}, doc[4] = {0x20, 0x01, 0x0D, 0xB8},
        discard[8] = {0x01};
    static const unsigned char ula[1] = {0xFC}, ll[2] = {0xFE, 0x80}, sl[2] = {0xFE, 0xC0},
                               mc[1] = {0xFF};
    if (netaddr_prefix(a, mapped, 96) || netaddr_prefix(a, nat64, 96)) {
        const char *w = netaddr_v4_blocked(netaddr_v4_at(a + 12));
        return w ? w : NULL;
    }
    if (netaddr_prefix(a, sixtofour, 16)) /* 6to4 carries an IPv4 address in bits 16-47 */
        return netaddr_v4_blocked(netaddr_v4_at(a + 2));
    if (netaddr_prefix(a, zero, 96))
        return memcmp(a, zero, 15) == 0 && a[15] == 1 ? "loopback"
                                                      : "unspecified or IPv4-compatible";
    if (netaddr_prefix(a, teredo, 32))
        return "Teredo";
    if (netaddr_prefix(a, doc, 32))
        return "documentation";
    if (netaddr_prefix(a, discard, 64))
        return "discard";
    if (netaddr_prefix(a, ula, 7))
        return "unique local (private, metadata)";
    if (netaddr_prefix(a, ll, 10))
        return "link-local";
    if (netaddr_prefix(a, sl, 10))
        return "site-local";
    if (netaddr_prefix(a, mc, 8))
        return "multicast";
    return NULL;
}

const char *
netaddr_blocked(const char *addr)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, addr, b) == 1)
        return netaddr_v4_blocked(netaddr_v4_at(b));
    if (inet_pton(AF_INET6, addr, b) == 1)
        return netaddr_v6_blocked(b);
    return "not an IP address";
}

int
netaddr_is_literal(const char *host)
{
    unsigned char b[16];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

int
netaddr_resolve(const char *host, char out[][NETADDR_TEXT], int max, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s does not resolve: %s", host, gai_strerror(rc));
        return -1;
    }
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        char text[NETADDR_TEXT];
        const void *src = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            inet_ntop(ai->ai_family, src, text, sizeof(text)) == NULL)
            continue;
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= strcmp(out[i], text) == 0;
        if (!dup)
            snprintf(out[n++], NETADDR_TEXT, "%s", text);
    }
    freeaddrinfo(res);
    if (n == 0) {
        snprintf(err, errlen, "%s has no IPv4 or IPv6 address", host);
        return -1;
    }
    return n;
}
