/* This file is the operator CLI's entry point: global flags, config, and the subcommand
 * table. */
#include "actions.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_cmd {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const char *usage;
};

static const struct cli_cmd cli_cmds[] = {
    {"migrate", cli_migrate, "migrate                      apply missing schema migrations"},
    {"enqueue", cli_enqueue,
     "enqueue ACTION [--params JSON] [--queue Q] [--priority P] [--at TIME | --in DURATION]\n"
     "        [--max-attempts N] [--timeout S] [--unique-key K] [--idempotency-key K]\n"
     "                               make a job; prints its id (--json: the job); a repeat\n"
     "                               with the same --idempotency-key prints the first job's id"},
    {"retry", cli_retry,
     "retry ID... [--force]        put failed/cancelled jobs back in the queue (--force: also\n"
     "                               succeeded ones)\n"
     "  retry --state failed|cancelled [--action A] [--since TIME|DURATION] [--force]\n"
     "                               the same for every matching job"},
    {"cancel", cli_cancel,
     "cancel ID                    cancel a pending, queued or running job\n"
     "  cancel --state pending|queued|running [--action A] [--queue Q]\n"
     "                               the same for every matching job (a running one is\n"
     "                               stopped by its worker)"},
    {"show", cli_show, "show ID                      a job with its attempts"},
    {"list", cli_list,
     "list [--state S] [--action A] [--queue Q] [--limit N] [--after ID]\n"
     "                               jobs, newest first"},
    {"stats", cli_stats, "stats                        job counts by state and queue"},
    {"changes", cli_changes,
     "changes [--actor WHO] [--kind job|queue|cron|action] [--limit N] [--before ID]\n"
     "                               who changed what (audit_log), newest first: the\n"
     "                               dashboard's users, api-token, cli:<login>"},
    {"queue", cli_queue,
     "queue list | pause Q | resume Q | limit Q [--concurrency N|none] [--rate N/DUR|none]\n"
     "                               queues: depth, paused state, fleet-wide limits"},
    {"action", cli_action,
     "action list | action set ACTION [--concurrency N|none] [--rate N/DUR|none]\n"
     "        [--backoff-base D] [--backoff-cap D]\n"
     "                               actions' fleet-wide limits and retry backoff: what\n"
     "                               the workers go by (list), or a change (set)"},
    {"cron", cli_cron,
     "cron add NAME SCHEDULE ACTION [--params JSON] [--tz ZONE] [--queue Q] [--priority P]\n"
     "        [--timeout S] [--max-attempts N] [--catchup none|latest]\n"
     "     | cron list | cron enable NAME | cron disable NAME | cron remove NAME\n"
     "     | cron next NAME [--count N]\n"
     "                               cron schedules: five fields or @daily etc., in a time zone\n"
     "                               (default [scheduler] timezone); next prints fire times\n"
     "                               with UTC offsets"},
    {"run", cli_run,
     "run ACTION [--params JSON] [--dry-run]\n"
     "                               run one job function in the foreground with the worker's\n"
     "                               context (no queue, no job row): its log on stderr, its\n"
     "                               result on stdout; exit 0 when it succeeded, 1 otherwise"},
    {"actions", cli_actions,
     "actions                      every registered action with its defaults (--json);\n"
     "                               action list shows what the workers go by"},
    {"spool", cli_spool,
     "spool list | spool retry ID... | spool drop ID...\n"
     "                               the producer's spool: entries waiting for MariaDB and\n"
     "                               those put aside in failed/; retry stores a failed entry\n"
     "                               as a job now (same idempotency key), drop deletes it"},
    {"passwd", cli_passwd,
     "passwd NAME [--role admin|read] [--bcrypt]\n"
     "                               print a [dashboard] users entry for NAME with the password\n"
     "                               read on stdin, hashed with yescrypt (or bcrypt)"},
    {"config-example", cli_config_example,
     "config-example               print every config key with its default and meaning"},
};
#define N_CMDS ((int)(sizeof(cli_cmds) / sizeof(cli_cmds[0])))

