/* Unit tests of the configuration: the documented example matches the key table, loads
 * cleanly, and bad input is named precisely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "util.h"

static char *
slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    struct buf b;
    buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    return buf_detach(&b);
}

static void
test_example_is_generated(void **state)
{
    (void)state;
    /* The committed example must be exactly what the table prints: regenerate it with
     * `jobfleet config-example > deploy/jobfleet.conf.example` after adding a key. */
    char tmpl[] = "/tmp/cfg-example-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    cfg_print_example();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    char *printed = slurp(tmpl);
    char *committed = slurp(JOBFLEET_SOURCE_DIR "/deploy/jobfleet.conf.example");
    assert_string_equal(printed, committed);
    free(printed);
    free(committed);
    unlink(tmpl);
}

static void
test_example_loads(void **state)
{
    (void)state;
    struct cfg c;
    char err[512] = "";
    int rc = cfg_load(&c, JOBFLEET_SOURCE_DIR "/deploy/jobfleet.conf.example", err, sizeof(err));
    if (rc != 0)
        fail_msg("example does not load: %s", err);
    assert_int_equal(c.worker.concurrency, 16);
    assert_string_equal(c.scheduler.timezone, "America/Chicago");
    assert_int_equal(c.worker.lease_s, 30);
    assert_int_equal(c.producer.max_connections_per_ip, 64);
    assert_int_equal(c.producer.body_grace_s, 5);
    assert_int_equal(c.producer.body_min_bytes_per_s, 1024);
    cfg_release(&c);
}

static char *
write_tmp(const char *text)
{
    char *path = xstrdup("/tmp/cfg-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void
expect_error(const char *text, const char *needle)
{
    char *path = write_tmp(text);
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), -1);
    if (strstr(err, needle) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
    assert_non_null(strstr(err, path));
    unlink(path);
    free(path);
}

static void
test_errors_name_the_problem(void **state)
{
    (void)state;
    expect_error("[redis]\nport = 99999\n",
                 ":2: [redis] port: expected an integer in 1-65535, got \"99999\"");
    expect_error("[worker]\n\nheartbeat = 5\n", ":3: [worker] heartbeat: unknown key");
    expect_error("[webhook.github]\nauth = none\npath = x\n",
                 "[webhook.github] path: unknown key for a webhook section");
    expect_error("[mysql]\nport\n", "cannot parse this line");
    /* A line libinih cannot read whole is named with its length, not as unparseable. */
    char long_line[512];
    snprintf(long_line, sizeof(long_line), "[mysql]\npassword = %0*d\nport = 3306\n", 250, 0);
    expect_error(long_line, ":2: this line is 261 characters long");
    expect_error("[dispatch]\nevery_min = 45\n", "[dispatch] every_min (45) must divide 60");
    /* Two ticks a minute at least: a tick every 60 s could fall at :59.9 and then :00.1 a
     * minute later, and an every-minute schedule would skip the fire between. */
    expect_error("[scheduler]\ntick_ms = 45000\n",
                 "[scheduler] tick_ms: expected an integer in 10-30000, got \"45000\"");
    /* A grace of 0 would cut every body before its first byte could arrive. */
    expect_error("[producer]\nbody_grace_s = 0\n",
                 "[producer] body_grace_s: expected an integer in 1-3600, got \"0\"");
    expect_error("[producer]\nbody_min_bytes_per_s = -1\n",
                 "[producer] body_min_bytes_per_s: expected an integer in 0-1073741824");
}

/* Secrets open to group or others are refused with the fix in the message: a *_file, and a
 * config file that holds a secret itself; a config without secrets may be read by anyone. */
static void
test_secret_permissions(void **state)
{
    (void)state;
    char *secret = write_tmp("0123456789abcdef\n");
    char *text = xasprintf("[mysql]\npassword_file = %s\n", secret);
    char *path = write_tmp(text);
    struct cfg c;
    char err[512] = "";
    chmod(secret, 0640);
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "is open to group or others (mode 640); chmod 600 it"));
    chmod(secret, 0600);
    chmod(path, 0644);
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    cfg_release(&c);
    char *inline_pw = write_tmp("[mysql]\nport = 3306\n[webhook.x]\nauth = token\ntoken = abc\n");
    chmod(inline_pw, 0644);
    assert_int_equal(cfg_load(&c, inline_pw, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "holds [webhook.x] token and is open to group or others"));
    chmod(inline_pw, 0600);
    assert_int_equal(cfg_load(&c, inline_pw, err, sizeof(err)), 0);
    cfg_release(&c);
    unlink(secret);
    unlink(path);
    unlink(inline_pw);
    free(secret);
    free(text);
    free(path);
    free(inline_pw);
}

