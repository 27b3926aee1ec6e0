/* This file holds the dashboard's bounded reads of the jobs table (job_query.h).
 *
 * Why a window: a filter the driving index cannot serve (queue, origin, text, or state and
 * action together) would make "the newest 50 matching jobs" scan the whole table when few
 * rows match. Instead each page reads at most scan_max entries of one index in its order and
 * applies the other filters to those rows; a page that ran out of window says so and its
 * cursor continues the scan where the window ended. Every page therefore costs at most
 * scan_max index entries and row reads, whatever the table holds. */
#include "job_query.h"
#include "job.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOB_QUERY_SUMMARY                                                                          \
    "j.id, j.origin, j.queue, j.action, j.priority, j.state, j.attempt, j.max_attempts, "          \
    "j.dt_created, j.dt_started, j.dt_completed, j.execution_ms, j.failure_reason"

void
job_query_timeout_prefix(int timeout_ms, char *out, size_t len)
{
    if (timeout_ms <= 0)
        snprintf(out, len, "%s", "");
    else
        snprintf(out, len, "SET STATEMENT max_statement_time=%d.%03d FOR ", timeout_ms / 1000,
                 timeout_ms % 1000);
}

static bool
job_query_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The parsed cursor: dt_due and id for the state index, id alone otherwise. */
struct job_cursor {
    bool present;
    char due[32];
    int64_t id;
};

static int
job_cursor_parse(const char *s, bool by_due, struct job_cursor *c)
{
    memset(c, 0, sizeof(*c));
    if (!job_query_set(s))
        return 0;
    c->present = true;
    if (!by_due)
        return s[0] == 'I' && parse_int64(s + 1, 1, INT64_MAX, &c->id) == 0 ? 0 : -1;
    const char *bar = strchr(s, '|');
    if (s[0] != 'D' || bar == NULL || (size_t)(bar - s - 1) >= sizeof(c->due) || bar - s < 20)
        return -1;
    snprintf(c->due, sizeof(c->due), "%.*s", (int)(bar - s - 1), s + 1);
    for (const char *p = c->due; *p; p++)
        if (!strchr("0123456789-: .", *p))
            return -1;
    return parse_int64(bar + 1, 1, INT64_MAX, &c->id);
}

