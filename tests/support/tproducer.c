/* This file implements the producer helpers of the end-to-end tests, over the tests' HTTP
 * client. */
#include "tproducer.h"
#include "thttp.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *
tprod_url(struct tenv *t, const char *path)
{
    return t_http_url(t->cfg.producer.listen, path);
}

pid_t
tprod_start(struct tenv *t)
{
    pid_t p = t_spawn(t, t_bin("jobfleet-producer"), NULL);
    struct t_http_resp r;
    WAIT_UNTIL(t_http("GET", tprod_url(t, "/health"), NULL, 0, NULL, &r) == 0 ||
                   (t_http_release(&r), 0),
               10000, "the producer never answered");
    t_http_release(&r);
    return p;
}

long
tprod_post(struct tenv *t, const char *path, const char *body, size_t len, const char *const *hdrs,
           char **out)
{
    struct t_http_resp r;
    t_http("POST", tprod_url(t, path), body, len, hdrs, &r);
    CHECK(r.status != 0, "POST %s: %s", path, r.err);
    if (out)
        *out = xstrdup(r.body);
    long st = r.status;
    t_http_release(&r);
    return st;
}

long
tprod_call_allow(struct tenv *t, const char *method, const char *path, const char *body,
                 const char *auth, char **out, char *allow, size_t allow_len)
{
    const char *h[] = {auth ? auth : TPROD_AUTH, NULL};
    struct t_http_resp r;
    t_http(method, tprod_url(t, path), body, body ? strlen(body) : 0, auth && !*auth ? NULL : h,
           &r);
    CHECK(r.status != 0, "%s %s: %s", method, path, r.err);
    long st = r.status;
    if (out)
        *out = xstrdup(r.body);
    if (allow && t_http_header(&r, "allow", allow, allow_len) < 0)
        allow[0] = '\0';
    t_http_release(&r);
    return st;
}

long
tprod_call(struct tenv *t, const char *method, const char *path, const char *body, const char *auth,
           char **out)
{
    return tprod_call_allow(t, method, path, body, auth, out, NULL, 0);
}

void
tprod_check_401(struct tenv *t, const char *method, const char *path, const char *body)
{
    const char *bad[] = {"", "Authorization: Bearer wrong", "Authorization: Basic dGVzdA==",
                         "Authorization: Bearer test-token-0123456789x"};
    for (int i = 0; i < 4; i++) {
        char *out = NULL;
        long st = tprod_call(t, method, path, body, bad[i], &out);
        CHECK(st == 401 && strstr(out, "\"error\""), "%s %s with \"%s\": %ld %s", method, path,
              bad[i], st, out);
        free(out);
    }
}

int64_t
tprod_metric(struct tenv *t, const char *name)
{
    return (int64_t)t_metric(tprod_url(t, "/metrics"), name);
}

double
t_metric(const char *url, const char *series)
{
    struct t_http_resp r;
    t_http("GET", url, NULL, 0, NULL, &r);
    CHECK(r.status == 200, "scrape %s: %ld %s", url, r.status, r.err);
    char key[256];
    snprintf(key, sizeof(key), "\n%s ", series);
    const char *p = strstr(r.body, key);
    double v = p ? strtod(p + strlen(key), NULL) : -1;
    t_http_release(&r);
    return v;
}

void
tprod_spool_failed(struct tenv *t, const char *id, const char *action, const char *key, size_t pad)
{
    char *dir = xasprintf("%s/spool", t->dir), *failed = xasprintf("%s/failed", dir);
    mkdir(dir, 0700);
    mkdir(failed, 0700);
    char *path = xasprintf("%s/%s.json", failed, id), *params = xmalloc(pad + 3);
    if (pad) {
        memset(params, 'x', pad);
        params[pad] = '\0';
    } else {
        strcpy(params, "{}");
    }
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL, "%s", path);
    fprintf(fp,
            "{\"v\":1,\"source\":\"system\",\"path\":\"/webhook/x\",\"action\":\"%s\","
            "\"parameters\":\"%s\",\"idempotency_key\":\"%s\",\"received_ms\":1}",
            action, params, key);
    CHECK(fclose(fp) == 0, "write %s", path);
    free(params);
    free(path);
    free(failed);
    free(dir);
}
