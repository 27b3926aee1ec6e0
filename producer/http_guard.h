/* Absolute deadlines for the producer's connections (http_guard.c): libmicrohttpd's own
 * timeout counts only idle time, so a sender trickling one byte at a time could hold a
 * connection for ever. */
#ifndef JOBFLEET_HTTP_GUARD_H
#define JOBFLEET_HTTP_GUARD_H

#include <microhttpd.h>
#include <stddef.h>

struct MHD_Connection;
struct http_guard;

/* Why a connection was cut: the reason label of jobfleet_producer_connections_cut_total. */
enum http_guard_cut {
    HTTP_GUARD_CUT_HEADER,    /* headers not in by header_ms */
    HTTP_GUARD_CUT_REQUEST,   /* request not done by request_ms */
    HTTP_GUARD_CUT_SLOW_BODY, /* body slower than body_min_rate past its grace */
    HTTP_GUARD_CUT_N
};

/* What the guard enforces, from [producer] (docs/deploy.md). */
struct http_guard_limits {
    int header_ms;     /* from a request's start (or the previous one's end) to its headers */
    int request_ms;    /* from a request's start until it is done */
    int body_grace_ms; /* a body's allowance, from its headers, before its rate counts */
    int body_min_rate; /* bytes per second a body must average past its grace; 0: no rule */
};

/* Starts the thread that cuts connections past the deadlines of lim (copied). A body's own
 * deadline is body_grace_ms after its headers plus one second for each body_min_rate bytes
 * that arrived. Never returns NULL (a thread that cannot start is fatal). */
struct http_guard *http_guard_start(const struct http_guard_limits *lim);
/* Stops the thread and frees the guard; every connection must be closed. Accepts NULL. */
void http_guard_stop(struct http_guard *g);
/* Connections cut for why since the guard started; 0 for a NULL guard. Thread-safe. */
long http_guard_cuts(struct http_guard *g, enum http_guard_cut why);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls is the guard): registers a
 * connection when it opens and forgets it when it closes. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
/* The headers of the connection's current request are in: its request deadline applies, and
 * its body's grace starts. */
void http_guard_headers_in(struct http_guard *g, struct MHD_Connection *conn);
/* n more bytes of the current request's body arrived. Takes no lock (each request's path
 * calls it); call it from the connection's own thread, as the next one too. */
void http_guard_body_bytes(struct http_guard *g, struct MHD_Connection *conn, size_t n);
/* The current request's body is complete: its rate no longer counts (a request waiting for
 * its commit, or a slow reader of the answer, is bounded by the request deadline alone). */
void http_guard_body_done(struct http_guard *g, struct MHD_Connection *conn);
/* The connection's request finished: the next one's header deadline starts now. */
void http_guard_request_done(struct http_guard *g, struct MHD_Connection *conn);

#endif
