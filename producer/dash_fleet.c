/* This file serves the dashboard's fleet pages: Queues (depth, running, oldest age from the
 * cache; pause and limits from queue_settings), one queue, Cron (every schedule), one cron
 * job, Workers (instances and the job each busy slot runs) and Webhooks (recent deliveries). */
#include "audit.h"
#include "cronjob_json.h"
#include "dash_int.h"
#include "instance.h"
#include "job_query.h"
#include "json.h"
#include "log_limit.h"
#include "producer.h"
#include "settings.h"
#include "webhook_log.h"
#include "webhook_log_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_WORKERS_MAX 500
#define DASH_RUNNING_MAX 5000
#define DASH_WEBHOOKS_ROWS 100
#define DASH_WEBHOOKS_WINDOW 5000

static double
dash_num(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *
dash_queue_row(cJSON *rows, const char *name)
{
    cJSON *it;
    cJSON_ArrayForEach(it, rows)
    {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "queue");
        if (cJSON_IsString(q) && strcmp(q->valuestring, name) == 0)
            return it;
    }
    it = cJSON_CreateObject();
    cJSON_AddStringToObject(it, "queue", name);
    cJSON_AddItemToArray(rows, it);
    return it;
}

static void
dash_served_queue(const char *queue, void *served)
{
    cJSON_AddItemToArray(served, cJSON_CreateString(queue));
}

/* Every queue the cache or queue_settings knows, or a worker pops, as an array; NULL after
 * replying 503. */
static cJSON *
dash_queues_data(struct http_req *r, const struct dash_who *w)
{
    struct producer_conn *c = producer_pool_get(r->p);
    struct settings set = {0};
    cJSON *served = cJSON_CreateArray(), *it;
    int rc = settings_load(c->db, &set);
    if (rc == 0 && (rc = instance_served_queues(c->db, dash_served_queue, served)) < 0)
        settings_release(&set);
    char err[256];
    snprintf(err, sizeof(err), "%s", rc < 0 ? db_errstr(c->db) : "");
    producer_pool_put(r->p, c);
    if (rc < 0) {
        cJSON_Delete(served);
        dash_error(r, w, 503, "read queue settings: %s", err);
        return NULL;
    }
    cJSON *snap = dash_snapshot(r->p->dash), *rows = cJSON_CreateArray();
    const cJSON *queues = cJSON_GetObjectItemCaseSensitive(snap, "queues");
    cJSON_ArrayForEach(it, queues) dash_queue_row(rows, it->string);
    for (int i = 0; i < set.n_queues; i++)
        dash_queue_row(rows, set.queues[i].name);
    cJSON_ArrayForEach(it, served) dash_queue_row(rows, it->valuestring);
    cJSON_Delete(served);
    cJSON_ArrayForEach(it, rows)
    {
        const char *q = cJSON_GetObjectItemCaseSensitive(it, "queue")->valuestring;
        const cJSON *counts = cJSON_GetObjectItemCaseSensitive(queues, q);
        cJSON_AddNumberToObject(it, "queued", dash_num(counts, "queued", NULL));
        cJSON_AddNumberToObject(it, "running", dash_num(counts, "running", NULL));
        cJSON_AddNumberToObject(it, "pending", dash_num(counts, "pending", NULL));
        cJSON_AddNumberToObject(it, "over_limit", dash_num(counts, "over_limit", NULL));
        const cJSON *qa = cJSON_GetObjectItemCaseSensitive(snap, "queued");
        cJSON_AddNumberToObject(
            it, "oldest_age_ms",
            dash_num(cJSON_GetObjectItemCaseSensitive(qa, q), "oldest_age_ms", NULL));
        const struct queue_setting *s = settings_queue(&set, q);
        cJSON_AddBoolToObject(it, "paused", s && s->paused);
        cJSON_AddNumberToObject(it, "concurrency_limit", s ? s->lim.concurrency : 0);
        cJSON_AddNumberToObject(it, "rate_limit", s ? s->lim.rate : 0);
        cJSON_AddNumberToObject(it, "rate_interval_ms", s ? (double)s->lim.rate_interval_ms : 0);
    }
    settings_release(&set);
    cJSON_Delete(snap);
    return rows;
}

