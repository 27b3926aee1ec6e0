/* This file routes the dashboard's requests: the assets, login and logout, who is asking (a
 * session cookie, or the API token as a bearer token for scripts), the CSRF checks of every
 * POST, and the Overview page. The other pages live in dash_jobs.c and dash_fleet.c, the
 * changes in dash_actions.c. */
#include "dash_int.h"
#include "job_query.h"
#include "log.h"
#include "producer.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_COOKIE "jf_session"

int
dash_check_config(const struct cfg *c, char *err, size_t errlen)
{
    struct dash_user *u = NULL;
    int n = 0;
    if (dash_users_parse(c->dashboard.users, &u, &n, err, errlen) < 0)
        return -1;
    dash_users_free(u, n);
    return 0;
}

struct dash *
dash_start(struct producer *p, char *err, size_t errlen)
{
    struct dash *d = xcalloc(1, sizeof(*d));
    d->p = p;
    if (dash_auth_init(&d->auth, p->cfg, err, errlen) < 0) {
        free(d);
        return NULL;
    }
    if (dash_cache_start(&d->cache, p->cfg) < 0) {
        snprintf(err, errlen, "cannot start the dashboard cache thread");
        dash_auth_release(&d->auth);
        free(d);
        return NULL;
    }
    return d;
}

void
dash_stop(struct dash *d)
{
    if (d == NULL)
        return;
    dash_cache_stop(&d->cache);
    dash_auth_release(&d->auth);
    free(d);
}

cJSON *
dash_snapshot(struct dash *d)
{
    return dash_cache_get(&d->cache);
}

struct dash *
dash_of(struct http_req *r)
{
    return r->p->dash;
}

void
dash_timeout_prefix(struct http_req *r, char *out, size_t len)
{
    job_query_timeout_prefix(r->p->cfg->dashboard.query_timeout_ms, out, len);
}

/* The session cookie's value from the Cookie header into out (65 bytes); false if absent. */
static bool
dash_cookie(struct http_req *r, char *out)
{
    const char *c = http_headers_get(&r->headers, "cookie");
    size_t nl = strlen(DASH_COOKIE);
    while (c && *c) {
        c += strspn(c, " ;");
        size_t n = strcspn(c, ";");
        if (n == nl + 65 && strncmp(c, DASH_COOKIE "=", nl + 1) == 0) {
            snprintf(out, 65, "%.64s", c + nl + 1);
            return true;
        }
        c += n;
    }
    return false;
}

/* Who is asking: a live session, or the API token as a bearer token. */
static bool
dash_identify(struct http_req *r, struct dash_who *w)
{
    memset(w, 0, sizeof(*w));
    struct dash *d = dash_of(r);
    const char *a = http_headers_get(&r->headers, "authorization");
    if (a && strncmp(a, "Bearer ", 7) == 0) {
        if (!dash_auth_token(&d->auth, a + 7))
            return false;
        snprintf(w->user, sizeof(w->user), "api-token");
        w->admin = true;
        w->bearer = true;
        return true;
    }
    char id[65];
    struct dash_session s;
    if (!dash_cookie(r, id) || !dash_auth_lookup(&d->auth, id, &s))
        return false;
    snprintf(w->user, sizeof(w->user), "%s", s.user);
    snprintf(w->csrf, sizeof(w->csrf), "%s", s.csrf);
    w->admin = s.admin;
    return true;
}

/* A POST from a browser must come from this site: Sec-Fetch-Site same-origin when the browser
 * sends it, an Origin whose host is this Host (as a trusted proxy forwards it) when it sends
 * that, and the session's form token always. A bearer-token client is not a browser and carries no
 * ambient credential. */
static const char *
dash_csrf_problem(struct http_req *r, const struct dash_who *w, const char *csrf)
{
    if (w && w->bearer)
        return NULL;
    const char *site = http_headers_get(&r->headers, "sec-fetch-site");
    if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return "a cross-site request (Sec-Fetch-Site)";
    const char *origin = http_headers_get(&r->headers, "origin");
    if (origin) {
        char host[256];
        http_host(r, host, sizeof(host));
        const char *o = strstr(origin, "://");
        if (host[0] == '\0' || o == NULL || strcmp(o + 3, host) != 0)
            return "a request from another origin (Origin)";
    }
    if (w == NULL)
        return NULL; /* the login form: no session yet */
    if (csrf == NULL || strlen(csrf) != 64 || strcmp(csrf, w->csrf) != 0)
        return "a missing or wrong form token";
    return NULL;
}

