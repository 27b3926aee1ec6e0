/* The scheduler's state and steps, shared by the files of scheduler/: the leader loop
 * (sched.c), leader election (sched_leader.c), the Redis-facing steps (sched_queue.c), the
 * recoveries (sched_recover.c), retention (sched_retention.c) and the cron hook
 * (sched_cron.c). Nothing here is used outside jobfleet-scheduler. */
#ifndef JOBFLEET_SCHED_H
#define JOBFLEET_SCHED_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "db.h"
#include "retry.h"
#include "rq.h"

/* How long a standby blocks in one GET_LOCK before it rechecks its stop flag. Together with
 * the loop around it this bounds a takeover to well under 2 s after the leader's process dies
 * (its connection closes); after its host dies or is cut off, the lock connection's idle
 * timeout (two leases, at least 10 s: sched_leader.c) frees the lock. */
#define SCHED_LOCK_WAIT_S 0.5
/* Batches per tick of the steps that may face a backlog; each batch is [scheduler]
 * batch_size rows at most, so a tick's cost stays bounded whatever is waiting. */
#define SCHED_PICKUP_ROUNDS 4
#define SCHED_RECONCILE_ROUNDS 2
/* Ticks reconcile tries one batch before it moves on past it. */
#define SCHED_RECONCILE_TRIES 3
#define SCHED_RETENTION_ROUNDS 2
/* Retention deletes in small batches so that no transaction holds many row locks. */
#define SCHED_RETENTION_BATCH 500
/* Running jobs of instances that stopped or were lost longer ago than this are left to the
 * watchdog (every running job has a deadline), so lease recovery never walks the whole
 * history of dead instances. */
#define SCHED_DEAD_WINDOW_S 86400
/* The most dead instances of that window lease recovery looks at in one tick. */
#define SCHED_DEAD_MAX 10000

/* A dead instance lease recovery found with no running job, by its last heartbeat: it can get
 * none again (a claim needs a running instance, and one that comes back heartbeats anew). */
struct sched_clean {
    int64_t id;
    char hb[32];
};

/* The backoff and outage state of one connection, so that an outage is logged once when it
 * starts and once when it ends, not once per tick. */
struct sched_link {
    const char *what; /* "MariaDB", "MariaDB (lock)", "Redis" */
    bool down;
    int64_t next_try_ms; /* monotonic; no connect attempt before this */
    struct retry retry;  /* the delay between attempts while down */
};

/* Steps, for deduplicated error messages. */
enum sched_step {
    SCHED_STEP_LEADER,
    SCHED_STEP_PICKUP,
    SCHED_STEP_WATCHDOG,
    SCHED_STEP_LEASE,
    SCHED_STEP_RECONCILE,
    SCHED_STEP_CRON,
    SCHED_STEP_RETENTION,
    SCHED_STEP_TICK,
    SCHED_N_STEPS
};

/* What one tick did, for the debug line and the tests' logs. */
struct sched_counts {
    int picked;
    int timed_out;
    int instances_lost;
    int jobs_lost;
    int checked;
    int repushed;
    int deleted_jobs;
    int deleted_webhooks;
    int fired; /* cron fires that made a job */
};

struct sched {
    const struct cfg *cfg;       /* borrowed */
    volatile sig_atomic_t *stop; /* set by the signal handler */
    struct db *db;               /* every statement of the ticks */
    struct db *lock_db;          /* holds the leader lock and runs nothing else */
    struct rq *rq;
    struct sched_link db_link, lock_link, rq_link;
    char lock_name[65];
    bool leader;
    bool waiting_logged;   /* the standby line was logged for this wait */
    bool cron_config_done; /* the config's schedules are in cron_jobs (sched_cron.c) */
    /* Redis answered a push with an error, its connection up (LOADING after a restart, OOM,
     * MISCONF, a replica's READONLY): pickup and reconcile wait until a probe write goes
     * through, rather than queue batch after batch that no one can push (sched_queue.c). */
    bool rq_refusing;
    /* Monotonic time of the end of the last MariaDB outage this process saw, or of the
     * server's start (1 when that was before this host's boot; 0: not yet read). The
     * lease recovery and the watchdog wait a full lease after it (sched_db_settling), so
     * workers get to heartbeat and write the outcomes they held before their silence is taken
     * for death or their jobs for overdue. */
    int64_t db_back_ms;
    /* The reconcile cursor, kept across ticks: the (dt_due, id) of the last queued job
     * checked, in the order of ix_jobs_state_due. */
    char reconcile_dt[32];
    int64_t reconcile_id;
    int reconcile_fails; /* ticks the batch at the cursor failed in a row */
    /* The last error logged per step and when, to log a repeated error once a minute. */
    char last_err[SCHED_N_STEPS][160];
    int64_t last_err_ms[SCHED_N_STEPS];
    struct sched_counts counts;
    /* The dead instances of SCHED_DEAD_WINDOW_S found clean, by id: lease recovery scans only
     * the others, so that the instances each restart leaves behind cost nothing per tick. */
    struct sched_clean *clean;
    int n_clean;
};

