/* The job model as operators and producers see it: enqueue, read, list, retry and cancel.
 * The SQL of the jobs table's operator side lives in job.c, and retry and cancel in
 * job_change.c; the worker's and scheduler's side (claim, check-out, pickup, recovery) lives
 * in lifecycle.c. */
#ifndef JOBFLEET_JOB_H
#define JOBFLEET_JOB_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "db.h"
#include "rq.h"

struct metric_def;

/* What a new job is made of. NULL/0 fields take the action's defaults. */
struct job_spec {
    const char *action;
    const char *parameters; /* JSON text; "{}" when NULL */
    const char *queue;
    int priority;
    int64_t run_at_ms; /* UTC ms; 0 = now */
    int max_attempts;
    int timeout_s;
    const char *unique_key;      /* live-job uniqueness: released when the job finishes */
    const char *idempotency_key; /* delivery dedup (webhooks, spool): never released */
    const char *origin;          /* cli, api, webhook, cron, job, retry */
    int64_t cron_job_id;
    const char *cron_fire_time; /* "YYYY-MM-DD HH:MM:SS" UTC */
};

/* Where an inserted (or found) job is, for pushing and replying. */
struct job_ref {
    int64_t id;
    char uuid[37];
    char queue[65];
    char state[16];
    int priority;
    bool existing; /* an existing job was returned instead of a new one */
    /* Of a new job, as the jobs table gave them back ("2026-11-22 10:00:00.123000"): its run_at
     * and dt_created (which is also its dt_queued when it is queued). Empty for an existing job. */
    char run_at[32];
    char created[32];
};

/* jobs.queue as Redis and the workers tell queues apart, byte for byte, for the statements that
 * group by it: the column's collation is case-insensitive, and grouping by it counted the jobs
 * of queue "DEFAULT", which no worker of "default" pops, as "default"'s. */
#define JOB_QUEUE_EXACT "queue COLLATE utf8mb4_bin AS queue"
#define JOB_PRIORITY_MIN (-1000)
#define JOB_PRIORITY_MAX 1000

/* Errors worth a distinct exit code or HTTP status. */
enum job_err { JOB_E_OK = 0, JOB_E_INPUT = 1, JOB_E_NOTFOUND = 2, JOB_E_STATE = 3, JOB_E_DB = 4 };

/* Checks a spec against the registry (action, JSON, bounds) and fills defaults into *out
 * (strings borrowed from spec and the registry). On error names the field in *field and the
 * problem in err. */
enum job_err job_spec_check(const struct job_spec *spec, bool test_actions, struct job_spec *out,
                            const char **field, char *err, size_t errlen);

/* A unique_key's size with its NUL: the column holds 191 characters. */
#define JOB_UNIQUE_KEY_SIZE 192

/* Makes the unique key of an action with unique_by into key (JOB_UNIQUE_KEY_SIZE bytes):
 * "<action>:<v1>:<v2>...", the values of the parameters (a JSON object's text) that unique_by
 * names (comma-separated, no spaces), in unique_by's order; a string as it is, a number as
 * cJSON prints it, each ':' and '\\' in a value escaped with a '\\' (so that two value lists, or
 * a value and the dry-run mark, never make one key), then ":dry-run" when the parameters'
 * dry_run is true (a dry run must not hold the real job's key). Returns key, or NULL
 * with *field = "parameters" and the problem in err when a named parameter is missing or is
 * not a string or number, params is not JSON, or the key would exceed 191 characters. */
const char *job_unique_key(const char *action, const char *unique_by, const char *params, char *key,
                           const char **field, char *err, size_t errlen);

/* The unique key a job of spec s is stored under, as job_insert stores it, into *key: the one
 * s gives, else the one its action makes from the parameters (job_unique_key, into made:
 * JOB_UNIQUE_KEY_SIZE bytes), else NULL. Returns 0, or -1 with the problem in err when the
 * key cannot be made from the parameters (a spec job_spec_check passed always can). */
int job_spec_unique_key(const struct job_spec *s, char *made, const char **key, char *err,
                        size_t errlen);

/* True when MariaDB would take key for another: its key columns are utf8mb4_bin, which is PAD
 * SPACE, so "k " and "k" are one key. Such a key must be stored hashed or refused. */
