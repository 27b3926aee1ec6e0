/* This file is the CLI's side of audit_log: it records the CLI's changes, as the dashboard and
 * the API record theirs, under the name of the operating-system user who ran the command, and
 * lists everyone's (jobfleet changes). */
#include "audit.h"
#include "cli.h"
#include "json.h"
#include "util.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The login name the command runs for: the sudo caller's when run through sudo as root,
 * since "root" would name every operator alike. */
static const char *
cli_login(char *num, size_t len)
{
    const char *sudo = getenv("SUDO_USER");
    if (geteuid() == 0 && sudo && sudo[0])
        return sudo;
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && pw->pw_name[0])
        return pw->pw_name;
    snprintf(num, len, "uid %u", (unsigned)geteuid());
    return num;
}

const char *
cli_actor(struct cli *c)
{
    if (c->actor[0])
        return c->actor;
    char num[32];
    const char *login = cli_login(num, sizeof(num));
    /* From the environment: kept to plain ASCII, so an odd name cannot make MariaDB refuse
     * the row and with it, in the same transaction, the change. */
    size_t n = (size_t)snprintf(c->actor, sizeof(c->actor), "cli:%s", login);
    for (size_t i = 4; i < n && i < sizeof(c->actor) - 1; i++)
        if (c->actor[i] < 0x20 || c->actor[i] > 0x7e)
            c->actor[i] = '?';
    return c->actor;
}

char *
cli_opts_detail(const struct cli *c)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < c->n_opts; i++)
        buf_printf(&b, "%s%s%s%s", i ? " " : "", c->opt_name[i], c->opt_val[i][0] ? " " : "",
                   c->opt_val[i]);
    return b.data ? buf_detach(&b) : xstrdup("");
}

int
cli_change_begin(struct cli *c)
{
    if (db_begin(cli_db(c)) == 0)
        return CLI_OK;
    return cli_runtime_error("begin a transaction: %s", db_errstr(cli_db(c)));
}

int
cli_change_commit(struct cli *c, const char *action, const char *kind, const char *id,
                  const char *detail)
{
    char err[512];
    bool lost = false;
    if (audit_commit(cli_db(c), cli_actor(c), action, kind, id, detail, &lost, err, sizeof(err)) ==
        0)
        return CLI_OK;
    if (lost)
        return cli_runtime_error("%s %s %s: the connection was lost at the commit: the change may "
                                 "or may not be made (see jobfleet changes): %s",
                                 kind, id, action, err);
    return cli_runtime_error("%s %s %s: not done: the change could not be recorded in audit_log "
                             "(%s)",
                             kind, id, action, err);
}

void
cli_change_abort(struct cli *c)
{
    db_rollback(cli_db(c));
}

static const struct cli_opt_spec changes_opts[] = {
    {"--actor", true}, {"--kind", true}, {"--limit", true}, {"--before", true}, {NULL, false}};

/* Reads --limit and --before into *limit and *before; CLI_USAGE after the message. */
static int
cli_changes_range(const struct cli *c, int64_t *limit, int64_t *before)
{
    const char *l = cli_opt(c, "--limit"), *b = cli_opt(c, "--before");
    if (l && parse_int64(l, 1, 1000, limit) < 0)
        return cli_usage_error("changes: --limit \"%s\" must be 1..1000", l);
    if (b && parse_int64(b, 1, INT64_MAX, before) < 0)
        return cli_usage_error("changes: --before \"%s\" is not a change's id", b);
    return CLI_OK;
}

int
cli_changes(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "changes", argc, argv, changes_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("changes takes no arguments, only --actor, --kind, --limit and "
                               "--before");
    const char *kind = cli_opt(c, "--kind");
    if (kind && !audit_kind_ok(kind))
        return cli_usage_error("changes: --kind \"%s\" must be " AUDIT_KINDS, kind);
    int64_t limit = 50, before = 0;
    if (cli_changes_range(c, &limit, &before) != CLI_OK)
        return CLI_USAGE;
    cJSON *a = audit_recent(cli_db(c), "", cli_opt(c, "--actor"), kind, before, (int)limit);
    if (a == NULL)
        return cli_runtime_error("read audit_log: %s", db_errstr(cli_db(c)));
    if (c->json) {
        cli_print_json(a);
    } else {
        printf("%-8s %-26s %-20s %-8s %-24s %s\n", "ID", "WHEN", "WHO", "WHAT", "OBJECT", "DETAIL");
        const cJSON *it;
        cJSON_ArrayForEach(it, a)
        {
            char obj[256];
            snprintf(obj, sizeof(obj), "%s %s", json_str(it, "object_kind", "?"),
                     json_str(it, "object_id", "?"));
            printf("%-8.0f %-26s %-20s %-8s %-24s %s\n",
                   cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble,
                   json_str(it, "dt_created", "-"), json_str(it, "actor", "-"),
                   json_str(it, "action", "-"), obj, json_str(it, "detail", ""));
        }
    }
    cJSON_Delete(a);
    return CLI_OK;
}
