/* The action metadata of this build (jobs/actions.def without the functions): what the
 * producer, the CLI and the scheduler know of actions without linking any job function. */
#ifndef JOBFLEET_ACTIONS_H
#define JOBFLEET_ACTIONS_H

#include "action.h"

/* Installs this build's action table as the process's catalogue (action.h). Every program
 * calls it once at start, before any thread. */
void actions_install(void);

#endif
