/* This file is the TOGA 2 -> desk direction of the helpdesk sync: changed tickets, then the
 * tickets of changed notes not synced yet, each re-fetched at depth 5 and written into the
 * desk (the ticket row, its category, each new note as a reply with history or a comment, and
 * the file copy of each new reply). One ticket's failure is logged, counted and holds the
 * watermark back; the run goes on. */
#include "db.h"
#include "togadesk_int.h"
#include "togadesk_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP "toga_to_desk"

/* A failed ticket: logged with its ids, counted, and the watermark held before it. */
static int
in_fail(struct togadesk *td, const char *uuid, int64_t updated, const struct toga_err *e,
        const char *why)
{
    if (e)
        togadesk_note_fail(td, e);
    togadesk_count(td, GROUP, "failed", 1);
    if (td->in_first_fail == 0 || updated < td->in_first_fail)
        td->in_first_fail = updated;
    job_warn(td->ctx, "client %s: TOGA 2 ticket %s (_updated %lld) into the desk failed: %s",
             td->conf.name, uuid, (long long)updated, why);
    return -1;
}

/* The ticket's desk row: inserted or updated; *id its desk id (0 in a dry run for a new one). */
static int
in_ticket_row(struct togadesk *td, const cJSON *t, const char *uuid, int64_t *id)
{
    struct togadesk_ticket_row r = {
        .uuid = uuid,
        .client_id = td->conf.client_id,
        .department_id = td->conf.department_id,
        .number = togadesk_str(t, "ticketNumber"),
        .subject = togadesk_str(t, "subject"),
        .status = togadesk_str(t, "status"),
        .priority = togadesk_str(t, "priority"),
        .userid = togadesk_store_ref_id(td->desk, "people", togadesk_ref(t, "contact")),
        .assetid = togadesk_store_ref_id(td->desk, "assets", togadesk_ref(t, "unit")),
        .created = togadesk_time(t, "_created"),
        .updated = togadesk_time(t, "_updated"),
    };
    if (r.userid < 0 || r.assetid < 0)
        return -1;
    if (td->ctx->dry_run) {
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "upsert", "tickets");
        cJSON_AddStringToObject(step, "uuid", uuid);
        job_plan(td->ctx, step);
        *id = 0;
        return 0;
    }
    int changed = 0;
    if (togadesk_store_ticket(td->desk, &r, id, &changed) < 0)
        return -1;
    togadesk_count(td, GROUP, changed ? "tickets_written" : "tickets_unchanged", 1);
    if (changed && r.created > td->desk_wrote)
        td->desk_wrote = r.created;
    return 0;
}

struct in_insert {
    struct togadesk *td;
    const cJSON *note;
    const char *uuid;
    int64_t ticket, t, id;
    bool enqueue_failed;
    char err[512];
};

/* In one desk transaction: the reply (with history) or comment, and for a reply the file
 * copy's job. The job is enqueued before the commit, so a crash leaves either both or a job
 * whose reply never existed (it fails alone after its retries, and the re-run makes a new reply
 * and job). A worker may run the job before the commit: the copy retries a missing reply. */
static int
in_insert_tx(struct db *db, void *arg)
{
    struct in_insert *a = arg;
    bool ext = togadesk_note_external(a->note);
    if (togadesk_store_note_insert(db, ext, a->ticket, a->t, a->uuid, togadesk_note_text(a->note),
                                   &a->id) < 0)
        return -1;
    if (ext && togadesk_files_to_desk(a->td, a->uuid, a->id, a->err, sizeof(a->err)) < 0) {
        a->enqueue_failed = true;
        return -1;
    }
    return 0;
}

/* A note the desk lacks: repaired when it is a reply this sync posted (its conversation field
 * names an unlinked reply of the ticket), else inserted. 0, or -1 with why set. */
static int
in_note_new(struct togadesk *td, int64_t ticket, const cJSON *note, const char *uuid, char *why,
            size_t len)
{
    int64_t reply = 0;
    const char *conv = togadesk_note_conversation(td, note);
    int un = *conv && parse_int64(conv, 1, INT64_MAX, &reply) == 0
                 ? togadesk_store_reply_unlinked(td->desk, ticket, reply)
                 : 0;
    if (un < 0)
        return togadesk_desk_error(td);
    if (un == 1) {
        if (togadesk_files_to_toga(td, reply, uuid, why, len) < 0)
            return -1;
        if (togadesk_store_reply_link(td->desk, reply, uuid) < 0)
            return togadesk_desk_error(td);
        togadesk_count(td, "desk_to_toga", "repaired", 1);
        return 0;
    }
    int64_t t = togadesk_time(note, "_created");
    struct in_insert a = {td, note,  uuid, ticket, t ? t : togadesk_time(note, "_updated"),
                          0,  false, ""};
    if (job_db_tx(td->desk, in_insert_tx, &a) != 0) {
        if (!a.enqueue_failed)
            return togadesk_desk_error(td);
        snprintf(why, len, "%s", a.err);
        return -1;
    }
    if (a.t > td->desk_wrote)
        td->desk_wrote = a.t;
    togadesk_count(td, GROUP, togadesk_note_external(note) ? "replies" : "comments", 1);
    return 0;
}

