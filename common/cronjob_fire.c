/* This file is the firing step each scheduler tick runs, and the pure decision behind it.
 *
 * How firing stays exactly once: a cron job's dt_next_fire is the first fire time not yet
 * handled. A step reads the due rows and decides with cronjob_plan which one fire time (if
 * any) to make a job for. Then, in one transaction, it locks the cron job's row and, when the row
 * is still active and still at the value it read, inserts that job under jobs' UNIQUE
 * (cron_job_id, cron_fire_time) and moves dt_next_fire on; it pushes the job after the commit.
 * Two schedulers doing this at once make the same decision, and the lock lets one of them make
 * the job; the unique key is the second guard. Fire times are UTC instants computed by cron_next,
 * so DST gaps and repeats are settled there (cron.h). */
#include "cronjob_fire.h"
#include "caltime.h"
#include "cronjob.h"
#include "cronjob_store.h"
#include "fault.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "tzone.h"

#include <stdio.h>
#include <string.h>

/* A cron job whose schedule cannot be evaluated is looked at again this much later. */
#define CRONJOB_PARK_S 3600

static const struct metric_def cronjob_misfires = {
    "jobfleet_cron_misfires_total",
    "Cron fire times that made no job, by reason: late (missed fires older than the catch-up "
    "window, counted once per skip), unknown_action (the action is not registered here), "
    "invalid_definition (the stored job is refused, e.g. a \"dry_run\" that is not a boolean), "
    "bad_schedule (the schedule or zone cannot be evaluated), unique_key_held (a live job of "
    "an earlier fire or another origin holds the job's unique key and does that work).",
    METRIC_COUNTER,
    {"reason", NULL},
    NULL,
    0};

void
cronjob_fire_metrics_start(void)
{
    static const char *const reasons[] = {"late", "unknown_action", "invalid_definition",
                                          "bad_schedule", "unique_key_held"};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        metrics_add(&cronjob_misfires, reasons[i], NULL, 0);
}

int
cronjob_plan(const struct cron_expr *e, const char *tz, int64_t first, int64_t now,
             int64_t window_s, struct cronjob_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->next = first;
    if (first > now)
        return 0;
    if (window_s < 0)
        window_s = 0;
    /* Invariant of the search below: the first fire after lo is <= now, the first after hi is
     * not. Fires before `first` were handled; fires older than the window are not wanted. */
    int64_t lo = first - 1;
    if (now - window_s - 1 > lo)
        lo = now - window_s - 1;
    int64_t g;
    if (cron_next(e, tz, lo, &g) < 0)
        return -1;
    if (g > now) {
        p->skipped_first = first;
        return cron_next(e, tz, now, &p->next) < 0 ? -1 : 0;
    }
    /* Binary search for the latest fire <= now, so that a year of downtime costs ~25 calls
     * rather than one per missed minute. */
    int64_t hi = now;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2, m;
        if (cron_next(e, tz, mid, &m) < 0)
            return -1;
        if (m <= now) {
            lo = mid;
            g = m;
        } else {
            hi = mid;
        }
    }
    p->fire = g;
    if (first < g)
        p->skipped_first = first;
    return cron_next(e, tz, g, &p->next) < 0 ? -1 : 1;
}

/* The catch-up window of a cron job: its own policy, else [scheduler] cron_catchup_s. The
 * current minute always fires. */
static int64_t
cronjob_window(const struct cfg *cfg, const char *catchup)
{
    if (catchup && strcmp(catchup, "none") == 0)
        return CRONJOB_CURRENT_MINUTE_S;
    int64_t w = cfg->scheduler.cron_catchup_s;
    return w > CRONJOB_CURRENT_MINUTE_S ? w : CRONJOB_CURRENT_MINUTE_S;
}

/* Logs a new job of a fire, saying whether it was a catch-up and what was skipped. */
static void
cronjob_log_fire(const struct cronjob_row *row, const char *tz, const struct cronjob_plan *p,
                 int64_t job_id, int64_t now, int64_t window)
{
    char fire_local[64], skip_local[64];
    cron_format_local(p->fire, tz, fire_local, sizeof(fire_local));
    if (p->skipped_first) {
        cron_format_local(p->skipped_first, tz, skip_local, sizeof(skip_local));
        log_info("cron job %s: catch-up fire for %s (job %lld); missed fires from %s on were "
                 "skipped (catch-up window %llds)",
                 row->name, fire_local, (long long)job_id, skip_local, (long long)window);
    } else if (now - p->fire > CRONJOB_CURRENT_MINUTE_S) {
        log_info("cron job %s: catch-up fire for %s (job %lld)", row->name, fire_local,
                 (long long)job_id);
    } else {
        log_info("cron job %s: fired for %s (job %lld)", row->name, fire_local, (long long)job_id);
    }
}

