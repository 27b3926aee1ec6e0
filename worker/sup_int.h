/* This header is private to the worker supervisor's files (supervisor.c, sup_handover.c,
 * sup_fence.c): the supervisor's state, shared by its loop, its hand-over of jobs to children
 * and its self-fencing. */
#ifndef JOBFLEET_SUP_INT_H
#define JOBFLEET_SUP_INT_H

#include "cfg.h"
#include "checkout.h"
#include "fetch.h"
#include "gate.h"
#include "job_status.h"
#include "lifecycle.h"
#include "limits.h"
#include "proto.h"
#include "spawner.h"
#include "start_clock.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* At most this many jobs wait in a busy child's socket, handed ahead ([worker] hand_ahead). */
#define SUP_AHEAD_MAX CFG_HAND_AHEAD_MAX

/* A job written to a child's socket while it runs another: it starts when that one ends,
 * unless the supervisor withdraws it first (gate.h). */
struct ahead_job {
    struct fetch_job fj;
    uint64_t seq; /* its number at the child's gate */
};

struct slot {
    pid_t pid;
    int fd;
    struct proto_rbuf rb; /* what the child wrote that is not parsed yet */
    bool busy;
    struct claimed_job job; /* the current job: running, or written and about to start */
    uint64_t seq;           /* its number at the gate */
    double score;           /* its place in its queue, to hand it back if it never starts */
    uint64_t sent;          /* the last number written to the child */
    struct ahead_job ahead[SUP_AHEAD_MAX]; /* the jobs after it, in order */
    int n_ahead;
    int passing; /* withdrawn jobs the child has yet to pass over: none is sent until then */
    int64_t started_ms;
    int64_t deadline_ms;
    int64_t term_ms;   /* when SIGTERM went to a job past its timeout or cancel grace */
    int64_t cancel_ms; /* when SIGUSR1 asked the job to cancel */
    enum job_status kill_status;
    char kill_reason[128];
    bool fence_killed;    /* SIGKILLed by sup_fence */
    struct job_limits jl; /* the fleet-wide slots this job holds */
};

struct sup {
    const struct cfg *cfg;
    struct spawner spawner; /* makes the children once threads run (spawner.h) */
    struct db *db;          /* the check-out thread's while it runs */
    int64_t instance_id;
    struct fetch fetch;
    struct checkout checkout;
    struct slot *slots;
    struct gate *gates; /* one per slot, shared with its child */
    int n_slots;
    bool draining;
    int64_t drain_deadline;
    int64_t next_renew;
    int64_t next_gauges;  /* when the window's gauges are sampled next */
    int64_t next_respawn; /* when a slot whose child could not be started is tried again */
    pid_t self;
    struct limiter lim; /* renews the fleet-wide slots of running jobs */
    /* The claim-ahead window: jobs claimed (checked in) that wait for a child, oldest first. */
    struct fetch_job *win;
    int n_win, cap_win;
    int prefetch;        /* the window's most jobs */
    int hand_ahead;      /* the most jobs handed ahead to one busy child */
    double ahead_run_ms; /* ... only while avg_run_ms is at most this */
    bool prefetch_auto;  /* prefetch = -1: sized from the children's run time (sup_window_size) */
    int64_t wait_ms;     /* the longest a job waits in it before it is handed back */
    double avg_run_ms;   /* moving average of how long a child takes per job */
    int64_t n_runs;      /* jobs the children finished: avg_run_ms means little before a few */
    int64_t granted;     /* capacity given to the fetch thread ... */
    int64_t delivered;   /* ... and the jobs it delivered against it */
    int told_idle;       /* what the fetch thread was last told of idle children */
    bool fenced;         /* no heartbeat committed for most of the lease: no job runs */
    bool revive_asked;   /* declared lost, everything of then stopped: checkout_revive called */
    char *paused;        /* the queues paused fleet-wide, "\nq1\nq2\n" (NULL, "": none) */
    int64_t paused_us;   /* ... as read then (checkout_take_paused) */
    struct start_clock clock; /* MariaDB's clock, for the jobs' real start (sup_real_start) */
};

