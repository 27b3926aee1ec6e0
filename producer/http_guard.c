/* This file enforces absolute deadlines on the producer's connections. Each open connection
 * has a slot (its socket, when its current request began, whether its headers are in, how
 * much of its body has arrived); a thread looks at the slots a few times a second and shuts
 * down the socket of a connection past its deadline, which libmicrohttpd then sees as a
 * closed connection and cleans up on its own thread. libmicrohttpd calls the close
 * notification before it closes the socket, and a slot leaves the list under the same lock
 * the thread holds while it shuts a socket down, so the thread never touches a descriptor
 * that was closed and reused. */
#include "http_guard.h"
#include "bgthread.h"
#include "log.h"
#include "util.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

/* How often the deadlines are checked: a connection lives at most this much past its own. */
#define GUARD_TICK_MS 200

struct guard_slot {
    struct guard_slot *prev, *next;
    int fd;
    int64_t start_ms;      /* when the current request (or the wait for it) began */
    int64_t body_start_ms; /* when its headers were in */
    /* Written by the connection's own thread for each piece of its body, without the lock:
     * the sweep only needs to read them, and this is every request's path. */
    _Atomic int64_t body_bytes; /* of its body, so far */
    atomic_bool body_done;
    bool headers_in;
    bool cut;
};

struct http_guard {
    struct bgthread bg; /* its lock guards the list and every slot */
    struct guard_slot *head;
    struct http_guard_limits lim;
    atomic_long cuts[HTTP_GUARD_CUT_N];
};

static void
guard_unlink(struct http_guard *g, struct guard_slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        g->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

void
http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    struct http_guard *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct guard_slot *s = xcalloc(1, sizeof(*s));
        s->fd = ci ? (int)ci->connect_fd : -1;
        s->start_ms = now_mono_ms();
        bgthread_lock(&g->bg);
        s->next = g->head;
        if (g->head)
            g->head->prev = s;
        g->head = s;
        bgthread_unlock(&g->bg);
        *socket_context = s;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct guard_slot *s = *socket_context;
        bgthread_lock(&g->bg);
        guard_unlink(g, s);
        bgthread_unlock(&g->bg);
        free(s);
        *socket_context = NULL;
    }
}

static struct guard_slot *
guard_slot_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void
http_guard_headers_in(struct http_guard *g, struct MHD_Connection *conn)
{
    struct guard_slot *s = guard_slot_of(conn);
    if (s == NULL)
        return;
    bgthread_lock(&g->bg);
    s->headers_in = true;
    s->body_start_ms = now_mono_ms();
    bgthread_unlock(&g->bg);
}

void
http_guard_body_bytes(struct http_guard *g, struct MHD_Connection *conn, size_t n)
{
    (void)g;
    struct guard_slot *s = guard_slot_of(conn);
    if (s)
        atomic_fetch_add_explicit(&s->body_bytes, (int64_t)n, memory_order_relaxed);
}

void
http_guard_body_done(struct http_guard *g, struct MHD_Connection *conn)
{
    (void)g;
    struct guard_slot *s = guard_slot_of(conn);
    if (s)
        atomic_store_explicit(&s->body_done, true, memory_order_relaxed);
}

void
http_guard_request_done(struct http_guard *g, struct MHD_Connection *conn)
{
    struct guard_slot *s = guard_slot_of(conn);
    if (s == NULL)
        return;
    bgthread_lock(&g->bg);
    s->headers_in = false;
    atomic_store(&s->body_done, false);
    atomic_store(&s->body_bytes, 0);
    s->start_ms = now_mono_ms();
    bgthread_unlock(&g->bg);
}

/* With the lock held: the deadline s is past at now (an http_guard_cut), or -1 for none. */
static int
guard_overdue(const struct http_guard *g, const struct guard_slot *s, int64_t now)
{
    if (!s->headers_in)
        return now - s->start_ms > g->lim.header_ms ? HTTP_GUARD_CUT_HEADER : -1;
    if (now - s->start_ms > g->lim.request_ms)
        return HTTP_GUARD_CUT_REQUEST;
    if (atomic_load(&s->body_done) || g->lim.body_min_rate <= 0)
        return -1;
    /* Apache's mod_reqtimeout MinRate rule: every body_min_rate bytes buy one more second, so
     * a client that stalls after a fast start spends the time it saved, and only a body that
     * averages below the rate since its grace ran out is cut. A sender trickling a byte every
     * few seconds holds its connection for the grace, not for request_ms. */
    int64_t allowed =
        g->lim.body_grace_ms + atomic_load(&s->body_bytes) * 1000 / g->lim.body_min_rate;
    return now - s->body_start_ms > allowed ? HTTP_GUARD_CUT_SLOW_BODY : -1;
}

/* With the lock held: shuts down every connection past its deadline. */
static void
guard_sweep(struct http_guard *g)
{
    int64_t now = now_mono_ms();
    int n[HTTP_GUARD_CUT_N] = {0};
    for (struct guard_slot *s = g->head; s; s = s->next) {
        int why = s->cut || s->fd < 0 ? -1 : guard_overdue(g, s, now);
        if (why < 0)
            continue;
        /* Not close(): the descriptor stays libmicrohttpd's, which sees the end and closes it. */
        shutdown(s->fd, SHUT_RDWR);
        s->cut = true;
        n[why]++;
    }
    for (int why = 0; why < HTTP_GUARD_CUT_N; why++)
        atomic_fetch_add(&g->cuts[why], n[why]);
    if (n[HTTP_GUARD_CUT_HEADER] + n[HTTP_GUARD_CUT_REQUEST] + n[HTTP_GUARD_CUT_SLOW_BODY])
        log_warnx("cut connections: %d past the header deadline (%d ms), %d past the request "
                  "deadline (%d ms), %d sending their body slower than %d bytes/s after %d ms",
                  n[HTTP_GUARD_CUT_HEADER], g->lim.header_ms, n[HTTP_GUARD_CUT_REQUEST],
                  g->lim.request_ms, n[HTTP_GUARD_CUT_SLOW_BODY], g->lim.body_min_rate,
                  g->lim.body_grace_ms);
}

static void *
guard_main(void *arg)
{
    struct http_guard *g = arg;
    bgthread_lock(&g->bg);
    while (!bgthread_stopping(&g->bg)) {
        guard_sweep(g);
        bgthread_wait_until(&g->bg, now_mono_ms() + GUARD_TICK_MS);
    }
    bgthread_unlock(&g->bg);
    return NULL;
}

struct http_guard *
http_guard_start(const struct http_guard_limits *lim)
{
    struct http_guard *g = xcalloc(1, sizeof(*g));
    g->lim = *lim;
    for (int why = 0; why < HTTP_GUARD_CUT_N; why++)
        atomic_init(&g->cuts[why], 0);
    if (bgthread_start(&g->bg, guard_main, g) < 0)
        fatal("pthread_create");
    return g;
}

long
http_guard_cuts(struct http_guard *g, enum http_guard_cut why)
{
    return g ? atomic_load(&g->cuts[why]) : 0;
}

void
http_guard_stop(struct http_guard *g)
{
    if (g == NULL)
        return;
    bgthread_stop(&g->bg);
    bgthread_release(&g->bg);
    while (g->head) {
        struct guard_slot *s = g->head;
        g->head = s->next;
        free(s);
    }
    free(g);
}
