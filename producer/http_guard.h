/* Absolute deadlines for the producer's connections (http_guard.c): libmicrohttpd's own
 * timeout counts only idle time, so a sender trickling one byte at a time could hold a
 * connection for ever. */
#ifndef JOBFLEET_HTTP_GUARD_H
#define JOBFLEET_HTTP_GUARD_H

#include <microhttpd.h>
#include <stdatomic.h>

struct MHD_Connection;
struct http_guard;

/* Starts the thread that cuts connections whose headers are not in header_ms after the
 * request began (or, between keep-alive requests, after the previous one ended), or whose
 * request is not finished request_ms after it began. Each cut bumps *cut. */
struct http_guard *http_guard_start(int header_ms, int request_ms, atomic_long *cut);
/* Stops the thread and frees the guard; every connection must be closed. Accepts NULL. */
void http_guard_stop(struct http_guard *g);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls is the guard): registers a
 * connection when it opens and forgets it when it closes. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* The headers of the connection's current request are in: its request deadline applies. */
void http_guard_headers_in(struct http_guard *g, struct MHD_Connection *conn);
/* The connection's request finished: the next one's header deadline starts now. */
void http_guard_request_done(struct http_guard *g, struct MHD_Connection *conn);

#endif
