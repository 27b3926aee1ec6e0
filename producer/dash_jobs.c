/* This file serves the Jobs listing (filters in the query string, keyset paging, bulk
 * selection) and the Job page (redacted parameters, the attempts as a timeline with their
 * logs, progress, result, retry and cancel, and the audit of changes). */
#include "audit.h"
#include "caltime.h"
#include "dash_int.h"
#include "job.h"
#include "job_query.h"
#include "json.h"
#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_PAGE_ROWS 50

static const char *dash_states[] = {"pending",   "queued", "running",
                                    "succeeded", "failed", "cancelled"};
static const char *dash_origins[] = {"cli", "api", "webhook", "cron", "job", "retry"};

static bool
dash_in(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return true;
    return false;
}

/* A time filter: "2026-12-02T10:00" (a datetime-local field), ISO 8601 or unix seconds. */
static int
dash_time(const char *v, int64_t *ms)
{
    char tmp[64];
    size_t n = strlen(v);
    if (n == 16 && v[10] == 'T') {
        snprintf(tmp, sizeof(tmp), "%s:00Z", v);
        v = tmp;
    }
    return caltime_parse(v, ms);
}

static const char *
dash_q(struct http_req *r, const char *name)
{
    const char *v = http_query(r, name);
    return v && v[0] ? v : NULL;
}

int
dash_jobs_check(const struct job_query *q, char *err, size_t errlen)
{
    if (q->state && !dash_in(q->state, dash_states, 6)) {
        snprintf(err, errlen,
                 "state: one of pending, queued, running, succeeded, failed, "
                 "cancelled");
        return -1;
    }
    if (q->origin && !dash_in(q->origin, dash_origins, 6)) {
        snprintf(err, errlen, "origin: one of cli, api, webhook, cron, job, retry");
        return -1;
    }
    return 0;
}

int
dash_jobs_filter(struct http_req *r, bool admin, struct job_query *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof(*q));
    /* An admin can see what a job was given by other means (the API token, retrying it); a
     * read-only viewer sees parameters redacted only. */
    q->text_reason_only = !admin;
    q->state = dash_q(r, "state");
    q->action = dash_q(r, "action");
    q->queue = dash_q(r, "queue");
    q->origin = dash_q(r, "origin");
    q->text = dash_q(r, "text");
    q->cursor = dash_q(r, "cursor");
    q->limit = DASH_PAGE_ROWS;
    /* A text filter reads each row of the window and searches it: a smaller window. */
    q->scan_max = q->text ? r->p->cfg->dashboard.text_scan_max : r->p->cfg->dashboard.scan_max;
    q->timeout_ms = r->p->cfg->dashboard.query_timeout_ms;
    if (dash_jobs_check(q, err, errlen) < 0)
        return -1;
    const char *v;
    int64_t n;
    if ((v = dash_q(r, "limit")) != NULL) {
        if (parse_int64(v, 1, 500, &n) < 0) {
            snprintf(err, errlen, "limit: an integer in 1..500");
            return -1;
        }
        q->limit = (int)n;
    }
    return 0;
}

/* Turns the from/to filters into an id range (ids grow with dt_created). */
static int
dash_jobs_range(struct http_req *r, struct db *db, struct job_query *q, char *err, size_t errlen)
{
    const char *names[] = {"from", "to"};
    int64_t *ids[] = {&q->min_id, &q->max_id};
    for (int i = 0; i < 2; i++) {
        const char *v = dash_q(r, names[i]);
        int64_t ms;
        if (v == NULL)
            continue;
        if (dash_time(v, &ms) < 0) {
            snprintf(err, errlen, "%s: a time such as 2026-12-02T10:00 (UTC)", names[i]);
            return -1;
        }
        if (job_query_id_at(db, ms, ids[i]) < 0) {
            snprintf(err, errlen, "time range: %s", db_errstr(db));
            return -2;
        }
    }
    return 0;
}

/* Runs the listing of the request's filters into *page. Returns 0, or an HTTP status after
 * replying. */
