/* Cron jobs: the cron_jobs table's SQL, the firing step the scheduler runs each tick, and the
 * management operations (add, list, enable, disable, remove, next) the CLI and the JSON API
 * share. Fire times come from cron.h; exactly-once rests on jobs' UNIQUE (cron_job_id,
 * cron_fire_time), never on there being one scheduler (DESIGN.md, invariant 6). */
#ifndef JOBFLEET_CRONJOB_H
#define JOBFLEET_CRONJOB_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cron.h"
#include "db.h"
#include "job.h"
#include "rq.h"

/* Cron jobs examined per cronjob_fire_due call; more due ones wait for the next tick. */
#define CRONJOB_FIRE_BATCH 100
/* The catch-up window of catchup = none, and the least one of latest: the current minute. */
#define CRONJOB_CURRENT_MINUTE_S 59
/* Most fire times `cronjob_next` lists. */
#define CRONJOB_NEXT_MAX 1000

/* A new cron job. NULL/0 fields take defaults. Strings are borrowed. */
struct cronjob_spec {
    const char *name;       /* 1-191 of [A-Za-z0-9._/:-] */
    const char *schedule;   /* a five-field expression or macro (cron.h) */
    const char *action;     /* a registered action */
    const char *parameters; /* JSON object text; "{}" when NULL */
    const char *timezone;   /* IANA zone; NULL: [scheduler] timezone at each fire */
    const char *queue;      /* NULL: the action's default queue */
    int priority;
    int timeout_s;       /* 0: the action's default at each fire */
    int max_attempts;    /* 0: the action's default at each fire */
    const char *catchup; /* NULL or "latest": one catch-up within cron_catchup_s; "none" */
};

/* What one cron job should do at `now`, decided by cronjob_plan. All times are UTC seconds. */
struct cronjob_plan {
    int64_t fire;          /* the fire time to make a job for; 0 when none */
    int64_t next;          /* the first fire time left unhandled afterwards */
    int64_t skipped_first; /* the oldest missed fire time skipped; 0 when none was */
};

/* Decides the fires of one schedule (pure: no database). `first` is the first fire time not yet
 * handled (fired or skipped). Of the fire times in [first, now], only the latest one no older
 * than window_s fires; older ones are skipped. Returns 1 when p->fire is set, 0 when nothing is
 * due (p->next = first) or every due fire was too old (p->skipped_first set, p->next after now),
 * -1 when the schedule has no next fire within cron_next's horizon or tz is invalid. */
int cronjob_plan(const struct cron_expr *e, const char *tz, int64_t first, int64_t now,
                 int64_t window_s, struct cronjob_plan *p);

/* The current time in UTC seconds: the unix time held in [scheduler] test_clock_file when that
 * is set (tests), else the system clock. A test clock file that cannot be read is logged and the
 * system clock used. */
int64_t cronjob_now(const struct cfg *cfg);

/* The firing step: for up to CRONJOB_FIRE_BATCH active cron jobs due at now_s, inserts one job
 * per fire (origin 'cron', cron_job_id, cron_fire_time; a fire that already has a job yields
 * that job), pushes it after the insert committed, then moves the cron job's next fire, last
 * fire and last job with a compare-and-set on its next fire. Safe to run from any number of
 * schedulers at once: each fire time makes exactly one job. rq may be NULL (reconcile pushes).
 * Sets *fired to the number of new jobs made (a fire whose job another scheduler made counts
 * there). Returns 0, or -1 on a database error (db_errstr;
 * what was done stays done and the rest is retried next call). */
int cronjob_fire_due(struct db *db, struct rq *rq, const struct cfg *cfg, int64_t now_s,
                     int *fired);

/* Checks and inserts a cron job; its first fire is the first one after cronjob_now(). On
 * JOB_E_INPUT (bad field) or JOB_E_STATE (the name exists) writes one line to err naming the
 * problem (e.g. "schedule: field 3 (day-of-month): \"32\" is outside 1-31"); JOB_E_DB on a
 * database error. Sets *id when not NULL. */
enum job_err cronjob_add(struct db *db, const struct cfg *cfg, const struct cronjob_spec *spec,
                         int64_t *id, char *err, size_t errlen);

/* Enables or disables a cron job by name. Enabling a disabled one starts from the next fire
 * after now: fires missed while it was disabled do not catch up. Idempotent. JOB_E_NOTFOUND
 * when there is no such name. */
enum job_err cronjob_set_active(struct db *db, const struct cfg *cfg, const char *name, bool active,
                                char *err, size_t errlen);

/* Removes a cron job by name. Its past jobs stay, keeping their cron_job_id. */
enum job_err cronjob_remove(struct db *db, const char *name, char *err, size_t errlen);

/* The next `count` (1..CRONJOB_NEXT_MAX) fire times after cronjob_now(), UTC seconds, into
 * times[] (room for count); *n gets how many there are (fewer when the schedule ends). *tz_out,
 * when not NULL, gets the effective zone (static or the config's; valid until cfg changes). */
enum job_err cronjob_next_times(struct db *db, const struct cfg *cfg, const char *name, int count,
                                int64_t *times, int *n, char *tz_out, size_t tz_len, char *err,
                                size_t errlen);

/*
 * JSON forms, for the CLI's --json and the producer's JSON API. Each returns a new cJSON the
 * caller deletes, or NULL with *e set (JOB_E_INPUT 400, JOB_E_NOTFOUND 404, JOB_E_STATE 409,
 * JOB_E_DB 5xx) and one line in err.
 *
 * A cron job object: id, name, schedule, timezone (effective), timezone_default (true when it
 * follows [scheduler] timezone), action, parameters (object), queue, priority, timeout_s and
 * max_attempts (null: the action's default), catchup ("latest" or "none"), is_active (bool),
 * next_fire and last_fire (local time with UTC offset, "2026-03-08T03:00:00-05:00", or null),
 * last_fire_utc ("2026-03-08 08:00:00" or null), last_job_id, last_job_state (or null),
 * dt_created.
 */
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
/* GET /api/cron/{name}/next?count=N: {"name", "timezone", "next": [local times with UTC
 * offsets], "next_utc": ["2026-03-08T08:00:00Z", ...]}. */
cJSON *cronjob_next_json(struct db *db, const struct cfg *cfg, const char *name, int count,
                         enum job_err *e, char *err, size_t errlen);

#endif
