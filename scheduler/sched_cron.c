/* This file is the scheduler's cron step: firing every active cron_jobs schedule once per
 * matching minute in its time zone (invariant 6). The step itself is cronjob_fire_due
 * (common/cronjob_fire.c), which tests drive with a simulated now. */
#include "cronjob_fire.h"
#include "cronjob.h"
#include "sched.h"

/* Called once per leader tick, after reconcile and before retention, with s->db connected:
 * fires the due cron jobs at the scheduler's now ([scheduler] test_clock_file in tests), a
 * bounded batch per tick. Two schedulers at once cost work, not duplicates. Returns the number
 * of new jobs, or -1 after sched_db_fail. */
int
sched_cron_step(struct sched *s)
{
    int fired = 0;
    /* Without Redis the fires are still made; reconcile pushes them once it is back. */
    struct rq *rq = rq_connected(s->rq) ? s->rq : NULL;
    if (cronjob_fire_due(s->db, rq, s->cfg, cronjob_now(s->cfg), &fired) < 0)
        return sched_db_fail(s, SCHED_STEP_CRON, s->db);
    return fired;
}