static void
dash_login_page(struct http_req *r, int status, const char *msg)
{
    struct buf b;
    buf_init(&b, 0);
    html_begin(&b, NULL, "Log in", "");
    buf_appends(&b, "<form class=\"login\" method=\"post\" action=\"/login\">");
    if (msg) {
        buf_appends(&b, "<p class=\"err\">");
        html_esc(&b, msg);
        buf_appends(&b, "</p>");
    }
    buf_appends(&b, "<label>User <input name=\"user\" id=\"user\" autocomplete=\"username\">"
                    "</label><label>Password <input name=\"password\" id=\"password\" "
                    "type=\"password\" autocomplete=\"current-password\"></label>"
                    "<p class=\"mut\">or leave the user empty and give the API token.</p>"
                    "<button id=\"login\">Log in</button></form>\n");
    html_end(&b);
    dash_reply_html(r, status, &b);
    buf_release(&b);
}

static void
dash_login(struct http_req *r)
{
    if (strcmp(r->method, "POST") != 0) {
        dash_login_page(r, 200, NULL);
        return;
    }
    const char *why = dash_csrf_problem(r, NULL, NULL);
    if (why) {
        dash_error(r, NULL, 403, "refused: %s", why);
        return;
    }
    char user[DASH_NAME_MAX + 1] = "", pass[1024] = "", ip[64];
    form_get(r->body.data, "user", user, sizeof(user));
    form_get(r->body.data, "password", pass, sizeof(pass));
    http_client(r, ip, sizeof(ip));
    struct dash *d = dash_of(r);
    struct dash_session s;
    int64_t retry_s = 0;
    enum dash_login res = dash_auth_login(&d->auth, ip, user, pass, &s, &retry_s);
    memset(pass, 0, sizeof(pass));
    if (res == DASH_LOGIN_LOCKED) {
        char msg[128];
        snprintf(msg, sizeof(msg), "too many failed logins; try again in %lld s",
                 (long long)retry_s);
        dash_login_page(r, 429, msg);
        return;
    }
    if (res == DASH_LOGIN_BUSY) {
        dash_login_page(r, 429, "too many logins are being tried right now; try again in a moment");
        return;
    }
    if (res == DASH_LOGIN_BAD) {
        dash_login_page(r, 401, "wrong user or password");
        return;
    }
    char *cookie = xasprintf(DASH_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
                             s.id, r->p->cfg->dashboard.session_ttl_s,
                             r->p->cfg->dashboard.cookie_secure ? "; Secure" : "");
    dash_redirect(r, "/", cookie);
    free(cookie);
}

