/* This file is the spool: webhooks accepted while MariaDB is unavailable, one file each, made
 * durable before the sender hears 202 (invariant 7). A file is written under a temporary
 * name, fsync'ed, renamed to its final name and the directory fsync'ed, so after a crash a
 * file is either whole under its final name or a temporary one the next start removes (its
 * sender got no 2xx and retries). Ids begin with the time in milliseconds, so sorting them
 * gives the replay its oldest-first order.
 *
 * File format (version 1), how to change it: a JSON object {"v":1, "source", "path",
 * "action", "parameters" (the job's parameters as JSON text), "idempotency_key",
 * "received_ms"}. A new field must be optional for the reader; anything else needs "v":2 and
 * a reader that still understands 1, since old files may wait on disk across an upgrade. */
#include "spool.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_EXT ".json"
#define SPOOL_TMP "tmp-"

/* The most room a typical webhook is taken to need. */
#define SPOOL_ROOM_TYPICAL (64 << 10)
/* The quota counts each file as the disk does, in blocks: by their lengths, 300 webhooks of
 * ~400 bytes counted 121 KB and took 1.27 MB (and an inode each). */
#define SPOOL_BLOCK 4096

struct spool {
    char *dir;
    int dirfd;
    int64_t max_bytes;
    pthread_mutex_t mu;
    int64_t bytes, files;
    int64_t failed_bytes; /* in failed/: they count toward the quota until an operator acts */
    int64_t failed_files;
    bool refused; /* the last write failed on the disk and nothing was removed since */
    /* The size of the last entry written, and of the last one the quota refused: what the
     * next webhook is likely to need (spool_full). */
    int64_t last_len, refused_len;
    bool quota_refused; /* a write was refused for the quota since failed/ was last counted */
    atomic_uint seq;
};

void
spool_entry_release(struct spool_entry *e)
{
    free(e->source);
    free(e->path);
    free(e->action);
    free(e->parameters);
    free(e->idempotency_key);
    memset(e, 0, sizeof(*e));
}

/* The space a file of len bytes takes, as the quota counts it. */
static int64_t
spool_cost(int64_t len)
{
    return len <= 0 ? SPOOL_BLOCK : (len + SPOOL_BLOCK - 1) / SPOOL_BLOCK * SPOOL_BLOCK;
}

static bool
spool_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Removes temporary files a crash left behind and counts the entries. */
static int
spool_scan(struct spool *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    if (d == NULL) {
        snprintf(err, errlen, "spool_dir %s: %s", s->dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(de->d_name, SPOOL_TMP, strlen(SPOOL_TMP)) == 0) {
            if (unlinkat(s->dirfd, de->d_name, 0) == 0)
                log_info("spool: removed %s, a write that never completed", de->d_name);
            continue;
        }
        if (!spool_has_suffix(de->d_name, SPOOL_EXT))
            continue;
        if (fstatat(s->dirfd, de->d_name, &st, 0) == 0 && S_ISREG(st.st_mode)) {
            s->bytes += spool_cost(st.st_size);
            s->files++;
        }
    }
    closedir(d);
    return 0;
}

