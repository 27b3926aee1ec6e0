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
dash_changes_older(struct buf *b, const cJSON *data)
{
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(data, "next_before");
    if (!cJSON_IsNumber(next))
        return;
    char t1[80], t2[16];
    const char *actor = html_val(data, "actor", t1, sizeof(t1)),
               *kind = html_val(data, "kind", t2, sizeof(t2));
    buf_printf(b, "<p><a href=\"/changes?before=%.0f", next->valuedouble);
    if (actor[0]) {
        buf_appends(b, "&amp;actor=");
        html_url(b, actor);
    }
    if (kind[0])
        buf_printf(b, "&amp;kind=%s", kind);
    buf_appends(b, "\">Older changes</a></p>");
}

static void
dash_changes_render(struct buf *b, const struct dash_who *w, const cJSON *data)
{
    char t1[80], t2[16];
    const char *actor = html_val(data, "actor", t1, sizeof(t1)),
               *kind = html_val(data, "kind", t2, sizeof(t2));
    dash_changes_form(b, actor, kind);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(data, "changes");
    if (cJSON_GetArraySize(list) == 0)
        buf_appends(b, "<p class=\"mut\">No changes recorded.</p>\n");
    else
        html_table(b, w, "changes",
                   "<th>when</th><th>who</th><th>what</th><th>object</th>"
                   "<th class=\"hide-sm\">detail</th>",
                   list, dash_change_tr, NULL);
    dash_changes_older(b, data);
    buf_appends(b, "<p class=\"mut\">Every change made with the dashboard, the JSON API or the "
                   "CLI (<a href=\"/changes?format=json\">JSON</a>).</p>");
}

/* The page's data: the filters, the changes, and the id to page on from (null: no more). */
static cJSON *
dash_changes_data(cJSON *list, const char *actor, const char *kind)
{
    cJSON *data = cJSON_CreateObject();
    cJSON_AddItemToObject(data, "actor", actor ? cJSON_CreateString(actor) : cJSON_CreateNull());
    cJSON_AddItemToObject(data, "kind", kind ? cJSON_CreateString(kind) : cJSON_CreateNull());
    const cJSON *last = cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(last, "id");
    bool more = cJSON_GetArraySize(list) == DASH_CHANGES_ROWS && cJSON_IsNumber(id);
    cJSON_AddItemToObject(data, "next_before",
                          more ? cJSON_CreateNumber(id->valuedouble) : cJSON_CreateNull());
    cJSON_AddItemToObject(data, "changes", list);
    return data;
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
    cJSON *data = dash_changes_data(list, actor, kind);
    dash_show(r, w, data, "Changes", "Changes", dash_changes_render);
    cJSON_Delete(data);
}