static void
dash_queue_tr(struct buf *b, const struct dash_who *w, const cJSON *q)
{
    char t[32], path[160];
    const char *name = cJSON_GetObjectItemCaseSensitive(q, "queue")->valuestring;
    bool paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "paused"));
    buf_appends(b, "<tr><td><a href=\"/queues/");
    html_url(b, name);
    buf_appends(b, "\">");
    html_esc(b, name);
    /* Small screens leave out the paused column, for the Pause button's room: said here. */
    buf_printf(b, "</a>%s</td><td>%s", paused ? "<span class=\"show-sm\"><br>paused</span>" : "",
               html_val(q, "queued", t, sizeof(t)));
    /* Jobs over a full limit wait in pending, out of the queued count and its age: said beside
     * the count, which small screens show too (the limits column they leave out). */
    double over = dash_num(q, "over_limit", NULL);
    if (over > 0)
        buf_printf(b, "<br><span class=\"over-limit\">%.0f waiting for a limit</span>", over);
    buf_appends(b, "</td>");
    buf_printf(b, "<td>%s</td><td>", html_val(q, "running", t, sizeof(t)));
    html_age(b, (int64_t)dash_num(q, "oldest_age_ms", NULL));
    buf_printf(b, "</td><td class=\"paused hide-sm\">%s</td><td class=\"hide-sm\">",
               paused ? "paused" : "");
    double conc = dash_num(q, "concurrency_limit", NULL), rate = dash_num(q, "rate_limit", NULL);
    if (conc > 0)
        buf_printf(b, "concurrency %.0f ", conc);
    if (rate > 0)
        buf_printf(b, "%.0f per %.0f ms", rate, dash_num(q, "rate_interval_ms", NULL));
    buf_appends(b, "</td><td>");
    if (w->admin) {
        struct buf u;
        buf_init(&u, 0);
        html_url(&u, name);
        snprintf(path, sizeof(path), "/queues/%s/%s", u.data ? u.data : "",
                 paused ? "resume" : "pause");
        buf_release(&u);
        char ask[160];
        snprintf(ask, sizeof(ask), "Pause queue %s? No job of it starts until it is resumed.",
                 name);
        html_form_confirm(b, w, path, "inline", paused ? NULL : ask);
        buf_printf(b, "<button class=\"%s\">%s</button></form>", paused ? "resume" : "pause",
                   paused ? "Resume" : "Pause");
    }
    buf_appends(b, "</td></tr>\n");
}

#define DASH_QUEUES_HEAD                                                                           \
    "<th>queue</th><th>queued</th><th>running</th><th>oldest</th><th "                             \
    "class=\"hide-sm\">paused</th>"                                                                \
    "<th class=\"hide-sm\">limits</th><th></th>"

static void
dash_queues_render(struct buf *b, const struct dash_who *w, const cJSON *rows)
{
    html_table(b, w, "queues", DASH_QUEUES_HEAD, rows, dash_queue_tr, "/queues");
}

void
dash_queues(struct http_req *r, const struct dash_who *w)
{
    cJSON *rows = dash_queues_data(r, w);
    if (rows == NULL)
        return;
    dash_show(r, w, rows, "Queues", "Queues", dash_queues_render);
    cJSON_Delete(rows);
}

/* The page of one object: its data, its audit, and the HTML around both. */
static void
dash_object_page(struct http_req *r, const struct dash_who *w, const char *kind, const char *name,
                 cJSON *data, void (*render)(struct buf *, const struct dash_who *, const cJSON *),
                 const char *title, const char *nav)
{
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *audit = audit_list(c->db, kind, name, 50);
    char err[256];
    snprintf(err, sizeof(err), "%s", audit ? "" : db_errstr(c->db));
    producer_pool_put(r->p, c);
    if (audit == NULL) {
        dash_error(r, w, 503, "read audit: %s", err);
        cJSON_Delete(data);
        return;
    }
    cJSON_AddItemToObject(data, "audit", audit);
    dash_show(r, w, data, title, nav, render);
    cJSON_Delete(data);
}