bool job_key_padded(const char *key);
/* True for a queue name jobs may carry: 1 to 64 of [A-Za-z0-9._-]. Everything that names a
 * queue (a job, a CLI or dashboard change of its settings) checks it, so no settings row is
 * made for a queue no job can be in. */
bool job_queue_name_ok(const char *q);

/* Longest client key stored as it is by job_idempotency_key; longer ones are hashed. */
#define JOB_CLIENT_KEY_MAX 180

/* True when a client's own idempotency key (a request header, a CLI option) can be stored as
 * it is: not empty, UTF-8 text. Bytes MariaDB would mangle could make two keys one. */
bool job_client_key_ok(const char *key);
/* Makes the stored idempotency key of a client's key (an API Idempotency-Key, a CLI
 * --idempotency-key) under a front door's namespace ns ("api", "cli"; at most 8 characters)
 * into out (JOB_UNIQUE_KEY_SIZE bytes): "<ns>:<key>" for a key of up to JOB_CLIENT_KEY_MAX
 * bytes that does not end in a space, else "<ns>-sha256:<hex SHA-256 of the key>", so a key of any
 * length maps to one value that fits the column. The same client key always gives the same stored
 * key. */
void job_idempotency_key(const char *ns, const char *key, char *out);

/* Inserts one checked job, as 'queued' when due now (the caller then pushes it, after this
 * commit: invariant 1) or 'pending' when in the future. With an idempotency key, unique key or
 * cron fire that already has a job, returns that job with ref->existing set (the job of the
 * idempotency key when there is one, else the live holder of the unique key). Runs inside the
 * caller's transaction when one is open; otherwise autocommits. The statement is
 * job_insert_rows's (job_batch.h). JOB_E_DB with db_lost() true outside a transaction means
 * the outcome is unknown: the statement may have committed before the answer was lost. */
enum job_err job_insert(struct db *db, const struct job_spec *spec, struct job_ref *ref, char *err,
                        size_t errlen);

/* The counter jobfleet_jobs_enqueued_total{queue,action} (for metrics_merge). */
extern const struct metric_def job_metric_enqueued;
/* Counts the job of ref (its queue) and action in jobfleet_jobs_enqueued_total unless ref says
 * it already existed. Call it once the insert is committed, never for a rolled-back one. */
void job_count_enqueued(const char *action, const struct job_ref *ref);

/* Pushes the job's ID when it is queued; a failure is logged and left to the scheduler's
 * reconcile. Returns 0 or -1. */
int job_push(struct rq *rq, const struct job_ref *ref);

/* Attempts job_get shows: the last ones (a reply of one job stays bounded however often it
 * was retried). */
#define JOB_GET_ATTEMPTS 50

/* The job with every jobs column plus "attempts" (its last JOB_GET_ATTEMPTS job_attempts rows,
 * oldest first, with their logs) and, when it has more, "attempts_omitted" (how many older
 * ones are left out). NULL with JOB_E_NOTFOUND or JOB_E_DB in *e. */
cJSON *job_get(struct db *db, int64_t id, enum job_err *e, char *err, size_t errlen);
/* Whether job j (as job_get reads it) was made by the request s repeats: the same action and
 * the same parameters, whatever their members' order. An idempotency key sent again with
 * another request must not return the first job as if it were this one's. */
bool job_same_request(const cJSON *j, const struct job_spec *s);
/* Of the n jobs a batch insert answered (specs[i] and its refs[i]), the index of the first
 * that came back existing under its own idempotency key (not a unique key's holder) although
 * that key's job was made with another action or other parameters, as job_same_request
 * compares them; -1 when there is none, -2 when the read failed (err set). Read on db, inside
 * the caller's transaction when one is open, so a job made earlier in the same batch counts. */
int job_first_key_reused(struct db *db, const struct job_spec *specs, const struct job_ref *refs,
                         int n, char *err, size_t errlen);
/* A job just inserted from the checked spec s, as job_get would show it (every jobs column
 * plus an empty "attempts"), made from what the insert gave back in ref (id, uuid, state,
 * run_at, dt_created) without reading the row. Not for an existing job, nor for one whose
 * unique key the insert made from its parameters (unique_by): read those with job_get. The
 * caller owns the result. */
cJSON *job_new_json(const struct job_spec *s, const struct job_ref *ref);

struct job_filter {
    const char *state;
    const char *action;
    const char *queue;
    int64_t after_id; /* keyset paging: ids below this (newest first); 0 = from the newest */
    int limit;
    int timeout_ms; /* the statement's time bound (max_statement_time); 0 = none */
};

