/* This file checks the TLS settings of a connection to MariaDB ([mysql], [db.<name>]) when the
 * configuration loads, so that a typo or an unreadable file stops a start with its key named,
 * rather than every connect failing later with libmariadb's words for it. */
#include "cfg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool
tls_set(const char *v)
{
    return v && v[0];
}

/* The file at path (the value of key) can be read; a key file is closed to group and others. */
static int
tls_file_check(const char *path, const char *section, const char *key, bool secret, char *err,
               size_t errlen)
{
    struct stat sb;
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "[%s] %s: cannot read \"%s\": %s", section, key, path,
                 strerror(errno));
        return -1;
    }
    int rc = 0;
    if (secret && fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077)) {
        snprintf(err, errlen,
                 "[%s] %s: \"%s\" is open to group or others (mode %03o): chmod 600 it", section,
                 key, path, (unsigned)(sb.st_mode & 0777));
        rc = -1;
    }
    fclose(fp);
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
        if (!tls_set(files[i]))
            continue;
        if (off) {
            snprintf(err, errlen, "[%s] %s is set, but tls is off (%s): set tls = verify", section,
                     keys[i], where);
            return -1;
        }
        if (tls_file_check(files[i], section, keys[i], i == 2, err, errlen) < 0)
            return -1;
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
    return 0;
}
