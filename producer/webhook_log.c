/* This file keeps the webhook_log rows of received requests in a bounded queue, and a thread of
 * its own writes them with its own MariaDB connection: every FLUSH_MS, or sooner once
 * FLUSH_ROWS are waiting, all queued rows go in multi-row inserts and one commit. Off the
 * writers' path, log rows neither lengthen a webhook's commit nor keep the writers from their
 * one-statement autocommit, and big inserts cost MariaDB less per row. A log row is a
 * convenience for operators: when it cannot be written it is dropped and counted, and the
 * request it describes is never failed for it. */
#include "bgthread.h"
#include "caltime.h"
#include "fault.h"
#include "job.h"
#include "log.h"
#include "log_limit.h"
#include "utf8.h"
#include "util.h"
#include "webhook_log.h"
#include "webhook_log_store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows per INSERT: one statement per size up to this stays in the connection's cache. */
#define WEBHOOK_LOG_CHUNK 100
#define FLUSH_MS 100
#define FLUSH_ROWS 500
#define RETRY_MS 1000

struct webhook_log {
    struct bgthread bg;           /* woken when FLUSH_ROWS are waiting; its lock guards the ring */
    struct webhook_log_row *rows; /* a ring of max rows */
    int max, head, n;
    atomic_long dropped;
    atomic_long left_out; /* rows of refused requests over their budget */
    struct db *db;        /* the flusher's own */
};

static void
webhook_log_row_release(struct webhook_log_row *r)
{
    free(r->source);
    free(r->path);
    free(r->action);
    free(r->reason);
    memset(r, 0, sizeof(*r));
}

static void
webhook_log_free(struct webhook_log *l)
{
    for (int i = 0; i < l->n; i++)
        webhook_log_row_release(&l->rows[(l->head + i) % l->max]);
    if (l->n || atomic_load(&l->dropped))
        log_warnx("webhook log: %d rows unwritten at exit, %ld dropped in all", l->n,
                  (long)atomic_load(&l->dropped));
    free(l->rows);
    db_free(l->db);
    free(l);
}

void
webhook_log_add(struct webhook_log *l, const char *source, const char *path, const char *action,
                int status, int64_t job_id, const char *reason)
{
    /* A refused request made no job: its row only helps to debug a sender, and a flood of
     * them would grow the table at the rate the producer answers. A delivery that made a job
     * always gets its row. */
    static struct log_limit refused = LOG_LIMIT_INIT("refused webhook rows");
    long over;
    if (status >= 400 && job_id == 0 && !log_limit_take(&refused, now_mono_ms(), &over)) {
        atomic_fetch_add(&l->left_out, 1);
        return;
    }
    struct webhook_log_row r = {.status = status, .job_id = job_id};
    caltime_format_dt6(now_wall_ms(), r.received, sizeof(r.received));
    /* Clipped to the columns' widths and cleaned to UTF-8 (a path is whatever the sender
     * wrote, "%ff" included), so that no value can fail the insert it shares with others. */
    r.source = utf8_clean_clip(source, 64);
    r.path = utf8_clean_clip(path ? path : "", 512);
    r.action = utf8_clean_clip(action, 191);
    r.reason = utf8_clean_clip(reason, 512);
    bgthread_lock(&l->bg);
    if (l->n == l->max) {
        bgthread_unlock(&l->bg);
        atomic_fetch_add(&l->dropped, 1);
        webhook_log_row_release(&r);
        return;
    }
    l->rows[(l->head + l->n) % l->max] = r;
    if (++l->n == FLUSH_ROWS)
        bgthread_wake(&l->bg);
    bgthread_unlock(&l->bg);
}

int
webhook_log_pending(struct webhook_log *l)
{
    bgthread_lock(&l->bg);
    int n = l->n;
    bgthread_unlock(&l->bg);
    return n;
}

long
webhook_log_dropped(struct webhook_log *l)
{
    return atomic_load(&l->dropped);
}

long
webhook_log_left_out(struct webhook_log *l)
{
    return atomic_load(&l->left_out);
}

/* Puts rows that a lost connection did not take back at the head of the queue, as far as
 * there is room; the rest are dropped. Rows already dropped (released: no path) stay out. */
static void
webhook_log_unshift(struct webhook_log *l, struct webhook_log_row *rows, int n)
{
    bgthread_lock(&l->bg);
    for (int i = n - 1; i >= 0; i--) {
        if (rows[i].path == NULL)
            continue;
        if (l->n == l->max) {
            atomic_fetch_add(&l->dropped, 1);
            webhook_log_row_release(&rows[i]);
            continue;
        }
        l->head = (l->head + l->max - 1) % l->max;
        l->rows[l->head] = rows[i];
        l->n++;
    }
    bgthread_unlock(&l->bg);
}

/* Inserts rows one at a time after their multi-row statement failed; a row that fails on
 * its own is dropped (released) and counted. Returns -1 when the connection was lost. */
