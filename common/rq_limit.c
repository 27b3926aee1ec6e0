/* This file holds the fleet-wide limits in Redis (rq.h): the atomic acquire of concurrency and
 * rate slots, their release and renewal. */
#include "rq_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

/* The longest a job waits for a concurrency slot before it is tried again, when no free wakes
 * it first (a slot that expires with its lease, a lost wake). */
#define RQ_LIMIT_SLOT_WAIT_MS "1000"

/* KEYS: a concurrency key, a rate key and a waiting key per scope. ARGV: member, lease_ms,
 * waiter ("" for none) and its score, then per scope concurrency limit, rate limit, rate
 * interval. Redis's own clock makes every host agree. Starts are counted 25 ms past their
 * interval, so that the few milliseconds between taking a slot and the job's recorded
 * dt_started cannot make any window hold more than the limit. A waiter joins the waiting set of
 * each full concurrency scope in the same step that finds it full, so a free that comes after
 * this answer finds it there; and leaves them when it takes its slots. A job a rate holds back
 * joins no line: woken by a free, it would take the wake of one that could run, and go back. */
static const char rq_limit_script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local member, lease, waiter = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "local wait, rate_wait, full = 0, 0, {}\n"
    "for i = 1, #KEYS, 3 do\n"
    "  local b = 4 + (i - 1) / 3 * 3\n"
    "  local cl, rl, ri = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])\n"
    "  if cl > 0 then\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)\n"
    "    if not redis.call('ZSCORE', KEYS[i], member) and\n"
    "       redis.call('ZCARD', KEYS[i]) >= cl then\n"
    "      local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')\n"
    "      local w = math.min(tonumber(first[2]) - now, " RQ_LIMIT_SLOT_WAIT_MS ")\n"
    "      if w < 20 then w = 20 end\n"
    "      if w > wait then wait = w end\n"
    "      full[#full + 1] = KEYS[i + 2]\n"
    "    end\n"
    "  end\n"
    "  if rl > 0 then\n"
    "    redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', now - ri - 25)\n"
    "    if redis.call('ZCARD', KEYS[i + 1]) >= rl then\n"
    "      local first = redis.call('ZRANGE', KEYS[i + 1], 0, 0, 'WITHSCORES')\n"
    "      local w = tonumber(first[2]) + ri + 25 - now + 1\n"
    "      if w > wait then wait = w end\n"
    "      if w > rate_wait then rate_wait = w end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if rate_wait == 0 and waiter ~= '' then\n"
    "  for _, k in ipairs(full) do\n"
    "    redis.call('ZADD', k, ARGV[4], waiter)\n"
    "    redis.call('PEXPIRE', k, lease * 2)\n"
    "  end\n"
    "end\n"
    "if wait > 0 then return wait end\n"
    "for i = 1, #KEYS, 3 do\n"
    "  local b = 4 + (i - 1) / 3 * 3\n"
    "  local cl, rl, ri = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])\n"
    "  if cl > 0 then\n"
    "    redis.call('ZADD', KEYS[i], now + lease, member)\n"
    "    redis.call('PEXPIRE', KEYS[i], lease * 2)\n"
    "    if waiter ~= '' then redis.call('ZREM', KEYS[i + 2], waiter) end\n"
    "  end\n"
    "  if rl > 0 then\n"
    "    redis.call('ZADD', KEYS[i + 1], now, member .. ':' .. now)\n"
    "    redis.call('PEXPIRE', KEYS[i + 1], ri * 2)\n"
    "  end\n"
    "end\n"
    "return 0\n";

static char *
rq_limit_key(const struct rq *rq, const char *kind, const char *scope)
{
    return xasprintf("%s:lim:%s:%s", rq->prefix, kind, scope);
}

