/* System/Effect (test-only): the fault suite's job function (tests/chaos). It reports each
 * attempt's life to a fake upstream (tests/fakes/effects.py), which logs it with its own clock,
 * so the suite's checker can tell whether two attempts of a job ever ran at once and whether
 * an effect was applied more than once. */
#ifndef JOBFLEET_EFFECT_H
#define JOBFLEET_EFFECT_H

#include "runtime.h"

/* Parameters (all optional): "work_ms" (default 200): how long the attempt works between its
 * begin and its effect; "effect" (default "post"): the name of the logical effect; "fail_attempts":
 * attempts up to this number fail with a retry after their effect; "die": "segv",
 * "abort", "exit" (_exit(3)) or "kill" (SIGKILL, as from the OOM killer) ends the child right
 * after the begin, on every attempt or, with "die_attempts": N, on attempts up to N.
 * Steps, each a POST of a JSON object to [service.effects]: /begin {job, attempt, pid, pgid};
 * the fault point "function"; the work; /effect {job, attempt, effect, key} whose key
 * "job:<id>:<effect>" is the same for every attempt, so the effect is idempotent; /end {job,
 * attempt, pid, outcome}. An upstream that cannot be reached makes the attempt a retry. */
job_fn system_effect;

#endif
