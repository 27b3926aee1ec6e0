/* This file frames job and outcome messages on the supervisor-child socketpairs. */
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proto_job_hdr {
    int64_t id;
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

/* Returns 1 when n bytes were read, 0 on EOF at the start, -1 on error or EOF mid-way. */
static int
proto_read_all(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
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

static int
proto_read_str(int fd, uint32_t len, char **out)
{
    *out = NULL;
    if (len == UINT32_MAX)
        return 1;
    if (len > PROTO_MAX_FIELD)
        return -1;
    char *s = xmalloc((size_t)len + 1);
    if (len && proto_read_all(fd, s, len) != 1) {
        free(s);
        return -1;
    }
    s[len] = '\0';
    *out = s;
    return 1;
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
proto_read_job(int fd, struct proto_job *j)
{
    memset(j, 0, sizeof(*j));
    struct proto_job_hdr h;
    int rc = proto_read_all(fd, &h, sizeof(h));
    if (rc != 1)
        return rc;
    j->id = h.id;
    j->start_by_ms = h.start_by_ms;
    j->attempt = h.attempt;
    j->timeout_s = h.timeout_s;
    if (proto_read_str(fd, h.action_len, &j->action) != 1 ||
        proto_read_str(fd, h.params_len, &j->parameters) != 1) {
        proto_job_release(j);
        return -1;
    }
    return 1;
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

int
proto_read_outcome(int fd, struct proto_outcome *o)
{
    memset(o, 0, sizeof(*o));
    struct proto_outcome_hdr h;
    int rc = proto_read_all(fd, &h, sizeof(h));
    if (rc != 1)
        return rc;
    o->id = h.id;
    o->status = h.status;
    o->retry_delay_ms = h.retry_delay_ms;
    o->execution_ms = h.execution_ms;
    if (proto_read_str(fd, h.result_len, &o->result) != 1 ||
        proto_read_str(fd, h.reason_len, &o->reason) != 1 ||
        proto_read_str(fd, h.metrics_len, &o->metrics) != 1) {
        proto_outcome_release(o);
        return -1;
    }
    return 1;
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
