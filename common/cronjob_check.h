/* The checks a new cron job passes before it is stored: its name, schedule, zone, catch-up
 * policy and the job its fires will make; and the reading of a JSON request into a spec. */
#ifndef JOBFLEET_CRONJOB_CHECK_H
#define JOBFLEET_CRONJOB_CHECK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cron.h"
#include "cronjob.h"
#include "job.h"

/* What cronjob_check found out about a good spec. */
struct cronjob_checked {
    struct cron_expr expr;
    int64_t next;        /* its first fire after `now` */
    struct job_spec job; /* the job a fire makes, defaults filled (strings borrowed from the
                          * spec and the registry) */
};

/* Checks spec as cronjob_add must: name, schedule (it must fire within cron_next's horizon
 * after now), timezone (or, when NULL, [scheduler] timezone), catchup, and the job of a fire as
 * an enqueue checks it. Returns JOB_E_OK and fills *out, or JOB_E_INPUT (or job_spec_check's
 * error) with one line in err that starts with the field at fault ("schedule: ...",
 * "timezone: ..."). */
enum job_err cronjob_check(const struct cfg *cfg, const struct cronjob_spec *spec, int64_t now,
                           struct cronjob_checked *out, char *err, size_t errlen);

/* Reads a POST /api/cron body, {"name", "schedule", "action", "parameters" (object),
 * "timezone", "queue", "priority", "timeout_s", "max_attempts", "catchup"}, into *spec (strings
 * borrowed from body). *params_text gets the parameters as text (NULL when absent), which the
 * caller frees after it is done with spec. Returns 0, or -1 with one line in err for a body
 * that is not an object, an unknown member or one of the wrong type or range (no allocation
 * then). Does not run cronjob_check. */
int cronjob_spec_from_json(const cJSON *body, struct cronjob_spec *spec, char **params_text,
                           char *err, size_t errlen);

#endif
