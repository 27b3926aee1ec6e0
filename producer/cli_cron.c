/* This file holds the CLI's cron commands: add, list, enable, disable, remove and next. */
#include "cli.h"
#include "fault.h"
#include "cronjob_json.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRON_USAGE                                                                                 \
    "cron add NAME SCHEDULE ACTION [--params JSON] [--tz ZONE] [--queue Q] [--priority P] "        \
    "[--timeout S] [--max-attempts N] [--catchup none|latest] | list | enable NAME | "             \
    "disable NAME | remove NAME | next NAME [--count N]"

static int
cli_cron_err(const char *sub, enum job_err e, const char *err)
{
    if (e == JOB_E_DB)
        return cli_runtime_error("cron %s: %s", sub, err);
    return cli_usage_error("cron %s: %s", sub, err);
}

static int
cli_cron_int(const struct cli *c, const char *sub, const char *name, int64_t min, int64_t max,
             int *out)
{
    const char *v = cli_opt(c, name);
    if (v == NULL)
        return 0;
    int64_t n;
    if (parse_int64(v, min, max, &n) < 0) {
        cli_usage_error("cron %s: %s \"%s\" must be an integer in %lld..%lld", sub, name, v,
                        (long long)min, (long long)max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static const struct cli_opt_spec cron_add_opts[] = {
    {"--params", true},  {"--tz", true},           {"--queue", true},   {"--priority", true},
    {"--timeout", true}, {"--max-attempts", true}, {"--catchup", true}, {NULL, false},
};

static int
cli_cron_add(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "cron add", argc, argv, cron_add_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos != 3)
        return cli_usage_error("cron add needs NAME SCHEDULE ACTION (e.g. cron add nightly "
                               "\"0 2 * * *\" System/Noop)");
    struct cronjob_spec spec = {.name = c->pos[0],
                                .schedule = c->pos[1],
                                .action = c->pos[2],
                                .parameters = cli_opt(c, "--params"),
                                .timezone = cli_opt(c, "--tz"),
                                .queue = cli_opt(c, "--queue"),
                                .catchup = cli_opt(c, "--catchup")};
    if (cli_cron_int(c, "add", "--priority", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &spec.priority) <
            0 ||
        cli_cron_int(c, "add", "--timeout", 1, 604800, &spec.timeout_s) < 0 ||
        cli_cron_int(c, "add", "--max-attempts", 1, 1000, &spec.max_attempts) < 0)
        return CLI_USAGE;
    char err[1024];
    int64_t id = 0;
    int rc = cli_change_begin(c);
    if (rc != CLI_OK)
        return rc;
    enum job_err e = cronjob_add(cli_db(c), &c->cfg, &spec, &id, err, sizeof(err));
    if (e != JOB_E_OK) {
        cli_change_abort(c);
        return cli_cron_err("add", e, err);
    }
    char *detail = xasprintf("%s %s", spec.schedule, spec.action);
    rc = cli_change_commit(c, "add", "cron", spec.name, detail);
    free(detail);
    if (rc != CLI_OK)
        return rc;
    if (!c->json) {
        printf("%lld\n", (long long)id);
        return CLI_OK;
    }
    cJSON *j = NULL;
    if (FAULT_FAIL("cli.readback"))
        snprintf(err, sizeof(err), "Lost connection (the fault point cli.readback)");
    else
        j = cronjob_get_json(cli_db(c), &c->cfg, spec.name, &e, err, sizeof(err));
    if (j == NULL) {
        /* It is stored: exit 1 would have a script add it again, into "already exists". */
        fprintf(stderr, "jobfleet: cron job %lld is stored, but reading it back failed: %s\n",
                (long long)id, err);
        printf("{\"id\":%lld}\n", (long long)id);
        return CLI_OK;
    }
    cli_print_json(j);
    cJSON_Delete(j);
    return CLI_OK;
}

static int
cli_cron_list(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "cron list", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("cron list takes no arguments");
    enum job_err e;
    char err[1024];
    cJSON *a = cronjob_list_json(cli_db(c), &c->cfg, &e, err, sizeof(err));
    if (a == NULL)
        return cli_cron_err("list", e, err);
    if (c->json) {
        cli_print_json(a);
        cJSON_Delete(a);
        return CLI_OK;
    }
    printf("%-28s %-16s %-20s %-7s %-26s %-26s %s\n", "NAME", "SCHEDULE", "TIME ZONE", "ACTIVE",
           "NEXT FIRE", "LAST FIRE", "LAST JOB");
    const cJSON *o;
    cJSON_ArrayForEach(o, a)
    {
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(o, "last_job_id");
        char last_job[64] = "-";
        if (cJSON_IsNumber(job))
            snprintf(last_job, sizeof(last_job), "%.0f %s", job->valuedouble,
                     json_str(o, "last_job_state", "-"));
        /* An overdue fire says no scheduler is firing: worth more than the column's width. */
        char next[80];
        snprintf(next, sizeof(next), "%s%s", json_str(o, "next_fire", "-"),
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "overdue")) ? " (overdue)" : "");
        printf("%-28s %-16s %-20s %-7s %-26s %-26s %s\n", json_str(o, "name", "-"),
               json_str(o, "schedule", "-"), json_str(o, "timezone", "-"),
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_active")) ? "yes" : "no", next,
               json_str(o, "last_fire", "-"), last_job);
    }
    cJSON_Delete(a);
    return CLI_OK;
}

