/* This file implements the statement-aware MariaDB proxy declared in tmyproxy.h: an accept
 * thread and one thread per connection, which forwards bytes both ways and reads the packet
 * framing (3-byte length, sequence id) to recognise commands. */
#include "tmyproxy.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define COM_QUERY 0x03
#define COM_STMT_PREPARE 0x16
#define COM_STMT_EXECUTE 0x17
#define MAX_STMTS 256

struct tmyproxy {
    int lfd, port, server_port;
    char host[64];
    pthread_t accept_tid;
    atomic_bool stop;
    pthread_mutex_t mu;
    char *prefix; /* armed while not NULL */
    int cuts;
    size_t max_packet; /* 0: no limit */
    int too_large;
    pthread_t conns[256];
    int n_conns;
};

/* One side's packet framing: bytes seen but not yet a whole packet. */
struct framing {
    struct buf b;
};

struct conn {
    struct tmyproxy *p;
    int cfd, sfd;
    struct framing from_client, from_server;
    /* A prepare waits for the server's statement id. */
    bool want_id;
    char *want_text;
    /* The start of each prepared statement's text, by server statement id. */
    uint32_t ids[MAX_STMTS];
    char *id_text[MAX_STMTS];
    int n_ids;
    bool cut;
    size_t max_packet; /* the proxy's limit when this connection was accepted; 0: none */
};

static bool
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Disarms the proxy and counts a cut when text (n bytes) starts with the armed prefix. */
static bool
take_armed(struct tmyproxy *p, const char *text, size_t n)
{
    pthread_mutex_lock(&p->mu);
    size_t pl = p->prefix ? strlen(p->prefix) : 0;
    bool hit = p->prefix && n >= pl && strncasecmp(p->prefix, text, pl) == 0;
    if (hit) {
        free(p->prefix);
        p->prefix = NULL;
        p->cuts++;
    }
    pthread_mutex_unlock(&p->mu);
    return hit;
}

static uint32_t
le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Looks at one whole client packet (sequence id 0 starts a command). Returns true to cut. */
static bool
client_packet(struct conn *c, const unsigned char *pl, size_t n, int seq)
{
    if (seq != 0 || n == 0)
        return false;
    if (pl[0] == COM_QUERY)
        return take_armed(c->p, (const char *)pl + 1, n - 1);
    if (pl[0] == COM_STMT_PREPARE) {
        /* Statements are prepared once per connection and executed many times, perhaps long
         * before the proxy is armed: every prepared text is kept. */
        free(c->want_text);
        c->want_text = xstrndup((const char *)pl + 1, n - 1 < 256 ? n - 1 : 256);
        c->want_id = true;
        return false;
    }
    if (pl[0] == COM_STMT_EXECUTE && n >= 5) {
        uint32_t id = le32(pl + 1);
        for (int i = 0; i < c->n_ids; i++)
            if (c->ids[i] == id)
                return take_armed(c->p, c->id_text[i], strlen(c->id_text[i]));
    }
    return false;
}

/* Looks at one whole server packet: the answer to a prepare names its statement. */
static void
server_packet(struct conn *c, const unsigned char *pl, size_t n, int seq)
{
    if (!c->want_id || seq != 1)
        return;
    c->want_id = false;
    if (n >= 5 && pl[0] == 0x00 && c->n_ids < MAX_STMTS) {
        c->ids[c->n_ids] = le32(pl + 1);
        c->id_text[c->n_ids++] = c->want_text;
        c->want_text = NULL;
    }
}

/* Adds bytes to a side's framing and hands each whole packet to fn; returns true when a
 * client packet asks for the cut. */
static bool
frame(struct conn *c, struct framing *f, const char *data, size_t len, bool from_client)
{
    buf_append(&f->b, data, len);
    size_t off = 0;
    bool cut = false;
    while (f->b.len - off >= 4) {
        const unsigned char *h = (const unsigned char *)f->b.data + off;
        size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
        if (f->b.len - off < 4 + n)
            break;
        if (from_client)
            cut |= client_packet(c, h + 4, n, h[3]);
        else
            server_packet(c, h + 4, n, h[3]);
        off += 4 + n;
    }
    if (off) {
        memmove(f->b.data, f->b.data + off, f->b.len - off);
        f->b.len -= off;
        f->b.data[f->b.len] = '\0';
    }
    return cut;
}

/* Sends the client MariaDB's answer to a packet over max_allowed_packet (error 1153, SQL
 * state 08S01) as the reply to the packet of sequence seq. */
static void
send_too_large(struct conn *c, int seq)
{
    static const char msg[] = "Got a packet bigger than 'max_allowed_packet' bytes";
    unsigned char pkt[4 + 9 + sizeof(msg)];
    size_t n = 9 + sizeof(msg) - 1;
    pkt[0] = (unsigned char)n;
    pkt[1] = (unsigned char)(n >> 8);
    pkt[2] = 0;
    pkt[3] = (unsigned char)(seq + 1);
    pkt[4] = 0xff;
    pkt[5] = 1153 & 0xff;
    pkt[6] = 1153 >> 8;
    memcpy(pkt + 7, "#08S01", 6);
    memcpy(pkt + 13, msg, sizeof(msg) - 1);
    write_all(c->cfd, (const char *)pkt, 4 + n);
}

/* With a packet limit: forwards only whole client packets (the statement cut of
 * tmyproxy_cut_answer does not apply), and answers one over the limit with error 1153
 * instead. Returns false when the connection is to be closed. */
