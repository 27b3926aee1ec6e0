/* This file counts the producer's open connections by client, for [producer]
 * max_connections_per_ip: an IPv4 client by its address, an IPv6 one by its prefix, so that a
 * client that owns a whole /64 is held back too (libmicrohttpd's own limit counts each full
 * address, and such a client can use a new one for every connection). All of them count here,
 * not in libmicrohttpd, so that every refusal is counted in the metrics: libmicrohttpd's own
 * are not reported to the producer.
 *
 * libmicrohttpd asks http_prefix_limit_allows from its accept policy callback, and its
 * connection notifications count a connection once it is open and again when it closes. The
 * policy callback does not count, because libmicrohttpd may still refuse the connection after
 * it (at its own connection limit) without telling anyone, and the count would never come
 * down. So between one thread's check and its count, other threads may pass the check for the
 * same group: each of libmicrohttpd's threads takes one connection at a time, so a group holds
 * at most per_group + threads - 1 connections. */
#include "http_prefix_limit.h"
#include "ids.h"
#include "log_limit.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Buckets at most: 8 bytes each; past it chains grow, which only a million connections do. */
#define PREFIX_BUCKETS_MAX (1 << 16)

/* A prefix with at least one open connection; it leaves the table when its last one closes,
 * so the table holds at most as many groups as there are connections. */
struct prefix_group {
    struct prefix_group *next;
    unsigned char key[16]; /* the address with the bits past the prefix cleared */
    int count;
};

struct http_prefix_limit {
    pthread_mutex_t mu; /* guards the buckets and every group in them */
    struct prefix_group **buckets;
    size_t mask;      /* the number of buckets less one (a power of two less one) */
    uint64_t seed[2]; /* the hash's secret: clients choose their prefixes */
    int per_group;
    int prefix_len;
    atomic_long refused[2]; /* by enum http_prefix_refusal */
};

/* IPv4-mapped IPv6 (::ffff:0:0/96): how the table keys an IPv4 address, and how a dual-stack
 * socket shows an IPv4 client. */
static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* How an address counts. */
enum prefix_kind { PREFIX_NONE, PREFIX_ADDRESS, PREFIX_PREFIX };