/* A fire whose insert found a job: the same fire made before (a second scheduler, a retried
 * tick) says nothing; a live job holding the unique key (the last run still pending or
 * running) is logged and counted, so that a fire that made no job is never silent. */
static void
cronjob_log_held(struct db *db, const struct cronjob_row *row, const char *tz,
                 const struct cronjob_plan *p, const struct job_ref *ref)
{
    char fire_dt[32];
    caltime_format_dt(p->fire, fire_dt, sizeof(fire_dt));
    struct db_rows *r = db_query(db,
                                 "SELECT cron_job_id <=> ? AND cron_fire_time <=> ? FROM jobs "
                                 "WHERE id = ?",
                                 DB_P(DBI(row->id), DBS(fire_dt), DBI(ref->id)));
    bool same_fire = r && r->n_rows && db_rows_int(r, 0, 0, 0) == 1;
    db_rows_free(r);
    if (same_fire)
        return;
    char fire_local[64];
    cron_format_local(p->fire, tz, fire_local, sizeof(fire_local));
    metrics_add(&cronjob_misfires, "unique_key_held", NULL, 1);
    log_info("cron job %s: fire at %s made no job: job %lld (%s) holds its unique key and does "
             "that work",
             row->name, fire_local, (long long)ref->id, ref->state);
}

/* In one transaction: locks the cron job's row, and when it is still active and still due at
 * the fire read (row->next_fire), inserts the fire's job (or finds it) into ref and advances
 * the row. The lock is what keeps a fire exactly once when a `cron disable` or another
 * scheduler gets there between the read and the insert: a second scheduler whose tzdata maps
 * the minute to another instant would otherwise insert a job under another unique key before
 * its compare-and-set failed, and a disabled cron job would make one more job. Returns 1 when
 * committed, 0 when the row no longer wants this fire (nothing written), -1 on a database
 * error (rolled back). */
static int
cronjob_fire_txn(struct db *db, const struct cronjob_row *row, const struct cronjob_plan *p,
                 const struct job_spec *checked, struct job_ref *ref)
{
    char err[512];
    uint64_t n = 0;
    if (db_begin(db) < 0)
        return -1;
    int still = cronjob_store_lock_due(db, row->id, row->next_fire);
    if (still == 1 && job_insert(db, checked, ref, err, sizeof(err)) != JOB_E_OK) {
        log_warnx("cron job %s: %s", row->name, err);
        still = -1;
    }
    FAULT_POINT_IF(still == 1, "cron.fired");
    if (still == 1 &&
        cronjob_store_advance(db, row->id, row->next_fire, p->next, p->fire, ref->id, &n) < 0)
        still = -1;
    else if (still == 1 && n != 1)
        still = 0; /* the lock said due: cannot happen, but never commit a job without a move */
    if (still != 1) {
        db_rollback(db);
        return still;
    }
    return db_commit(db) < 0 ? -1 : 1;
}

/* Makes the job of one fire: checked against the registry, then inserted (or found) and the
 * cron job advanced (cronjob_fire_txn), then pushed. Returns 1 for a new job, 0 for none, -1 on
 * a database error. */
