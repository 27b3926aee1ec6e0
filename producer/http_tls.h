/* The producer's optional HTTPS (http_tls.c): the certificate and key files of [producer]
 * tls_cert_file and tls_key_file, read for libmicrohttpd. */
#ifndef JOBFLEET_HTTP_TLS_H
#define JOBFLEET_HTTP_TLS_H

#include <stddef.h>

#include "cfg.h"

/* The protocols the producer's HTTPS offers (GnuTLS priorities, libmicrohttpd's TLS): TLS 1.2
 * and 1.3, not the deprecated 1.0 and 1.1 GnuTLS's NORMAL still allows. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* PEM texts; both NULL when TLS is off. */
struct http_tls {
    char *cert;
    char *key;
};

/* Reads the files when tls_cert_file is set: both must be given, readable and PEM, the key
 * readable by its owner only, the certificate not expired (one that expires within 14 days is
 * logged; its end is the gauge jobfleet_producer_tls_cert_expiry_timestamp_seconds), and
 * libmicrohttpd built with TLS. Returns 0 (t filled, released
 * with http_tls_release), or -1 with one line in err. */
int http_tls_load(const struct cfg_producer *pc, struct http_tls *t, char *err, size_t errlen);
/* Wipes and frees the texts; accepts an empty t. */
void http_tls_release(struct http_tls *t);

#endif