int
dash_jobs_run(struct http_req *r, const struct dash_who *w, struct job_query *q,
              struct job_page *page)
{
    char err[512];
    if (dash_jobs_filter(r, w->admin, q, err, sizeof(err)) < 0) {
        dash_error(r, w, 400, "%s", err);
        return 400;
    }
    struct producer_conn *c = producer_pool_get(r->p);
    int rc = dash_jobs_range(r, c->db, q, err, sizeof(err));
    if (rc == 0 && job_query_page(c->db, q, page, err, sizeof(err)) < 0)
        rc = strncmp(err, "cursor", 6) == 0 || strncmp(err, "text", 4) == 0 ? -1 : -2;
    producer_pool_put(r->p, c);
    if (rc == -1) {
        dash_error(r, w, 400, "%s", err);
        return 400;
    }
    if (rc == -2) {
        dash_error(r, w, 503, "the database did not answer in time: %s", err);
        return 503;
    }
    return 0;
}

/* The filter fields of the request again, as a query string (without the cursor). */
static void
dash_jobs_qs(struct http_req *r, struct buf *b)
{
    static const char *keys[] = {"state", "action", "queue", "origin", "text", "from", "to"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = dash_q(r, keys[i]);
        if (v == NULL)
            continue;
        buf_printf(b, "&%s=", keys[i]);
        html_url(b, v);
    }
}

static void
dash_select(struct buf *b, const char *name, const char *label, const char *const *opts, size_t n,
            const char *cur)
{
    buf_printf(b, "<label>%s<select name=\"%s\" id=\"f-%s\"><option value=\"\">any</option>", label,
               name, name);
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "<option%s>%s</option>", cur && strcmp(cur, opts[i]) == 0 ? " selected" : "",
                   opts[i]);
    buf_appends(b, "</select></label>");
}

static void
dash_input(struct buf *b, const char *name, const char *label, const char *type, const char *cur)
{
    buf_printf(b, "<label>%s<input type=\"%s\" name=\"%s\" id=\"f-%s\" value=\"", label, type, name,
               name);
    html_esc(b, cur);
    buf_appends(b, "\"></label>");
}

static void
dash_jobs_filters(struct http_req *r, const struct dash_who *w, struct buf *b)
{
    buf_appends(b, "<form class=\"filters\" method=\"get\" action=\"/jobs\">");
    dash_select(b, "state", "state", dash_states, 6, dash_q(r, "state"));
    dash_input(b, "action", "action", "text", dash_q(r, "action"));
    dash_input(b, "queue", "queue", "text", dash_q(r, "queue"));
    dash_select(b, "origin", "origin", dash_origins, 6, dash_q(r, "origin"));
    dash_input(b, "text", w->admin ? "text in parameters or reason" : "text in the failure reason",
               "search", dash_q(r, "text"));
    dash_input(b, "from", "created from (UTC)", "datetime-local", dash_q(r, "from"));
    dash_input(b, "to", "to", "datetime-local", dash_q(r, "to"));
    buf_appends(b, "<button id=\"filter\">Filter</button></form>\n");
}

static void
dash_jobs_rows(struct buf *b, const cJSON *jobs)
{
    const cJSON *j;
    buf_appends(b, "<div class=\"tbl\"><table id=\"jobs\"><tr><th><input type=\"checkbox\" "
                   "id=\"select-all\" aria-label=\"select all\"></th><th>id</th><th>action</th>"
                   "<th>state</th><th class=\"hide-sm\">queue</th><th class=\"hide-sm\">"
                   "attempt</th><th class=\"hide-sm\">created</th><th>reason</th></tr>\n");
    cJSON_ArrayForEach(j, jobs)
    {
        char id[32], t[32];
        html_val(j, "id", id, sizeof(id));
        buf_printf(
            b,
            "<tr><td><input type=\"checkbox\" class=\"pick\" name=\"id\" value=\"%s\" "
            "form=\"bulk\" aria-label=\"select %s\"></td><td><a href=\"/jobs/%s\">%s</a></td><td>",
            id, id, id, id);
        html_esc(b, html_val(j, "action", t, sizeof(t)));
        const char *st = html_val(j, "state", t, sizeof(t));
        buf_printf(b, "</td><td class=\"st-%s\">%s</td><td class=\"hide-sm\">", st, st);
        html_esc(b, html_val(j, "queue", t, sizeof(t)));
        buf_printf(b, "</td><td class=\"hide-sm\">%s/", html_val(j, "attempt", t, sizeof(t)));
        buf_printf(b, "%s</td><td class=\"hide-sm\">", html_val(j, "max_attempts", t, sizeof(t)));
        html_esc(b, html_val(j, "dt_created", t, sizeof(t)));
        buf_appends(b, "</td><td>");
        html_esc(b, html_val(j, "failure_reason", t, sizeof(t)));
        buf_appends(b, "</td></tr>\n");
    }
    buf_appends(b, "</table></div>\n");
}

