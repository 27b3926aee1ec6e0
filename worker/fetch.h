/* The fetch thread: pops job IDs while the supervisor has idle children (a blocking pop, no
 * polling interval), claims them on a MariaDB connection of its own (claim.c), and hands the
 * claimed jobs to the supervisor. Claims and the supervisor's check-outs thus run on two
 * connections at once, and InnoDB's group commit merges their log flushes. */
#ifndef JOBFLEET_FETCH_H
#define JOBFLEET_FETCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bgthread.h"
#include "cfg.h"
#include "fetch_queues.h"
#include "db.h"
#include "lifecycle.h"
#include "limits.h"
#include "retry.h"

/* One popped ID, with what it takes to put it back in Redis where it was. */
struct fetch_item {
    int64_t id;
    double score;
    int32_t qidx;
    int32_t pad;
};

/* A claimed job on its way to a child: its check-in is committed. */
struct fetch_job {
    struct claimed_job job;
    struct job_limits jl; /* the fleet-wide slots it holds */
    double score;         /* where it was in its queue's sorted set, to hand it back there */
    int64_t claimed_us;   /* when its claim statement was sent (monotonic): the row's dt_started */
    int64_t got_us;       /* when the claim's answer was read (monotonic), after dt_started */
};

#define FETCH_BATCH_MAX 256 /* IDs per pop and per claim statement */
/* Delays between attempts while Redis or the claim connection fails. */
#define FETCH_RETRY_MIN_MS 100
#define FETCH_RETRY_MAX_MS 5000
/* How long a claim waits for a row another session holds locked (db_set_lock_wait_s): less
 * than the check-out's 2 s, as the heartbeat waits for this instance's row behind a claim. */
#define FETCH_LOCK_WAIT_S 1

struct fetch {
    /* Its stop is the drain: no new pops; what is popped is claimed or put back. */
    struct bgthread bg;
    /* Guarded by bg's lock: */
    int want;   /* IDs the supervisor can take now: its idle children and its window's room */
    int idle;   /* children with nothing to run: only then may the thread wait in a
                 * blocking pop, so that a busy worker never takes a job pushed for idle
                 * workers elsewhere */
    bool abort; /* give up on a claim whose outcome is unknown (second signal) */
    bool done;  /* the thread has finished */
    struct fetch_job *ready; /* claimed, not yet taken by the supervisor */
    int n_ready, cap_ready;
    int64_t n_claims, n_claimed; /* claim statements and the jobs they took, for the log */
    int pipe_rd; /* made by fetch_start: readable when claimed jobs are ready or the thread */
    int pipe_wr; /* has finished */
    /* Set before fetch_start, then the thread's: */
    struct cfg_redis redis;        /* borrowed from the config */
    const struct cfg_mysql *mysql; /* borrowed from the config */
    int64_t instance_id;
    int64_t lease_ms;
    struct fetch_queue *queues;
    int n_queues;
    /* The thread's own: */
    struct db *db;
    struct limiter lim; /* settings snapshot: paused queues and limits before each claim */
    bool *paused;       /* per queue */
    int64_t next_settings;
    int64_t claim_token; /* the last token used */
    bool wait_idle;      /* jobs of limited scopes were put back: pop again once a child is idle */
    struct retry db_retry; /* claim-connection delays while MariaDB fails */
    int64_t db_retry_at, last_db_log;
};

/* Starts the thread; queues, redis, mysql, instance_id and lease_ms must be set. -1 on
 * error (errno set), with everything it made released again; queues stay the caller's. */
int fetch_start(struct fetch *f);
/* Adds capacity: delta more jobs can be taken (idle children or room in the window). */
void fetch_want(struct fetch *f, int delta);
/* Tells the thread how many children have nothing to run (see idle). */
void fetch_set_idle(struct fetch *f, int idle);
/* Moves the claimed jobs out to the caller, who owns the returned array (free it) and the
 * jobs in it; NULL when there are none. */
struct fetch_job *fetch_take_jobs(struct fetch *f, int *n);
/* Stops popping: IDs popped before are claimed and handed over, or put back in Redis. */
void fetch_stop(struct fetch *f);
/* Stops, and also gives up waiting for MariaDB to tell whether a claim committed. */
void fetch_abort(struct fetch *f);
/* True once the thread has finished (after fetch_stop). */
bool fetch_finished(struct fetch *f);
/* Joins the thread (after fetch_stop) and releases what it used; returns the claimed jobs not
 * taken yet (the caller owns the array and the jobs; NULL when none) and their number in n. */
struct fetch_job *fetch_join(struct fetch *f, int *n);

/* For claim.c, on the fetch thread: */
/* Adds claimed jobs (moved, with the strings they own) to those ready for the supervisor and
 * wakes it; the array stays the caller's. */
void fetch_deliver(struct fetch *f, struct fetch_job *jobs, int n);
/* Puts popped IDs back in their queues with their scores. */
struct rq;
void fetch_requeue(struct fetch *f, struct rq *rq, const struct fetch_item *items, int n);
/* Sleeps up to ms; an abort (and, when wake_on_stop, a stop) ends the nap early. */
void fetch_nap(struct fetch *f, int64_t ms, bool wake_on_stop);
bool fetch_aborted(struct fetch *f);
/* The monotonic clock in microseconds. */
int64_t fetch_now_us(void);
/* How many children have nothing to run, as the supervisor last said. */
int fetch_idle(struct fetch *f);

#endif
