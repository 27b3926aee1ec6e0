/* JSON forms of cron jobs and of the cron operations, for the CLI's --json and the producer's
 * JSON API (/api/cron).
 *
 * Each returns a new cJSON the caller deletes, or NULL with *e set (JOB_E_INPUT 400,
 * JOB_E_NOTFOUND 404, JOB_E_STATE 409, JOB_E_DB 5xx) and one line in err.
 *
 * A cron job object: id, name, schedule, timezone (effective), timezone_default (true when it
 * follows [scheduler] timezone), action, parameters (object), queue, priority, timeout_s and
 * max_attempts (null: the action's default), catchup ("latest" or "none"), is_active (bool),
 * next_fire (the stored plan the scheduler acts on) and last_fire (local time with UTC offset,
 * "2026-03-08T03:00:00-05:00", or null), overdue (next_fire passed over a minute ago),
 * last_fire_utc ("2026-03-08 08:00:00" or null), last_job_id, last_job_state (or null),
 * dt_created.
 */
#ifndef JOBFLEET_CRONJOB_JSON_H
#define JOBFLEET_CRONJOB_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "cronjob.h"
#include "db.h"
#include "job.h"

/* GET /api/cron: every cron job, by name. */
cJSON *cronjob_list_json(struct db *db, const struct cfg *cfg, enum job_err *e, char *err,
                         size_t errlen);
/* GET /api/cron/{name}. */
cJSON *cronjob_get_json(struct db *db, const struct cfg *cfg, const char *name, enum job_err *e,
                        char *err, size_t errlen);
/* POST /api/cron with body {"name", "schedule", "action", "parameters" (object), "timezone",
 * "queue", "priority", "timeout_s", "max_attempts", "catchup"}: the created cron job. */
cJSON *cronjob_add_json(struct db *db, const struct cfg *cfg, const cJSON *body, enum job_err *e,
                        char *err, size_t errlen);
/* POST /api/cron/{name}/enable and /disable: the cron job after the change. */
cJSON *cronjob_set_active_json(struct db *db, const struct cfg *cfg, const char *name, bool active,
                               enum job_err *e, char *err, size_t errlen);
/* DELETE /api/cron/{name}: {"removed": name, "id": id}. */
cJSON *cronjob_remove_json(struct db *db, const char *name, enum job_err *e, char *err,
                           size_t errlen);
/* GET /api/cron/{name}/next?count=N: {"name", "timezone", "is_active", "next": [local times
 * with UTC offsets], "next_utc": ["2026-03-08T08:00:00Z", ...]}. */
cJSON *cronjob_next_json(struct db *db, const struct cfg *cfg, const char *name, int count,
                         enum job_err *e, char *err, size_t errlen);

#endif
