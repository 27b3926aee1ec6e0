/* The HTTP client's internals shared by httpc.c (transfers), httpc_budget.c (the fleet-wide
 * rate budget) and httpc_conf.c (settings); not for use outside the httpc files. */
#ifndef JOBFLEET_HTTPC_INT_H
#define JOBFLEET_HTTPC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "httpc.h"

struct httpc {
    struct httpc_conf conf; /* its strings are owned copies */
    char *bearer;           /* set by httpc_set_bearer, else a copy of conf.token */
    struct rq *rq;          /* borrowed; NULL keeps the budget in this process */
    volatile int *cancel;
    int64_t local_next_ms;       /* without Redis: the earliest next start (monotonic) */
    int64_t budget_next_ms;      /* do not ask Redis again before this (monotonic) */
    bool budget_paused;          /* that wait is a fleet-wide pause's */
    int64_t pause_skip_until_ms; /* without a budget: the pause is not asked for before this */
    unsigned long long seq;      /* makes each start's name in Redis unique */
    unsigned long long nonce;    /* random, with seq: pids repeat across hosts and containers */
    uint64_t rng;                /* jitter, seeded per process */
};

/* Takes credits (>= 1) from the service's budget for one start, all or none, honouring a
 * fleet-wide pause first. Returns 0 when taken, the milliseconds to wait before asking again
 * (*paused true when that is what is left of a pause), or -1 with err set when the budget
 * cannot be read. */
int64_t httpc_budget_take(struct httpc *h, int credits, bool *paused, char *err, size_t errlen);
/* Pauses every process's starts for the service for ms from now (a Retry-After); a longer
 * pause already set is kept. Failures are logged: the local retry still waits. */
void httpc_budget_pause(struct httpc *h, int64_t ms);

/* Counts one finished attempt of h's service by its status (0: no response). */
void httpc_metrics_attempt(const struct httpc *h, long status);
/* Counts one start that waited waited_ms for the budget. */
void httpc_metrics_budget_wait(const struct httpc *h, int64_t waited_ms);

/* A random number from the client's own generator (seeded per process). */
uint64_t httpc_random(struct httpc *h);

/* Copies the strings of conf into h->conf. */
void httpc_conf_copy(struct httpc_conf *dst, const struct httpc_conf *src);
/* Frees the strings httpc_conf_copy made. */
void httpc_conf_free(struct httpc_conf *c);

/* True when url has the scheme, host and port of base (so credentials may go with it). */
int httpc_same_origin(const char *base, const char *url);

#endif
