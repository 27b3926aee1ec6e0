/* This file records the CLI's changes in audit_log, as the dashboard and the API record theirs,
 * under the name of the operating-system user who ran the command. */
#include "audit.h"
#include "cli.h"
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

void
cli_audit(struct cli *c, const char *action, const char *kind, const char *id, const char *detail)
{
    if (audit_add(cli_db(c), cli_actor(c), action, kind, id, detail) < 0)
        fprintf(stderr, "jobfleet: warning: done, but not recorded in audit_log: %s\n",
                db_errstr(cli_db(c)));
}