static void
dash_logout(struct http_req *r)
{
    char id[65];
    if (dash_cookie(r, id))
        dash_auth_logout(&dash_of(r)->auth, id);
    dash_redirect(r, "/login", DASH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

static void
dash_asset(struct http_req *r, const char *ctype, const char *body)
{
    const char *hdrs[] = {"Cache-Control", "max-age=3600", "X-Content-Type-Options", "nosniff",
                          NULL};
    http_reply_headers(r, 200, ctype, body, hdrs);
}

int
dash_path(struct http_req *r, char segs[][DASH_SEG_MAX], int max)
{
    /* The raw target, since a decoded path cannot tell "%2F" inside a cron job's name from
     * the "/" between segments. */
    const char *p = r->raw_url;
    size_t end = strcspn(p, "?#");
    int n = 0;
    for (size_t i = 0; i < end;) {
        if (p[i] == '/') {
            i++;
            continue;
        }
        size_t len = strcspn(p + i, "/?#");
        /* Encoded, a segment may take three bytes for each one of its name. */
        if (n == max || len >= 3 * DASH_SEG_MAX)
            return -1;
        size_t o = 0;
        for (size_t k = 0; k < len; k++) {
            char c = p[i + k];
            if (c == '%' && k + 2 < len && hex_digit(p[i + k + 1]) >= 0 &&
                hex_digit(p[i + k + 2]) >= 0) {
                c = (char)(hex_digit(p[i + k + 1]) * 16 + hex_digit(p[i + k + 2]));
                k += 2;
            }
            if (c == '\0' || o + 1 == DASH_SEG_MAX)
                return -1;
            segs[n][o++] = c;
        }
        segs[n][o] = '\0';
        n++;
        i += len;
    }
    return n;
}

static void
dash_get(struct http_req *r, const struct dash_who *w)
{
    char s[3][DASH_SEG_MAX];
    int n = dash_path(r, s, 3);
    int64_t id;
    if (n == 0)
        dash_overview(r, w);
    else if (n == 1 && strcmp(s[0], "jobs") == 0)
        dash_jobs(r, w);
    else if (n == 2 && strcmp(s[0], "jobs") == 0 && parse_int64(s[1], 1, INT64_MAX, &id) == 0)
        dash_job(r, w, id);
    else if (n == 1 && strcmp(s[0], "queues") == 0)
        dash_queues(r, w);
    else if (n == 2 && strcmp(s[0], "queues") == 0)
        dash_queue(r, w, s[1]);
    else if (n == 1 && strcmp(s[0], "cron") == 0)
        dash_cron(r, w);
    else if (n == 2 && strcmp(s[0], "cron") == 0)
        dash_cron_one(r, w, s[1]);
    else if (n == 1 && strcmp(s[0], "workers") == 0)
        dash_workers(r, w);
    else if (n == 1 && strcmp(s[0], "webhooks") == 0)
        dash_webhooks(r, w);
    else if (n == 1 && strcmp(s[0], "changes") == 0)
        dash_changes(r, w);
    else
        dash_error(r, w, 404, "no such page: %s", r->url);
}

/* Whether the path lies in one of the dashboard's sections: anything else is answered with
 * the producer's one 404 before any login, so unknown paths look alike to a stranger. */
static bool
dash_section_known(struct http_req *r)
{
    static const char *const sections[] = {"jobs",     "queues",  "cron",  "workers",
                                           "webhooks", "changes", "logout"};
    char s[3][DASH_SEG_MAX];
    int n = dash_path(r, s, 3);
    if (n == 0)
        return true;
    for (size_t i = 0; n > 0 && i < sizeof(sections) / sizeof(sections[0]); i++)
        if (strcmp(s[0], sections[i]) == 0)
            return true;
    return false;
}

void
dash_handle(struct http_req *r)
{
    const char *u = r->url;
    bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
    bool post = strcmp(r->method, "POST") == 0;
    if (get && strcmp(u, "/assets/app.css") == 0) {
        dash_asset(r, "text/css; charset=utf-8", dash_css);
        return;
    }
    if (get && strcmp(u, "/assets/app.js") == 0) {
        dash_asset(r, "text/javascript; charset=utf-8", dash_js);
        return;
    }
    if (get && strcmp(u, "/favicon.ico") == 0) {
        /* Browsers ask for it on every page; no icon, and no 404 in their console. */
        http_reply(r, 204, "image/x-icon", NULL, NULL);
        return;
    }
    if (strcmp(u, "/login") == 0 && (get || post)) {
        dash_login(r);
        return;
    }
    if (!get && !post) {
        http_reply_with(r, 405, NULL, "{\"error\":\"use GET or POST\",\"field\":null}", "Allow",
                        "GET, POST");
        return;
    }
    if (!dash_section_known(r)) {
        http_reply_not_found(r);
        return;
    }
    struct dash_who w;
    if (!dash_identify(r, &w)) {
        if (dash_wants_json(r) || http_headers_get(&r->headers, "authorization"))
            http_reply_with(r, 401, NULL, "{\"error\":\"log in or send the API token\"}",
                            "WWW-Authenticate", "Bearer realm=\"jobfleet\"");
        else
            dash_redirect(r, "/login", NULL);
        return;
    }
    if (get) {
        dash_get(r, &w);
        return;
    }
    char csrf[80] = "";
    form_get(r->body.data, "csrf", csrf, sizeof(csrf));
    const char *why = dash_csrf_problem(r, &w, csrf);
    if (why) {
        log_warnx("dashboard: %s %s by %s refused: %s", r->method, u, w.user, why);
        dash_error(r, &w, 403, "refused: %s", why);
        return;
    }
    if (strcmp(u, "/logout") == 0) {
        dash_logout(r);
        return;
    }
    if (!w.admin) {
        dash_error(r, &w, 403, "%s has the read-only role and cannot change anything", w.user);
        return;
    }
    dash_action(r, &w);
}

/* ---- Overview ---- */

static void
dash_chart(struct buf *b, const cJSON *pm)
{
    static const struct {
        const char *name, *color, *label;
    } series[] = {{"succeeded", "#17803d", "succeeded"},
                  {"failed", "#c4320a", "failed"},
                  {"webhooks", "#175cd3", "webhooks received"}};
    double max = 1;
    for (size_t s = 0; s < 3; s++) {
        const cJSON *v, *a = cJSON_GetObjectItemCaseSensitive(pm, series[s].name);
        cJSON_ArrayForEach(v, a) if (v->valuedouble > max) max = v->valuedouble;
    }
    buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 1440 100\" preserveAspectRatio=\"none\" "
                  "role=\"img\" aria-label=\"per minute, last 24 hours\">");
    for (size_t s = 0; s < 3; s++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(pm, series[s].name), *v;
        buf_printf(b,
                   "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                   "vector-effect=\"non-scaling-stroke\" points=\"",
                   series[s].color);
        int x = 0;
        cJSON_ArrayForEach(v, a) buf_printf(b, "%d,%.1f ", x++, 100 - v->valuedouble * 98 / max);
        buf_appends(b, "\"/>");
    }
    buf_printf(b,
               "</svg><p class=\"legend mut\">per minute, last 24 h, peak %.0f: "
               "<span class=\"sw-ok\">■ succeeded</span><span class=\"sw-bad\">■ failed"
               "</span><span class=\"sw-wh\">■ webhooks received</span></p>\n",
               max);
}

static void
dash_overview_html(struct buf *b, const struct dash_who *w, const cJSON *s)
{
    (void)w;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "error"), *it;
    if (cJSON_IsString(e)) {
        buf_appends(b, "<p class=\"err\">The numbers may be old: ");
        html_esc(b, e->valuestring);
        buf_appends(b, "</p>");
    }
    buf_appends(b, "<div class=\"cards\">");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "states"))
    {
        buf_printf(b, "<a class=\"card st-%s\" href=\"/jobs?state=%s\">%s<b>%.0f</b></a>",
                   it->string, it->string, it->string, it->valuedouble);
    }
    buf_appends(b, "</div>\n<h2>Finished and received per minute</h2>\n");
    dash_chart(b, cJSON_GetObjectItemCaseSensitive(s, "per_minute"));
    buf_appends(b, "<h2>Oldest queued job per queue</h2><div class=\"tbl\"><table><tr><th>queue"
                   "</th><th>queued</th><th>oldest</th></tr>");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "queued"))
    {
        buf_appends(b, "<tr><td><a href=\"/queues/");
        html_url(b, it->string);
        buf_appends(b, "\">");
        html_esc(b, it->string);
        char tmp[32];
        buf_printf(b, "</a></td><td>%s</td><td>", html_val(it, "count", tmp, sizeof(tmp)));
        html_age(b, (int64_t)cJSON_GetNumberValue(
                        cJSON_GetObjectItemCaseSensitive(it, "oldest_age_ms")));
        buf_appends(b, "</td></tr>");
    }
    buf_appends(b, "</table></div>\n<h2>Fleet</h2><ul>");
    const cJSON *leader = cJSON_GetObjectItemCaseSensitive(s, "leader");
    buf_appends(b, "<li>scheduler leader: ");
    if (cJSON_IsObject(leader)) {
        char tmp[32];
        html_esc(b, html_val(leader, "host", tmp, sizeof(tmp)));
        buf_printf(b, " (connection %s)", html_val(leader, "connection_id", tmp, sizeof(tmp)));
    } else {
        buf_appends(b, "<span class=\"err\">none</span>");
    }
    char t1[32], t2[32], t3[32], t4[32];
    buf_printf(b, "</li><li>workers: %s, slots %s</li><li>spool: %s webhooks, %s bytes</li>",
               html_val(s, "workers", t1, sizeof(t1)), html_val(s, "slots", t2, sizeof(t2)),
               html_val(s, "spool_files", t3, sizeof(t3)),
               html_val(s, "spool_bytes", t4, sizeof(t4)));
    buf_appends(b, "</ul><p class=\"mut\">Counts and charts are refreshed in the background; ");
    buf_printf(b, "last refresh took %s ms. <a href=\"/?format=json\">JSON</a></p>\n",
               html_val(s, "refresh_took_ms", t1, sizeof(t1)));
}

void
dash_overview(struct http_req *r, const struct dash_who *w)
{
    struct producer *p = r->p;
    cJSON *s = dash_snapshot(p->dash);
    cJSON_AddNumberToObject(s, "spool_files", (double)spool_files(p->spool));
    cJSON_AddNumberToObject(s, "spool_bytes", (double)spool_bytes(p->spool));
    dash_show(r, w, s, "Overview", "Overview", dash_overview_html);
    cJSON_Delete(s);
}
