/* This file holds the recoveries of running jobs whose worker will not finish them: the
 * watchdog (past the deadline) and lease recovery (the worker instance stopped heartbeating).
 * Both finish jobs through lifecycle_finish, whose guard (id, instance, attempt,
 * state='running', and the claim's token as the scan read it) makes a recovery a no-op when the
 * worker checked out, or handed back and claimed again, meanwhile. */
#include "fault.h"
#include "instance.h"
#include "lifecycle.h"
#include "lifecycle_sched.h"
#include "log.h"
#include "sched.h"
#include "settings.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finishes the jobs of r (columns id, instance_id, attempt, max_attempts, action, queue,
 * claim_token) as a failed attempt with reason: retried if attempts remain, else failed.
 * Returns how many took, or -1. */
static int
sched_finish_rows(struct sched *s, enum sched_step step, const struct db_rows *r,
                  const char *reason)
{
    int n = r->n_rows;
    if (n == 0)
        return 0;
    struct outcome *o = xcalloc((size_t)n, sizeof(*o));
    bool *applied = xcalloc((size_t)n, sizeof(*applied));
    /* An operator's backoff for the action applies to recovered attempts as to any other.
     * Recoveries are rare, so the settings are read only when there is one; without them
     * the registered defaults are a fine fallback. */
    struct settings st = {0};
    bool have_settings = settings_load(s->db, &st) == 0;
    for (int i = 0; i < n; i++) {
        o[i].id = db_rows_int(r, i, 0, 0);
        o[i].instance_id = db_rows_int(r, i, 1, 0);
        o[i].attempt = (int)db_rows_int(r, i, 2, 0);
        o[i].max_attempts = (int)db_rows_int(r, i, 3, 1);
        o[i].action = db_rows_get(r, i, 4);
        o[i].status = JOB_RETRY;
        o[i].reason = reason;
        o[i].execution_ms = -1;
        o[i].claim_token = db_rows_int(r, i, 6, 0);
        const struct action_setting *as =
            have_settings && o[i].action ? settings_action(&st, o[i].action) : NULL;
        if (as) {
            o[i].backoff_base_ms = as->backoff_base_ms;
            o[i].backoff_cap_ms = as->backoff_cap_ms;
        }
    }
    int took = 0;
    if (lifecycle_finish(s->db, o, n, applied) < 0) {
        took = sched_db_fail(s, step, s->db);
    } else {
        for (int i = 0; i < n; i++) {
            if (!applied[i])
                continue;
            took++;
            sched_metrics_recovered(db_rows_get(r, i, 5), o[i].action);
            log_info("job %lld (%s) attempt %d/%d ended \"%s\" on instance %lld; %s",
                     (long long)o[i].id, o[i].action ? o[i].action : "?", o[i].attempt,
                     o[i].max_attempts, reason, (long long)o[i].instance_id,
                     o[i].attempt < o[i].max_attempts ? "to be retried" : "failed");
        }
    }
    if (have_settings)
        settings_release(&st);
    free(o);
    free(applied);
    return took;
}

int
sched_watchdog_grace_s(const struct cfg *cfg)
{
    int need = cfg->worker.kill_grace_s + (cfg->worker.prefetch_wait_ms + 999) / 1000 + 1;
    return cfg->scheduler.timeout_grace_s > need ? cfg->scheduler.timeout_grace_s : need;
}

int
sched_watchdog(struct sched *s)
{
    const struct cfg_scheduler *c = &s->cfg->scheduler;
    /* A job whose deadline passed while MariaDB was away may have finished: its worker holds
     * the outcome until it can write it. Timed out now, a success would be lost and the job
     * run again. */
    if (sched_db_settling(s))
        return 0;
    struct db_rows *r =
        lifecycle_sched_overdue(s->db, sched_watchdog_grace_s(s->cfg), c->batch_size);
    if (r == NULL)
        return sched_db_fail(s, SCHED_STEP_WATCHDOG, s->db);
    FAULT_POINT_IF(r->n_rows > 0, "watchdog.scanned");
    int n = sched_finish_rows(s, SCHED_STEP_WATCHDOG, r, "timeout");
    db_rows_free(r);
    if (n > 0)
        s->counts.timed_out += n;
    return n;
}

/* Marks instances silent for a lease as lost, one guarded update each so that an instance
 * whose heartbeat arrives meanwhile stays alive. Returns how many were marked, or -1. */
