/* Five-field cron expressions: parsing, and fire times in a named time zone (no database). */
#ifndef JOBFLEET_CRON_H
#define JOBFLEET_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Syntax: "minute hour day-of-month month day-of-week", fields separated by blanks. Each
 * field is a comma list of items; an item is "*", "N", "A-B", or one of those followed by
 * "/STEP" ("0-59/15", "8-18/2", "*" followed by "/15"; "5/10" means 5-<field max>/10).
 * Month names JAN-DEC and weekday names SUN-SAT are accepted in any case; day-of-week 7 is
 * Sunday. Whole-expression macros, in any case: @yearly and @annually (0 0 1 1 *), @monthly
 * (0 0 1 * *), @weekly (0 0 * * 0), @daily and @midnight (0 0 * * *), @hourly (0 * * * *).
 *
 * Day rule (Vixie cron): when day-of-month and day-of-week are both restricted (neither field
 * starts with "*"), a day matches if EITHER matches; otherwise it must match both.
 *
 * Error messages written by cron_parse (N is the field number, NAME its name, LO-HI its
 * allowed values: minute 0-59, hour 0-23, day-of-month 1-31, month 1-12, day-of-week 0-7):
 *   expected 5 fields, got K
 *   unknown macro "@often"
 *   macro "@daily" must be the whole expression
 *   field N (NAME): empty list item
 *   field N (NAME): "TOKEN" is not a number or name
 *   field N (NAME): "TOKEN" is outside LO-HI
 *   field N (NAME): range "A-B" has start greater than end
 *   field N (NAME): range "A-" is incomplete
 *   field N (NAME): step "S" is not a number
 *   field N (NAME): step "0" must be positive
 *   field N (NAME): step "S" is outside 1-MAX    (MAX: 59, 23, 31, 12, 6)
 *
 * Time zones and daylight saving, for a zone tz (minute granularity, times in UTC seconds):
 *   - A local time skipped by a spring-forward jump fires once, at the first instant after the
 *     jump: "30 2 * * *" in America/Chicago on 2026-03-08 fires at 03:00 CDT (08:00Z). Several
 *     skipped matching times collapse into that one fire, and when it coincides with a normal
 *     fire (03:00 here for every-20-minutes, "0-59/20 * * * *") there is still a single fire.
 *   - A local time that occurs twice at a fall-back jump fires once, the first time:
 *     "30 1 * * *" on 2026-11-01 in Chicago fires at 01:30 CDT (06:30Z) only. Every 20
 *     minutes ("0-59/20 * * * *") fires 01:00, 01:20, 01:40 CDT, then 02:00 CST; the repeated
 *     01:xx CST hour fires nothing.
 * Equivalently: a matching local time W fires at the first instant whose local time is >= W.
 */

/* A parsed five-field cron expression. */
struct cron_expr {
    uint64_t minutes; /* bit m set: minute m (0-59) matches */
    uint32_t hours;   /* 0-23 */
    uint32_t mdays;   /* bits 1-31 */
    uint16_t months;  /* bits 1-12 */
    uint8_t wdays;    /* bits 0-6, 0 = Sunday (7 in input also means Sunday) */
    bool mday_star;   /* day-of-month field was "*" (or started with "*") */
    bool wday_star;   /* day-of-week field was "*" (or started with "*") */
};

/* Parses expr into *out. Returns 0, or -1 with *out untouched and one line (messages above,
 * truncated to errlen) written to err; err may be NULL. An expression that parses may still
 * never fire ("0 0 30 2 *"): cron_next then returns -1. */
int cron_parse(const char *expr, struct cron_expr *out, char *err, size_t errlen);

/* True when tz names a usable zone of the system tz database (tzone_get: a checked name whose
 * file under /usr/share/zoneinfo is a TZif file); false for NULL, "", absolute paths, names
 * with empty or "."-led components ("../etc/passwd"), directories, zone.tab and "right/" zones.
 * Thread-safe. */
bool cron_tz_valid(const char *tz);

/* The first fire time strictly after `after` (UTC seconds since the epoch) for e in zone tz,
 * following the daylight-saving rules above. Returns 0 and sets *next, or -1 when there is none
 * within 8 years (2928 days), `after` lies outside years 1-9999, or tz is invalid (cron_tz_valid).
 * Thread-safe: zones come from tzone.h, and the process TZ is neither read nor changed. */
int cron_next(const struct cron_expr *e, const char *tz, int64_t after, int64_t *next);

/* Formats t (UTC seconds) as local time in tz with its UTC offset,
 * "2026-03-08T03:00:00-05:00", into out (always NUL-terminated when len > 0, truncated to
 * len). An invalid tz formats in UTC ("+00:00"). Thread-safe, as cron_next. */
void cron_format_local(int64_t t, const char *tz, char *out, size_t len);

#endif