/* Jobs matching the filter, newest first, as a JSON array. NULL with err set on failure;
 * past timeout_ms the statement is stopped and db_errno says JOB_LIST_TIMED_OUT. */
#define JOB_LIST_TIMED_OUT 1969 /* ER_STATEMENT_TIMEOUT */
cJSON *job_list(struct db *db, const struct job_filter *f, char *err, size_t errlen);

/* Every function below that changes jobs takes by, who asks for the change: when not NULL,
 * each job it changes gets an audit_log row ("retry" or "cancel", with by's detail or else
 * the job's new state) in the same transaction as the change, so a change is never stored
 * without its record. NULL records nothing (tests). */

/* Puts a failed or cancelled job (a succeeded one only with force) back to queued with one
 * more attempt allowed, history kept, and pushes it. */
enum job_err job_retry(struct db *db, struct rq *rq, int64_t id, bool force,
                       const struct audit_by *by, char *err, size_t errlen);

/* Retries every job in state (failed or cancelled; succeeded only with force) that matches
 * action (NULL: any) and finished at or after since_ms (0: any time), in batches. *count gets
 * the number retried. */
enum job_err job_retry_bulk(struct db *db, struct rq *rq, const char *state, const char *action,
                            int64_t since_ms, bool force, const struct audit_by *by, int64_t *count,
                            char *err, size_t errlen);

/* Cancels a job: pending or queued ones at once (*state_out "cancelled"); a running one is
 * flagged for its worker, which stops it (*state_out "cancelling"). */
enum job_err job_cancel(struct db *db, struct rq *rq, int64_t id, const struct audit_by *by,
                        const char **state_out, char *err, size_t errlen);

/* Most IDs one job_retry_ids or job_cancel_ids call takes: one transaction's rows locked. */
#define JOB_CHANGE_MAX 1000

/* Retries those of ids[0..n-1] (n <= JOB_CHANGE_MAX) that are failed or cancelled (only those
 * in only_state when not NULL: failed, cancelled or succeeded, the one state a succeeded job
 * is retried from), as job_retry does, in one transaction, and pushes them; IDs in another
 * state, or of no job, are skipped, so a job that changed since it was chosen (a failed one
 * retried and succeeded meanwhile) is not run again. Writes the IDs it retried to done (room
 * for n), in id order, and returns their count; -1 with err set when the transaction failed
 * (nothing changed), or -2 for an only_state it does not take. One commit for them all: a
 * bulk retry of thousands would otherwise wait for one commit per job. */
int job_retry_ids(struct db *db, struct rq *rq, const int64_t *ids, int n, const char *only_state,
                  const struct audit_by *by, int64_t *done, char *err, size_t errlen);

/* Cancels those of ids[0..n-1] (n <= JOB_CHANGE_MAX) that are pending, queued or running (only
 * those in only_state, one of the three, when not NULL), as job_cancel does, in one
 * transaction; others are skipped. Writes the IDs it changed to done (room for n), in id
 * order, and, when running is not NULL, how many of them were running (flagged for their
 * workers) to *running. Returns their count, or -1 with err set (nothing changed). */
int job_cancel_ids(struct db *db, struct rq *rq, const int64_t *ids, int n, const char *only_state,
                   const struct audit_by *by, int64_t *done, int *running, char *err,
                   size_t errlen);

/* Cancels every job in state (pending, queued or running) that matches action and queue
 * (NULL: any), as job_cancel_ids does, JOB_CHANGE_MAX to a transaction; a job that left state
 * meanwhile (a queued one that started) is left as it is. *count gets the number changed, also
 * when a later transaction fails (JOB_E_DB, err set: those before it stay cancelled). */
enum job_err job_cancel_bulk(struct db *db, struct rq *rq, const char *state, const char *action,
                             const char *queue, const struct audit_by *by, int64_t *count,
                             char *err, size_t errlen);

/* Counts by state and queue, as a JSON object. */
cJSON *job_stats(struct db *db, char *err, size_t errlen);
/* The live jobs (pending, queued, running) counted by queue and state: rows of (queue,
 * state, count, of those waiting for a full limit) for the caller to free, or NULL on error
 * (db_errstr). */
struct db_rows *job_live_counts(struct db *db);

#endif
