/* This file keeps the worker's metrics (worker_metrics.h): attempts by outcome, queue and
 * action with their durations, slots, the children's crashes, timeouts and restarts, and the
 * jobs handed ahead and withdrawn, and the claim-ahead window.
 * Labels are queue and action names, bounded by the registry and the config. */
#include "httpc.h"
#include "job.h"
#include "metrics.h"
#include "worker_metrics.h"

/* Up to six hours: built-in actions run up to two (the ticket sync's default timeout). */
static const double worker_duration_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5,  1,    2.5,  5,
                                                 10,   30,   60,  300,  1800, 3600, 7200, 21600};

#define WM_COUNTER(var, name, help)                                                                \
    static const struct metric_def var = {name, help, METRIC_COUNTER, {"queue", "action"}, NULL, 0}
WM_COUNTER(m_succeeded, "jobfleet_jobs_succeeded_total", "Attempts that succeeded.");
WM_COUNTER(m_retried, "jobfleet_jobs_retried_total",
           "Attempts that failed with attempts left (the job runs again).");
WM_COUNTER(m_failed, "jobfleet_jobs_failed_total", "Attempts that failed the job for good.");
WM_COUNTER(m_cancelled, "jobfleet_jobs_cancelled_total", "Running jobs stopped by a cancel.");

static const struct metric_def m_duration = {
    "jobfleet_job_duration_seconds",
    "Run time of attempts, by queue and action.",
    METRIC_HISTOGRAM,
    {"queue", "action"},
    worker_duration_buckets,
    (int)(sizeof(worker_duration_buckets) / sizeof(double))};
static const double worker_wait_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                             2.5,   5,    10,    30,   60,  300,  1800};
static const struct metric_def m_wait = {
    "jobfleet_job_queue_wait_seconds",
    "Time from a job's due time (its enqueue, or its run_at when later) to its start, by queue "
    "and action.",
    METRIC_HISTOGRAM,
    {"queue", "action"},
    worker_wait_buckets,
    (int)(sizeof(worker_wait_buckets) / sizeof(double))};
static const struct metric_def m_crashes = {"jobfleet_worker_child_crashes_total",
                                            "Children that died while running a job.",
                                            METRIC_COUNTER,
                                            {NULL, NULL},
                                            NULL,
                                            0};
static const struct metric_def m_timeouts = {"jobfleet_worker_job_timeouts_total",
                                             "Jobs stopped for passing their timeout.",
                                             METRIC_COUNTER,
                                             {NULL, NULL},
                                             NULL,
                                             0};
static const struct metric_def m_restarts = {"jobfleet_worker_children_restarted_total",
                                             "Children started in place of ended ones.",
                                             METRIC_COUNTER,
                                             {NULL, NULL},
                                             NULL,
                                             0};
