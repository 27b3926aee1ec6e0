/* A budget for log lines that clients outside can cause at will (a refused token, a request
 * dropped half-way): without one, each such request writes a line, and an attacker fills the
 * disk through the log at the rate the server answers. */
#ifndef JOBFLEET_LOG_LIMIT_H
#define JOBFLEET_LOG_LIMIT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* Lines a kind may write per window; the rest are counted and summed up in one line. */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_WINDOW_MS 10000

/* One kind of line, each with a budget of its own, so that a flood of one kind hides neither
 * the start of that flood nor any other kind. Static storage, set up with LOG_LIMIT_INIT. */
struct log_limit {
    pthread_mutex_t mu;
    const char *what; /* names the kind in the summary line */
    int64_t window_start_ms;
    int used;
    long left_out;
};

#define LOG_LIMIT_INIT(what)                                                                       \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, (what), 0, 0, 0                                                 \
    }

/* Whether a line of l's kind may be written at now_ms (a monotonic clock in ms): the first
 * LOG_LIMIT_BURST of each window of LOG_LIMIT_WINDOW_MS may. A window begins with the first
 * line after the last one ended; *left_out is then the count the last window left out (else
 * 0), for the caller to report. Safe from any thread. */
bool log_limit_take(struct log_limit *l, int64_t now_ms, long *left_out);

/* log_warnx within l's budget. Lines left out are reported, with their count, by a line
 * written before the first one of the next window: a flood that stops is reported when that
 * kind of line next comes. */
void log_warnx_limited(struct log_limit *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A line of libmicrohttpd's external logger (its fmt and ap) within l's budget, written after
 * prefix ("libmicrohttpd: ") with its trailing newline dropped. */
void log_limit_mhd_line(struct log_limit *l, const char *prefix, const char *fmt, va_list ap);

#endif
