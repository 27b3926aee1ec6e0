/* This file parses cron expressions and walks local calendars to find their next fire times. */
#include "cron.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define CRON_ZONEINFO "/usr/share/zoneinfo"
#define CRON_NFIELDS 5
#define CRON_DAY ((int64_t)86400)
/* "Within 8 years" is measured generously: 8 * 366 days. */
#define CRON_HORIZON (8 * 366 * CRON_DAY)
/* cron_next accepts `after` between 0001-01-01 and 9999-12-31 so calendar arithmetic and
 * localtime_r stay far from overflow. */
#define CRON_MIN_TIME INT64_C(-62135596800)
#define CRON_MAX_TIME INT64_C(253402300799)

struct cron_field_def {
    const char *name;
    int min;
    int max;      /* largest value accepted in the input */
    int open_max; /* where "*" and "N/STEP" stop: day-of-week stops at 6, not at 7 */
    const char *const *names;
    int names_base; /* the value of names[0] */
};

static const char *const cron_month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                               "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const cron_wday_names[] = {"SUN", "MON", "TUE", "WED",
                                              "THU", "FRI", "SAT", NULL};

static const struct cron_field_def cron_fields[CRON_NFIELDS] = {
    {"minute", 0, 59, 59, NULL, 0},
    {"hour", 0, 23, 23, NULL, 0},
    {"day-of-month", 1, 31, 31, NULL, 0},
    {"month", 1, 12, 12, cron_month_names, 1},
    {"day-of-week", 0, 7, 6, cron_wday_names, 0},
};

static const struct {
    const char *name;
    const char *expansion;
} cron_macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Where a parse error goes, and which field is being parsed (-1: none yet). */
struct cron_errctx {
    char *err;
    size_t errlen;
    int field;
};

