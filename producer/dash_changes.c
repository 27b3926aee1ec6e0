/* This file serves the dashboard's Changes page: every change recorded in audit_log, newest
 * first, whoever made it and whichever way (the dashboard, the JSON API, the CLI), filtered by
 * who made it and by the kind of object, each row linked to the page of what it changed. */
#include "audit.h"
#include "dash_int.h"
#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_CHANGES_ROWS 100

/* The changed object as a link to its page (an action has none). */
static void
dash_change_object(struct buf *b, const cJSON *row)
{
    char t1[32], t2[32];
    const char *kind = html_val(row, "object_kind", t1, sizeof(t1));
    const char *id = html_val(row, "object_id", t2, sizeof(t2));
    const char *base = strcmp(kind, "job") == 0     ? "/jobs/"
                       : strcmp(kind, "queue") == 0 ? "/queues/"
                       : strcmp(kind, "cron") == 0  ? "/cron/"
                                                    : NULL;
    html_esc(b, kind);
    buf_appends(b, " ");
    if (base) {
        buf_printf(b, "<a href=\"%s", base);
        html_url(b, id);
        buf_appends(b, "\">");
    }
    html_esc(b, id);
    if (base)
        buf_appends(b, "</a>");
}

static void
dash_change_tr(struct buf *b, const struct dash_who *w, const cJSON *row)
{
    (void)w;
    char t[32];
    buf_appends(b, "<tr><td>");
    html_esc(b, html_val(row, "dt_created", t, sizeof(t)));
    buf_appends(b, "</td><td>");
    html_esc(b, html_val(row, "actor", t, sizeof(t)));
    buf_appends(b, "</td><td>");
    html_esc(b, html_val(row, "action", t, sizeof(t)));
    buf_appends(b, "</td><td>");
    dash_change_object(b, row);
    buf_appends(b, "</td><td class=\"hide-sm\">");
    html_esc(b, html_val(row, "detail", t, sizeof(t)));
    buf_appends(b, "</td></tr>\n");
}

/* The filter form, with the filters given kept in it. */
static void
dash_changes_form(struct buf *b, const char *actor, const char *kind)
{
    buf_appends(b, "<form class=\"filters\" method=\"get\" action=\"/changes\"><label>who"
                   "<input name=\"actor\" placeholder=\"admin, api-token, cli:ops\" value=\"");
    html_esc(b, actor);
    buf_appends(b, "\"></label><label>object<select name=\"kind\"><option value=\"\">any</option>");
    static const char *const kinds[] = {"job", "queue", "cron", "action"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        buf_printf(b, "<option%s>%s</option>",
                   kind && strcmp(kind, kinds[i]) == 0 ? " selected" : "", kinds[i]);
    buf_appends(b, "</select></label><button>Filter</button></form>");
}

/* "Older changes": the same filters from below the last row. */
static void
dash_changes_older(struct buf *b, const cJSON *list, const char *actor, const char *kind)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1), "id");
    if (cJSON_GetArraySize(list) < DASH_CHANGES_ROWS || !cJSON_IsNumber(id))
        return;
    buf_printf(b, "<p><a href=\"/changes?before=%.0f", id->valuedouble);
    if (actor) {
        buf_appends(b, "&amp;actor=");
        html_url(b, actor);
    }
    if (kind)
        buf_printf(b, "&amp;kind=%s", kind);
    buf_appends(b, "\">Older changes</a></p>");
}

void
dash_changes(struct http_req *r, const struct dash_who *w)
{
    const char *actor = http_query(r, "actor"), *kind = http_query(r, "kind"),
               *before = http_query(r, "before");
    int64_t bid = 0;
    actor = actor && actor[0] ? actor : NULL;
    kind = kind && kind[0] ? kind : NULL;
    if (kind && !audit_kind_ok(kind)) {
        dash_error(r, w, 400, "kind must be " AUDIT_KINDS);
        return;
    }
    if (actor && strlen(actor) > 64) {
        dash_error(r, w, 400, "actor is at most 64 characters");
        return;
    }
    if (before && before[0] && parse_int64(before, 1, INT64_MAX, &bid) < 0) {
        dash_error(r, w, 400, "before must be a change's id");
        return;
    }
    char prefix[96], err[256];
    dash_timeout_prefix(r, prefix, sizeof(prefix));
    struct producer_conn *c = producer_pool_get(r->p);
    cJSON *list = audit_recent(c->db, prefix, actor, kind, bid, DASH_CHANGES_ROWS);
    snprintf(err, sizeof(err), "%s", list ? "" : db_errstr(c->db));
    producer_pool_put(r->p, c);
    if (list == NULL) {
        dash_error(r, w, 503, "read audit_log: %s", err);
        return;
    }
    if (dash_wants_json(r)) {
        dash_reply_json(r, 200, list);
        cJSON_Delete(list);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, w, "Changes", "Changes");
    dash_changes_form(&b, actor, kind);
    if (cJSON_GetArraySize(list) == 0)
        buf_appends(&b, "<p class=\"mut\">No changes recorded.</p>\n");
    else
        html_table(&b, w, "changes",
                   "<th>when</th><th>who</th><th>what</th><th>object</th>"
                   "<th class=\"hide-sm\">detail</th>",
                   list, dash_change_tr, NULL);
    dash_changes_older(&b, list, actor, kind);
    buf_appends(&b, "<p class=\"mut\">Every change made with the dashboard, the JSON API or the "
                    "CLI (<a href=\"/changes?format=json\">JSON</a>).</p>");
    html_end(&b);
    dash_reply_html(r, 200, &b);
    buf_release(&b);
    cJSON_Delete(list);
}
