/* This file holds the Freshservice ticket sync: the list of changed closed tickets, their
 * conversations and time entries fetched concurrently within the API's budget, rows upserted
 * in batches with the watermark in the same transaction. */
#include "caltime.h"
#include "db.h"
#include "freshservice.h"
#include "tickets.h"
#include "tickets_row.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_NAME "freshservice_tickets"
/* A run starts this much before the last watermark, for tickets whose updated_at the service
 * wrote a little late or by a clock a little behind ours; the store's last_updated_at tells
 * which of the overlap's tickets are already synced. (Tickets changed while a run lists are
 * seen by the next one: sync_list caps the watermark.) */
#define SYNC_OVERLAP_S 300
#define SYNC_CHUNK 100
#define SYNC_FULL_S (365 * 86400)
#define FS_CLOSED 5

struct sync {
    struct job_ctx *ctx;
    struct fs fs;
    struct db *db;
    struct ticket_dept *depts;
    int n_depts;
    int64_t fetched, upserted, unchanged, skipped, failed;
    int64_t first_fail_t; /* updated_at of the oldest failed ticket; 0: none */
    int64_t wm_stored;    /* the watermark this run committed last; 0: none */
    int64_t wm_cap;       /* no watermark of this run goes past this (sync_list) */
    bool wm_kept;         /* the run starts past the stored watermark: it sets none */
    enum fs_fail abort;   /* an auth failure stops the run */
    char abort_err[512];
};

static int64_t
sync_updated(const cJSON *t)
{
    return tickets_time(cJSON_GetObjectItemCaseSensitive(t, "updated_at"));
}

static int
sync_by_updated(const void *a, const void *b)
{
    int64_t x = sync_updated(*(const cJSON *const *)a), y = sync_updated(*(const cJSON *const *)b);
    return x < y ? -1 : x > y;
}

static void
sync_fail_ticket(struct sync *s, const cJSON *t, enum fs_fail f, const char *why)
{
    if (f == FS_AUTH && s->abort == FS_OK) {
        s->abort = FS_AUTH;
        snprintf(s->abort_err, sizeof(s->abort_err), "%s", why);
    }
    s->failed++;
    /* A ticket without a time has no place in the list to hold the watermark at. */
    int64_t u = sync_updated(t);
    if (u > 0 && (s->first_fail_t == 0 || u < s->first_fail_t))
        s->first_fail_t = u;
    job_warn(s->ctx, "ticket %lld failed: %s", (long long)tickets_int(t, "id"), why);
}

struct sync_batch {
    struct sync *s;
    struct tickets_row *rows;
    cJSON **tickets; /* rows[i] is of tickets[i] */
    int n;
    int64_t watermark;     /* 0: leave it */
    char *why[SYNC_CHUNK]; /* why the store refused rows[i] (owned), NULL: it did not */
    bool again;            /* the transaction went with a refused row: try it without */
};

static int
sync_write(struct db *db, void *arg)
{
    struct sync_batch *b = arg;
    bool refused = false;
    for (int i = 0; i < b->n; i++) {
        /* A row refused by an earlier try of this transaction is left out. */
        if (b->why[i]) {
            refused = true;
            continue;
        }
        int changed = 0;
        char why[512];
        enum ticket_kept k = ticket_store_upsert_kept(db, &b->rows[i].row, b->rows[i].stored_before,
                                                      &changed, why, sizeof(why));
        if (k == TICKET_KEPT_ERROR)
            return -1;
        if (k != TICKET_KEPT_OK) {
            b->why[i] = xstrdup(why);
            refused = true;
            b->again = k == TICKET_KEPT_TX_GONE;
            if (b->again)
                return -1;
            continue;
        }
        b->s->upserted += changed;
        b->s->unchanged += !changed;
    }
    /* A refused row is a failed ticket: it holds the watermark as the others do. */
    if (b->watermark <= 0 || refused)
        return 0;
    if (ticket_store_set_watermark(db, SYNC_NAME, b->watermark) < 0)
        return -1;
    b->s->wm_stored = b->watermark;
    return 0;
}

/* Stores the rows of a batch (a plan step each in a dry run) with the watermark. A row the
 * store refuses fails its ticket, not the batch. */
