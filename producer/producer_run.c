/* This file runs the producer process: it checks the configuration, starts the writer, the
 * spool replay and the HTTP server, waits for SIGTERM or SIGINT, and then drains: it stops
 * accepting connections, lets the requests already received finish (a second signal cuts
 * that short), and stops the parts in the order that leaves no request unanswered. It also
 * lends MariaDB and Redis connections to the HTTP threads that serve the JSON API, /health and
 * the dashboard: a struct db is not thread-safe, so a connection belongs to one request at a
 * time; the pool grows to the number of such requests served at once (at most the HTTP
 * thread count, since they block their thread) and keeps them open. */
#include "dash.h"
#include "health_state.h"
#include "http_client_addr.h"
#include "http_server.h"
#include "http_tls.h"
#include "log.h"
#include "migrate.h"
#include "producer.h"
#include "producer_writer.h"
#include "spool.h"
#include "spool_replay.h"
#include "util.h"
#include "webhook_log.h"
#include "webhook_route.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct producer_conn *
producer_pool_get(struct producer *p)
{
    pthread_mutex_lock(&p->pool_mu);
    struct producer_conn *c = p->pool;
    if (c)
        p->pool = c->next;
    pthread_mutex_unlock(&p->pool_mu);
    if (c == NULL) {
        /* Both connect lazily on first use, so an outage costs the request, not the pool. */
        c = xcalloc(1, sizeof(*c));
        c->db = db_new(&p->cfg->mysql);
        c->rq = rq_new(&p->cfg->redis);
    }
    c->next = NULL;
    /* Pooled between requests: one the server closed meanwhile reconnects on its next use. */
    db_check_idle(c->db, DB_IDLE_CHECK_MS);
    return c;
}

struct db *
producer_conn_tickets(struct producer *p, struct producer_conn *c)
{
    struct cfg_mysql m;
    if (c->tickets == NULL && cfg_db_section(p->cfg, "tickets", &m) == 0)
        c->tickets = db_new(&m);
    if (c->tickets)
        db_check_idle(c->tickets, DB_IDLE_CHECK_MS);
    return c->tickets;
}

void
producer_pool_put(struct producer *p, struct producer_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&p->pool_mu);
    c->next = p->pool;
    p->pool = c;
    pthread_mutex_unlock(&p->pool_mu);
}

void
producer_pool_free(struct producer *p)
{
    pthread_mutex_lock(&p->pool_mu);
    struct producer_conn *c = p->pool;
    p->pool = NULL;
    pthread_mutex_unlock(&p->pool_mu);
    while (c) {
        struct producer_conn *next = c->next;
        db_free(c->db);
        db_free(c->tickets);
        rq_free(c->rq);
        free(c);
        c = next;
    }
}

#define WEBHOOK_LOG_QUEUE 20000
/* /health is at most this old; a probe unanswered this long reads as down. */
#define HEALTH_INTERVAL_MS 1000
#define HEALTH_STALE_MS 1500

int
producer_check_config(const struct cfg *c, char *err, size_t errlen)
{
    struct webhook_source *s = NULL;
    int n = 0;
    if (webhook_sources_load(c, &s, &n, err, errlen) < 0)
        return -1;
    webhook_sources_free(s, n);
    if (http_check_listen(c->producer.listen, err, errlen) < 0)
        return -1;
    const struct cfg_producer *pc = &c->producer;
    if (pc->api_token[0] && strlen(pc->api_token) < CFG_SECRET_MIN_LEN) {
        snprintf(err, errlen, "[producer] api_token: at least %d characters required, got %zu",
                 CFG_SECRET_MIN_LEN, strlen(pc->api_token));
        return -1;
    }
    if ((int64_t)pc->request_timeout_s * 1000 < (int64_t)pc->db_timeout_ms + 1000) {
        snprintf(err, errlen,
                 "[producer] request_timeout_s = %d must leave a webhook its db_timeout_ms "
                 "(%d) and a second to spool",
                 pc->request_timeout_s, pc->db_timeout_ms);
        return -1;
    }
    if (pc->header_timeout_s > pc->request_timeout_s) {
        snprintf(err, errlen, "[producer] header_timeout_s = %d is past request_timeout_s = %d",
                 pc->header_timeout_s, pc->request_timeout_s);
        return -1;
    }
    if (dash_check_config(c, err, errlen) < 0)
        return -1;
    struct http_proxies proxies;
    if (http_proxies_parse(pc->trusted_proxies, &proxies, err, errlen) < 0)
        return -1;
    if (c->producer.spool_dir == NULL || c->producer.spool_dir[0] != '/') {
        snprintf(err, errlen, "[producer] spool_dir: expected an absolute path, got \"%s\"",
                 c->producer.spool_dir ? c->producer.spool_dir : "");
        return -1;
    }
    /* The TLS files are read again when the server starts; reading them here too makes a bad
     * path fail --check-config, and fail a start before any thread or connection is made. */
    struct http_tls tls;
    if (http_tls_load(pc, &tls, err, errlen) < 0)
        return -1;
    http_tls_release(&tls);
    return 0;
}

/* A body byte can take six once escaped into the parameters (a control character becomes
 * \u00XX), and so can the headers that fit a connection's memory. */
#define PRODUCER_ESCAPE_FACTOR 6
#define PRODUCER_HEADER_BYTES (16 * 1024)

/* Refuses a max_body_bytes whose worst-case row cannot fit MariaDB's max_allowed_packet, so
 * that such a webhook is not a 413 in production while every test passes. When MariaDB cannot
 * be asked now, the writer checks each row instead. */