static void
dash_queue_render(struct buf *b, const struct dash_who *w, const cJSON *q)
{
    const cJSON *one = cJSON_GetObjectItemCaseSensitive(q, "queue_row");
    cJSON *rows = cJSON_CreateArray();
    cJSON_AddItemToArray(rows, cJSON_Duplicate(one, 1));
    html_table(b, w, "queues", DASH_QUEUES_HEAD, rows, dash_queue_tr, NULL);
    cJSON_Delete(rows);
    buf_appends(b, "<p><a href=\"/jobs?queue=");
    html_url(b, cJSON_GetObjectItemCaseSensitive(one, "queue")->valuestring);
    buf_appends(b, "\">jobs of this queue</a></p>");
    dash_audit_html(b, cJSON_GetObjectItemCaseSensitive(q, "audit"));
}

void
dash_queue(struct http_req *r, const struct dash_who *w, const char *name)
{
    cJSON *rows = dash_queues_data(r, w);
    if (rows == NULL)
        return;
    cJSON *data = cJSON_CreateObject();
    cJSON_AddItemToObject(data, "queue_row", cJSON_Duplicate(dash_queue_row(rows, name), 1));
    cJSON_Delete(rows);
    char title[200];
    snprintf(title, sizeof(title), "Queue %s", name);
    dash_object_page(r, w, "queue", name, data, dash_queue_render, title, "Queues");
}

/* ---- Cron ---- */

static void
dash_cron_tr(struct buf *b, const struct dash_who *w, const cJSON *cj)
{
    char t[64];
    const char *name = html_val(cj, "name", t, sizeof(t));
    struct buf u;
    buf_init(&u, 0);
    html_url(&u, name);
    buf_printf(b, "<tr data-name=\"%s\"><td><a href=\"/cron/%s\">", u.data ? u.data : "",
               u.data ? u.data : "");
    html_esc(b, name);
    buf_appends(b, "</a></td>");
    static const char *cols[] = {"schedule", "timezone", "next_fire", "last_fire",
                                 "last_job_state"};
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        buf_printf(b, "<td%s>", i == 1 || i == 2 ? " class=\"hide-sm\"" : "");
        html_esc(b, html_val(cj, cols[i], t, sizeof(t)));
        if (i == 2 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cj, "overdue")))
            buf_appends(b, " <strong class=\"overdue\">overdue</strong>");
        buf_appends(b, "</td>");
    }
    bool active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cj, "is_active"));
    buf_printf(b, "<td class=\"active\">%s</td><td>", active ? "enabled" : "disabled");
    if (w->admin) {
        /* Built to size: an encoded name of 191 characters takes up to three times that. */
        const char *enc = u.data ? u.data : "";
        char *path = xasprintf("/cron/%s/%s", enc, active ? "disable" : "enable");
        char *q = xasprintf("Disable cron job %s? It does not fire until enabled.", name);
        html_form_confirm(b, w, path, "inline", active ? q : NULL);
        buf_printf(b, "<button>%s</button></form>", active ? "Disable" : "Enable");
        free(path);
        free(q);
        path = xasprintf("/cron/%s/run", enc);
        q = xasprintf("Run cron job %s now, besides its schedule?", name);
        html_form_confirm(b, w, path, "inline", q);
        buf_appends(b, "<button class=\"run\">Run now</button></form>");
        free(path);
        free(q);
    }
    buf_release(&u);
    buf_appends(b, "</td></tr>\n");
}

#define DASH_CRON_HEAD                                                                             \
    "<th>name</th><th>schedule</th><th class=\"hide-sm\">zone</th><th class=\"hide-sm\">next"      \
    "</th><th>last</th><th>outcome</th><th>state</th><th></th>"

static void
dash_cron_render_list(struct buf *b, const struct dash_who *w, const cJSON *list)
{
    html_table(b, w, "cron", DASH_CRON_HEAD, list, dash_cron_tr, "/cron");
}

void
dash_cron(struct http_req *r, const struct dash_who *w)
{
    char err[512];
    enum job_err e;
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *list = cronjob_list_json(c->db, r->p->cfg, &e, err, sizeof(err));
    producer_pool_put(r->p, c);
    if (list == NULL) {
        dash_error(r, w, 503, "%s", err);
        return;
    }
    /* Its JSON carries each schedule's parameters: redacted as on the schedule's own page. */
    cJSON *it;
    cJSON_ArrayForEach(it, list) dash_redact(cJSON_GetObjectItemCaseSensitive(it, "parameters"));
    dash_show(r, w, list, "Cron", "Cron", dash_cron_render_list);
    cJSON_Delete(list);
}

