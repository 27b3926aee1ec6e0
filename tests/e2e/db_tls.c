/* End-to-end tests of TLS to MariaDB ([mysql] tls, common/db_tls.c) against the shared test
 * server, which tests/servers starts with the certificates under $JOBFLEET_TEST_SERVERS_DIR/tls
 * (ca.pem signed server.pem and client.pem; other-ca.pem signed neither). */
#include "db.h"
#include "tfake.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The file name in the servers' certificate directory. */
static char *
tls_file(const char *name)
{
    const char *dir = getenv("JOBFLEET_TEST_SERVERS_DIR");
    CHECK(dir && *dir, "JOBFLEET_TEST_SERVERS_DIR is not set (tests/run sets it)");
    return xasprintf("%s/tls/%s", dir, name);
}

/* Runs sql as MariaDB's root, over the servers' socket (the fleet's user cannot grant). */
static void
root_sql(struct tenv *t, const char *sql)
{
    const char *sock = getenv("JOBFLEET_TEST_MYSQL_SOCKET");
    CHECK(sock && *sock, "JOBFLEET_TEST_MYSQL_SOCKET is not set (tests/run sets it)");
    char *path = xasprintf("%s/root.sql", t->dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fputs(sql, fp) >= 0 && fclose(fp) == 0, "write %s", path);
    char *err = NULL;
    int rc = t_sh(t, &err, "mariadb --no-defaults -S '%s' -uroot < '%s'", sock, path);
    CHECK(rc == 0, "root SQL failed (%d): %s\n%s", rc, err, sql);
    free(err);
    free(path);
}

/* Two accounts on the test's database: <db>_s may log in only over TLS, <db>_x only with the
 * client certificate of the servers' CA. Dropped by drop_users. */
static void
make_users(struct tenv *t)
{
    const char *d = t->db_name;
    char *sql = xasprintf(
        "DROP USER IF EXISTS '%s_s'@'127.0.0.1', '%s_x'@'127.0.0.1';" /* a failed run's */
        "CREATE USER '%s_s'@'127.0.0.1' IDENTIFIED BY 'secret' REQUIRE SSL;"
        "GRANT ALL ON `%s`.* TO '%s_s'@'127.0.0.1';"
        "CREATE USER '%s_x'@'127.0.0.1' IDENTIFIED BY 'secret' REQUIRE SUBJECT '/CN=jf' AND "
        "ISSUER '/CN=jobfleet test ca';"
        "GRANT ALL ON `%s`.* TO '%s_x'@'127.0.0.1';",
        d, d, d, d, d, d, d, d);
    root_sql(t, sql);
    free(sql);
}

static void
drop_users(struct tenv *t)
{
    char *sql = xasprintf("DROP USER IF EXISTS '%s_s'@'127.0.0.1', '%s_x'@'127.0.0.1';", t->db_name,
                          t->db_name);
    root_sql(t, sql);
    free(sql);
}

/* Every connection of the fleet goes over TLS when [mysql] tls says so: an account that
 * REQUIRE SSL is refused without it and served with it, by the CLI and by a worker's claims and
 * check-outs; the session says which TLS; a client certificate is sent when one is set. */