/* Adds up the bytes of the entries in failed/ (none when it does not exist). */
static void
spool_scan_failed(struct spool *s)
{
    int fd = openat(s->dirfd, "failed", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    struct stat st;
    int64_t bytes = 0, files = 0;
    while ((de = readdir(d)) != NULL)
        if (spool_has_suffix(de->d_name, SPOOL_EXT) && fstatat(fd, de->d_name, &st, 0) == 0 &&
            S_ISREG(st.st_mode)) {
            bytes += spool_cost(st.st_size);
            files++;
        }
    closedir(d);
    pthread_mutex_lock(&s->mu);
    s->failed_bytes = bytes;
    s->failed_files = files;
    pthread_mutex_unlock(&s->mu);
}

/* The spool holds webhooks (and their headers) in clear: the directory must be the producer's
 * own and closed to everyone else. */
static int
spool_check_dir(int fd, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "[producer] spool_dir %s: %s", dir, strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "[producer] spool_dir %s: owned by uid %u, not by this process (uid %u); chown "
                 "it to the producer's user",
                 dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen,
                 "[producer] spool_dir %s: mode %03o lets group or others in; chmod 700 it", dir,
                 (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

struct spool *
spool_attach(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    struct spool *s = xcalloc(1, sizeof(*s));
    s->dir = xstrdup(dir);
    s->dirfd = fd;
    pthread_mutex_init(&s->mu, NULL);
    atomic_init(&s->seq, 0);
    return s;
}

struct spool *
spool_open(const char *dir, int64_t max_bytes, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "[producer] spool_dir %s: cannot create: %s", dir, strerror(errno));
        return NULL;
    }
    char why[256];
    struct spool *s = spool_attach(dir, why, sizeof(why));
    if (s == NULL) {
        snprintf(err, errlen, "[producer] spool_dir %s", why);
        return NULL;
    }
    if (spool_check_dir(s->dirfd, dir, err, errlen) < 0) {
        spool_close(s);
        return NULL;
    }
    /* Held while the descriptor is open, released by the kernel when the process dies: two
     * producers on one directory would delete each other's half-written files and replay
     * and count the same entries. */
    if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen,
                 "[producer] spool_dir %s is in use by another producer (%s): give each producer "
                 "its own",
                 dir, errno == EWOULDBLOCK ? "it holds the directory's lock" : strerror(errno));
        spool_close(s);
        return NULL;
    }
    s->max_bytes = max_bytes;
    if (spool_scan(s, err, errlen) < 0) {
        spool_close(s);
        return NULL;
    }
    spool_scan_failed(s);
    if (s->files)
        log_info("spool: %lld webhooks (%lld bytes) wait in %s", (long long)s->files,
                 (long long)s->bytes, dir);
    return s;
}

void
spool_recount_failed(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t before = s->failed_bytes;
    s->quota_refused = false;
    pthread_mutex_unlock(&s->mu);
    spool_scan_failed(s);
    pthread_mutex_lock(&s->mu);
    if (s->failed_bytes < before)
        s->refused = false; /* an operator made room */
    pthread_mutex_unlock(&s->mu);
}

void
spool_close(struct spool *s)
{
    if (s == NULL)
        return;
    if (s->dirfd >= 0)
        close(s->dirfd);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

static char *
spool_serialize(const struct spool_entry *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "v", 1);
    cJSON_AddStringToObject(o, "source", e->source ? e->source : "");
    cJSON_AddStringToObject(o, "path", e->path ? e->path : "");
    cJSON_AddStringToObject(o, "action", e->action);
    cJSON_AddStringToObject(o, "parameters", e->parameters);
    cJSON_AddStringToObject(o, "idempotency_key", e->idempotency_key);
    cJSON_AddNumberToObject(o, "received_ms", (double)e->received_ms);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL)
        fatalx("spool: out of memory");
    return text;
}