/* enable, disable and remove: one NAME, no options. */
static int
cli_cron_change(struct cli *c, const char *sub, int argc, char **argv)
{
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "cron %s", sub);
    if (cli_parse(c, cmd, argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("cron %s needs one cron job NAME", sub);
    const char *name = c->pos[0];
    enum job_err e;
    char err[1024];
    cJSON *j;
    int rc = cli_change_begin(c);
    if (rc != CLI_OK)
        return rc;
    if (strcmp(sub, "remove") == 0)
        j = cronjob_remove_json(cli_db(c), name, &e, err, sizeof(err));
    else
        j = cronjob_set_active_json(cli_db(c), &c->cfg, name, strcmp(sub, "enable") == 0, &e, err,
                                    sizeof(err));
    if (j == NULL) {
        cli_change_abort(c);
        return cli_cron_err(sub, e, err);
    }
    if ((rc = cli_change_commit(c, sub, "cron", name, NULL)) != CLI_OK) {
        cJSON_Delete(j);
        return rc;
    }
    if (c->json)
        cli_print_json(j);
    else if (strcmp(sub, "remove") == 0)
        printf("removed %s (its past jobs are kept)\n", name);
    else
        printf("%s %s\n", strcmp(sub, "enable") == 0 ? "enabled" : "disabled", name);
    cJSON_Delete(j);
    return CLI_OK;
}

static const struct cli_opt_spec cron_next_opts[] = {{"--count", true}, {NULL, false}};

static int
cli_cron_next(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "cron next", argc, argv, cron_next_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("cron next needs one cron job NAME");
    int count = 5;
    if (cli_cron_int(c, "next", "--count", 1, CRONJOB_NEXT_MAX, &count) < 0)
        return CLI_USAGE;
    enum job_err e;
    char err[1024];
    cJSON *j = cronjob_next_json(cli_db(c), &c->cfg, c->pos[0], count, &e, err, sizeof(err));
    if (j == NULL)
        return cli_cron_err("next", e, err);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_active")))
        fprintf(stderr,
                "jobfleet: cron next: \"%s\" is disabled: it fires at none of these times until "
                "`jobfleet cron enable %s`\n",
                c->pos[0], c->pos[0]);
    if (c->json) {
        cli_print_json(j);
    } else {
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(j, "next"))
        {
            printf("%s\n", t->valuestring);
        }
    }
    cJSON_Delete(j);
    return CLI_OK;
}

int
cli_cron(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("cron needs a subcommand: " CRON_USAGE);
    const char *sub = argv[0];
    if (strcmp(sub, "add") == 0)
        return cli_cron_add(c, argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0)
        return cli_cron_list(c, argc - 1, argv + 1);
    if (strcmp(sub, "enable") == 0 || strcmp(sub, "disable") == 0 || strcmp(sub, "remove") == 0)
        return cli_cron_change(c, sub, argc - 1, argv + 1);
    if (strcmp(sub, "next") == 0)
        return cli_cron_next(c, argc - 1, argv + 1);
    return cli_usage_error("cron: unknown subcommand \"%s\" (expected add, list, enable, "
                           "disable, remove or next)",
                           sub);
}
