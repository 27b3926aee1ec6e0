/* This file holds the ticket store's SQL. */
#include "ticket_store.h"
#include "caltime.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ticket_store_depts(struct db *db, struct ticket_dept **out)
{
    *out = NULL;
    struct db_rows *r =
        db_query(db, "SELECT department_id, account_number FROM department_companies", DB_NOP);
    if (r == NULL)
        return -1;
    struct ticket_dept *d = xcalloc((size_t)(r->n_rows ? r->n_rows : 1), sizeof(*d));
    for (int i = 0; i < r->n_rows; i++) {
        d[i].department_id = db_rows_int(r, i, 0, 0);
        d[i].account_number = xstrdup(db_rows_get(r, i, 1));
    }
    int n = r->n_rows;
    db_rows_free(r);
    *out = d;
    return n;
}

void
ticket_depts_free(struct ticket_dept *d, int n)
{
    for (int i = 0; d && i < n; i++)
        free(d[i].account_number);
    free(d);
}

const char *
ticket_dept_company(const struct ticket_dept *d, int n, int64_t department_id)
{
    for (int i = 0; i < n; i++)
        if (d[i].department_id == department_id)
            return d[i].account_number;
    return NULL;
}

int
ticket_store_upsert(struct db *db, const struct ticket_row *r, bool stored_before, int *changed)
{
    uint64_t affected = 0;
    /* ON DUPLICATE KEY UPDATE affects 1 row for an insert, 2 for an update that changed a
     * column, and (with CLIENT_FOUND_ROWS) 1 for one that changed nothing. */
    int rc = db_exec(
        db,
        "INSERT INTO ticket_details (ticket_id, company_account_number, ticket_number, subject, "
        "description, description_text, status, priority, requester_email, requester_name, "
        "created_at, last_updated_at, closed_at, total_hours_spent, conversations, notes) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
        "company_account_number = VALUES(company_account_number), "
        "ticket_number = VALUES(ticket_number), subject = VALUES(subject), "
        "description = VALUES(description), description_text = VALUES(description_text), "
        "status = VALUES(status), priority = VALUES(priority), "
        "requester_email = VALUES(requester_email), requester_name = VALUES(requester_name), "
        "created_at = VALUES(created_at), last_updated_at = VALUES(last_updated_at), "
        "closed_at = VALUES(closed_at), total_hours_spent = VALUES(total_hours_spent), "
        "conversations = VALUES(conversations), notes = VALUES(notes)",
        DB_P(DBI(r->ticket_id), DBS(r->company_account_number), DBS(r->ticket_number),
             DBS(r->subject), DBS(r->description), DBS(r->description_text), DBS(r->status),
             DBS(r->priority), DBS(r->requester_email), DBS(r->requester_name), DBS(r->created_at),
             DBS(r->last_updated_at), DBS(r->closed_at), DBD(r->total_hours_spent),
             DBS(r->conversations), DBS(r->notes)),
        &affected, NULL);
    if (rc == 0)
        *changed = stored_before ? affected == 2 : 1;
    return rc;
}

enum ticket_kept
ticket_store_upsert_kept(struct db *db, const struct ticket_row *r, bool stored_before,
                         int *changed, char *why, size_t len)
{
    /* One savepoint name, set again for every row: a row needs only its own. */
    if (db_exec_static(db, "SAVEPOINT ticket_row") < 0)
        return TICKET_KEPT_ERROR;
    if (ticket_store_upsert(db, r, stored_before, changed) == 0)
        return TICKET_KEPT_OK;
    if (!db_data_error(db))
        return TICKET_KEPT_ERROR;
    snprintf(why, len, "the store refused its row: %s", db_errstr(db));
    /* The server answers a packet too large by closing the connection: then no savepoint is
     * left to go back to. */
    if (db_exec_static(db, "ROLLBACK TO SAVEPOINT ticket_row") < 0)
        return TICKET_KEPT_TX_GONE;
    return TICKET_KEPT_REFUSED;
}

int
ticket_store_stamps(struct db *db, const int64_t *ids, int n, char (*stamps)[21])
{
    for (int i = 0; i < n; i++)
        stamps[i][0] = '\0';
    if (n == 0)
        return 0;
    struct db_rows *r = db_query_ids(
        db, "SELECT ticket_id, last_updated_at FROM ticket_details WHERE ticket_id IN ", "", ids,
        n);
    if (r == NULL)
        return -1;
    for (int row = 0; row < r->n_rows; row++) {
        int64_t id = db_rows_int(r, row, 0, 0);
        const char *s = db_rows_get(r, row, 1);
        for (int i = 0; i < n; i++)
            if (ids[i] == id)
                snprintf(stamps[i], 21, "%.19s", s ? s : "");
    }
    db_rows_free(r);
    return 0;
}

int
ticket_store_watermark(struct db *db, const char *name, int64_t *t)
{
    struct db_rows *r =
        db_query(db, "SELECT watermark FROM sync_state WHERE name = ?", DB_P(DBS(name)));
    if (r == NULL)
        return -1;
    *t = 0;
    /* A zero date or a time before 1970 (set by hand, or by a version that let an unreadable
     * updated_at through) is no start for a run: the caller says so. */
    if (r->n_rows > 0 && (caltime_parse_dt(db_rows_get(r, 0, 0), t) < 0 || *t <= 0))
        *t = -1;
    db_rows_free(r);
    return 0;
}

int
ticket_store_set_watermark(struct db *db, const char *name, int64_t t)
{
    char dt[24];
    caltime_format_dt(t, dt, sizeof(dt));
    return db_exec(db,
                   "INSERT INTO sync_state (name, watermark, dt_updated) VALUES (?, ?, NOW(6)) "
                   "ON DUPLICATE KEY UPDATE watermark = VALUES(watermark), "
                   "dt_updated = VALUES(dt_updated)",
                   DB_P(DBS(name), DBS(dt)), NULL, NULL);
}

/* Replaces the JSON-text members conversations and notes of a row object by their arrays. */
static void
ticket_store_parse_arrays(cJSON *o)
{
    static const char *const keys[] = {"conversations", "notes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
        cJSON *a = cJSON_IsString(s) ? cJSON_Parse(s->valuestring) : NULL;
        cJSON_ReplaceItemInObjectCaseSensitive(o, keys[k], a ? a : cJSON_CreateArray());
    }
}

cJSON *
ticket_store_company_tickets(struct db *db, const char *account_number, int year, int limit)
{
    char from[32] = "1000-01-01 00:00:00", to[32] = "9999-12-31 23:59:59";
    if (year > 0) {
        snprintf(from, sizeof(from), "%04d-01-01 00:00:00", year);
        snprintf(to, sizeof(to), "%04d-01-01 00:00:00", year + 1);
    }
    /* ix_ticket_details_company_created serves both filters. */
    struct db_rows *r =
        db_query(db,
                 "SELECT ticket_id, company_account_number, ticket_number, subject, description, "
                 "description_text, status, priority, requester_email, requester_name, created_at, "
                 "last_updated_at, closed_at, total_hours_spent, conversations, notes "
                 "FROM ticket_details WHERE company_account_number = ? AND created_at >= ? "
                 "AND created_at < ? ORDER BY created_at DESC LIMIT ?",
                 DB_P(DBS(account_number), DBS(from), DBS(to), DBI(limit)));
    if (r == NULL)
        return NULL;
    cJSON *arr = json_from_rows(r);
    db_rows_free(r);
    cJSON *it;
    cJSON_ArrayForEach(it, arr) ticket_store_parse_arrays(it);
    return arr;
}