static int
spool_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
spool_write(struct spool *s, const struct spool_entry *e, char *id, size_t idlen, char *err,
            size_t errlen)
{
    char *text = spool_serialize(e);
    size_t len = strlen(text);
    int64_t cost = spool_cost((int64_t)len);
    pthread_mutex_lock(&s->mu);
    if (s->bytes + s->failed_bytes + cost > s->max_bytes) {
        snprintf(err, errlen, "spool quota reached (%lld of %lld bytes, %lld of them in failed/)",
                 (long long)(s->bytes + s->failed_bytes), (long long)s->max_bytes,
                 (long long)s->failed_bytes);
        s->refused_len = cost;
        s->quota_refused = true;
        pthread_mutex_unlock(&s->mu);
        free(text);
        return -1;
    }
    /* Reserve the space now so concurrent writers cannot pass the quota together. */
    s->bytes += cost;
    s->files++;
    pthread_mutex_unlock(&s->mu);

    char uuid[37], tmp[96], final[96];
    ids_uuid(uuid);
    snprintf(id, idlen, "%013lld-%06u-%.8s", (long long)e->received_ms,
             atomic_fetch_add(&s->seq, 1) % 1000000u, uuid);
    snprintf(tmp, sizeof(tmp), SPOOL_TMP "%s", id);
    snprintf(final, sizeof(final), "%s" SPOOL_EXT, id);
    int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0 && spool_write_all(fd, text, len) == 0 && fsync(fd) == 0) {
        close(fd);
        fd = -1;
        if (renameat(s->dirfd, tmp, s->dirfd, final) == 0 && fsync(s->dirfd) == 0)
            rc = 0;
    }
    if (rc < 0) {
        snprintf(err, errlen, "spool write %s/%s: %s", s->dir, tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlinkat(s->dirfd, tmp, 0);
        unlinkat(s->dirfd, final, 0);
        pthread_mutex_lock(&s->mu);
        s->bytes -= cost;
        s->files--;
        s->refused = true;
        pthread_mutex_unlock(&s->mu);
    } else {
        pthread_mutex_lock(&s->mu);
        s->refused = false;
        s->last_len = cost;
        pthread_mutex_unlock(&s->mu);
    }
    free(text);
    return rc;
}

static int
spool_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(struct spool *s, char ***ids, int *n)
{
    DIR *d = opendir(s->dir);
    if (d == NULL)
        return -1;
    char **v = NULL;
    int cnt = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!spool_has_suffix(de->d_name, SPOOL_EXT))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, sizeof(*v) * (size_t)cap);
        }
        v[cnt++] = xstrndup(de->d_name, strlen(de->d_name) - strlen(SPOOL_EXT));
    }
    closedir(d);
    if (cnt > 1)
        qsort(v, (size_t)cnt, sizeof(*v), spool_cmp);
    *ids = v;
    *n = cnt;
    return 0;
}

/* The whole file of an entry, or NULL with errno set when it cannot be opened or read. */
static char *
spool_slurp(struct spool *s, const char *id)
{
    char name[96];
    snprintf(name, sizeof(name), "%s" SPOOL_EXT, id);
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    char chunk[65536];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        buf_append(&b, chunk, (size_t)r);
    }
    int saved = errno;
    close(fd);
    if (r < 0) {
        buf_release(&b);
        errno = saved;
        return NULL;
    }
    /* An empty file still reads as text: the caller judges it. */
    return b.data ? buf_detach(&b) : xstrdup("");
}

static char *
spool_field(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(f) ? xstrdup(f->valuestring) : NULL;
}

int
spool_read(struct spool *s, const char *id, struct spool_entry *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    char *text = spool_slurp(s, id);
    if (text == NULL) {
        /* Whatever kept the file from being read (EMFILE, ENFILE, ENOMEM, EIO, ...) says
         * nothing about its content: only a file read whole is ever judged corrupt. */
        snprintf(err, errlen, "read %s: %s", id, strerror(errno));
        return -2;
    }
    cJSON *o = cJSON_ParseWithOpts(text, NULL, 1);
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "received_ms");
    if (o == NULL || !cJSON_IsNumber(v) || v->valueint != 1) {
        snprintf(err, errlen, "%s: not a version 1 spool entry", id);
        cJSON_Delete(o);
        return -1;
    }
    e->source = spool_field(o, "source");
    e->path = spool_field(o, "path");
    e->action = spool_field(o, "action");
    e->parameters = spool_field(o, "parameters");
    e->idempotency_key = spool_field(o, "idempotency_key");
    if (!json_int_of(at, 0, JSON_INT_MAX, &e->received_ms))
        e->received_ms = 0;
    cJSON_Delete(o);
    if (e->action == NULL || e->parameters == NULL || e->idempotency_key == NULL) {
        snprintf(err, errlen, "%s: action, parameters or idempotency_key missing", id);
        spool_entry_release(e);
        return -1;
    }
    return 0;
}

