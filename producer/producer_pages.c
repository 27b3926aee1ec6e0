/* This file serves the producer's plain GET pages (/health is health_page.c's): /metrics (the
 * Prometheus text exposition, version 0.0.4) and / (a small dashboard: job counts by state and the
 * most recent jobs).
 *
 * Metrics are process-lifetime atomics bumped where things happen, and gauges read when
 * scraped. How to add a metric: add the atomic to struct producer_metrics, bump it where the
 * event happens, and print it in producer_metrics_render with its HELP and TYPE lines. */
#include "http_server.h"
#include "json.h"
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
    metric_one(&b, "jobfleet_producer_spool_bytes", "gauge", "Bytes waiting in the spool.",
               (long)spool_bytes(p->spool));
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
    metric_one(&b, "jobfleet_producer_mariadb_up", "gauge", "1 while the writer reaches MariaDB.",
               producer_writer_db_up(p->writer) ? 1 : 0);
    metric_one(&b, "jobfleet_producer_open_requests", "gauge", "Requests being served.",
               (long)atomic_load(&p->active));
    metric_one(&b, "jobfleet_producer_connections_cut_total", "counter",
               "Connections cut past their header or request deadline.",
               (long)atomic_load(&m->connections_cut));
    return buf_detach(&b);
}

#define DASHBOARD_RECENT 25

/* Appends s with the five HTML metacharacters escaped. */
static void
page_escape(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            buf_appends(b, "&lt;");
            break;
        case '>':
            buf_appends(b, "&gt;");
            break;
        case '&':
            buf_appends(b, "&amp;");
            break;
        case '"':
            buf_appends(b, "&quot;");
            break;
        case '\'':
            buf_appends(b, "&#39;");
            break;
        default:
            buf_append(b, s, 1);
        }
    }
}

static const char *
page_str(const cJSON *o, const char *name, char *tmp, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(tmp, len, "%.0f", v->valuedouble);
        return tmp;
    }
    return "";
}

static void
page_dashboard(struct http_req *r)
{
    struct producer_conn *c = producer_pool_get(r->p);
    char err[512];
    cJSON *stats = job_stats(c->db, err, sizeof(err));
    struct job_filter f = {.limit = DASHBOARD_RECENT};
    cJSON *recent = stats ? job_list(c->db, &f, err, sizeof(err)) : NULL;
    producer_pool_put(r->p, c);
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                    "<meta http-equiv=\"refresh\" content=\"5\"><title>jobfleet</title>"
                    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
                    "collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
                    "</style></head><body>\n<h1>jobfleet</h1>\n");
    if (stats == NULL || recent == NULL) {
        buf_appends(&b, "<p><b>MariaDB is unavailable:</b> ");
        page_escape(&b, err);
        buf_appends(&b, "</p>\n");
    } else {
        buf_appends(&b, "<h2>Jobs by state</h2>\n<table><tr>");
        const cJSON *states = cJSON_GetObjectItemCaseSensitive(stats, "states"), *it;
        cJSON_ArrayForEach(it, states)
        {
            buf_appends(&b, "<th>");
            page_escape(&b, it->string);
            buf_appends(&b, "</th>");
        }
        buf_appends(&b, "</tr><tr>");
        cJSON_ArrayForEach(it, states) buf_printf(&b, "<td>%.0f</td>", it->valuedouble);
        buf_appends(&b, "</tr></table>\n<h2>Recent jobs</h2>\n<table><tr><th>id</th>"
                        "<th>action</th><th>queue</th><th>state</th><th>attempt</th>"
                        "<th>created</th><th>failure</th></tr>\n");
        static const char *cols[] = {"id",      "action",     "queue",         "state",
                                     "attempt", "dt_created", "failure_reason"};
        cJSON_ArrayForEach(it, recent)
        {
            buf_appends(&b, "<tr>");
            for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
                char tmp[32];
                buf_appends(&b, "<td>");
                page_escape(&b, page_str(it, cols[k], tmp, sizeof(tmp)));
                buf_appends(&b, "</td>");
            }
            buf_appends(&b, "</tr>\n");
        }
        buf_appends(&b, "</table>\n");
    }
    buf_printf(&b,
               "<p>spool: %lld webhooks, %lld bytes &middot; <a href=\"/metrics\">metrics"
               "</a> &middot; <a href=\"/health\">health</a></p>\n</body></html>\n",
               (long long)spool_files(r->p->spool), (long long)spool_bytes(r->p->spool));
    http_reply(r, 200, "text/html; charset=utf-8", b.data, NULL);
    buf_release(&b);
    cJSON_Delete(stats);
    cJSON_Delete(recent);
}

void
producer_pages_handle(struct http_req *r)
{
    const char *u = r->url;
    bool known = strcmp(u, "/") == 0 || strcmp(u, "/metrics") == 0;
    if (!known) {
        http_reply_not_found(r);
        return;
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        http_reply_with(r, 405, NULL, "{\"error\":\"use GET\",\"field\":null}", "Allow", "GET");
        return;
    }
    if (strcmp(u, "/metrics") == 0) {
        char *m = producer_metrics_render(r->p);
        http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", m, NULL);
        free(m);
    } else {
        page_dashboard(r);
    }
}
