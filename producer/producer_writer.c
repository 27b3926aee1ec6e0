/* This file is the producer's group commit: webhook requests and single-job API requests
 * (POST /api/jobs) hand their job to a queue; an inserter thread, with its own MariaDB
 * connection, takes everything queued at once and inserts it with one statement and one
 * commit, so concurrent requests share one fsync instead of paying for one each. It hands the
 * committed batch to a finisher thread, with its own Redis connection, which pushes the IDs
 * and answers the requests while the inserter is already writing the next batch (what
 * arrived during the last one). A watchdog answers any request whose write outlasts
 * [producer] db_timeout_ms, so a stalled MariaDB costs a request at most that long before it
 * is spooled. IDs are pushed to Redis after the commit (invariant 1), by producer_push.c,
 * which keeps what Redis does not take for when it is back. */
#include "bgthread.h"
#include "job_batch.h"
#include "fault.h"
#include "log.h"
#include "metrics.h"
#include "producer.h"
#include "producer_push.h"
#include "producer_writer.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The inserter and the finisher. */
#define WRITER_THREADS 2
#define WRITER_BATCH 256
#define WRITER_IDLE_MS 100
#define WRITER_PROBE_MS 250
/* The finisher answers a batch's requests after its push: a hung Redis must not hold them past
 * db_timeout_ms, when they would be spooled though committed (FAULTS #8). IDs not pushed in
 * time are kept for later, as when Redis is down. */
#define PUSH_ANSWER_MS 500
/* Until MariaDB says otherwise, its default max_allowed_packet (16 MiB). */
#define WRITER_PACKET_DEFAULT (16LL << 20)
/* Room in a packet for a row's other columns and the statement around it. */
#define WRITER_ROW_MARGIN (64 * 1024)

/* How long a batch takes from its first statement to its commit's answer. MariaDB's checkpoint
 * stalls show here first (a redo log too small for the intake: docs/deploy.md), and every
 * request of the batch waited that long. */
static const double writer_commit_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,  0.1,    0.25,  0.5,  1};
static const struct metric_def writer_metric_commit = {
    "jobfleet_producer_commit_seconds",
    "Time the group-commit writer took to store one batch of jobs (statement and commit).",
    METRIC_HISTOGRAM,
    {NULL, NULL},
    writer_commit_buckets,
    (int)(sizeof(writer_commit_buckets) / sizeof(double))};

struct writer_thread {
    struct producer_writer *wr;
    struct db *db;
    struct rq *rq;
    int64_t next_probe_ms;
};

/* A committed batch on its way to the finisher. */
struct writer_done {
    struct writer_done *next;
    int n;
    struct producer_write *b[WRITER_BATCH];
};

struct producer_writer {
    struct producer *p;
    /* The inserter, woken when the queue gains items. Its lock is the writer's: it guards the
     * queue, the outstanding list and every item's state and links. Its stop ends submits. */
    struct bgthread ins;
    /* The finisher, woken when a committed batch waits; its lock guards only d_head/d_tail. */
    struct bgthread fin;
    struct writer_done *d_head, *d_tail;
    struct producer_write *q_head, *q_tail;
    struct producer_write *o_head, *o_tail; /* submitted and not yet answered, oldest first */
    /* The watchdog is a plain thread: it waits under the inserter's lock, which guards the
     * outstanding list it watches, so it keeps a condition variable (the outstanding list
     * gained a head, or stop_watch) and a stop flag of its own. */
    pthread_cond_t watch;
    bool stop_watch;
    atomic_bool db_up;
    atomic_bool refusing; /* the last batch met a server that refuses every write */
    struct writer_thread threads[WRITER_THREADS];
    pthread_t watchdog;
    struct push_backlog *push; /* what Redis did not take, pushed again when it is back */
    atomic_llong max_packet;   /* MariaDB's max_allowed_packet, read at each connect */
};

