/* This file makes a test CA and server certificate with the openssl command line. */
#include "ttls.h"
#include "tsupport.h"
#include "util.h"

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
