/* This file keeps the log budgets of log_limit.h. */
#include "log_limit.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool
log_limit_take(struct log_limit *l, int64_t now_ms, long *left_out)
{
    pthread_mutex_lock(&l->mu);
    *left_out = 0;
    if (l->window_start_ms == 0 || now_ms - l->window_start_ms >= LOG_LIMIT_WINDOW_MS) {
        *left_out = l->left_out;
        l->window_start_ms = now_ms;
        l->used = 0;
        l->left_out = 0;
    }
    bool ok = l->used < LOG_LIMIT_BURST;
    if (ok)
        l->used++;
    else
        l->left_out++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void
log_warnx_limited(struct log_limit *l, const char *fmt, ...)
{
    long left_out;
    if (!log_limit_take(l, now_mono_ms(), &left_out))
        return;
    if (left_out > 0)
        log_warnx("%ld more %s lines left out in the last window (at most %d per %d s)", left_out,
                  l->what, LOG_LIMIT_BURST, LOG_LIMIT_WINDOW_MS / 1000);
    va_list ap;
    va_start(ap, fmt);
    log_vwarnx(fmt, ap);
    va_end(ap);
}

void
log_limit_mhd_line(struct log_limit *l, const char *prefix, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_warnx_limited(l, "%s%s", prefix, line);
}
