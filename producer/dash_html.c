/* This file holds the dashboard's HTML helpers: escaping, the page frame, forms with their
 * CSRF field, form-body parsing, and the replies with the dashboard's security headers. */
#include "dash_int.h"
#include "hmac.h"
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No inline script or style anywhere: the page's own files only, never framed. */
#define DASH_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src "        \
    "'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

void
html_esc(struct buf *b, const char *s)
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

void
html_url(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~", c))
            buf_append(b, s, 1);
        else
            buf_printf(b, "%%%02X", c);
    }
}

void
html_begin(struct buf *b, const struct dash_who *w, const char *title, const char *nav)
{
    static const char *items[][2] = {{"/", "Overview"},       {"/jobs", "Jobs"},
                                     {"/queues", "Queues"},   {"/cron", "Cron"},
                                     {"/workers", "Workers"}, {"/webhooks", "Webhooks"},
                                     {"/changes", "Changes"}};
    buf_appends(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<link rel=\"stylesheet\" href=\"/assets/app.css\">"
                   "<script src=\"/assets/app.js\" defer></script><title>");
    html_esc(b, title);
    buf_appends(b, " · jobfleet</title></head><body>\n<header><a class=\"brand\" href=\"/\">"
                   "jobfleet</a><nav>");
    for (size_t i = 0; w && i < sizeof(items) / sizeof(items[0]); i++)
        buf_printf(b, "<a href=\"%s\"%s>%s</a>", items[i][0],
                   strcmp(items[i][1], nav) == 0 ? " class=\"on\"" : "", items[i][1]);
    buf_appends(b, "</nav>");
    if (w) {
        buf_appends(b, "<span class=\"who\">");
        html_esc(b, w->user);
        buf_appends(b, w->admin ? "" : " (read-only)");
        if (!w->bearer) {
            buf_appends(b, "</span>");
            html_form(b, w, "/logout", "inline");
            buf_appends(b, "<button>Log out</button></form>");
        } else {
            buf_appends(b, "</span>");
        }
    }
    buf_appends(b, "</header>\n<main>\n<h1>");
    html_esc(b, title);
    buf_appends(b, "</h1>\n");
}

void
html_flash(struct buf *b, struct http_req *r)
{
    const char *done = http_query(r, "done"), *sig = http_query(r, "ds");
    char want[33];
    if (done == NULL || !done[0] || sig == NULL)
        return;
    dash_auth_flash_sig(&dash_of(r)->auth, done, want);
    if (!hmac_equal(sig, strlen(sig), want, strlen(want)))
        return;
    buf_appends(b, "<p class=\"flash\">");
    html_esc(b, done);
    buf_appends(b, "</p>");
}

void
html_end(struct buf *b)
{
    buf_appends(b, "</main></body></html>\n");
}

void
html_form(struct buf *b, const struct dash_who *w, const char *action, const char *cls)
{
    html_form_confirm(b, w, action, cls, NULL);
}

void
html_form_confirm(struct buf *b, const struct dash_who *w, const char *action, const char *cls,
                  const char *question)
{
    buf_appends(b, "<form method=\"post\" action=\"");
    html_esc(b, action);
    buf_appends(b, "\"");
    if (question) {
        buf_appends(b, " data-confirm=\"");
        html_esc(b, question);
        buf_appends(b, "\"");
    }
    if (cls) {
        buf_appends(b, " class=\"");
        html_esc(b, cls);
        buf_appends(b, "\"");
    }
    buf_appends(b, "><input type=\"hidden\" name=\"csrf\" value=\"");
    html_esc(b, w->csrf);
    buf_appends(b, "\">");
}

void
html_table(struct buf *b, const struct dash_who *w, const char *id, const char *head,
           const cJSON *rows, html_row_fn *row, const char *json_path)
{
    buf_printf(b, "<div class=\"tbl\"><table id=\"%s\"><tr>%s</tr>\n", id, head);
    const cJSON *it;
    cJSON_ArrayForEach(it, rows) row(b, w, it);
    buf_appends(b, "</table></div>\n");
    if (json_path)
        buf_printf(b, "<p class=\"mut\"><a href=\"%s?format=json\">JSON</a></p>\n", json_path);
}

const char *
html_val(const cJSON *o, const char *name, char *tmp, size_t len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(tmp, len, "%.0f", v->valuedouble);
        return tmp;
    }
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "yes" : "no";
    return "";
}

void
html_age(struct buf *b, int64_t ms)
{
    int64_t s = ms / 1000;
    if (ms < 0)
        buf_appends(b, "–");
    else if (s < 60)
        buf_printf(b, "%lld s", (long long)s);
    else if (s < 3600)
        buf_printf(b, "%lld min", (long long)(s / 60));
    else if (s < 86400)
        buf_printf(b, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        buf_printf(b, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static void
dash_reply(struct http_req *r, int status, const char *ctype, const char *body,
           const char *location, const char *cookie)
{
    const char *hdrs[16];
    int n = 0;
    hdrs[n++] = "Content-Security-Policy";
    hdrs[n++] = DASH_CSP;
    hdrs[n++] = "X-Content-Type-Options";
    hdrs[n++] = "nosniff";
    hdrs[n++] = "Referrer-Policy";
    hdrs[n++] = "same-origin";
    hdrs[n++] = "Cache-Control";
    hdrs[n++] = "no-store";
    if (location) {
        hdrs[n++] = "Location";
        hdrs[n++] = location;
    }
    if (cookie) {
        hdrs[n++] = "Set-Cookie";
        hdrs[n++] = cookie;
    }
    hdrs[n] = NULL;
    http_reply_headers(r, status, ctype, body, hdrs);
}

void
dash_reply_html(struct http_req *r, int status, struct buf *b)
{
    dash_reply(r, status ? status : 200, "text/html; charset=utf-8", b->data, NULL, NULL);
}

void
dash_reply_json(struct http_req *r, int status, const cJSON *j)
{
    char *s = json_print(j);
    dash_reply(r, status, "application/json", s, NULL, NULL);
    free(s);
}

void
dash_redirect(struct http_req *r, const char *location, const char *cookie)
{
    dash_reply(r, 303, "text/plain; charset=utf-8", "", location, cookie);
}

bool
dash_wants_json(struct http_req *r)
{
    const char *f = http_query(r, "format");
    return f && strcmp(f, "json") == 0;
}

void
dash_show(struct http_req *r, const struct dash_who *w, const cJSON *data, const char *title,
          const char *nav, dash_render_fn *render)
{
    if (dash_wants_json(r)) {
        dash_reply_json(r, 200, data);
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, w, title, nav);
    html_flash(&b, r);
    render(&b, w, data);
    html_end(&b);
    dash_reply_html(r, 200, &b);
    buf_release(&b);
}

void
dash_error(struct http_req *r, const struct dash_who *w, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (dash_wants_json(r) || (w && w->bearer)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", msg);
        dash_reply_json(r, status, o);
        cJSON_Delete(o);
    } else {
        struct buf b;
        buf_init(&b, 0);
        html_begin(&b, w, status == 404 ? "Not found" : "Error", "");
        buf_appends(&b, "<p class=\"err\">");
        html_esc(&b, msg);
        buf_appends(&b, "</p>\n");
        html_end(&b);
        dash_reply_html(r, status, &b);
        buf_release(&b);
    }
    free(msg);
}