static int
sync_store(struct sync *s, struct tickets_row *rows, cJSON **tickets, int n, int64_t watermark)
{
    if (s->ctx->dry_run) {
        for (int i = 0; i < n; i++) {
            cJSON *step = cJSON_CreateObject();
            cJSON_AddNumberToObject(step, "upsert_ticket", (double)rows[i].row.ticket_id);
            job_plan(s->ctx, step);
        }
        return 0;
    }
    struct sync_batch b = {
        .s = s, .rows = rows, .tickets = tickets, .n = n, .watermark = watermark};
    int64_t before = s->upserted, unchanged = s->unchanged, wm = s->wm_stored;
    int rc;
    /* Each try after the first leaves out one more row: at most n + 1 tries. */
    do {
        b.again = false;
        s->upserted = before;
        s->unchanged = unchanged;
        s->wm_stored = wm;
        rc = job_db_tx(s->db, sync_write, &b);
    } while (rc != 0 && b.again);
    if (rc != 0) {
        s->upserted = before;
        s->unchanged = unchanged;
        s->wm_stored = wm;
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0 && b.why[i])
            sync_fail_ticket(s, tickets[i], FS_OTHER, b.why[i]);
        free(b.why[i]);
    }
    return rc == 0 ? 0 : -1;
}

/* Makes *row of ticket t from its fetched details d, or fails the ticket; returns 1 when it
 * made the row. */
static int
sync_make_row(struct sync *s, cJSON *t, const char *company, bool stored, struct fs_details *d,
              struct tickets_row *row)
{
    char *name = NULL, *email = NULL;
    char err[512];
    enum fs_fail f = d->fail;
    if (f == FS_OK)
        f = fs_ticket_person(&s->fs, t, &name, &email, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "%s", d->err);
    if (f != FS_OK) {
        sync_fail_ticket(s, t, f, err);
        return 0;
    }
    s->fetched++;
    if (tickets_row_make(row, t, company, d->conversations, d->time_entries, name, email, err,
                         sizeof(err)) < 0) {
        tickets_row_release(row);
        free(name);
        free(email);
        sync_fail_ticket(s, t, FS_OTHER, err);
        return 0;
    }
    if (row->fitted[0])
        job_warn(s->ctx, "ticket %lld: %s changed to fit the store", (long long)row->row.ticket_id,
                 row->fitted);
    row->stored_before = stored;
    /* The row borrows name and email: keep them with it. */
    row->strings[row->n_strings++] = name;
    row->strings[row->n_strings++] = email;
    return 1;
}

/* Fetches the details of the tickets of a chunk that need them and makes their rows, rows[i]
 * of made_t[i]. Returns the number of rows made. */
static int
sync_fetch(struct sync *s, cJSON **need, const char **company, const bool *stored, int n,
           struct tickets_row *rows, cJSON **made_t)
{
    int64_t ids[SYNC_CHUNK];
    struct fs_details d[SYNC_CHUNK];
    for (int i = 0; i < n; i++)
        ids[i] = tickets_int(need[i], "id");
    fs_details(&s->fs, ids, n, d);
    int made = 0;
    for (int i = 0; i < n; i++) {
        made_t[made] = need[i];
        made += sync_make_row(s, need[i], company[i], stored[i], &d[i], &rows[made]);
        fs_details_release(&d[i]);
    }
    return made;
}

/* One chunk of closed tickets (sorted by updated_at): unmapped ones skipped, ones the store
 * already holds at this updated_at counted unchanged, the rest fetched and stored. */