static int
cronjob_fire_job(struct db *db, struct rq *rq, const struct cfg *cfg, const struct cronjob_row *row,
                 const struct cronjob_plan *p, int64_t now, int64_t window)
{
    const char *tz = cronjob_zone(cfg, row->timezone);
    char fire_dt[32];
    caltime_format_dt(p->fire, fire_dt, sizeof(fire_dt));
    struct job_spec spec = {
        .action = row->action,
        .parameters = row->parameters,
        .queue = row->queue,
        .priority = row->priority,
        .timeout_s = row->timeout_s,
        .max_attempts = row->max_attempts,
        .origin = "cron",
        .cron_job_id = row->id,
        .cron_fire_time = fire_dt,
    };
    struct job_spec checked;
    const char *field = NULL;
    char err[512];
    uint64_t n = 0;
    if (job_spec_check(&spec, cfg->worker.test_actions, &checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        /* An action this scheduler does not know (an older binary, test actions off), or a
         * definition stored before a check that refuses it now (a "dry_run" of 0): skip the
         * fire rather than stall the cron job on it every tick, and say which it was. */
        if (cronjob_store_advance(db, row->id, row->next_fire, p->next, 0, 0, &n) < 0)
            return -1;
        char fire_local[64];
        cron_format_local(p->fire, tz, fire_local, sizeof(fire_local));
        bool unknown = field && strcmp(field, "action") == 0;
        if (n == 1) {
            metrics_add(&cronjob_misfires, unknown ? "unknown_action" : "invalid_definition", NULL,
                        1);
            log_warnx("cron job %s: fire at %s skipped: %s%s", row->name, fire_local, err,
                      unknown ? "" : " (correct the cron job, or remove and add it again)");
        }
        return 0;
    }
    struct job_ref ref;
    int k = cronjob_fire_txn(db, row, p, &checked, &ref);
    if (k <= 0) {
        if (k == 0)
            log_info("cron job %s: disabled, removed or advanced by another scheduler since it "
                     "was read as due; no job made",
                     row->name);
        return k;
    }
    /* The insert committed: the ID may now be pushed (invariant 1). A failed push is left to
     * the scheduler's reconcile. */
    if (rq)
        job_push(rq, &ref);
    if (ref.existing) {
        cronjob_log_held(db, row, tz, p, &ref);
        return 0;
    }
    job_count_enqueued(checked.action, &ref);
    if (p->skipped_first)
        metrics_add(&cronjob_misfires, "late", NULL, 1);
    cronjob_log_fire(row, tz, p, ref.id, now, window);
    return 1;
}

/* Decides what row should do at now: 1 (fire p->fire), 0 (advance to p->next, maybe after a
 * skip) or -1 (the schedule or zone cannot be evaluated: perr says which, when it is the
 * schedule). */
static int
cronjob_fire_plan(const struct cronjob_row *row, const char *tz, int64_t now, int64_t window,
                  struct cronjob_plan *p, char *perr, size_t perrlen)
{
    struct cron_expr e;
    int64_t first = 0, created = 0;
    if (cron_parse(row->schedule, &e, perr, perrlen) < 0)
        return -1;
    /* A cron job not planned yet (added or enabled without a zone of its own, or a built-in a
     * migration installed) starts after it was added or enabled, in this scheduler's zone. */
    int k = -1;
    if (row->next_fire)
        k = caltime_parse_dt(row->next_fire, &first);
    else if (caltime_parse_dt(row->plan_from ? row->plan_from : row->created, &created) == 0)
        k = cron_next(&e, tz, created, &first);
    return k == 0 ? cronjob_plan(&e, tz, first, now, window, p) : -1;
}

/* Handles one due cron job. Returns the jobs made (0 or 1), or -1 on a database error. */
static int
cronjob_fire_one(struct db *db, struct rq *rq, const struct cfg *cfg, const struct cronjob_row *row,
                 int64_t now)
{
    const char *tz = cronjob_zone(cfg, row->timezone);
    uint64_t n = 0;
    char perr[256] = "";
    struct cronjob_plan p = {0};
    int64_t window = cronjob_window(cfg, row->catchup);
    int k = cronjob_fire_plan(row, tz, now, window, &p, perr, sizeof(perr));
    if (k < 0) {
        if (cronjob_store_advance(db, row->id, row->next_fire, now + CRONJOB_PARK_S, 0, 0, &n) < 0)
            return -1;
        if (n == 1) {
            metrics_add(&cronjob_misfires, "bad_schedule", NULL, 1);
            /* A zone refused outright (missing, or "localtime") says why. */
            char why[sizeof(perr) + 32];
            if (perr[0])
                snprintf(why, sizeof(why), "schedule: %s", perr);
            else if (tzone_get(tz, why, sizeof(why)) != NULL)
                snprintf(why, sizeof(why), "no fire time in zone %s", tz);
            log_warnx("cron job %s: %s; looking again in %ds", row->name, why, CRONJOB_PARK_S);
        }
        return 0;
    }
    if (k == 1)
        return cronjob_fire_job(db, rq, cfg, row, &p, now, window);
    if (row->next_fire && p.skipped_first == 0)
        return 0; /* read as due, no longer due: another scheduler advanced it */
    if (cronjob_store_advance(db, row->id, row->next_fire, p.next, 0, 0, &n) < 0)
        return -1;
    if (n == 1 && p.skipped_first) {
        metrics_add(&cronjob_misfires, "late", NULL, 1);
        char from[64], to[64];
        cron_format_local(p.skipped_first, tz, from, sizeof(from));
        cron_format_local(now, tz, to, sizeof(to));
        log_warnx("cron job %s: missed fires from %s to %s skipped: older than the catch-up "
                  "window of %llds",
                  row->name, from, to, (long long)window);
    }
    return 0;
}

int
cronjob_fire_due(struct db *db, struct rq *rq, const struct cfg *cfg, int64_t now_s, int *fired)
{
    *fired = 0;
    struct cronjob_rows *rs = cronjob_store_due(db, now_s, CRONJOB_FIRE_BATCH);
    if (rs == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; i < rs->n; i++) {
        int f = cronjob_fire_one(db, rq, cfg, &rs->row[i], now_s);
        if (f > 0)
            *fired += f;
        if (f < 0) {
            rc = -1;
            /* A lost connection ends the step; any other error (a deadlock, a lock wait) is
             * one cron job's, retried next tick while the others go on. */
            if (db_lost(db))
                break;
        }
    }
    cronjob_rows_free(rs);
    return rc;
}
