/* The check-out thread: the only user of the supervisor's MariaDB connection once the worker
 * runs. It writes the outcomes the supervisor hands it (check-outs and attempt rows, those
 * that arrive together in one transaction), heartbeats the instance row, reloads the actions'
 * retry settings and polls for cancel requests. The supervisor's loop thus never waits on
 * MariaDB, and the check-outs' commits overlap the fetch thread's claims. */
#ifndef JOBFLEET_CHECKOUT_H
#define JOBFLEET_CHECKOUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bgthread.h"
#include "db.h"
#include "lifecycle.h"
#include "limits.h"
#include "retry.h"
#include "rq.h"

/* What one outcome stores at most. A reason is for a person to read; a result this big is a job
 * function's mistake (bulk data belongs in its own store). Whole, either could make its
 * check-out refused every time (a reason longer than its TEXT column, a statement over
 * max_allowed_packet) and hold back every later outcome of the worker. */
#define OUTCOME_REASON_MAX 16384
#define OUTCOME_RESULT_MAX (4u << 20)

/* An outcome waiting to be written, with the job and the strings it owns. */
struct checkout_item {
    struct outcome o; /* its strings point into job, reason and result */
    struct claimed_job job;
    char *reason;
    char *result;
    struct job_limits jl; /* the job's fleet-wide slots, freed once its check-out commits */
    bool hand_back;       /* not an outcome: the job never started; give it back to its queue */
    double score;         /* with hand_back: its score in the queue's sorted set */
    bool stripped;        /* MariaDB refused it alone: its result and most of its reason dropped */
};

struct checkout {
    /* Its stop ends the thread once what is left is written, or stop_by has passed. */
    struct bgthread bg;
    /* Guarded by bg's lock: */
    struct checkout_item *queue; /* handed over, not yet taken by the thread */
    int n_queue, cap_queue;
    int n_unwritten; /* handed over and not written yet */
    int64_t stop_by; /* on stop, how long to keep trying to write what is left */
    bool draining;
    bool any_busy;
    int64_t *cancels; /* running jobs asked to cancel, for the supervisor */
    int n_cancels;
    char *paused_new;      /* the paused queues, when they changed and the supervisor has not
                            * taken them yet (checkout_take_paused) */
    int64_t paused_new_us; /* when the settings read that found them was sent (monotonic) */
    int64_t n_flushes, n_flushed;
    int64_t beat_ok_ms; /* when the last heartbeat that committed was sent (monotonic) */
    bool lost;          /* the last heartbeat found the instance marked lost by the scheduler */
    bool revive;        /* the supervisor stopped what ran then: heartbeats may revive it */
    bool revive_now;    /* ... and the next one is sent at once */
    /* Set before checkout_start, then the thread's: */
    struct db *db;                 /* borrowed, connected; the caller's again after checkout_stop */
    const struct cfg_redis *redis; /* borrowed: for freeing fleet-wide slots */
    int64_t instance_id;
    int64_t lease_ms;
    int heartbeat_ms;
    int pipe_rd; /* readable when cancel requests wait, or the instance was found lost */
    int pipe_wr;
    /* The thread's own: */
    struct limiter lim; /* the actions' retry backoffs; frees fleet-wide slots */
    struct rq *rq;      /* opened on the first hand-back */
    struct checkout_item *batch;
    int n_batch, cap_batch;
    int n_single; /* after MariaDB refused a batch's values: how many to write one at a time */
    int64_t lock_log_ms; /* when a lock wait was last logged */
    int lock_waits;      /* lock waits since */
    bool db_down;
    struct retry db_retry; /* reconnect delays while db_down */
    int64_t retry_at, next_heartbeat, next_settings, next_cancel_poll;
    char *paused_seen; /* the paused queues of the last settings read */
};

/* Starts the thread; db, redis, instance_id, lease_ms and heartbeat_ms must be set. -1 on
 * error (errno set), with everything it made released again; db stays the caller's. */
int checkout_start(struct checkout *c);
/* Hands an outcome over to be written (moved: the thread frees its strings), or with
 * it->hand_back a claimed job that never started, to be queued and pushed again. The job's
 * fleet-wide slots stay taken until its check-out commits, so that the jobs table never shows
 * more of a limited scope running at once than its limit. The outcome's strings are made
 * storable first: valid UTF-8, a reason cut to OUTCOME_REASON_MAX bytes, a result over
 * OUTCOME_RESULT_MAX replaced by a note of its size. */
void checkout_add(struct checkout *c, struct checkout_item *it);
/* As checkout_add, for n items at once: the thread takes them together, so that hand-backs made
 * together (a drain's, the window's) go back in one transaction rather than in as many as the
 * thread happens to wake for. */
void checkout_add_many(struct checkout *c, struct checkout_item *its, int n);
/* Outcomes handed over and not yet written. */
int checkout_unwritten(struct checkout *c);
/* When the last heartbeat that committed was sent (monotonic ms; checkout_start counts as one,
 * the instance row having just been written): MariaDB's dt_heartbeat of this instance is at
 * least that recent, so the scheduler cannot declare it lost before this + lease. */
int64_t checkout_last_beat(struct checkout *c);
/* Whether the last heartbeat found this instance marked lost: its jobs were given to other
 * workers, and it claims nothing until checkout_revive. */
bool checkout_lost(struct checkout *c);
/* The supervisor stopped every job of the lost instance and dropped its window: the next
 * heartbeat, sent at once, marks the instance running again. */
void checkout_revive(struct checkout *c);
/* The heartbeat says "draining" from now on, at once. */
void checkout_set_draining(struct checkout *c);
/* Whether jobs run (cancel requests are polled only then). */
void checkout_set_busy(struct checkout *c, bool any_busy);
/* Moves the cancel requests out (the caller frees the array); NULL when none. */
int64_t *checkout_take_cancels(struct checkout *c, int *n);
/* The queues paused fleet-wide, as "\nq1\nq2\n" ("" when none), when that changed since the
 * last call (the caller frees it); NULL when it did not. *read_us is when the settings read
 * that found them was sent (monotonic microseconds, the clock of fetch_now_us): a claim sent
 * after it that took a job of such a queue saw it resumed (the claim leaves paused queues
 * out). Read with the settings, twice a second. Call after checkout_take_cancels, which
 * empties the pipe both wake it through. */
char *checkout_take_paused(struct checkout *c, int64_t *read_us);
/* Writes what is left, trying for up to grace_ms while MariaDB is away, and joins the
 * thread. Returns how many outcomes could not be written. */
int checkout_stop(struct checkout *c, int64_t grace_ms);

/* A result that is not stored, as the JSON note that stands for it:
 * {"result_not_stored":"<why>","bytes":<its size>}. The caller frees it. */
char *checkout_result_note(const char *why, size_t bytes);

#endif
