/* The worker supervisor: owns the fleet protocol (claim, check-out, heartbeat) and a pool of
 * prefork children that only run job functions. */
#ifndef JOBFLEET_SUPERVISOR_H
#define JOBFLEET_SUPERVISOR_H

#include "cfg.h"

/* Runs the worker until drained by SIGTERM/SIGINT; returns the process exit status (0 after a
 * clean drain, 1 when a second signal cut the drain short or startup failed). */
int supervisor_run(const struct cfg *cfg);

#endif