static void
test_env_and_secret_files(void **state)
{
    (void)state;
    char *secret = write_tmp("s3cret\n");
    char *text = xasprintf("[mysql]\npassword_file = %s\n[webhook.x]\nauth = hmac-sha256\n"
                           "secret_file = %s\n",
                           secret, secret);
    char *path = write_tmp(text);
    setenv("JOBFLEET_MYSQL_PORT", "3307", 1);
    setenv("JOBFLEET_WEBHOOK_X_AUTH", "token", 1);
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.mysql.port, 3307);
    assert_string_equal(c.mysql.password, "s3cret");
    const struct cfg_section *s = cfg_find_section(&c, "webhook.x");
    assert_non_null(s);
    assert_string_equal(cfg_section_get(s, "secret"), "s3cret");
    assert_string_equal(cfg_section_get(s, "auth"), "token");
    cfg_release(&c);
    unsetenv("JOBFLEET_MYSQL_PORT");
    unsetenv("JOBFLEET_WEBHOOK_X_AUTH");
    unlink(path);
    unlink(secret);
    free(path);
    free(secret);
    free(text);
}

/* The environment replaces a value: JOBFLEET_DASHBOARD_USERS was added to the file's users (a
 * leaked admin "revoked" that way could still log in), and a named section's plain secret
 * lost to the file's *_file path, read afterwards. */
static void
test_env_replaces(void **state)
{
    (void)state;
    char *secret = write_tmp("from-file\n");
    char *text = xasprintf("[dashboard]\nusers = leaked:admin:$6$a$x\n"
                           "[webhook.x]\nauth = hmac-sha256\nsecret_file = %s\n",
                           secret);
    char *path = write_tmp(text);
    setenv("JOBFLEET_DASHBOARD_USERS", "fresh:admin:$6$b$y", 1);
    setenv("JOBFLEET_WEBHOOK_X_SECRET", "from-env-0123456789", 1);
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.dashboard.users, "fresh:admin:$6$b$y");
    assert_string_equal(cfg_section_get(cfg_find_section(&c, "webhook.x"), "secret"),
                        "from-env-0123456789");
    cfg_release(&c);
    unsetenv("JOBFLEET_DASHBOARD_USERS");
    unsetenv("JOBFLEET_WEBHOOK_X_SECRET");
    unlink(path);
    unlink(secret);
    free(path);
    free(secret);
    free(text);
}

/* Dashboard users written on indented continuation lines are all kept, not only the last. */
static void
test_users_on_continuation_lines(void **state)
{
    (void)state;
    char *path = write_tmp("[dashboard]\nusers = alice:admin:$6$a$x\n"
                           "    bob:read:$6$b$y\n    carol:read:$6$c$z\n[log]\nlevel = warn\n");
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.dashboard.users,
                        "alice:admin:$6$a$x\nbob:read:$6$b$y\ncarol:read:$6$c$z");
    cfg_release(&c);
    unlink(path);
    free(path);
}

/* A [db.<name>] section takes [mysql]'s settings and overrides the keys it names, timeouts
 * and *_file secrets included. */