int64_t
rq_limit_acquire(struct rq *rq, const struct rq_limit *lims, int n, const char *member,
                 int64_t lease_ms, const char *waiter, double waiter_score)
{
    if (n <= 0)
        return 0;
    if (rq_ensure(rq) < 0)
        return -1;
    int argc = 3 + 3 * n + 4 + 3 * n;
    const char **argv = xcalloc((size_t)argc, sizeof(char *));
    char **own = xcalloc((size_t)argc, sizeof(char *));
    int k = 0, o = 0;
    argv[k++] = "EVAL";
    argv[k++] = rq_limit_script;
    argv[k++] = own[o++] = xasprintf("%d", 3 * n);
    for (int i = 0; i < n; i++) {
        argv[k++] = own[o++] = rq_limit_key(rq, "c", lims[i].scope);
        argv[k++] = own[o++] = rq_limit_key(rq, "r", lims[i].scope);
        argv[k++] = own[o++] = rq_limit_key(rq, "w", lims[i].scope);
    }
    argv[k++] = member;
    argv[k++] = own[o++] = xasprintf("%lld", (long long)lease_ms);
    argv[k++] = waiter ? waiter : "";
    argv[k++] = own[o++] = xasprintf("%.17g", waiter_score);
    for (int i = 0; i < n; i++) {
        argv[k++] = own[o++] = xasprintf("%d", lims[i].concurrency);
        argv[k++] = own[o++] = xasprintf("%d", lims[i].rate);
        argv[k++] = own[o++] = xasprintf("%lld", (long long)lims[i].rate_interval_ms);
    }
    int64_t rc = rq_command(rq, k, argv);
    for (int i = 0; i < o; i++)
        free(own[i]);
    free(own);
    free(argv);
    return rc;
}

int
rq_limit_next_waiter(struct rq *rq, const char *scope, char **waiter, double *score)
{
    if (rq_ensure(rq) < 0)
        return -1;
    char *key = rq_limit_key(rq, "w", scope);
    redisReply *r = rq_check(rq, redisCommand(rq->ctx, "ZPOPMIN %s 1", key), "ZPOPMIN waiting");
    free(key);
    if (r == NULL)
        return -1;
    int got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
        *waiter = xstrdup(r->element[0]->str);
        *score = strtod(r->element[1]->str, NULL);
        got = 1;
    }
    freeReplyObject(r);
    return got;
}

static int
rq_limit_each(struct rq *rq, const struct rq_limit *lims, int n, const char *member,
              int64_t lease_ms, bool renew)
{
    if (rq_ensure(rq) < 0)
        return -1;
    int sent = 0, rc = 0;
    for (int i = 0; i < n; i++) {
        if (lims[i].concurrency <= 0)
            continue;
        char *key = rq_limit_key(rq, "c", lims[i].scope);
        if (renew) {
            /* Lease ends are on Redis's clock: extend from its TIME via a tiny script. The set's
             * expiry moves too: left at two leases from the last acquire, it dropped a running
             * job's slot, and the next job of the limit started beside it. And the slot is added
             * whether or not it is there: after Redis lost its data, a running job takes its
             * slot back at its next heartbeat. (A renew never follows its own release: both are
             * the holder's, the renew answered before the job is handed to its check-out.) */
            char lease[32];
            snprintf(lease, sizeof(lease), "%lld", (long long)lease_ms);
            const char *argv[] = {"EVAL",
                                  "local t = redis.call('TIME') "
                                  "local now = tonumber(t[1]) * 1000 + "
                                  "math.floor(tonumber(t[2]) / 1000) "
                                  "redis.call('ZADD', KEYS[1], now + ARGV[2], ARGV[1]) "
                                  "return redis.call('PEXPIRE', KEYS[1], ARGV[2] * 2)",
                                  "1",
                                  key,
                                  member,
                                  lease};
            rc = rq_append(rq, 6, argv, NULL, "renew");
        } else {
            const char *argv[] = {"ZREM", key, member};
            rc = rq_append(rq, 3, argv, NULL, "release");
        }
        free(key);
        if (rc < 0)
            return -1;
        sent++;
    }
    for (int i = 0; i < sent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(rq->ctx, (void **)&r) != REDIS_OK) {
            rq_fail(rq, renew ? "renew" : "release");
            return -1;
        }
        if (rq_check(rq, r, renew ? "renew" : "release") == NULL)
            rc = -1;
        else
            freeReplyObject(r);
    }
    return rc;
}

int
rq_limit_release(struct rq *rq, const struct rq_limit *lims, int n, const char *member)
{
    return rq_limit_each(rq, lims, n, member, 0, false);
}

int
rq_limit_renew(struct rq *rq, const struct rq_limit *lims, int n, const char *member,
               int64_t lease_ms)
{
    return rq_limit_each(rq, lims, n, member, lease_ms, true);
}
