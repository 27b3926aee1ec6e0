/* This file holds the one-ticket sync and the Freshservice webhook that asks for it. */
#include "attach.h"
#include "freshservice.h"
#include "job.h"
#include "json.h"
#include "tickets.h"
#include "tickets_row.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A webhook burst for one ticket (an automator fires on every update) waits this long, so the
 * SyncOne job it makes is still pending when the rest of the burst arrives and finds it. */
#define WEBHOOK_DEBOUNCE_MS 5000

/* A ticket id given as a number or a string of digits; 0 when it is neither. */
static int64_t
tickets_id_of(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 9e15)
        return (int64_t)v->valuedouble;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > 18)
        return 0;
    for (const char *p = v->valuestring; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return strtoll(v->valuestring, NULL, 10);
}

/* Upserts a row, reading first whether the store held it (ticket_store_upsert needs to know). */
static int
one_upsert(struct db *db, const struct ticket_row *row, int *changed)
{
    char stamp[1][21];
    if (ticket_store_stamps(db, &row->ticket_id, 1, stamp) < 0)
        return -1;
    return ticket_store_upsert(db, row, stamp[0][0] != '\0', changed);
}

/* Upserts a made row (a plan step in a dry run); returns 0 or -1 with the outcome filled. */
static int
one_put(struct job_ctx *ctx, struct db *db, const struct tickets_row *tr, struct job_out *out,
        int *changed)
{
    long long id = (long long)tr->row.ticket_id;
    if (tr->fitted[0])
        job_warn(ctx, "ticket %lld: %s changed to fit the store", id, tr->fitted);
    if (ctx->dry_run) {
        job_plan(ctx, cJSON_CreateString("upsert the ticket"));
        return 0;
    }
    if (one_upsert(db, &tr->row, changed) == 0)
        return 0;
    /* A row refused for its values is refused again however often it is sent. */
    job_out_fail(out, db_data_error(db) ? JOB_FAIL : JOB_RETRY, "store ticket %lld: %s", id,
                 db_errstr(db));
    return -1;
}

/* Stores one fetched ticket; returns 0 or -1 with the outcome filled. */
static int
one_store(struct job_ctx *ctx, struct fs *fs, const cJSON *t, const char *company,
          struct job_out *out, int *changed)
{
    int64_t id = (int64_t)cJSON_GetObjectItemCaseSensitive(t, "id")->valuedouble;
    struct fs_details d;
    fs_details(fs, &id, 1, &d);
    char *name = NULL, *email = NULL;
    char err[512];
    enum fs_fail f = d.fail;
    snprintf(err, sizeof(err), "%s", d.err);
    /* fs_ticket asked for include=requester: the requester is in t already. */
    if (f == FS_OK)
        f = fs_ticket_person(fs, t, &name, &email, err, sizeof(err));
    int rc = -1;
    struct db *db = f == FS_OK ? job_db(ctx, "tickets", err, sizeof(err)) : NULL;
    if (f != FS_OK) {
        fs_out_fail(fs, out, f, err);
    } else if (db == NULL) {
        job_out_fail(out, JOB_RETRY, "%s", err);
    } else {
        struct tickets_row tr;
        rc = tickets_row_make(&tr, t, company, d.conversations, d.time_entries, name, email, err,
                              sizeof(err));
        if (rc < 0)
            job_out_fail(out, JOB_FAIL, "ticket %lld: %s", (long long)id, err);
        else
            rc = one_put(ctx, db, &tr, out, changed);
        tickets_row_release(&tr);
    }
    free(name);
    free(email);
    fs_details_release(&d);
    return rc;
}

void
tickets_fs_sync_one(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    int64_t id = tickets_id_of(cJSON_GetObjectItemCaseSensitive(params, "ticket_id"));
    char err[512];
    struct fs fs;
    if (id <= 0) {
        job_out_fail(out, JOB_FAIL, "parameters: \"ticket_id\" must be a positive ticket id");
        return;
    }
    struct db *db = job_db(ctx, "tickets", err, sizeof(err));
    if (db == NULL || fs_open(ctx, &fs, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return;
    }
    enum fs_fail f;
    cJSON *t = fs_ticket(&fs, id, &f, err, sizeof(err));
    if (t == NULL) {
        fs_out_fail(&fs, out, f, err);
        return;
    }
    /* The row is stored under the answer's id: it must be the one asked for. */
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
    int64_t got;
    if (!json_int_of(tid, 1, JSON_INT_MAX, &got) || got != id) {
        job_out_fail(out, JOB_FAIL,
                     "freshservice: GET /tickets/%lld answered a ticket whose id is %s",
                     (long long)id, cJSON_IsNumber(tid) ? "another" : "missing");
        cJSON_Delete(t);
        return;
    }
    struct ticket_dept *depts = NULL;
    int nd = ticket_store_depts(db, &depts), changed = 0;
    const char *company =
        nd < 0 ? NULL : ticket_dept_company(depts, nd, tickets_int(t, "department_id"));
    double status = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "status"));
    if (nd < 0)
        job_out_fail(out, JOB_RETRY, "read department_companies: %s", db_errstr(db));
    else if (status != 5)
        job_out_ok(out,
                   xasprintf("{\"ticket_id\":%lld,\"skipped\":\"not closed\"}", (long long)id));
    else if (company == NULL)
        job_out_ok(out, xasprintf("{\"ticket_id\":%lld,\"skipped\":\"department not mapped\"}",
                                  (long long)id));
    else if (one_store(ctx, &fs, t, company, out, &changed) == 0)
        job_out_ok(out, xasprintf("{\"ticket_id\":%lld,\"changed\":%s}", (long long)id,
                                  changed ? "true" : "false"));
    ticket_depts_free(depts, nd);
    cJSON_Delete(t);
}

/* The ticket id a webhook's payload names, or 0. */
static int64_t
webhook_ticket(const cJSON *params)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(params, "payload");
    cJSON *body = cJSON_IsString(payload) ? cJSON_Parse(payload->valuestring) : NULL;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(body, "freshservice_webhook");
    int64_t id = tickets_id_of(cJSON_GetObjectItemCaseSensitive(inner ? inner : body, "ticket_id"));
    cJSON_Delete(body);
    return id;
}

void
tickets_fs_webhook(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    /* The payload is a hint: the truth is fetched by SyncOne. */
    int64_t id = webhook_ticket(params);
    if (id <= 0) {
        job_out_fail(out, JOB_FAIL,
                     "the webhook payload names no ticket_id (a number or a "
                     "string of digits, at the top or under "
                     "\"freshservice_webhook\")");
        return;
    }
    char p[64], err[512];
    /* Attachments first: their signed URLs expire (API-FACTS §2). */
    int64_t att = attach_webhook_enqueue(ctx, params, id, err, sizeof(err));
    if (att < 0) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return;
    }
    snprintf(p, sizeof(p), "{\"ticket_id\":%lld}", (long long)id);
    struct job_spec spec = {.action = "Tickets/Freshservice/SyncOne",
                            .parameters = p,
                            .run_at_ms = now_wall_ms() + WEBHOOK_DEBOUNCE_MS};
    struct job_ref ref;
    if (job_enqueue(ctx, &spec, &ref, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return;
    }
    job_out_ok(out, xasprintf("{\"ticket_id\":%lld,\"sync_job\":%lld,\"existing\":%s,"
                              "\"attachments_job\":%lld}",
                              (long long)id, (long long)ref.id, ref.existing ? "true" : "false",
                              (long long)att));
}