/* Forgets an entry's bytes once its file is gone from the spool proper. */
static void
spool_forget(struct spool *s, int64_t size)
{
    pthread_mutex_lock(&s->mu);
    s->bytes -= spool_cost(size);
    s->files--;
    s->refused = false;
    pthread_mutex_unlock(&s->mu);
}

int
spool_remove(struct spool *s, const char *id)
{
    char name[96];
    struct stat st;
    snprintf(name, sizeof(name), "%s" SPOOL_EXT, id);
    if (fstatat(s->dirfd, name, &st, 0) < 0 || unlinkat(s->dirfd, name, 0) < 0) {
        log_warn("spool: remove %s", name);
        return -1;
    }
    spool_forget(s, st.st_size);
    return 0;
}

int
spool_quarantine(struct spool *s, const char *id, char *err, size_t errlen)
{
    char name[96], dest[128];
    struct stat st;
    snprintf(name, sizeof(name), "%s" SPOOL_EXT, id);
    snprintf(dest, sizeof(dest), "failed/%s" SPOOL_EXT, id);
    if (mkdirat(s->dirfd, "failed", 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "create %s/failed: %s", s->dir, strerror(errno));
        return -1;
    }
    if (fstatat(s->dirfd, name, &st, 0) < 0 || renameat(s->dirfd, name, s->dirfd, dest) < 0) {
        snprintf(err, errlen, "move %s to %s/failed/: %s", name, s->dir, strerror(errno));
        return -1;
    }
    spool_forget(s, st.st_size);
    pthread_mutex_lock(&s->mu);
    s->failed_bytes += spool_cost(st.st_size);
    s->failed_files++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int64_t
spool_bytes(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t b = s->bytes;
    pthread_mutex_unlock(&s->mu);
    return b;
}

bool
spool_full(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    /* One entry too big for the room left says nothing of the next: the room a typical
     * webhook needs (the last one written, else the last one refused; 64 KiB at most) is what
     * makes the spool full. */
    int64_t room = s->max_bytes - s->bytes - s->failed_bytes;
    int64_t typical = s->last_len ? s->last_len : s->refused_len;
    if (typical > SPOOL_ROOM_TYPICAL)
        typical = SPOOL_ROOM_TYPICAL;
    bool full = s->refused || room <= 0 || room < typical;
    pthread_mutex_unlock(&s->mu);
    return full;
}

bool
spool_recount_due(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    bool due = s->quota_refused && s->failed_bytes > 0;
    pthread_mutex_unlock(&s->mu);
    return due || spool_full(s);
}

void
spool_probe(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    bool refused = s->refused;
    int64_t len = s->last_len ? s->last_len : s->refused_len;
    pthread_mutex_unlock(&s->mu);
    if (!refused)
        return;
    /* As big as a typical webhook: a disk with one block left would take a smaller probe and
     * refuse the next webhook, and /health would flip every second. */
    len = len < SPOOL_BLOCK ? SPOOL_BLOCK : len > SPOOL_ROOM_TYPICAL ? SPOOL_ROOM_TYPICAL : len;
    char *zeros = xcalloc(1, (size_t)len);
    static const char name[] = SPOOL_TMP "probe";
    int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && spool_write_all(fd, zeros, (size_t)len) == 0 && fsync(fd) == 0;
    free(zeros);
    if (fd >= 0)
        close(fd);
    unlinkat(s->dirfd, name, 0);
    if (!ok)
        return;
    pthread_mutex_lock(&s->mu);
    s->refused = false;
    pthread_mutex_unlock(&s->mu);
    log_info("spool: the disk takes writes again");
}

void
spool_failed(struct spool *s, int64_t *files, int64_t *bytes)
{
    pthread_mutex_lock(&s->mu);
    *files = s->failed_files;
    *bytes = s->failed_bytes;
    pthread_mutex_unlock(&s->mu);
}

int64_t
spool_files(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t n = s->files;
    pthread_mutex_unlock(&s->mu);
    return n;
}