static void
dash_cron_render(struct buf *b, const struct dash_who *w, const cJSON *data)
{
    cJSON *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, cJSON_Duplicate(data, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(list, 0), "audit");
    html_table(b, w, "cron", DASH_CRON_HEAD, list, dash_cron_tr, NULL);
    cJSON_Delete(list);
    buf_appends(b, "<h2>Parameters</h2><pre>");
    char *s = cJSON_Print(cJSON_GetObjectItemCaseSensitive(data, "parameters"));
    html_esc(b, s ? s : "");
    free(s);
    buf_appends(b, "</pre>");
    dash_audit_html(b, cJSON_GetObjectItemCaseSensitive(data, "audit"));
}

void
dash_cron_one(struct http_req *r, const struct dash_who *w, const char *name)
{
    char err[512];
    enum job_err e;
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *cj = cronjob_get_json(c->db, r->p->cfg, name, &e, err, sizeof(err));
    producer_pool_put(r->p, c);
    if (cj == NULL) {
        dash_error(r, w, e == JOB_E_NOTFOUND ? 404 : 503, "%s", err);
        return;
    }
    dash_redact(cJSON_GetObjectItemCaseSensitive(cj, "parameters"));
    char title[240];
    snprintf(title, sizeof(title), "Cron %s", name);
    dash_object_page(r, w, "cron", name, cj, dash_cron_render, title, "Cron");
}

/* ---- Workers ---- */

static cJSON *
dash_workers_data(struct http_req *r, const struct dash_who *w)
{
    struct producer_conn *c = producer_pool_get(r->p);
    struct db_rows *inst = instance_list(c->db, 3600, DASH_WORKERS_MAX);
    struct db_rows *run = inst ? job_query_running(c->db, DASH_RUNNING_MAX) : NULL;
    char err[256];
    snprintf(err, sizeof(err), "%s", run ? "" : db_errstr(c->db));
    producer_pool_put(r->p, c);
    if (run == NULL) {
        db_rows_free(inst);
        dash_error(r, w, 503, "read workers: %s", err);
        return NULL;
    }
    cJSON *list = json_from_rows(inst), *it;
    cJSON *jobs = json_from_rows(run);
    cJSON_ArrayForEach(it, list)
    {
        double id = dash_num(it, "id", NULL);
        cJSON *busy = cJSON_AddArrayToObject(it, "busy");
        const cJSON *j;
        cJSON_ArrayForEach(j, jobs) if (dash_num(j, "instance_id", NULL) == id)
            cJSON_AddItemToArray(busy, cJSON_Duplicate(j, 1));
        cJSON_AddNumberToObject(it, "slots_busy", cJSON_GetArraySize(busy));
    }
    cJSON_Delete(jobs);
    db_rows_free(inst);
    db_rows_free(run);
    return list;
}

static void
dash_worker_tr(struct buf *b, const struct dash_who *w, const cJSON *it)
{
    (void)w;
    char t[64];
    buf_appends(b, "<tr><td>");
    html_esc(b, html_val(it, "host", t, sizeof(t)));
    buf_printf(b, "</td><td>%s</td><td>", html_val(it, "pid", t, sizeof(t)));
    html_esc(b, html_val(it, "state", t, sizeof(t)));
    buf_appends(b, "</td><td>");
    html_age(b, (int64_t)dash_num(it, "heartbeat_age_ms", NULL));
    buf_printf(b, "</td><td>%s / ", html_val(it, "slots_busy", t, sizeof(t)));
    buf_printf(b, "%s</td><td class=\"hide-sm\">", html_val(it, "concurrency", t, sizeof(t)));
    html_esc(b, html_val(it, "queues", t, sizeof(t)));
    buf_appends(b, "</td><td>");
    const cJSON *j;
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(it, "busy"))
    {
        char id[32];
        html_val(j, "id", id, sizeof(id));
        buf_printf(b, "<a href=\"/jobs/%s\">%s</a> ", id, id);
        html_esc(b, html_val(j, "action", t, sizeof(t)));
        buf_appends(b, "<br>");
    }
    buf_appends(b, "</td></tr>\n");
}

