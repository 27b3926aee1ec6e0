/* The per-address connection limit (http_prefix_limit.c): each IPv4 address and each IPv6
 * prefix may hold so many connections. One IPv6 host usually holds a whole /64, so a limit on
 * each full IPv6 address would not hold it back. */
#ifndef JOBFLEET_HTTP_PREFIX_LIMIT_H
#define JOBFLEET_HTTP_PREFIX_LIMIT_H

#include <stdbool.h>
#include <sys/socket.h>

struct http_prefix_limit;

/* A table of open connections by client: an IPv6 address counts by its first prefix_len bits
 * (1-128), and its group may hold per_group connections. These count by their whole address
 * instead: IPv4 addresses, also carried in IPv6 (::ffff:0:0/96, counted with the IPv4 address
 * it carries; 64:ff9b::/96, a NAT64's, counted apart), local IPv6 ones (unique local fc00::/7,
 * link-local fe80::/10), and every address when prefix_len is 128. per_group 0: nothing is counted,
 * no limit. max_open is how many connections may be open at once (the table's size; more still
 * works, only slower). Never returns NULL. */
struct http_prefix_limit *http_prefix_limit_new(int per_group, int prefix_len, int max_open);
/* Frees l; accepts NULL. Connections still counted are forgotten. */
void http_prefix_limit_free(struct http_prefix_limit *l);

/* Whether a connection from sa (len bytes) may be taken: false when its group already holds
 * per_group connections; such a refusal is counted by its kind and logged (within a log
 * budget). Does not count the connection itself: call http_prefix_limit_opened once it is
 * open. Thread-safe. */
bool http_prefix_limit_allows(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);
/* A connection from sa opened: its group holds one more. Thread-safe. */
void http_prefix_limit_opened(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);
/* A connection from sa, counted by http_prefix_limit_opened, closed. Thread-safe. */
void http_prefix_limit_closed(struct http_prefix_limit *l, const struct sockaddr *sa,
                              socklen_t len);

/* The connections the group of sa holds; 0 when nothing is counted. Thread-safe. */
int http_prefix_limit_count(struct http_prefix_limit *l, const struct sockaddr *sa, socklen_t len);

/* What a refused connection's group was: its whole address, or its IPv6 prefix. */
enum http_prefix_refusal { HTTP_REFUSED_ADDRESS, HTTP_REFUSED_PREFIX };
/* Connections refused for that kind of group since l was made; 0 for a NULL l. Thread-safe. */
long http_prefix_limit_refused(struct http_prefix_limit *l, enum http_prefix_refusal kind);

#endif
