/* Allocation that aborts on failure, a bounded growable buffer, and small time helpers. */
#ifndef JOBFLEET_UTIL_H
#define JOBFLEET_UTIL_H

#include <stdbool.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <stdint.h>

/* Allocation failure is logged and aborts: no caller carries an untested OOM branch. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with a va_list. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growable byte buffer with a hard maximum (curl's dynbuf): data is always NUL-terminated. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 means unbounded */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Appends n bytes; returns -1 (and appends nothing) if that would pass the maximum. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (who frees it) and leaves the buffer empty. */
char *buf_detach(struct buf *b);

/* Monotonic and wall clocks in milliseconds; the monotonic clock in microseconds. */
int64_t now_mono_ms(void);
int64_t now_mono_us(void);
int64_t now_wall_ms(void);
/* Sleeps for ms milliseconds, returning early if a signal arrives. */
void sleep_ms(int64_t ms);

/* Parses a base-10 integer that must fill the whole string and lie in [min, max]. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses a duration such as "90", "90s", "15m", "2h", "1d" into seconds: digits, then at most
 * one unit. Returns 0, or -1 (and leaves *out alone) for anything else or a result past
 * INT64_MAX. */
int parse_duration_s(const char *s, int64_t *out);

/* The value of a hex digit (0-9, a-f, A-F), or -1. */
int hex_digit(char c);
/* Writes v in decimal, NUL-terminated, into out (at least 21 bytes); returns the length. */
size_t format_int64(int64_t v, char *out);

/* Initialises a condition variable whose timed waits use CLOCK_MONOTONIC, so that a change
 * of the wall clock neither cuts a wait short nor stretches it. */
void cond_init_monotonic(pthread_cond_t *c);
/* The time ms from now on clock, as pthread_cond_timedwait wants it. */
struct timespec deadline_after_ms(clockid_t clock, int64_t ms);

/* Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^(attempt-1))];
 * attempt < 1 counts as 1, and a base or cap <= 0 gives 0. */
int64_t backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

#endif
