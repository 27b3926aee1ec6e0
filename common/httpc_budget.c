/* This file keeps a service's request budget: fleet-wide through Redis (rq_limit_acquire, a
 * sliding window on Redis's clock, scope "s:<service>") plus a fleet-wide pause after a 429,
 * or in this process alone when there is no Redis. */
#include "httpc_int.h"
#include "log.h"
#include "rq.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The limiter's guard: rq.c counts each start this long past its window. */
#define HTTPC_GUARD_MS 25

void
httpc_budget_window(int rate_per_minute, int *starts, int64_t *window_ms)
{
    if (rate_per_minute <= 0) {
        *starts = 0;
        *window_ms = 0;
        return;
    }
    int64_t spacing = (60000 + rate_per_minute - 1) / rate_per_minute;
    /* Starts spread evenly keep any short window (1 s at 120/min) within its share; at high
     * rates the per-start guard would eat the budget, so starts share a window of >= 500 ms
     * (the guard then costs <= 5 %). */
    int64_t k = (20 * HTTPC_GUARD_MS + spacing - 1) / spacing;
    if (k < 1)
        k = 1;
    *starts = (int)k;
    *window_ms = (k * 60000 + rate_per_minute - 1) / rate_per_minute;
}

static char *
httpc_pause_key(const struct httpc *h)
{
    return xasprintf("%s:s:%s:until", h->conf.redis_prefix, h->conf.name);
}

/* Without a budget the pause is advice: asked for within this much, and after a failure not
 * asked again for HTTPC_PAUSE_SKIP_MS. A Redis that accepts but does not answer would otherwise
 * hold such a request for the full command timeout (10 s) every few seconds. */
#define HTTPC_PAUSE_ASK_MS 250
#define HTTPC_PAUSE_SKIP_MS 5000

/* Milliseconds left of a fleet-wide pause (0 when none), or -1 on error. */
static int64_t
httpc_pause_left(struct httpc *h)
{
    bool advice = h->conf.rate_per_minute == 0;
    if (advice && now_mono_ms() < h->pause_skip_until_ms)
        return -1;
    char *key = httpc_pause_key(h);
    const char *argv[] = {"EVAL",
                          "local t = redis.call('PTTL', KEYS[1]) if t > 0 then return t end "
                          "return 0",
                          "1", key};
    int64_t left =
        advice ? rq_command_within(h->rq, HTTPC_PAUSE_ASK_MS, 4, argv) : rq_command(h->rq, 4, argv);
    free(key);
    if (left < 0 && advice) {
        log_warnx("%s: the fleet-wide pause is unknown, going on without it for %d ms: %s",
                  h->conf.name, HTTPC_PAUSE_SKIP_MS, rq_errstr(h->rq));
        h->pause_skip_until_ms = now_mono_ms() + HTTPC_PAUSE_SKIP_MS;
    }
    return left;
}

void
httpc_budget_pause(struct httpc *h, int64_t ms)
{
    if (h->rq == NULL || ms <= 0)
        return;
    char *key = httpc_pause_key(h);
    char val[24];
    snprintf(val, sizeof(val), "%lld", (long long)ms);
    /* Keep a longer pause another process set: the server knows best when it recovers. */
    const char *argv[] = {"EVAL",
                          "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then "
                          "redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end return 0",
                          "1", key, val};
    if (rq_command(h->rq, 5, argv) < 0)
        log_warnx("%s: cannot pause the service fleet-wide: %s", h->conf.name, rq_errstr(h->rq));
    free(key);
}

/* Without Redis the budget is this process's alone: starts spaced evenly. */
static int64_t
httpc_budget_local(struct httpc *h)
{
    int64_t now = now_mono_ms();
    if (now < h->local_next_ms)
        return h->local_next_ms - now;
    h->local_next_ms = now + (60000 + h->conf.rate_per_minute - 1) / h->conf.rate_per_minute;
    return 0;
}

int64_t
httpc_budget_take(struct httpc *h, bool *paused, char *err, size_t errlen)
{
    *paused = false;
    if (h->rq == NULL)
        return h->conf.rate_per_minute > 0 ? httpc_budget_local(h) : 0;
    int64_t now = now_mono_ms();
    if (now < h->budget_next_ms) {
        *paused = h->budget_paused;
        return h->budget_next_ms - now;
    }
    int64_t wait = httpc_pause_left(h);
    *paused = wait > 0;
    if (wait == 0 && h->conf.rate_per_minute > 0) {
        char scope[160], member[64];
        snprintf(scope, sizeof(scope), "s:%s", h->conf.name);
        snprintf(member, sizeof(member), "%ld.%llu", (long)getpid(), ++h->seq);
        struct rq_limit lim = {.scope = scope};
        httpc_budget_window(h->conf.rate_per_minute, &lim.rate, &lim.rate_interval_ms);
        wait = rq_limit_acquire(h->rq, &lim, 1, member, 0);
    }
    /* Without a budget, Redis only holds the fleet's pause: a request goes on without it. */
    if (wait < 0 && h->conf.rate_per_minute == 0)
        wait = 0;
    if (wait < 0) {
        snprintf(err, errlen, "rate budget unavailable: %s", rq_errstr(h->rq));
        return -1;
    }
    if (wait > 0) {
        /* Waiters told the same time would race for one slot, and the same process tends
         * to win every race; a few milliseconds of jitter shares the slots out. */
        wait += (int64_t)(httpc_random(h) % 8);
        h->budget_next_ms = now + wait;
        h->budget_paused = *paused;
    }
    return wait;
}