static void
cli_help(FILE *fp)
{
    fprintf(fp, "usage: jobfleet [--config PATH] [--json] COMMAND [ARGS]\n\ncommands:\n");
    for (int i = 0; i < N_CMDS; i++)
        fprintf(fp, "  %s\n", cli_cmds[i].usage);
    fprintf(fp,
            "\noptions:\n"
            "  --config PATH   config file (default $JOBFLEET_CONFIG, else your own\n"
            "                  .local/jobfleet.conf from deploy/local/up when run in the\n"
            "                  checkout, else /etc/jobfleet/jobfleet.conf if present)\n"
            "  --json          machine-readable output\n"
            "  --help          this text\n"
            "\nexit status:\n"
            "  0  done\n"
            "  1  runtime failure (MariaDB or Redis unreachable, a query failed)\n"
            "  2  usage or input error (unknown flag, bad JSON, no such job, a job in the wrong\n"
            "     state); one line on stderr says what is wrong\n"
            "  3  outcome unknown: the connection to MariaDB was lost before it confirmed the\n"
            "     write (enqueue), which may or may not have taken effect; rerun with the same\n"
            "     --idempotency-key to get the job without making a second one\n");
}

static void
cli_verror(const char *fmt, va_list ap)
{
    fprintf(stderr, "jobfleet: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
}

void
cli_print_json(const cJSON *j)
{
    char *s = json_print(j);
    printf("%s\n", s);
    free(s);
}

int
cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verror(fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int
cli_runtime_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verror(fmt, ap);
    va_end(ap);
    return CLI_RUNTIME;
}

int
cli_unknown_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verror(fmt, ap);
    va_end(ap);
    return CLI_UNKNOWN;
}

int64_t
cli_job_id(const char *s)
{
    int64_t id;
    if (parse_int64(s, 1, INT64_MAX, &id) < 0) {
        cli_usage_error("\"%s\" is not a job id (a positive integer)", s);
        return -1;
    }
    return id;
}

/* getopt_long's value for the k-th option of a spec: clear of its own '?', ':' and 1. */
#define CLI_OPT_VAL(k) (1000 + (k))

/* Records one parsed option; -1 (after the message) when there are too many. */
static int
cli_parse_keep(struct cli *c, const char *cmd, const char *name, const char *val)
{
    if (c->n_opts >= 32) {
        cli_usage_error("%s: too many options", cmd);
        return -1;
    }
    c->opt_name[c->n_opts] = name;
    c->opt_val[c->n_opts] = val ? val : "";
    c->n_opts++;
    return 0;
}

int
cli_parse(struct cli *c, const char *cmd, int argc, char **argv, const struct cli_opt_spec *spec)
{
    int n = 0;
    while (spec && spec[n].name)
        n++;
    struct option *lo = xcalloc((size_t)n + 1, sizeof(*lo));
    for (int k = 0; k < n; k++)
        lo[k] = (struct option){spec[k].name + 2, spec[k].has_arg ? required_argument : no_argument,
                                NULL, CLI_OPT_VAL(k)};
    /* getopt_long wants the program's name first; "-" keeps positionals in order. */
    char **v = xcalloc((size_t)argc + 2, sizeof(char *));
    v[0] = (char *)(uintptr_t)cmd;
    memcpy(v + 1, argv, sizeof(char *) * (size_t)argc);
    c->n_pos = 0;
    c->n_opts = 0;
    c->pos = xcalloc((size_t)argc + 1, sizeof(char *));
    optind = 0;
    opterr = 0;
    int rc = 0;
    for (int o; rc == 0 && (o = getopt_long(argc + 1, v, "-:", lo, NULL)) != -1;) {
        const char *arg = v[optind - 1];
        if (o == 1)
            c->pos[c->n_pos++] = optarg;
        else if (o >= CLI_OPT_VAL(0))
            rc = cli_parse_keep(c, cmd, spec[o - CLI_OPT_VAL(0)].name, optarg);
        else if (o == ':')
            rc = cli_usage_error("%s: option %s needs a value", cmd, arg);
        else if (optopt >= CLI_OPT_VAL(0))
            rc = cli_usage_error("%s: option %s takes no value", cmd,
                                 spec[optopt - CLI_OPT_VAL(0)].name);
        else
            rc = cli_usage_error("%s: unknown option %s (see jobfleet --help)", cmd, arg);
    }
    /* What follows "--" is positional, whatever it looks like. */
    while (rc == 0 && optind <= argc)
        c->pos[c->n_pos++] = v[optind++];
    free(v);
    free(lo);
    return rc == 0 ? 0 : -1;
}

