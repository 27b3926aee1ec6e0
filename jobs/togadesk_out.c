/* This file is the desk -> TOGA 2 direction of the helpdesk sync: desk tickets of the client
 * in the watched departments whose newest activity passed the watermark; each reply without a
 * referenceId becomes a TOGA 2 note.
 *
 * The crash window after POST /ticket-notes and before the referenceId write: every posted
 * note carries the desk reply's id in the conversation field, and before posting the ticket's
 * notes (GET /tickets/{uuid}?depth=5) are searched for it; a note found there is the one a
 * crashed run posted, and is linked instead of posted again. The file copy is enqueued (with an
 * idempotency key) before the referenceId write, so that window cannot lose the files either. */
#include "db.h"
#include "togadesk_int.h"
#include "togadesk_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP "desk_to_toga"
#define OUT_BATCH 200

static int
out_fail(struct togadesk *td, const struct togadesk_active *a, const struct toga_err *e,
         const char *why)
{
    if (e)
        togadesk_note_fail(td, e);
    togadesk_count(td, GROUP, "failed", 1);
    if (td->out_first_fail == 0 || a->activity < td->out_first_fail)
        td->out_first_fail = a->activity;
    job_warn(td->ctx, "client %s: desk ticket %lld (TOGA 2 ticket %s) into TOGA 2 failed: %s",
             td->conf.name, (long long)a->id, a->uuid, why);
    return -1;
}

/* The notes of the TOGA 2 ticket that carry a conversation id: id text -> note uuid. */
static cJSON *
out_posted(const struct togadesk *td, const cJSON *ticket)
{
    cJSON *map = cJSON_CreateObject();
    const cJSON *note;
    cJSON_ArrayForEach(note, cJSON_GetObjectItemCaseSensitive(ticket, "ticketNotes"))
    {
        const char *conv = togadesk_note_conversation(td, note);
        const char *uuid = togadesk_ref(note, "uuid");
        if (*conv && uuid && !cJSON_HasObjectItem(map, conv))
            cJSON_AddStringToObject(map, conv, uuid);
    }
    return map;
}

/* One reply: found among the posted notes, or posted; then its files and its referenceId.
 * 0, or -1 with why set (and e when TOGA 2 failed). */
static int
out_reply(struct togadesk *td, const struct togadesk_active *a, const cJSON *posted,
          const struct togadesk_reply *r, struct toga_err *e, char *why, size_t len)
{
    char key[24], uuid[65];
    snprintf(key, sizeof(key), "%lld", (long long)r->id);
    const char *found = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(posted, key));
    if (found) {
        snprintf(uuid, sizeof(uuid), "%s", found);
        togadesk_count(td, GROUP, "repaired", 1);
        if (td->ctx->dry_run) {
            cJSON *step = cJSON_CreateObject();
            cJSON_AddNumberToObject(step, "link_reply", (double)r->id);
            cJSON_AddStringToObject(step, "note", uuid);
            job_plan(td->ctx, step);
            return 0;
        }
    } else {
        enum toga_fail f = togadesk_note_post(td, a->uuid, r->id, r->message, uuid, e);
        if (f == TOGA_DRY) {
            togadesk_count(td, GROUP, "notes", 1);
            return 0;
        }
        if (f != TOGA_OK) {
            snprintf(why, len, "reply %lld: %s", (long long)r->id, e->msg);
            return -1;
        }
        togadesk_count(td, GROUP, "notes", 1);
    }
    if (togadesk_files_to_toga(td, r->id, uuid, why, len) < 0)
        return -1;
    if (togadesk_store_reply_link(td->desk, r->id, uuid) < 0) {
        togadesk_desk_error(td);
        snprintf(why, len, "reply %lld: %s", (long long)r->id, db_errstr(td->desk));
        return -1;
    }
    return 0;
}

/* One desk ticket. 0 (synced, or nothing to send), -1 (failed: counted). */
static int
out_ticket(struct togadesk *td, const struct togadesk_active *a)
{
    struct togadesk_reply *r = NULL;
    int n = togadesk_store_unlinked(td->desk, a->id, &r);
    if (n < 0) {
        togadesk_desk_error(td);
        return out_fail(td, a, NULL, db_errstr(td->desk));
    }
    int rc = 0;
    if (n > 0 && a->uuid[0] == '\0') {
        /* A desk-only ticket has no TOGA 2 ticket to take notes. */
        togadesk_count(td, GROUP, "replies_without_toga_ticket", n);
    } else if (n > 0) {
        struct toga_err e;
        char why[600] = "";
        cJSON *t = togadesk_ticket_get(td, a->uuid, &e);
        cJSON *posted = t ? out_posted(td, t) : NULL;
        if (t == NULL)
            rc = out_fail(td, a, &e, e.msg);
        for (int i = 0; rc == 0 && i < n; i++) {
            memset(&e, 0, sizeof(e));
            if (out_reply(td, a, posted, &r[i], &e, why, sizeof(why)) < 0)
                rc = out_fail(td, a, e.fail != TOGA_OK ? &e : NULL, why);
        }
        cJSON_Delete(posted);
        cJSON_Delete(t);
    }
    togadesk_store_replies_free(r, n);
    if (rc == 0) {
        togadesk_count(td, GROUP, "tickets", 1);
        if (a->activity > td->out_newest)
            td->out_newest = a->activity;
    }
    return rc;
}

int
togadesk_out(struct togadesk *td, struct job_out *out)
{
    struct togadesk_active batch[OUT_BATCH];
    int64_t since = td->wm_out.t - td->conf.overlap_s, after_t = since - 1, after_id = 0;
    for (;;) {
        int n = togadesk_store_active(td->desk, td->conf.client_id, td->conf.depts,
                                      td->conf.n_depts, since, after_t, after_id, batch, OUT_BATCH);
        if (n < 0) {
            td->desk_failed = true;
            break;
        }
        for (int i = 0; i < n && !td->desk_failed && td->abort == TOGA_OK; i++)
            out_ticket(td, &batch[i]);
        if (n < OUT_BATCH || td->desk_failed || td->abort != TOGA_OK || job_ctx_cancelled(td->ctx))
            break;
        after_t = batch[n - 1].activity;
        after_id = batch[n - 1].id;
    }
    if (td->desk_failed) {
        job_out_fail(out, JOB_RETRY, "the desk database: %s", db_errstr(td->desk));
        return -1;
    }
    return 0;
}