static int
sync_chunk(struct sync *s, cJSON **t, int n)
{
    cJSON *need[SYNC_CHUNK];
    const char *company[SYNC_CHUNK];
    bool stored[SYNC_CHUNK];
    int64_t ids[SYNC_CHUNK];
    char stamps[SYNC_CHUNK][21];
    for (int i = 0; i < n; i++)
        ids[i] = tickets_int(t[i], "id");
    if (ticket_store_stamps(s->db, ids, n, stamps) < 0)
        return -1;
    int m = 0;
    for (int i = 0; i < n; i++) {
        const char *c =
            ticket_dept_company(s->depts, s->n_depts, tickets_int(t[i], "department_id"));
        char dt[24];
        caltime_format_dt(sync_updated(t[i]), dt, sizeof(dt));
        if (c == NULL) {
            s->skipped++;
            int64_t dept = tickets_int(t[i], "department_id");
            if (dept)
                job_warn(s->ctx,
                         "ticket %lld: department %lld is not mapped to a company: "
                         "skipped",
                         (long long)ids[i], (long long)dept);
            else
                job_warn(s->ctx, "ticket %lld has no department: skipped", (long long)ids[i]);
        } else if (sync_updated(t[i]) < 0) {
            /* Stored with it, its row would be in no run's range, and its time would become
             * the watermark (1969) that stops every later run. */
            sync_fail_ticket(s, t[i], FS_OTHER, "its updated_at is missing or not a time");
        } else if (strcmp(stamps[i], dt) == 0) {
            s->unchanged++;
        } else {
            company[m] = c;
            stored[m] = stamps[i][0] != '\0';
            need[m++] = t[i];
        }
    }
    struct tickets_row rows[SYNC_CHUNK];
    cJSON *made_t[SYNC_CHUNK];
    int made = m ? sync_fetch(s, need, company, stored, m, rows, made_t) : 0;
    /* The watermark passes this chunk only when nothing before it failed; a chunk of tickets
     * without a time (sorted first) sets none. */
    int64_t wm = s->first_fail_t || s->wm_kept ? 0 : sync_updated(t[n - 1]);
    if (wm > s->wm_cap)
        wm = s->wm_cap;
    if (wm < 0)
        wm = 0;
    int rc = s->abort == FS_OK ? sync_store(s, rows, made_t, made, wm) : 0;
    for (int i = 0; i < made; i++)
        tickets_row_release(&rows[i]);
    return rc;
}

/* Where this run starts (UTC seconds, > 0) into *since, from its parameters or the
 * watermark; -1 with err written when it cannot start. A run told to start after the stored
 * watermark ("since", or "full" past a year) leaves the watermark where it is (s->wm_kept):
 * moved to this run's newest, the tickets between the two would never be listed again. A
 * stored watermark that is no time gives an incremental run nothing to start from; a "full" or
 * "since" run replaces it, so the operator has a way out other than editing sync_state. */
static int
sync_since(struct sync *s, const cJSON *params, int64_t *since, char *err, size_t len)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(params, "since");
    int64_t now = now_wall_ms() / 1000, ms, wm = 0;
    if (ticket_store_watermark(s->db, SYNC_NAME, &wm) < 0) {
        snprintf(err, len, "read the watermark: %s", db_errstr(s->db));
        return -1;
    }
    if (p) {
        if (!cJSON_IsString(p) || caltime_parse(p->valuestring, &ms) < 0 || ms < 1000) {
            snprintf(err, len, "parameters: \"since\" must be an ISO-8601 time after 1970");
            return -1;
        }
        *since = ms / 1000;
    } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "full"))) {
        *since = now - SYNC_FULL_S;
    } else if (wm < 0) {
        snprintf(err, len,
                 "the stored watermark (sync_state '%s') is not a time after 1970: run once "
                 "with {\"full\": true} or {\"since\": \"<ISO time>\"}, which replaces it",
                 SYNC_NAME);
        return -1;
    } else {
        *since = wm > SYNC_OVERLAP_S ? wm - SYNC_OVERLAP_S : wm ? 1 : now - SYNC_FULL_S;
        return 0;
    }
    if (wm < 0) {
        job_warn(s->ctx, "the stored watermark is not a time after 1970: this run replaces it");
    } else if (wm && *since > wm) {
        s->wm_kept = true;
        job_info(s->ctx, "this run starts after the watermark: it leaves the watermark as it is");
    }
    return 0;
}

struct sync_seen {
    int64_t id, updated;
    int at; /* its place in the list */
    cJSON *item;
};