/* Runs the scheduler until *stop becomes nonzero: waits for leadership, then ticks as leader.
 * Never returns because a server went away; connections are re-established with backoff.
 * On stop it finishes the tick, releases the lock and returns 0. cfg is borrowed. */
int sched_run(const struct cfg *cfg, volatile sig_atomic_t *stop);

/* Prints the plan of every tick query (lifecycle_sched.h, instance.h, retention.h) for this
 * database; returns 0, or 1 when a query scans the jobs table in full or cannot be explained. */
int sched_explain(const struct cfg *cfg);

/* Takes leadership, runs n ticks back to back and prints their durations (p50, mean, max in
 * ms) for the benchmarks. Returns 0, or 1 when leadership could not be had within 10 s. */
int sched_measure(const struct cfg *cfg, int n);

/* Metrics (sched_metrics.c), served on [scheduler] metrics_listen: the leader gauge, and a
 * finished tick's duration and step counts. */
void sched_metrics_leader(bool leader);
void sched_metrics_tick(const struct sched *s, int64_t took_ms);
/* A running job of a lost worker or past its deadline was ended (failed or set to retry). */
void sched_metrics_recovered(const char *queue, const char *action);

/* Seconds the watchdog waits past a job's deadline (set at its claim): timeout_grace_s, but
 * never less than the worker needs to stop the job itself (it times a job from its hand-over,
 * up to prefetch_wait_ms after the claim, and kills it kill_grace_s after its SIGTERM), read
 * from this process's [worker] section: a retry before that would run beside the attempt. */
int sched_watchdog_grace_s(const struct cfg *cfg);

/* Connection state (sched.c). sched_db_ready and sched_rq_ready return true when the
 * connection is usable, connecting when the backoff allows. */
bool sched_db_ready(struct sched *s, struct sched_link *l, struct db *db);
bool sched_rq_ready(struct sched *s);
/* True for a lease after MariaDB came back (db_back_ms): the steps that end running jobs wait
 * while workers reconnect. */
bool sched_db_settling(const struct sched *s);
/* Seconds since MariaDB came back or started (db_back_ms), or 2^31 when neither was seen: an
 * instance with a lease longer than this process's is not declared lost before that long. */
int64_t sched_db_back_s(const struct sched *s);
/* Records a failure of a step: a lost connection starts (or continues) an outage, any other
 * error is logged, at most once a minute while it repeats. Both return -1 for the caller. */
int sched_db_fail(struct sched *s, enum sched_step step, struct db *db);
int sched_rq_fail(struct sched *s, enum sched_step step);
void sched_link_down(struct sched_link *l, const char *err);
void sched_link_up(struct sched *s, struct sched_link *l);
/* Logs a step's error unless it repeats the last one of that step within a minute. */
void sched_warn(struct sched *s, enum sched_step step, const char *err);

/* Leader election (sched_leader.c). The lock name is "jobfleet:<database>:scheduler". */
void sched_lock_name(const char *database, char *out, size_t len);
/* One standby attempt: blocks up to SCHED_LOCK_WAIT_S in GET_LOCK; sets s->leader and logs
 * "became leader" when it took the lock. */
void sched_try_lead(struct sched *s);
/* True while the lock connection still holds the lock; otherwise logs "lost leadership" and
 * clears s->leader. */
bool sched_still_leader(struct sched *s);
/* Releases the lock (on shutdown); errors are ignored, closing the connection frees it too. */
void sched_release(struct sched *s);

/* Tick steps. Each returns the number of rows it handled, or -1 after recording the error
 * (sched_db_fail/sched_rq_fail). */
/* Pending jobs that are due → queued (committed) → pushed to Redis. */
int sched_pickup(struct sched *s);
/* False while Redis refuses writes (s->rq_refusing), after probing it once more. */
bool sched_rq_writable(struct sched *s);
/* Queued jobs missing from Redis after requeue_after_s → pushed again. */
int sched_reconcile(struct sched *s);
/* Running jobs past their deadline + grace → finished "timeout". */
int sched_watchdog(struct sched *s);
/* Instances silent for a lease → 'lost'; running jobs of lost/stopped ones → "worker lost". */
int sched_lease(struct sched *s);
/* Succeeded jobs and webhook log rows past retention_days → deleted, a few batches. */
int sched_retention(struct sched *s);
/* Cron firing (sched_cron.c): the config's schedules, then the due fires. */
int sched_cron_step(struct sched *s);
/* Checks the schedules the config keeps ([toga_desk.<client>] schedule and timezone), as a
 * start and --check-config must: at run time a bad one only logs, and its sync never runs.
 * Returns 0, or -1 with err set to one line naming the section, key and what is wrong. */
int sched_cron_check_config(const struct cfg *c, char *err, size_t errlen);

#endif
