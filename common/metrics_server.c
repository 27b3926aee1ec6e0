/* This file serves a process's metrics on [worker]/[scheduler] metrics_listen: GET /metrics
 * over libmicrohttpd with one internal thread (a scrape every few seconds needs no more). */
#include "listen_addr.h"
#include "log.h"
#include "log_limit.h"
#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Connections served at once: a scraper or two and a person with curl. Past it libmicrohttpd
 * closes new ones, so idle connections from whoever reaches the port cannot take the
 * process's descriptors, which its children and job sockets need. */
#define METRICS_MAX_CONNECTIONS 16

struct metrics_server {
    struct MHD_Daemon *mhd;
    void (*extra)(void *, struct buf *);
    void *arg;
};

static enum MHD_Result
metrics_server_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct metrics_server *s = cls;
    struct buf b;
    buf_init(&b, 0);
    unsigned status = 200;
    if (strcmp(url, "/metrics") != 0) {
        status = 404;
        buf_appends(&b, "only /metrics here\n");
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        buf_appends(&b, "use GET\n");
    } else {
        metrics_render(&b);
        if (s->extra)
            s->extra(s->arg, &b);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        b.len, b.data ? b.data : (void *)(uintptr_t) "", MHD_RESPMEM_MUST_COPY);
    buf_release(&b);
    if (r == NULL)
        fatalx("libmicrohttpd: out of memory creating a response");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* libmicrohttpd's errors, most of them a client's doing (one per refused connection), within a
 * log budget. */
static void
metrics_server_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static struct log_limit limit = LOG_LIMIT_INIT("metrics_listen libmicrohttpd");
    log_limit_mhd_line(&limit, "metrics_listen: libmicrohttpd: ", fmt, ap);
}

struct metrics_server *
metrics_server_start(const char *listen, void (*extra)(void *, struct buf *), void *arg, char *err,
                     size_t errlen)
{
    struct addrinfo *ai = listen_addr_resolve("metrics_listen", listen, err, errlen);
    if (ai == NULL)
        return NULL;
    struct metrics_server *s = xcalloc(1, sizeof(*s));
    s->extra = extra;
    s->arg = arg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd =
        MHD_start_daemon(flags, 0, NULL, NULL, metrics_server_access, s, MHD_OPTION_EXTERNAL_LOGGER,
                         metrics_server_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)METRICS_MAX_CONNECTIONS, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (s->mhd == NULL) {
        snprintf(err, errlen, "metrics_listen: cannot listen on %s", listen);
        free(s);
        return NULL;
    }
    return s;
}

void
metrics_server_stop(struct metrics_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->mhd);
    free(s);
}
