/* The claiming half of the fetch thread: the claim of the IDs popped together, on the
 * thread's own MariaDB connection, the fleet-wide limits taken before it, and what becomes
 * of the IDs it did not take. */
#ifndef JOBFLEET_CLAIM_H
#define JOBFLEET_CLAIM_H

#include <stdbool.h>

#include "fetch.h"
#include "rq.h"

/* True when the thread's MariaDB connection may be used now; otherwise reconnects with
 * backoff and returns false. Refreshes the settings snapshot (paused queues, limits) when
 * due: a pop needs a fresh one. */
bool claim_ready(struct fetch *f);
/* Claims items (popped together) with one statement and hands the claimed jobs to the
 * supervisor; puts back in Redis the IDs the claim did not take whose rows are still queued
 * (a queue paused between the pop and the claim), and when nothing could be claimed, all of
 * them. Gives back the capacity of the IDs not claimed. */
void claim_batch(struct fetch *f, struct rq *rq, const struct fetch_item *items, int n);

#endif
