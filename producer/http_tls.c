/* This file loads the producer's TLS certificate and key for libmicrohttpd's HTTPS, for sites
 * that expose the producer without a reverse proxy (docs/deploy.md shows the nginx front for
 * the others). The key's file must not be readable by group or others. */
#include "http_tls.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <errno.h>
#include <microhttpd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define HTTP_TLS_MAX_BYTES (1 << 20)
/* A certificate this close to its end is warned about at every start. */
#define HTTP_TLS_WARN_DAYS 14

static const struct metric_def http_tls_metric_expiry = {
    "jobfleet_producer_tls_cert_expiry_timestamp_seconds",
    "When the certificate the producer serves ([producer] tls_cert_file) expires, unix time: "
    "renew it and restart before then.",
    METRIC_GAUGE,
    {NULL, NULL},
    NULL,
    0};

static char *
http_tls_read(const char *what, const char *path, bool secret, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "[producer] %s: %s: %s", what, path, strerror(errno));
        return NULL;
    }
    if (secret && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "[producer] %s: %s is readable by group or others (mode %03o); "
                 "chmod 600 it",
                 what, path, (unsigned)(st.st_mode & 0777));
        return NULL;
    }
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "[producer] %s: %s: %s", what, path, strerror(errno));
        return NULL;
    }
    struct buf b;
    buf_init(&b, HTTP_TLS_MAX_BYTES);
    char chunk[4096];
    size_t n;
    bool too_big = false;
    while (!too_big && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        too_big = buf_append(&b, chunk, n) < 0;
    fclose(fp);
    buf_append(&b, "", 0);
    if (too_big || b.data == NULL || strstr(b.data, "-----BEGIN ") == NULL) {
        snprintf(err, errlen, "[producer] %s: %s is not a PEM file", what, path);
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b);
}

/* The end of the PEM certificate cert's validity, unix time; -1 when it does not parse. */
static int64_t
http_tls_not_after(const char *cert)
{
    BIO *bio = BIO_new_mem_buf(cert, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    struct tm tm;
    int64_t t = -1;
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (int64_t)timegm(&tm);
    X509_free(x);
    BIO_free(bio);
    return t;
}

/* Refuses a certificate that has expired (every client's handshake would fail, and nothing on
 * our side said so) and warns of one that soon will. */
static int
http_tls_check_expiry(const char *path, const char *cert, char *err, size_t errlen)
{
    int64_t end = http_tls_not_after(cert), now = now_wall_ms() / 1000;
    char when[32];
    struct tm tm;
    time_t tt = (time_t)end;
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm));
    if (end < 0) {
        snprintf(err, errlen, "[producer] tls_cert_file: %s holds no certificate OpenSSL can read",
                 path);
        return -1;
    }
    if (end <= now) {
        snprintf(err, errlen, "[producer] tls_cert_file: %s expired on %s: renew it", path, when);
        return -1;
    }
    if (end - now < HTTP_TLS_WARN_DAYS * 86400)
        log_warnx("[producer] tls_cert_file: %s expires on %s, in %lld days: renew it and restart",
                  path, when, (long long)((end - now) / 86400));
    metrics_set(&http_tls_metric_expiry, NULL, NULL, (double)end);
    return 0;
}

int
http_tls_load(const struct cfg_producer *pc, struct http_tls *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    bool cert = pc->tls_cert_file && pc->tls_cert_file[0];
    bool key = pc->tls_key_file && pc->tls_key_file[0];
    if (!cert && !key)
        return 0;
    if (cert != key) {
        snprintf(err, errlen, "[producer] tls_cert_file and tls_key_file go together");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "[producer] tls_cert_file: this libmicrohttpd has no TLS support");
        return -1;
    }
    t->cert = http_tls_read("tls_cert_file", pc->tls_cert_file, false, err, errlen);
    if (t->cert)
        t->key = http_tls_read("tls_key_file", pc->tls_key_file, true, err, errlen);
    if (t->key == NULL || http_tls_check_expiry(pc->tls_cert_file, t->cert, err, errlen) < 0) {
        http_tls_release(t);
        return -1;
    }
    return 0;
}

void
http_tls_release(struct http_tls *t)
{
    if (t->key) {
        /* The key should not linger in freed memory. */
        volatile char *k = t->key;
        for (size_t i = 0; k[i]; i++)
            k[i] = 0;
    }
    free(t->key);
    free(t->cert);
    t->key = t->cert = NULL;
}
