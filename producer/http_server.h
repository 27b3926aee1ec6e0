/* The producer's HTTP layer (http_server.c) over libmicrohttpd: the request as the handlers
 * see it, replies, suspension until another thread wakes a request, and the server's life. */
#ifndef JOBFLEET_HTTP_SERVER_H
#define JOBFLEET_HTTP_SERVER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct producer;
struct MHD_Connection;

/* Request headers with lower-cased names, in arrival order; repeated names keep every
 * occurrence. */
struct http_headers {
    int n, cap;
    char **names;  /* each one allocation holding the name, its NUL, the value and its NUL */
    char **values; /* point into the names' allocations */
};

/* The value of a header (name lower-case), or NULL. */
const char *http_headers_get(const struct http_headers *h, const char *name);

/* What the HTTP layer knows about a request while it is handled. */
struct http_req {
    struct producer *p;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from libmicrohttpd for the request's lifetime */
    const char *url;    /* the path, percent-decoded by libmicrohttpd */
    char *raw_url;      /* the request target as sent (not decoded, with the query); owned */
    struct http_headers headers;
    struct buf body;
    int64_t t_start_ms;
    int route;        /* enum http_route, private to http_server.c */
    bool too_large;   /* the body passed its route's limit */
    size_t discarded; /* body bytes thrown away after an early reply */
    bool replied;     /* a response was queued */
    bool close;       /* the reply ends the connection */
    bool suspended;   /* waiting for the writer */
    bool started;     /* the access handler has seen the request */
    void *webhook;    /* the webhook path's state, owned by webhook_handle.c */
    void *api;        /* the JSON API's state across a suspension, owned by api_jobs.c */
};

/* Queues a response. body (may be NULL) is copied; content_type NULL means JSON. A 405 gets
 * "Allow: allow". Every reply carries the security headers (CSP, X-Frame-Options,
 * X-Content-Type-Options, Referrer-Policy). The status is counted in the metrics. Returns 0, or -1
 * when libmicrohttpd refused the response (the connection is then closed). */
int http_reply(struct http_req *r, int status, const char *content_type, const char *body,
               const char *allow);
/* The same with one extra response header (hname NULL for none). */
int http_reply_with(struct http_req *r, int status, const char *content_type, const char *body,
                    const char *hname, const char *hvalue);
/* The same with extra response headers: hdrs holds name, value pairs and ends with a NULL
 * name (the dashboard's Set-Cookie, Location and Content-Security-Policy). */
int http_reply_headers(struct http_req *r, int status, const char *content_type, const char *body,
                       const char *const *hdrs);
/* The connection's address as text ("127.0.0.1", "::1") into out; "" when unknown. */
void http_peer(struct http_req *r, char *out, size_t len);
/* The client's address into out: the connection's, or, when that is one of [producer]
 * trusted_proxies, the one their X-Forwarded-For hops name (http_client_addr.h). */
void http_client(struct http_req *r, char *out, size_t len);
/* The host the client asked for into out: the Host header, or, when the connection comes from
 * one of [producer] trusted_proxies and carries X-Forwarded-Host, that header's first entry (a
 * proxy such as nginx's proxy_pass sends its upstream's name as the Host); "" when neither. */
void http_host(struct http_req *r, char *out, size_t len);
/* Parses the whole body as one JSON document; NULL with the byte offset of the problem in
 * *err_at when it is not one (bytes that are not UTF-8 included). The caller owns the result. */
cJSON *http_body_json(const struct http_req *r, long *err_at);
/* The value of a query-string argument, or NULL; valid during the request. */
const char *http_query(struct http_req *r, const char *name);
/* Queues a JSON error {"error": message, "field": field or null}. */
int http_reply_error(struct http_req *r, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queues the one 404 every unknown path, source or action gets: {"error": "not found"}. */
int http_reply_not_found(struct http_req *r);
/* The request's Content-Length, or -1 when it has none (or not a number). */
int64_t http_declared_length(const struct http_req *r);
/* Queues a 405 with "Allow: allow" and a JSON error naming the methods allowed. */
int http_reply_not_allowed(struct http_req *r, const char *allow);
/* Queues a 503 with Retry-After: retry_after_s and a JSON error. */
int http_reply_unavailable(struct http_req *r, int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Suspends the request until http_wake is called (from any thread); the handler is then run
 * again. */
void http_suspend(struct http_req *r);
/* Resumes a suspended request. Safe from any thread while the server runs. */
void http_wake(void *req);

/* Checks that [producer] listen is host:port and resolves. -1 with a message in err. */
int http_check_listen(const char *listen, char *err, size_t errlen);
/* Starts the server on [producer] listen with [producer] threads threads. -1 with a message
 * in err when the address is bad or cannot be bound. */
int http_server_start(struct producer *p, char *err, size_t errlen);
/* Stops accepting new connections; requests already received are still served. */
void http_server_quiesce(struct producer *p);
/* Stops the server; every suspended request must have been woken. */
void http_server_stop(struct producer *p);

#endif
