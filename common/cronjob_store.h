/* The cron_jobs table's SQL, behind functions: the only file with a statement on cron_jobs.
 * Reads give struct cronjob_row values; writes are the firing step's compare-and-set advance and
 * the operations' insert, enable, disable and delete. To change the table: add a migration under
 * deploy/sql/, then the column lists and cronjob_row here. */
#ifndef JOBFLEET_CRONJOB_STORE_H
#define JOBFLEET_CRONJOB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "cronjob.h"
#include "db.h"
#include "job.h"

/* One cron_jobs row as read. Strings are borrowed from the cronjob_rows holding the row; columns
 * a read does not select are NULL or 0 (each read says which it fills). */
struct cronjob_row {
    int64_t id;
    const char *name;
    const char *schedule;
    const char *timezone; /* NULL or "": [scheduler] timezone */
    const char *action;
    const char *parameters; /* JSON object text */
    const char *queue;
    int priority;
    int timeout_s;       /* 0: NULL, the action's default */
    int max_attempts;    /* 0: NULL, the action's default */
    const char *catchup; /* NULL, "latest" or "none" */
    bool is_active;
    const char *next_fire;      /* DATETIME text (UTC), NULL when never planned */
    const char *last_fire;      /* DATETIME text (UTC), NULL when never fired */
    int64_t last_job_id;        /* 0 when none */
    const char *last_job_state; /* the state of that job, NULL when none or gone */
    const char *created;        /* DATETIME(6) text */
    /* DATETIME(6) text: when the row was added or last enabled (dt_updated), what a row without
     * next_fire is planned from (due and list reads only). */
    const char *plan_from;
};

/* Rows read from cron_jobs; free with cronjob_rows_free. */
struct cronjob_rows {
    int n;
    struct cronjob_row *row;
    struct db_rows *cells; /* owns the strings */
};

/* Frees rows from any read; NULL is allowed. */
void cronjob_rows_free(struct cronjob_rows *rs);

/* The active cron jobs due at now (dt_next_fire <= now, or never planned), oldest first, at most
 * limit. Fills every column but last_fire, last_job_id, last_job_state (is_active is true).
 * NULL on a database error (db_errstr). */
struct cronjob_rows *cronjob_store_due(struct db *db, int64_t now, int limit);

/* The cron job called name, or every cron job by name (name NULL, at most 10,000), with its last
 * job's state. Fills every column but next_fire. NULL on a database error (db_errstr). */
struct cronjob_rows *cronjob_store_list(struct db *db, const char *name);

/* The id, schedule, timezone, is_active, action, parameters and catchup of the cron job called
 * name (no row when there is none). NULL on a database error (db_errstr). */
struct cronjob_rows *cronjob_store_find(struct db *db, const char *name);

/* Checks the result rs of reading the cron job called name (cronjob_store_list or _find):
 * returns rs when it holds the job, else NULL (rs freed) with *e JOB_E_DB (the read failed) or
 * JOB_E_NOTFOUND, and err saying which. */
struct cronjob_rows *cronjob_store_one(struct cronjob_rows *rs, struct db *db, const char *name,
                                       enum job_err *e, char *err, size_t errlen);

/* Inserts an active cron job from spec, with the action, parameters, queue and priority of
 * checked (its job as job_spec_check filled it), timeout_s and max_attempts only when spec
 * gives them (so later fires take the action's defaults then), and next as its next fire (0:
 * none yet, for the scheduler to plan in its own zone from `from`, cron's clock's now, kept as
 * dt_updated). Sets *id. Returns 0, or -1 on a database
 * error (db_duplicate: the name exists). */
int cronjob_store_insert(struct db *db, const struct cronjob_spec *spec,
                         const struct job_spec *checked, int64_t next, int64_t from, int64_t *id);

/* Moves cron job id's next fire from old_next (its DATETIME text as read; NULL: never set) to
 * next, recording fire and job_id as its last fire and job when fire is not 0. *n is 1 when
 * this call moved it, 0 when another scheduler (or an operator) got there first. Returns 0, or
 * -1 on a database error. */
int cronjob_store_advance(struct db *db, int64_t id, const char *old_next, int64_t next,
                          int64_t fire, int64_t job_id, uint64_t *n);

/* Inside the caller's transaction, locks cron job id's row until its commit and says whether
 * a fire may still be made of it: 1 when it is active and its next fire is still old_next (as
 * cronjob_store_advance reads it), 0 when it was disabled, removed or advanced since it was read
 * as due. Returns -1 on a database error. */
int cronjob_store_lock_due(struct db *db, int64_t id, const char *old_next);

/* Disables cron job id. Returns 0, or -1 on a database error. */
int cronjob_store_disable(struct db *db, int64_t id);

/* Enables cron job id, if it is disabled, with next as its next fire (0: none yet, planned by
 * the scheduler from `from`, kept as dt_updated). Returns 0, or -1 on a database error. */
int cronjob_store_enable(struct db *db, int64_t id, int64_t next, int64_t from);

/* Deletes the cron job called name; *n gets the rows deleted (0 or 1). Returns 0, or -1 on a
 * database error. */
int cronjob_store_remove(struct db *db, const char *name, uint64_t *n);

#endif
