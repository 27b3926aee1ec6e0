/* A worker child: runs one job at a time, as the supervisor hands them over. */
#ifndef JOBFLEET_CHILD_H
#define JOBFLEET_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

#include "cfg.h"
#include "gate.h"

/* Runs the child loop on fd (its end of the socketpair) until EOF or the supervisor dies;
 * never returns. parent is the supervisor's pid, checked after PR_SET_PDEATHSIG so a child
 * forked just as the supervisor died does not linger. cfg (the supervisor's, inherited by the
 * fork) is handed to job functions in their struct job_ctx. gate is the child's own start gate
 * (gate.h), through which it takes each job before it starts it, and reads which job the
 * supervisor asks to cancel. */
_Noreturn void child_main(int fd, pid_t parent, const struct cfg *cfg, struct gate *gate);

#endif
