/* This file is the scheduler's cron step: firing every active cron_jobs schedule once per
 * matching minute in its time zone (invariant 6). The step itself is cronjob_fire_due
 * (common/cronjob_fire.c), which tests drive with a simulated now. */
#include "cronjob_fire.h"
#include "cronjob.h"
#include "sched.h"
#include "log.h"

#include <stdio.h>

/* The schedules the config keeps: [dispatch] every_min runs Dispatch/Legacy/Sync every N
 * minutes (the minute field stepped by N; 60: hourly). Made once per process, retried each tick
 * until the database takes them. 0 leaves any cron job of that name alone (an operator's own). */
static void
sched_cron_config(struct sched *s)
{
    int n = s->cfg->dispatch.every_min;
    s->cron_config_done = true;
    if (n <= 0)
        return;
    char schedule[32];
    if (n >= 60)
        snprintf(schedule, sizeof(schedule), "0 * * * *");
    else
        snprintf(schedule, sizeof(schedule), "*/%d * * * *", n);
    struct cronjob_spec spec = {.name = "Dispatch/Legacy/Sync",
                                .schedule = schedule,
                                .action = "Dispatch/Legacy/Sync",
                                .catchup = "none"};
    char err[256];
    enum job_err e = cronjob_ensure(s->db, s->cfg, &spec, err, sizeof(err));
    if (e == JOB_E_DB)
        s->cron_config_done = false;
    if (e != JOB_E_OK)
        log_warnx("[dispatch] every_min: %s", err);
}

/* Called once per leader tick, after reconcile and before retention, with s->db connected:
 * fires the due cron jobs at the scheduler's now ([scheduler] test_clock_file in tests), a
 * bounded batch per tick. Two schedulers at once cost work, not duplicates. Returns the number
 * of new jobs, or -1 after sched_db_fail. */
int
sched_cron_step(struct sched *s)
{
    int fired = 0;
    if (!s->cron_config_done)
        sched_cron_config(s);
    /* Without Redis the fires are still made; reconcile pushes them once it is back. */
    struct rq *rq = rq_connected(s->rq) ? s->rq : NULL;
    if (cronjob_fire_due(s->db, rq, s->cfg, cronjob_now(s->cfg), &fired) < 0)
        return sched_db_fail(s, SCHED_STEP_CRON, s->db);
    s->counts.fired += fired;
    return fired;
}
