/* This file converts between UTC instants and calendar dates and writes and reads their text
 * forms, without libc's time functions: gmtime takes a process-wide lock and timegm is not in
 * C11, and both are called on every webhook and every cron step. */
#include "caltime.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
caltime_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q;
}

/* Howard Hinnant's days_from_civil: years counted from March, so the leap day ends a year. */
int64_t
caltime_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = caltime_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
caltime_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = caltime_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int
caltime_days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

void
caltime_split(int64_t t, struct caltime *c)
{
    int64_t days = caltime_floor_div(t, CALTIME_DAY);
    int64_t sod = t - days * CALTIME_DAY;
    caltime_civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(sod / 3600);
    c->min = (int)(sod / 60 % 60);
    c->sec = (int)(sod % 60);
    c->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
}

int64_t
caltime_join(const struct caltime *c)
{
    /* Months past December carry into the year, as timegm's normalisation does. */
    int64_t y = c->year + caltime_floor_div(c->month - 1, 12);
    int m = (int)(c->month - 1 - caltime_floor_div(c->month - 1, 12) * 12) + 1;
    int64_t days = caltime_days_from_civil(y, m, 1) + c->day - 1;
    return days * CALTIME_DAY + (int64_t)c->hour * 3600 + (int64_t)c->min * 60 + c->sec;
}

void
caltime_format_dt6_us(int64_t us, char *out, size_t len)
{
    /* Digit by digit rather than snprintf: every webhook formats two times. */
    if (us < 0)
        us = 0;
    struct caltime c;
    caltime_split(us / 1000000, &c);
    if (c.year > 9999 || len < 27) {
        snprintf(out, len, "9999-12-31 23:59:59.999000");
        return;
    }
    int64_t fields[] = {c.year, c.month, c.day, c.hour, c.min, c.sec, us % 1000000};
    static const int width[] = {4, 2, 2, 2, 2, 2, 6};
    static const char sep[] = "-- ::.";
    char *p = out;
    for (int i = 0; i < 7; i++) {
        int64_t v = fields[i];
        for (int k = width[i] - 1; k >= 0; k--, v /= 10)
            p[k] = (char)('0' + v % 10);
        p += width[i];
        if (i < 6)
            *p++ = sep[i];
    }
    *p = '\0';
}

void
caltime_format_dt6(int64_t ms, char *out, size_t len)
{
    caltime_format_dt6_us(ms > INT64_MAX / 1000 ? INT64_MAX : ms * 1000, out, len);
}

void
caltime_format_dt(int64_t t, char *out, size_t len)
{
    struct caltime c;
    caltime_split(t, &c);
    snprintf(out, len, "%04" PRId64 "-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour,
             c.min, c.sec);
}

void
caltime_format_utc(int64_t t, char *out, size_t len)
{
    struct caltime c;
    caltime_split(t, &c);
    snprintf(out, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
             c.min, c.sec);
}

void
caltime_format_offset(int64_t t, int32_t off, char *out, size_t len)
{
    if (len == 0)
        return;
    struct caltime c;
    caltime_split(t + off, &c);
    char sign = off < 0 ? '-' : '+';
    int32_t a = off < 0 ? -off : off;
    int n = snprintf(out, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", c.year, c.month,
                     c.day, c.hour, c.min, c.sec, sign, (int)(a / 3600), (int)(a % 3600 / 60));
    /* ISO 8601 has no room for offset seconds; appending them beats dropping them. */
    if (a % 60 != 0 && n > 0 && (size_t)n < len)
        snprintf(out + n, len - (size_t)n, ":%02d", (int)(a % 60));
}

int
caltime_parse_dt(const char *s, int64_t *out)
{
    struct caltime c = {0};
    if (s == NULL || sscanf(s, "%" SCNd64 "-%d-%d %d:%d:%d", &c.year, &c.month, &c.day, &c.hour,
                            &c.min, &c.sec) != 6)
        return -1;
    *out = caltime_join(&c);
    return 0;
}

int
caltime_parse_dt_us(const char *s, int64_t *us)
{
    int64_t t;
    if (caltime_parse_dt(s, &t) < 0)
        return -1;
    int64_t frac = 0;
    const char *dot = strchr(s, '.');
    int digits = 0;
    if (dot != NULL)
        for (const char *p = dot + 1; isdigit((unsigned char)*p) && digits < 6; p++, digits++)
            frac = frac * 10 + (*p - '0');
    for (; digits < 6; digits++)
        frac *= 10;
    *us = t * 1000000 + frac;
    return 0;
}

/* Reads ".fff..." (any number of digits, milliseconds kept) at *p; advances *p past it. */
static int
caltime_parse_frac(const char **p)
{
    int frac_ms = 0, digits = 0;
    if (**p != '.')
        return 0;
    for ((*p)++; isdigit((unsigned char)**p); (*p)++, digits++) {
        if (digits < 3)
            frac_ms = frac_ms * 10 + (**p - '0');
    }
    for (; digits < 3; digits++)
        frac_ms *= 10;
    return frac_ms;
}

/* The two digits at p as a number, or -1 when they are not two digits. */
static int
caltime_two_digits(const char *p)
{
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Reads "Z", "+HH:MM", "+HHMM" (HH at most 23, MM at most 59) or nothing at p into *off_s
 * (seconds east of UTC). Returns the rest of the text, or NULL when an offset is malformed. */
static const char *
caltime_parse_offset(const char *p, int64_t *off_s)
{
    *off_s = 0;
    if (*p == 'Z')
        return p + 1;
    if (*p != '+' && *p != '-')
        return p;
    int sign = *p == '-' ? -1 : 1;
    int hh = caltime_two_digits(p + 1);
    if (hh < 0 || hh > 23)
        return NULL;
    const char *m = p + 3 + (p[3] == ':');
    int mm = caltime_two_digits(m);
    if (mm < 0 || mm > 59)
        return NULL;
    *off_s = sign * (hh * 3600 + mm * 60);
    return m + 2;
}

int
caltime_parse(const char *s, int64_t *ms)
{
    if (strcmp(s, "now") == 0) {
        *ms = now_wall_ms();
        return 0;
    }
    int64_t secs;
    if (parse_int64(s, 0, CALTIME_MAX, &secs) == 0) {
        *ms = secs * 1000;
        return 0;
    }
    /* strptime reads only the numeric fields here, so the locale does not matter. */
    struct tm tm = {0};
    int frac_ms = 0;
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (p == NULL)
        return -1;
    if (*p == 'T' || *p == ' ') {
        p = strptime(p + 1, "%H:%M", &tm);
        if (p != NULL && *p == ':')
            p = strptime(p + 1, "%S", &tm);
        if (p == NULL)
            return -1;
        frac_ms = caltime_parse_frac(&p);
    }
    int64_t off_s;
    p = caltime_parse_offset(p, &off_s);
    if (p == NULL || *p != '\0')
        return -1;
    struct caltime c = {.year = (int64_t)tm.tm_year + 1900,
                        .month = tm.tm_mon + 1,
                        .day = tm.tm_mday,
                        .hour = tm.tm_hour,
                        .min = tm.tm_min,
                        .sec = tm.tm_sec};
    /* strptime takes any day up to 31 and a leap second; joined, 31 February would be 3 March
     * and 23:59:60 the next day's midnight: a time the client did not mean. */
    if (c.day > caltime_days_in_month(c.year, c.month) || c.sec > 59)
        return -1;
    *ms = (caltime_join(&c) - off_s) * 1000 + frac_ms;
    return 0;
}