static void
test_tls_encrypts(struct tenv *t)
{
    make_users(t);
    char *ca = tls_file("ca.pem"), *cert = tls_file("client.pem"), *key = tls_file("client.key");
    char *err = NULL;
    const char *cli = t_bin("jobfleet");
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_USER=%s_s %s stats", t->db_name, cli) == 1 &&
              strstr(err, "Access denied"),
          "the account that requires TLS took a session in clear: %s", err);
    free(err);
    CHECK(t_sh(t, &err,
               "JOBFLEET_MYSQL_USER=%s_s JOBFLEET_MYSQL_TLS=verify JOBFLEET_MYSQL_TLS_CA_FILE=%s "
               "%s stats",
               t->db_name, ca, cli) == 0,
          "tls = verify with the servers' CA: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_USER=%s_s JOBFLEET_MYSQL_TLS=required %s stats", t->db_name,
               cli) == 0,
          "tls = required: %s", err);
    free(err);
    CHECK(t_sh(t, &err,
               "JOBFLEET_MYSQL_USER=%s_x JOBFLEET_MYSQL_TLS=verify JOBFLEET_MYSQL_TLS_CA_FILE=%s "
               "%s stats",
               t->db_name, ca, cli) == 1 &&
              strstr(err, "Access denied"),
          "the account that requires a client certificate took a session without one: %s", err);
    free(err);
    CHECK(t_sh(t, &err,
               "JOBFLEET_MYSQL_USER=%s_x JOBFLEET_MYSQL_TLS=verify JOBFLEET_MYSQL_TLS_CA_FILE=%s "
               "JOBFLEET_MYSQL_TLS_CERT_FILE=%s JOBFLEET_MYSQL_TLS_KEY_FILE=%s %s stats",
               t->db_name, ca, cert, key, cli) == 0,
          "the client certificate was not sent: %s", err);
    free(err);

    struct cfg_mysql m = t->cfg.mysql;
    char verify[] = "verify";
    m.tls = verify;
    m.tls_ca_file = ca;
    struct db *db = db_new(&m);
    CHECK(db_connect(db) == 0, "connect with tls = verify: %s", db_errstr(db));
    struct db_rows *r = db_query(db, "SHOW SESSION STATUS LIKE 'Ssl_version'", NULL, 0);
    const char *v = r ? db_rows_get(r, 0, 1) : NULL;
    CHECK(v && strncmp(v, "TLSv1.", 6) == 0 && strcmp(v, "TLSv1.1") != 0,
          "the session's Ssl_version is \"%s\"", v ? v : "(none)");
    db_rows_free(r);
    db_free(db);

    /* A worker's every connection: the account admits none in clear. */
    char *user = xasprintf("%s_s", t->db_name);
    setenv("JOBFLEET_MYSQL_USER", user, 1);
    setenv("JOBFLEET_MYSQL_TLS", "verify", 1);
    setenv("JOBFLEET_MYSQL_TLS_CA_FILE", ca, 1);
    pid_t w = t_start_worker(t, (const char *const[]){"--concurrency", "2", NULL});
    int64_t id = t_enqueue(t, "System/Noop", "{}", NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "succeeded"), 20000, "job %lld did not succeed: %s",
               (long long)id, t_log(t, w));
    /* The log says it once per server, for an operator's look. */
    CHECK(t_log_has(t, w, "MariaDB at 127.0.0.1:") && t_log_has(t, w, "certificate verified") &&
              t_log_count(t, w, "certificate verified") == 1,
          "the worker's log does not say its sessions are verified TLS, once: %s", t_log(t, w));
    t_signal(t, w, SIGTERM);
    t_wait_exit_ok(t, w, 20000, "worker");
    unsetenv("JOBFLEET_MYSQL_USER");
    unsetenv("JOBFLEET_MYSQL_TLS");
    unsetenv("JOBFLEET_MYSQL_TLS_CA_FILE");
    free(user);
    drop_users(t);
    free(ca);
    free(cert);
    free(key);
}

/* tls = verify refuses a server it cannot verify, and says what to check; tls = required and
 * verify refuse a server without TLS before the password leaves. */
static void
test_tls_refuses(struct tenv *t)
{
    char *other = tls_file("other-ca.pem"), *ca = tls_file("ca.pem");
    char *err = NULL;
    const char *cli = t_bin("jobfleet");
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_TLS=verify JOBFLEET_MYSQL_TLS_CA_FILE=%s %s stats", other,
               cli) == 1 &&
              strstr(err, "certificate") && strstr(err, "signed by a CA in tls_ca_file"),
          "a server certificate of another CA: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_TLS=verify %s stats", cli) == 1 &&
              strstr(err, "a CA the system trusts") && strstr(err, "set tls_ca_file"),
          "a private CA without tls_ca_file: %s", err);
    free(err);
    /* The certificate names 127.0.0.1 and localhost; the same server reached by another name
     * (127.1, the same address written short) is not the one it names. */
    CHECK(t_sh(t, &err,
               "JOBFLEET_MYSQL_HOST=127.1 JOBFLEET_MYSQL_TLS=verify "
               "JOBFLEET_MYSQL_TLS_CA_FILE=%s %s stats",
               ca, cli) == 1 &&
              strstr(err, "Validation of SSL server certificate failed"),
          "a certificate for another name: %s", err);
    free(err);

    /* A socket is the server's own: tls does not apply there (a certificate no CA of the
     * settings signed does not matter), as the key's help says. */
    CHECK(t_sh(t, &err,
               "JOBFLEET_MYSQL_HOST=localhost MYSQL_UNIX_PORT=%s JOBFLEET_MYSQL_USER=root "
               "JOBFLEET_MYSQL_PASSWORD= JOBFLEET_MYSQL_TLS=verify "
               "JOBFLEET_MYSQL_TLS_CA_FILE=%s %s stats",
               getenv("JOBFLEET_TEST_MYSQL_SOCKET"), other, cli) == 0,
          "tls = verify over the local socket: %s", err);
    free(err);

    /* A MariaDB without TLS: libmariadb gave it the session with tls = required. */
    struct tsrv srv;
    setenv("JOBFLEET_MYSQL_EXTRA_ARGS", "--skip-ssl", 1);
    tsrv_start(t, &srv);
    unsetenv("JOBFLEET_MYSQL_EXTRA_ARGS");
    CHECK(t_sh(t, &err, "%s stats", cli) == 0, "the private server in clear: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_TLS=required %s stats", cli) == 1 &&
              strstr(err, "the session is not encrypted (tls = required: the server must offer "
                          "TLS)"),
          "tls = required against a server without TLS: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_TLS=verify JOBFLEET_MYSQL_TLS_CA_FILE=%s %s stats", ca,
               cli) == 1 &&
              strstr(err, "the server must offer TLS"),
          "tls = verify against a server without TLS: %s", err);
    free(err);
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
    free(other);
    free(ca);
}

