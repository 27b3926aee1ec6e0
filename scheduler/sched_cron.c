/* This file is the scheduler's cron step: firing every active cron_jobs schedule once per
 * matching minute in its time zone (invariant 6). It is a hook for now. */
#include "sched.h"

/* HOOK (issue 2, cron firing, to be written in this file): called once per leader tick,
 * after reconcile and before retention, with s->db connected. Fire due schedules with
 * job_insert (origin "cron", cron_job_id + cron_fire_time make each fire unique, so two
 * schedulers at once cost work, not duplicates), push the queued ones after their commit,
 * bound the work per tick, count into s->counts and report errors through sched_db_fail /
 * sched_rq_fail with SCHED_STEP_CRON. Return the number fired or -1. */
int
sched_cron_step(struct sched *s)
{
    (void)s;
    return 0;
}
