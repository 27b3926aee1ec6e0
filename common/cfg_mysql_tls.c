/* This file checks the TLS settings of a connection to MariaDB ([mysql], [db.<name>]) when the
 * configuration loads, so that a typo or an unreadable file stops a start with its key named,
 * rather than every connect failing later with libmariadb's words for it. */
#include "cfg.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool
tls_set(const char *v)
{
    return v && v[0];
}

/* A passphrase callback that has none: an encrypted key is refused, not prompted for. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

/* The file at path (the value of key) is a regular file we can open; a key file is closed to
 * group and others, and its key (unencrypted) is returned in *pkey. */
static int
tls_file_open(const char *path, const char *section, const char *key, EVP_PKEY **pkey, char *err,
              size_t errlen)
{
    struct stat sb;
    FILE *fp = fopen(path, "r");
    int e = errno;
    if (fp == NULL || fstat(fileno(fp), &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "[%s] %s: cannot read \"%s\": %s", section, key, path,
                 fp ? "not a regular file" : strerror(e));
        if (fp)
            fclose(fp);
        return -1;
    }
    int rc = 0;
    if (pkey && (sb.st_mode & 077)) {
        snprintf(err, errlen,
                 "[%s] %s: \"%s\" is open to group or others (mode %03o): chmod 600 it", section,
                 key, path, (unsigned)(sb.st_mode & 0777));
        rc = -1;
    } else if (pkey && (*pkey = PEM_read_PrivateKey(fp, NULL, tls_no_passphrase, NULL)) == NULL) {
        snprintf(err, errlen, "[%s] %s: \"%s\" holds no PEM private key without a passphrase",
                 section, key, path);
        rc = -1;
    }
    fclose(fp);
    return rc;
}

/* OpenSSL's reason for the failure, for a message. */
static const char *
tls_reason(void)
{
    const char *r = ERR_reason_error_string(ERR_peek_error());
    return r ? r : "no certificate";
}

/* True when ctx's trust store holds a certificate (a CA file of CRLs alone loads, and then
 * verifies nothing). */
static bool
tls_store_has_cert(SSL_CTX *ctx)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
        if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
            return true;
    return false;
}

/* Loads the three files into a throwaway context as libmariadb will (every certificate of a
 * CA bundle or chain, TRUSTED CERTIFICATE blocks too; the key the certificate's own), so that
 * what it would refuse at every connect is refused at load. */
static int
tls_files_load(SSL_CTX *ctx, const struct cfg_mysql *m, const char *section, char *err,
               size_t errlen)
{
    EVP_PKEY *key = NULL;
    int rc = -1;
    if (tls_set(m->tls_ca_file)) {
        if (tls_file_open(m->tls_ca_file, section, "tls_ca_file", NULL, err, errlen) < 0)
            goto out;
        if (SSL_CTX_load_verify_locations(ctx, m->tls_ca_file, NULL) != 1 ||
            !tls_store_has_cert(ctx)) {
            snprintf(err, errlen,
                     "[%s] tls_ca_file: \"%s\" holds no PEM certificates OpenSSL can read (%s)",
                     section, m->tls_ca_file, tls_reason());
            goto out;
        }
    }
    if (tls_set(m->tls_cert_file)) {
        if (tls_file_open(m->tls_cert_file, section, "tls_cert_file", NULL, err, errlen) < 0)
            goto out;
        if (SSL_CTX_use_certificate_chain_file(ctx, m->tls_cert_file) != 1) {
            snprintf(err, errlen,
                     "[%s] tls_cert_file: \"%s\" holds no PEM certificate chain OpenSSL can "
                     "read (%s)",
                     section, m->tls_cert_file, tls_reason());
            goto out;
        }
    }
    if (tls_set(m->tls_key_file)) {
        if (tls_file_open(m->tls_key_file, section, "tls_key_file", &key, err, errlen) < 0)
            goto out;
        if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(err, errlen,
                     "[%s] tls_key_file: \"%s\" is not the key of tls_cert_file \"%s\"", section,
                     m->tls_key_file, m->tls_cert_file);
            goto out;
        }
    }
    rc = 0;
out:
    EVP_PKEY_free(key);
    return rc;
}

/* tls_files_load on a context of its own, leaving OpenSSL's error queue empty. */
static int
tls_files_check(const struct cfg_mysql *m, const char *section, char *err, size_t errlen)
{
    /* No file, nothing to read: OpenSSL is not started for nothing (it cost every worker
     * process memory at each config load). */
    if (!tls_set(m->tls_ca_file) && !tls_set(m->tls_cert_file) && !tls_set(m->tls_key_file))
        return 0;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int rc = ctx ? tls_files_load(ctx, m, section, err, errlen) : -1;
    if (ctx == NULL)
        snprintf(err, errlen, "[%s] tls: OpenSSL could not make a TLS context", section);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int
cfg_mysql_tls_check(const struct cfg_mysql *m, const char *section, const char *where, char *err,
                    size_t errlen)
{
    const char *mode = m->tls ? m->tls : "off";
    bool off = strcmp(mode, "off") == 0, verify = strcmp(mode, "verify") == 0;
    if (!off && !verify && strcmp(mode, "required") != 0) {
        snprintf(err, errlen, "%s: [%s] tls: expected off, required or verify, got \"%s\"", where,
                 section, mode);
        return -1;
    }
    const char *keys[] = {"tls_ca_file", "tls_cert_file", "tls_key_file"};
    const char *files[] = {m->tls_ca_file, m->tls_cert_file, m->tls_key_file};
    for (int i = 0; i < 3; i++) {
        if (tls_set(files[i]) && off) {
            snprintf(err, errlen, "[%s] %s is set, but tls is off (%s): set tls = verify", section,
                     keys[i], where);
            return -1;
        }
    }
    /* required encrypts without checking the server: a CA given with it would be read as a
     * check that is not made. */
    if (tls_set(m->tls_ca_file) && !verify) {
        snprintf(err, errlen,
                 "[%s] tls_ca_file is set, but tls = required does not check the server's "
                 "certificate (%s): set tls = verify",
                 section, where);
        return -1;
    }
    if (tls_set(m->tls_cert_file) != tls_set(m->tls_key_file)) {
        snprintf(err, errlen, "[%s] tls_cert_file and tls_key_file go together", section);
        return -1;
    }
    return tls_files_check(m, section, err, errlen);
}
