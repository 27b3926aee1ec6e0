/* This file checks new cron jobs and reads them from JSON requests, so that the CLI, the API
 * and the tests refuse the same things with the same messages. */
#include "cronjob_check.h"
#include "json.h"
#include "tzone.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Names are shown in logs and used in API paths: keep them plain. */
static bool
cronjob_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 191)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && !strchr("._/:-", c))
            return false;
    }
    return true;
}

static enum job_err
cronjob_check_schedule(const struct cronjob_spec *spec, struct cron_expr *e, char *err,
                       size_t errlen)
{
    char perr[256];
    if (spec->schedule == NULL || spec->schedule[0] == '\0') {
        snprintf(err, errlen, "schedule: a schedule is required (e.g. \"0 2 * * *\")");
        return JOB_E_INPUT;
    }
    if (strlen(spec->schedule) > 255) {
        snprintf(err, errlen, "schedule: longer than 255 characters");
        return JOB_E_INPUT;
    }
    if (cron_parse(spec->schedule, e, perr, sizeof(perr)) < 0) {
        snprintf(err, errlen, "schedule: %s", perr);
        return JOB_E_INPUT;
    }
    return JOB_E_OK;
}

static enum job_err
cronjob_check_zone(const struct cfg *cfg, const struct cronjob_spec *spec, char *err, size_t errlen)
{
    /* tzone_get also refuses names that could leave the zone directory. */
    char why[256] = "";
    if (spec->timezone && (strlen(spec->timezone) > TZONE_NAME_MAX ||
                           tzone_get(spec->timezone, why, sizeof(why)) == NULL)) {
        /* "localtime" is a zone on every host, only not the same one: say that, not "none". */
        if (strcmp(spec->timezone, "localtime") == 0)
            snprintf(err, errlen, "timezone: %s", why);
        else
            snprintf(err, errlen,
                     "timezone: \"%s\" is not a zone of the system tz database (e.g. "
                     "America/Chicago)",
                     spec->timezone);
        return JOB_E_INPUT;
    }
    if (spec->timezone == NULL && !cron_tz_valid(cfg->scheduler.timezone)) {
        snprintf(err, errlen,
                 "timezone: none given and [scheduler] timezone \"%s\" is not a zone of the "
                 "system tz database",
                 cfg->scheduler.timezone);
        return JOB_E_INPUT;
    }
    return JOB_E_OK;
}

enum job_err
cronjob_check(const struct cfg *cfg, const struct cronjob_spec *spec, int64_t now,
              struct cronjob_checked *out, char *err, size_t errlen)
{
    if (!cronjob_name_ok(spec->name)) {
        snprintf(err, errlen, "name: \"%s\" must be 1-191 characters of A-Z a-z 0-9 . _ / : -",
                 spec->name ? spec->name : "");
        return JOB_E_INPUT;
    }
    enum job_err je = cronjob_check_schedule(spec, &out->expr, err, errlen);
    if (je == JOB_E_OK)
        je = cronjob_check_zone(cfg, spec, err, errlen);
    if (je != JOB_E_OK)
        return je;
    if (spec->catchup && strcmp(spec->catchup, "none") && strcmp(spec->catchup, "latest")) {
        snprintf(err, errlen, "catchup: \"%s\" must be none or latest", spec->catchup);
        return JOB_E_INPUT;
    }
    if (cron_next(&out->expr, cronjob_zone(cfg, spec->timezone), now, &out->next) < 0) {
        snprintf(err, errlen, "schedule: \"%s\" never fires", spec->schedule);
        return JOB_E_INPUT;
    }
    /* The job a fire makes must pass the same checks an enqueue does: find out now. */
    struct job_spec js = {.action = spec->action,
                          .parameters = spec->parameters,
                          .queue = spec->queue,
                          .priority = spec->priority,
                          .timeout_s = spec->timeout_s,
                          .max_attempts = spec->max_attempts,
                          .origin = "cron"};
    const char *field = NULL;
    enum job_err e = job_spec_check(&js, cfg->worker.test_actions, &out->job, &field, err, errlen);
    if (e != JOB_E_OK)
        return e;
    /* Each fire's job function would read such a number rounded: refused, as an enqueue is. */
    return json_text_params_inexact(out->job.parameters, err, errlen) ? JOB_E_INPUT : JOB_E_OK;
}

/* Reads an optional string member; -1 with a message when it has another type. */
static int
cronjob_body_str(const cJSON *body, const char *key, const char **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        snprintf(err, errlen, "%s: must be a string", key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* Reads an optional integer member in [min, max]. */
static int
cronjob_body_int(const cJSON *body, const char *key, int min, int max, int *out, char *err,
                 size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    int64_t n;
    if (!json_int_of(v, min, max, &n)) {
        snprintf(err, errlen, "%s: must be an integer in %d..%d", key, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* Refuses members the API does not define, so a typo ("timzone") is not silently dropped. */
static int
cronjob_body_known(const cJSON *body, char *err, size_t errlen)
{
    static const char *const known[] = {"name",         "schedule", "action",   "parameters",
                                        "timezone",     "queue",    "priority", "timeout_s",
                                        "max_attempts", "catchup",  NULL};
    const cJSON *it;
    cJSON_ArrayForEach(it, body)
    {
        bool ok = false;
        for (int k = 0; known[k] && !ok; k++)
            ok = strcmp(known[k], it->string) == 0;
        if (!ok) {
            snprintf(err, errlen, "unknown field \"%s\"", it->string);
            return -1;
        }
    }
    return 0;
}

int
cronjob_spec_from_json(const cJSON *body, struct cronjob_spec *spec, char **params_text, char *err,
                       size_t errlen)
{
    *params_text = NULL;
    memset(spec, 0, sizeof(*spec));
    if (!cJSON_IsObject(body)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -1;
    }
    if (cronjob_body_known(body, err, errlen) < 0 ||
        cronjob_body_str(body, "name", &spec->name, err, errlen) < 0 ||
        cronjob_body_str(body, "schedule", &spec->schedule, err, errlen) < 0 ||
        cronjob_body_str(body, "action", &spec->action, err, errlen) < 0 ||
        cronjob_body_str(body, "timezone", &spec->timezone, err, errlen) < 0 ||
        cronjob_body_str(body, "queue", &spec->queue, err, errlen) < 0 ||
        cronjob_body_str(body, "catchup", &spec->catchup, err, errlen) < 0 ||
        cronjob_body_int(body, "priority", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &spec->priority, err,
                         errlen) < 0 ||
        cronjob_body_int(body, "timeout_s", 1, 604800, &spec->timeout_s, err, errlen) < 0 ||
        cronjob_body_int(body, "max_attempts", 1, 1000, &spec->max_attempts, err, errlen) < 0)
        return -1;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "parameters");
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params)) {
        snprintf(err, errlen, "parameters: must be a JSON object");
        return -1;
    }
    if (params && cJSON_IsObject(params) && json_params_inexact(params, err, errlen))
        return -1;
    if (params && cJSON_IsObject(params))
        *params_text = json_print(params);
    spec->parameters = *params_text;
    return 0;
}
