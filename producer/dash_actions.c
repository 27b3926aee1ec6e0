/* This file carries out the dashboard's changes, each recorded in audit_log with who made it:
 * retry and cancel of one job or of many (the selected rows, or everything a filter matches,
 * after a confirmation page that states the count), pause and resume of a queue, and enable,
 * disable and run-now of a cron job. The caller has checked the role and the CSRF token. */
#include "audit.h"
#include "caltime.h"
#include "cronjob_json.h"
#include "dash_int.h"
#include "job.h"
#include "job_query.h"
#include "log.h"
#include "producer.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most jobs one bulk change touches; a larger set takes several confirmations. */
#define DASH_BULK_MAX 10000
#define DASH_BULK_IDS 500

static void
dash_audit(struct producer_conn *c, const struct dash_who *w, const char *action, const char *kind,
           const char *id, const char *detail)
{
    if (audit_add(c->db, w->user, action, kind, id, detail) < 0)
        log_warnx("audit: %s %s %s by %s not recorded: %s", action, kind, id, w->user,
                  db_errstr(c->db));
}

/* Replies 303 to base?done=<message>. */
static void
dash_done(struct http_req *r, const char *base, const char *msg)
{
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, base);
    buf_appends(&b, "?done=");
    html_url(&b, msg);
    char sig[33];
    dash_auth_flash_sig(&dash_of(r)->auth, msg, sig);
    buf_printf(&b, "&ds=%s", sig);
    dash_redirect(r, b.data, NULL);
    buf_release(&b);
}

static void
dash_job_change(struct http_req *r, const struct dash_who *w, int64_t id, const char *verb)
{
    char err[512], base[48];
    const char *state = "queued";
    enum job_err e;
    const struct audit_by by = {w->user, NULL};
    /* The page's retry offers a succeeded job too; the state it showed keeps a second click,
     * or a stale page, from running again a job retried and succeeded meanwhile. */
    char shown[16] = "";
    form_get(r->body.data, "state", shown, sizeof(shown));
    bool force = strcmp(shown, "succeeded") == 0;
    struct producer_conn *c = producer_pool_get(r->p);
    if (strcmp(verb, "retry") == 0)
        e = job_retry(c->db, c->rq, id, force, &by, err, sizeof(err));
    else
        e = job_cancel(c->db, c->rq, id, &by, &state, err, sizeof(err));
    producer_pool_put(r->p, c);
    if (e == JOB_E_NOTFOUND || e == JOB_E_STATE || e == JOB_E_INPUT) {
        dash_error(r, w, e == JOB_E_NOTFOUND ? 404 : 409, "%s", err);
        return;
    }
    if (e != JOB_E_OK) {
        dash_error(r, w, 503, "%s", err);
        return;
    }
    snprintf(base, sizeof(base), "/jobs/%lld", (long long)id);
    dash_done(r, base,
              strcmp(verb, "retry") == 0 ? "retried: the job is queued again" : "cancel requested");
}

/* ---- Bulk ---- */

/* The IDs a bulk change will touch, gathered before any is changed, and the state filter
 * they were gathered with when the change keeps to it ("" otherwise). */
struct dash_bulk {
    int64_t *ids;
    int64_t n, cap;
    char state[16];
};

static int
dash_bulk_add(void *arg, int64_t id)
{
    struct dash_bulk *b = arg;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 512;
        b->ids = xrealloc(b->ids, (size_t)b->cap * sizeof(*b->ids));
    }
    b->ids[b->n++] = id;
    return 0;
}

/* Retries or cancels the gathered jobs, JOB_CHANGE_MAX to a transaction, each transaction's
 * jobs audited in it. *done counts the jobs changed. Returns 0, or -1 with err set
 * when a transaction failed (those before it stay changed). */