/* The default window beyond one job per child holds only what the children start within
 * this many milliseconds, and at most SUP_WINDOW_AUTO_PER_CHILD jobs per child: room for claims
 * of FETCH_BATCH_MAX jobs when jobs are short, none to hoard when they are long. A window of
 * twice FETCH_BATCH_MAX or more lets most claims be full ones: with 16 per child (256 for 16
 * children) the drain's claims averaged 136 jobs. A job handed ahead to a child whose job runs
 * longer than SUP_WINDOW_COVER_MS is withdrawn. */
#define SUP_WINDOW_COVER_MS 20.0
/* How often the supervisor samples the window's gauges (jobfleet_worker_window_*). */
#define SUP_GAUGE_MS 100
/* How often a slot left without a child (a fork refused: EAGAIN, ENOMEM, EMFILE) is tried
 * again. */
#define SUP_RESPAWN_MS 1000
#define SUP_WINDOW_AUTO_PER_CHILD 64
/* The most a job's hand-over to a child comes before its lease runs out (sup_start_margin_ms). */
#define SUP_START_MARGIN_MAX_MS 2000

/* Hands a job's outcome to the check-out thread, with its fleet-wide slots (freed once the
 * check-out commits). Takes the job's strings, its slots, reason and result. */
void sup_record(struct sup *s, struct claimed_job *job, struct job_limits *jl, enum job_status st,
                char *reason, char *result, int64_t retry_delay_ms, int64_t exec_ms);

/* sup_handover.c: */
/* Starts jobs of the window, oldest first, while children are idle; then, when jobs are short,
 * hands the next ones ahead to busy children. */
void sup_fill(struct sup *s);
/* The current job of slot sl has ended: the first job handed ahead, if any, is running now. */
void sup_promote(struct sup *s, struct slot *sl);
/* Gives a claimed job that never started back to its queue, through the check-out thread
 * (the row first, then the ID); takes the job. */
void sup_hand_back(struct sup *s, struct fetch_job *fj);
/* Hands back every job in the window. */
void sup_hand_back_window(struct sup *s);
/* Hands back the jobs that waited in the window longer than wait_ms: their children turned out
 * slower than the window was sized for, and a worker with an idle child elsewhere can run them
 * now. */
void sup_expire_window(struct sup *s);
/* The jobs of paused queues (s->paused) that wait in the window or are handed ahead go back
 * unstarted, in one hand-back: a pause stops what has not started within half a second, not
 * once the window has run dry. Only those claimed before s->paused_us: one claimed later saw
 * its queue resumed, which this worker's next settings read will show. Looks at the window's
 * jobs from index from on: 0 when the paused set changed (the jobs handed ahead too), the first
 * new one when a claim's jobs arrive (those before were looked at already). */
void sup_hand_back_paused(struct sup *s, int from);
/* A job asked to cancel while it waits in the window is handed back unstarted: the hand-back
 * reads cancel_requested and ends it cancelled. Else it ran when a child came free, and the
 * next poll stopped it only after its start (and its side effects). */
void sup_cancel_waiting(struct sup *s, int64_t id);
/* Shuts slot sl's gate and takes back the jobs its child has not started: those handed ahead go
 * to the front of the window (handed back to their queues once draining), a current job not
 * yet taken is handed back. Returns 0 when the child is on the current job (running it, or
 * done with its outcome unread), 1 when it has finished it and started a job handed ahead (its
 * outcomes are on the way: a kill now would hit the wrong job), -1 when nothing runs there
 * (the slot is no longer busy). */
int sup_withdraw(struct sup *s, struct slot *sl);

/* Self-fencing: when no heartbeat has committed for most of the lease, or a heartbeat found
 * this instance declared lost already, kills the running children (their outcome "worker
 * stopped: ...", a retry) so that no job runs here and elsewhere at once; and reports that no
 * job may start until a heartbeat commits again. A lost instance, once no child runs, hands its
 * window back and asks the check-out to revive it (checkout_revive). Returns true while
 * fenced. */
bool sup_fence(struct sup *s);

#endif
