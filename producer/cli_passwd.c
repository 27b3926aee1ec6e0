/* This file is `jobfleet passwd`: it makes a [dashboard] users entry, "name:role:hash", from a
 * password read on standard input, hashed by crypt(3) (libcrypt) with yescrypt, or bcrypt with
 * --bcrypt, and a fresh salt. */
#include "cli.h"
#include "util.h"

#include <crypt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The terminal's settings while the echo is off, for a signal to put back. */
static struct termios cli_passwd_tty;

/* A signal that ends the command while the echo is off (Ctrl-C, Ctrl-\\, a kill): the terminal
 * gets its echo back before the signal does what it does. */
static void
cli_passwd_signal(int sig)
{
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_passwd_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads the first line of stdin (without its newline) into out; false when empty or too long.
 * From a terminal it asks for it and does not echo it: the password stayed on the screen (and
 * in the terminal's scrollback). */
static bool
cli_passwd_read(const char *name, char *out, size_t len)
{
    static const int sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP};
    struct termios quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &cli_passwd_tty) == 0;
    if (tty) {
        fprintf(stderr, "password for %s: ", name);
        fflush(stderr);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], cli_passwd_signal);
        quiet = cli_passwd_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_passwd_tty);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
        fprintf(stderr, "\n");
    }
    if (got == NULL)
        return false;
    size_t n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == len - 1)
        return false;
    out[n] = '\0';
    return n > 0;
}

int
cli_passwd(struct cli *c, int argc, char **argv)
{
    static const struct cli_opt_spec spec[] = {{"--role", true}, {"--bcrypt", false}, {NULL, 0}};
    if (cli_parse(c, "passwd", argc, argv, spec) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("passwd needs one user name (the password is read on stdin)");
    const char *role = cli_opt(c, "--role") ? cli_opt(c, "--role") : "admin";
    if (strcmp(role, "admin") && strcmp(role, "read"))
        return cli_usage_error("passwd: --role must be admin or read, not \"%s\"", role);
    const char *name = c->pos[0];
    if (name[0] == '\0' || strlen(name) > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") !=
            strlen(name))
        return cli_usage_error("passwd: a user name is 1 to 64 letters, digits or ._-@");
    /* The producer refuses this entry at start (the API token's login has the name). */
    if (strcmp(name, "api-token") == 0)
        return cli_usage_error("passwd: \"api-token\" is the name of the API token's login: "
                               "choose another name");
    char pass[1024];
    if (!cli_passwd_read(name, pass, sizeof(pass)))
        return cli_usage_error("passwd: give the password as the first line of stdin "
                               "(1 to 1022 bytes)");
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *prefix = cli_opt(c, "--bcrypt") ? "$2b$" : "$y$";
    struct crypt_data *cd = xcalloc(1, sizeof(*cd));
    /* yescrypt's default cost is libcrypt's (the one passwd(1) uses); bcrypt's default of 5 is
     * too cheap today, so it gets 2^10 rounds (about 60 ms). */
    unsigned long cost = prefix[1] == '2' ? 10 : 0;
    const char *h = crypt_gensalt_rn(prefix, cost, NULL, 0, salt, (int)sizeof(salt))
                        ? crypt_r(pass, salt, cd)
                        : NULL;
    memset(pass, 0, sizeof(pass));
    int rc = CLI_OK;
    if (h == NULL || h[0] != '$')
        rc = cli_runtime_error("passwd: libcrypt cannot hash with %s", prefix);
    else
        printf("%s:%s:%s\n", name, role, h);
    free(cd);
    return rc;
}
