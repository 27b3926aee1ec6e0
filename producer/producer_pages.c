/* This file serves the producer's plain GET page /metrics (the Prometheus text exposition,
 * version 0.0.4); /health is health_page.c's, and every other path goes to the dashboard
 * (dash_pages.c).
 *
 * Metrics are process-lifetime atomics bumped where things happen, gauges read when scraped,
 * and the registry's labelled series (metrics.h). How to add a metric: one without labels is
 * an atomic in struct producer_metrics, bumped where the event happens and printed in
 * producer_metrics_render with its HELP and TYPE lines; one with labels is a metric_def given
 * to metrics_add where the event happens, rendered by metrics_render. */
#include "dash.h"
#include "http_guard.h"
#include "http_prefix_limit.h"
#include "http_server.h"
#include "json.h"
#include "metrics.h"
#include "producer.h"
#include "producer_pages.h"
#include "producer_writer.h"
#include "spool.h"
#include "util.h"
#include "webhook_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
metric_head(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
metric_one(struct buf *b, const char *name, const char *type, const char *help, long v)
{
    metric_head(b, name, type, help);
    buf_printf(b, "%s %ld\n", name, v);
}

static const char *const metrics_live_states[] = {"pending", "queued", "running"};

/* The index of state in metrics_live_states, or -1. */
static int
metrics_live_state(const char *state)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(state, metrics_live_states[i]) == 0)
            return i;
    return -1;
}

/* One per-queue sample: name{queue="...",state="..."} v (no state when state is NULL), the
 * queue escaped: a row written by hand may hold a quote or a newline, which would break the
 * whole scrape. */
static void
metrics_queue_sample(struct buf *b, const char *name, const char *queue, const char *state,
                     const char *value)
{
    buf_printf(b, "%s{", name);
    metrics_label(b, "queue", queue, false);
    if (state)
        metrics_label(b, "state", state, true);
    buf_printf(b, "} %s\n", value);
}

/* The per-queue gauges: the first METRICS_MAX_SERIES queues of the cache by name, and the rest
 * under queue="(other)" (states summed, the oldest age the largest). Queue names come from the
 * clients that enqueue: 100,000 of them made a 12 MB scrape of 200,000 series. */
static void
metrics_fleet_queues(struct buf *b, const cJSON *s)
{
    double other[3] = {0}, other_age = -1;
    const cJSON *q, *st;
    int k = 0;
    metric_head(b, "jobfleet_queue_jobs", "gauge",
                "Live jobs (pending, queued, running) by queue and state.");
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "queues"))
    {
        bool own = k++ < METRICS_MAX_SERIES;
        cJSON_ArrayForEach(st, q)
        {
            int i = metrics_live_state(st->string);
            char v[32];
            snprintf(v, sizeof(v), "%.0f", st->valuedouble);
            if (i >= 0 && own)
                metrics_queue_sample(b, "jobfleet_queue_jobs", q->string, metrics_live_states[i],
                                     v);
            else if (i >= 0)
                other[i] += st->valuedouble;
        }
    }
    for (int i = 0; k > METRICS_MAX_SERIES && i < 3; i++)
        buf_printf(b, "jobfleet_queue_jobs{queue=\"(other)\",state=\"%s\"} %.0f\n",
                   metrics_live_states[i], other[i]);
    metric_head(b, "jobfleet_queue_oldest_queued_age_seconds", "gauge",
                "Age of the oldest queued job per queue.");
    k = 0;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "queued"))
    {
        double age =
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(q, "oldest_age_ms")) / 1000.0;
        char v[32];
        snprintf(v, sizeof(v), "%.3f", age);
        if (k++ < METRICS_MAX_SERIES)
            metrics_queue_sample(b, "jobfleet_queue_oldest_queued_age_seconds", q->string, NULL, v);
        else if (age > other_age)
            other_age = age;
    }
    if (other_age >= 0)
        buf_printf(b, "jobfleet_queue_oldest_queued_age_seconds{queue=\"(other)\"} %.3f\n",
                   other_age);
}

/* The fleet's gauges from the dashboard's cache: read by the background thread, so a scrape
 * costs no query. */