static int
sched_mark_lost(struct sched *s)
{
    int lease_s = s->cfg->worker.lease_s;
    int64_t back_s = sched_db_back_s(s);
    struct db_rows *r = instance_silent(s->db, lease_s, back_s, s->cfg->scheduler.batch_size);
    if (r == NULL)
        return sched_db_fail(s, SCHED_STEP_LEASE, s->db);
    int marked = 0;
    for (int i = 0; i < r->n_rows; i++) {
        int64_t id = db_rows_int(r, i, 0, 0);
        int took = instance_mark_lost(s->db, id, lease_s, back_s);
        if (took < 0) {
            marked = sched_db_fail(s, SCHED_STEP_LEASE, s->db);
            break;
        }
        if (took == 1) {
            marked++;
            log_warnx("worker instance %lld (%s pid %s) lost: no heartbeat since %s UTC "
                      "(lease %d s)",
                      (long long)id, db_rows_get(r, i, 1) ? db_rows_get(r, i, 1) : "?",
                      db_rows_get(r, i, 2) ? db_rows_get(r, i, 2) : "?",
                      db_rows_get(r, i, 3) ? db_rows_get(r, i, 3) : "?",
                      (int)db_rows_int(r, i, 4, lease_s));
        }
    }
    db_rows_free(r);
    return marked;
}

static int
sched_clean_cmp(const void *a, const void *b)
{
    const struct sched_clean *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether dead instance id, with last heartbeat hb, was found clean (s->clean is by id). */
static bool
sched_is_clean(const struct sched *s, int64_t id, const char *hb)
{
    int lo = 0, hi = s->n_clean;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->clean[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_clean && s->clean[lo].id == id && strcmp(s->clean[lo].hb, hb) == 0;
}

/* Whether id is among the instances of r (lifecycle_sched_running_instances). */
static bool
sched_holds_running(const struct db_rows *r, int64_t id)
{
    for (int i = 0; i < r->n_rows; i++)
        if (db_rows_int(r, i, 0, 0) == id)
            return true;
    return false;
}

/* Ends the running jobs of dead instance id; returns how many, or -1. */
static int
sched_reap_one(struct sched *s, int64_t id)
{
    struct db_rows *r = lifecycle_sched_orphaned(s->db, id, s->cfg->scheduler.batch_size);
    if (r == NULL)
        return sched_db_fail(s, SCHED_STEP_LEASE, s->db);
    int n = sched_finish_rows(s, SCHED_STEP_LEASE, r, "worker lost");
    db_rows_free(r);
    return n;
}

/* Ends the running jobs of every instance that is dead by now: just marked lost, lost before
 * (a scheduler that died before finishing them), or stopped with jobs still running (a
 * supervisor that died between marking itself and checking them out). Instances found clean
 * before are skipped; the others are looked up in one read of the running jobs, and only those
 * that hold some are scanned. Scanning the running jobs once per dead instance at every tick
 * cost ~0.7 s a tick with 200 instances of the last day's restarts and 3,000 running jobs.
 * Returns how many jobs it ended, or -1. */
static int
sched_reap(struct sched *s, int lease_s)
{
    struct db_rows *dead = instance_dead(s->db, lease_s, SCHED_DEAD_WINDOW_S, SCHED_DEAD_MAX);
    if (dead == NULL)
        return sched_db_fail(s, SCHED_STEP_LEASE, s->db);
    struct sched_clean *keep = xcalloc((size_t)dead->n_rows + 1, sizeof(*keep));
    struct db_rows *running = NULL;
    int n_keep = 0, ended = 0;
    for (int i = 0; i < dead->n_rows && ended >= 0; i++) {
        int64_t id = db_rows_int(dead, i, 0, 0);
        const char *hb = db_rows_get(dead, i, 1) ? db_rows_get(dead, i, 1) : "";
        bool clean = sched_is_clean(s, id, hb);
        if (!clean && running == NULL &&
            (running = lifecycle_sched_running_instances(s->db)) == NULL) {
            ended = sched_db_fail(s, SCHED_STEP_LEASE, s->db);
            break;
        }
        if (!clean && sched_holds_running(running, id)) {
            int n = sched_reap_one(s, id);
            ended = n < 0 ? -1 : ended + n;
            continue;
        }
        keep[n_keep].id = id;
        snprintf(keep[n_keep].hb, sizeof(keep[n_keep].hb), "%s", hb);
        n_keep++;
    }
    db_rows_free(running);
    db_rows_free(dead);
    if (ended < 0) {
        free(keep);
        return -1;
    }
    qsort(keep, (size_t)n_keep, sizeof(*keep), sched_clean_cmp); /* the rows came newest first */
    free(s->clean);
    s->clean = keep;
    s->n_clean = n_keep;
    return ended;
}

int
sched_lease(struct sched *s)
{
    int lease_s = s->cfg->worker.lease_s;
    /* After a MariaDB outage every heartbeat is stale because workers could not write it,
     * not because they died. Give them a full lease to heartbeat again first. */
    if (sched_db_settling(s))
        return 0;
    int marked = sched_mark_lost(s);
    if (marked < 0)
        return -1;
    s->counts.instances_lost += marked;
    int n = sched_reap(s, lease_s);
    if (n < 0)
        return -1;
    s->counts.jobs_lost += n;
    return marked + n;
}
