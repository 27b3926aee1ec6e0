/* This file makes a test CA and server certificate with the openssl command line. */
#include "ttls.h"
#include "tsupport.h"
#include "util.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>

void
ttls_make(const char *dir)
{
    char *ext = xasprintf("%s/server.ext", dir);
    FILE *fp = fopen(ext, "w");
    CHECK(fp != NULL, "write %s", ext);
    fputs("subjectAltName=DNS:*.attachments.test,DNS:localhost,IP:127.0.0.1\n"
          "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
          fp);
    fclose(fp);
    /* EC keys: a fraction of RSA's generation time on a busy machine. */
    char *cmd = xasprintf(
        "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 2 -subj /CN=jobfleet-test-ca "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
        ">openssl.log 2>&1 && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
        "-out server.csr -subj /CN=attachments.test >>openssl.log 2>&1 && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile server.ext >>openssl.log 2>&1",
        dir);
    CHECK(system(cmd) == 0, "openssl failed (see %s/openssl.log)", dir);
    free(cmd);
    free(ext);
}

/* Reads the PEM object at dir/name with read (PEM_read_X509 or PEM_read_PrivateKey). */
static void *
ttls_read(const char *dir, const char *name,
          void *(*read)(FILE *, void **, pem_password_cb *, void *))
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    void *v = fp ? read(fp, NULL, NULL, NULL) : NULL;
    if (fp)
        fclose(fp);
    CHECK(v != NULL, "read %s", path);
    free(path);
    return v;
}

void
ttls_make_expired(const char *dir)
{
    X509 *x = ttls_read(dir, "server.pem",
                        (void *(*)(FILE *, void **, pem_password_cb *, void *))PEM_read_X509);
    EVP_PKEY *ca = ttls_read(
        dir, "ca.key", (void *(*)(FILE *, void **, pem_password_cb *, void *))PEM_read_PrivateKey);
    CHECK(X509_gmtime_adj(X509_getm_notBefore(x), -2 * 86400) &&
              X509_gmtime_adj(X509_getm_notAfter(x), -86400) && X509_sign(x, ca, EVP_sha256()),
          "re-date the certificate");
    char *path = xasprintf("%s/expired.pem", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp && PEM_write_X509(fp, x) == 1 && fclose(fp) == 0, "write %s", path);
    free(path);
    X509_free(x);
    EVP_PKEY_free(ca);
}
