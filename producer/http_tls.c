/* This file loads the producer's TLS certificate and key for libmicrohttpd's HTTPS, for sites
 * that expose the producer without a reverse proxy (docs/deploy.md shows the nginx front for
 * the others). The key's file must not be readable by group or others. */
#include "http_tls.h"
#include "util.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HTTP_TLS_MAX_BYTES (1 << 20)

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
    if (t->key == NULL) {
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