static int
sync_seen_cmp(const void *a, const void *b)
{
    const struct sync_seen *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->updated != y->updated)
        return x->updated < y->updated ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* Drops the copies of a ticket listed twice, keeping its newest. A ticket changed while the
 * pages are read moves to a later page (the list is in updated_at order), and every ticket
 * after its first place slides back one: the one that slides onto a page already read is
 * never seen. Returns the oldest updated_at of a dropped copy, at or before which such a
 * ticket was (0: none), and says how many moved. A copy without a time was where the list had
 * got to: at the last time listed before it, or since (> 0) when none was. */
static int64_t
sync_dedupe(struct sync *s, cJSON *list, int64_t since)
{
    int n = cJSON_GetArraySize(list), i = 0, moved = 0;
    struct sync_seen *v = xcalloc((size_t)(n ? n : 1), sizeof(*v));
    int64_t reached = since;
    cJSON *t;
    cJSON_ArrayForEach(t, list)
    {
        int64_t u = sync_updated(t);
        reached = u > 0 ? u : reached;
        v[i] = (struct sync_seen){tickets_int(t, "id"), reached, i, t};
        i++;
    }
    qsort(v, (size_t)n, sizeof(*v), sync_seen_cmp);
    int64_t oldest = 0;
    for (i = 0; i + 1 < n; i++) {
        if (v[i].id != v[i + 1].id)
            continue;
        moved++;
        if (oldest == 0 || v[i].updated < oldest)
            oldest = v[i].updated;
        cJSON_Delete(cJSON_DetachItemViaPointer(list, v[i].item));
    }
    free(v);
    if (moved)
        job_warn(s->ctx,
                 "%d ticket(s) changed while the list was read: the next run lists again "
                 "from where they were",
                 moved);
    return oldest;
}

/* Lists the tickets updated since `since`; *newest gets the newest updated_at of all, and
 * s->wm_cap the time past which this run sets no watermark: when the listing began (a ticket
 * changed after its page was read is listed by the next run), or earlier where a ticket that
 * changed meanwhile was (sync_dedupe). */
static enum fs_fail
sync_list(struct sync *s, int64_t since, cJSON **list, int64_t *newest, char *err, size_t len)
{
    char iso[32], path[160];
    caltime_format_utc(since, iso, sizeof(iso));
    snprintf(path, sizeof(path),
             "/tickets?updated_since=%s&order_type=asc&per_page=100&include=stats,requester", iso);
    *list = cJSON_CreateArray();
    s->wm_cap = now_wall_ms() / 1000;
    enum fs_fail f = fs_list(&s->fs, path, "tickets", *list, err, len);
    int64_t moved_from = f == FS_OK ? sync_dedupe(s, *list, since) : 0;
    if (moved_from && moved_from < s->wm_cap)
        s->wm_cap = moved_from;
    *newest = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, *list) if (sync_updated(t) > *newest) *newest = sync_updated(t);
    if (*newest > s->wm_cap)
        *newest = s->wm_cap;
    return f;
}

static void
sync_result(struct sync *s, struct job_out *out, int64_t watermark)
{
    char wm[32] = "";
    if (watermark > 0)
        caltime_format_utc(watermark, wm, sizeof(wm));
    job_out_ok(out,
               xasprintf("{\"fetched\":%lld,\"upserted\":%lld,\"unchanged\":%lld,"
                         "\"skipped_unmapped\":%lld,\"failed\":%lld,\"watermark\":\"%s\"}",
                         (long long)s->fetched, (long long)s->upserted, (long long)s->unchanged,
                         (long long)s->skipped, (long long)s->failed, wm));
}

/* Opens the service, the store and the department map. -1 with the outcome filled. */
static int
sync_open(struct sync *s, struct job_ctx *ctx, struct job_out *out)
{
    char err[512];
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    if (fs_open(ctx, &s->fs, err, sizeof(err)) < 0 ||
        (s->db = job_db(ctx, "tickets", err, sizeof(err))) == NULL) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return -1;
    }
    s->n_depts = ticket_store_depts(s->db, &s->depts);
    if (s->n_depts < 0) {
        job_out_fail(out, JOB_RETRY, "read department_companies: %s", db_errstr(s->db));
        return -1;
    }
    return 0;
}

/* Ends a run the service asked to wait (fs.told_wait_ms): the job retries after that wait,
 * what was stored is kept. */