/* Appends "%text%" with LIKE's metacharacters escaped into out (2 * n + 3 bytes). */
static void
job_like_pattern(const char *text, char *out)
{
    char *o = out;
    *o++ = '%';
    for (const char *p = text; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '%';
    *o = '\0';
}

/* The statement of one page, built from fixed fragments; every value is a parameter. */
struct job_sql {
    struct buf text;
    struct db_param p[20];
    int n;
    char like[2 * JOB_QUERY_TEXT_MAX + 3];
};

static void
job_sql_window(struct job_sql *s, const struct job_query *q, const struct job_cursor *c,
               bool by_due, int window, int offset)
{
    if (job_query_set(q->state)) {
        buf_appends(&s->text, "SELECT id, dt_due FROM jobs FORCE INDEX (ix_jobs_state_due) "
                              "WHERE state = ?");
        s->p[s->n++] = DBS(q->state);
        if (c->present) {
            buf_appends(&s->text, " AND (dt_due < ? OR (dt_due = ? AND id < ?))");
            s->p[s->n++] = DBS(c->due);
            s->p[s->n++] = DBS(c->due);
            s->p[s->n++] = DBI(c->id);
        }
    } else {
        if (job_query_set(q->action)) {
            buf_appends(&s->text, "SELECT id, NULL AS dt_due FROM jobs FORCE INDEX "
                                  "(ix_jobs_action) WHERE action = ?");
            s->p[s->n++] = DBS(q->action);
        } else {
            buf_appends(&s->text, "SELECT id, NULL AS dt_due FROM jobs WHERE 1=1");
        }
        if (c->present) {
            buf_appends(&s->text, " AND id < ?");
            s->p[s->n++] = DBI(c->id);
        }
        if (q->min_id > 0) {
            buf_appends(&s->text, " AND id >= ?");
            s->p[s->n++] = DBI(q->min_id);
        }
        if (q->max_id > 0) {
            buf_appends(&s->text, " AND id < ?");
            s->p[s->n++] = DBI(q->max_id);
        }
    }
    buf_appends(&s->text, by_due ? " ORDER BY dt_due DESC, id DESC" : " ORDER BY id DESC");
    buf_printf(&s->text, " LIMIT %d OFFSET %d", window, offset);
}

/* The filters the driving index does not serve; true when there is one. */
static bool
job_sql_residual(struct job_sql *s, const struct job_query *q, bool by_due)
{
    size_t before = s->text.len;
    if (by_due && job_query_set(q->action)) {
        buf_appends(&s->text, " AND j.action = ?");
        s->p[s->n++] = DBS(q->action);
    }
    if (by_due && q->min_id > 0) {
        buf_appends(&s->text, " AND j.id >= ?");
        s->p[s->n++] = DBI(q->min_id);
    }
    if (by_due && q->max_id > 0) {
        buf_appends(&s->text, " AND j.id < ?");
        s->p[s->n++] = DBI(q->max_id);
    }
    if (job_query_set(q->queue)) {
        buf_appends(&s->text, " AND j.queue = ?");
        s->p[s->n++] = DBS(q->queue);
    }
    if (job_query_set(q->origin)) {
        buf_appends(&s->text, " AND j.origin = ?");
        s->p[s->n++] = DBS(q->origin);
    }
    if (job_query_set(q->text)) {
        job_like_pattern(q->text, s->like);
        if (q->text_reason_only) {
            buf_appends(&s->text, " AND j.failure_reason LIKE ?");
        } else {
            buf_appends(&s->text, " AND (j.parameters LIKE ? OR j.failure_reason LIKE ?)");
            s->p[s->n++] = DBS(s->like);
        }
        s->p[s->n++] = DBS(s->like);
    }
    return s->text.len != before;
}

static void
job_cursor_format(bool by_due, const char *due, int64_t id, char *out, size_t len)
{
    if (by_due)
        snprintf(out, len, "D%s|%lld", due ? due : "", (long long)id);
    else
        snprintf(out, len, "I%lld", (long long)id);
}

/* The cursor at the window's last entry, for a page that ran out of window. */
static int
job_query_window_end(struct db *db, const struct job_query *q, const struct job_cursor *c,
                     bool by_due, const char *prefix, struct job_page *page)
{
    struct job_sql s = {.n = 0};
    buf_init(&s.text, 0);
    buf_appends(&s.text, prefix);
    job_sql_window(&s, q, c, by_due, 1, q->scan_max - 1);
    struct db_rows *r = db_query(db, s.text.data, s.p, s.n);
    buf_release(&s.text);
    if (r == NULL)
        return -1;
    if (r->n_rows == 1) {
        job_cursor_format(by_due, db_rows_get(r, 0, 1), db_rows_int(r, 0, 0, 0), page->next,
                          sizeof(page->next));
        page->window_end = true;
    }
    db_rows_free(r);
    return 0;
}

int
job_query_page(struct db *db, const struct job_query *q, struct job_page *page, char *err,
               size_t errlen)
{
    memset(page, 0, sizeof(*page));
    bool by_due = job_query_set(q->state);
    struct job_cursor c;
    if (job_cursor_parse(q->cursor, by_due, &c) < 0) {
        snprintf(err, errlen, "cursor: not a cursor of this listing");
        return -1;
    }
    if (job_query_set(q->text) && strlen(q->text) > JOB_QUERY_TEXT_MAX) {
        snprintf(err, errlen, "text: at most %d bytes", JOB_QUERY_TEXT_MAX);
        return -1;
    }
    char prefix[96];
    job_query_timeout_prefix(q->timeout_ms, prefix, sizeof(prefix));
    int limit = q->limit > 0 ? q->limit : 50;
    struct job_sql s = {.n = 0};
    buf_init(&s.text, 0);
    buf_printf(&s.text, "%sSELECT " JOB_QUERY_SUMMARY ", w.dt_due AS cursor_due FROM (", prefix);
    /* Without residual filters the window need be no larger than the page. */
    struct job_sql probe = {.n = 0};
    buf_init(&probe.text, 0);
    bool residual = job_sql_residual(&probe, q, by_due);
    buf_release(&probe.text);
    job_sql_window(&s, q, &c, by_due, residual ? q->scan_max : limit, 0);
    buf_appends(&s.text, ") w JOIN jobs j ON j.id = w.id WHERE 1=1");
    job_sql_residual(&s, q, by_due);
    buf_appends(&s.text, by_due ? " ORDER BY w.dt_due DESC, w.id DESC" : " ORDER BY w.id DESC");
    buf_printf(&s.text, " LIMIT %d", limit);
    struct db_rows *r = db_query(db, s.text.data, s.p, s.n);
    buf_release(&s.text);
    if (r == NULL) {
        snprintf(err, errlen, "list jobs: %s", db_errstr(db));
        return -1;
    }
    int due_col = r->n_cols - 1;
    if (r->n_rows == limit) {
        job_cursor_format(by_due, db_rows_get(r, limit - 1, due_col),
                          db_rows_int(r, limit - 1, 0, 0), page->next, sizeof(page->next));
    } else if (residual && job_query_window_end(db, q, &c, by_due, prefix, page) < 0) {
        db_rows_free(r);
        snprintf(err, errlen, "list jobs: %s", db_errstr(db));
        return -1;
    }
    page->jobs = json_from_rows(r);
    cJSON *it;
    cJSON_ArrayForEach(it, page->jobs) cJSON_DeleteItemFromObjectCaseSensitive(it, "cursor_due");
    db_rows_free(r);
    return 0;
}

void
job_page_release(struct job_page *page)
{
    cJSON_Delete(page->jobs);
    memset(page, 0, sizeof(*page));
}

int
job_query_id_at(struct db *db, int64_t t_ms, int64_t *id)
{
    struct db_rows *r = db_query(db, "SELECT COALESCE(MAX(id), 0) FROM jobs", DB_NOP);
    if (r == NULL)
        return -1;
    int64_t hi = db_rows_int(r, 0, 0, 0) + 1, lo = 1;
    db_rows_free(r);
    char when[40];
    snprintf(when, sizeof(when), "%lld.%03lld", (long long)(t_ms / 1000), (long long)(t_ms % 1000));
    /* Invariant: every id below lo was created before t; hi is past every id or at one created
     * at or after t. Gaps in the ids are stepped over by "the first id >= mid". */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        r = db_query(db,
                     "SELECT id, dt_created >= FROM_UNIXTIME(?) FROM jobs WHERE id >= ? "
                     "ORDER BY id LIMIT 1",
                     DB_P(DBS(when), DBI(mid)));
        if (r == NULL)
            return -1;
        if (r->n_rows == 0 || db_rows_int(r, 0, 1, 0) == 1)
            hi = mid;
        else
            lo = db_rows_int(r, 0, 0, mid) + 1;
        db_rows_free(r);
    }
    *id = lo;
    return 0;
}

