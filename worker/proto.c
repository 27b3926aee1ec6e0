/* This file frames job and outcome messages on the supervisor-child socketpairs. */
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proto_job_hdr {
    int64_t id;
    uint64_t seq;
    int64_t start_by_ms;
    int32_t attempt;
    int32_t timeout_s;
    uint32_t action_len;
    uint32_t params_len;
};

struct proto_outcome_hdr {
    int64_t id;
    int64_t retry_delay_ms;
    int64_t execution_ms;
    int32_t status;
    uint32_t result_len;  /* UINT32_MAX: NULL */
    uint32_t reason_len;  /* UINT32_MAX: NULL */
    uint32_t metrics_len; /* UINT32_MAX: NULL */
};

static int
proto_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static uint32_t
proto_len(const char *s)
{
    if (s == NULL)
        return UINT32_MAX;
    size_t n = strlen(s);
    return n > PROTO_MAX_FIELD ? PROTO_MAX_FIELD : (uint32_t)n;
}

bool
proto_fits(const char *s)
{
    return s == NULL || strlen(s) <= PROTO_MAX_FIELD;
}

int
proto_write_job(int fd, const struct proto_job *j)
{
    /* Cut, a field would reach the child as other data (parameters that are no JSON). */
    if (!proto_fits(j->action) || !proto_fits(j->parameters)) {
        errno = EMSGSIZE;
        return -1;
    }
    struct proto_job_hdr h = {.id = j->id,
                              .seq = j->seq,
                              .start_by_ms = j->start_by_ms,
                              .attempt = j->attempt,
                              .timeout_s = j->timeout_s,
                              .action_len = proto_len(j->action),
                              .params_len = proto_len(j->parameters)};
    /* One buffer, one write: a child never sees half a header. */
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, &h, sizeof(h));
    buf_append(&b, j->action, h.action_len);
    buf_append(&b, j->parameters, h.params_len);
    int rc = proto_write_all(fd, b.data, b.len);
    buf_release(&b);
    return rc;
}

int
proto_write_outcome(int fd, const struct proto_outcome *o)
{
    /* A result is JSON, which a cut would break; a reason is text, which is only shortened. */
    if (!proto_fits(o->result)) {
        errno = EMSGSIZE;
        return -1;
    }
    struct proto_outcome_hdr h = {.id = o->id,
                                  .retry_delay_ms = o->retry_delay_ms,
                                  .execution_ms = o->execution_ms,
                                  .status = o->status,
                                  .result_len = proto_len(o->result),
                                  .reason_len = proto_len(o->reason),
                                  .metrics_len =
                                      proto_fits(o->metrics) ? proto_len(o->metrics) : UINT32_MAX};
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, &h, sizeof(h));
    if (o->result)
        buf_append(&b, o->result, h.result_len);
    if (o->reason)
        buf_append(&b, o->reason, h.reason_len);
    if (h.metrics_len != UINT32_MAX)
        buf_append(&b, o->metrics, h.metrics_len);
    int rc = proto_write_all(fd, b.data, b.len);
    buf_release(&b);
    return rc;
}

/* Copies out the string field of len bytes (UINT32_MAX: NULL, checked against PROTO_MAX_FIELD
 * already) at *p, and moves *p past it. */
static void
proto_take_str(const char **p, uint32_t len, char **out)
{
    *out = NULL;
    if (len == UINT32_MAX)
        return;
    *out = xmalloc((size_t)len + 1);
    memcpy(*out, *p, len);
    (*out)[len] = '\0';
    *p += len;
}

/* Finds the next message in b: copies its header (hdr_len bytes) to hdr and points *body at
 * the string fields that follow, whose lengths are the uint32_t fields at offsets offs[0..n)
 * of the header. 1 when the whole message is there, 0 when only part is, -1 when a field is
 * over PROTO_MAX_FIELD. */