static void
test_db_section(void **state)
{
    (void)state;
    char *secret = write_tmp("tickets-pw\n");
    char *text = xasprintf("[mysql]\nhost = db1\nport = 3307\nuser = jf\n"
                           "[db.tickets]\ndatabase = tickets\npassword_file = %s\n"
                           "connect_timeout_s = 2\nread_timeout_s = 7\n",
                           secret);
    char *path = write_tmp(text);
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    struct cfg_mysql m;
    assert_int_equal(cfg_db_section(&c, "tickets", &m), 0);
    assert_string_equal(m.host, "db1");
    assert_int_equal(m.port, 3307);
    assert_string_equal(m.user, "jf");
    assert_string_equal(m.database, "tickets");
    assert_string_equal(m.password, "tickets-pw");
    assert_int_equal(m.connect_timeout_s, 2);
    assert_int_equal(m.read_timeout_s, 7);
    assert_int_equal(cfg_db_section(&c, "nope", &m), -1);
    cfg_release(&c);
    /* A section that names its own host does not take [mysql]'s socket, which wins over any
     * host: it reached the fleet's server. One that names no server takes the socket too. */
    free(text);
    text = xstrdup("[mysql]\nsocket = /run/mysqld/mysqld.sock\n[db.desk]\nhost = desk-db\n"
                   "database = desk\n[db.tickets]\ndatabase = tickets\n");
    unlink(path);
    free(path);
    path = write_tmp(text);
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(cfg_db_section(&c, "desk", &m), 0);
    assert_string_equal(m.host, "desk-db");
    assert_string_equal(m.socket, "");
    assert_int_equal(cfg_db_section(&c, "tickets", &m), 0);
    assert_string_equal(m.socket, "/run/mysqld/mysqld.sock");
    cfg_release(&c);
    /* [mysql]'s password goes to [mysql]'s server and account only: a section naming another
     * server or user without a password of its own sent it there (the secrets review read it
     * off a fake server). */
    free(text);
    text = xstrdup("[mysql]\nuser = jf\npassword = fleet-pw\n[db.legacy]\nhost = legacy-db\n"
                   "[db.other]\nuser = reader\n[db.same]\ndatabase = same\n[db.own]\nhost = x\n"
                   "password = own-pw\n");
    unlink(path);
    free(path);
    path = write_tmp(text);
    assert_int_equal(cfg_load(&c, path, err, sizeof(err)), 0);
    assert_int_equal(cfg_db_section(&c, "legacy", &m), 0);
    assert_string_equal(m.password, "");
    assert_string_equal(m.user, "jf");
    assert_int_equal(cfg_db_section(&c, "other", &m), 0);
    assert_string_equal(m.password, "");
    assert_int_equal(cfg_db_section(&c, "same", &m), 0);
    assert_string_equal(m.password, "fleet-pw");
    assert_int_equal(cfg_db_section(&c, "own", &m), 0);
    assert_string_equal(m.password, "own-pw");
    cfg_release(&c);
    unlink(path);
    unlink(secret);
    free(path);
    free(secret);
    free(text);
}

/* Loads text as a config file: the load's result, its message in err. */
static int
load_text(const char *text, struct cfg *c, char *err, size_t errlen)
{
    char *path = write_tmp(text);
    int rc = cfg_load(c, path, err, errlen);
    unlink(path);
    free(path);
    return rc;
}

/* A self-signed certificate and its key (mode 0600) made by openssl(1) under dir as
 * <name>.pem and <name>.key. */
static void
make_cert(const char *dir, const char *name)
{
    char *cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                          "-days 1 -subj /CN=%s -keyout %s/%s.key -out %s/%s.pem 2>/dev/null",
                          name, dir, name, dir, name);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* TLS to MariaDB: a mode it knows, files it can read and would use, the key the certificate's;
 * [db.<name>] takes [mysql]'s unless it sets tls itself. */