static void
metrics_fleet(struct buf *b, struct producer *p)
{
    cJSON *s = dash_snapshot(p->dash);
    const cJSON *st;
    metric_head(b, "jobfleet_jobs", "gauge", "Jobs in the jobs table by state.");
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(s, "states"))
        buf_printf(b, "jobfleet_jobs{state=\"%s\"} %.0f\n", st->string, st->valuedouble);
    metrics_fleet_queues(b, s);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(s, "workers");
    const cJSON *sl = cJSON_GetObjectItemCaseSensitive(s, "slots");
    if (cJSON_IsNumber(w) && cJSON_IsNumber(sl)) {
        metric_one(b, "jobfleet_workers", "gauge", "Worker instances running or draining.",
                   (long)w->valuedouble);
        metric_one(b, "jobfleet_worker_slots", "gauge", "Slots of those instances.",
                   (long)sl->valuedouble);
    }
    const cJSON *leader = cJSON_GetObjectItemCaseSensitive(s, "leader");
    if (leader)
        metric_one(b, "jobfleet_scheduler_leader_present", "gauge",
                   "1 while a scheduler holds the leader lock.", cJSON_IsObject(leader) ? 1 : 0);
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(s, "refreshed_ms");
    metric_head(b, "jobfleet_producer_cache_age_seconds", "gauge",
                "Age of the dashboard cache these gauges come from.");
    buf_printf(b, "jobfleet_producer_cache_age_seconds %.3f\n",
               cJSON_IsNumber(at) ? ((double)now_wall_ms() - at->valuedouble) / 1000.0 : -1.0);
    cJSON_Delete(s);
}

/* The guard's cuts by reason, each series always present so that a rate() of a reason that
 * has not happened yet is 0 rather than missing. */
static void
metrics_cuts(struct buf *b, struct http_guard *g)
{
    static const char *const reasons[HTTP_GUARD_CUT_N] = {
        [HTTP_GUARD_CUT_HEADER] = "header",
        [HTTP_GUARD_CUT_REQUEST] = "request",
        [HTTP_GUARD_CUT_SLOW_BODY] = "slow_body",
    };
    metric_head(b, "jobfleet_producer_connections_cut_total", "counter",
                "Connections cut by reason: header (headers past header_timeout_s), request "
                "(past request_timeout_s), slow_body (body below body_min_bytes_per_s after "
                "body_grace_s).");
    for (int why = 0; why < HTTP_GUARD_CUT_N; why++)
        buf_printf(b, "jobfleet_producer_connections_cut_total{reason=\"%s\"} %ld\n", reasons[why],
                   http_guard_cuts(g, (enum http_guard_cut)why));
}

/* Connections refused when accepted, by reason. */
static void
metrics_refused(struct buf *b, struct http_prefix_limit *l)
{
    metric_head(b, "jobfleet_producer_connections_refused_total", "counter",
                "Connections refused when accepted, by reason: per_ip (their address held "
                "max_connections_per_ip connections), ipv6_prefix (their IPv6 prefix, "
                "ipv6_prefix_len bits, did).");
    buf_printf(b, "jobfleet_producer_connections_refused_total{reason=\"per_ip\"} %ld\n",
               http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS));
    buf_printf(b, "jobfleet_producer_connections_refused_total{reason=\"ipv6_prefix\"} %ld\n",
               http_prefix_limit_refused(l, HTTP_REFUSED_PREFIX));
}