static int
proto_msg(const struct proto_rbuf *b, void *hdr, size_t hdr_len, const size_t *offs, int n,
          const char **body)
{
    size_t have = b->len - b->off;
    if (have < hdr_len)
        return 0;
    memcpy(hdr, b->data + b->off, hdr_len);
    size_t strs = 0;
    for (int i = 0; i < n; i++) {
        uint32_t len;
        memcpy(&len, (const char *)hdr + offs[i], sizeof(len));
        if (len == UINT32_MAX)
            continue;
        if (len > PROTO_MAX_FIELD)
            return -1;
        strs += len;
    }
    *body = b->data + b->off + hdr_len;
    return have - hdr_len >= strs ? 1 : 0;
}

int
proto_next_job(struct proto_rbuf *b, struct proto_job *j)
{
    static const size_t offs[] = {offsetof(struct proto_job_hdr, action_len),
                                  offsetof(struct proto_job_hdr, params_len)};
    memset(j, 0, sizeof(*j));
    struct proto_job_hdr h;
    const char *p;
    int rc = proto_msg(b, &h, sizeof(h), offs, 2, &p);
    if (rc != 1)
        return rc;
    j->id = h.id;
    j->seq = h.seq;
    j->start_by_ms = h.start_by_ms;
    j->attempt = h.attempt;
    j->timeout_s = h.timeout_s;
    proto_take_str(&p, h.action_len, &j->action);
    proto_take_str(&p, h.params_len, &j->parameters);
    b->off = (size_t)(p - b->data);
    return 1;
}

int
proto_next_outcome(struct proto_rbuf *b, struct proto_outcome *o)
{
    static const size_t offs[] = {offsetof(struct proto_outcome_hdr, result_len),
                                  offsetof(struct proto_outcome_hdr, reason_len),
                                  offsetof(struct proto_outcome_hdr, metrics_len)};
    memset(o, 0, sizeof(*o));
    struct proto_outcome_hdr h;
    const char *p;
    int rc = proto_msg(b, &h, sizeof(h), offs, 3, &p);
    if (rc != 1)
        return rc;
    o->id = h.id;
    o->status = h.status;
    o->retry_delay_ms = h.retry_delay_ms;
    o->execution_ms = h.execution_ms;
    proto_take_str(&p, h.result_len, &o->result);
    proto_take_str(&p, h.reason_len, &o->reason);
    proto_take_str(&p, h.metrics_len, &o->metrics);
    b->off = (size_t)(p - b->data);
    return 1;
}

ssize_t
proto_fill(struct proto_rbuf *b, int fd)
{
    if (b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len < PROTO_RBUF_CHUNK && b->off > 0) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len < PROTO_RBUF_CHUNK) {
        b->cap = b->cap * 2 > b->len + PROTO_RBUF_CHUNK ? b->cap * 2 : b->len + PROTO_RBUF_CHUNK;
        b->data = xrealloc(b->data, b->cap);
    }
    for (;;) {
        ssize_t r = read(fd, b->data + b->len, b->cap - b->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            b->len += (size_t)r;
        return r;
    }
}

/* Reads through b until next parses a whole message or the peer stops. */
static int
proto_read_msg(int fd, struct proto_rbuf *b, int (*next)(struct proto_rbuf *, void *), void *m)
{
    for (;;) {
        int rc = next(b, m);
        if (rc != 0)
            return rc;
        ssize_t r = proto_fill(b, fd);
        if (r == 0)
            return b->off == b->len ? 0 : -1;
        if (r < 0)
            return -1;
    }
}

static int
proto_next_job_v(struct proto_rbuf *b, void *m)
{
    return proto_next_job(b, m);
}

static int
proto_next_outcome_v(struct proto_rbuf *b, void *m)
{
    return proto_next_outcome(b, m);
}

int
proto_read_job(int fd, struct proto_rbuf *b, struct proto_job *j)
{
    return proto_read_msg(fd, b, proto_next_job_v, j);
}

int
proto_read_outcome(int fd, struct proto_rbuf *b, struct proto_outcome *o)
{
    return proto_read_msg(fd, b, proto_next_outcome_v, o);
}

void
proto_rbuf_release(struct proto_rbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void
proto_job_release(struct proto_job *j)
{
    free(j->action);
    free(j->parameters);
    j->action = j->parameters = NULL;
}

void
proto_outcome_release(struct proto_outcome *o)
{
    free(o->result);
    free(o->reason);
    free(o->metrics);
    o->result = o->reason = o->metrics = NULL;
}
