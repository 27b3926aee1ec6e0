/* This file parses cron expressions and walks local calendars to find their next fire times.
 * Zones come from tzone.h, never from the process TZ, so any thread may call it at once. */
#include "cron.h"
#include "caltime.h"
#include "tzone.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRON_NFIELDS 5
/* "Within 8 years" is measured generously: 8 * 366 days. */
#define CRON_HORIZON (8 * 366 * CALTIME_DAY)
/* cron_next accepts `after` between 0001-01-01 and 9999-12-31 so calendar arithmetic and
 * offset lookups stay far from overflow. */
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
    return tzone_get(tz, NULL, 0) != NULL;
}

/* The local wall-clock time in z at UTC t, as seconds on a calendar without time zones ("wall
 * seconds"). */
static int64_t
cron_wall(const struct tzone *z, int64_t t)
{
    return t + tzone_offset(z, t);
}

/*
 * The fire time of wall time w: the first UTC instant whose wall time is >= w. That is the
 * only instant for an ordinary time, the first of two in a fall-back fold, and the end of the
 * jump for a time skipped by spring-forward. UTC offsets lie within -12h..+14h, so every
 * instant showing w lies in [w - 14h, w + 12h]; this assumes at most one offset change in
 * that window, which holds for every zone in the current tz database.
 */
static int64_t
cron_first_instant(const struct tzone *z, int64_t w)
{
    int64_t lo = w - 15 * 3600, hi = w + 13 * 3600;
    int64_t olo = tzone_offset(z, lo), ohi = tzone_offset(z, hi);
    if (olo == ohi)
        return w - olo;
    /* Find the change: the first second whose offset differs from olo. */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (tzone_offset(z, mid) == olo)
            lo = mid;
        else
            hi = mid;
    }
    int64_t change = hi, onew = tzone_offset(z, change);
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
    if (++p->d > caltime_days_in_month(p->y, p->m)) {
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
    p.days = caltime_floor_div(from, CALTIME_DAY);
    int64_t secs = from - p.days * CALTIME_DAY;
    caltime_civil_from_days(p.days, &p.y, &p.m, &p.d);
    p.h = (int)(secs / 3600);
    p.min = (int)(secs % 3600 / 60);

    while (p.days * CALTIME_DAY <= end) {
        if (!((e->months >> p.m) & 1)) {
            /* Jump to the last day of the month; next_day rolls into the next one. */
            p.days += caltime_days_in_month(p.y, p.m) - p.d;
            p.d = caltime_days_in_month(p.y, p.m);
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
        int64_t w = p.days * CALTIME_DAY + p.h * 3600 + min * 60;
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
int
cron_next(const struct cron_expr *e, const char *tz, int64_t after, int64_t *next)
{
    const struct tzone *z = tzone_get(tz, NULL, 0);
    if (z == NULL || after < CRON_MIN_TIME || after > CRON_MAX_TIME)
        return -1;
    int64_t wall_after = cron_wall(z, after);
    int64_t w = caltime_floor_div(wall_after, 60) * 60 + 60;
    int64_t end = wall_after + CRON_HORIZON + CALTIME_DAY;
    for (;;) {
        if (cron_next_wall(e, w, end, &w) < 0)
            return -1;
        int64_t t = cron_first_instant(z, w);
        if (t > after) {
            if (t - after > CRON_HORIZON)
                return -1;
            *next = t;
            return 0;
        }
        w += 60;
    }
}

void
cron_format_local(int64_t t, const char *tz, char *out, size_t len)
{
    const struct tzone *z = tzone_get(tz, NULL, 0);
    caltime_format_offset(t, z != NULL ? tzone_offset(z, t) : 0, out, len);
}