static void cron_error(const struct cron_errctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cron_error(const struct cron_errctx *c, const char *fmt, ...)
{
    if (c->err == NULL || c->errlen == 0)
        return;
    size_t off = 0;
    if (c->field >= 0) {
        int n = snprintf(c->err, c->errlen, "field %d (%s): ", c->field + 1,
                         cron_fields[c->field].name);
        off = n < 0 ? 0 : (size_t)n;
        if (off >= c->errlen)
            return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + off, c->errlen - off, fmt, ap);
    va_end(ap);
}

/* Parses a run of 1-9 digits; longer runs report INT32_MAX so that range checks reject them. */
static bool
cron_digits(const char *s, int *out)
{
    size_t n = strlen(s);
    if (n == 0 || strspn(s, "0123456789") != n)
        return false;
    if (n > 9) {
        *out = INT32_MAX;
        return true;
    }
    *out = (int)strtol(s, NULL, 10);
    return true;
}

static int
cron_value(const struct cron_errctx *c, const char *tok, int *out)
{
    const struct cron_field_def *f = &cron_fields[c->field];
    int v;
    if (cron_digits(tok, &v)) {
        if (v < f->min || v > f->max) {
            cron_error(c, "\"%s\" is outside %d-%d", tok, f->min, f->max);
            return -1;
        }
        *out = v;
        return 0;
    }
    for (int i = 0; f->names != NULL && f->names[i] != NULL; i++) {
        if (strcasecmp(tok, f->names[i]) == 0) {
            *out = f->names_base + i;
            return 0;
        }
    }
    cron_error(c, "\"%s\" is not a number or name", tok);
    return -1;
}

static int
cron_step(const struct cron_errctx *c, const char *tok, int *out)
{
    const struct cron_field_def *f = &cron_fields[c->field];
    int v;
    if (!cron_digits(tok, &v)) {
        cron_error(c, "step \"%s\" is not a number", tok);
        return -1;
    }
    if (v == 0) {
        cron_error(c, "step \"%s\" must be positive", tok);
        return -1;
    }
    if (v > f->open_max) {
        cron_error(c, "step \"%s\" is outside 1-%d", tok, f->open_max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses one list item ("*", "N", "A-B", each with an optional "/STEP") into bits. The item is
 * modified in place. */
static int
cron_item(const struct cron_errctx *c, char *item, uint64_t *bits)
{
    const struct cron_field_def *f = &cron_fields[c->field];
    int lo, hi, step = 1;
    char *slash = strchr(item, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (cron_step(c, slash + 1, &step) < 0)
            return -1;
    }
    char *dash = strchr(item, '-');
    if (strcmp(item, "*") == 0) {
        lo = f->min;
        hi = f->open_max;
    } else if (item[0] == '*') {
        cron_error(c, "\"%s\" is not a number or name", item);
        return -1;
    } else if (dash != NULL) {
        *dash = '\0';
        const char *end = dash + 1;
        if (item[0] == '\0' || end[0] == '\0') {
            cron_error(c, "range \"%s-%s\" is incomplete", item, end);
            return -1;
        }
        if (cron_value(c, item, &lo) < 0 || cron_value(c, end, &hi) < 0)
            return -1;
        if (lo > hi) {
            cron_error(c, "range \"%s-%s\" has start greater than end", item, end);
            return -1;
        }
    } else {
        if (cron_value(c, item, &lo) < 0)
            return -1;
        /* "5/10" runs from 5 to the end of the field. */
        hi = slash != NULL ? f->open_max : lo;
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= UINT64_C(1) << (c->field == 4 && v == 7 ? 0 : v);
    return 0;
}

/* Parses a comma list into bits; the text is modified in place. */
static int
cron_field(const struct cron_errctx *c, char *text, uint64_t *bits)
{
    *bits = 0;
    for (char *item = text;;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
            *comma = '\0';
        if (item[0] == '\0') {
            cron_error(c, "empty list item");
            return -1;
        }
        if (cron_item(c, item, bits) < 0)
            return -1;
        if (comma == NULL)
            return 0;
        item = comma + 1;
    }
}

static int
cron_macro(const char *name, int nfields, struct cron_expr *out, char *err, size_t errlen)
{
    struct cron_errctx c = {err, errlen, -1};
    for (size_t i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]); i++) {
        if (strcasecmp(name, cron_macros[i].name) != 0)
            continue;
        if (nfields != 1) {
            cron_error(&c, "macro \"%s\" must be the whole expression", name);
            return -1;
        }
        return cron_parse(cron_macros[i].expansion, out, err, errlen);
    }
    cron_error(&c, "unknown macro \"%s\"", name);
    return -1;
}

int
cron_parse(const char *expr, struct cron_expr *out, char *err, size_t errlen)
{
    struct cron_errctx c = {err, errlen, -1};
    char *copy = xstrdup(expr);
    char *fields[CRON_NFIELDS];
    uint64_t bits[CRON_NFIELDS];
    struct cron_expr e = {0};
    int n = 0, rc = -1;

    /* Split on blanks, counting every field so the error can say how many there were. */
    for (char *p = copy;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        if (n < CRON_NFIELDS)
            fields[n] = p;
        n++;
        while (*p != '\0' && !isspace((unsigned char)*p))
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
    if (n > 0 && fields[0][0] == '@') {
        rc = cron_macro(fields[0], n, out, err, errlen);
        goto out;
    }
    if (n != CRON_NFIELDS) {
        cron_error(&c, "expected %d fields, got %d", CRON_NFIELDS, n);
        goto out;
    }

    /* The Vixie day rule looks at the text, so "*" followed by "/2" counts as a star. */
    e.mday_star = fields[2][0] == '*';
    e.wday_star = fields[4][0] == '*';
    for (c.field = 0; c.field < CRON_NFIELDS; c.field++) {
        if (cron_field(&c, fields[c.field], &bits[c.field]) < 0)
            goto out;
    }
    e.minutes = bits[0];
    e.hours = (uint32_t)bits[1];
    e.mdays = (uint32_t)bits[2];
    e.months = (uint16_t)bits[3];
    e.wdays = (uint8_t)bits[4];
    *out = e;
    rc = 0;
out:
    free(copy);
    return rc;
}

bool
cron_tz_valid(const char *tz)
{
    if (tz == NULL || tz[0] == '\0' || tz[0] == '/' || strlen(tz) > 200 || strstr(tz, "..") != NULL)
        return false;
    for (const char *p = tz; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr("/_-+.", *p) == NULL)
            return false;
    }
    char *path = xasprintf("%s/%s", CRON_ZONEINFO, tz);
    struct stat st;
    bool ok = false;
    /* zone.tab and friends are regular files too: require the TZif magic. */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        FILE *fp = fopen(path, "rb");
        char magic[4];
        if (fp != NULL) {
            ok = fread(magic, 1, sizeof(magic), fp) == sizeof(magic) &&
                 memcmp(magic, "TZif", 4) == 0;
            fclose(fp);
        }
    }
    free(path);
    return ok;
}

/* TZ is process-global, so every switch happens under this lock. */
static pthread_mutex_t cron_tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Takes the lock and switches TZ to the zone file for tz; returns the previous TZ value (NULL
 * when unset) for cron_tz_leave. */
static char *
cron_tz_enter(const char *tz)
{
    pthread_mutex_lock(&cron_tz_lock);
    const char *prev = getenv("TZ");
    char *saved = prev != NULL ? xstrdup(prev) : NULL;
    /* An absolute path makes glibc read exactly the file cron_tz_valid checked, whatever
     * TZDIR says. */
    char *path = xasprintf("%s/%s", CRON_ZONEINFO, tz);
    if (setenv("TZ", path, 1) < 0)
        fatal("setenv TZ");
    free(path);
    tzset();
    return saved;
}

static void
cron_tz_leave(char *saved)
{
    if (saved != NULL ? setenv("TZ", saved, 1) < 0 : unsetenv("TZ") < 0)
        fatal("restoring TZ");
    tzset();
    free(saved);
    pthread_mutex_unlock(&cron_tz_lock);
}

static int64_t
cron_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
cron_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = cron_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
cron_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = cron_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
cron_days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* The local wall-clock time at UTC t, as seconds on a calendar without time zones ("wall
 * seconds"); the caller holds the TZ lock. */
static int64_t
cron_wall(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (localtime_r(&tt, &tm) == NULL)
        return t;
    return cron_days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * CRON_DAY +
           tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static int64_t
cron_offset(int64_t t)
{
    return cron_wall(t) - t;
}

/*
 * The fire time of wall time w: the first UTC instant whose wall time is >= w. That is the
 * only instant for an ordinary time, the first of two in a fall-back fold, and the end of the
 * jump for a time skipped by spring-forward. UTC offsets lie within -12h..+14h, so every
 * instant showing w lies in [w - 14h, w + 12h]; this assumes at most one offset change in
 * that window, which holds for every zone in the current tz database.
 */
static int64_t
cron_first_instant(int64_t w)
{
    int64_t lo = w - 15 * 3600, hi = w + 13 * 3600;
    int64_t olo = cron_offset(lo), ohi = cron_offset(hi);
    if (olo == ohi)
        return w - olo;
    /* Find the change: the first second whose offset differs from olo. */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cron_offset(mid) == olo)
            lo = mid;
        else
            hi = mid;
    }
    int64_t change = hi, onew = cron_offset(change);
    if (w - olo < change)
        return w - olo;
    if (w - onew >= change)
        return w - onew;
    return change;
}

static bool
cron_day_matches(const struct cron_expr *e, int d, int wday)
{
    bool dom = (e->mdays >> d) & 1, dow = (e->wdays >> wday) & 1;
    if (e->mday_star || e->wday_star)
        return dom && dow;
    return dom || dow;
}

/* The lowest set bit of bits at or above from (up to max), or -1. */
static int
cron_next_bit(uint64_t bits, int from, int max)
{
    for (int i = from; i <= max; i++) {
        if ((bits >> i) & 1)
            return i;
    }
    return -1;
}

/* A calendar position in wall time, walked forward a field at a time. */
struct cron_pos {
    int64_t days; /* since 1970-01-01 */
    int64_t y;
    int m, d, h, min;
};

static void
cron_pos_next_day(struct cron_pos *p)
{
    p->days++;
    if (++p->d > cron_days_in_month(p->y, p->m)) {
        p->d = 1;
        if (++p->m > 12) {
            p->m = 1;
            p->y++;
        }
    }
    p->h = 0;
    p->min = 0;
}

/* Sets *out to the first matching wall time >= from (minute-aligned), skipping whole months,
 * days and hours that cannot match. Returns -1 when it would pass end. */
static int
cron_next_wall(const struct cron_expr *e, int64_t from, int64_t end, int64_t *out)
{
    struct cron_pos p;
    p.days = cron_floor_div(from, CRON_DAY);
    int64_t secs = from - p.days * CRON_DAY;
    cron_civil_from_days(p.days, &p.y, &p.m, &p.d);
    p.h = (int)(secs / 3600);
    p.min = (int)(secs % 3600 / 60);

    while (p.days * CRON_DAY <= end) {
        if (!((e->months >> p.m) & 1)) {
            /* Jump to the last day of the month; next_day rolls into the next one. */
            p.days += cron_days_in_month(p.y, p.m) - p.d;
            p.d = cron_days_in_month(p.y, p.m);
            cron_pos_next_day(&p);
            continue;
        }
        int wday = (int)((p.days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
        if (!cron_day_matches(e, p.d, wday)) {
            cron_pos_next_day(&p);
            continue;
        }
        int h = cron_next_bit(e->hours, p.h, 23);
        if (h < 0) {
            cron_pos_next_day(&p);
            continue;
        }
        if (h != p.h) {
            p.h = h;
            p.min = 0;
        }
        int min = cron_next_bit(e->minutes, p.min, 59);
        if (min < 0) {
            if (++p.h > 23)
                cron_pos_next_day(&p);
            else
                p.min = 0;
            continue;
        }
        int64_t w = p.days * CRON_DAY + p.h * 3600 + min * 60;
        if (w > end)
            return -1;
        *out = w;
        return 0;
    }
    return -1;
}

/*
 * Fire times are first_instant(W) for the matching wall times W, and first_instant never
 * decreases as W grows, so the answer is first_instant of the smallest matching W whose fire
 * time is after `after`. Every W up to wall(after) fired at or before `after`, so the walk
 * starts at the next minute; only inside a fall-back fold does it meet Ws that already fired.
 */
static int
cron_next_locked(const struct cron_expr *e, int64_t after, int64_t *next)
{
    int64_t wall_after = cron_wall(after);
    int64_t w = cron_floor_div(wall_after, 60) * 60 + 60;
    int64_t end = wall_after + CRON_HORIZON + CRON_DAY;
    for (;;) {
        if (cron_next_wall(e, w, end, &w) < 0)
            return -1;
        int64_t t = cron_first_instant(w);
        if (t > after) {
            if (t - after > CRON_HORIZON)
                return -1;
            *next = t;
            return 0;
        }
        w += 60;
    }
}

int
cron_next(const struct cron_expr *e, const char *tz, int64_t after, int64_t *next)
{
    if (!cron_tz_valid(tz) || after < CRON_MIN_TIME || after > CRON_MAX_TIME)
        return -1;
    char *saved = cron_tz_enter(tz);
    int rc = cron_next_locked(e, after, next);
    cron_tz_leave(saved);
    return rc;
}

void
cron_format_local(int64_t t, const char *tz, char *out, size_t len)
{
    if (len == 0)
        return;
    time_t tt = (time_t)t;
    struct tm tm;
    int64_t off = 0;
    bool ok;
    if (cron_tz_valid(tz)) {
        char *saved = cron_tz_enter(tz);
        ok = localtime_r(&tt, &tm) != NULL;
        if (ok)
            off = cron_offset(t);
        cron_tz_leave(saved);
    } else {
        ok = gmtime_r(&tt, &tm) != NULL;
    }
    if (!ok) {
        snprintf(out, len, "@%" PRId64, t);
        return;
    }
    char sign = off < 0 ? '-' : '+';
    int64_t a = off < 0 ? -off : off;
    int n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                     (int)(a / 3600), (int)(a % 3600 / 60));
    /* Historical local-mean-time offsets have seconds; ISO 8601 has no room for them, so
     * they are appended rather than silently dropped. */
    if (a % 60 != 0 && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, ":%02d", (int)(a % 60));
}
