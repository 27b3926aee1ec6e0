/* The System family job functions: no-op, echo, sleep, fail, and the test-only crash. */
#ifndef JOBFLEET_SYSTEM_H
#define JOBFLEET_SYSTEM_H

#include "runtime.h"

job_fn system_noop;
job_fn system_echo;
job_fn system_sleep;
job_fn system_fail;
job_fn system_crash;
job_fn system_touch;

#endif
