/* The TLS settings of a MariaDB connection ([mysql] tls, tls_ca_file, ...; checked when the
 * configuration loads, by cfg_mysql_tls_check). */
#ifndef JOBFLEET_DB_TLS_H
#define JOBFLEET_DB_TLS_H

#include "cfg.h"

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

struct db_tls {
    char *mode; /* "off", "required" or "verify"; owned, as are the paths ("" for none) */
    char *ca, *cert, *key;
};

/* Copies cfg's TLS settings into t (an absent mode is "off"). */
void db_tls_copy(struct db_tls *t, const struct cfg_mysql *cfg);
/* Frees what db_tls_copy made. */
void db_tls_free(struct db_tls *t);
/* Sets conn's options for t before its connect, local when it goes through a unix socket.
 * Over TCP, with required or verify the connect fails unless the session is encrypted (TLS 1.2
 * or 1.3); with verify also unless the server's certificate chains to t->ca (the system's CAs
 * when empty) and names the host connected to. Unless verify, only the login plugins that send
 * a scramble are taken. A local socket takes no TLS and every plugin. */
void db_tls_options(MYSQL *conn, const struct db_tls *t, bool local);
/* False when t asks for TLS over TCP and the session conn just opened is in clear: libmariadb
 * lets a server that offers no TLS have a session with tls = required (verify refuses it before
 * the login), so it is closed at once. The login went as a scramble (db_tls_options). */
bool db_tls_encrypted(MYSQL *conn, const struct db_tls *t, bool local);
/* Logs (info), the first time the process reaches a server (host or socket, and port) with
 * these settings and user, how its sessions go: TLS version and cipher and whether the
 * certificate was verified, or in clear. An operator's one look that the settings took. */
void db_tls_log_session(MYSQL *conn, const struct db_tls *t, const char *host, int port,
                        const char *user, bool local);
/* From now on db_tls_log_session says it at debug: for a worker's children, each of which
 * would repeat it at every start. */
void db_tls_log_quiet(void);
/* For a connect that failed with error e: what to check, as a sentence to append to the
 * error ("" when e is not a TLS failure or TLS is off). */
const char *db_tls_hint(const struct db_tls *t, unsigned e);

#endif
