/* This header is private to the worker supervisor's files (supervisor.c, sup_fence.c): the
 * supervisor's state, shared by its loop and its self-fencing. */
#ifndef JOBFLEET_SUP_INT_H
#define JOBFLEET_SUP_INT_H

#include "cfg.h"
#include "checkout.h"
#include "fetch.h"
#include "job_status.h"
#include "lifecycle.h"
#include "limits.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct slot {
    pid_t pid;
    int fd;
    bool busy;
    struct claimed_job job;
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
    struct db *db; /* the check-out thread's while it runs */
    int64_t instance_id;
    struct fetch fetch;
    struct checkout checkout;
    struct slot *slots;
    int n_slots;
    bool draining;
    int64_t drain_deadline;
    int64_t next_renew;
    pid_t self;
    struct limiter lim; /* renews the fleet-wide slots of running jobs */
    /* The claim-ahead window: jobs claimed (checked in) that wait for a child, oldest first. */
    struct fetch_job *win;
    int n_win, cap_win;
    int prefetch;       /* the window's most jobs */
    bool prefetch_auto; /* prefetch = -1: sized from the children's run time (sup_window_size) */
    int64_t wait_ms;    /* the longest a job waits in it before it is handed back */
    double avg_run_ms;  /* moving average of how long a child takes per job */
    int64_t n_runs;     /* jobs the children finished: avg_run_ms means little before a few */
    int64_t granted;    /* capacity given to the fetch thread ... */
    int64_t delivered;  /* ... and the jobs it delivered against it */
    int told_idle;      /* what the fetch thread was last told of idle children */
    bool fenced;        /* no heartbeat committed for most of the lease: no job runs */
    int64_t
        clock_off_us; /* MariaDB's clock minus the monotonic clock, from below (sup_real_start) */
    bool clock_off_set;
};

/* Self-fencing: when no heartbeat has committed for most of the lease, kills the running
 * children (their outcome "worker stopped: ...", a retry) so that no job runs here and, once
 * the scheduler declares this worker lost, elsewhere at once; and reports that no job may start
 * until a heartbeat commits again. Returns true while fenced. */
bool sup_fence(struct sup *s);

#endif
