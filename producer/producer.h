/* The HTTP front door's shared state and the interfaces between its parts: the HTTP layer
 * (http_server.c), the webhook path (webhook_*.c), the group-commit writer
 * (producer_writer.c), the spool (spool*.c), the JSON API (api_jobs.c), the pages and the
 * metrics. Each part's contract is written beside its prototypes. */
#ifndef JOBFLEET_PRODUCER_H
#define JOBFLEET_PRODUCER_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "db.h"
#include "job.h"
#include "rq.h"
#include "spool.h"
#include "util.h"

struct producer;
struct producer_writer;
struct spool_replay;
struct webhook_log;

/* ---- HTTP requests (http_server.c) ---- */

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
    int route;      /* enum http_route, private to http_server.c */
    bool too_large; /* the body passed max_body_bytes */
    bool replied;   /* a response was queued */
    bool suspended; /* waiting for the writer */
    bool started;   /* the access handler has seen the request */
    void *webhook;  /* the webhook path's state, owned by webhook_handle.c */
    void *api;      /* the JSON API's state across a suspension, owned by api_jobs.c */
};

/* Queues a response. body (may be NULL) is copied; content_type NULL means JSON. A 405 gets
 * "Allow: allow". The status is counted in the metrics. Returns 0, or -1 when libmicrohttpd
 * refused the response (the connection is then closed). */
int http_reply(struct http_req *r, int status, const char *content_type, const char *body,
               const char *allow);
/* The same with one extra response header (hname NULL for none). */
int http_reply_with(struct http_req *r, int status, const char *content_type, const char *body,
                    const char *hname, const char *hvalue);
/* Parses the whole body as one JSON document; NULL with the byte offset of the problem in
 * *err_at when it is not one. The caller owns the result. */