static const struct metric_def m_ahead = {
    "jobfleet_worker_jobs_handed_ahead_total",
    "Jobs written to a busy child's socket, to start as soon as its job ends.",
    METRIC_COUNTER,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_withdrawn = {
    "jobfleet_worker_jobs_withdrawn_total",
    "Jobs handed to a child (ahead, mostly) that it never started, taken back for another "
    "child or their queue.",
    METRIC_COUNTER,
    {NULL, NULL},
    NULL,
    0};
/* Jobs per claim and per check-out are what a drain's MariaDB cost turns on (issue 17). */
static const struct metric_def m_claims = {"jobfleet_worker_claims_total",
                                           "Claim statements, each one autocommitted UPDATE.",
                                           METRIC_COUNTER,
                                           {NULL, NULL},
                                           NULL,
                                           0};
static const struct metric_def m_claimed = {"jobfleet_worker_claimed_jobs_total",
                                            "Jobs taken by the claim statements.",
                                            METRIC_COUNTER,
                                            {NULL, NULL},
                                            NULL,
                                            0};
static const struct metric_def m_checkouts = {
    "jobfleet_worker_checkout_commits_total",
    "Check-out transactions (outcomes and their attempt rows, one commit each).",
    METRIC_COUNTER,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_checked_out = {"jobfleet_worker_checked_out_total",
                                                "Outcomes written by the check-out transactions.",
                                                METRIC_COUNTER,
                                                {NULL, NULL},
                                                NULL,
                                                0};
static const struct metric_def m_busy = {
    "jobfleet_worker_slots_busy", "Slots running a job.", METRIC_GAUGE, {NULL, NULL}, NULL, 0};
static const struct metric_def m_slots = {
    "jobfleet_worker_slots", "Slots ([worker] concurrency).", METRIC_GAUGE, {NULL, NULL}, NULL, 0};
static const struct metric_def m_win_jobs = {
    "jobfleet_worker_window_jobs",
    "Jobs claimed ahead and not started yet: waiting in the window or handed ahead to a busy "
    "child.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_win_limit = {
    "jobfleet_worker_window_limit",
    "Jobs the claim-ahead window may hold now: [worker] prefetch, or fewer while jobs are slow.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_cycle = {
    "jobfleet_worker_job_cycle_seconds",
    "A job's time in a child as the supervisor sees it, hand-over to outcome (running "
    "average): what sizes the window.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};

static const struct metric_def m_fenced = {
    "jobfleet_worker_fenced",
    "1 while the worker is self-fenced: no heartbeat committed for most of the lease, its jobs "
    "stopped and none started or claimed.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_unwritten = {
    "jobfleet_worker_outcomes_unwritten",
    "Outcomes and hand-backs the check-out has not written to MariaDB yet.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};
static const struct metric_def m_beat_age = {
    "jobfleet_worker_heartbeat_age_seconds",
    "Time since the worker's last committed heartbeat (it fences itself near the lease).",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};

void
worker_metrics_outcome(const struct claimed_job *job, enum job_status st, int64_t exec_ms)
{
    const struct metric_def *m = &m_failed;
    if (st == JOB_OK)
        m = &m_succeeded;
    else if (st == JOB_CANCELLED)
        m = &m_cancelled;
    else if (st == JOB_RETRY && job->attempt < job->max_attempts)
        m = &m_retried;
    metrics_add(m, job->queue, job->action, 1);
    metrics_observe(&m_duration, job->queue, job->action, (double)exec_ms / 1000.0);
}

void
worker_metrics_merge(const char *drained)
{
    static const struct metric_def *const from_children[] = {
        &job_metric_enqueued, &httpc_metric_requests, &httpc_metric_budget_waits,
        &httpc_metric_budget_wait_seconds};
    metrics_merge(drained, from_children, (int)(sizeof(from_children) / sizeof(from_children[0])));
}

void
worker_metrics_queue_wait(const struct claimed_job *job, int64_t waited_us)
{
    metrics_observe(&m_wait, job->queue, job->action,
                    (double)(waited_us > 0 ? waited_us : 0) / 1e6);
}

void
worker_metrics_start(void)
{
    static const struct metric_def *const counters[] = {&m_crashes, &m_timeouts,  &m_restarts,
                                                        &m_ahead,   &m_withdrawn, &m_claims,
                                                        &m_claimed, &m_checkouts, &m_checked_out};
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        metrics_add(counters[i], NULL, NULL, 0);
}

void
worker_metrics_crash(void)
{
    metrics_add(&m_crashes, NULL, NULL, 1);
}

void
worker_metrics_timeout(void)
{
    metrics_add(&m_timeouts, NULL, NULL, 1);
}

void
worker_metrics_restart(void)
{
    metrics_add(&m_restarts, NULL, NULL, 1);
}

void
worker_metrics_slots(int busy, int total)
{
    metrics_set(&m_busy, NULL, NULL, busy);
    metrics_set(&m_slots, NULL, NULL, total);
}

void
worker_metrics_window(int held, int limit, double cycle_ms)
{
    metrics_set(&m_win_jobs, NULL, NULL, held);
    metrics_set(&m_win_limit, NULL, NULL, limit);
    metrics_set(&m_cycle, NULL, NULL, cycle_ms / 1000.0);
}

void
worker_metrics_standing(bool fenced, int unwritten, double beat_age_s)
{
    metrics_set(&m_fenced, NULL, NULL, fenced ? 1 : 0);
    metrics_set(&m_unwritten, NULL, NULL, unwritten);
    metrics_set(&m_beat_age, NULL, NULL, beat_age_s);
}

void
worker_metrics_claim(int jobs)
{
    metrics_add(&m_claims, NULL, NULL, 1);
    metrics_add(&m_claimed, NULL, NULL, jobs);
}

void
worker_metrics_checkout(int n)
{
    metrics_add(&m_checkouts, NULL, NULL, 1);
    metrics_add(&m_checked_out, NULL, NULL, n);
}

void
worker_metrics_handed_ahead(void)
{
    metrics_add(&m_ahead, NULL, NULL, 1);
}

void
worker_metrics_withdrawn(int n)
{
    metrics_add(&m_withdrawn, NULL, NULL, n);
}
