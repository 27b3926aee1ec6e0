/* This file turns a MariaDB connection's TLS settings into libmariadb's options, and a failed
 * TLS connect into words an operator can act on. */
#include "db_tls.h"
#include "util.h"

#include <errmsg.h>
#include <stdlib.h>
#include <string.h>

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
     * the password: mysql_clear_password and PAM's dialog send it as it is; caching_sha2_password
     * and sha256_password send it as it is once TLS is asked for (libmariadb goes by the option,
     * not by the line), else encrypted to a key the server sends. The two left send a
     * scramble. */
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
