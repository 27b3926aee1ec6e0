/* This file keeps the attachment copy's files inside the uploads directory. */
#include "attach_file.h"
#include "ids.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t
attach_utf8_len(const unsigned char *p)
{
    size_t n = p[0] < 0x80             ? 1
               : (p[0] & 0xE0) == 0xC0 ? 2
               : (p[0] & 0xF0) == 0xE0 ? 3
               : (p[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (n == 2 && p[0] < 0xC2)
        return 0; /* overlong */
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Cuts s (valid UTF-8) to at most max bytes on a character boundary. */
static void
attach_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* Keeps the extension (up to 16 bytes) when a long name is cut. */
static void
attach_shorten(char *s)
{
    if (strlen(s) <= ATTACH_NAME_MAX)
        return;
    const char *dot = strrchr(s, '.');
    char ext[17] = "";
    if (dot && dot != s && strlen(dot) < sizeof(ext))
        snprintf(ext, sizeof(ext), "%s", dot);
    attach_cut(s, ATTACH_NAME_MAX - strlen(ext));
    size_t n = strlen(s);
    memcpy(s + n, ext, strlen(ext) + 1);
}

char *
attach_safe_name(const char *name)
{
    const char *base = name ? name : "";
    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    char *out = xmalloc(strlen(base) + 5);
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)base; *p;) {
        size_t n = attach_utf8_len(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F))) {
            out[o++] = '_';
            p++;
            continue;
        }
        memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    for (size_t i = 0; out[i] == '.'; i++)
        out[i] = '_';
    attach_shorten(out);
    if (out[0] == '\0')
        snprintf(out, 5, "file");
    return out;
}

int
attach_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.' || strlen(name) > ATTACH_NAME_MAX + 21)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7F)
            return 0;
    return 1;
}

/* The prefix of final's temporary files: ".jf-<final>." */
static char *
attach_tmp_prefix(const char *final)
{
    return xasprintf(".jf-%s.", final);
}

/* Removes temporary files a crashed write of final left behind. */
static void
attach_clean_tmp(int dfd, const char *final)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char *prefix = attach_tmp_prefix(final);
    size_t pn = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > pn + 4 && strncmp(e->d_name, prefix, pn) == 0 &&
            strcmp(e->d_name + n - 4, ".tmp") == 0)
            unlinkat(dfd, e->d_name, 0);
    }
    free(prefix);
    closedir(d);
}

static int
attach_write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes bytes into a new temporary file of dfd named tmp; 0, or -1 (errno kept). */
static int
attach_write_tmp(int dfd, const char *tmp, const void *bytes, size_t len)
{
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (attach_write_all(fd, bytes, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlinkat(dfd, tmp, 0);
        errno = e;
        return -1;
    }
    return close(fd);
}

int
attach_file_write(const char *dir, const char *final, const void *bytes, size_t len, char *err,
                  size_t errlen)
{
    if (!attach_name_ok(final)) {
        snprintf(err, errlen, "refusing to write \"%s\": not one safe file name", final);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "uploads_dir %s: %s", dir, strerror(errno));
        return -1;
    }
    attach_clean_tmp(dfd, final);
    char rnd[37];
    ids_uuid(rnd);
    char *prefix = attach_tmp_prefix(final);
    char *tmp = xasprintf("%s%.8s.tmp", prefix, rnd);
    free(prefix);
    int rc = -1;
    if (attach_write_tmp(dfd, tmp, bytes, len) < 0)
        snprintf(err, errlen, "write %s/%s: %s", dir, tmp, strerror(errno));
    else if (renameat(dfd, tmp, dfd, final) < 0) {
        snprintf(err, errlen, "rename to %s/%s: %s", dir, final, strerror(errno));
        unlinkat(dfd, tmp, 0);
    } else if (fsync(dfd) < 0)
        snprintf(err, errlen, "fsync %s: %s", dir, strerror(errno));
    else
        rc = 0;
    free(tmp);
    close(dfd);
    return rc;
}

int
attach_file_read(const char *dir, const char *name, int64_t max, unsigned char **bytes, size_t *len,
                 char *err, size_t errlen)
{
    *bytes = NULL;
    *len = 0;
    if (!attach_name_ok(name)) {
        snprintf(err, errlen, "refusing to read \"%s\": not one safe file name", name);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = dfd < 0 ? -1 : openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int rc = -1;
    if (fd < 0 || fstat(fd, &st) < 0)
        snprintf(err, errlen, "open %s/%s: %s", dir, name, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s/%s is not a regular file", dir, name);
    else if (max > 0 && st.st_size > max)
        snprintf(err, errlen, "%s/%s has %lld bytes, more than max_bytes (%lld)", dir, name,
                 (long long)st.st_size, (long long)max);
    else {
        unsigned char *b = xmalloc((size_t)st.st_size + 1);
        size_t got = 0;
        ssize_t r = 0;
        while (got < (size_t)st.st_size &&
               ((r = read(fd, b + got, (size_t)st.st_size - got)) > 0 || (r < 0 && errno == EINTR)))
            got += r > 0 ? (size_t)r : 0;
        if (got != (size_t)st.st_size) {
            snprintf(err, errlen, "read %s/%s: %s", dir, name, r < 0 ? strerror(errno) : "short");
            free(b);
        } else {
            *bytes = b;
            *len = got;
            rc = 0;
        }
    }
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return rc;
}