static int
webhook_log_one_by_one(struct webhook_log *l, struct db *db, struct webhook_log_row *rows, int n)
{
    for (int i = 0; i < n; i++) {
        if (webhook_log_store_insert(db, rows + i, 1) == 0)
            continue;
        if (db_lost(db))
            return -1;
        log_warnx("webhook log: row for %s dropped: %s", rows[i].path, db_errstr(db));
        atomic_fetch_add(&l->dropped, 1);
        webhook_log_row_release(&rows[i]);
    }
    return 0;
}

/* Inserts the n rows, WEBHOOK_LOG_CHUNK per statement (one statement per size stays in the
 * connection's cache); a statement that fails for its values is retried row by row. Returns
 * -1 when the connection was lost: the transaction, and every row of it, is gone then. */
static int
webhook_log_flush(struct webhook_log *l, struct db *db, struct webhook_log_row *rows, int n)
{
    for (int done = 0; done < n;) {
        int k = n - done < WEBHOOK_LOG_CHUNK ? n - done : WEBHOOK_LOG_CHUNK;
        FAULT_POINT_IF(done > 0, "webhook_log.chunk");
        if (webhook_log_store_insert(db, rows + done, k) < 0) {
            if (db_lost(db))
                return -1;
            /* One bad row must not cost the others: each is tried on its own. */
            log_warnx("webhook log: %s; writing the %d rows one by one", db_errstr(db), k);
            if (webhook_log_one_by_one(l, db, rows + done, k) < 0)
                return -1;
        }
        done += k;
    }
    return 0;
}

/* Takes up to max rows off the head of the queue into a new array (NULL when none). */
static struct webhook_log_row *
webhook_log_take(struct webhook_log *l, int max, int *n_out)
{
    bgthread_lock(&l->bg);
    int n = l->n < max ? l->n : max;
    struct webhook_log_row *rows = n ? xcalloc((size_t)n, sizeof(*rows)) : NULL;
    for (int i = 0; i < n; i++)
        rows[i] = l->rows[(l->head + i) % l->max];
    l->head = (l->head + n) % l->max;
    l->n -= n;
    bgthread_unlock(&l->bg);
    *n_out = n;
    return rows;
}

static void
webhook_log_rows_free(struct webhook_log_row *rows, int n)
{
    for (int i = 0; i < n; i++)
        webhook_log_row_release(&rows[i]);
    free(rows);
}

/* Writes what is queued in one transaction. The rows are kept until the commit: a connection
 * lost before it rolls back every statement of the transaction, so all of them go back to the
 * queue. Returns -1 when MariaDB is unreachable (the rows stay queued). */
static int
webhook_log_write(struct webhook_log *l)
{
    FAULT_POINT("webhook_log.write");
    if (!db_connected(l->db) && db_connect(l->db) < 0)
        return -1;
    if (db_begin(l->db) < 0)
        return db_lost(l->db) ? -1 : 0;
    int n;
    struct webhook_log_row *rows = webhook_log_take(l, l->max, &n);
    if (webhook_log_flush(l, l->db, rows, n) < 0) {
        webhook_log_unshift(l, rows, n);
        free(rows);
        return -1;
    }
    if (db_commit(l->db) < 0) {
        /* Lost with the commit's answer, the rows may or may not be in: they are not written
         * twice. Refused with the connection kept, they are not in: dropped and counted. */
        log_warnx("webhook log: commit of %d rows: %s", n, db_errstr(l->db));
        webhook_log_rows_free(rows, n);
        if (db_lost(l->db))
            return -1;
        atomic_fetch_add(&l->dropped, n);
        db_rollback(l->db);
        return 0;
    }
    webhook_log_rows_free(rows, n);
    return 0;
}

static void *
webhook_log_main(void *arg)
{
    struct webhook_log *l = arg;
    bool down = false;
    bgthread_lock(&l->bg);
    for (;;) {
        if (!bgthread_stopping(&l->bg) && (l->n < FLUSH_ROWS || down))
            bgthread_wait_until(&l->bg, now_mono_ms() + (down ? RETRY_MS : FLUSH_MS));
        bool stop = bgthread_stopping(&l->bg);
        int n = l->n;
        bgthread_unlock(&l->bg);
        if (n > 0) {
            bool was_down = down;
            down = webhook_log_write(l) < 0;
            if (down && !was_down)
                log_warnx("webhook log: MariaDB unavailable (%s); %d rows kept to write later",
                          db_errstr(l->db), webhook_log_pending(l));
            else if (!down && was_down)
                log_info("webhook log: MariaDB is back; rows kept during the outage written");
        }
        bgthread_lock(&l->bg);
        if (stop)
            break;
    }
    bgthread_unlock(&l->bg);
    return NULL;
}

struct webhook_log *
webhook_log_start(const struct cfg_mysql *mysql, int max_rows)
{
    struct webhook_log *l = xcalloc(1, sizeof(*l));
    l->max = max_rows;
    l->rows = xcalloc((size_t)max_rows, sizeof(*l->rows));
    l->db = db_new(mysql);
    if (bgthread_start(&l->bg, webhook_log_main, l) < 0)
        fatal("pthread_create");
    return l;
}

void
webhook_log_stop(struct webhook_log *l)
{
    if (l == NULL)
        return;
    bgthread_stop(&l->bg);
    bgthread_release(&l->bg);
    webhook_log_free(l);
}
