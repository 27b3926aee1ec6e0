/* This file reads TZif zone files (RFC 8536) and answers UTC offsets from them, including the
 * POSIX TZ rule of their footer, so that time-zone conversion never touches the process-wide
 * TZ that localtime and every other thread depend on. */
#include "tzone.h"
#include "caltime.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Real zone files are a few KiB; anything far bigger is not one. */
#define TZONE_FILE_MAX (256 * 1024)
#define TZONE_HEADER_LEN 44
/* Offsets of real zones lie within -12h..+15h (LMT included); RFC 8536 allows 25 hours. */
#define TZONE_OFF_MAX (25 * 3600)
/* POSIX rule times: RFC 8536 extends the hours of "/time" to -167..167. */
#define TZONE_RULE_HOURS_MAX 167

/* A day of a POSIX TZ rule: "Jn" (1-365, Feb 29 never counted), "n" (0-365), "Mm.w.d". */
struct tzone_day {
    char kind; /* 'J', 'D' or 'M' */
    int n, m, w, d;
    int32_t time; /* local seconds after midnight, may be negative or past 24h */
};

/* The footer's rule: standard time, and daylight time between start and end when has_dst. */
struct tzone_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct tzone_day start, end;
};

struct tzone {
    size_t ntrans;
    int64_t *trans; /* ascending UTC instants */
    uint8_t *trans_type;
    size_t ntypes;
    int32_t *type_off; /* UTC offset of each local time type */
    bool has_rule;
    struct tzone_rule rule;
};

static void tzone_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tzone_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- POSIX TZ rule (the footer) ---- */

/* Skips a zone abbreviation: three or more letters, or "<...>" of letters, digits, + and -. */
static const char *
tzone_rule_name(const char *p)
{
    const char *s = p;
    if (*p == '<') {
        for (p++; isalnum((unsigned char)*p) || *p == '+' || *p == '-'; p++)
            ;
        return *p == '>' && p - s >= 4 ? p + 1 : NULL;
    }
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* Reads a decimal number in [min, max]. */
static const char *
tzone_rule_num(const char *p, int min, int max, int *out)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    long v = 0;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        if (v > max)
            return NULL;
    }
    if (v < min)
        return NULL;
    *out = (int)v;
    return p;
}

/* Reads "[+-]hh[:mm[:ss]]" with hours up to max_h into signed seconds. */
static const char *
tzone_rule_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if ((p = tzone_rule_num(p, 0, max_h, &h)) == NULL)
        return NULL;
    if (*p == ':' && (p = tzone_rule_num(p + 1, 0, 59, &m)) != NULL && *p == ':')
        p = tzone_rule_num(p + 1, 0, 59, &s);
    if (p == NULL)
        return NULL;
    *out = sign * (h * 3600 + m * 60 + s);
    return p;
}

static const char *
tzone_rule_day(const char *p, struct tzone_day *d)
{
    memset(d, 0, sizeof(*d));
    d->time = 2 * 3600; /* POSIX: 02:00 unless "/time" says otherwise */
    if (*p == 'J') {
        d->kind = 'J';
        p = tzone_rule_num(p + 1, 1, 365, &d->n);
    } else if (*p == 'M') {
        d->kind = 'M';
        if ((p = tzone_rule_num(p + 1, 1, 12, &d->m)) == NULL || *p != '.' ||
            (p = tzone_rule_num(p + 1, 1, 5, &d->w)) == NULL || *p != '.')
            return NULL;
        p = tzone_rule_num(p + 1, 0, 6, &d->d);
    } else {
        d->kind = 'D';
        p = tzone_rule_num(p, 0, 365, &d->n);
    }
    if (p != NULL && *p == '/')
        p = tzone_rule_hms(p + 1, TZONE_RULE_HOURS_MAX, &d->time);
    return p;
}

/* Parses a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3" or "<+0530>-5:30". A daylight
 * name without a rule is refused: the footers tzdata writes always carry one. */