const char *
cli_opt(const struct cli *c, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < c->n_opts; i++)
        if (strcmp(c->opt_name[i], name) == 0)
            v = c->opt_val[i];
    return v;
}

struct db *
cli_db(struct cli *c)
{
    if (c->db == NULL) {
        c->db = db_new(&c->cfg.mysql);
        if (db_connect(c->db) < 0) {
            /* Run from elsewhere than the checkout, the CLI finds no .local/jobfleet.conf and
             * tries the defaults: say so, or the operator hunts a server that was never
             * configured. */
            cli_runtime_error("%s%s", db_errstr(c->db),
                              c->cfg.path ? ""
                                          : " (no config file was found: --config PATH, "
                                            "JOBFLEET_CONFIG, ./.local/jobfleet.conf or "
                                            "/etc/jobfleet/jobfleet.conf)");
            exit(CLI_RUNTIME);
        }
    }
    return c->db;
}

struct rq *
cli_rq(struct cli *c)
{
    if (c->rq == NULL) {
        c->rq = rq_new(&c->cfg.redis);
        /* A Redis outage must not stop an enqueue: the scheduler pushes what we could not. */
        if (rq_connect(c->rq) < 0)
            log_warnx("%s", rq_errstr(c->rq));
    }
    return c->rq;
}

int
cli_config_example(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "config-example", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("config-example takes no arguments");
    cfg_print_example();
    return CLI_OK;
}

int
main(int argc, char **argv)
{
    const char *config = NULL;
    bool json = false;
    int i = 1;
    /* Global flags may stand before the command; --json and --config are also accepted after
     * it, where scripts tend to put them. */
    char **rest = xcalloc((size_t)argc + 1, sizeof(char *));
    int n_rest = 0;
    const char *cmd = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_help(stdout);
            free(rest);
            return CLI_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                free(rest);
                return cli_usage_error("--config needs a path");
            }
            config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (cmd == NULL && a[0] != '-') {
            cmd = a;
        } else if (cmd == NULL) {
            free(rest);
            return cli_usage_error("unknown option %s (see jobfleet --help)", a);
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    if (cmd == NULL) {
        cli_help(stderr);
        free(rest);
        return CLI_USAGE;
    }
    const struct cli_cmd *found = NULL;
    for (int k = 0; k < N_CMDS; k++)
        if (strcmp(cli_cmds[k].name, cmd) == 0)
            found = &cli_cmds[k];
    if (found == NULL) {
        free(rest);
        return cli_usage_error("unknown command \"%s\" (see jobfleet --help)", cmd);
    }
    struct cli c = {.json = json};
    char err[1024];
    if (cfg_load(&c.cfg, config, err, sizeof(err)) < 0) {
        free(rest);
        fprintf(stderr, "jobfleet: %s\n", err);
        return CLI_USAGE;
    }
    enum log_level lv = LOG_LEVEL_WARN;
    log_init("jobfleet", lv);
    actions_install();
    int rc = found->fn(&c, n_rest, rest);
    free(rest);
    free(c.pos);
    db_free(c.db);
    rq_free(c.rq);
    cfg_release(&c.cfg);
    return rc;
}
