/* This file implements the dashboard test helpers of tdash.h. */
#include "tdash.h"
#include "tproducer.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long
dreq(struct tenv *t, const char *method, const char *path, const char *body,
     const struct dclient *c, const char *extra, struct t_http_resp *out)
{
    char ck[160], origin[128];
    snprintf(ck, sizeof(ck), "Cookie: %s", c ? c->cookie : "");
    const char *url = tprod_url(t, "");
    snprintf(origin, sizeof(origin), "Origin: %.*s", (int)strlen(url), url);
    const char *h[6];
    int n = 0;
    if (c)
        h[n++] = ck;
    h[n++] = "Content-Type: application/x-www-form-urlencoded";
    h[n++] = extra ? extra : origin;
    h[n] = NULL;
    CHECK(t_http(method, tprod_url(t, path), body, body ? strlen(body) : 0, h, out) == 0,
          "%s %s: %s", method, path, out->err);
    return out->status;
}

/* The status of a request; the body is dropped. */
long
dstatus(struct tenv *t, const char *method, const char *path, const char *body,
        const struct dclient *c, const char *extra)
{
    struct t_http_resp r;
    long st = dreq(t, method, path, body, c, extra, &r);
    t_http_release(&r);
    return st;
}

/* GET path as c; fails unless 200. The caller frees the body. */
char *
dget(struct tenv *t, const char *path, const struct dclient *c)
{
    struct t_http_resp r;
    long st = dreq(t, "GET", path, NULL, c, NULL, &r);
    CHECK(st == 200, "GET %s: %ld %s", path, st, r.body);
    char *b = xstrdup(r.body);
    t_http_release(&r);
    return b;
}

cJSON *
dget_json(struct tenv *t, const char *path, const struct dclient *c)
{
    char *b = dget(t, path, c);
    cJSON *j = cJSON_Parse(b);
    CHECK(j != NULL, "GET %s: not JSON: %s", path, b);
    free(b);
    return j;
}

/* The Max-Age dlogin expects of the session cookie ([dashboard] session_ttl_s). */
int dlogin_ttl_s = 28800;

/* Logs in; returns the status, and fills c (cookie and form token) on success. */
long
dlogin(struct tenv *t, const char *user, const char *pass, struct dclient *c)
{
    char body[256];
    snprintf(body, sizeof(body), "user=%s&password=%s", user, pass);
    struct t_http_resp r;
    long st = dreq(t, "POST", "/login", body, NULL, NULL, &r);
    if (st == 303) {
        char sc[256];
        CHECK(t_http_header(&r, "set-cookie", sc, sizeof(sc)) == 0, "no Set-Cookie");
        char max_age[32];
        snprintf(max_age, sizeof(max_age), "Max-Age=%d;", dlogin_ttl_s);
        CHECK(strstr(sc, "HttpOnly") && strstr(sc, "SameSite=Strict") && strstr(sc, "Secure") &&
                  strstr(sc, max_age) && strstr(sc, "Path=/"),
              "cookie attributes: %s", sc);
        snprintf(c->cookie, sizeof(c->cookie), "%.*s", (int)strcspn(sc, ";"), sc);
        char *page = dget(t, "/", c);
        const char *v = strstr(page, "name=\"csrf\" value=\"");
        CHECK(v != NULL, "no form token on the page: %s", page);
        snprintf(c->csrf, sizeof(c->csrf), "%.64s", v + 19);
        free(page);
    }
    t_http_release(&r);
    return st;
}
