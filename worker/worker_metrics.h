/* The worker's metrics (worker_metrics.c), served on [worker] metrics_listen. Called from the
 * supervisor's loop, except worker_metrics_claim (the fetch thread) and worker_metrics_checkout
 * (the check-out thread): the registry takes its own lock. */
#ifndef JOBFLEET_WORKER_METRICS_H
#define JOBFLEET_WORKER_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "job_status.h"
#include "lifecycle.h"

/* An attempt's outcome as the supervisor hands it to the check-out: succeeded, retried (a
 * retryable failure with attempts left), failed or cancelled, by queue and action, and its
 * duration. */
void worker_metrics_outcome(const struct claimed_job *job, enum job_status st, int64_t exec_ms);
/* A child died while running a job (not killed by the supervisor). */
void worker_metrics_crash(void);
/* A job passed its timeout and its child was stopped. */
void worker_metrics_timeout(void);
/* Shows every counter without labels at 0 from the start: a series that appears only with its
 * first event hides that event from rate() and increase(), and so from an alert on it. */
void worker_metrics_start(void);
/* A child was started in place of one that ended. */
void worker_metrics_restart(void);
/* Adds what a child's job functions counted (proto_outcome.metrics, NULL: nothing): child
 * jobs enqueued and HTTP service requests and budget waits. */
void worker_metrics_merge(const char *drained);
/* A job handed to a child waited_us after it became due (enqueued, or its run_at). */
void worker_metrics_queue_wait(const struct claimed_job *job, int64_t waited_us);
/* A job was handed ahead to a busy child; n jobs handed ahead were withdrawn unstarted. */
void worker_metrics_handed_ahead(void);
void worker_metrics_withdrawn(int n);
/* A claim statement took jobs jobs (0 included). */
void worker_metrics_claim(int jobs);
/* A check-out transaction wrote n outcomes. */
void worker_metrics_checkout(int n);
/* The slots: busy now, and all. */
void worker_metrics_slots(int busy, int total);
/* The claim-ahead window: the jobs it holds now (claimed, not started: waiting or handed
 * ahead), the most it may hold now, and the job cycle time (ms) its size follows. */
void worker_metrics_window(int held, int limit, double cycle_ms);
/* The supervisor's standing with MariaDB: whether it is self-fenced (no job starts), the
 * outcomes and hand-backs its check-out has not written yet, and the age of its last committed
 * heartbeat. */
void worker_metrics_standing(bool fenced, int unwritten, double beat_age_s);

#endif