struct db_rows *
job_query_finished_per_minute(struct db *db, int minutes)
{
    /* dt_due is dt_completed for finished jobs: a range of the (state, dt_due) index. */
    return db_query(db,
                    "SELECT state, FLOOR(UNIX_TIMESTAMP(dt_due) / 60) AS m, COUNT(*) FROM jobs "
                    "WHERE state IN ('succeeded', 'failed') AND dt_due >= NOW(6) - INTERVAL ? "
                    "MINUTE GROUP BY state, m",
                    DB_P(DBI(minutes)));
}

struct db_rows *
job_query_state_counts(struct db *db)
{
    return db_query(db,
                    "SELECT state, COUNT(*) FROM jobs FORCE INDEX (ix_jobs_state_due) WHERE state "
                    "IN ('pending', 'queued', 'running') GROUP BY state",
                    DB_NOP);
}

struct db_rows *
job_query_finished_counts(struct db *db, const char *since)
{
    return db_query(db,
                    "SELECT state, COUNT(*), COALESCE(SUM(dt_due >= ?), 0) FROM jobs FORCE INDEX "
                    "(ix_jobs_state_due) WHERE state IN ('succeeded', 'failed', 'cancelled') "
                    "GROUP BY state",
                    DB_P(DBS(since)));
}

struct db_rows *
job_query_finished_since(struct db *db, const char *since)
{
    return db_query(db,
                    "SELECT state, COUNT(*) FROM jobs FORCE INDEX (ix_jobs_state_due) WHERE state "
                    "IN ('succeeded', 'failed', 'cancelled') AND dt_due >= ? GROUP BY state",
                    DB_P(DBS(since)));
}

struct db_rows *
job_query_queued_age(struct db *db)
{
    return db_query(db,
                    "SELECT " JOB_QUEUE_EXACT ", COUNT(*), "
                    "FLOOR(TIMESTAMPDIFF(MICROSECOND, MIN(dt_due), NOW(6)) / 1000) "
                    "FROM jobs WHERE state = 'queued' GROUP BY 1 ORDER BY 1",
                    DB_NOP);
}

struct db_rows *
job_query_running(struct db *db, int limit)
{
    return db_query(db,
                    "SELECT j.id, j.instance_id, j.action, j.queue, j.dt_started, "
                    "l.progress_done, l.progress_total FROM jobs j "
                    "LEFT JOIN job_logs l ON l.job_id = j.id AND l.attempt = j.attempt "
                    "WHERE j.state = 'running' ORDER BY j.id LIMIT ?",
                    DB_P(DBI(limit)));
}

int
job_query_each(struct db *db, const struct job_query *q, int64_t max,
               int (*fn)(void *arg, int64_t id), void *arg, int64_t *seen, int64_t *done, char *err,
               size_t errlen)
{
    struct job_query pq = *q;
    char cursor[64] = "";
    *seen = *done = 0;
    for (;;) {
        pq.cursor = cursor[0] ? cursor : NULL;
        struct job_page page;
        if (job_query_page(db, &pq, &page, err, errlen) < 0)
            return -1;
        cJSON *it;
        cJSON_ArrayForEach(it, page.jobs)
        {
            if (*seen >= max)
                break;
            int64_t id = json_int(it, "id", 1, JSON_INT_MAX, 0);
            (*seen)++;
            if (id > 0 && fn(arg, id) == 0)
                (*done)++;
        }
        snprintf(cursor, sizeof(cursor), "%s", page.next);
        job_page_release(&page);
        if (cursor[0] == '\0' || *seen >= max)
            return 0;
    }
}
