/* This file keeps the scheduler's metrics (served on [scheduler] metrics_listen): whether this
 * process leads, how long each tick took, and what each step of a tick moved. */
#include "metrics.h"
#include "sched.h"

static const double sched_tick_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,   0.25,   0.5,   1,    2.5,   5};

static const struct metric_def m_leader = {"jobfleet_scheduler_leader",
                                           "1 while this scheduler holds the leader lock.",
                                           METRIC_GAUGE,
                                           {NULL, NULL},
                                           NULL,
                                           0};
static const struct metric_def m_tick = {"jobfleet_scheduler_tick_duration_seconds",
                                         "Duration of the leader's ticks.",
                                         METRIC_HISTOGRAM,
                                         {NULL, NULL},
                                         sched_tick_buckets,
                                         (int)(sizeof(sched_tick_buckets) / sizeof(double))};
static const struct metric_def m_rows = {"jobfleet_scheduler_step_rows_total",
                                         "Rows each tick step handled: pickup (pending to queued), "
                                         "watchdog (timed out), lease (jobs of lost workers), "
                                         "instances_lost, reconcile_checked, reconcile_repushed, "
                                         "retention_jobs, retention_webhooks.",
                                         METRIC_COUNTER,
                                         {"step", NULL},
                                         NULL,
                                         0};
static const struct metric_def m_fires = {"jobfleet_cron_fires_total",
                                          "Cron fires that made a job.",
                                          METRIC_COUNTER,
                                          {NULL, NULL},
                                          NULL,
                                          0};

static const struct metric_def m_recovered = {
    "jobfleet_jobs_recovered_total",
    "Running jobs the scheduler ended for their worker, by queue and action: jobs of lost "
    "workers (lease) and jobs past their deadline (watchdog); each is retried when attempts "
    "remain.",
    METRIC_COUNTER,
    {"queue", "action"},
    NULL,
    0};

void
sched_metrics_recovered(const char *queue, const char *action)
{
    metrics_add(&m_recovered, queue ? queue : "default", action ? action : "?", 1);
}

void
sched_metrics_leader(bool leader)
{
    metrics_set(&m_leader, NULL, NULL, leader ? 1 : 0);
}

void
sched_metrics_tick(const struct sched *s, int64_t took_ms)
{
    const struct sched_counts *c = &s->counts;
    metrics_observe(&m_tick, NULL, NULL, (double)took_ms / 1000.0);
    const struct {
        const char *step;
        int n;
    } rows[] = {{"pickup", c->picked},
                {"watchdog", c->timed_out},
                {"lease", c->jobs_lost},
                {"instances_lost", c->instances_lost},
                {"reconcile_checked", c->checked},
                {"reconcile_repushed", c->repushed},
                {"retention_jobs", c->deleted_jobs},
                {"retention_webhooks", c->deleted_webhooks}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        metrics_add(&m_rows, rows[i].step, NULL, rows[i].n);
    metrics_add(&m_fires, NULL, NULL, c->fired);
}