char *
producer_metrics_render(struct producer *p)
{
    struct producer_metrics *m = &p->metrics;
    struct buf b;
    buf_init(&b, 0);
    metric_head(&b, "jobfleet_producer_requests_total", "counter",
                "HTTP requests answered, by status code.");
    for (int code = 100; code < 600; code++) {
        long v = atomic_load(&m->by_status[code]);
        if (v)
            buf_printf(&b, "jobfleet_producer_requests_total{code=\"%d\"} %ld\n", code, v);
    }
    metric_head(&b, "jobfleet_producer_webhooks_total", "counter",
                "Webhooks by outcome: stored (new job), existing (repeat delivery), spooled "
                "(kept on disk for MariaDB), refused (503).");
    buf_printf(&b,
               "jobfleet_producer_webhooks_total{outcome=\"stored\"} %ld\n"
               "jobfleet_producer_webhooks_total{outcome=\"existing\"} %ld\n"
               "jobfleet_producer_webhooks_total{outcome=\"spooled\"} %ld\n"
               "jobfleet_producer_webhooks_total{outcome=\"refused\"} %ld\n",
               (long)atomic_load(&m->webhooks_stored), (long)atomic_load(&m->webhooks_existing),
               (long)atomic_load(&m->webhooks_spooled), (long)atomic_load(&m->webhooks_refused));
    metric_one(&b, "jobfleet_producer_spooled_total", "counter",
               "Webhooks written to the spool since start.",
               (long)atomic_load(&m->webhooks_spooled));
    metric_one(&b, "jobfleet_producer_spool_replayed_total", "counter",
               "Spooled webhooks replayed into MariaDB since start.",
               (long)atomic_load(&m->spool_replayed));
    metric_one(&b, "jobfleet_producer_spool_files", "gauge", "Webhooks waiting in the spool.",
               (long)spool_files(p->spool));
    metric_one(&b, "jobfleet_producer_spool_bytes", "gauge",
               "Space the waiting webhooks take (each file in 4 KiB blocks, as the quota counts).",
               (long)spool_bytes(p->spool));
    int64_t failed_files, failed_bytes;
    spool_failed(p->spool, &failed_files, &failed_bytes);
    metric_one(&b, "jobfleet_producer_spool_failed_files", "gauge",
               "Spooled webhooks in failed/, never to be replayed: they take quota until an "
               "operator runs `jobfleet spool retry` or `drop`.",
               (long)failed_files);
    metric_one(&b, "jobfleet_producer_spool_failed_bytes", "gauge",
               "Space the entries in failed/ take from the quota.", (long)failed_bytes);
    metric_one(&b, "jobfleet_producer_spool_max_bytes", "gauge",
               "The spool quota ([producer] spool_max_bytes).",
               (long)p->cfg->producer.spool_max_bytes);
    metric_one(&b, "jobfleet_producer_commits_total", "counter",
               "Group-commit transactions (webhooks and single API jobs).",
               (long)atomic_load(&m->commits));
    metric_one(&b, "jobfleet_producer_committed_jobs_total", "counter",
               "Jobs written by those transactions.", (long)atomic_load(&m->committed_jobs));
    metric_one(&b, "jobfleet_producer_db_timeouts_total", "counter",
               "Writes given up after db_timeout_ms (a webhook spooled, an API job 503).",
               (long)atomic_load(&m->db_timeouts));
    metric_one(&b, "jobfleet_producer_redis_push_failures_total", "counter",
               "Failed pushes of job IDs to Redis (kept and pushed later).",
               (long)atomic_load(&m->push_failures));
    metric_one(&b, "jobfleet_producer_webhook_log_dropped_total", "counter",
               "webhook_log rows that could not be written.", webhook_log_dropped(p->wlog));
    metric_one(&b, "jobfleet_producer_webhook_log_left_out_total", "counter",
               "webhook_log rows of refused requests (no job made) left out: at most 10 per 10 s "
               "are written.",
               webhook_log_left_out(p->wlog));
    metric_one(&b, "jobfleet_producer_mariadb_up", "gauge",
               "1 while the writer reaches MariaDB and it takes writes.",
               producer_writer_db_up(p->writer) && !producer_writer_refusing(p->writer) ? 1 : 0);
    metric_one(&b, "jobfleet_producer_open_requests", "gauge", "Requests being served.",
               (long)atomic_load(&p->active));
    metric_one(&b, "jobfleet_producer_writer_waiting_requests", "gauge",
               "Requests waiting for the writer to commit their job.",
               (long)atomic_load(&p->suspended));
    metrics_cuts(&b, p->guard);
    metrics_refused(&b, p->prefix_limit);
    metrics_fleet(&b, p);
    /* The labelled counters kept in the registry (metrics.h): webhooks by source and status,
     * jobs enqueued by queue and action. */
    metrics_render(&b);
    return buf_detach(&b);
}

void
producer_pages_handle(struct http_req *r)
{
    if (strcmp(r->url, "/metrics") != 0) {
        dash_handle(r);
        return;
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        http_reply_with(r, 405, NULL, "{\"error\":\"use GET\",\"field\":null}", "Allow", "GET");
        return;
    }
    char *m = producer_metrics_render(r->p);
    http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", m, NULL);
    free(m);
}
