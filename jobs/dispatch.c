/* This file holds Dispatch/Legacy/Sync: legacy tickets into Frappe Dispatch Jobs. */
#include "dispatch.h"
#include "db.h"
#include "dispatch_map.h"
#include "json.h"
#include "frappe.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DJ "Dispatch Job"
/* The Dispatch Job fields the bridge reads back to decide whether the dispatcher owns it. */
#define DJ_FIELDS                                                                                  \
    "[\"name\",\"legacy_ticket_id\",\"status\",\"assigned_to\",\"scheduled_date\","                \
    "\"start_time\",\"modified\"]"
#define DJ_OPEN "open"
#define DJ_CANCELLED "cancelled"

struct dsync {
    struct job_ctx *ctx;
    struct dispatch_conf dc;
    struct db *db;
    struct frappe f;
    cJSON *customers;  /* Customer documents: name, legacy_account_id */
    cJSON *locations;  /* Service Location documents */
    int64_t *open_ids; /* the open tickets read, ascending */
    int n_open;
    int64_t tickets, created, updated, unchanged, cancelled, skipped, errors, unmatched_customer;
    cJSON *unmatched;   /* ticket ids without a customer */
    cJSON *closed_left; /* ticket ids closed upstream whose job the dispatcher owns */
    /* Ticket ids open upstream whose job is cancelled: reopened after this bridge cancelled
     * its job, or cancelled by hand. Which it was Frappe does not tell, so it is reported for
     * the dispatcher, not reopened. */
    cJSON *cancelled_open;
    enum frappe_fail fatal; /* FRAPPE_AUTH or FRAPPE_TRANSIENT stop the run */
    char err[512];
};