struct producer_write *
producer_write_new(const struct job_spec *checked)
{
    struct producer_write *w = xcalloc(1, sizeof(*w));
    w->spec = *checked;
    const char **fields[PRODUCER_WRITE_STRINGS] = {
        &w->spec.action,          &w->spec.parameters, &w->spec.queue,         &w->spec.unique_key,
        &w->spec.idempotency_key, &w->spec.origin,     &w->spec.cron_fire_time};
    for (int i = 0; i < PRODUCER_WRITE_STRINGS; i++) {
        if (*fields[i]) {
            w->own[i] = xstrdup(*fields[i]);
            *fields[i] = w->own[i];
        }
    }
    w->state = PW_PENDING;
    atomic_init(&w->refs, 1);
    return w;
}

void
producer_write_release(struct producer_write *w)
{
    if (w == NULL || atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    for (int i = 0; i < PRODUCER_WRITE_STRINGS; i++)
        free(w->own[i]);
    free(w);
}

int
producer_write_state(struct producer_writer *wr, struct producer_write *w)
{
    bgthread_lock(&wr->ins);
    int s = w->state;
    bgthread_unlock(&wr->ins);
    return s;
}

bool
producer_writer_db_up(const struct producer_writer *wr)
{
    return atomic_load(&wr->db_up);
}

bool
producer_writer_refusing(const struct producer_writer *wr)
{
    return atomic_load(&wr->refusing);
}

/* Whether the statement that just failed on db was refused for every row, not for its own:
 * read-only (1290, 1792, 1836), access denied (1044, 1142) or full (1021, 1114). */
static bool
writer_refused(const struct db *db)
{
    unsigned e = db_errno(db);
    return e == 1290 || e == 1792 || e == 1836 || e == 1044 || e == 1142 || e == 1021 || e == 1114;
}

/* Records whether MariaDB refuses writes (why: its error), logging the changes only: a server
 * in read_only answered every webhook with three warning lines. */
static void
writer_set_refusing(struct producer_writer *wr, bool refusing, const char *why)
{
    if (atomic_exchange(&wr->refusing, refusing) == refusing)
        return;
    if (refusing)
        log_warnx("MariaDB refuses writes (%s): webhooks are spooled, API enqueues get 503", why);
    else
        log_info("MariaDB takes writes again");
}

void
producer_writer_wrote(struct producer_writer *wr)
{
    if (atomic_load(&wr->refusing)) /* a read, not a write, per commit */
        writer_set_refusing(wr, false, NULL);
}

size_t
producer_writer_row_max(const struct producer_writer *wr)
{
    long long m = atomic_load(&wr->max_packet) - WRITER_ROW_MARGIN;
    return m > 0 ? (size_t)m : 0;
}

long long
producer_writer_max_packet(struct db *db)
{
    struct db_rows *r = db_query(db, "SELECT @@max_allowed_packet", NULL, 0);
    long long v = -1;
    if (r && r->n_rows > 0 && db_rows_get(r, 0, 0))
        v = strtoll(db_rows_get(r, 0, 0), NULL, 10);
    db_rows_free(r);
    return v;
}

/* Reads max_allowed_packet on a fresh connection: it bounds rows and batches. */
static void
writer_learn_packet(struct producer_writer *wr, struct db *db)
{
    long long v = producer_writer_max_packet(db);
    if (v > 0)
        atomic_store(&wr->max_packet, v);
}

static void
writer_unlink_outstanding(struct producer_writer *wr, struct producer_write *w)
{
    if (!w->in_outstanding)
        return;
    if (w->o_prev)
        w->o_prev->o_next = w->o_next;
    else
        wr->o_head = w->o_next;
    if (w->o_next)
        w->o_next->o_prev = w->o_prev;
    else
        wr->o_tail = w->o_prev;
    w->o_prev = w->o_next = NULL;
    w->in_outstanding = false;
}

/* Answers an item once, with why (NULL: none) as its error: the first of writer and watchdog to
 * get here wins. The error is written under the lock, and only by the winner: the request
 * thread reads it as soon as the item is answered. */
static void
writer_complete(struct producer_writer *wr, struct producer_write *w, int state, const char *why)
{
    bgthread_lock(&wr->ins);
    if (w->state != PW_PENDING) {
        bgthread_unlock(&wr->ins);
        return;
    }
    if (why)
        snprintf(w->err, sizeof(w->err), "%s", why);
    w->state = state;
    writer_unlink_outstanding(wr, w);
    bgthread_unlock(&wr->ins);
    w->wake(w->wake_arg);
}

/* Answers every item with state (PW_FAILED or PW_UNKNOWN) and why. */
static void
writer_fail_all(struct producer_writer *wr, struct producer_write **b, int n, int state,
                const char *why)
{
    for (int i = 0; i < n; i++)
        writer_complete(wr, b[i], state, why);
}

static void
writer_set_down(struct producer_writer *wr, struct writer_thread *t, const char *why)
{
    if (atomic_exchange(&wr->db_up, false))
        log_warnx("MariaDB unavailable (%s): webhooks go to the spool and API enqueues get 503 "
                  "until it is back",
                  why);
    t->next_probe_ms = now_mono_ms() + WRITER_PROBE_MS;
}

void
producer_writer_push(struct producer_writer *wr, struct rq *rq, const struct job_ref *refs, int n)
{
    push_backlog_send(wr->push, rq, refs, n);
}

/* Inserts the batch with job_insert_batch; fills each item's ref. Returns its result; *wrote
 * (when not NULL) as job_insert_batch sets it. */
static enum job_err
writer_insert(struct writer_thread *t, struct producer_write **b, int n, bool *wrote, char *err,
              size_t errlen)
{
    if (FAULT_FAIL("writer.insert")) {
        snprintf(err, errlen, "the test build's fault point writer.insert");
        return JOB_E_INPUT;
    }
    struct job_spec *specs = xcalloc((size_t)n, sizeof(*specs));
    struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
    for (int i = 0; i < n; i++)
        specs[i] = b[i]->spec;
    enum job_err e = job_insert_batch(t->db, specs, n, refs, wrote, err, errlen);
    for (int i = 0; e == JOB_E_OK && i < n; i++)
        b[i]->ref = refs[i];
    free(specs);
    free(refs);
    return e;
}

/* Inserts a batch that is one multi-row statement without a transaction: the statement is
 * atomic on its own and autocommit commits it in the same round trip, which spares START
 * TRANSACTION and COMMIT. Returns 0, 2 to retry row by row (nothing was written), -2 when the
 * outcome is unknown (the connection was lost, so the statement may have committed; or a read
 * after it failed, so its rows are stored but not all answered), or 3 when the batch is not
 * such a batch. */
static int
writer_autocommit(struct writer_thread *t, struct producer_write **b, int n, char *err,
                  size_t errlen)
{
    struct job_spec *specs = xcalloc((size_t)n, sizeof(*specs));
    for (int i = 0; i < n; i++)
        specs[i] = b[i]->spec;
    bool one = job_insert_batch_is_one_statement(specs, n);
    free(specs);
    if (!one)
        return 3;
    bool wrote = false;
    enum job_err e = writer_insert(t, b, n, &wrote, err, errlen);
    /* Rows the statement stored would be stored twice by a retry row by row. */
    if (e != JOB_E_OK)
        return db_lost(t->db) || wrote ? -2 : writer_refused(t->db) ? -3 : 2;
    return 0;
}

/* Inserts the batch in one transaction: with multi-row statements, or row by row (per_row)
 * to find an item that fails on its own. Returns 0 when committed, 1 to try again (without
 * such an item, already answered), 2 to try again row by row, -1 when the connection was
 * lost before the commit (the server rolls the transaction back: nothing is stored), -2 when
 * the outcome is unknown (the connection was lost during the commit, or as writer_autocommit
 * says), -3 when the server refuses every write (writer_refused: nothing is stored). */
static int
writer_txn(struct writer_thread *t, struct producer_write **b, int *n, bool per_row, char *err,
           size_t errlen)
{
    struct producer_writer *wr = t->wr;
    if (!per_row) {
        int rc = writer_autocommit(t, b, *n, err, errlen);
        if (rc != 3)
            return rc;
    }
    if (db_begin(t->db) < 0) {
        snprintf(err, errlen, "%s", db_errstr(t->db));
        return db_lost(t->db) ? -1 : 1;
    }
    if (!per_row && writer_insert(t, b, *n, NULL, err, errlen) != JOB_E_OK) {
        if (db_lost(t->db))
            return -1;
        int rc = writer_refused(t->db) ? -3 : 2;
        db_rollback(t->db);
        return rc;
    }
    for (int i = 0; per_row && i < *n; i++) {
        struct producer_write *w = b[i];
        if (FAULT_FAIL("writer.insert"))
            snprintf(err, errlen, "the test build's fault point writer.insert");
        else if (job_insert(t->db, &w->spec, &w->ref, err, errlen) == JOB_E_OK)
            continue;
        if (db_lost(t->db))
            return -1;
        if (writer_refused(t->db)) {
            db_rollback(t->db);
            return -3;
        }
        /* Too big for MariaDB on its own: this row's data, not the server, is at fault (the
         * server closed the connection; the rest of the batch goes on in a new one). */
        bool refused = db_packet_too_large(t->db);
        db_rollback(t->db);
        log_warnx("%s job %s: %s", w->spec.origin, w->spec.action, err);
        char why[sizeof(w->err)];
        if (refused)
            snprintf(why, sizeof(why),
                     "the job's row (%zu bytes of parameters) is bigger than MariaDB's "
                     "max_allowed_packet: it can never be stored",
                     strlen(w->spec.parameters ? w->spec.parameters : ""));
        else
            snprintf(why, sizeof(why), "%s", err);
        writer_complete(wr, w, refused ? PW_REFUSED : PW_FAILED, why);
        producer_write_release(w);
        memmove(b + i, b + i + 1, sizeof(*b) * (size_t)(*n - i - 1));
        (*n)--;
        return 1;
    }
    if (db_commit(t->db) < 0) {
        snprintf(err, errlen, "commit: %s", db_errstr(t->db));
        /* A lost commit is unknown, not failed: the requests spool with the same idempotency
         * keys, so a replay finds the jobs if the commit did take. */
        if (db_lost(t->db))
            return -2;
        db_rollback(t->db);
        return 1;
    }
    return 0;
}

/* Writes the batch. Returns true when b[0..*n-1] are committed, false when they are answered
 * as failed. Items a row-by-row retry drops on the way are answered, released and taken out,
 * so *n may shrink either way. */
static bool
writer_batch(struct writer_thread *t, struct producer_write **b, int *np)
{
    int n = *np;
    struct producer_writer *wr = t->wr;
    char err[512] = "";
    if (!atomic_load(&wr->db_up)) {
        writer_fail_all(wr, b, n, PW_FAILED, "MariaDB unavailable");
        return false;
    }
    /* A connection the server closed while the writer was idle would fail the batch's first
     * statement as a lost connection, its outcome "unknown" though nothing ran. */
    db_check_idle(t->db, DB_IDLE_CHECK_MS);
    if (!db_connected(t->db)) {
        if (db_connect(t->db) < 0) {
            writer_set_down(wr, t, db_errstr(t->db));
            writer_fail_all(wr, b, n, PW_FAILED, db_errstr(t->db));
            return false;
        }
        /* A new session takes the server's max_allowed_packet as it is now. */
        writer_learn_packet(wr, t->db);
    }
    int64_t t0_us = now_mono_us();
    FAULT_POINT("writer.batch");
    /* A failed multi-row statement is retried row by row, which finds the items at fault. A
     * try that took one of them out counts for nothing: three bad rows used to use up the
     * tries, and the good rows behind them were answered 503. */
    int rc = 1;
    bool per_row = false;
    for (int tries = 4; tries > 0 && rc > 0 && n > 0; tries--) {
        int before = n;
        rc = writer_txn(t, b, &n, per_row, err, sizeof(err));
        if (rc == 2) {
            log_warnx("batch of %d jobs: %s; retrying row by row", n, err);
            per_row = true;
        }
        if (rc == 1 && n < before)
            tries++;
    }
    if (rc == -3)
        writer_set_refusing(wr, true, err);
    if (rc != 0) {
        if (rc < 0 && db_lost(t->db))
            writer_set_down(wr, t, err);
        else
            db_rollback(t->db);
        writer_fail_all(wr, b, n, rc == -2 ? PW_UNKNOWN : PW_FAILED, err);
        *np = n;
        return false;
    }
    producer_writer_wrote(wr);
    metrics_observe(&writer_metric_commit, NULL, NULL, (double)(now_mono_us() - t0_us) / 1e6);
    atomic_fetch_add(&wr->p->metrics.commits, 1);
    atomic_fetch_add(&wr->p->metrics.committed_jobs, n);
    for (int i = 0; i < n; i++)
        job_count_enqueued(b[i]->spec.action, &b[i]->ref);
    *np = n;
    return true;
}

/* The committed batch's second half: push the IDs, answer the requests. Pushed before the
 * requests are answered, so a reply that says "queued" means the ID is in Redis (or kept to
 * push when Redis is back). */
static void
writer_finish(struct producer_writer *wr, struct rq *rq, struct producer_write **b, int n)
{
    struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
    for (int i = 0; i < n; i++)
        refs[i] = b[i]->ref;
    producer_writer_push(wr, rq, refs, n);
    free(refs);
    for (int i = 0; i < n; i++)
        writer_complete(wr, b[i], PW_DONE, NULL);
}

/* Work for a quiet moment: see whether MariaDB is back. */
static void
writer_idle(struct writer_thread *t)
{
    struct producer_writer *wr = t->wr;
    if (atomic_load(&wr->db_up) || now_mono_ms() < t->next_probe_ms)
        return;
    if (db_connect(t->db) == 0 && db_exec_static(t->db, "SELECT 1") == 0) {
        writer_learn_packet(wr, t->db);
        if (!atomic_exchange(&wr->db_up, true))
            log_info("MariaDB is back: webhooks are stored directly again");
    } else {
        t->next_probe_ms = now_mono_ms() + WRITER_PROBE_MS;
    }
}

/* What an item adds to a multi-row statement, roughly: its strings and its placeholders. */
static size_t
writer_item_bytes(const struct producer_write *w)
{
    size_t n = 256;
    for (int i = 0; i < PRODUCER_WRITE_STRINGS; i++)
        if (w->own[i])
            n += strlen(w->own[i]);
    return n;
}

/* The inserter: takes everything queued, writes it, hands the committed batch to the
 * finisher and takes the next at once, so MariaDB always has the next batch's statement
 * while the previous batch's IDs are pushed and its requests answered. */
static void *
writer_main(void *arg)
{
    struct writer_thread *t = arg;
    struct producer_writer *wr = t->wr;
    for (;;) {
        bgthread_lock(&wr->ins);
        if (wr->q_head == NULL && !bgthread_stopping(&wr->ins))
            bgthread_wait_until(&wr->ins, now_mono_ms() + WRITER_IDLE_MS);
        struct writer_done *d = xcalloc(1, sizeof(*d));
        int skipped = 0;
        struct producer_write *skip[WRITER_BATCH];
        /* Bounded by bytes as well as rows: one statement must fit max_allowed_packet. */
        size_t bytes = 0, max_bytes = (size_t)atomic_load(&wr->max_packet) / 2;
        while (wr->q_head && d->n < WRITER_BATCH && skipped < WRITER_BATCH) {
            struct producer_write *w = wr->q_head;
            size_t wb = writer_item_bytes(w);
            if (d->n > 0 && bytes + wb > max_bytes)
                break;
            bytes += wb;
            wr->q_head = w->q_next;
            if (wr->q_head == NULL)
                wr->q_tail = NULL;
            w->in_queue = false;
            /* An item whose request already gave up is spooled by that request. */
            if (w->state == PW_PENDING)
                d->b[d->n++] = w;
            else
                skip[skipped++] = w;
        }
        bool done = bgthread_stopping(&wr->ins) && wr->q_head == NULL && d->n == 0;
        bgthread_unlock(&wr->ins);
        for (int i = 0; i < skipped; i++)
            producer_write_release(skip[i]);
        if (d->n == 0) {
            free(d);
            writer_idle(t);
        } else if (!writer_batch(t, d->b, &d->n) || d->n == 0) {
            for (int i = 0; i < d->n; i++)
                producer_write_release(d->b[i]);
            free(d);
        } else {
            bgthread_lock(&wr->fin);
            if (wr->d_tail)
                wr->d_tail->next = d;
            else
                wr->d_head = d;
            wr->d_tail = d;
            bgthread_wake(&wr->fin);
            bgthread_unlock(&wr->fin);
        }
        if (done)
            break;
    }
    return NULL;
}

/* The finisher: pushes and answers committed batches, and pushes the backlog when idle. */
static void *
writer_finisher(void *arg)
{
    struct writer_thread *t = arg;
    struct producer_writer *wr = t->wr;
    for (;;) {
        bgthread_lock(&wr->fin);
        if (wr->d_head == NULL && !bgthread_stopping(&wr->fin))
            bgthread_wait_until(&wr->fin, now_mono_ms() + WRITER_IDLE_MS);
        struct writer_done *d = wr->d_head;
        if (d) {
            wr->d_head = d->next;
            if (wr->d_head == NULL)
                wr->d_tail = NULL;
        }
        bool stop = bgthread_stopping(&wr->fin) && d == NULL;
        bgthread_unlock(&wr->fin);
        if (d) {
            writer_finish(wr, t->rq, d->b, d->n);
            for (int i = 0; i < d->n; i++)
                producer_write_release(d->b[i]);
            free(d);
        } else if (atomic_load(&wr->db_up)) {
            push_backlog_flush(wr->push, t->rq, false);
        }
        if (stop)
            break;
    }
    return NULL;
}

static void *
writer_watchdog(void *arg)
{
    struct producer_writer *wr = arg;
    bgthread_lock(&wr->ins);
    while (!wr->stop_watch) {
        struct producer_write *w = wr->o_head;
        if (w == NULL) {
            pthread_cond_wait(&wr->watch, bgthread_mutex(&wr->ins));
            continue;
        }
        int64_t now = now_mono_ms();
        if (w->deadline_ms > now) {
            struct timespec ts = deadline_after_ms(CLOCK_MONOTONIC, w->deadline_ms - now);
            pthread_cond_timedwait(&wr->watch, bgthread_mutex(&wr->ins), &ts);
            continue;
        }
        w->state = PW_TIMEOUT;
        snprintf(w->err, sizeof(w->err), "MariaDB slower than db_timeout_ms");
        writer_unlink_outstanding(wr, w);
        bgthread_unlock(&wr->ins);
        atomic_fetch_add(&wr->p->metrics.db_timeouts, 1);
        w->wake(w->wake_arg);
        bgthread_lock(&wr->ins);
    }
    bgthread_unlock(&wr->ins);
    return NULL;
}

int
producer_writer_submit(struct producer_writer *wr, struct producer_write *w)
{
    if (!atomic_load(&wr->db_up))
        return -1;
    bgthread_lock(&wr->ins);
    if (bgthread_stopping(&wr->ins)) {
        bgthread_unlock(&wr->ins);
        return -1;
    }
    atomic_fetch_add(&w->refs, 1);
    w->deadline_ms = now_mono_ms() + wr->p->cfg->producer.db_timeout_ms;
    w->in_queue = w->in_outstanding = true;
    w->q_next = NULL;
    if (wr->q_tail)
        wr->q_tail->q_next = w;
    else
        wr->q_head = w;
    wr->q_tail = w;
    w->o_next = NULL;
    w->o_prev = wr->o_tail;
    if (wr->o_tail)
        wr->o_tail->o_next = w;
    else
        wr->o_head = w;
    wr->o_tail = w;
    if (wr->o_head == w)
        pthread_cond_signal(&wr->watch);
    bgthread_wake(&wr->ins);
    bgthread_unlock(&wr->ins);
    return 0;
}

void
producer_writer_abort(struct producer_writer *wr)
{
    bgthread_ask_stop(&wr->ins);
    bgthread_lock(&wr->ins);
    while (wr->o_head) {
        struct producer_write *w = wr->o_head;
        /* The inserter may be writing it now, and producer_writer_stop lets that commit: the
         * outcome is unknown, not a failure (a client told "not stored" would make a second
         * job). A webhook spools it under its key, as for any unknown outcome. */
        w->state = PW_UNKNOWN;
        snprintf(w->err, sizeof(w->err), "the producer is shutting down");
        writer_unlink_outstanding(wr, w);
        bgthread_unlock(&wr->ins);
        w->wake(w->wake_arg);
        bgthread_lock(&wr->ins);
    }
    bgthread_unlock(&wr->ins);
}

struct producer_writer *
producer_writer_start(struct producer *p)
{
    struct producer_writer *wr = xcalloc(1, sizeof(*wr));
    wr->p = p;
    wr->push = push_backlog_new(&p->metrics.push_failures);
    cond_init_monotonic(&wr->watch);
    atomic_init(&wr->db_up, true);
    atomic_init(&wr->max_packet, WRITER_PACKET_DEFAULT);
    struct writer_thread *ins = &wr->threads[0], *fin = &wr->threads[1];
    ins->wr = fin->wr = wr;
    ins->db = db_new(&p->cfg->mysql);
    fin->rq = rq_new(&p->cfg->redis);
    rq_set_answer_ms(fin->rq, PUSH_ANSWER_MS);
    /* A first connection failing only means MariaDB is down now: the probe finds it. */
    if (db_connect(ins->db) < 0)
        writer_set_down(wr, ins, db_errstr(ins->db));
    else
        writer_learn_packet(wr, ins->db);
    /* The finisher first: the inserter takes the finisher's lock once it has a batch. */
    if (bgthread_start(&wr->fin, writer_finisher, fin) < 0 ||
        bgthread_start(&wr->ins, writer_main, ins) < 0)
        fatal("pthread_create");
    if (pthread_create(&wr->watchdog, NULL, writer_watchdog, wr) != 0)
        fatal("pthread_create");
    return wr;
}

void
producer_writer_stop(struct producer_writer *wr)
{
    if (wr == NULL)
        return;
    /* The inserter drains the queue before the finisher stops, so every batch it commits is
     * still pushed and answered. */
    bgthread_stop(&wr->ins);
    bgthread_stop(&wr->fin);
    /* The writers drained the queue; nothing can be outstanding now, but a request must never
     * be left waiting, so anything that is gets an answer. */
    producer_writer_abort(wr);
    bgthread_lock(&wr->ins);
    wr->stop_watch = true;
    pthread_cond_broadcast(&wr->watch);
    bgthread_unlock(&wr->ins);
    pthread_join(wr->watchdog, NULL);
    push_backlog_flush(wr->push, wr->threads[1].rq, true);
    push_backlog_free(wr->push);
    db_free(wr->threads[0].db);
    rq_free(wr->threads[1].rq);
    pthread_cond_destroy(&wr->watch);
    bgthread_release(&wr->ins);
    bgthread_release(&wr->fin);
    free(wr);
}
