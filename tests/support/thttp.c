/* This file implements the tests' HTTP client over libcurl easy handles. */
#include "thttp.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t t_http_once = PTHREAD_ONCE_INIT;

static void
t_http_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
t_http_collect(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

static size_t
t_http_collect_header(char *p, size_t size, size_t n, void *ud)
{
    size_t len = size * n;
    struct buf *b = ud;
    size_t start = b->len;
    buf_append(b, p, len);
    /* Lower-case the name so lookups need not care how the server spelled it. */
    for (size_t i = start; i < b->len && b->data[i] != ':'; i++)
        b->data[i] = (char)tolower((unsigned char)b->data[i]);
    return len;
}

int
t_http(const char *method, const char *url, const char *body, size_t len, const char *const *hdrs,
       struct t_http_resp *out)
{
    pthread_once(&t_http_once, t_http_global);
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    struct buf b, h;
    buf_init(&b, 0);
    buf_init(&h, 0);
    struct curl_slist *sl = NULL;
    for (int i = 0; hdrs && hdrs[i]; i++)
        sl = curl_slist_append(sl, hdrs[i]);
    /* curl adds "Expect: 100-continue" to large bodies on its own; tests ask for it
     * explicitly when they want it. */
    sl = curl_slist_append(sl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_http_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, t_http_collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        snprintf(out->err, sizeof(out->err), "%s", curl_easy_strerror(rc));
    curl_slist_free_all(sl);
    curl_easy_cleanup(c);
    out->body = buf_detach(&b);
    out->headers = buf_detach(&h);
    return rc == CURLE_OK ? 0 : -1;
}

void
t_http_release(struct t_http_resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

int
t_http_header(const struct t_http_resp *r, const char *name, char *out, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strchr(p, '\n');
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = eol ? (size_t)(eol - v) : strlen(v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(out, len, "%.*s", (int)vl, v);
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return -1;
}

const char *
t_http_url(const char *listen, const char *path)
{
    static _Thread_local char url[1024];
    snprintf(url, sizeof(url), "http://%s%s", listen, path);
    return url;
}