static void
dash_jobs_bulk(struct http_req *r, const struct dash_who *w, struct buf *b)
{
    if (!w->admin)
        return;
    buf_appends(b, "<div class=\"actions\">"
                   "<button name=\"op\" value=\"retry\" form=\"bulk\">Retry selected "
                   "(<span data-count>0</span>)</button>"
                   "<button name=\"op\" value=\"cancel\" form=\"bulk\" class=\"danger\">Cancel "
                   "selected (<span data-count>0</span>)</button></div>");
    /* "Everything matching" takes the state of the jobs it changes: without it, a hint. */
    const char *st = dash_q(r, "state");
    bool can_retry =
        st && (!strcmp(st, "failed") || !strcmp(st, "cancelled") || !strcmp(st, "succeeded"));
    bool can_cancel =
        st && (!strcmp(st, "pending") || !strcmp(st, "queued") || !strcmp(st, "running"));
    if (!can_retry && !can_cancel) {
        buf_appends(b, "<p class=\"hint\">Filter by a state to retry or cancel everything "
                       "matching.</p>\n");
        return;
    }
    html_form(b, w, "/jobs/bulk", "actions");
    buf_appends(b, "<input type=\"hidden\" name=\"mode\" value=\"all\">");
    static const char *keys[] = {"state", "action", "queue", "origin", "text", "from", "to"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = dash_q(r, keys[i]);
        if (v == NULL)
            continue;
        buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", keys[i]);
        html_esc(b, v);
        buf_appends(b, "\">");
    }
    if (can_retry)
        buf_appends(b, "<button name=\"op\" value=\"retry\" id=\"retry-all\">Retry everything "
                       "matching this filter…</button>");
    if (can_cancel)
        buf_appends(b, "<button name=\"op\" value=\"cancel\" class=\"danger\">Cancel "
                       "everything matching this filter…</button>");
    buf_appends(b, "</form>\n");
}

void
dash_jobs(struct http_req *r, const struct dash_who *w)
{
    struct job_query q;
    struct job_page page;
    if (dash_jobs_run(r, w, &q, &page) != 0)
        return;
    if (dash_wants_json(r)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "jobs", page.jobs);
        page.jobs = NULL;
        if (page.next[0])
            cJSON_AddStringToObject(o, "next", page.next);
        else
            cJSON_AddNullToObject(o, "next");
        cJSON_AddBoolToObject(o, "window_end", page.window_end);
        cJSON_AddNumberToObject(o, "scan_max", q.scan_max);
        dash_reply_json(r, 200, o);
        cJSON_Delete(o);
        job_page_release(&page);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, w, "Jobs", "Jobs");
    html_flash(&b, r);
    dash_jobs_filters(r, w, &b);
    dash_jobs_bulk(r, w, &b);
    if (w->admin) {
        /* The row checkboxes and the buttons above join this form through form="bulk". */
        buf_appends(&b, "<form method=\"post\" action=\"/jobs/bulk\" id=\"bulk\">"
                        "<input type=\"hidden\" name=\"mode\" value=\"selected\">"
                        "<input type=\"hidden\" name=\"csrf\" value=\"");
        html_esc(&b, w->csrf);
        buf_appends(&b, "\">");
        /* The state the rows were listed in: a retry of them keeps to it. */
        if (q.state) {
            buf_appends(&b, "<input type=\"hidden\" name=\"state\" value=\"");
            html_esc(&b, q.state);
            buf_appends(&b, "\">");
        }
        buf_appends(&b, "</form>");
    }
    dash_jobs_rows(&b, page.jobs);
    if (page.window_end)
        buf_printf(&b,
                   "<p class=\"mut\">This page examined the newest %d jobs the filter's index "
                   "holds below the cursor; older ones may match too.</p>",
                   q.scan_max);
    if (cJSON_GetArraySize(page.jobs) == 0)
        buf_appends(&b, "<p class=\"mut\">No jobs match.</p>");
    if (page.next[0]) {
        buf_appends(&b, "<p><a id=\"older\" href=\"/jobs?cursor=");
        html_url(&b, page.next);
        struct buf qs;
        buf_init(&qs, 0);
        dash_jobs_qs(r, &qs);
        html_esc(&b, qs.data ? qs.data : "");
        buf_release(&qs);
        buf_appends(&b, "\">Older →</a></p>");
    }
    buf_appends(&b, "<p class=\"mut\"><a href=\"?format=json");
    struct buf qs;
    buf_init(&qs, 0);
    dash_jobs_qs(r, &qs);
    html_esc(&b, qs.data ? qs.data : "");
    buf_release(&qs);
    buf_appends(&b, "\">JSON</a></p>");
    html_end(&b);
    dash_reply_html(r, 200, &b);
    buf_release(&b);
    job_page_release(&page);
}

