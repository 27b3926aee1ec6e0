/* System/Probe (test-only): a job function that uses every service of the runtime, so tests and
 * operators can check a worker's context end to end. */
#ifndef JOBFLEET_PROBE_H
#define JOBFLEET_PROBE_H

#include "runtime.h"

/* Parameters (all optional): "steps": N steps, each a GET of "path" (default "/ping") on
 * [service.<"service">] when "service" is given, then a pause of "sleep_ms", with progress
 * reported after each; "db": a [db.<name>] whose table probe_rows it counts and, unless dry run,
 * adds a row (job_id, attempt) to, in one transaction; "child": an action it enqueues once per
 * job (idempotency key "probe:<job id>"); "force_write" writes even in a dry run and
 * "reconnect" drops the database connection first (tests of the read-only dry-run session). Logs
 * each step. Result: {"steps", "rows", "child"}. */
job_fn system_probe;

#endif