static void
test_mysql_tls(void **state)
{
    (void)state;
    char dir[] = "/tmp/cfg-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    make_cert(dir, "a");
    make_cert(dir, "b");
    char *pem = xasprintf("%s/a.pem", dir), *key = xasprintf("%s/a.key", dir);
    char *other_key = xasprintf("%s/b.key", dir), *open_key = xasprintf("%s/open.key", dir);
    char *text_file = write_tmp("not a certificate\n");
    /* A key others can read; an encrypted one; a CA bundle whose second certificate is
     * corrupt (libmariadb refuses the whole file at every connect); a good bundle of two, and
     * a certificate in OpenSSL's TRUSTED CERTIFICATE form (both taken by libmariadb). */
    char *cmd = xasprintf(
        "cd %s && cp a.key open.key && chmod 644 open.key && openssl pkey -in a.key -aes256 "
        "-passout pass:x -out enc.key && chmod 600 enc.key && (cat a.pem; sed '3s/./#/' b.pem) > "
        "bad-bundle.pem && cat a.pem b.pem > bundle.pem && openssl x509 -in a.pem -trustout -out "
        "trusted.pem && touch index.txt && echo 01 > crlnumber && printf '[ca]\\ndefault_ca = "
        "d\\n[d]\\n"
        "database = index.txt\\ncrlnumber = crlnumber\\ndefault_md = sha256\\ndefault_crl_days = "
        "1\\n' > ca.cnf && openssl ca -gencrl -keyfile a.key -cert a.pem -config ca.cnf -out "
        "crl.pem 2>/dev/null",
        dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    char *enc_key = xasprintf("%s/enc.key", dir), *bad_bundle = xasprintf("%s/bad-bundle.pem", dir);
    char *bundle = xasprintf("%s/bundle.pem", dir), *trusted = xasprintf("%s/trusted.pem", dir);
    char *crl = xasprintf("%s/crl.pem", dir);
    struct cfg c;
    char err[512] = "";
    struct {
        const char *conf, *ca, *cert, *key, *msg; /* ca, cert, key: the files set, or NULL */
    } bad[] = {
        {"[mysql]\ntls = yes\n", NULL, NULL, NULL,
         "[mysql] tls: expected off, required or verify, got \"yes\""},
        {"[mysql]\n", pem, NULL, NULL, "[mysql] tls_ca_file is set, but tls is off"},
        {"[mysql]\ntls = required\n", pem, NULL, NULL,
         "tls = required does not check the server's certificate"},
        {"[mysql]\ntls = verify\n", "/nonexistent/ca.pem", NULL, NULL,
         "cannot read \"/nonexistent/ca.pem\": No such file"},
        {"[mysql]\ntls = verify\n", "/tmp", NULL, NULL, "\"/tmp\": not a regular file"},
        {"[mysql]\ntls = verify\n", text_file, NULL, NULL, "holds no PEM certificate"},
        {"[mysql]\ntls = verify\n", NULL, pem, NULL,
         "[mysql] tls_cert_file and tls_key_file go together"},
        {"[mysql]\ntls = verify\n", NULL, pem, open_key, "[mysql] tls_key_file: \"/tmp/cfg-tls-"},
        {"[mysql]\ntls = verify\n", NULL, pem, text_file, "holds no PEM private key"},
        {"[mysql]\ntls = verify\n", NULL, pem, other_key, "is not the key of tls_cert_file"},
        {"[mysql]\ntls = verify\n", NULL, pem, enc_key,
         "holds no PEM private key without a passphrase"},
        {"[mysql]\ntls = verify\n", bad_bundle, NULL, NULL,
         "holds no PEM certificates OpenSSL can read"},
        {"[mysql]\ntls = verify\n", crl, NULL, NULL,
         "holds no PEM certificates OpenSSL can read (no certificate)"},
        {"[db.desk]\ntls = on\n", NULL, NULL, NULL,
         "[db.desk] tls: expected off, required or verify"},
        {"[db.desk]\ntls = required\n", pem, NULL, NULL, "[db.desk] tls_ca_file is set, but"},
    };
    chmod(text_file, 0600);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf b;
        buf_init(&b, 0);
        buf_appends(&b, bad[i].conf);
        const char *keys[] = {"tls_ca_file", "tls_cert_file", "tls_key_file"};
        const char *files[] = {bad[i].ca, bad[i].cert, bad[i].key};
        for (int k = 0; k < 3; k++)
            if (files[k])
                buf_printf(&b, "%s = %s\n", keys[k], files[k]);
        assert_int_equal(load_text(b.data, &c, err, sizeof(err)), -1);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("%s: got \"%s\", expected \"%s\"", b.data, err, bad[i].msg);
        buf_release(&b);
    }
    assert_non_null(strstr(err, "[db.desk]"));
    char *text = xasprintf("[mysql]\ntls = verify\ntls_ca_file = %s\ntls_cert_file = %s\n"
                           "tls_key_file = %s\n[db.desk]\nhost = desk-db\n[db.plain]\n"
                           "tls = required\n[db.trusted]\ntls = verify\ntls_ca_file = %s\n"
                           "tls_cert_file = %s\ntls_key_file = %s\n",
                           bundle, pem, key, trusted, trusted, key);
    if (load_text(text, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    struct cfg_mysql m;
    assert_int_equal(cfg_db_section(&c, "desk", &m), 0);
    assert_string_equal(m.tls, "verify");
    assert_string_equal(m.tls_ca_file, bundle);
    assert_string_equal(m.tls_key_file, key);
    assert_int_equal(cfg_db_section(&c, "plain", &m), 0);
    assert_string_equal(m.tls, "required");
    assert_string_equal(m.tls_ca_file, "");
    assert_string_equal(m.tls_cert_file, "");
    cfg_release(&c);
    free(text);
    cmd = xasprintf("rm -rf %s %s", dir, text_file);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(text_file);
    free(pem);
    free(key);
    free(other_key);
    free(open_key);
    free(enc_key);
    free(bad_bundle);
    free(bundle);
    free(trusted);
    free(crl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_is_generated),
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_env_and_secret_files),
        cmocka_unit_test(test_secret_permissions),
        cmocka_unit_test(test_users_on_continuation_lines),
        cmocka_unit_test(test_env_replaces),
        cmocka_unit_test(test_db_section),
        cmocka_unit_test(test_mysql_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
