/* This file prints timestamped log lines to stderr, one write per line so that the lines of
 * a supervisor and its children never interleave mid-line. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "jobfleet";
static enum log_level log_min = LOG_LEVEL_INFO;

void
log_init(const char *progname, enum log_level level)
{
    log_progname = progname;
    log_min = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Copies msg into out with control characters written as \xNN, so that text from outside (a
 * path with "%0a" in it) can neither forge a log line nor hide in one. Returns the bytes
 * written (out is NUL-terminated, cut at its size). */
static int
log_escape(char *out, size_t size, const char *msg)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 5 < size; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return (int)o;
}

static void
log_vemit(enum log_level level, const char *tag, int err, const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), log_progname, (int)getpid(), tag);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    char msg[sizeof(line)];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m > 0)
        n += log_escape(line + n, sizeof(line) - (size_t)n, msg);
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    if (err)
        n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", strerror(err));
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

#define LOG_FN(name, level, tag, witherr)                                                          \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        int saved = errno;                                                                         \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vemit(level, tag, witherr ? saved : 0, fmt, ap);                                       \
        va_end(ap);                                                                                \
        errno = saved;                                                                             \
    }

LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug", 0)
LOG_FN(log_info, LOG_LEVEL_INFO, "info", 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, "warn", 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, "warn", 0)
LOG_FN(log_error, LOG_LEVEL_ERROR, "error", 0)

void
log_vwarnx(const char *fmt, va_list ap)
{
    int saved = errno;
    log_vemit(LOG_LEVEL_WARN, "warn", 0, fmt, ap);
    errno = saved;
}

void
fatal(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_vemit(LOG_LEVEL_ERROR, "fatal", saved, fmt, ap);
    va_end(ap);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vemit(LOG_LEVEL_ERROR, "fatal", 0, fmt, ap);
    va_end(ap);
    exit(1);
}