/* The group of sa into key (an IPv4 address as IPv4-mapped IPv6), and how it counts. */
static enum prefix_kind
prefix_key(const struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len,
           unsigned char key[16])
{
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (l->per_group <= 0 || sa == NULL)
        return PREFIX_NONE;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(key, v4_mapped, sizeof(v4_mapped));
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return PREFIX_ADDRESS;
    }
    if (sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(struct sockaddr_in6))
        return PREFIX_NONE;
    const unsigned char *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    memcpy(key, a, 16);
    /* An IPv4 client, seen through a dual-stack socket or a NAT64, has one address of its own;
     * its /64 would be every IPv4 client's. A unique local (fc00::/7) or link-local (fe80::/10)
     * client is on the operator's own network, where one /64 holds many unrelated clients (a
     * LAN, a cluster's pods), not an attacker who owns it. */
    if (l->prefix_len >= 128 || memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0 ||
        memcmp(a, nat64, sizeof(nat64)) == 0 || (a[0] & 0xfe) == 0xfc ||
        (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
        return PREFIX_ADDRESS;
    int full = l->prefix_len / 8, rest = l->prefix_len % 8;
    memset(key + full, 0, (size_t)(16 - full));
    if (rest)
        key[full] = a[full] & (unsigned char)(0xff << (8 - rest));
    return PREFIX_PREFIX;
}

/* MurmurHash3's 64-bit finalizer. */
static uint64_t
prefix_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* With the lock held: the link that points at key's group, or the NULL link ending its
 * bucket's chain when no connection of that group is open. The seed keeps a client that holds
 * many prefixes from choosing ones that share a bucket. */
static struct prefix_group **
prefix_find(struct http_prefix_limit *l, const unsigned char key[16])
{
    uint64_t w0, w1;
    memcpy(&w0, key, 8);
    memcpy(&w1, key + 8, 8);
    uint64_t h = prefix_mix(prefix_mix(w0 ^ l->seed[0]) ^ w1 ^ l->seed[1]);
    struct prefix_group **pp = &l->buckets[h & l->mask];
    while (*pp && memcmp((*pp)->key, key, 16) != 0)
        pp = &(*pp)->next;
    return pp;
}

struct http_prefix_limit *
http_prefix_limit_new(int per_group, int prefix_len, int max_open)
{
    struct http_prefix_limit *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    l->per_group = per_group;
    l->prefix_len = prefix_len;
    size_t n = 16;
    while (per_group > 0 && n < (size_t)max_open && n < PREFIX_BUCKETS_MAX)
        n *= 2;
    l->buckets = xcalloc(n, sizeof(*l->buckets));
    l->mask = n - 1;
    ids_random(l->seed, sizeof(l->seed));
    atomic_init(&l->refused[HTTP_REFUSED_ADDRESS], 0);
    atomic_init(&l->refused[HTTP_REFUSED_PREFIX], 0);
    return l;
}

void
http_prefix_limit_free(struct http_prefix_limit *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i <= l->mask; i++) {
        while (l->buckets[i]) {
            struct prefix_group *g = l->buckets[i];
            l->buckets[i] = g->next;
            free(g);
        }
    }
    free(l->buckets);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static void
prefix_log_refusal(const struct http_prefix_limit *l, const unsigned char key[16],
                   enum prefix_kind kind)
{
    /* Anyone can cause these at will. */
    static struct log_limit by_address = LOG_LIMIT_INIT("per-address refusal"),
                            by_prefix = LOG_LIMIT_INIT("IPv6 prefix refusal");
    char text[INET6_ADDRSTRLEN];
    if (memcmp(key, v4_mapped, sizeof(v4_mapped)) == 0)
        inet_ntop(AF_INET, key + 12, text, sizeof(text));
    else
        inet_ntop(AF_INET6, key, text, sizeof(text));
    if (kind == PREFIX_PREFIX)
        log_warnx_limited(&by_prefix,
                          "refused a connection from %s/%d: that prefix already holds %d "
                          "connections ([producer] max_connections_per_ip, ipv6_prefix_len)",
                          text, l->prefix_len, l->per_group);
    else
        log_warnx_limited(&by_address,
                          "refused a connection from %s: that address already holds %d "
                          "connections ([producer] max_connections_per_ip)",
                          text, l->per_group);
}

bool
http_prefix_limit_allows(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    enum prefix_kind kind = prefix_key(l, sa, len, key);
    if (kind == PREFIX_NONE)
        return true;
    pthread_mutex_lock(&l->mu);
    const struct prefix_group *g = *prefix_find(l, key);
    bool ok = g == NULL || g->count < l->per_group;
    pthread_mutex_unlock(&l->mu);
    if (!ok) {
        atomic_fetch_add(
            &l->refused[kind == PREFIX_PREFIX ? HTTP_REFUSED_PREFIX : HTTP_REFUSED_ADDRESS], 1);
        prefix_log_refusal(l, key, kind);
    }
    return ok;
}

void
http_prefix_limit_opened(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    if (prefix_key(l, sa, len, key) == PREFIX_NONE)
        return;
    pthread_mutex_lock(&l->mu);
    struct prefix_group **pp = prefix_find(l, key);
    if (*pp == NULL) {
        *pp = xcalloc(1, sizeof(**pp));
        memcpy((*pp)->key, key, sizeof((*pp)->key));
    }
    (*pp)->count++;
    pthread_mutex_unlock(&l->mu);
}

void
http_prefix_limit_closed(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    if (prefix_key(l, sa, len, key) == PREFIX_NONE)
        return;
    pthread_mutex_lock(&l->mu);
    struct prefix_group **pp = prefix_find(l, key);
    struct prefix_group *g = *pp;
    /* A group is missing only for a close without its open, which the contract rules out. */
    if (g && --g->count == 0) {
        *pp = g->next;
        free(g);
    }
    pthread_mutex_unlock(&l->mu);
}

int
http_prefix_limit_count(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    if (prefix_key(l, sa, len, key) == PREFIX_NONE)
        return 0;
    pthread_mutex_lock(&l->mu);
    const struct prefix_group *g = *prefix_find(l, key);
    int n = g ? g->count : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}

long
http_prefix_limit_refused(struct http_prefix_limit *l, enum http_prefix_refusal kind)
{
    return l ? atomic_load(&l->refused[kind]) : 0;
}