static int
tzone_rule_parse(const char *s, struct tzone_rule *r)
{
    int32_t off;
    const char *p = tzone_rule_name(s);
    if (p == NULL || (p = tzone_rule_hms(p, 24, &off)) == NULL)
        return -1;
    memset(r, 0, sizeof(*r));
    r->std_off = -off; /* POSIX counts west of Greenwich as positive */
    if (*p == '\0')
        return 0;
    if ((p = tzone_rule_name(p)) == NULL)
        return -1;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if ((p = tzone_rule_hms(p, 24, &off)) == NULL)
            return -1;
        r->dst_off = -off;
    }
    if (*p != ',' || (p = tzone_rule_day(p + 1, &r->start)) == NULL || *p != ',' ||
        (p = tzone_rule_day(p + 1, &r->end)) == NULL)
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* The day number (days since 1970-01-01) a rule day falls on in year y. */
static int64_t
tzone_rule_day_of(const struct tzone_day *d, int64_t y)
{
    int64_t jan1 = caltime_days_from_civil(y, 1, 1);
    if (d->kind == 'D')
        return jan1 + d->n;
    if (d->kind == 'J') {
        bool leap = caltime_days_in_month(y, 2) == 29;
        return jan1 + d->n - 1 + (leap && d->n >= 60);
    }
    int64_t first = caltime_days_from_civil(y, d->m, 1);
    int wday = (int)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->d - wday + 7) % 7 + (int64_t)(d->w - 1) * 7;
    while (day - first >= caltime_days_in_month(y, d->m)) /* "5": the last such weekday */
        day -= 7;
    return day;
}

/*
 * The offset the rule gives at t. Transitions of the years around t are laid out in order
 * (start then end for northern zones, end then start for southern ones) and the last one at or
 * before t wins; on a tie the later one in that order does, which makes "DST all year" rules
 * (start Jan 1 00:00, end Dec 31 25:00) stay in DST across the new year.
 */
static int32_t
tzone_rule_offset(const struct tzone_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    struct caltime c;
    caltime_split(t + r->std_off, &c);
    int64_t best_t = INT64_MIN;
    int32_t best_off = r->std_off;
    for (int64_t y = c.year - 1; y <= c.year + 1; y++) {
        int64_t s = tzone_rule_day_of(&r->start, y) * CALTIME_DAY + r->start.time - r->std_off;
        int64_t e = tzone_rule_day_of(&r->end, y) * CALTIME_DAY + r->end.time - r->dst_off;
        int64_t ev[2] = {s < e ? s : e, s < e ? e : s};
        int32_t off[2] = {s < e ? r->dst_off : r->std_off, s < e ? r->std_off : r->dst_off};
        for (int k = 0; k < 2; k++) {
            if (ev[k] <= t && ev[k] >= best_t) {
                best_t = ev[k];
                best_off = off[k];
            }
        }
    }
    return best_off;
}

/* ---- TZif data ---- */

struct tzone_reader {
    const unsigned char *p;
    size_t left;
};

static bool
tzone_read_skip(struct tzone_reader *rd, size_t n)
{
    if (rd->left < n)
        return false;
    rd->p += n;
    rd->left -= n;
    return true;
}

static uint32_t
tzone_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tzone_be_time(const unsigned char *p, size_t size)
{
    if (size == 4)
        return (int32_t)tzone_be32(p);
    return (int64_t)((uint64_t)tzone_be32(p) << 32 | tzone_be32(p + 4));
}

/* The six counts of a TZif header, in file order. */
struct tzone_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static int
tzone_header(struct tzone_reader *rd, char *version, struct tzone_counts *n)
{
    const unsigned char *h = rd->p;
    if (!tzone_read_skip(rd, TZONE_HEADER_LEN) || memcmp(h, "TZif", 4) != 0)
        return -1;
    *version = (char)h[4];
    uint32_t v[6];
    for (int i = 0; i < 6; i++)
        v[i] = tzone_be32(h + 20 + 4 * i);
    *n = (struct tzone_counts){v[0], v[1], v[2], v[3], v[4], v[5]};
    /* RFC 8536 3.1: at least one type, and indicator arrays either absent or one per type. */
    if (n->type == 0 || n->type > 256 || n->chars == 0 || (n->isut && n->isut != n->type) ||
        (n->isstd && n->isstd != n->type) || n->time > TZONE_FILE_MAX)
        return -1;
    return 0;
}