static bool
client_limited(struct conn *c, const char *data, size_t len)
{
    struct buf *b = &c->from_client.b;
    buf_append(b, data, len);
    size_t off = 0;
    bool keep = true;
    while (keep && b->len - off >= 4) {
        const unsigned char *h = (const unsigned char *)b->data + off;
        size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16;
        if (b->len - off < 4 + n)
            break;
        if (n > c->max_packet) {
            pthread_mutex_lock(&c->p->mu);
            c->p->too_large++;
            pthread_mutex_unlock(&c->p->mu);
            send_too_large(c, h[3]);
            keep = false;
        } else {
            keep = write_all(c->sfd, (const char *)h, 4 + n);
        }
        off += 4 + n;
    }
    memmove(b->data, b->data + off, b->len - off);
    b->len -= off;
    return keep;
}

static void *
conn_main(void *arg)
{
    struct conn *c = arg;
    char chunk[65536];
    while (!atomic_load(&c->p->stop)) {
        struct pollfd pf[2] = {{.fd = c->cut ? -1 : c->cfd, .events = POLLIN},
                               {.fd = c->sfd, .events = POLLIN}};
        int r = poll(pf, 2, 100);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (pf[0].revents && c->max_packet) {
            ssize_t got = read(c->cfd, chunk, sizeof(chunk));
            if (got <= 0 || !client_limited(c, chunk, (size_t)got))
                break;
        } else if (pf[0].revents) {
            ssize_t got = read(c->cfd, chunk, sizeof(chunk));
            if (got <= 0 || !write_all(c->sfd, chunk, (size_t)got))
                break;
            /* Forwarded first: the server gets the statement whole, then the client loses
             * its connection while the server runs it. */
            if (frame(c, &c->from_client, chunk, (size_t)got, true)) {
                close(c->cfd);
                c->cut = true;
            }
        }
        if (pf[1].revents) {
            ssize_t got = read(c->sfd, chunk, sizeof(chunk));
            if (got <= 0)
                break;
            /* After a cut the server's answer is read and dropped. */
            if (!c->cut) {
                if (!write_all(c->cfd, chunk, (size_t)got))
                    break;
                frame(c, &c->from_server, chunk, (size_t)got, false);
            }
        }
    }
    if (!c->cut)
        close(c->cfd);
    close(c->sfd);
    buf_release(&c->from_client.b);
    buf_release(&c->from_server.b);
    for (int i = 0; i < c->n_ids; i++)
        free(c->id_text[i]);
    free(c->want_text);
    free(c);
    return NULL;
}

static void *
accept_main(void *arg)
{
    struct tmyproxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pf = {.fd = p->lfd, .events = POLLIN};
        if (poll(&pf, 1, 100) <= 0)
            continue;
        int cfd = accept(p->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        int sfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->server_port)};
        inet_pton(AF_INET, p->host, &a.sin_addr);
        if (sfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof(a)) < 0) {
            close(cfd);
            if (sfd >= 0)
                close(sfd);
            continue;
        }
        struct conn *c = xcalloc(1, sizeof(*c));
        c->p = p;
        c->cfd = cfd;
        c->sfd = sfd;
        buf_init(&c->from_client.b, 0);
        buf_init(&c->from_server.b, 0);
        pthread_mutex_lock(&p->mu);
        c->max_packet = p->max_packet;
        bool room = p->n_conns < (int)(sizeof(p->conns) / sizeof(p->conns[0]));
        if (room && pthread_create(&p->conns[p->n_conns], NULL, conn_main, c) == 0)
            p->n_conns++;
        else
            room = false;
        pthread_mutex_unlock(&p->mu);
        if (!room) {
            close(cfd);
            close(sfd);
            free(c);
        }
    }
    return NULL;
}

struct tmyproxy *
tmyproxy_start(const char *host, int port)
{
    struct tmyproxy *p = xcalloc(1, sizeof(*p));
    snprintf(p->host, sizeof(p->host), "%s", strcmp(host, "localhost") == 0 ? "127.0.0.1" : host);
    p->server_port = port;
    pthread_mutex_init(&p->mu, NULL);
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    CHECK(p->lfd >= 0 && bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              listen(p->lfd, 64) == 0 && getsockname(p->lfd, (struct sockaddr *)&a, &al) == 0,
          "proxy listen: %s", strerror(errno));
    p->port = ntohs(a.sin_port);
    CHECK(pthread_create(&p->accept_tid, NULL, accept_main, p) == 0, "proxy thread");
    return p;
}

int
tmyproxy_port(const struct tmyproxy *p)
{
    return p->port;
}

void
tmyproxy_cut_answer(struct tmyproxy *p, const char *prefix)
{
    pthread_mutex_lock(&p->mu);
    free(p->prefix);
    p->prefix = xstrdup(prefix);
    pthread_mutex_unlock(&p->mu);
}

void
tmyproxy_max_packet(struct tmyproxy *p, size_t bytes)
{
    pthread_mutex_lock(&p->mu);
    p->max_packet = bytes;
    pthread_mutex_unlock(&p->mu);
}

int
tmyproxy_too_large(struct tmyproxy *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->too_large;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int
tmyproxy_cuts(struct tmyproxy *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->cuts;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void
tmyproxy_stop(struct tmyproxy *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    pthread_join(p->accept_tid, NULL);
    for (int i = 0; i < p->n_conns; i++)
        pthread_join(p->conns[i], NULL);
    close(p->lfd);
    free(p->prefix);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

struct tmyproxy *
tmyproxy_start_for(struct tenv *t)
{
    struct tmyproxy *p = tmyproxy_start(t->cfg.mysql.host, t->cfg.mysql.port);
    char port[16];
    snprintf(port, sizeof(port), "%d", tmyproxy_port(p));
    setenv("JOBFLEET_MYSQL_PORT", port, 1);
    return p;
}

void
tmyproxy_stop_for(struct tmyproxy *p)
{
    unsetenv("JOBFLEET_MYSQL_PORT");
    tmyproxy_stop(p);
}
