/* Reconnect pacing shared by every loop that waits for MariaDB or Redis: capped exponential
 * backoff with jitter, reset on success, and a sleep that a stop flag cuts short. */
#ifndef JOBFLEET_RETRY_H
#define JOBFLEET_RETRY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Caller-owned; no resources, so no release. */
struct retry {
    int64_t base_ms; /* the first delay's ceiling */
    int64_t cap_ms;  /* no delay exceeds this */
    int failures;    /* since the last success */
};

/* Sets up backoff starting near base_ms and doubling up to cap_ms (cap_ms >= base_ms > 0). */
void retry_init(struct retry *r, int64_t base_ms, int64_t cap_ms);
/* Records a failure and returns how long to wait before the next try: a random delay in
 * [c/2, c] where c = min(cap, base * 2^(failures-1)), so that many processes that lost the
 * same server do not reconnect in step, yet none retries in a tight loop. */
int64_t retry_fail(struct retry *r);
/* Records a success: the next failure starts again from base_ms. */
void retry_reset(struct retry *r);
/* True when the last attempt failed (a failure recorded and no success since). */
bool retry_failing(const struct retry *r);

/* Sleeps up to ms milliseconds, returning early once *stop is nonzero (stop may be NULL). The
 * flag is checked at least every 50 ms, so a signal handler that sets it is obeyed promptly
 * even if it ran just before the sleep began. Returns true when stopped. */
bool retry_sleep(int64_t ms, const volatile sig_atomic_t *stop);

#endif
