/* This file implements the tests' HTTP client over common/httpc (the one libcurl user). */
#include "thttp.h"
#include "httpc.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int t_http_timeout_ms;
const char *t_http_ca_file;

int
t_http(const char *method, const char *url, const char *body, size_t len, const char *const *hdrs,
       struct t_http_resp *out)
{
    memset(out, 0, sizeof(*out));
    /* One attempt, no cap, no budget: tests see exactly what the server answered. A client per
     * call keeps the function safe to call from several threads at once. */
    struct httpc_conf conf;
    httpc_conf_defaults(&conf);
    conf.name = "test";
    conf.max_attempts = 1;
    conf.max_response_bytes = 0;
    if (t_http_timeout_ms > 0)
        conf.timeout_ms = t_http_timeout_ms;
    conf.ca_file = t_http_ca_file;
    struct httpc *h = httpc_new(&conf, NULL);
    struct httpc_req req = {
        .method = method, .path = url, .body = body, .body_len = len, .headers = hdrs};
    struct httpc_resp r;
    httpc_request(h, &req, &r);
    out->status = r.status;
    if (r.status == 0)
        snprintf(out->err, sizeof(out->err), "%.255s", r.err);
    out->body = r.body ? r.body : xstrdup("");
    out->headers = r.headers ? r.headers : xstrdup("");
    r.body = r.headers = NULL;
    httpc_resp_release(&r);
    httpc_free(h);
    return out->status ? 0 : -1;
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
    /* The header block is httpc's (names lower-cased): its lookup reads it. */
    struct httpc_resp hr = {.headers = r->headers};
    return httpc_resp_header(&hr, name, out, len);
}

const char *
t_http_url(const char *listen, const char *path)
{
    static _Thread_local char url[1024];
    snprintf(url, sizeof(url), "http://%s%s", listen, path);
    return url;
}

int
t_http_raw_status(int fd, int timeout_s)
{
    struct timeval tv = {.tv_sec = timeout_s};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char resp[64] = "";
    ssize_t got = read(fd, resp, sizeof(resp) - 1);
    close(fd);
    int code = 0;
    if (got > 0)
        sscanf(resp, "HTTP/1.1 %d", &code);
    return code;
}
