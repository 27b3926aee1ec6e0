/* This file holds the job_logs table's SQL. */
#include "job_log.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
job_log_save(struct db *db, int64_t job_id, int attempt, const char *log,
             const struct job_log_progress *pr)
{
    return db_exec(db,
                   "INSERT INTO job_logs (job_id, attempt, log, progress_done, progress_total, "
                   "progress_note, dt_updated) VALUES (?, ?, ?, ?, ?, LEFT(?, 255), NOW(6)) "
                   "ON DUPLICATE KEY UPDATE log = VALUES(log), progress_done = "
                   "VALUES(progress_done), progress_total = VALUES(progress_total), "
                   "progress_note = VALUES(progress_note), dt_updated = VALUES(dt_updated)",
                   DB_P(DBI(job_id), DBI(attempt), DBS(log), pr ? DBI(pr->done) : DBNULL,
                        pr && pr->total >= 0 ? DBI(pr->total) : DBNULL, DBS(pr ? pr->note : NULL)),
                   NULL, NULL);
}

static cJSON *
job_log_progress_json(const struct db_rows *r, int row)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "attempt", (double)db_rows_int(r, row, 0, 0));
    cJSON_AddNumberToObject(p, "done", (double)db_rows_int(r, row, 2, 0));
    if (db_rows_get(r, row, 3))
        cJSON_AddNumberToObject(p, "total", (double)db_rows_int(r, row, 3, 0));
    else
        cJSON_AddNullToObject(p, "total");
    const char *note = db_rows_get(r, row, 4);
    if (note)
        cJSON_AddStringToObject(p, "note", note);
    else
        cJSON_AddNullToObject(p, "note");
    cJSON_AddStringToObject(p, "updated", db_rows_get(r, row, 5));
    return p;
}

/* The element of attempts whose "attempt" is n, or NULL. */
static cJSON *
job_log_find_attempt(cJSON *attempts, int64_t n)
{
    cJSON *a;
    cJSON_ArrayForEach(a, attempts)
    {
        if (json_int(a, "attempt", 1, JSON_INT_MAX, 0) == n)
            return a;
    }
    return NULL;
}

int
job_log_attach(struct db *db, int64_t job_id, int64_t first_attempt, cJSON *job)
{
    struct db_rows *r = db_query(db,
                                 "SELECT attempt, log, progress_done, progress_total, "
                                 "progress_note, dt_updated FROM job_logs WHERE job_id = ? "
                                 "AND attempt >= ? ORDER BY attempt",
                                 DB_P(DBI(job_id), DBI(first_attempt)));
    if (r == NULL)
        return -1;
    cJSON *attempts = cJSON_GetObjectItemCaseSensitive(job, "attempts");
    for (int i = 0; i < r->n_rows; i++) {
        const char *log = db_rows_get(r, i, 1);
        cJSON *a = job_log_find_attempt(attempts, db_rows_int(r, i, 0, 0));
        if (a)
            cJSON_AddStringToObject(a, "log", log ? log : "");
        bool last = i == r->n_rows - 1;
        if (last && db_rows_get(r, i, 2))
            cJSON_AddItemToObject(job, "progress", job_log_progress_json(r, i));
        if (last && a == NULL)
            cJSON_AddStringToObject(job, "log", log ? log : "");
    }
    db_rows_free(r);
    return 0;
}

int
job_log_delete(struct db *db, const struct db_param *job_ids, int n)
{
    return db_exec_in(db, "DELETE FROM job_logs WHERE job_id IN ", job_ids, n);
}