/* The notes of a fetched ticket (desk id ticket). 0, or -1 with why set. */
static int
in_notes(struct togadesk *td, int64_t ticket, const cJSON *t, char *why, size_t len)
{
    const cJSON *note;
    cJSON_ArrayForEach(note, cJSON_GetObjectItemCaseSensitive(t, "ticketNotes"))
    {
        const char *uuid = togadesk_ref(note, "uuid");
        if (uuid && !cJSON_HasObjectItem(td->in_notes_seen, uuid))
            cJSON_AddTrueToObject(td->in_notes_seen, uuid);
        int known = uuid ? togadesk_store_note_known(td->desk, uuid) : 1;
        if (known < 0)
            return togadesk_desk_error(td);
        if (known)
            continue;
        if (td->ctx->dry_run) {
            cJSON *step = cJSON_CreateObject();
            cJSON_AddStringToObject(step, "insert",
                                    togadesk_note_external(note) ? "tickets_replies" : "comments");
            cJSON_AddStringToObject(step, "note", uuid);
            job_plan(td->ctx, step);
            togadesk_count(td, GROUP, togadesk_note_external(note) ? "replies" : "comments", 1);
            continue;
        }
        if (in_note_new(td, ticket, note, uuid, why, len) < 0)
            return -1;
    }
    return 0;
}

/* Syncs one TOGA 2 ticket. updated: the _updated that listed it (the watermark's measure). */
static int
in_ticket(struct togadesk *td, const char *uuid, int64_t updated)
{
    /* Failed until it is synced: a note of a failed ticket is held by its failure. */
    cJSON_DeleteItemFromObjectCaseSensitive(td->in_done, uuid);
    cJSON_AddFalseToObject(td->in_done, uuid);
    struct toga_err e;
    cJSON *t = togadesk_ticket_get(td, uuid, &e);
    if (t == NULL)
        return in_fail(td, uuid, updated, &e, e.msg);
    char why[512] = "";
    int64_t id = 0;
    int rc = in_ticket_row(td, t, uuid, &id);
    if (rc < 0)
        togadesk_desk_error(td);
    if (rc == 0 && id && togadesk_category_set(td, id, t) < 0)
        rc = togadesk_desk_error(td);
    if (rc == 0 && (id || td->ctx->dry_run))
        rc = in_notes(td, id, t, why, sizeof(why));
    cJSON_Delete(t);
    if (rc < 0)
        return in_fail(td, uuid, updated, NULL, why[0] ? why : db_errstr(td->desk));
    togadesk_count(td, GROUP, "tickets", 1);
    cJSON_ReplaceItemInObjectCaseSensitive(td->in_done, uuid, cJSON_CreateTrue());
    if (updated > td->in_newest)
        td->in_newest = updated;
    return 0;
}

/* A listed note of a ticket this run handled. A note its fetch did not hold was made after it
 * (the run went on to other tickets meanwhile): the ticket is fetched once more; taken as
 * synced, the note would fall behind the watermark and, the run being longer than the overlap,
 * never be listed again. One still missing after that holds the watermark before it. */
static void
in_listed_note_of_done(struct togadesk *td, const char *ticket, const char *note, int64_t updated)
{
    bool synced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(td->in_done, ticket));
    if (synced && note && !cJSON_HasObjectItem(td->in_notes_seen, note)) {
        if (!cJSON_HasObjectItem(td->in_refetched, ticket)) {
            cJSON_AddTrueToObject(td->in_refetched, ticket);
            in_ticket(td, ticket, updated);
            return;
        }
        if (td->in_first_fail == 0 || updated < td->in_first_fail)
            td->in_first_fail = updated;
        job_warn(td->ctx,
                 "client %s: TOGA 2 note %s is listed but its ticket %s does not hold it: "
                 "left for the next run",
                 td->conf.name, note, ticket);
        return;
    }
    /* Synced, or failed (which already holds the watermark), in this run. */
    if (updated > td->in_newest)
        td->in_newest = updated;
}

/* Whether the run must stop: the desk failed, the credentials were refused, or cancelled. */
static int
in_go_on(const struct togadesk *td)
{
    return td->desk_failed || td->abort != TOGA_OK ? -1 : 0;
}

static int
in_listed_ticket(struct togadesk *td, const cJSON *rec, const void *arg)
{
    (void)arg;
    in_ticket(td, togadesk_ref(rec, "uuid"), togadesk_time(rec, "_updated"));
    return in_go_on(td);
}

static int
in_listed_note(struct togadesk *td, const cJSON *rec, const void *arg)
{
    (void)arg;
    const char *ticket = togadesk_ref(rec, "ticket");
    int64_t updated = togadesk_time(rec, "_updated");
    if (ticket == NULL) {
        job_warn(td->ctx, "client %s: TOGA 2 note %s has no ticket: skipped", td->conf.name,
                 togadesk_str(rec, "uuid"));
    } else if (cJSON_HasObjectItem(td->in_done, ticket)) {
        in_listed_note_of_done(td, ticket, togadesk_ref(rec, "uuid"), updated);
    } else {
        in_ticket(td, ticket, updated);
    }
    return in_go_on(td);
}

int
togadesk_in(struct togadesk *td, struct job_out *out)
{
    int64_t since = td->wm_in.t - td->conf.overlap_s;
    struct toga_err e;
    const char *what = "tickets";
    enum toga_fail f = togadesk_list(td, "tickets", "tickets", since, in_listed_ticket, NULL, &e);
    td->in_listed_at = now_wall_ms() / 1000;
    if (f == TOGA_OK && in_go_on(td) == 0) {
        what = "ticket-notes";
        f = togadesk_list(td, "ticket-notes", "ticketNotes", since, in_listed_note, NULL, &e);
    }
    if (f != TOGA_OK) {
        togadesk_note_fail(td, &e);
        job_out_fail(out, f == TOGA_AUTH ? JOB_FAIL : JOB_RETRY, "list TOGA 2 %s: %s", what, e.msg);
        return -1;
    }
    if (td->desk_failed) {
        job_out_fail(out, JOB_RETRY, "the desk database: %s", db_errstr(td->desk));
        return -1;
    }
    return 0;
}
