/* A TCP proxy between the binaries under test and MariaDB that can lose the answer to one
 * chosen statement: it forwards the statement, lets the server run it to the end, and closes
 * the client's side, so the client sees its connection lost while the server commits. That is
 * how an ambiguous commit happens in production (a network cut, a proxy restart), provoked at
 * an exact statement instead of at a random moment. It understands just enough of the MariaDB
 * protocol (plain TCP, no TLS, no compression) to find that statement. */
#ifndef JOBFLEET_TMYPROXY_H
#define JOBFLEET_TMYPROXY_H

#include <stddef.h>

struct tmyproxy;

/* Starts a proxy on a free loopback port to MariaDB at host:port. Fails the test on error. */
struct tmyproxy *tmyproxy_start(const char *host, int port);
/* The port the proxy listens on. */
int tmyproxy_port(const struct tmyproxy *p);
/* Arms the proxy once: on any connection, the next statement whose SQL text starts with
 * prefix (case-insensitive) — a text query, or the execution of a prepared statement — is
 * forwarded, then that client's connection is closed before any answer reaches it. The server's
 * side stays open and is read to the end, so the statement completes as if the client had
 * gone away just after sending it. The prefix is copied. */
void tmyproxy_cut_answer(struct tmyproxy *p, const char *prefix);
/* Makes the proxy enforce a max_allowed_packet of bytes on the connections it accepts from now
 * on, as MariaDB does: a client
 * packet longer than that is read whole and dropped, the client gets error 1153 ("Got a packet
 * bigger than 'max_allowed_packet' bytes") and its connection is closed. Lets a test put a
 * smaller limit between the binaries and the server than the one they read from the server (a
 * proxy such as ProxySQL with its own limit), and makes the error deterministic: a real
 * server may close before the client has sent the whole packet. 0 turns it off. */
void tmyproxy_max_packet(struct tmyproxy *p, size_t bytes);
/* How many packets that limit refused so far. */
int tmyproxy_too_large(struct tmyproxy *p);
/* How many answers the proxy has cut so far. */
int tmyproxy_cuts(struct tmyproxy *p);
/* Stops the proxy, closes every connection and frees it; accepts NULL. */
void tmyproxy_stop(struct tmyproxy *p);

struct tenv;
/* Starts a proxy to the test's MariaDB and points the binaries and the CLI the test starts
 * from now on at it (JOBFLEET_MYSQL_PORT, which overrides the config file). */
struct tmyproxy *tmyproxy_start_for(struct tenv *t);
/* Points them back at MariaDB itself and stops p. */
void tmyproxy_stop_for(struct tmyproxy *p);

#endif
