/* Support for cron tests: a simulated clock the test process and every CLI or daemon it starts
 * read ([scheduler] test_clock_file), and cron jobs added and counted at simulated times. */
#ifndef JOBFLEET_TCRON_H
#define JOBFLEET_TCRON_H

#include "tsupport.h"

/* "2026-03-08T08:00:00Z" to UTC seconds; fails the test on another form. */
int64_t t_iso(const char *s);

/* Points this process's config and every CLI or daemon it starts at a clock file in the test's
 * directory. */
void t_clock_init(struct tenv *t);

/* Sets the simulated clock (t_clock_init first), atomically so a reader never sees a
 * half-written number. */
void t_clock_set(struct tenv *t, int64_t now);

/* Adds a System/Noop cron job at the simulated time at (tz and catchup may be NULL); returns its
 * id, failing the test when it is refused. */
int64_t t_cron_add_at(struct tenv *t, int64_t at, const char *name, const char *schedule,
                      const char *tz, const char *catchup);

/* How many jobs cron job cron_id has made. */
int64_t t_cron_jobs(struct tenv *t, int64_t cron_id);

#endif
