/* The job functions of this build, found by action name (the rows of actions.def). Only the
 * worker and `jobfleet run` link this: the scheduler and the producer read action metadata
 * through action.h and contain no job function. */
#ifndef JOBFLEET_REGISTRY_H
#define JOBFLEET_REGISTRY_H

#include <stdbool.h>

#include "runtime.h"

/* The function of a registered action; test-only actions are found only when test_actions is
 * true. NULL for an unknown action. Needs actions_install() to have run. */
job_fn *registry_find(const char *action, bool test_actions);

#endif