/* A cell as a string member of doc, "" when it is not a string (or a number as text). */
static const char *
dsync_str(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    static _Thread_local char num[32];
    if (cJSON_IsNumber(v)) {
        snprintf(num, sizeof(num), "%.15g", v->valuedouble);
        return num;
    }
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Counts one ticket's failure; a failure of the whole service stops the run. */
static void
dsync_failed(struct dsync *s, int64_t id, enum frappe_fail f, const char *err)
{
    if (f == FRAPPE_AUTH || f == FRAPPE_TRANSIENT) {
        s->fatal = f;
        snprintf(s->err, sizeof(s->err), "%s", err);
        return;
    }
    if (f == FRAPPE_CHANGED) {
        /* Written since we read it (the dispatcher took it, most likely): theirs now. */
        s->skipped++;
        job_info(s->ctx,
                 "ticket %lld: its Dispatch Job changed since it was read: left as it is; the "
                 "next run looks again",
                 (long long)id);
        return;
    }
    s->errors++;
    /* The last error, for a run in which every ticket fails; cut to leave room for the id. */
    snprintf(s->err, sizeof(s->err), "ticket %lld: %.480s", (long long)id, err);
    job_warn(s->ctx, "ticket %lld: %s", (long long)id, err);
}

/* True when tickets were handled and every one failed: a refusal Frappe repeats for each (a
 * field the Dispatch Job does not have) is the configuration's, not the tickets'. */
static bool
dsync_all_failed(const struct dsync *s)
{
    return s->errors > 0 && s->created + s->updated + s->unchanged + s->cancelled + s->skipped == 0;
}

/* The customer whose legacy_account_id is account, or NULL. */
static const char *
dsync_customer(struct dsync *s, const char *account)
{
    const cJSON *c;
    if (account == NULL || *account == '\0')
        return NULL;
    cJSON_ArrayForEach(c, s->customers)
    {
        if (strcmp(dsync_str(c, "legacy_account_id"), account) == 0)
            return dsync_str(c, "name");
    }
    return NULL;
}

/* The Service Location of customer in the ticket's city (case and accents ignored), or NULL. */
static const cJSON *
dsync_location(struct dsync *s, const char *customer, const char *city)
{
    char want[256], got[256];
    dispatch_fold_city(city, want, sizeof(want));
    if (customer == NULL || want[0] == '\0')
        return NULL;
    const cJSON *l;
    cJSON_ArrayForEach(l, s->locations)
    {
        dispatch_fold_city(dsync_str(l, "city"), got, sizeof(got));
        if (strcmp(dsync_str(l, "customer"), customer) == 0 && strcmp(got, want) == 0)
            return l;
    }
    return NULL;
}

/* The Dispatch Job of ticket id: a new object, NULL when there is none (or on failure, with
 * *fail set). */
static cJSON *
dsync_find(struct dsync *s, int64_t id, enum frappe_fail *fail, char *err, size_t errlen)
{
    char filters[96];
    snprintf(filters, sizeof(filters), "[[\"legacy_ticket_id\",\"=\",%lld]]", (long long)id);
    cJSON *found = cJSON_CreateArray();
    *fail = frappe_list(&s->f, DJ, filters, DJ_FIELDS, found, err, errlen);
    cJSON *job = *fail == FRAPPE_OK ? cJSON_DetachItemFromArray(found, 0) : NULL;
    cJSON_Delete(found);
    return job;
}

/* PUTs patch into the Dispatch Job job as read, carrying the "modified" stamp it was read
 * with: Frappe refuses the write (FRAPPE_CHANGED) when the document changed since, so a job
 * the dispatcher took between our read and our write is not moved or cancelled under them. */
static enum frappe_fail
dsync_update(struct dsync *s, const cJSON *job, cJSON *patch, char *err, size_t errlen)
{
    const char *modified = dsync_str(job, "modified");
    if (*modified)
        cJSON_AddStringToObject(patch, "modified", modified);
    return frappe_update(&s->f, DJ, dsync_str(job, "name"), patch, err, errlen);
}

/* True when the dispatcher owns the job: assigned, or no longer open. */
static bool
dsync_dispatcher_owns(const cJSON *job)
{
    return strcmp(dsync_str(job, "status"), DJ_OPEN) != 0 || dsync_str(job, "assigned_to")[0];
}

/* A time of day "H:MM" or "HH:MM[:SS[.ffffff]]" in seconds; -1 when s is not one. */
static long
dsync_time_s(const char *s)
{
    int h, m, sec = 0, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    if (s[n] == ':' && sscanf(s + n, ":%2d", &sec) != 1)
        return -1;
    return h * 3600L + m * 60L + sec;
}

/* The same start: Frappe answers a Time field as a timedelta prints ("8:00:00" for the
 * "08:00" sent), so times compare by value to the minute; "" (none) only equals "". */
static bool
dsync_same_time(const char *a, const char *b)
{
    long ta = dsync_time_s(a), tb = dsync_time_s(b);
    if (ta < 0 || tb < 0)
        return strcmp(a, b) == 0;
    return ta / 60 == tb / 60;
}

/* An existing job: only scheduled_date and start_time follow the ticket, and only while the
 * job is open and unassigned. */
static void
dsync_existing(struct dsync *s, const struct dispatch_ticket *tk, const cJSON *job,
               const cJSON *doc)
{
    if (strcmp(dsync_str(job, "status"), DJ_CANCELLED) == 0) {
        job_warn(s->ctx,
                 "ticket %lld is open upstream but its Dispatch Job %s is cancelled (reopened, "
                 "or cancelled by hand): left for the dispatcher",
                 (long long)tk->id, dsync_str(job, "name"));
        cJSON_AddItemToArray(s->cancelled_open, cJSON_CreateNumber((double)tk->id));
    }
    if (dsync_dispatcher_owns(job)) {
        s->skipped++;
        return;
    }
    const char *date = dsync_str(doc, "scheduled_date"), *time = dsync_str(doc, "start_time");
    if (strcmp(dsync_str(job, "scheduled_date"), date) == 0 &&
        dsync_same_time(dsync_str(job, "start_time"), time)) {
        s->unchanged++;
        return;
    }
    cJSON *patch = cJSON_CreateObject();
    cJSON_AddItemToObject(patch, "scheduled_date",
                          *date ? cJSON_CreateString(date) : cJSON_CreateNull());
    cJSON_AddItemToObject(patch, "start_time",
                          *time ? cJSON_CreateString(time) : cJSON_CreateNull());
    char err[512];
    enum frappe_fail f = dsync_update(s, job, patch, err, sizeof(err));
    cJSON_Delete(patch);
    if (f == FRAPPE_OK)
        s->updated++;
    else
        dsync_failed(s, tk->id, f, err);
}

/* Creates the job of a ticket; a race lost to another run (the unique legacy_ticket_id)
 * re-reads the winner's job and treats it as existing. */
static void
dsync_create(struct dsync *s, const struct dispatch_ticket *tk, const cJSON *doc)
{
    char err[512];
    enum frappe_fail f = frappe_insert(&s->f, DJ, doc, NULL, err, sizeof(err));
    if (f == FRAPPE_OK) {
        s->created++;
        return;
    }
    if (f != FRAPPE_DUPLICATE) {
        dsync_failed(s, tk->id, f, err);
        return;
    }
    job_info(s->ctx, "ticket %lld: created meanwhile by another run; re-reading it",
             (long long)tk->id);
    cJSON *job = dsync_find(s, tk->id, &f, err, sizeof(err));
    if (job)
        dsync_existing(s, tk, job, doc);
    else
        dsync_failed(s, tk->id, f == FRAPPE_OK ? FRAPPE_OTHER : f,
                     f == FRAPPE_OK ? "duplicate refused, yet no job found" : err);
    cJSON_Delete(job);
}

static void
dsync_ticket(struct dsync *s, const struct dispatch_ticket *tk)
{
    const char *customer = dsync_customer(s, tk->account_id);
    if (customer == NULL) {
        s->unmatched_customer++;
        cJSON_AddItemToArray(s->unmatched, cJSON_CreateNumber((double)tk->id));
    }
    const cJSON *loc = dsync_location(s, customer, tk->city);
    cJSON *doc = dispatch_doc(&s->dc, tk, customer, loc);
    char err[512];
    enum frappe_fail f;
    cJSON *job = dsync_find(s, tk->id, &f, err, sizeof(err));
    if (f != FRAPPE_OK)
        dsync_failed(s, tk->id, f, err);
    else if (job)
        dsync_existing(s, tk, job, doc);
    else
        dsync_create(s, tk, doc);
    cJSON_Delete(job);
    cJSON_Delete(doc);
}

/* The ticket of row i of the legacy query. */
static void
dsync_row(const struct db_rows *r, int i, struct dispatch_ticket *tk)
{
    tk->id = db_rows_int(r, i, 0, 0);
    tk->subject = db_rows_get(r, i, 1);
    tk->status = db_rows_get(r, i, 2);
    tk->assign_to = db_rows_int(r, i, 3, 0);
    tk->account_id = db_rows_get(r, i, 4);
    tk->dept_id = db_rows_int(r, i, 5, 0);
    tk->due_date = db_rows_int(r, i, 6, 0);
    tk->due_time = db_rows_get(r, i, 7);
    tk->priority = db_rows_int(r, i, 8, 0);
    tk->address = db_rows_get(r, i, 9);
    tk->city = db_rows_get(r, i, 10);
}

/* Every open ticket of the staff account, in id order. */
static int
dsync_tickets(struct dsync *s)
{
    struct db_rows *r = db_query(
        s->db,
        "SELECT id, subject, status, assign_to, account_id, dept_id, due_date, due_time, "
        "priority, address, city FROM ticket WHERE assign_to = ? AND status = 'open' ORDER BY id",
        DB_P(DBI(s->dc.staff_id)));
    if (r == NULL) {
        snprintf(s->err, sizeof(s->err), "read the legacy tickets: %s", db_errstr(s->db));
        return -1;
    }
    s->open_ids = xcalloc((size_t)r->n_rows + 1, sizeof(*s->open_ids));
    job_progress(s->ctx, 0, r->n_rows, "tickets");
    for (int i = 0; i < r->n_rows && s->fatal == FRAPPE_OK && !job_ctx_cancelled(s->ctx); i++) {
        struct dispatch_ticket tk;
        dsync_row(r, i, &tk);
        s->open_ids[s->n_open++] = tk.id;
        s->tickets++;
        if (dispatch_conf_skips(&s->dc, tk.dept_id))
            s->skipped++;
        else
            dsync_ticket(s, &tk);
        job_progress(s->ctx, i + 1, r->n_rows, "tickets");
    }
    db_rows_free(r);
    return 0;
}

static int
dsync_cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The legacy status of ticket id ("" when the ticket is gone); -1 on a database error. */
static int
dsync_legacy_status(struct dsync *s, int64_t id, char *out, size_t len)
{
    struct db_rows *r = db_query(s->db, "SELECT status FROM ticket WHERE id = ?", DB_P(DBI(id)));
    if (r == NULL) {
        snprintf(s->err, sizeof(s->err), "read legacy ticket %lld: %s", (long long)id,
                 db_errstr(s->db));
        return -1;
    }
    const char *v = r->n_rows ? db_rows_get(r, 0, 0) : NULL;
    snprintf(out, len, "%s", v ? v : "");
    db_rows_free(r);
    return 0;
}

/* One open Dispatch Job whose ticket is not among the open ones: cancelled when its ticket
 * was closed and the dispatcher has not taken it, reported when they have. */
static int
dsync_closed_one(struct dsync *s, const cJSON *job, int64_t id)
{
    char status[32];
    if (dsync_legacy_status(s, id, status, sizeof(status)) < 0)
        return -1;
    if (strcmp(status, "closed") != 0)
        return 0; /* reassigned upstream: the job stays as it is */
    if (dsync_dispatcher_owns(job)) {
        job_warn(s->ctx,
                 "ticket %lld is closed upstream but its Dispatch Job %s is assigned: "
                 "left for the dispatcher",
                 (long long)id, dsync_str(job, "name"));
        cJSON_AddItemToArray(s->closed_left, cJSON_CreateNumber((double)id));
        return 0;
    }
    cJSON *patch = cJSON_CreateObject();
    cJSON_AddStringToObject(patch, "status", DJ_CANCELLED);
    char err[512];
    enum frappe_fail f = dsync_update(s, job, patch, err, sizeof(err));
    cJSON_Delete(patch);
    if (f == FRAPPE_OK)
        s->cancelled++;
    else
        dsync_failed(s, id, f, err);
    return 0;
}

/* The open Dispatch Jobs of tickets closed upstream. */
static int
dsync_closed(struct dsync *s)
{
    cJSON *jobs = cJSON_CreateArray();
    char err[512];
    enum frappe_fail f =
        frappe_list(&s->f, DJ, "[[\"status\",\"in\",[\"" DJ_OPEN "\",\"assigned\"]]]", DJ_FIELDS,
                    jobs, err, sizeof(err));
    if (f != FRAPPE_OK)
        dsync_failed(s, 0, f, err);
    qsort(s->open_ids, (size_t)s->n_open, sizeof(*s->open_ids), dsync_cmp_id);
    const cJSON *job;
    int rc = 0;
    cJSON_ArrayForEach(job, jobs)
    {
        if (s->fatal != FRAPPE_OK || rc < 0 || job_ctx_cancelled(s->ctx))
            break;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(job, "legacy_ticket_id");
        int64_t id = 0;
        if (cJSON_IsString(v))
            id = strtoll(v->valuestring, NULL, 10);
        else
            json_int_of(v, 1, JSON_INT_MAX, &id);
        if (id > 0 && !bsearch(&id, s->open_ids, (size_t)s->n_open, sizeof(id), dsync_cmp_id))
            rc = dsync_closed_one(s, job, id);
    }
    cJSON_Delete(jobs);
    return rc;
}

/* Customers and Service Locations, read once per run. */
static enum frappe_fail
dsync_load_refs(struct dsync *s)
{
    s->customers = cJSON_CreateArray();
    s->locations = cJSON_CreateArray();
    enum frappe_fail f = frappe_list(&s->f, "Customer", NULL, "[\"name\",\"legacy_account_id\"]",
                                     s->customers, s->err, sizeof(s->err));
    if (f == FRAPPE_OK)
        f = frappe_list(&s->f, "Service Location", NULL,
                        "[\"name\",\"customer\",\"city\",\"latitude\",\"longitude\"]", s->locations,
                        s->err, sizeof(s->err));
    return f;
}

static char *
dsync_result(struct dsync *s)
{
    cJSON *r = cJSON_CreateObject();
    const struct {
        const char *k;
        int64_t v;
    } counts[] = {{"tickets", s->tickets},     {"created", s->created},
                  {"updated", s->updated},     {"unchanged", s->unchanged},
                  {"cancelled", s->cancelled}, {"skipped", s->skipped},
                  {"errors", s->errors},       {"unmatched_customer", s->unmatched_customer}};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        cJSON_AddNumberToObject(r, counts[i].k, (double)counts[i].v);
    cJSON_AddItemToObject(r, "unmatched", s->unmatched);
    cJSON_AddItemToObject(r, "closed_left", s->closed_left);
    cJSON_AddItemToObject(r, "cancelled_open", s->cancelled_open);
    s->unmatched = s->closed_left = s->cancelled_open = NULL;
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return text;
}

static void
dsync_release(struct dsync *s)
{
    cJSON_Delete(s->customers);
    cJSON_Delete(s->locations);
    cJSON_Delete(s->unmatched);
    cJSON_Delete(s->closed_left);
    cJSON_Delete(s->cancelled_open);
    free(s->open_ids);
}

/* Opens [dispatch], [db.legacy] and [service.frappe]. -1 with s->err set for a wrong
 * [dispatch] (the job fails), -2 when a connection could not be made (it may come back: the job
 * retries; a missing section fails it after its attempts). */
static int
dsync_open(struct dsync *s, struct job_ctx *ctx)
{
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->unmatched = cJSON_CreateArray();
    s->closed_left = cJSON_CreateArray();
    s->cancelled_open = cJSON_CreateArray();
    if (dispatch_conf_load(ctx->cfg, &s->dc, s->err, sizeof(s->err)) < 0)
        return -1;
    if ((s->db = job_db(ctx, "legacy", s->err, sizeof(s->err))) == NULL)
        return -2;
    return frappe_open(ctx, &s->f, s->err, sizeof(s->err)) < 0 ? -2 : 0;
}

void
dispatch_legacy_sync(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    struct dsync s;
    int rc = dsync_open(&s, ctx);
    if (rc < 0) {
        job_out_fail(out, rc == -1 ? JOB_FAIL : JOB_RETRY, "%s", s.err);
        dsync_release(&s);
        return;
    }
    s.fatal = dsync_load_refs(&s);
    rc = s.fatal == FRAPPE_OK ? dsync_tickets(&s) : 0;
    if (rc == 0 && s.fatal == FRAPPE_OK && !job_ctx_cancelled(ctx))
        rc = dsync_closed(&s);
    if (job_ctx_cancelled(ctx))
        job_out_fail(out, JOB_CANCELLED, "cancelled");
    else if (s.fatal == FRAPPE_AUTH || s.fatal == FRAPPE_OTHER)
        /* Refused credentials, or a refusal that is no passing fault (404 for a doctype the
         * site does not have, 417 for a field it does not know): the configuration's to
         * fix; a retry would meet it again. */
        job_out_fail(out, JOB_FAIL, "%s", s.err);
    else if (s.fatal != FRAPPE_OK || rc < 0)
        job_out_fail(out, JOB_RETRY, "%s", s.err);
    else if (dsync_all_failed(&s))
        job_out_fail(out, JOB_FAIL, "every ticket failed (%lld), the last: %s", (long long)s.errors,
                     s.err);
    else
        job_out_ok(out, dsync_result(&s));
    job_info(ctx,
             "dispatch: %lld tickets, %lld created, %lld updated, %lld cancelled, %lld "
             "skipped, %lld errors",
             (long long)s.tickets, (long long)s.created, (long long)s.updated,
             (long long)s.cancelled, (long long)s.skipped, (long long)s.errors);
    dsync_release(&s);
}
