/* Cron jobs: the model (a named schedule in a time zone that makes one job per fire) and the
 * operations the CLI and the JSON API share: add, enable, disable, remove, next fire times.
 * The table's SQL is in cronjob_store.h, the checks of a new cron job in cronjob_check.h, the
 * scheduler's firing step in cronjob_fire.h, the JSON forms in cronjob_json.h. Fire times come
 * from cron.h; exactly-once rests on jobs' UNIQUE (cron_job_id, cron_fire_time), never on there
 * being one scheduler (DESIGN.md, invariant 6). */
#ifndef JOBFLEET_CRONJOB_H
#define JOBFLEET_CRONJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cron.h"
#include "db.h"
#include "job.h"

/* Most fire times `cronjob_next_times` lists. */
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

/* Cron's now in UTC seconds: the unix time held in [scheduler] test_clock_file when that is set
 * (tests), else MariaDB's clock read through db (the fleet's one clock: schedulers on hosts
 * whose clocks disagree fire the same minutes, and a leader change neither skips nor repeats
 * fires), else, when db is NULL or the query fails, this host's clock. A test clock file that
 * cannot be read is logged and the next source used. */
int64_t cronjob_now(struct db *db, const struct cfg *cfg);
/* cronjob_now without the host's clock: 0 with *now set, or -1 when MariaDB's clock could not
 * be read (db_errstr). For the scheduler's firing, which waits a tick rather than fire by a
 * clock the fleet does not share (ten minutes fast, it fired ahead and skipped a fire). */
int cronjob_now_db(struct db *db, const struct cfg *cfg, int64_t *now);

/* The zone a cron job runs in: its own tz when set and not empty, else [scheduler] timezone.
 * Returns tz or the config's string (borrowed: valid while they are). */
const char *cronjob_zone(const struct cfg *cfg, const char *tz);

/* Checks and inserts a cron job; its first fire is the first one after cronjob_now(db). On
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

/* Makes the cron job spec->name hold spec->schedule, as a schedule kept in the config does:
 * adds it when missing, replaces it (remove, then add) when its schedule, zone, action,
 * parameters or catch-up differ, and leaves it alone otherwise (an operator's disable
 * included). Two schedulers at once are harmless: a
 * name that appears meanwhile is taken as there. JOB_E_OK, or another code with err set. */
enum job_err cronjob_ensure(struct db *db, const struct cfg *cfg, const struct cronjob_spec *spec,
                            char *err, size_t errlen);

/* Removes a cron job by name. Its past jobs stay, keeping their cron_job_id. Sets *id (when not
 * NULL) to the removed cron job's id. JOB_E_NOTFOUND when there is no such name. */
enum job_err cronjob_remove(struct db *db, const char *name, int64_t *id, char *err, size_t errlen);

/* The next `count` (1..CRONJOB_NEXT_MAX) fire times after cronjob_now(db), UTC seconds, into
 * times[] (room for count); *n gets how many there are (fewer when the schedule ends). *tz_out,
 * when not NULL, gets the effective zone (truncated to tz_len), and *active (when not NULL)
 * whether the cron job is enabled: a disabled one lists its schedule's times all the same. */
enum job_err cronjob_next_times(struct db *db, const struct cfg *cfg, const char *name, int count,
                                int64_t *times, int *n, char *tz_out, size_t tz_len, bool *active,
                                char *err, size_t errlen);

#endif
