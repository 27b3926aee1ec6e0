/* A request's client address behind trusted reverse proxies ([producer] trusted_proxies). */
#ifndef JOBFLEET_HTTP_CLIENT_ADDR_H
#define JOBFLEET_HTTP_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "http_server.h"

#define HTTP_PROXIES_MAX 64

struct http_proxy {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* The trusted proxies: addresses and address/bits blocks, IPv4 or IPv6. */
struct http_proxies {
    int n;
    struct http_proxy p[HTTP_PROXIES_MAX];
};

/* Parses spec ("10.0.0.5, 192.168.0.0/16 ::1", separated by commas or spaces; "" for none)
 * into *out. Returns 0, or -1 with the entry at fault named in err. */
int http_proxies_parse(const char *spec, struct http_proxies *out, char *err, size_t errlen);

/* True when the numeric address text addr (an IPv4-mapped IPv6 address counts as its IPv4
 * address) is within one of l's blocks. */
bool http_proxies_has(const struct http_proxies *l, const char *addr);

/* The client's address into out (len bytes): peer, the connection's address, unless peer is a
 * trusted proxy; then the X-Forwarded-For hops of h, read from the last one back, are believed
 * while they are trusted proxies too, and the first hop that is not is the client (a hop that
 * is no address ends the walk at the hop before it). A client may send any X-Forwarded-For,
 * but only what trusted proxies appended after it is read. */
void http_client_addr(const struct http_proxies *l, const char *peer, const struct http_headers *h,
                      char *out, size_t len);

#endif
