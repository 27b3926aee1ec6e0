/* The webhook log (webhook_log.c): one row per delivery in webhook_log, written by a thread
 * of its own from a bounded queue so that a slow MariaDB never holds a request. */
#ifndef JOBFLEET_WEBHOOK_LOG_H
#define JOBFLEET_WEBHOOK_LOG_H

#include <stdint.h>

#include "cfg.h"

struct webhook_log;

/* A queue of at most max_rows rows, and the thread that writes them on its own connection. */
struct webhook_log *webhook_log_start(const struct cfg_mysql *mysql, int max_rows);
/* Writes what is still queued (when MariaDB takes it), stops the thread and frees the queue,
 * logging rows left unwritten; accepts NULL. */
void webhook_log_stop(struct webhook_log *l);
/* Queues a row; when the queue is full the row is dropped and counted. A refused request (a
 * status of 400 or more and no job) is kept within a budget of LOG_LIMIT_BURST rows per
 * LOG_LIMIT_WINDOW_MS (log_limit.h) and counted beyond it: anyone can send those at will. */
void webhook_log_add(struct webhook_log *l, const char *source, const char *path,
                     const char *action, int status, int64_t job_id, const char *reason);
/* Rows waiting, rows dropped since the start, and rows of refused requests left out. */
int webhook_log_pending(struct webhook_log *l);
long webhook_log_dropped(struct webhook_log *l);
long webhook_log_left_out(struct webhook_log *l);

#endif
