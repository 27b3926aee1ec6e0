/* This file turns the worker's monotonic clock into MariaDB's from the claims' own stamps
 * (start_clock.h). The estimate it replaced kept only the lower end of the bracket, taken
 * after each claim's read-back: it stamped jobs as started 0.7 ms before they were handed over
 * on an idle fleet (the quickest claim's commit and read-back), up to 3 ms for the first jobs. */
#include "start_clock.h"

void
start_clock_learn(struct start_clock *c, int64_t server_us, int64_t sent_us, int64_t got_us)
{
    int64_t lo = server_us - got_us, hi = server_us - sent_us;
    if (!c->set || lo > c->hi_us || hi < c->lo_us) {
        /* The first claim, or MariaDB's clock was stepped: its old readings no longer hold. */
        c->lo_us = lo;
        c->hi_us = hi;
        c->last_us = 0;
        c->set = true;
        return;
    }
    if (lo > c->lo_us)
        c->lo_us = lo;
    if (hi < c->hi_us)
        c->hi_us = hi;
}

int64_t
start_clock_stamp(struct start_clock *c, int64_t now_us)
{
    int64_t t = now_us + c->hi_us;
    if (t < c->last_us)
        t = c->last_us;
    c->last_us = t;
    return t;
}