static void
dash_workers_render(struct buf *b, const struct dash_who *w, const cJSON *list)
{
    html_table(b, w, "workers",
               "<th>host</th><th>pid</th><th>state</th><th>heartbeat</th><th>busy</th>"
               "<th class=\"hide-sm\">queues</th><th>running</th>",
               list, dash_worker_tr, "/workers");
    buf_appends(b, "<p class=\"mut\">Instances running, draining, or stopped within the last "
                   "hour.</p>");
}

void
dash_workers(struct http_req *r, const struct dash_who *w)
{
    cJSON *list = dash_workers_data(r, w);
    if (list == NULL)
        return;
    dash_show(r, w, list, "Workers", "Workers", dash_workers_render);
    cJSON_Delete(list);
}

/* ---- Webhooks ---- */

void
dash_webhooks(struct http_req *r, const struct dash_who *w)
{
    const char *source = http_query(r, "source"), *st = http_query(r, "status"),
               *before = http_query(r, "before");
    int64_t cls = 0, bid = 0;
    if (source && !source[0])
        source = NULL;
    if ((st && st[0] && parse_int64(st, 2, 5, &cls) < 0) ||
        (before && before[0] && parse_int64(before, 1, INT64_MAX, &bid) < 0)) {
        dash_error(r, w, 400, "status is 2, 4 or 5 (the class), before a delivery id");
        return;
    }
    char prefix[96];
    dash_timeout_prefix(r, prefix, sizeof(prefix));
    struct producer_conn *c = producer_pool_get(r->p);
    struct db_rows *rows = webhook_log_store_recent(c->db, prefix, source, (int)cls, bid,
                                                    DASH_WEBHOOKS_WINDOW, DASH_WEBHOOKS_ROWS);
    char err[256];
    snprintf(err, sizeof(err), "%s", rows ? "" : db_errstr(c->db));
    producer_pool_put(r->p, c);
    if (rows == NULL) {
        dash_error(r, w, 503, "read webhook log: %s", err);
        return;
    }
    cJSON *list = json_from_rows(rows);
    db_rows_free(rows);
    if (dash_wants_json(r)) {
        dash_reply_json(r, 200, list);
        cJSON_Delete(list);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, w, "Webhooks", "Webhooks");
    buf_appends(&b, "<form class=\"filters\" method=\"get\" action=\"/webhooks\"><label>source"
                    "<input name=\"source\" value=\"");
    html_esc(&b, source);
    buf_appends(&b, "\"></label><label>status<select name=\"status\"><option value=\"\">any"
                    "</option><option value=\"2\">2xx</option><option value=\"4\">4xx</option>"
                    "<option value=\"5\">5xx</option></select></label><button>Filter</button>"
                    "</form><div class=\"tbl\"><table id=\"webhooks\"><tr><th>received</th>"
                    "<th>source</th><th>status</th><th class=\"hide-sm\">path</th><th>job</th>"
                    "<th>reason</th></tr>\n");
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        static const char *cols[] = {"dt_received", "source", "status", "path", "job_id", "reason"};
        buf_appends(&b, "<tr>");
        for (int i = 0; i < 6; i++) {
            char t[32];
            buf_appends(&b, i == 3 ? "<td class=\"hide-sm\">" : "<td>");
            html_esc(&b, html_val(it, cols[i], t, sizeof(t)));
            buf_appends(&b, "</td>");
        }
        buf_appends(&b, "</tr>\n");
    }
    buf_appends(&b, "</table></div>");
    long left_out = webhook_log_left_out(r->p->wlog);
    if (left_out > 0)
        buf_printf(&b,
                   "<p class=\"mut\">Refused requests (no job made) beyond %d per %d s are not "
                   "listed: %ld since this producer started.</p>",
                   LOG_LIMIT_BURST, LOG_LIMIT_WINDOW_MS / 1000, left_out);
    buf_appends(&b, "<p class=\"mut\"><a href=\"/webhooks?format=json\">JSON</a></p>");
    html_end(&b);
    dash_reply_html(&r[0], 200, &b);
    buf_release(&b);
    cJSON_Delete(list);
}