static int
dash_bulk_apply(struct producer_conn *c, const struct dash_who *w, bool retry,
                const struct dash_bulk *b, int64_t *done, char *err, size_t errlen)
{
    int64_t *changed = xcalloc(JOB_CHANGE_MAX, sizeof(*changed));
    const struct audit_by by = {w->user, "bulk"};
    int rc = 0;
    *done = 0;
    for (int64_t i = 0; i < b->n; i += JOB_CHANGE_MAX) {
        int k = (int)(b->n - i < JOB_CHANGE_MAX ? b->n - i : JOB_CHANGE_MAX);
        const char *only = b->state[0] ? b->state : NULL;
        int got = retry
                      ? job_retry_ids(c->db, c->rq, b->ids + i, k, only, &by, changed, err, errlen)
                      : job_cancel_ids(c->db, c->rq, b->ids + i, k, only, &by, changed, NULL, err,
                                       errlen);
        if (got < 0) {
            rc = -1;
            break;
        }
        *done += got;
    }
    free(changed);
    return rc;
}

/* The "id" fields of the form (selected rows), at most DASH_BULK_IDS. */
static int
dash_bulk_ids(const char *body, int64_t *ids)
{
    int n = 0;
    for (const char *p = body; p && *p && n < DASH_BULK_IDS;) {
        size_t len = strcspn(p, "&");
        char v[24];
        if (len > 3 && len < 3 + sizeof(v) && strncmp(p, "id=", 3) == 0) {
            snprintf(v, sizeof(v), "%.*s", (int)(len - 3), p + 3);
            if (parse_int64(v, 1, INT64_MAX, &ids[n]) == 0)
                n++;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return n;
}

/* The confirmation page: states the count and posts the same request with confirm=count. */
static void
dash_bulk_confirm(struct http_req *r, const struct dash_who *w, const char *op, int64_t count,
                  bool capped)
{
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, w, "Confirm", "Jobs");
    buf_printf(&b, "<p id=\"confirm-text\">%s <b id=\"confirm-count\">%lld</b> job%s%s?</p>",
               strcmp(op, "retry") == 0 ? "Retry" : "Cancel", (long long)count,
               count == 1 ? "" : "s",
               capped ? " (the most one change touches; run it again for the rest)" : "");
    html_form(&b, w, "/jobs/bulk", NULL);
    /* Every field of the original form again, with the count confirmed. */
    for (const char *p = r->body.data; p && *p;) {
        size_t len = strcspn(p, "&");
        char name[16], val[512];
        size_t nl = strcspn(p, "=");
        if (nl < len && nl < sizeof(name)) {
            snprintf(name, sizeof(name), "%.*s", (int)nl, p);
            if (strcmp(name, "csrf") && strcmp(name, "confirm") &&
                form_get(p, name, val, sizeof(val))) {
                buf_appends(&b, "<input type=\"hidden\" name=\"");
                html_esc(&b, name);
                buf_appends(&b, "\" value=\"");
                html_esc(&b, val);
                buf_appends(&b, "\">");
            }
        }
        p += len;
        if (*p == '&')
            p++;
    }
    buf_printf(&b,
               "<input type=\"hidden\" name=\"confirm\" value=\"%lld\">"
               "<button id=\"confirm\">Yes, %s %lld</button> <a href=\"/jobs\">No</a></form>",
               (long long)count, op, (long long)count);
    html_end(&b);
    dash_reply_html(r, 200, &b);
    buf_release(&b);
}

/* The filter of a "everything matching" form, into q (strings point into fields). Returns 0,
 * -2 with err naming a bad field (the client's to fix), or -1 with err set when the database
 * failed. */
static int
dash_bulk_filter(struct http_req *r, struct db *db, char fields[7][256], struct job_query *q,
                 char *err, size_t errlen)
{
    static const char *keys[] = {"state", "action", "queue", "origin", "text", "from", "to"};
    const char **dst[] = {&q->state, &q->action, &q->queue, &q->origin, &q->text};
    memset(q, 0, sizeof(*q));
    for (int i = 0; i < 7; i++) {
        if (!form_get(r->body.data, keys[i], fields[i], 256))
            fields[i][0] = '\0';
        if (i < 5)
            *dst[i] = fields[i][0] ? fields[i] : NULL;
    }
    if (dash_jobs_check(q, err, errlen) < 0)
        return -2;
    for (int i = 5; i < 7; i++) {
        int64_t ms;
        if (!fields[i][0])
            continue;
        char tmp[300];
        snprintf(tmp, sizeof(tmp), strlen(fields[i]) == 16 ? "%s:00Z" : "%s", fields[i]);
        if (caltime_parse(tmp, &ms) < 0) {
            snprintf(err, errlen, "%s: not a time", keys[i]);
            return -2;
        }
        if (job_query_id_at(db, ms, i == 5 ? &q->min_id : &q->max_id) < 0) {
            snprintf(err, errlen, "%s", db_errstr(db));
            return -1;
        }
    }
    q->limit = 500;
    /* A text filter reads each row of the window and searches it: a smaller window. */
    q->scan_max = q->text ? r->p->cfg->dashboard.text_scan_max : r->p->cfg->dashboard.scan_max;
    q->timeout_ms = r->p->cfg->dashboard.query_timeout_ms;
    return 0;
}

/* Whether a bulk retry (or cancel) can keep to jobs in state: one it changes jobs from. A
 * retry without one takes failed and cancelled jobs only, never succeeded ones. */
static bool
dash_bulk_keeps(bool retry, const char *state)
{
    static const char *const from[2][3] = {{"pending", "queued", "running"},
                                           {"failed", "cancelled", "succeeded"}};
    for (int i = 0; i < 3; i++)
        if (strcmp(state, from[retry][i]) == 0)
            return true;
    return false;
}

static void
dash_bulk(struct http_req *r, const struct dash_who *w)
{
    char op[16] = "", mode[16] = "", confirm[24] = "", err[512], msg[128];
    form_get(r->body.data, "op", op, sizeof(op));
    form_get(r->body.data, "mode", mode, sizeof(mode));
    bool confirmed = form_get(r->body.data, "confirm", confirm, sizeof(confirm));
    int64_t want = 0;
    if ((strcmp(op, "retry") && strcmp(op, "cancel")) ||
        (strcmp(mode, "selected") && strcmp(mode, "all")) ||
        (confirmed && parse_int64(confirm, 0, DASH_BULK_MAX, &want) < 0)) {
        dash_error(r, w, 400, "op must be retry or cancel, mode selected or all");
        return;
    }
    struct producer_conn *c = producer_pool_get(r->p);
    struct dash_bulk b = {0};
    int64_t seen = 0, done = 0, max = confirmed ? want : DASH_BULK_MAX;
    int rc = 0;
    bool retry = op[0] == 'r';
    if (mode[0] == 's') {
        /* The rows were chosen from a page filtered by state (or not): a retry keeps to it. */
        char shown[16] = "";
        form_get(r->body.data, "state", shown, sizeof(shown));
        if (retry && dash_bulk_keeps(retry, shown))
            snprintf(b.state, sizeof(b.state), "%s", shown);
        int64_t *ids = xcalloc(DASH_BULK_IDS, sizeof(*ids));
        int n = dash_bulk_ids(r->body.data, ids);
        for (int i = 0; i < n && seen < max; i++, seen++)
            dash_bulk_add(&b, ids[i]);
        free(ids);
    } else {
        char fields[7][256];
        struct job_query q;
        rc = dash_bulk_filter(r, c->db, fields, &q, err, sizeof(err));
        /* Without a state the change takes, the walk would count every job it passes (the
         * newest 10,000) and change few, the same ones at every run. A job that left the
         * state since it was counted (a queued job that started, a failed one retried and
         * succeeded) is no longer one the operator chose: the change leaves it. */
        if (rc == 0 && !(q.state && dash_bulk_keeps(retry, q.state))) {
            snprintf(err, sizeof(err),
                     "to %s everything matching, filter by the state of the jobs it %s: %s", op,
                     retry ? "retries" : "cancels",
                     retry ? "failed, cancelled (or succeeded)" : "pending, queued or running");
            rc = -2;
        }
        if (rc == 0)
            snprintf(b.state, sizeof(b.state), "%s", q.state);
        if (rc == 0)
            rc = job_query_each(c->db, &q, max, dash_bulk_add, &b, &seen, &done, err, sizeof(err));
    }
    if (rc == 0 && confirmed)
        rc = dash_bulk_apply(c, w, retry, &b, &done, err, sizeof(err));
    producer_pool_put(r->p, c);
    free(b.ids);
    if (rc < 0 && confirmed && done > 0) {
        dash_error(r, w, 503, "%s %lld of %lld jobs, then: %s", retry ? "retried" : "cancelled",
                   (long long)done, (long long)seen, err);
    } else if (rc < 0) {
        dash_error(r, w, rc == -2 ? 400 : 503, "%s", err);
    } else if (!confirmed) {
        dash_bulk_confirm(r, w, op, seen, seen >= DASH_BULK_MAX);
    } else {
        snprintf(msg, sizeof(msg), "%s %lld of %lld jobs", retry ? "retried" : "cancelled",
                 (long long)done, (long long)seen);
        dash_done(r, "/jobs", msg);
    }
}

/* ---- Queues and cron ---- */

/* Records a change made in the transaction open on c and commits both, so that a change never
 * stands unrecorded: 0, or -1 with the change rolled back and err set. */
static int
dash_change_commit(struct producer_conn *c, const struct dash_who *w, const char *action,
                   const char *kind, const char *id, char *err, size_t errlen)
{
    char why[256];
    bool lost = false;
    if (audit_commit(c->db, w->user, action, kind, id, NULL, &lost, why, sizeof(why)) == 0)
        return 0;
    if (lost)
        /* The commit's answer, not the commit, may be what was lost. */
        snprintf(err, errlen,
                 "outcome unknown: the connection was lost while committing (%s); the change "
                 "and its audit_log row are both made or both not: reload to see which",
                 why);
    else
        snprintf(err, errlen, "not done: the change could not be recorded in audit_log (%s)", why);
    return -1;
}

static void
dash_queue_change(struct http_req *r, const struct dash_who *w, const char *q, const char *verb)
{
    bool pause = strcmp(verb, "pause") == 0;
    /* A name no job can carry would get a settings row of its own, shown as paused. */
    if (!job_queue_name_ok(q)) {
        dash_error(r, w, 400, "%s: queue name \"%s\" must be 1-64 of [A-Za-z0-9._-]", verb, q);
        return;
    }
    struct producer_conn *c = producer_pool_get(r->p);
    char err[512] = "";
    /* The change and its record share a transaction. */
    int rc = db_begin(c->db);
    if (rc < 0) {
        snprintf(err, sizeof(err), "%s", db_errstr(c->db));
    } else if (settings_queue_pause(c->db, q, pause) < 0) {
        snprintf(err, sizeof(err), "%s", db_errstr(c->db));
        db_rollback(c->db);
        rc = -1;
    } else {
        rc = dash_change_commit(c, w, verb, "queue", q, err, sizeof(err));
    }
    producer_pool_put(r->p, c);
    if (rc < 0) {
        dash_error(r, w, 503, "%s: %s", verb, err);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "/queues/");
    html_url(&b, q);
    dash_done(r, b.data, pause ? "paused" : "resumed");
    buf_release(&b);
}

/* Enqueues one run of the cron job now, as the scheduler would for a fire but outside the
 * schedule (no fire time, so it never collides with a scheduled fire). Returns the job id or
 * -1 with err. */
static int64_t
dash_cron_run(struct http_req *r, struct producer_conn *c, const cJSON *cj, char *err,
              size_t errlen)
{
    char *params = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(cj, "parameters"));
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(cj, "timeout_s");
    const cJSON *ma = cJSON_GetObjectItemCaseSensitive(cj, "max_attempts");
    struct job_spec spec = {
        .action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cj, "action")),
        .parameters = params,
        .queue = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cj, "queue")),
        .priority = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cj, "priority")),
        .timeout_s = cJSON_IsNumber(to) ? (int)to->valuedouble : 0,
        .max_attempts = cJSON_IsNumber(ma) ? (int)ma->valuedouble : 0,
        .origin = "cron",
        .cron_job_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cj, "id")),
    };
    struct job_spec checked;
    struct job_ref ref;
    const char *field = NULL;
    int64_t id = -1;
    if (job_spec_check(&spec, r->p->cfg->worker.test_actions, &checked, &field, err, errlen) ==
            JOB_E_OK &&
        job_insert(c->db, &checked, &ref, err, errlen) == JOB_E_OK) {
        job_count_enqueued(checked.action, &ref);
        job_push(c->rq, &ref);
        id = ref.id;
    }
    cJSON_free(params);
    return id;
}

