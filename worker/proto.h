/* The messages between the supervisor and its children over a socketpair: a job to run, and
 * its outcome. Fixed headers followed by the variable-length strings they count. */
#ifndef JOBFLEET_PROTO_H
#define JOBFLEET_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "job_status.h"

#define PROTO_MAX_FIELD (16u << 20) /* no single field over 16 MiB */

struct proto_job {
    int64_t id;
    uint64_t seq; /* 1, 2, ... per child: the number its start gate takes (gate.h) */
    int32_t attempt;
    int32_t timeout_s;
    int64_t start_by_ms; /* CLOCK_MONOTONIC ms past which the child must not start it (the
                          * claim's lease runs out); 0: no limit */
    char *action;        /* owned after proto_read_job */
    char *parameters;    /* owned after proto_read_job */
};

/* An outcome's status for a job the child passed over unstarted: the supervisor withdrew it
 * (gate.h). Such an outcome carries only the id. */
#define PROTO_PASSED_OVER (-1)

struct proto_outcome {
    int64_t id;
    int32_t status; /* enum job_status, or PROTO_PASSED_OVER */
    int64_t retry_delay_ms;
    int64_t execution_ms;
    char *result; /* owned, may be NULL */
    char *reason; /* owned, may be NULL */
    /* owned, may be NULL: the counters the child's job functions moved (metrics_drain's
     * text), which the supervisor adds to its own (the child has no metrics listener) */
    char *metrics;
};

/* True when s (NULL included) fits one field of a message. */
bool proto_fits(const char *s);
/* Writes a whole message; -1 on error (errno set; EMSGSIZE, with nothing written, for a job
 * field or a result over PROTO_MAX_FIELD; a longer reason is cut to it). */
int proto_write_job(int fd, const struct proto_job *j);
int proto_write_outcome(int fd, const struct proto_outcome *o);
/* A receive buffer on one end of a socketpair: one read(2) takes whatever the peer wrote,
 * several messages at once when it wrote several, and messages are parsed from it whole. */
struct proto_rbuf {
    char *data;
    size_t off, len, cap; /* the bytes not parsed yet are data[off, len) */
};

#define PROTO_RBUF_CHUNK 8192 /* the least room a read is given */

/* Reads once from fd into b, blocking until something arrives; returns the bytes read, 0 on
 * EOF, -1 on error (errno set). */
ssize_t proto_fill(struct proto_rbuf *b, int fd);
/* Parses the next message from b: 1 when whole (its strings then owned by the caller), 0 when
 * b holds only part of it (fill again), -1 when the bytes are no message. */
int proto_next_job(struct proto_rbuf *b, struct proto_job *j);
int proto_next_outcome(struct proto_rbuf *b, struct proto_outcome *o);
/* Reads from fd through b until a whole message is there; returns 1 on success, 0 on EOF
 * before a message, -1 on error. */
int proto_read_job(int fd, struct proto_rbuf *b, struct proto_job *j);
int proto_read_outcome(int fd, struct proto_rbuf *b, struct proto_outcome *o);
void proto_rbuf_release(struct proto_rbuf *b);

void proto_job_release(struct proto_job *j);
void proto_outcome_release(struct proto_outcome *o);

#endif
