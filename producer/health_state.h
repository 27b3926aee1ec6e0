/* Reachability of MariaDB and Redis as a background thread keeps it (health_state.c), so that
 * a request that wants to know never waits on either server itself. */
#ifndef JOBFLEET_HEALTH_STATE_H
#define JOBFLEET_HEALTH_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"

struct health_state;

/* What the last probes found. */
struct health_view {
    bool db_ok;    /* MariaDB answered SELECT 1 within the probe's deadline */
    bool redis_ok; /* Redis answered PING within the probe's deadline */
};

/* Starts a thread that probes MariaDB and Redis every interval_ms on connections of its own
 * (borrowed cfg must outlive the state). A probe that has not answered stale_ms after it began
 * counts as a failure at once, so a hung server reads as down while its probe still waits. */
struct health_state *health_state_start(const struct cfg *c, int interval_ms, int stale_ms);
/* Stops the thread (waiting for a probe in progress, which its read timeout bounds) and frees
 * the state; accepts NULL. */
void health_state_stop(struct health_state *h);
/* The current view; never blocks on a server. */
struct health_view health_state_get(struct health_state *h);

#endif
