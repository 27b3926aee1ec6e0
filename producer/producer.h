/* The producer process (producer_run.c): its shared state, which every part of the HTTP front
 * door reaches through the request, the counters they bump, and the per-thread connection
 * pool of the API and pages. Each part's interface has a header of its own: http_server.h,
 * webhook_route.h, webhook_auth.h, webhook_handle.h, producer_writer.h, webhook_log.h,
 * spool.h, spool_replay.h, api.h, producer_pages.h. */
#ifndef JOBFLEET_PRODUCER_H
#define JOBFLEET_PRODUCER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "cfg.h"
#include "db.h"
#include "rq.h"

struct MHD_Daemon;
struct dash;
struct producer;
struct health_state;
struct http_guard;
struct http_prefix_limit;
struct producer_writer;
struct spool;
struct spool_replay;
struct webhook_log;
struct webhook_source;

/* The counters of /metrics (rendered by producer_pages.c), bumped by every part. */
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
    /* Connections cut by the guard are counted by the guard (http_guard_cuts). */
};

/* ---- Connections for the API and pages ---- */

struct producer_conn {
    struct db *db;
    struct rq *rq;
    struct db *tickets; /* [db.tickets], made on first use by producer_conn_tickets */
    struct producer_conn *next;
};

/* Takes a connection pair (opening one lazily); connections are per thread of use, never
 * shared. */
struct producer_conn *producer_pool_get(struct producer *p);
/* The connection's handle on the ticket store ([db.tickets]), made on first use (it connects
 * at its first statement); NULL when the store is not configured. */
struct db *producer_conn_tickets(struct producer *p, struct producer_conn *c);
/* Returns it to the pool; accepts NULL. */
void producer_pool_put(struct producer *p, struct producer_conn *c);
/* Closes and frees every pooled connection; none may be lent out. */
void producer_pool_free(struct producer *p);

/* ---- The process ---- */

struct producer {
    struct cfg *cfg;
    struct webhook_source *sources;
    int n_sources;
    struct producer_writer *writer;
    struct spool *spool;
    struct spool_replay *replay;
    struct webhook_log *wlog;
    struct producer_metrics metrics;
    struct dash *dash; /* the dashboard (dash.h) */
    struct MHD_Daemon *mhd;
    struct http_guard *guard; /* connection deadlines, with the server */
    /* connections per IPv6 prefix, with the server (http_prefix_limit.h) */
    struct http_prefix_limit *prefix_limit;
    struct health_state *health;  /* MariaDB and Redis as a background probe sees them */
    struct http_proxies *proxies; /* [producer] trusted_proxies (http_client_addr.h) */
    atomic_int active;            /* requests received and not yet finished */
    atomic_int suspended;         /* requests waiting for the writer */
    atomic_bool draining;         /* replies carry "Connection: close" */
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
