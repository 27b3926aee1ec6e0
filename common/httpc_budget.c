/* This file keeps a service's request budget in credits: fleet-wide through Redis (sliding
 * windows on Redis's clock) plus a fleet-wide pause after a 429 or a Retry-After, or in this
 * process alone when there is no Redis. */
#include "httpc_int.h"
#include "ids.h"
#include "log.h"
#include "rq.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The budget's guard: a credit is counted this long past its window, so that the few
 * milliseconds between taking it and the request's arrival cannot make any of the server's
 * windows hold more than the budget. */
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

/* Without Redis the budget is this process's alone: credits spaced evenly. */
static int64_t
httpc_budget_local(struct httpc *h, int credits)
{
    int64_t now = now_mono_ms();
    if (now < h->local_next_ms)
        return h->local_next_ms - now;
    /* As the fleet's budget does: a request dearer than a minute's budget costs a minute. */
    if (credits > h->conf.rate_per_minute)
        credits = h->conf.rate_per_minute;
    int64_t spacing = (60000 + h->conf.rate_per_minute - 1) / h->conf.rate_per_minute;
    h->local_next_ms = now + credits * spacing;
    return 0;
}

/* Takes a request's credits on Redis's clock, all or none. KEYS[1] holds each credit at the
 * time reserved for it: a request's credits one after another from its start, so the next
 * start waits for its last and no budget window (httpc_budget_window) holds more than its
 * starts. That spacing alone would let a minute hold more than the rate: a heavy request is
 * spent at once but reserved over seconds. So KEYS[2] holds each credit at the time it was
 * spent, and a minute may hold no more than the rate. ARGV: member, credits, starts, window
 * (ms), rate per minute, guard (ms). Returns 0 when taken, else the milliseconds to wait. */
static const char httpc_budget_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local cost, k, win = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local rate, guard = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "if cost > rate then cost = rate end\n"
    "local wait = 0\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win - guard)\n"
    "local held = redis.call('ZCARD', KEYS[1])\n"
    "if held >= k then\n"
    "  local r = redis.call('ZRANGE', KEYS[1], held - k, held - k, 'WITHSCORES')\n"
    "  wait = tonumber(r[2]) + win + guard - now + 1\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000 - guard)\n"
    "local used = redis.call('ZCARD', KEYS[2])\n"
    "if used + cost > rate then\n"
    "  local i = used + cost - rate - 1\n"
    "  local r = redis.call('ZRANGE', KEYS[2], i, i, 'WITHSCORES')\n"
    "  wait = math.max(wait, tonumber(r[2]) + 60000 + guard - now + 1)\n"
    "end\n"
    "if wait > 0 then return math.ceil(wait) end\n"
    "local step = win / k\n"
    "for j = 0, cost - 1 do\n"
    "  redis.call('ZADD', KEYS[1], now + math.floor(j * step), ARGV[1] .. ':' .. j)\n"
    "  redis.call('ZADD', KEYS[2], now, ARGV[1] .. ':' .. j)\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(2 * win + cost * step))\n"
    "redis.call('PEXPIRE', KEYS[2], 2 * 60000)\n"
    "return 0\n";

/* Takes credits from the fleet's budget: 0 when taken, the milliseconds to wait, or -1. */
static int64_t
httpc_budget_redis(struct httpc *h, int credits)
{
    int k;
    int64_t window;
    httpc_budget_window(h->conf.rate_per_minute, &k, &window);
    /* The reservations keep the key rq_limit_acquire kept the starts in, so that processes of
     * the previous version share them during a rolling upgrade. */
    char *starts = xasprintf("%s:lim:r:s:%s", h->conf.redis_prefix, h->conf.name);
    char *spent = xasprintf("%s:s:%s:credits", h->conf.redis_prefix, h->conf.name);
    char member[64], cost[16], ks[16], win[24], rate[16], guard[16];
    /* Unique across the fleet: a pid and a count alone repeat on another host or container
     * (each child counts from 1), and ZADD of a name already held would move it, not add a
     * credit. */
    while (h->nonce == 0)
        ids_random(&h->nonce, sizeof(h->nonce));
    snprintf(member, sizeof(member), "%ld.%llx.%llu", (long)getpid(), h->nonce, ++h->seq);
    snprintf(cost, sizeof(cost), "%d", credits);
    snprintf(ks, sizeof(ks), "%d", k);
    snprintf(win, sizeof(win), "%lld", (long long)window);
    snprintf(rate, sizeof(rate), "%d", h->conf.rate_per_minute);
    snprintf(guard, sizeof(guard), "%d", HTTPC_GUARD_MS);
    const char *argv[] = {
        "EVAL", httpc_budget_script, "2", starts, spent, member, cost, ks, win, rate, guard};
    int64_t wait = rq_command(h->rq, 11, argv);
    free(starts);
    free(spent);
    return wait;
}

int64_t
httpc_budget_take(struct httpc *h, int credits, bool *paused, char *err, size_t errlen)
{
    *paused = false;
    if (h->rq == NULL)
        return h->conf.rate_per_minute > 0 ? httpc_budget_local(h, credits) : 0;
    int64_t now = now_mono_ms();
    if (now < h->budget_next_ms) {
        *paused = h->budget_paused;
        return h->budget_next_ms - now;
    }
    int64_t wait = httpc_pause_left(h);
    *paused = wait > 0;
    if (wait == 0 && h->conf.rate_per_minute > 0)
        wait = httpc_budget_redis(h, credits);
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
