/* End-to-end tests of the producer's optional HTTPS: with [producer] tls_cert_file and
 * tls_key_file it serves HTTPS with that certificate (verified against a test CA made by
 * openssl, tests/support/ttls.c) and no plain HTTP; a missing, unreadable, loose or non-PEM
 * file, or a key that does not match, stops it at start with a message naming what is wrong. */
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "ttls.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* "https://127.0.0.1:<port><path>" for the producer of this test. */
static char *
https_url(struct tenv *t, const char *path)
{
    const char *http = tprod_url(t, path);
    return xasprintf("https://%s", http + strlen("http://"));
}

static void
tls_config(struct tenv *t)
{
    ttls_make(t->dir);
    char *key = xasprintf("%s/server.key", t->dir);
    CHECK(chmod(key, 0600) == 0, "chmod %s", key);
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp, "[producer]\ntls_cert_file = %s/server.pem\ntls_key_file = %s\n", t->dir, key);
    fclose(fp);
    free(key);
}

static void
test_serves_https(struct tenv *t)
{
    tls_config(t);
    char *ca = xasprintf("%s/ca.pem", t->dir);
    t_http_ca_file = ca;
    t_spawn(t, t_bin("jobfleet-producer"), NULL);
    char *health = https_url(t, "/health");
    struct t_http_resp r;
    WAIT_UNTIL(t_http("GET", health, NULL, 0, NULL, &r) == 0 || (t_http_release(&r), 0), 10000,
               "no HTTPS answer on %s", health);
    CHECK(r.status == 200, "GET /health over HTTPS: %ld %s", r.status, r.body);
    t_http_release(&r);
    /* A webhook over HTTPS makes its job. */
    char *hook = https_url(t, "/webhook/system/echo");
    CHECK(t_http("POST", hook, "{\"n\":1}", 7, NULL, &r) == 0 && r.status == 202,
          "webhook over HTTPS: %ld %s %s", r.status, r.body, r.err);
    t_http_release(&r);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 1, "the webhook's job");
    /* The certificate is the one configured: a client that trusts only the system's CAs
     * refuses it. */
    t_http_ca_file = NULL;
    CHECK(t_http("GET", health, NULL, 0, NULL, &r) < 0 && r.status == 0,
          "a client without the test CA accepted the certificate: %ld", r.status);
    t_http_release(&r);
    /* No plain HTTP on the TLS port: no HTTP answer at all, so nothing is sent in clear. */
    CHECK(t_http("GET", tprod_url(t, "/health"), NULL, 0, NULL, &r) < 0 && r.status == 0,
          "plain HTTP answered: %ld %s", r.status, r.body);
    t_http_release(&r);
    t_http_ca_file = ca;
    CHECK(t_http("GET", health, NULL, 0, NULL, &r) == 0 && r.status == 200,
          "HTTPS still serves after a plain request: %ld %s", r.status, r.err);
    t_http_release(&r);
    t_http_ca_file = NULL;
    /* TLS 1.2 is served, and the deprecated 1.1 is not, even to a client that offers it with
     * every cipher it has. */
    const char *hostport = tprod_url(t, "") + strlen("http://");
    static const char *const versions[] = {"-tls1_2", "-tls1_1"};
    for (int i = 0; i < 2; i++) {
        char *cmd = xasprintf("openssl s_client -connect %s %s -cipher 'DEFAULT:@SECLEVEL=0' "
                              "</dev/null >%s/s_client.log 2>&1",
                              hostport, versions[i], t->dir);
        int st = system(cmd);
        CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0) == (i == 0),
              "openssl s_client %s: exit %d (see %s/s_client.log)", versions[i],
              WIFEXITED(st) ? WEXITSTATUS(st) : -1, t->dir);
        free(cmd);
    }
    free(hook);
    free(health);
    free(ca);
}

/* Starts the producer with cert and key (NULL: unset) in the environment; it must exit non-zero
 * with want in its log. */
static void
refused(struct tenv *t, const char *cert, const char *key, const char *want)
{
    if (cert)
        setenv("JOBFLEET_PRODUCER_TLS_CERT_FILE", cert, 1);
    else
        unsetenv("JOBFLEET_PRODUCER_TLS_CERT_FILE");
    if (key)
        setenv("JOBFLEET_PRODUCER_TLS_KEY_FILE", key, 1);
    else
        unsetenv("JOBFLEET_PRODUCER_TLS_KEY_FILE");
    pid_t p = t_spawn(t, t_bin("jobfleet-producer"), NULL);
    char *log_path = xstrdup(t->procs[t->n_procs - 1].log_path); /* a reaped pid has no log */
    int st = t_wait_exit(t, p, 20000);
    char *log = t_read_file(log_path);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0,
          "the producer started with cert %s, key %s: %d %s", cert ? cert : "-", key ? key : "-",
          st, log ? log : "");
    CHECK(log && strstr(log, want), "want \"%s\" in: %s", want, log ? log : "(no log)");
    free(log);
    free(log_path);
}

static void
test_bad_files(struct tenv *t)
{
    ttls_make(t->dir);
    char *cert = xasprintf("%s/server.pem", t->dir), *key = xasprintf("%s/server.key", t->dir);
    char *ca_key = xasprintf("%s/ca.key", t->dir), *missing = xasprintf("%s/nope.pem", t->dir);
    char *log = xasprintf("%s/openssl.log", t->dir);
    CHECK(chmod(key, 0600) == 0 && chmod(ca_key, 0600) == 0, "chmod");
    char *want = xasprintf("tls_cert_file: %s: No such file or directory", missing);
    refused(t, missing, key, want);
    free(want);
    want = xasprintf("tls_key_file: %s: No such file or directory", missing);
    refused(t, cert, missing, want);
    free(want);
    refused(t, cert, NULL, "tls_cert_file and tls_key_file go together");
    want = xasprintf("tls_cert_file: %s is not a PEM file", log);
    refused(t, log, key, want);
    free(want);
    CHECK(chmod(key, 0644) == 0, "chmod");
    want = xasprintf("tls_key_file: %s is readable by group or others (mode 644)", key);
    refused(t, cert, key, want);
    free(want);
    /* A key of another certificate (the CA's): the pair does not match. */
    refused(t, cert, ca_key, "certificate and key do not match");
    /* An expired certificate: every client's handshake would fail, and the producer served it
     * without a word. */
    CHECK(chmod(key, 0600) == 0, "chmod");
    ttls_make_expired(t->dir);
    char *expired = xasprintf("%s/expired.pem", t->dir);
    want = xasprintf("tls_cert_file: %s expired on ", expired);
    refused(t, expired, key, want);
    free(want);
    free(expired);
    unsetenv("JOBFLEET_PRODUCER_TLS_CERT_FILE");
    unsetenv("JOBFLEET_PRODUCER_TLS_KEY_FILE");
    free(cert);
    free(key);
    free(ca_key);
    free(missing);
    free(log);
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_producer_tls_serves_https", test_serves_https, "[webhook.system]\nauth = none\n"},
        {"e2e_producer_tls_bad_files", test_bad_files, NULL},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
