/* This file paces reconnect attempts: one backoff policy and one interruptible sleep for all
 * the loops that wait for a server. */
#include "retry.h"
#include "util.h"

#include <stdlib.h>

#define RETRY_SLICE_MS 50

void
retry_init(struct retry *r, int64_t base_ms, int64_t cap_ms)
{
    r->base_ms = base_ms > 0 ? base_ms : 1;
    r->cap_ms = cap_ms >= r->base_ms ? cap_ms : r->base_ms;
    r->failures = 0;
}

int64_t
retry_fail(struct retry *r)
{
    if (r->failures < 62)
        r->failures++;
    int64_t ceiling = r->base_ms;
    for (int i = 1; i < r->failures && ceiling < r->cap_ms; i++)
        ceiling *= 2;
    if (ceiling > r->cap_ms)
        ceiling = r->cap_ms;
    int64_t half = ceiling / 2;
    return ceiling - half + (int64_t)((uint64_t)random() % (uint64_t)(half + 1));
}

void
retry_reset(struct retry *r)
{
    r->failures = 0;
}

bool
retry_failing(const struct retry *r)
{
    return r->failures > 0;
}

bool
retry_sleep(int64_t ms, const volatile sig_atomic_t *stop)
{
    int64_t until = now_mono_ms() + ms;
    for (;;) {
        if (stop && *stop)
            return true;
        int64_t left = until - now_mono_ms();
        if (left <= 0)
            return false;
        sleep_ms(left < RETRY_SLICE_MS ? left : RETRY_SLICE_MS);
    }
}
