/* This file deletes what the retention window no longer covers: succeeded jobs (with their
 * attempt rows), webhook log rows and stopped workers' instance rows after retention_days,
 * audit_log rows after audit_retention_days, a few small batches per tick so that no tick holds
 * many locks or runs long however much has piled up. Failed and cancelled jobs are kept: an
 * operator may still want to look at them or retry them. */
#include "audit.h"
#include "caltime.h"
#include "instance.h"
#include "retention.h"
#include "webhook_log_store.h"
#include "job.h"
#include "log.h"
#include "sched.h"
#include "util.h"

#include <stdlib.h>

static int
sched_retention_batch_size(const struct sched *s)
{
    int b = s->cfg->scheduler.batch_size;
    return b < SCHED_RETENTION_BATCH ? b : SCHED_RETENTION_BATCH;
}

/* Runs fn's batches (retention.c, shared with the System/Cleanup job functions) until one comes
 * back short or the tick's rounds are spent. Returns the rows deleted, or -1. */
static int
sched_retention_rounds(struct sched *s, retention_batch_fn *fn, const char *cutoff, int limit)
{
    int total = 0;
    for (int round = 0; round < SCHED_RETENTION_ROUNDS && !*s->stop; round++) {
        int n = fn(s->db, cutoff, limit);
        if (n < 0)
            return sched_db_fail(s, SCHED_STEP_RETENTION, s->db);
        total += n;
        if (n < limit)
            break;
    }
    return total;
}

/* audit_log's rows older than audit_retention_days (0: kept for good). Returns the rows
 * deleted, or -1. */
static int
sched_retention_audit(struct sched *s, int limit)
{
    int days = s->cfg->scheduler.audit_retention_days;
    if (days == 0)
        return 0;
    char cutoff[40];
    caltime_format_dt6(now_wall_ms() - (int64_t)days * 86400 * 1000, cutoff, sizeof(cutoff));
    int n = sched_retention_rounds(s, audit_delete_batch, cutoff, limit);
    if (n > 0)
        log_info("retention: deleted %d audit_log rows older than %d days", n, days);
    return n;
}

int
sched_retention(struct sched *s)
{
    int limit = sched_retention_batch_size(s);
    if (sched_retention_audit(s, limit) < 0)
        return -1;
    char cutoff[40];
    caltime_format_dt6(now_wall_ms() - (int64_t)s->cfg->scheduler.retention_days * 86400 * 1000,
                       cutoff, sizeof(cutoff));
    int jobs = sched_retention_rounds(s, retention_jobs_batch, cutoff, limit);
    if (jobs < 0)
        return -1;
    int hooks = sched_retention_rounds(s, webhook_log_store_delete_batch, cutoff, limit);
    if (hooks < 0)
        return -1;
    /* Stopped and lost workers' rows, past lease recovery's one-day look back (retention_days
     * is at least 1). */
    int instances = sched_retention_rounds(s, instance_delete_batch, cutoff, limit);
    if (instances < 0)
        return -1;
    if (instances > 0)
        log_info("retention: deleted %d stopped or lost worker instances older than %d days",
                 instances, s->cfg->scheduler.retention_days);
    s->counts.deleted_jobs += jobs;
    s->counts.deleted_webhooks += hooks;
    if (jobs + hooks > 0)
        log_info("retention: deleted %d succeeded jobs and %d webhook log rows older than %d "
                 "days",
                 jobs, hooks, s->cfg->scheduler.retention_days);
    return jobs + hooks;
}
