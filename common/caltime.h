/* Calendar time: UTC instants to and from proleptic Gregorian dates, and the text forms of
 * instants the fleet writes and reads (MariaDB DATETIME cells, ISO 8601). No time zones here
 * (tzone.h gives UTC offsets), no libc time functions, no locks: every function is pure and
 * safe from any thread. Instants are seconds (or ms where named) since 1970-01-01T00:00:00Z. */
#ifndef JOBFLEET_CALTIME_H
#define JOBFLEET_CALTIME_H

#include <stddef.h>
#include <stdint.h>

#define CALTIME_DAY ((int64_t)86400)
/* 9999-12-31T23:59:59Z, the last second DATETIME and four-digit years can show. */
#define CALTIME_MAX INT64_C(253402300799)

/* A broken-down calendar time; unlike struct tm, the year and month are not offset. */
struct caltime {
    int64_t year;
    int month; /* 1-12 */
    int day;   /* 1-31 */
    int hour, min, sec;
    int wday; /* 0 = Sunday; set by caltime_split, ignored by caltime_join */
};

/* a / b rounded towards minus infinity (b > 0). */
int64_t caltime_floor_div(int64_t a, int64_t b);

/* Days since 1970-01-01 of year y, month m (1-12), day d; a day past the month's end rolls into
 * the next month, as timegm does. Valid for |y| below 2^40. */
int64_t caltime_days_from_civil(int64_t y, int m, int d);

/* The date of a day number (days since 1970-01-01); the inverse of caltime_days_from_civil. */
void caltime_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Days in month m (1-12) of year y, leap years included. */
int caltime_days_in_month(int64_t y, int m);

/* Breaks instant t into *c, as gmtime_r does but without its lock or a year limit. */
void caltime_split(int64_t t, struct caltime *c);

/* The instant of the calendar time *c (wday ignored), as timegm does; seconds, minutes, hours
 * and days past their range carry into the next unit. */
int64_t caltime_join(const struct caltime *c);

/* Formats UTC ms as "YYYY-MM-DD HH:MM:SS.ffffff", the DATETIME(6) parameter form; negative ms
 * format as the epoch and anything past year 9999 (or len < 27) as 9999-12-31 23:59:59.999000
 * (truncated to len). */
void caltime_format_dt6(int64_t ms, char *out, size_t len);

/* As caltime_format_dt6, from UTC microseconds, all six digits kept. */
void caltime_format_dt6_us(int64_t us, char *out, size_t len);

/* Formats t as "YYYY-MM-DD HH:MM:SS", the DATETIME parameter form, into out (truncated to len,
 * always NUL-terminated when len > 0). */
void caltime_format_dt(int64_t t, char *out, size_t len);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (truncated, NUL-terminated when len > 0). */
void caltime_format_utc(int64_t t, char *out, size_t len);

/* Formats the local time at t in a zone whose UTC offset there is off seconds, with that
 * offset: "2026-03-08T03:00:00-05:00". Offsets with seconds (local mean time before ~1900) get
 * them appended, "-04:56:02", rather than silently dropped. Truncated to len, NUL-terminated
 * when len > 0. */
void caltime_format_offset(int64_t t, int32_t off, char *out, size_t len);

/* Parses a DATETIME cell, "2026-03-08 08:00:00" (a fraction is ignored), as UTC seconds.
 * Returns 0, or -1 for NULL or another form. */
int caltime_parse_dt(const char *s, int64_t *out);

/* Parses a DATETIME(6) cell, "2026-03-08 08:00:00.123456" (fraction optional, digits past six
 * ignored), as UTC microseconds. Returns 0, or -1 for NULL or another form. */
int caltime_parse_dt_us(const char *s, int64_t *us);

/* Parses "now", an ISO-8601 time ("2026-11-22T10:00:00Z", "2026-11-22 10:00:00.250", with an
 * optional "+HH:MM" or "+HHMM" offset, HH at most 23 and MM at most 59; no offset means UTC),
 * or a unix time in seconds, into UTC ms. Returns 0, or -1 with *ms untouched on any other text,
 * a day the month does not have, a second 60, or anything after the offset. */
int caltime_parse(const char *s, int64_t *ms);

#endif