/* Runs `jobfleet stats` with the password Tls-Pass-77 against a fresh fake MariaDB
 * (tests/fakes/mysql_clear_switch.py with args), once per tls mode of modes, each run's stderr
 * checked for want (when not NULL) and lacking not_want (when not NULL). Returns the fake's
 * lines, one per login: the hex of what each client sent after the plugin switch. */
static char *
fake_logins(struct tenv *t, const char *const *args, const char *const *modes, int n,
            const char *want, const char *not_want)
{
    static int seq;
    char *seen = xasprintf("%s/fake-%d.hex", t->dir, ++seq);
    const char *argv[8] = {"--out", seen};
    for (int i = 0; args[i] && i < 6; i++)
        argv[i + 2] = args[i];
    struct tfake fake;
    tfake_start(t, &fake, "mysql_clear_switch.py", argv);
    for (int i = 0; i < n; i++) {
        char *err = NULL;
        t_sh(t, &err,
             "JOBFLEET_MYSQL_PASSWORD=Tls-Pass-77 JOBFLEET_MYSQL_PORT=%d JOBFLEET_MYSQL_TLS=%s "
             "%s stats",
             fake.port, modes[i], t_bin("jobfleet"));
        CHECK(err && (!want || strstr(err, want)) && (!not_want || !strstr(err, not_want)),
              "%s %s with tls = %s: %s", args[0] ? args[0] : "", args[1] ? args[1] : "", modes[i],
              err);
        free(err);
    }
    /* The fake writes a login's line after the client has gone: wait for all of them. */
    char *hex = NULL;
    WAIT_UNTIL((free(hex), hex = t_read_file(seen)) && t_count(hex, "\n") == n, 10000,
               "the fake logged %d logins of %d", hex ? t_count(hex, "\n") : 0, n);
    tfake_stop(&fake);
    free(seen);
    return hex;
}

/* The login plugins taken over TCP: none that lets an unverified server read the password. */
static void
test_tls_login_plugins(struct tenv *t)
{
    const char *pw = "546c732d506173732d3737"; /* Tls-Pass-77 */
    /* mysql_clear_password sends it as it is; verify lifts the restriction, but a server
     * without TLS is refused before the login. */
    char *hex = fake_logins(t, (const char *const[]){NULL},
                            (const char *const[]){"required", "verify"}, 2, NULL, NULL);
    CHECK(!strstr(hex, pw), "the password went to a server without TLS: %s", hex);
    free(hex);
    /* The SHA-2 plugins send it as it is over an unverified TLS line, and as libmariadb
     * believes one is there once TLS is asked for (caching_sha2_password's full authentication,
     * caught here); else encrypted to a key the server sends. Only the refusal's words guard
     * sha256_password here: without TLS it asks this fake for a key it does not get. */
    const char *sha2[] = {"caching_sha2_password", "sha256_password"};
    for (int p = 0; p < 2; p++) {
        hex = fake_logins(t, (const char *const[]){"--plugin", sha2[p], NULL},
                          (const char *const[]){"required", "off"}, 2,
                          "take only mysql_native_password and client_ed25519 logins unless tls "
                          "= verify",
                          NULL);
        CHECK(!strstr(hex, pw), "the password went as it is to a server that asked for %s: %s",
              sha2[p], hex);
        free(hex);
    }
    /* MySQL 8 names caching_sha2_password in its greeting whatever the account's plugin:
     * refused before the client sends anything, with words that say what to do. (A native
     * answer to that greeting goes without the password, the last review read off MySQL's
     * source: an account on mysql_native_password there needs tls = verify too.) */
    hex = fake_logins(t, (const char *const[]){"--greet", "caching_sha2_password", NULL},
                      (const char *const[]){"off", "required"}, 2,
                      "take only mysql_native_password and client_ed25519 logins unless tls "
                      "= verify",
                      NULL);
    CHECK(strcmp(hex, "\n\n") == 0, "the client answered a MySQL 8 greeting: %s", hex);
    free(hex);
}

static const struct test_case cases[] = {
    {"e2e_db_tls_encrypts", test_tls_encrypts, NULL},
    {"e2e_db_tls_refuses_unverified", test_tls_refuses, NULL},
    {"e2e_db_tls_login_plugins", test_tls_login_plugins, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
