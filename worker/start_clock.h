/* The worker's reading of MariaDB's clock, for the time a child really starts a job: the
 * check-out writes that time to the job's row and attempt row, and the pickup latency an
 * operator reads is that time minus the enqueue's. The host's wall clock may be off by minutes
 * (the fault suite's clock-skew), so the worker never uses it: each claim's dt_started is
 * MariaDB's NOW(6) at the start of the claim statement, which ran between the monotonic times
 * the statement was sent and its answer was read, and that brackets MariaDB's clock minus the
 * monotonic one. */
#ifndef JOBFLEET_START_CLOCK_H
#define JOBFLEET_START_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Zero-initialised before use; owned by the supervisor's loop (no lock). */
struct start_clock {
    bool set;
    int64_t lo_us, hi_us; /* MariaDB's clock minus the monotonic one lies in [lo_us, hi_us] */
    int64_t last_us;      /* the latest stamp given, on MariaDB's clock */
};

/* Learns from one claim: MariaDB's clock read server_us (µs since the epoch) at a moment
 * between the monotonic times sent_us and got_us. Narrows the bracket; a claim whose bracket
 * does not meet it (MariaDB's clock was stepped) replaces it, and the stamps start again from
 * the new clock. */
void start_clock_learn(struct start_clock *c, int64_t server_us, int64_t sent_us, int64_t got_us);

/* MariaDB's time at the monotonic time now_us, from the bracket's upper end: never earlier than
 * the true time as far as the claims learnt can tell (so no job is stamped as started before it
 * was handed over, nor before its claim), later by at most the quickest claim's delay between
 * being sent and starting to run, and never earlier than a stamp returned before, so the stamps
 * keep the order the jobs started in. Requires a start_clock_learn before. */
int64_t start_clock_stamp(struct start_clock *c, int64_t now_us);

#endif
