/* The scheduler's cron step: which fire times of a schedule are due (cronjob_plan, pure) and the
 * firing step that makes their jobs (cronjob_fire_due). Exactly once per fire time, whatever the
 * number of schedulers running it (DESIGN.md, invariant 6). */
#ifndef JOBFLEET_CRONJOB_FIRE_H
#define JOBFLEET_CRONJOB_FIRE_H

#include <stdint.h>

#include "cfg.h"
#include "cron.h"
#include "db.h"
#include "rq.h"

/* Cron jobs examined per cronjob_fire_due call; more due ones wait for the next tick. */
#define CRONJOB_FIRE_BATCH 100
/* The catch-up window of catchup = none, and the least one of latest: the current minute. */
#define CRONJOB_CURRENT_MINUTE_S 59

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

/* The firing step: for up to CRONJOB_FIRE_BATCH active cron jobs due at now_s, in one
 * transaction per fire that first locks the cron job's row and goes on only while it is still
 * active and still due as read, inserts the fire's job (origin 'cron', cron_job_id,
 * cron_fire_time; a fire that already has a job yields that job) and moves the cron job's next
 * fire, last fire and last job; it pushes the job after the commit. Safe to run from any number of
 * schedulers at once: each fire time makes exactly one job. rq may be NULL (reconcile pushes).
 * Sets *fired to the number of new jobs made (a fire whose job another scheduler made counts
 * there). Returns 0, or -1 on a database error (db_errstr; what was done stays done and the rest
 * is retried next call). */
int cronjob_fire_due(struct db *db, struct rq *rq, const struct cfg *cfg, int64_t now_s,
                     int *fired);

/* Shows jobfleet_cron_misfires_total at 0 for every reason from the start, so that the first
 * misfire of a kind is an increase an alert can see. */
void cronjob_fire_metrics_start(void);

#endif
