/* What the files that speak to Redis share (rq.c, rq_limit.c): the connection and the
 * helpers that send on it. Not for other callers: they go through rq.h. */
#ifndef JOBFLEET_RQ_INT_H
#define JOBFLEET_RQ_INT_H

#include "rq.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

struct rq {
    char *host, *password, *prefix;
    int port, db;
    redisContext *ctx;
    int within_ms; /* while rq_command_within runs: its wait for an answer */
    int answer_ms; /* rq_set_answer_ms's; 0: RQ_COMMAND_TIMEOUT_S */
    bool stale;    /* the server said it is no master: connect again before the next command */
    char errstr[256];
};

/* Records a failure of what in errstr (with hiredis's error when it has one) and drops a
 * connection hiredis cannot reuse; a timeout stalls the process's calls (rq.c). */
void rq_fail(struct rq *rq, const char *what);
/* Checks a reply: NULL when r is missing (rq_fail) or an error reply (freed, errstr set); else
 * r, for the caller to free. */
redisReply *rq_check(struct rq *rq, redisReply *r, const char *what);
/* Queues one command of a pipeline; -1 (the connection dropped) when hiredis cannot. */
int rq_append(struct rq *rq, int argc, const char **argv, const size_t *argvlen, const char *what);
/* Connects when there is no usable connection; 0 or -1 (errstr). */
int rq_ensure(struct rq *rq);

#endif
