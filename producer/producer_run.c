/* This file runs the producer process: it checks the configuration, starts the writer, the
 * spool replay and the HTTP server, waits for SIGTERM or SIGINT, and then drains: it stops
 * accepting connections, lets the requests already received finish (a second signal cuts
 * that short), and stops the parts in the order that leaves no request unanswered. It also
 * lends MariaDB and Redis connections to the HTTP threads that serve the JSON API, /health and
 * the dashboard: a struct db is not thread-safe, so a connection belongs to one request at a
 * time; the pool grows to the number of such requests served at once (at most the HTTP
 * thread count, since they block their thread) and keeps them open. */
#include "dash.h"
#include "http_server.h"
#include "log.h"
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
    return c;
}

struct db *
producer_conn_tickets(struct producer *p, struct producer_conn *c)
{
    struct cfg_mysql m;
    if (c->tickets == NULL && cfg_db_section(p->cfg, "tickets", &m) == 0)
        c->tickets = db_new(&m);
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
    if (dash_check_config(c, err, errlen) < 0)
        return -1;
    if (c->producer.spool_dir == NULL || c->producer.spool_dir[0] != '/') {
        snprintf(err, errlen, "[producer] spool_dir: expected an absolute path, got \"%s\"",
                 c->producer.spool_dir ? c->producer.spool_dir : "");
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
         * connection must not outlive the server. */
        producer_writer_abort(p->writer);
        int64_t until = now_mono_ms() + 5000;
        while (atomic_load(&p->suspended) > 0 && now_mono_ms() < until)
            sleep_ms(5);
    }
    http_server_stop(p);
}

static void
producer_free(struct producer *p)
{
    spool_replay_stop(p->replay);
    dash_stop(p->dash);
    producer_writer_stop(p->writer);
    producer_pool_free(p);
    webhook_log_stop(p->wlog);
    spool_close(p->spool);
    webhook_sources_free(p->sources, p->n_sources);
    pthread_mutex_destroy(&p->pool_mu);
    free(p);
}

int
producer_run(struct cfg *c, char *err, size_t errlen)
{
    if (producer_check_config(c, err, errlen) < 0)
        return -1;
    struct producer *p = xcalloc(1, sizeof(*p));
    p->cfg = c;
    pthread_mutex_init(&p->pool_mu, NULL);
    if (webhook_sources_load(c, &p->sources, &p->n_sources, err, errlen) < 0) {
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
