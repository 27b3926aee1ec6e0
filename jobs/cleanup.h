/* The System/Cleanup job functions: retention of succeeded jobs and webhook log rows, run daily
 * by the built-in cron jobs of the same names (deploy/sql/002_cron_builtin.sql). */
#ifndef JOBFLEET_CLEANUP_H
#define JOBFLEET_CLEANUP_H

#include <stdint.h>

#include "runtime.h"

/* Parameters of both (all optional): {"days": N} overrides [scheduler] retention_days,
 * {"batch": N} the rows per batch (1..10000). Result: {"deleted": N, "cutoff": "<UTC>"}. */
/* System/Cleanup/Jobs: deletes succeeded jobs completed before the cutoff, with their
 * job_attempts rows. */
job_fn cleanup_jobs;
/* System/Cleanup/Webhooks: deletes webhook_log rows received before the cutoff. */
job_fn cleanup_webhooks;

#endif
