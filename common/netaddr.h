/* Addresses an untrusted URL may lead to: DNS resolution and the check that refuses loopback,
 * private, link-local, CGNAT, metadata and other special ranges (IPv4 and IPv6, including
 * IPv4 carried inside IPv6), so a download cannot be pointed at the fleet's own network. */
#ifndef JOBFLEET_NETADDR_H
#define JOBFLEET_NETADDR_H

#include <stddef.h>

#define NETADDR_TEXT 46 /* INET6_ADDRSTRLEN */
#define NETADDR_MAX 16

/* Why the numeric address text (IPv4 or IPv6) must not be connected to ("loopback",
 * "private", "link-local or metadata", ...), or NULL when it is a public unicast address.
 * Text that is not an address gives "not an IP address". */
const char *netaddr_blocked(const char *addr);

/* True when host is a numeric IPv4 or IPv6 address (without brackets). */
int netaddr_is_literal(const char *host);

/* Resolves host to its addresses (numeric text, at most NETADDR_MAX, duplicates removed) into
 * out; returns how many (>= 1), or -1 with err set when it does not resolve. */
int netaddr_resolve(const char *host, char out[][NETADDR_TEXT], int max, char *err, size_t errlen);

#endif