static void
sync_told_to_wait(struct sync *s, struct job_out *out)
{
    char why[48] = "the fleet-wide pause";
    if (s->fs.told_status)
        snprintf(why, sizeof(why), "HTTP %ld, Retry-After", s->fs.told_status);
    job_out_fail(out, JOB_RETRY,
                 "Freshservice asked to wait %lld s (%s): stopped; what was stored is kept, and "
                 "the job runs again then",
                 (long long)((s->fs.told_wait_ms + 999) / 1000), why);
    out->retry_delay_ms = s->fs.told_wait_ms;
}

static void
sync_fail_api(struct job_out *out, enum fs_fail f, const char *err)
{
    if (f == FS_AUTH)
        job_out_fail(out, JOB_FAIL,
                     "Freshservice refused the credentials ([service.freshservice] api_key): %s",
                     err);
    else if (f == FS_DENIED)
        job_out_fail(out, JOB_FAIL,
                     "Freshservice denied the API key access to the ticket list (its agent "
                     "needs ticket permissions): %s",
                     err);
    else
        job_out_fail(out, JOB_RETRY, "%s", err);
}

/* Runs the chunks over the closed tickets of list; returns -1 when storing failed. */
static int
sync_chunks(struct sync *s, cJSON *list)
{
    int n = 0, total = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, list) total += tickets_int(t, "status") == FS_CLOSED;
    cJSON **closed = xcalloc((size_t)(total ? total : 1), sizeof(*closed));
    cJSON_ArrayForEach(t, list) if (tickets_int(t, "status") == FS_CLOSED) closed[n++] = t;
    qsort(closed, (size_t)n, sizeof(*closed), sync_by_updated);
    job_info(s->ctx, "%d closed tickets of %d listed", n, cJSON_GetArraySize(list));
    job_progress(s->ctx, 0, n, "tickets");
    int rc = 0;
    for (int i = 0; i < n && rc == 0 && s->abort == FS_OK && s->fs.told_wait_ms == 0;
         i += SYNC_CHUNK) {
        if (job_ctx_cancelled(s->ctx))
            break;
        rc = sync_chunk(s, closed + i, n - i < SYNC_CHUNK ? n - i : SYNC_CHUNK);
        job_progress(s->ctx, i + SYNC_CHUNK < n ? i + SYNC_CHUNK : n, n, "tickets");
    }
    free(closed);
    return rc;
}

void
tickets_fs_sync(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct sync s;
    char err[512];
    if (sync_open(&s, ctx, out) < 0)
        return;
    cJSON *list = NULL;
    int64_t newest = 0, since = 0;
    enum fs_fail f = FS_OK;
    if (sync_since(&s, params, &since, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
    } else if ((f = sync_list(&s, since, &list, &newest, err, sizeof(err))) != FS_OK) {
        if (s.fs.told_wait_ms > 0)
            sync_told_to_wait(&s, out);
        else
            sync_fail_api(out, f, err);
    } else if (sync_chunks(&s, list) < 0) {
        job_out_fail(out, JOB_RETRY, "store tickets: %s", db_errstr(s.db));
    } else if (s.abort != FS_OK) {
        sync_fail_api(out, s.abort, s.abort_err);
    } else if (s.fs.told_wait_ms > 0) {
        sync_told_to_wait(&s, out);
    } else if (job_ctx_cancelled(ctx)) {
        job_out_fail(out, JOB_CANCELLED, "cancelled; what was stored is kept");
    } else {
        /* Past every listed ticket unless one failed: then it is fetched again next time. A
         * dry run reports the watermark it would have set. */
        if (!s.first_fail_t && !s.wm_kept && newest > 0) {
            if (ctx->dry_run)
                s.wm_stored = newest;
            else if (ticket_store_set_watermark(s.db, SYNC_NAME, newest) == 0)
                s.wm_stored = newest;
            else
                job_warn(ctx, "set the watermark: %s", db_errstr(s.db));
        }
        sync_result(&s, out, s.wm_stored);
    }
    cJSON_Delete(list);
    ticket_depts_free(s.depts, s.n_depts);
}