/* ---- One job ---- */

/* The job's parameters (and result) as parsed JSON with secrets redacted, replacing the text. */
static void
dash_job_parse_field(cJSON *job, const char *name, bool redact)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, name);
    if (!cJSON_IsString(v))
        return;
    cJSON *p = cJSON_Parse(v->valuestring);
    if (p == NULL)
        return;
    if (redact)
        dash_redact(p);
    cJSON_ReplaceItemInObjectCaseSensitive(job, name, p);
}

static void
dash_pre_json(struct buf *b, const cJSON *v)
{
    char *s = cJSON_IsString(v) ? xstrdup(v->valuestring) : cJSON_Print(v);
    buf_appends(b, "<pre>");
    html_esc(b, s ? s : "");
    buf_appends(b, "</pre>\n");
    free(s);
}

static void
dash_attempt(struct buf *b, const cJSON *a)
{
    char t1[32], t2[32], t3[32];
    const char *out = html_val(a, "outcome", t1, sizeof(t1));
    buf_appends(b, "<li class=\"");
    html_esc(b, out);
    buf_printf(b, "\"><b>attempt %s</b>: ", html_val(a, "attempt", t2, sizeof(t2)));
    html_esc(b, out);
    buf_printf(b, " after %s ms, ", html_val(a, "execution_ms", t3, sizeof(t3)));
    html_esc(b, html_val(a, "dt_started", t2, sizeof(t2)));
    buf_appends(b, " → ");
    html_esc(b, html_val(a, "dt_completed", t2, sizeof(t2)));
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(a, "reason");
    if (cJSON_IsString(reason)) {
        buf_appends(b, "<br>reason: <span class=\"err\">");
        html_esc(b, reason->valuestring);
        buf_appends(b, "</span>");
    }
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(a, "log");
    if (cJSON_IsString(log) && log->valuestring[0]) {
        buf_appends(b, "<pre class=\"log\">");
        html_esc(b, log->valuestring);
        buf_appends(b, "</pre>");
    }
    buf_appends(b, "</li>\n");
}

static void
dash_progress(struct buf *b, const cJSON *pr)
{
    double done = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(pr, "done"));
    double total = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(pr, "total"));
    buf_appends(b, "<h2>Progress</h2><p>");
    if (total > 0)
        buf_printf(b, "<progress max=\"%.0f\" value=\"%.0f\"></progress> %.0f / %.0f", total, done,
                   done, total);
    else
        buf_printf(b, "%.0f done", done);
    char t[32];
    buf_appends(b, " ");
    html_esc(b, html_val(pr, "note", t, sizeof(t)));
    buf_appends(b, "</p>\n");
}

void
dash_audit_html(struct buf *b, const cJSON *audit)
{
    buf_appends(b, "<h2>Changes</h2>");
    if (cJSON_GetArraySize(audit) == 0) {
        buf_appends(b, "<p class=\"mut\">None recorded.</p>\n");
        return;
    }
    buf_appends(b, "<div class=\"tbl\"><table class=\"audit\"><tr><th>when</th><th>who</th>"
                   "<th>what</th><th>detail</th></tr>");
    const cJSON *a;
    cJSON_ArrayForEach(a, audit)
    {
        static const char *cols[] = {"dt_created", "actor", "action", "detail"};
        buf_appends(b, "<tr>");
        for (int i = 0; i < 4; i++) {
            char t[32];
            buf_appends(b, "<td>");
            html_esc(b, html_val(a, cols[i], t, sizeof(t)));
            buf_appends(b, "</td>");
        }
        buf_appends(b, "</tr>");
    }
    buf_appends(b, "</table></div>\n");
}