static size_t
tzone_block_len(const struct tzone_counts *n, size_t tsize)
{
    return n->time * (tsize + 1) + n->type * 6 + n->chars + n->leap * (tsize + 4) + n->isstd +
           n->isut;
}

/* Reads one data block with times of tsize bytes into z. */
static int
tzone_block(struct tzone_reader *rd, const struct tzone_counts *n, size_t tsize, struct tzone *z,
            char *err, size_t errlen)
{
    const unsigned char *b = rd->p;
    if (!tzone_read_skip(rd, tzone_block_len(n, tsize))) {
        tzone_err(err, errlen, "truncated TZif data");
        return -1;
    }
    if (n->leap != 0) {
        tzone_err(err, errlen, "zones with leap seconds (\"right/\") are not supported");
        return -1;
    }
    z->ntrans = n->time;
    z->ntypes = n->type;
    z->trans = xcalloc(n->time ? n->time : 1, sizeof(*z->trans));
    z->trans_type = xcalloc(n->time ? n->time : 1, 1);
    z->type_off = xcalloc(n->type, sizeof(*z->type_off));
    const unsigned char *idx = b + n->time * tsize, *types = idx + n->time;
    for (size_t i = 0; i < n->time; i++) {
        z->trans[i] = tzone_be_time(b + i * tsize, tsize);
        z->trans_type[i] = idx[i];
        if (idx[i] >= n->type || (i > 0 && z->trans[i] <= z->trans[i - 1])) {
            tzone_err(err, errlen, "bad transition %zu in TZif data", i);
            return -1;
        }
    }
    for (size_t i = 0; i < n->type; i++) {
        int32_t off = (int32_t)tzone_be32(types + i * 6);
        if (off <= -TZONE_OFF_MAX || off >= TZONE_OFF_MAX || types[i * 6 + 5] >= n->chars) {
            tzone_err(err, errlen, "bad local time type %zu in TZif data", i);
            return -1;
        }
        z->type_off[i] = off;
    }
    return 0;
}

/* Reads the footer, "\n<POSIX TZ string>\n"; an empty string means no rule. */
static int
tzone_footer(struct tzone_reader *rd, struct tzone *z, char *err, size_t errlen)
{
    const char *s = (const char *)rd->p;
    const char *end = rd->left > 1 ? memchr(s + 1, '\n', rd->left - 1) : NULL;
    if (rd->left < 2 || s[0] != '\n' || end == NULL || end - s > 128) {
        tzone_err(err, errlen, "missing TZif footer");
        return -1;
    }
    if (end == s + 1)
        return 0;
    char rule[128];
    memcpy(rule, s + 1, (size_t)(end - s - 1));
    rule[end - s - 1] = '\0';
    if (tzone_rule_parse(rule, &z->rule) < 0) {
        tzone_err(err, errlen, "unreadable TZif footer rule \"%s\"", rule);
        return -1;
    }
    z->has_rule = true;
    return 0;
}

struct tzone *
tzone_parse(const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    struct tzone_reader rd = {buf, len};
    struct tzone_counts n;
    char version;
    struct tzone *z = xcalloc(1, sizeof(*z));
    if (tzone_header(&rd, &version, &n) < 0) {
        tzone_err(err, errlen, "not a TZif file");
        goto fail;
    }
    if (version == '\0') {
        /* Version 1 has 32-bit times only and no footer. */
        if (tzone_block(&rd, &n, 4, z, err, errlen) < 0)
            goto fail;
        return z;
    }
    /* Version 2 and later repeat the data with 64-bit times after the version 1 block. */
    if (!tzone_read_skip(&rd, tzone_block_len(&n, 4)) || tzone_header(&rd, &version, &n) < 0) {
        tzone_err(err, errlen, "truncated or bad TZif version 2 header");
        goto fail;
    }
    if (tzone_block(&rd, &n, 8, z, err, errlen) < 0 || tzone_footer(&rd, z, err, errlen) < 0)
        goto fail;
    return z;
fail:
    tzone_free(z);
    return NULL;
}