/* Enables or disables cron job name (verb "enable" or "disable") and records it, in one
 * transaction: the cron job as JSON, or NULL with *e and err set and nothing changed. */
static cJSON *
dash_cron_set(struct producer_conn *c, const struct dash_who *w, const struct cfg *cfg,
              const char *name, const char *verb, enum job_err *e, char *err, size_t errlen)
{
    if (db_begin(c->db) < 0) {
        *e = JOB_E_DB;
        snprintf(err, errlen, "%s", db_errstr(c->db));
        return NULL;
    }
    cJSON *cj =
        cronjob_set_active_json(c->db, cfg, name, strcmp(verb, "enable") == 0, e, err, errlen);
    if (cj == NULL) {
        db_rollback(c->db);
        return NULL;
    }
    if (dash_change_commit(c, w, verb, "cron", name, err, errlen) < 0) {
        cJSON_Delete(cj);
        *e = JOB_E_DB;
        return NULL;
    }
    return cj;
}

static void
dash_cron_change(struct http_req *r, const struct dash_who *w, const char *name, const char *verb)
{
    char err[512], detail[64] = "";
    enum job_err e = JOB_E_OK;
    bool run = strcmp(verb, "run") == 0;
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *cj = run ? cronjob_get_json(c->db, r->p->cfg, name, &e, err, sizeof(err))
                    : dash_cron_set(c, w, r->p->cfg, name, verb, &e, err, sizeof(err));
    if (cj && run) {
        int64_t id = dash_cron_run(r, c, cj, err, sizeof(err));
        if (id < 0)
            e = JOB_E_DB;
        else
            snprintf(detail, sizeof(detail), "job %lld", (long long)id);
    }
    /* A run now is its job, pushed once committed: its record follows it. */
    if (run && cj && e == JOB_E_OK)
        dash_audit(c, w, "run now", "cron", name, detail);
    producer_pool_put(r->p, c);
    cJSON_Delete(cj);
    if (cj == NULL || e != JOB_E_OK) {
        dash_error(r, w, e == JOB_E_NOTFOUND ? 404 : e == JOB_E_INPUT ? 400 : 503, "%s", err);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, "/cron/");
    html_url(&b, name);
    char msg[DASH_SEG_MAX + 32];
    if (run)
        snprintf(msg, sizeof(msg), "started %s", detail);
    else
        snprintf(msg, sizeof(msg), "%sd", verb);
    dash_done(r, b.data, msg);
    buf_release(&b);
}

void
dash_action(struct http_req *r, const struct dash_who *w)
{
    char s[3][DASH_SEG_MAX];
    int n = dash_path(r, s, 3);
    int64_t id;
    if (n == 2 && strcmp(s[0], "jobs") == 0 && strcmp(s[1], "bulk") == 0)
        dash_bulk(r, w);
    else if (n == 3 && strcmp(s[0], "jobs") == 0 && parse_int64(s[1], 1, INT64_MAX, &id) == 0 &&
             (strcmp(s[2], "retry") == 0 || strcmp(s[2], "cancel") == 0))
        dash_job_change(r, w, id, s[2]);
    else if (n == 3 && strcmp(s[0], "queues") == 0 &&
             (strcmp(s[2], "pause") == 0 || strcmp(s[2], "resume") == 0))
        dash_queue_change(r, w, s[1], s[2]);
    else if (n == 3 && strcmp(s[0], "cron") == 0 &&
             (strcmp(s[2], "enable") == 0 || strcmp(s[2], "disable") == 0 ||
              strcmp(s[2], "run") == 0))
        dash_cron_change(r, w, s[1], s[2]);
    else
        dash_error(r, w, 404, "no such change: POST %s", r->url);
}
