/* This file holds the cron tests' simulated clock and their cron job helpers. */
#include "tcron.h"
#include "cronjob.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t
t_iso(const char *s)
{
    struct tm tm = {0};
    int n = sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
    CHECK(n == 6, "bad time literal %s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

void
t_clock_init(struct tenv *t)
{
    char *path = xasprintf("%s/clock", t->dir);
    setenv("JOBFLEET_SCHEDULER_TEST_CLOCK_FILE", path, 1);
    free(t->cfg.scheduler.test_clock_file);
    t->cfg.scheduler.test_clock_file = path;
}

void
t_clock_set(struct tenv *t, int64_t now)
{
    char *tmp = xasprintf("%s.tmp", t->cfg.scheduler.test_clock_file);
    FILE *fp = fopen(tmp, "w");
    CHECK(fp != NULL, "cannot write %s", tmp);
    fprintf(fp, "%lld\n", (long long)now);
    fclose(fp);
    CHECK(rename(tmp, t->cfg.scheduler.test_clock_file) == 0, "rename %s", tmp);
    free(tmp);
}

int64_t
t_cron_add_at(struct tenv *t, int64_t at, const char *name, const char *schedule, const char *tz,
              const char *catchup)
{
    t_clock_set(t, at);
    struct cronjob_spec spec = {.name = name,
                                .schedule = schedule,
                                .action = "System/Noop",
                                .timezone = tz,
                                .catchup = catchup};
    char err[512];
    int64_t id = 0;
    enum job_err e = cronjob_add(t->db, &t->cfg, &spec, &id, err, sizeof(err));
    CHECK(e == JOB_E_OK && id > 0, "cronjob_add %s: %s", name, err);
    return id;
}

int64_t
t_cron_jobs(struct tenv *t, int64_t cron_id)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE cron_job_id = ?", DB_P(DBI(cron_id)));
}