static int
producer_check_packet(const struct cfg *c, char *err, size_t errlen)
{
    struct cfg_mysql m = c->mysql;
    m.connect_timeout_s = m.read_timeout_s = 2; /* a start must not hang on a hung server */
    struct db *db = db_new(&m);
    long long packet = db_connect(db) == 0 ? producer_writer_max_packet(db) : -1;
    db_free(db);
    if (packet <= 0) {
        log_warnx("cannot read MariaDB's max_allowed_packet now; rows are checked one by one");
        return 0;
    }
    long long worst =
        (long long)PRODUCER_ESCAPE_FACTOR * (c->producer.max_body_bytes + PRODUCER_HEADER_BYTES);
    if (worst > packet - 64 * 1024) {
        snprintf(err, errlen,
                 "[producer] max_body_bytes = %lld can make a row of %lld bytes once escaped; "
                 "MariaDB's max_allowed_packet is %lld (lower max_body_bytes to %lld or raise "
                 "max_allowed_packet)",
                 (long long)c->producer.max_body_bytes, worst, packet,
                 (packet - 64 * 1024) / PRODUCER_ESCAPE_FACTOR - PRODUCER_HEADER_BYTES);
        return -1;
    }
    return 0;
}

/* Waits up to ms for SIGTERM or SIGINT (blocked in every thread, so only this wait sees
 * them). Returns the signal, or 0 on timeout. */
static int
producer_wait_signal(const sigset_t *set, int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    int sig = sigtimedwait(set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

static void
producer_drain(struct producer *p, const sigset_t *set)
{
    atomic_store(&p->draining, true);
    http_server_quiesce(p);
    /* A webhook is answered within db_timeout_ms (then it spools); API calls get some slack. */
    int64_t limit = p->cfg->producer.db_timeout_ms + 10000;
    int64_t deadline = now_mono_ms() + limit;
    bool forced = false;
    while (atomic_load(&p->active) > 0) {
        if (now_mono_ms() > deadline) {
            log_warnx("drain: %d requests still open after %lld ms; closing them",
                      atomic_load(&p->active), (long long)limit);
            forced = true;
            break;
        }
        if (producer_wait_signal(set, 20) > 0) {
            log_warnx("second signal: closing %d open requests now", atomic_load(&p->active));
            forced = true;
            break;
        }
    }
    if (forced) {
        /* Requests waiting for a commit get their answer now (they spool), since a suspended
         * connection must not outlive the server; and the server waits (a little) for those
         * answers to be sent: one resumed but not yet answered got an empty reply. */
        producer_writer_abort(p->writer);
        int64_t until = now_mono_ms() + 5000;
        while ((atomic_load(&p->suspended) > 0 || atomic_load(&p->active) > 0) &&
               now_mono_ms() < until)
            sleep_ms(5);
    }
    http_server_stop(p);
}

static void
producer_free(struct producer *p)
{
    health_state_stop(p->health);
    spool_replay_stop(p->replay);
    dash_stop(p->dash);
    producer_writer_stop(p->writer);
    producer_pool_free(p);
    webhook_log_stop(p->wlog);
    spool_close(p->spool);
    webhook_sources_free(p->sources, p->n_sources);
    free(p->proxies);
    pthread_mutex_destroy(&p->pool_mu);
    free(p);
}

int
producer_run(struct cfg *c, char *err, size_t errlen)
{
    if (producer_check_config(c, err, errlen) < 0)
        return -1;
    if (migrate_check_schema(&c->mysql, err, errlen) < 0 ||
        producer_check_packet(c, err, errlen) < 0)
        return -1;
    struct producer *p = xcalloc(1, sizeof(*p));
    p->cfg = c;
    pthread_mutex_init(&p->pool_mu, NULL);
    p->proxies = xcalloc(1, sizeof(*p->proxies));
    if (http_proxies_parse(c->producer.trusted_proxies, p->proxies, err, errlen) < 0 ||
        webhook_sources_load(c, &p->sources, &p->n_sources, err, errlen) < 0) {
        producer_free(p);
        return -1;
    }
    p->spool = spool_open(c->producer.spool_dir, c->producer.spool_max_bytes, err, errlen);
    if (p->spool == NULL) {
        producer_free(p);
        return -1;
    }
    /* Signals are taken by sigtimedwait in this thread only: block them before any thread
     * starts, so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    p->wlog = webhook_log_start(&c->mysql, WEBHOOK_LOG_QUEUE);
    p->health = health_state_start(c, HEALTH_INTERVAL_MS, HEALTH_STALE_MS);
    p->writer = producer_writer_start(p);
    p->replay = spool_replay_start(p);
    p->dash = dash_start(p, err, errlen);
    if (p->dash == NULL) {
        producer_free(p);
        return -1;
    }
    if (http_server_start(p, err, errlen) < 0) {
        producer_free(p);
        return -1;
    }
    log_info("listening on %s (%d threads, %d webhook sources, spool %s)", c->producer.listen,
             c->producer.threads, p->n_sources, c->producer.spool_dir);
    int sig;
    while ((sig = producer_wait_signal(&set, 1000)) == 0)
        ;
    log_info("%s: no new connections; finishing %d open requests",
             sig == SIGTERM ? "SIGTERM" : "SIGINT", atomic_load(&p->active));
    producer_drain(p, &set);
    producer_free(p);
    log_info("stopped");
    return 0;
}