void
tzone_free(struct tzone *z)
{
    if (z == NULL)
        return;
    free(z->trans);
    free(z->trans_type);
    free(z->type_off);
    free(z);
}

int32_t
tzone_offset(const struct tzone *z, int64_t t)
{
    if (z->ntrans == 0)
        return z->has_rule ? tzone_rule_offset(&z->rule, t) : z->type_off[0];
    if (t < z->trans[0])
        return z->type_off[0];
    if (t > z->trans[z->ntrans - 1] && z->has_rule)
        return tzone_rule_offset(&z->rule, t);
    /* The last transition at or before t. */
    size_t lo = 0, hi = z->ntrans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->type_off[z->trans_type[lo]];
}

/* ---- Names, files and the cache ---- */

bool
tzone_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TZONE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool starts = i == 0 || name[i - 1] == '/';
        /* An empty component or one starting with "." could climb out of TZONE_DIR. */
        if (starts && (name[i] == '/' || name[i] == '.'))
            return false;
        if (!isalnum((unsigned char)name[i]) && strchr("/_-+.", name[i]) == NULL)
            return false;
    }
    return name[n - 1] != '/';
}

/* Reads and parses TZONE_DIR/name (already checked by tzone_name_ok). */
static struct tzone *
tzone_load(const char *name, char *err, size_t errlen)
{
    char path[sizeof(TZONE_DIR) + TZONE_NAME_MAX + 1];
    snprintf(path, sizeof(path), "%s/%s", TZONE_DIR, name);
    /* O_NONBLOCK: a FIFO planted under the directory must not hang the caller. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TZONE_FILE_MAX) {
        tzone_err(err, errlen, "\"%s\" is not a zone of the system tz database (%s)", name,
                  fd < 0 ? strerror(errno) : "not a zone file");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *buf = xmalloc((size_t)st.st_size + 1);
    ssize_t got = read(fd, buf, (size_t)st.st_size);
    close(fd);
    char why[160] = "short read";
    struct tzone *z = got == st.st_size ? tzone_parse(buf, (size_t)got, why, sizeof(why)) : NULL;
    free(buf);
    if (z == NULL)
        tzone_err(err, errlen, "\"%s\" is not a usable zone of the system tz database: %s", name,
                  why);
    return z;
}

struct tzone_entry {
    char *name;
    struct tzone *zone;
    struct tzone_entry *next;
};

/* Loaded zones, kept for the process's life: their number is bounded by the files in
 * TZONE_DIR, and callers hold pointers to them without references. */
static struct tzone_entry *tzone_cache;
static pthread_mutex_t tzone_cache_lock = PTHREAD_MUTEX_INITIALIZER;

const struct tzone *
tzone_get(const char *name, char *err, size_t errlen)
{
    /* The tz database links it to this host's /etc/localtime: a schedule in it would fire at
     * another instant on each host whose clock zone differs, twice across a leader change. */
    if (name && strcmp(name, "localtime") == 0) {
        tzone_err(err, errlen,
                  "\"localtime\" is each host's own zone (/etc/localtime), which may differ "
                  "between hosts: name the zone (e.g. America/Chicago)");
        return NULL;
    }
    if (!tzone_name_ok(name)) {
        tzone_err(err, errlen, "\"%s\" is not a time zone name (e.g. America/Chicago)",
                  name ? name : "");
        return NULL;
    }
    pthread_mutex_lock(&tzone_cache_lock);
    struct tzone_entry *e = tzone_cache;
    while (e != NULL && strcmp(e->name, name) != 0)
        e = e->next;
    if (e == NULL) {
        /* Loading under the lock reads each zone once however many threads ask at once; a
         * failed load is not kept, so a zone installed later is found. */
        struct tzone *z = tzone_load(name, err, errlen);
        if (z != NULL) {
            e = xcalloc(1, sizeof(*e));
            e->name = xstrdup(name);
            e->zone = z;
            e->next = tzone_cache;
            tzone_cache = e;
        }
    }
    pthread_mutex_unlock(&tzone_cache_lock);
    return e != NULL ? e->zone : NULL;
}
