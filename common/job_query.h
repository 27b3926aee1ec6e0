/* The dashboard's reads of the jobs table, each bounded whatever the table's size: a filtered
 * listing that examines at most a window of index entries per page, the mapping of a time to
 * a job id, and the aggregates the dashboard's background cache refreshes. */
#ifndef JOBFLEET_JOB_QUERY_H
#define JOBFLEET_JOB_QUERY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Longest text filter accepted (bytes). */
#define JOB_QUERY_TEXT_MAX 200

/* A filtered listing. Strings are borrowed; NULL or "" means no filter. */
struct job_query {
    const char *state;
    const char *action;
    const char *queue;
    const char *origin;
    const char *text; /* substring of the parameters or the failure reason */
    /* The text filter searches the failure reason only: the reader may not see the parameters'
     * secrets (pages redact them), and a match inside one would tell it a guess at a time. */
    bool text_reason_only;
    int64_t min_id;     /* from the time range (job_query_id_at); 0 = none */
    int64_t max_id;     /* exclusive; 0 = none */
    const char *cursor; /* the "next" of the previous page, or NULL for the newest */
    int limit;          /* rows per page, 1..1000 */
    int scan_max;       /* index entries examined per page when residual filters apply */
    int timeout_ms;     /* statement time bound (MariaDB max_statement_time); 0 = none */
};

/* One page of a listing. */
struct job_page {
    cJSON *jobs;     /* array of job summaries, newest first (by the driving index's order) */
    char next[64];   /* cursor of the next page, "" when there is none */
    bool window_end; /* the page stopped at the scan window, not at the limit: older jobs
                      * may still match (the next cursor continues the scan) */
};

/* Runs one page of q: the driving index is state's (state, dt_due), else action's (action,
 * id), else the primary key, and the page examines at most scan_max of its entries; the other
 * filters apply to those rows only. On error returns -1 with the problem in err (a bad cursor
 * or filter names the field "cursor"/"text"); *page is then empty. The caller releases page. */
int job_query_page(struct db *db, const struct job_query *q, struct job_page *page, char *err,
                   size_t errlen);
void job_page_release(struct job_page *page);

/* The smallest job id created at or after t_ms (UTC ms), found by bisecting the primary key
 * (about 40 point reads, since ids grow with dt_created); *id = one past the largest id when
 * none is. Returns 0 or -1 (db_errstr). */
int job_query_id_at(struct db *db, int64_t t_ms, int64_t *id);

/* The statement prefix that bounds a query's run time: "SET STATEMENT max_statement_time=S
 * FOR " (empty for timeout_ms <= 0) into out. */
void job_query_timeout_prefix(int timeout_ms, char *out, size_t len);

/* Finished jobs per minute over the last `minutes` minutes: rows of (state, minute as unix
 * seconds / 60, count) for succeeded and failed. NULL on error (db_errstr). */
struct db_rows *job_query_finished_per_minute(struct db *db, int minutes);
/* Pending, queued and running jobs by state, counted on the (state, dt_due) index alone: rows
 * of (state, count), a range as big as the backlog. NULL on error (db_errstr). */
struct db_rows *job_query_state_counts(struct db *db);
/* Jobs in a finished state, all of them: rows of (state, count, how many of them have dt_due,
 * their dt_completed, at or after since), one read of the whole history's range of the state
 * index. since is "YYYY-MM-DD HH:MM:SS.ffffff" on MariaDB's clock. NULL on error. */
struct db_rows *job_query_finished_counts(struct db *db, const char *since);
/* Jobs in a finished state whose dt_due is at or after since: rows of (state, count), from a
 * range of the state index as big as what finished since. NULL on error (db_errstr). */
struct db_rows *job_query_finished_since(struct db *db, const char *since);
/* Queued jobs per queue with the age of the oldest: rows of (queue, count, oldest age in
 * ms). NULL on error. */
struct db_rows *job_query_queued_age(struct db *db);
/* The running jobs: rows of (id, instance_id, action, queue, dt_started, progress done,
 * total), at most limit. NULL on error. */
struct db_rows *job_query_running(struct db *db, int limit);

/* Applies fn to every job the query matches, in pages, at most max jobs (a bulk retry or
 * cancel); *done counts the calls that returned 0, *seen the jobs visited. Returns 0, or -1
 * with err set when a page fails. */
int job_query_each(struct db *db, const struct job_query *q, int64_t max,
                   int (*fn)(void *arg, int64_t id), void *arg, int64_t *seen, int64_t *done,
                   char *err, size_t errlen);

#endif