cJSON *http_body_json(const struct http_req *r, long *err_at);
/* The value of a query-string argument, or NULL; valid during the request. */
const char *http_query(struct http_req *r, const char *name);
/* Queues a JSON error {"error": message, "field": field or null}. */
int http_reply_error(struct http_req *r, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
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

/* ---- Webhook sources and routing (webhook_route.c, webhook_auth.c) ---- */

enum webhook_auth_kind {
    WEBHOOK_AUTH_NONE,
    WEBHOOK_AUTH_HMAC,
    WEBHOOK_AUTH_TOKEN,
    WEBHOOK_AUTH_BASIC
};

#define WEBHOOK_MAX_SEGMENTS 6
#define WEBHOOK_MAX_IDEM_FIELDS 8

/* One [webhook.<source>] section, checked. Strings are owned. */
struct webhook_source {
    char *name;   /* the <source> label */
    char *prefix; /* path_prefix, e.g. "clickup" or "desk/tickets" */
    int n_prefix; /* segments in prefix */
    enum webhook_auth_kind auth;
    char *secret;           /* hmac-sha256 key */
    char *signature_header; /* lower-case */
    char *timestamp_header; /* lower-case, NULL when none */
    int tolerance_s;
    char *token_header; /* lower-case */
    char *token;
    char *username;
    char *password;
    int n_idem;
    char *idem_fields[WEBHOOK_MAX_IDEM_FIELDS]; /* JSON pointers */
};

/* Reads every [webhook.<source>] section. On a missing or bad key writes one line naming the
 * section and key to err and returns -1 (nothing to free then). */
int webhook_sources_load(const struct cfg *c, struct webhook_source **out, int *n, char *err,
                         size_t errlen);
void webhook_sources_free(struct webhook_source *s, int n);

/* Maps the part of a path after "/webhook/" to its action: 1-6 segments of [a-z0-9-] (no
 * leading, trailing or doubled hyphen), each kebab->Pascal, joined by "/", then "/Webhook"
 * appended ("clickup/task-update" -> "Clickup/TaskUpdate/Webhook"). Returns the number of
 * segments, or -1 when the path is malformed, with the reason in err. */
int webhook_route_action(const char *rest, char *action_out, size_t len, char *err, size_t errlen);

/* The source whose path_prefix covers the path (the longest one), or NULL. */
const struct webhook_source *webhook_route_source(const struct webhook_source *s, int n,
                                                  const char *rest);

/* Authenticates a delivery. now_s is the wall clock in seconds. Returns 0, or -1 with the
 * reason (for the log, never for the sender) in reason. */
int webhook_auth_check(const struct webhook_source *src, const struct http_headers *h,
                       const char *body, size_t len, int64_t now_s, char *reason, size_t reasonlen);

/* ---- The webhook path (webhook_handle.c) ---- */

/* Checks method, path, source, action and declared length once the headers are in; replies
 * (and returns 1) when the request is refused, else returns 0 and keeps the routing in r. */
int webhook_begin(struct http_req *r);
/* Runs once the whole body is in, and again after each wake: authenticates, stores or
 * spools, and replies. */
void webhook_handle(struct http_req *r);
/* Frees the webhook state of a finished request (its writer item is released, not freed,
 * while the writer still holds it). Accepts a request without webhook state. */
void webhook_end(struct http_req *r);

/* ---- Group commit (producer_writer.c) ---- */

/* PW_FAILED: nothing was stored. PW_UNKNOWN: the connection was lost during the statement or
 * commit that stores the job, so it may be stored (a repeat under the same idempotency key is
 * safe, a repeat without one may make a second job). PW_TIMEOUT: the writer did not answer in
 * time; the insert may still commit. */
enum producer_write_state { PW_PENDING, PW_DONE, PW_FAILED, PW_TIMEOUT, PW_UNKNOWN };

/* The strings of a spec an item keeps copies of. */
#define PRODUCER_WRITE_STRINGS 7

/* One job waiting to be inserted by the writer. Created by the request, shared with the writer
 * through a reference count; state moves from PW_PENDING exactly once, under the writer's
 * lock, and wake is called once after that. */
struct producer_write {
    struct job_spec spec; /* checked; strings owned by the item */
    char *own[PRODUCER_WRITE_STRINGS];
    int64_t deadline_ms;
    void (*wake)(void *arg);
    void *wake_arg;
    /* Results, valid once state is no longer PW_PENDING. */
    int state;
    struct job_ref ref;
    char err[256];
    /* Links, under the writer's mutex. */
    struct producer_write *q_next;
    struct producer_write *o_prev, *o_next;
    bool in_queue, in_outstanding;
    atomic_int refs;
};

/* Makes an item from a checked spec (its strings are copied; origin, unique key and
 * idempotency key are kept as given). The caller holds one reference. */
struct producer_write *producer_write_new(const struct job_spec *checked);
/* Drops a reference; the last one frees the item. Accepts NULL. */
void producer_write_release(struct producer_write *w);
/* The item's state, read under the writer's lock. */
int producer_write_state(struct producer_writer *wr, struct producer_write *w);

/* Starts the writer threads and the deadline watchdog. */
struct producer_writer *producer_writer_start(struct producer *p);
/* Answers every item not yet answered with PW_FAILED (their requests spool them) and refuses
 * new ones: for a shutdown that cannot wait. */
void producer_writer_abort(struct producer_writer *wr);
/* Finishes what is queued, stops the threads and frees the writer. Accepts NULL. */
void producer_writer_stop(struct producer_writer *wr);
/* Hands an item to the writer, which calls w->wake once it is committed (PW_DONE), failed
 * (PW_FAILED), of unknown outcome (PW_UNKNOWN) or past its deadline (PW_TIMEOUT), whichever
 * comes first. Takes its own
 * reference. Returns -1 (nothing queued, no wake) while MariaDB is known to be down. */
int producer_writer_submit(struct producer_writer *wr, struct producer_write *w);
/* Pushes the IDs of the new queued jobs among refs to Redis on rq (after their commit); those
 * Redis does not take are kept and pushed again when it is back. */
void producer_writer_push(struct producer_writer *wr, struct rq *rq, const struct job_ref *refs,
                          int n);
/* True while MariaDB answered the last attempt. */
bool producer_writer_db_up(const struct producer_writer *wr);

/* ---- Webhook log (webhook_log.c) ---- */

/* A queue of at most max_rows rows, and the thread that writes them on its own connection. */
struct webhook_log *webhook_log_start(const struct cfg_mysql *mysql, int max_rows);
/* Writes what is still queued (when MariaDB takes it), stops the thread and frees the queue,
 * logging rows left unwritten; accepts NULL. */
void webhook_log_stop(struct webhook_log *l);
/* Queues a row; when the queue is full the row is dropped and counted. */
void webhook_log_add(struct webhook_log *l, const char *source, const char *path,
                     const char *action, int status, int64_t job_id, const char *reason);
/* Rows waiting, and rows dropped since the start. */
int webhook_log_pending(struct webhook_log *l);
long webhook_log_dropped(struct webhook_log *l);

/* ---- Spool (spool.c, spool_replay.c) ---- */

/* The spool itself is declared in spool.h. */

/* Starts the thread that replays the spool into MariaDB whenever it is reachable. */
struct spool_replay *spool_replay_start(struct producer *p);
/* Asks it to look now (after a write). */
void spool_replay_kick(struct spool_replay *r);
/* Stops the thread after the transaction it is in, and frees it; accepts NULL. What is left in
 * the spool waits for the next start. */
void spool_replay_stop(struct spool_replay *r);

/* ---- Connections for the API and pages (producer_run.c) ---- */

struct producer_conn {
    struct db *db;
    struct rq *rq;
    struct producer_conn *next;
};

/* Takes a connection pair (opening one lazily); connections are per thread of use, never
 * shared. */
struct producer_conn *producer_pool_get(struct producer *p);
/* Returns it to the pool; accepts NULL. */
void producer_pool_put(struct producer *p, struct producer_conn *c);
/* Closes and frees every pooled connection; none may be lent out. */
void producer_pool_free(struct producer *p);

/* ---- JSON API and pages ---- */

/* Handles /api/... once the body is in (docs/api.md), and again after each wake of a request
 * it suspended (POST /api/jobs waits for the group-commit writer); replies, or suspends. */
void api_handle(struct http_req *r);
/* Checks the bearer token as soon as the headers are in; replies 401 (returning 1) when it is
 * wrong. */
int api_begin(struct http_req *r);
/* Frees the API state of a finished request (its writer item is released); accepts a request
 * without one. */
void api_end(struct http_req *r);
/* Parses the body as JSON; replies 400 naming the problem and returns NULL when it is not.
 * An empty body is {} unless required. The caller owns the result. */
cJSON *api_parse(struct http_req *r, bool required);
/* Replies status with j printed. */
void api_reply_json(struct http_req *r, int status, const cJSON *j);
/* Logs err and replies 503 with Retry-After: MariaDB did not do what was asked. */
void api_db_error(struct http_req *r, const char *err);

/* Handles /api/cron and /api/cron/{name}[/enable|/disable|/next] (api_cron.c); always
 * replies. */
void api_cron_handle(struct http_req *r);
/* GET /, /health and /metrics, and 404/405 for anything else outside /webhook and /api;
 * always replies. */
void producer_pages_handle(struct http_req *r);

/* ---- Metrics (producer_pages.c) ---- */

struct producer_metrics {
    atomic_long by_status[600];
    atomic_long webhooks_stored;
    atomic_long webhooks_existing;
    atomic_long webhooks_spooled;
    atomic_long webhooks_refused;
    atomic_long spool_replayed;
    atomic_long commits;
    atomic_long committed_jobs;
    atomic_long db_timeouts;
    atomic_long push_failures;
};

/* Renders the Prometheus text exposition; the caller frees it. */
char *producer_metrics_render(struct producer *p);

/* ---- The process (producer_run.c) ---- */

struct producer {
    struct cfg *cfg;
    struct webhook_source *sources;
    int n_sources;
    struct producer_writer *writer;
    struct spool *spool;
    struct spool_replay *replay;
    struct webhook_log *wlog;
    struct producer_metrics metrics;
    struct MHD_Daemon *mhd;
    atomic_int active;    /* requests received and not yet finished */
    atomic_int suspended; /* requests waiting for the writer */
    atomic_bool draining; /* replies carry "Connection: close" */
    pthread_mutex_t pool_mu;
    struct producer_conn *pool;
};

/* Checks everything in the config the producer needs (sources, listen address). Returns 0 or
 * -1 with one line in err. */
int producer_check_config(const struct cfg *c, char *err, size_t errlen);
/* Runs the producer until SIGTERM or SIGINT: then stops accepting, finishes in-flight
 * requests and returns 0. Returns -1 with a message in err when startup fails. */
int producer_run(struct cfg *c, char *err, size_t errlen);

#endif
