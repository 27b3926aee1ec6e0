/* The attachment copy between the helpdesks (API-FACTS §1, §2, §5, §6): three job functions,
 * each idempotent (a re-run copies nothing new: dedup by file name, size and content,
 * attach_set.h) and dry-runnable.
 *
 * Parameters (how to change them: add members, never rename; the producer and scripts send
 * them):
 *   Attachments/Freshservice/CopyToToga  {"ticket_id", "conversation_id", "note_uuid"}
 *   Attachments/Toga/CopyToDesk          {"note_uuid", "desk_reply_id"}
 *   Attachments/Desk/CopyToToga          {"desk_reply_id", "note_uuid"}
 * The two desk copies also take "service" (the [service.<name>] of the TOGA 2, default "toga")
 * and "desk_db" (the [db.<name>] of the desk, default "desk"): the helpdesk sync's clients
 * each name their own.
 * ids may be numbers or strings of digits. */
#ifndef JOBFLEET_ATTACH_H
#define JOBFLEET_ATTACH_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "attach_fetch.h"
#include "runtime.h"
#include "toga.h"

struct attach_set;
struct attach_item;
struct db;

/* Freshservice conversation attachments (signed URLs, downloaded safely) onto a TOGA 2 note;
 * a 403 that means expiry re-fetches the conversation for fresh URLs once. */
void attach_fs_to_toga(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
/* A TOGA 2 note's files into the desk: a files row, then the bytes as {id}-{name} in
 * [attachments] uploads_dir, then the row completed. */
void attach_toga_to_desk(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
/* A desk reply's files (rows and bytes on disk) onto a TOGA 2 note. */
void attach_desk_to_toga(struct job_ctx *ctx, const cJSON *params, struct job_out *out);

/* For the Freshservice webhook (Freshservice/Ticket/Webhook): when the payload (the webhook's
 * "payload" text, fields at the top or under "freshservice_webhook") names a
 * "conversation_id" and a "note_uuid", enqueues Attachments/Freshservice/CopyToToga for
 * ticket_id at once and at ATTACH_WEBHOOK_PRIORITY, because the signed URLs expire. Returns the
 * job's id, 0 when the payload names no attachment copy, -1 with err set. */
#define ATTACH_WEBHOOK_PRIORITY 100
int64_t attach_webhook_enqueue(struct job_ctx *ctx, const cJSON *params, int64_t ticket_id,
                               char *err, size_t errlen);

/* Shared by the three (attach_job.c). */

/* A copy between a desk reply and a TOGA 2 note (both directions), as its job runs it. */
struct attach_copy {
    struct job_ctx *ctx;
    const cJSON *params;
    struct job_out *out;
    struct attach_conf conf;
    struct db *db; /* [db.desk] */
    struct toga tg;
    int64_t reply;
    const char *note;
    struct attach_set *have; /* the target's files */
    int copied, skipped;
    cJSON *names; /* the names copied */
};

/* Reads {"note_uuid", "desk_reply_id"}, [attachments], [db.desk] and [service.toga] into c.
 * 0, or -1 with out failed (nothing to close then). */
int attach_copy_open(struct attach_copy *c, struct job_ctx *ctx, const cJSON *params,
                     struct job_out *out);
/* Sets the job's result (unless it failed) and releases what c holds. */
void attach_copy_close(struct attach_copy *c);

/* A positive id parameter (a number or a string of digits); 0 when missing or bad. */
int64_t attach_param_id(const cJSON *params, const char *name);
/* A non-empty string parameter of at most 64 characters, or NULL. */
const char *attach_param_uuid(const cJSON *params, const char *name);
/* A config section label parameter (a non-empty string of at most 64 characters), or dflt. */
const char *attach_param_name(const cJSON *params, const char *name, const char *dflt);
/* Fails the job for a TOGA 2 failure: retry when it may pass, else permanently. */
void attach_fail_toga(struct job_out *out, const struct toga_err *e, const char *what);
/* Fills the set with the note's files (GET /ticket-notes/{uuid}?depth=5); a failed read fails
 * the job (never "no files yet"). 0, or -1 with out filled. */
int attach_note_set(struct toga *tg, const char *note, struct attach_set *set, struct job_out *out);
/* The hash callback for a set of TOGA 2 files (arg: the struct toga): fetches the file. */
int attach_toga_hash(void *arg, struct attach_item *it, char *err, size_t errlen);
/* Tests only ([worker] test_actions): kills this process (as kill -9 would) when params'
 * member name equals the attempt number, so a test can stop a job between two steps. */
void attach_test_crash(const struct job_ctx *ctx, const cJSON *params, const char *name);
/* The result: {"copied": n, "skipped": n, "files": [names copied]} (files taken). */
char *attach_result(int copied, int skipped, cJSON *files_take);

#endif
