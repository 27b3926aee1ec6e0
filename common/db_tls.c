/* This file turns a MariaDB connection's TLS settings into libmariadb's options, and a failed
 * TLS connect into words an operator can act on. */
#include "db_tls.h"
#include "log.h"
#include "util.h"

#include <errmsg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The servers db_tls_log_session has named: a process reaches a few ([mysql], [db.<name>]). */
#define TLS_LOGGED_MAX 16
static char *tls_logged[TLS_LOGGED_MAX];
static int tls_n_logged;
static pthread_mutex_t tls_logged_mu = PTHREAD_MUTEX_INITIALIZER;
static bool tls_quiet; /* db_tls_log_quiet */

void
db_tls_copy(struct db_tls *t, const struct cfg_mysql *cfg)
{
    t->mode = xstrdup(cfg->tls && cfg->tls[0] ? cfg->tls : "off");
    t->ca = xstrdup(cfg->tls_ca_file ? cfg->tls_ca_file : "");
    t->cert = xstrdup(cfg->tls_cert_file ? cfg->tls_cert_file : "");
    t->key = xstrdup(cfg->tls_key_file ? cfg->tls_key_file : "");
}

void
db_tls_free(struct db_tls *t)
{
    free(t->mode);
    free(t->ca);
    free(t->cert);
    free(t->key);
    memset(t, 0, sizeof(*t));
}

void
db_tls_options(MYSQL *conn, const struct db_tls *t, bool local)
{
    /* A socket is the server's own, its access the file system's: PAM logins go through it. */
    if (local)
        return;
    my_bool on = 1, verify = strcmp(t->mode, "verify") == 0;
    /* Whoever answers in an unverified server's place may ask for a plugin that lets it read
     * the password: mysql_clear_password and PAM's dialog send it as it is; sha256_password
     * sends it as it is over TLS, and caching_sha2_password once TLS is only asked for
     * (libmariadb goes by the option, not by the line), both else encrypted to a key the
     * server sends. The two left send a scramble. So MySQL 8, whose greeting names
     * caching_sha2_password whatever the account's plugin, is refused before any login unless
     * verified (a native answer to it goes without the password: MySQL fails it as "using
     * password: NO"). */
    if (!verify)
        mysql_optionsv(conn, MARIADB_OPT_RESTRICTED_AUTH, "mysql_native_password,client_ed25519");
    if (strcmp(t->mode, "off") == 0)
        return;
    /* Enforced: without it a server that offers no TLS gets the session in clear. */
    mysql_optionsv(conn, MYSQL_OPT_SSL_ENFORCE, &on);
    mysql_optionsv(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (t->ca[0])
        mysql_optionsv(conn, MYSQL_OPT_SSL_CA, t->ca);
    if (t->cert[0])
        mysql_optionsv(conn, MYSQL_OPT_SSL_CERT, t->cert);
    if (t->key[0])
        mysql_optionsv(conn, MYSQL_OPT_SSL_KEY, t->key);
    /* As the producer's own port: nothing older than TLS 1.2. */
    mysql_optionsv(conn, MARIADB_OPT_TLS_VERSION, "TLSv1.2,TLSv1.3");
}

bool
db_tls_encrypted(MYSQL *conn, const struct db_tls *t, bool local)
{
    return local || strcmp(t->mode, "off") == 0 || mysql_get_ssl_cipher(conn) != NULL;
}

/* True the first time target is seen (and then remembered), while there is room. A lock held
 * across a fork (a child forked while another thread logs) is not waited for: the child then
 * stays quiet rather than hang. */
static bool
tls_first_time(const char *target)
{
    bool first = true;
    if (pthread_mutex_trylock(&tls_logged_mu) != 0)
        return false;
    for (int i = 0; i < tls_n_logged && first; i++)
        first = strcmp(tls_logged[i], target) != 0;
    if (first && tls_n_logged < TLS_LOGGED_MAX)
        tls_logged[tls_n_logged++] = xstrdup(target);
    else
        first = false;
    pthread_mutex_unlock(&tls_logged_mu);
    return first;
}

void
db_tls_log_quiet(void)
{
    tls_quiet = true;
}

void
db_tls_log_session(MYSQL *conn, const struct db_tls *t, const char *host, int port,
                   const char *user, bool local)
{
    bool off = strcmp(t->mode, "off") == 0;
    char target[300], key[900];
    snprintf(target, sizeof(target), local ? "%s" : "%s:%d", host, port);
    /* The same server reached with other settings ([db.<name>]) is said again. */
    snprintf(key, sizeof(key), "%s %s %s %s", target, t->mode, t->ca, user);
    if ((local && off) || !tls_first_time(key))
        return;
    void (*say)(const char *, ...) = tls_quiet ? log_debug : log_info;
    if (local) {
        say("MariaDB at %s: through its socket, where tls = %s does not apply", target, t->mode);
    } else if (off) {
        say("MariaDB at %s as %s: not encrypted (tls = off)", target, user);
    } else {
        const char *version = NULL, *cipher = mysql_get_ssl_cipher(conn);
        mariadb_get_infov(conn, MARIADB_CONNECTION_TLS_VERSION, &version);
        say("MariaDB at %s as %s: %s, %s, %s", target, user, version ? version : "TLS",
            cipher ? cipher : "?",
            strcmp(t->mode, "verify") == 0 ? "certificate verified"
                                           : "certificate not checked (tls = required)");
    }
}

const char *
db_tls_hint(const struct db_tls *t, unsigned e)
{
    if (e == CR_PLUGIN_NOT_ALLOWED)
        return " (over TCP the fleet's connections take only mysql_native_password and "
               "client_ed25519 logins unless tls = verify: the others let an unverified server "
               "read the password)";
    if (strcmp(t->mode, "off") == 0 || e != CR_SSL_CONNECTION_ERROR)
        return "";
    if (strcmp(t->mode, "verify") != 0)
        return " (tls = required: the server must offer TLS)";
    return t->ca[0] ? " (tls = verify: the server must offer TLS, with a certificate signed by a "
                      "CA in tls_ca_file that names the host connected to)"
                    : " (tls = verify: the server must offer TLS, with a certificate signed by a "
                      "CA the system trusts, that names the host connected to; set tls_ca_file "
                      "for a private CA)";
}
