/* This file is the scheduler's cron step: firing every active cron_jobs schedule once per
 * matching minute in its time zone (invariant 6). The step itself is cronjob_fire_due
 * (common/cronjob_fire.c), which tests drive with a simulated now. */
#include "cronjob_fire.h"
#include "cronjob.h"
#include "sched.h"
#include "cfg.h"
#include "log.h"
#include "tzone.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ensures one schedule the config keeps; false when the database should be asked again. */
static bool
sched_cron_keep(struct sched *s, const struct cronjob_spec *spec, const char *what)
{
    char err[256];
    enum job_err e = cronjob_ensure(s->db, s->cfg, spec, err, sizeof(err));
    if (e != JOB_E_OK)
        log_warnx("%s: %s", what, err);
    return e != JOB_E_DB;
}

/* [dispatch] every_min runs Dispatch/Legacy/Sync every N minutes (the minute field stepped by
 * N; 60: hourly). 0 leaves any cron job of that name alone (an operator's own). */
static bool
sched_cron_dispatch(struct sched *s)
{
    int n = s->cfg->dispatch.every_min;
    if (n <= 0)
        return true;
    char schedule[32];
    if (n >= 60)
        snprintf(schedule, sizeof(schedule), "0 * * * *");
    else
        snprintf(schedule, sizeof(schedule), "*/%d * * * *", n);
    struct cronjob_spec spec = {.name = "Dispatch/Legacy/Sync",
                                .schedule = schedule,
                                .action = "Dispatch/Legacy/Sync",
                                .catchup = "none"};
    return sched_cron_keep(s, &spec, "[dispatch] every_min");
}

/* [toga_desk.<client>] schedule runs Toga/Desk/Sync {"client": "<client>"} as the cron job
 * "Toga/Desk/Sync/<client>" (in the section's timezone when set). */
static bool
sched_cron_togadesk(struct sched *s)
{
    bool done = true;
    for (int i = 0; i < s->cfg->n_sections; i++) {
        const struct cfg_section *sec = &s->cfg->sections[i];
        const char *schedule = cfg_section_get(sec, "schedule");
        if (strcmp(sec->kind, "toga_desk") != 0 || schedule == NULL || *schedule == '\0')
            continue;
        char name[200], what[200];
        snprintf(name, sizeof(name), "Toga/Desk/Sync/%s", sec->label);
        snprintf(what, sizeof(what), "[%s] schedule", sec->name);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "client", sec->label);
        char *params = cJSON_PrintUnformatted(p);
        cJSON_Delete(p);
        struct cronjob_spec spec = {.name = name,
                                    .schedule = schedule,
                                    .action = "Toga/Desk/Sync",
                                    .parameters = params,
                                    .timezone = cfg_section_get(sec, "timezone"),
                                    .catchup = "none"};
        done &= sched_cron_keep(s, &spec, what);
        free(params);
    }
    return done;
}

int
sched_cron_check_config(const struct cfg *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->n_sections; i++) {
        const struct cfg_section *sec = &c->sections[i];
        const char *schedule = cfg_section_get(sec, "schedule");
        const char *tz = cfg_section_get(sec, "timezone");
        if (strcmp(sec->kind, "toga_desk") != 0 || schedule == NULL || *schedule == '\0')
            continue;
        struct cron_expr e;
        char why[256];
        if (cron_parse(schedule, &e, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s: [%s] schedule: \"%s\": %s",
                     cfg_section_where(sec, "schedule"), sec->name, schedule, why);
            return -1;
        }
        if (tz && *tz && tzone_get(tz, why, sizeof(why)) == NULL) {
            snprintf(err, errlen, "%s: [%s] timezone: \"%s\" cannot be used: %s",
                     cfg_section_where(sec, "timezone"), sec->name, tz, why);
            return -1;
        }
    }
    return 0;
}

/* The schedules the config keeps, made once per process and retried each tick until the
 * database takes them. */
static void
sched_cron_config(struct sched *s)
{
    bool a = sched_cron_dispatch(s);
    bool b = sched_cron_togadesk(s);
    s->cron_config_done = a && b;
}

/* Called once per leader tick, after reconcile and before retention, with s->db connected:
 * fires the due cron jobs at MariaDB's now ([scheduler] test_clock_file in tests), a
 * bounded batch per tick. Two schedulers at once cost work, not duplicates. Returns the number
 * of new jobs, or -1 after sched_db_fail. */
int
sched_cron_step(struct sched *s)
{
    int fired = 0;
    if (!s->cron_config_done)
        sched_cron_config(s);
    /* Without Redis the fires are still made; reconcile pushes them once it is back. */
    struct rq *rq = rq_connected(s->rq) ? s->rq : NULL;
    int64_t now;
    if (cronjob_now_db(s->db, s->cfg, &now) < 0 ||
        cronjob_fire_due(s->db, rq, s->cfg, now, &fired) < 0)
        return sched_db_fail(s, SCHED_STEP_CRON, s->db);
    s->counts.fired += fired;
    return fired;
}