static void
dash_job_actions(struct buf *b, const struct dash_who *w, int64_t id, const char *state)
{
    if (!w->admin)
        return;
    char path[64];
    buf_appends(b, "<div class=\"actions\">");
    if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0 ||
        strcmp(state, "succeeded") == 0) {
        snprintf(path, sizeof(path), "/jobs/%lld/retry", (long long)id);
        html_form(b, w, path, "inline");
        /* One of the three names above: nothing to escape. */
        buf_printf(b, "<input type=\"hidden\" name=\"state\" value=\"%s\">", state);
        buf_appends(b, "<button id=\"retry\">Retry</button></form>");
    }
    if (strcmp(state, "pending") == 0 || strcmp(state, "queued") == 0 ||
        strcmp(state, "running") == 0) {
        snprintf(path, sizeof(path), "/jobs/%lld/cancel", (long long)id);
        char q[96];
        snprintf(q, sizeof(q), "Cancel job %lld?", (long long)id);
        html_form_confirm(b, w, path, "inline", q);
        buf_appends(b, "<button id=\"cancel\" class=\"danger\">Cancel</button></form>");
    }
    buf_appends(b, "</div>\n");
}

static void
dash_job_html(struct buf *b, const struct dash_who *w, const cJSON *j)
{
    char t[32];
    int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "id"));
    const char *state = html_val(j, "state", t, sizeof(t));
    buf_printf(b, "<p>state <b id=\"state\" class=\"st-%s\">%s</b>", state, state);
    static const char *f[] = {"action",     "queue",        "origin",
                              "attempt",    "max_attempts", "dt_created",
                              "dt_started", "dt_completed", "execution_ms"};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        char v[32];
        buf_printf(b, " · %s <b>", f[i]);
        html_esc(b, html_val(j, f[i], v, sizeof(v)));
        buf_appends(b, "</b>");
    }
    buf_appends(b, "</p>\n");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(j, "failure_reason");
    if (cJSON_IsString(fr)) {
        buf_appends(b, "<p>reason: <span class=\"err\">");
        html_esc(b, fr->valuestring);
        buf_appends(b, "</span></p>");
    }
    dash_job_actions(b, w, id, state);
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "progress");
    if (cJSON_IsObject(pr))
        dash_progress(b, pr);
    buf_appends(b, "<h2>Parameters</h2>");
    dash_pre_json(b, cJSON_GetObjectItemCaseSensitive(j, "parameters"));
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    if (res && !cJSON_IsNull(res)) {
        buf_appends(b, "<h2>Result</h2>");
        dash_pre_json(b, res);
    }
    buf_appends(b, "<h2>Attempts</h2>");
    const cJSON *omitted = cJSON_GetObjectItemCaseSensitive(j, "attempts_omitted");
    if (cJSON_IsNumber(omitted))
        buf_printf(b,
                   "<p class=\"mut\" id=\"attempts-omitted\">%.0f older attempts are not shown "
                   "(the last %d are).</p>",
                   omitted->valuedouble, JOB_GET_ATTEMPTS);
    buf_appends(b, "<ol class=\"timeline\" id=\"attempts\">");
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "attempts")) dash_attempt(b, a);
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(j, "log");
    if (cJSON_IsString(log)) {
        buf_appends(b, "<li class=\"running\"><b>current attempt</b>, running<pre class=\"log\">");
        html_esc(b, log->valuestring);
        buf_appends(b, "</pre></li>");
    }
    buf_appends(b, "</ol>\n");
    dash_audit_html(b, cJSON_GetObjectItemCaseSensitive(j, "audit"));
    buf_printf(b, "<p class=\"mut\"><a href=\"/jobs/%lld?format=json\">JSON</a></p>",
               (long long)id);
}

void
dash_job(struct http_req *r, const struct dash_who *w, int64_t id)
{
    char err[512], ids[24];
    enum job_err e;
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *j = job_get(c->db, id, &e, err, sizeof(err));
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    cJSON *audit = j ? audit_list(c->db, "job", ids, 50) : NULL;
    if (j && audit == NULL) {
        e = JOB_E_DB;
        snprintf(err, sizeof(err), "read audit: %s", db_errstr(c->db));
    }
    producer_pool_put(r->p, c);
    if (j == NULL || audit == NULL) {
        cJSON_Delete(j);
        if (e == JOB_E_NOTFOUND)
            dash_error(r, w, 404, "%s", err);
        else
            dash_error(r, w, 503, "%s", err);
        return;
    }
    dash_job_parse_field(j, "parameters", true);
    dash_job_parse_field(j, "result", true);
    cJSON_AddItemToObject(j, "audit", audit);
    char title[48];
    snprintf(title, sizeof(title), "Job %lld", (long long)id);
    dash_show(r, w, j, title, "Jobs", dash_job_html);
    cJSON_Delete(j);
}
