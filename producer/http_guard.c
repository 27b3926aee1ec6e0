/* This file enforces absolute deadlines on the producer's connections. Each open connection
 * has a slot (its socket, when its current request began, whether its headers are in); a
 * thread looks at the slots a few times a second and shuts down the socket of a connection
 * past its deadline, which libmicrohttpd then sees as a closed connection and cleans up on its
 * own thread. libmicrohttpd calls the close notification before it closes the socket, and a
 * slot leaves the list under the same lock the thread holds while it shuts a socket down, so
 * the thread never touches a descriptor that was closed and reused. */
#include "http_guard.h"
#include "bgthread.h"
#include "log.h"
#include "util.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

/* How often the deadlines are checked: a connection lives at most this much past its own. */
#define GUARD_TICK_MS 200

struct guard_slot {
    struct guard_slot *prev, *next;
    int fd;
    int64_t start_ms; /* when the current request (or the wait for it) began */
    bool headers_in;
    bool cut;
};

struct http_guard {
    struct bgthread bg; /* its lock guards the list and every slot */
    struct guard_slot *head;
    int header_ms, request_ms;
    atomic_long *cut;
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
    bgthread_unlock(&g->bg);
}

void
http_guard_request_done(struct http_guard *g, struct MHD_Connection *conn)
{
    struct guard_slot *s = guard_slot_of(conn);
    if (s == NULL)
        return;
    bgthread_lock(&g->bg);
    s->headers_in = false;
    s->start_ms = now_mono_ms();
    bgthread_unlock(&g->bg);
}

/* With the lock held: shuts down every connection past its deadline. */
static void
guard_sweep(struct http_guard *g)
{
    int64_t now = now_mono_ms();
    int n = 0;
    for (struct guard_slot *s = g->head; s; s = s->next) {
        int64_t limit = s->headers_in ? g->request_ms : g->header_ms;
        if (s->cut || s->fd < 0 || now - s->start_ms <= limit)
            continue;
        /* Not close(): the descriptor stays libmicrohttpd's, which sees the end and closes it. */
        shutdown(s->fd, SHUT_RDWR);
        s->cut = true;
        n++;
    }
    if (n) {
        atomic_fetch_add(g->cut, n);
        log_warnx("cut %d connections past their deadline (headers %d ms, request %d ms)", n,
                  g->header_ms, g->request_ms);
    }
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
http_guard_start(int header_ms, int request_ms, atomic_long *cut)
{
    struct http_guard *g = xcalloc(1, sizeof(*g));
    g->header_ms = header_ms;
    g->request_ms = request_ms;
    g->cut = cut;
    if (bgthread_start(&g->bg, guard_main, g) < 0)
        fatal("pthread_create");
    return g;
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
