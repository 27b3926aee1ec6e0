/* The per-address connection limit for IPv6 clients (http_prefix_limit.c): one IPv6 host
 * usually holds a whole /64, so a limit on each full address would not hold it back. */
#ifndef JOBFLEET_HTTP_PREFIX_LIMIT_H
#define JOBFLEET_HTTP_PREFIX_LIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

struct http_prefix_limit;

/* A table of open connections by IPv6 prefix: an IPv6 address counts by its first prefix_len
 * bits (1-128), and its group may hold per_group connections. Other addresses are not counted
 * here: IPv4 addresses and IPv4 addresses carried in IPv6 (::ffff:0:0/96, 64:ff9b::/96), local
 * ones (unique local fc00::/7, link-local fe80::/10), and
 * every address when prefix_len is 128 or per_group is 0 (libmicrohttpd's own per-address limit
 * counts those). max_open is how many connections may be open at once (the table's size; more
 * still works, only slower). Never returns NULL. */
struct http_prefix_limit *http_prefix_limit_new(int per_group, int prefix_len, int max_open);
/* Frees l; accepts NULL. Connections still counted are forgotten. */
void http_prefix_limit_free(struct http_prefix_limit *l);

/* Whether a connection from sa (len bytes) may be taken: false when its group already holds
 * per_group connections; such a refusal is counted and logged (within a log budget). Does not
 * count the connection itself: call http_prefix_limit_opened once it is open. Thread-safe. */
bool http_prefix_limit_allows(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);
/* A connection from sa opened: its group holds one more. Thread-safe. */
void http_prefix_limit_opened(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);
/* A connection from sa, counted by http_prefix_limit_opened, closed. Thread-safe. */
void http_prefix_limit_closed(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);

/* The connections the group of sa holds; 0 for an address not counted here. Thread-safe. */
int http_prefix_limit_count(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len);
/* Connections refused since l was made; 0 for a NULL l. Thread-safe. */
long http_prefix_limit_refused(struct http_prefix_limit *l);

#endif
