/* The operator CLI's shared state and helpers: parsed options, lazily opened connections,
 * and the exit codes scripts rely on. */
#ifndef JOBFLEET_CLI_H
#define JOBFLEET_CLI_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "db.h"
#include "rq.h"

/* Exit codes: documented in `jobfleet --help`. */
#define CLI_OK 0
#define CLI_RUNTIME 1 /* a server unreachable, a query failed */
#define CLI_USAGE 2   /* unknown flag, bad input, no such job, wrong state */
#define CLI_UNKNOWN 3 /* the answer to a write was lost: it may or may not have taken effect */
/* The longest duration an option takes (100 years): a longer one is a typo, and in
 * milliseconds added to the clock it would overflow. */
#define CLI_DURATION_MAX_S (INT64_C(100) * 366 * 86400)

struct cli_opt_spec {
    const char *name; /* "--queue" */
    bool has_arg;
};

struct cli {
    struct cfg cfg;
    bool json;
    struct db *db;
    struct rq *rq;
    /* Options and positionals of the subcommand, after parsing. */
    int n_pos;
    char **pos;
    int n_opts;
    const char *opt_name[32];
    const char *opt_val[32];
    char actor[64]; /* cli_actor's, once known */
};

/* Parses argv against spec into c->pos and c->opt_*. On an unknown or malformed option
 * prints one line to stderr and returns -1. */
int cli_parse(struct cli *c, const char *cmd, int argc, char **argv,
              const struct cli_opt_spec *spec);
/* The value of an option, or NULL; flags without argument return "". */
const char *cli_opt(const struct cli *c, const char *name);

/* Connections, opened on first use; on failure print the error and exit CLI_RUNTIME. */
struct db *cli_db(struct cli *c);
struct rq *cli_rq(struct cli *c);

/* Who the CLI's changes are recorded as in audit_log: "cli:" and the login name of the user
 * running it (sudo's caller when run through sudo). Anyone who can read the config can write
 * any row, so this records, it does not prove. */
const char *cli_actor(struct cli *c);
/* A change and its audit_log row share one transaction, so a change never stands unrecorded:
 * cli_change_begin opens it (CLI_OK, or CLI_RUNTIME after the message); the command makes the
 * change on cli_db(c); then cli_change_commit records it (audit_add with cli_actor) and commits
 * both (CLI_OK), or rolls the change back and says why (CLI_RUNTIME); a command whose change
 * failed calls cli_change_abort. */
int cli_change_begin(struct cli *c);
int cli_change_commit(struct cli *c, const char *action, const char *kind, const char *id,
                      const char *detail);
void cli_change_abort(struct cli *c);

/* The options the command was given, as text for an audit row's detail ("--state failed
 * --force"); the caller frees it. */
char *cli_opts_detail(const struct cli *c);

/* Prints j to stdout as --json does, with a newline. */
void cli_print_json(const cJSON *j);

/* Prints a usage or input error to stderr ("jobfleet: ...") and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a runtime error to stderr and returns CLI_RUNTIME. */
int cli_runtime_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a write of unknown outcome (its answer was lost) to stderr and returns CLI_UNKNOWN. */
int cli_unknown_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a job id argument; prints an error and returns -1 when it is not one. */
int64_t cli_job_id(const char *s);

/* Subcommands, each in its own file. They return an exit code. */
int cli_migrate(struct cli *c, int argc, char **argv);
int cli_enqueue(struct cli *c, int argc, char **argv);
int cli_show(struct cli *c, int argc, char **argv);
int cli_list(struct cli *c, int argc, char **argv);
int cli_retry(struct cli *c, int argc, char **argv);
int cli_cancel(struct cli *c, int argc, char **argv);
int cli_stats(struct cli *c, int argc, char **argv);
int cli_changes(struct cli *c, int argc, char **argv);
int cli_queue(struct cli *c, int argc, char **argv);
int cli_action(struct cli *c, int argc, char **argv);
int cli_cron(struct cli *c, int argc, char **argv);
int cli_config_example(struct cli *c, int argc, char **argv);
int cli_run(struct cli *c, int argc, char **argv);
int cli_actions(struct cli *c, int argc, char **argv);
int cli_spool(struct cli *c, int argc, char **argv);
int cli_passwd(struct cli *c, int argc, char **argv);

#endif
