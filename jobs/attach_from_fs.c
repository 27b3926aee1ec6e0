/* This file holds Attachments/Freshservice/CopyToToga: a Freshservice conversation's
 * attachments, downloaded from their signed URLs, onto a TOGA 2 note. */
#include "attach.h"
#include "attach_fetch.h"
#include "attach_file.h"
#include "attach_set.h"
#include "freshservice.h"
#include "hmac.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for why one attachment failed: its id and the fetch's error. */
#define FS_WHY_SIZE 640

struct from_fs {
    struct job_ctx *ctx;
    struct job_out *out;
    struct attach_conf conf;
    struct fs fs;
    struct toga tg;
    int64_t ticket, conv;
    const char *note;
    cJSON *atts; /* the conversation's attachments, as last fetched */
    struct attach_set have;
    int copied, skipped;
    int bad, later;              /* attachments given up on, and those a retry may still get */
    char first_bad[FS_WHY_SIZE]; /* why the first of them failed */
    cJSON *names;
};

/* What became of one attachment: copied or already there, given up on (the others still go),
 * worth a retry (the others still go), or the job stops (out filled). */
enum fs_att { FS_ATT_DONE, FS_ATT_BAD, FS_ATT_LATER, FS_ATT_STOP };

/* Fetches the conversation's attachments into f->atts (replacing them). 0, or -1 with out
 * filled. */
static int
from_fs_conversation(struct from_fs *f)
{
    char path[96], err[512];
    snprintf(path, sizeof(path), "/tickets/%lld/conversations?per_page=100", (long long)f->ticket);
    cJSON *all = cJSON_CreateArray();
    enum fs_fail ff = fs_list(&f->fs, path, "conversations", all, err, sizeof(err));
    if (ff != FS_OK) {
        fs_out_fail(&f->fs, f->out, ff, err);
        cJSON_Delete(all);
        return -1;
    }
    cJSON *c, *atts = NULL;
    cJSON_ArrayForEach(c, all)
    {
        if (atts == NULL && json_int(c, "id", 1, JSON_INT_MAX, 0) == f->conv)
            atts = cJSON_DetachItemFromObject(c, "attachments");
    }
    cJSON_Delete(all);
    if (atts == NULL || !cJSON_IsArray(atts)) {
        job_out_fail(f->out, JOB_FAIL, "ticket %lld has no conversation %lld with attachments",
                     (long long)f->ticket, (long long)f->conv);
        cJSON_Delete(atts);
        return -1;
    }
    cJSON_Delete(f->atts);
    f->atts = atts;
    return 0;
}

/* The attachment_url of attachment id in f->atts, or NULL. */
static const char *
from_fs_url(const struct from_fs *f, double id)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, f->atts)
    {
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id")) == id)
            return cJSON_GetStringValue(cJSON_GetObjectItem(a, "attachment_url"));
    }
    return NULL;
}

/* Downloads attachment id; on a 403 that may mean expiry, re-fetches the conversation and tries
 * its fresh URL once (never the old one again). FS_ATT_DONE, FS_ATT_BAD or FS_ATT_LATER with
 * why filled, or FS_ATT_STOP with out filled (the re-fetch failed). */
static enum fs_att
from_fs_download(struct from_fs *f, double id, unsigned char **bytes, size_t *len, char *why,
                 size_t whylen)
{
    char err[512];
    const char *url = from_fs_url(f, id);
    enum attach_fetch_result r =
        url ? attach_fetch(&f->conf, f->ctx->cancel_flag, url, bytes, len, err, sizeof(err))
            : ATTACH_FETCH_FAILED;
    if (url == NULL)
        snprintf(err, sizeof(err), "attachment %.0f has no attachment_url", id);
    if (r == ATTACH_FETCH_EXPIRED) {
        job_info(f->ctx, "attachment %.0f: the signed URL was refused (%s); fetching fresh URLs",
                 id, err);
        char *old = xstrdup(url);
        if (from_fs_conversation(f) < 0) {
            free(old);
            return FS_ATT_STOP;
        }
        url = from_fs_url(f, id);
        if (url == NULL || strcmp(url, old) == 0) {
            /* Not expiry, then: the same URL would be refused again. */
            size_t n = strlen(err);
            snprintf(err + n, sizeof(err) - n, "; the conversation gives %s",
                     url ? "the same URL again" : "no URL for it any more");
            r = ATTACH_FETCH_FAILED;
        } else {
            r = attach_fetch(&f->conf, f->ctx->cancel_flag, url, bytes, len, err, sizeof(err));
        }
        free(old);
    }
    if (r == ATTACH_FETCH_OK)
        return FS_ATT_DONE;
    snprintf(why, whylen, "attachment %.0f: %s%s", id, err,
             r == ATTACH_FETCH_EXPIRED ? " (refused again after a re-fetch)" : "");
    return r == ATTACH_FETCH_TRANSIENT ? FS_ATT_LATER : FS_ATT_BAD;
}

/* Uploads one downloaded attachment onto the note unless the note has it. */
static enum fs_att
from_fs_put(struct from_fs *f, const char *name, int64_t size, bool need,
            const unsigned char *bytes, size_t len)
{
    unsigned char sha[32];
    char err[512];
    int found = -1;
    if (bytes)
        hmac_digest(bytes, len, sha);
    if (need && (found = attach_set_find(&f->have, name, (int64_t)len, sha, attach_toga_hash,
                                         &f->tg, err, sizeof(err))) == -2) {
        job_out_fail(f->out, JOB_RETRY, "reading the note's copy to compare: %s", err);
        return FS_ATT_STOP;
    }
    if (found >= 0) {
        f->skipped++;
        return FS_ATT_DONE;
    }
    char *use = attach_set_free_name(&f->have, name), uuid[37] = "";
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "upload_to_note", use);
    job_plan(f->ctx, step);
    struct toga_err e;
    if (!f->ctx->dry_run &&
        toga_file_attach(&f->tg, f->note, use, bytes, len, uuid, &e) != TOGA_OK) {
        attach_fail_toga(f->out, &e, "uploading a file");
        free(use);
        return FS_ATT_STOP;
    }
    attach_set_add(&f->have, use, f->ctx->dry_run ? size : (int64_t)len,
                   f->ctx->dry_run ? NULL : sha, uuid);
    f->copied++;
    cJSON_AddItemToArray(f->names, cJSON_CreateString(use));
    free(use);
    return FS_ATT_DONE;
}

/* Copies one attachment unless the note has it; why says what went wrong with it. */
static enum fs_att
from_fs_one(struct from_fs *f, const cJSON *a, char *why, size_t whylen)
{
    double id = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id"));
    const char *remote = cJSON_GetStringValue(cJSON_GetObjectItem(a, "name"));
    int64_t size = json_int(a, "size", 0, JSON_INT_MAX, -1);
    if (remote == NULL) {
        snprintf(why, whylen, "attachment %.0f has no name", id);
        return FS_ATT_BAD;
    }
    if (size > f->conf.max_bytes) {
        snprintf(why, whylen,
                 "attachment %.0f (%s) has %lld bytes, more than [attachments] max_bytes", id,
                 remote, (long long)size);
        return FS_ATT_BAD;
    }
    char *name = attach_safe_name(remote);
    unsigned char *bytes = NULL;
    size_t len = 0;
    enum fs_att r = FS_ATT_DONE;
    bool need = attach_set_maybe_has(&f->have, name, size);
    if (need || !f->ctx->dry_run)
        r = from_fs_download(f, id, &bytes, &len, why, whylen);
    if (r == FS_ATT_DONE)
        r = from_fs_put(f, name, size, need, bytes, len);
    free(name);
    free(bytes);
    return r;
}

/* Counts and logs an attachment given up on or left for a retry. */
static void
from_fs_note_bad(struct from_fs *f, enum fs_att r, const char *why)
{
    if (f->bad + f->later == 0)
        snprintf(f->first_bad, sizeof(f->first_bad), "%s", why);
    r == FS_ATT_LATER ? f->later++ : f->bad++;
    job_warn(f->ctx, "%s%s", why, r == FS_ATT_LATER ? " (a retry tries it again)" : "");
}

/* Copies every attachment it can: one that fails does not keep the others from the note (the
 * webhook enqueues this job once). The job then fails naming it, or retries when a retry may
 * get it; a retry skips what is on the note already. */
static void
from_fs_run(struct from_fs *f)
{
    if (attach_note_set(&f->tg, f->note, &f->have, f->out) < 0 || from_fs_conversation(f) < 0)
        return;
    int total = cJSON_GetArraySize(f->atts);
    for (int i = 0; i < total; i++) {
        /* f->atts may be replaced by a re-fetch: index it afresh each time. */
        const cJSON *a = cJSON_GetArrayItem(f->atts, i);
        char why[FS_WHY_SIZE];
        enum fs_att r = a ? from_fs_one(f, a, why, sizeof(why)) : FS_ATT_DONE;
        if (r == FS_ATT_STOP)
            return;
        if (r != FS_ATT_DONE)
            from_fs_note_bad(f, r, why);
        job_progress(f->ctx, i + 1, total, NULL);
    }
    if (f->bad + f->later)
        job_out_fail(f->out, f->later ? JOB_RETRY : JOB_FAIL,
                     "%d of %d attachment(s) not copied (see the log; the first: %s); %d copied",
                     f->bad + f->later, total, f->first_bad, f->copied);
    else {
        job_out_ok(f->out, attach_result(f->copied, f->skipped, f->names));
        f->names = NULL;
    }
}

void
attach_fs_to_toga(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct from_fs f = {.ctx = ctx, .out = out};
    char err[512];
    f.ticket = attach_param_id(params, "ticket_id");
    f.conv = attach_param_id(params, "conversation_id");
    f.note = attach_param_uuid(params, "note_uuid");
    if (f.ticket <= 0 || f.conv <= 0 || f.note == NULL) {
        job_out_fail(out, JOB_FAIL,
                     "parameters: need \"ticket_id\" and \"conversation_id\" "
                     "(positive ids) and \"note_uuid\" (a string)");
        return;
    }
    if (attach_conf_load(ctx->cfg, &f.conf, 0, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    if (fs_open(ctx, &f.fs, err, sizeof(err)) < 0 || toga_open(ctx, &f.tg, err, sizeof(err)) < 0) {
        job_out_fail(out, ctx->open_transient ? JOB_RETRY : JOB_FAIL, "%s", err);
        return;
    }
    f.tg.file_max_bytes = f.conf.max_bytes;
    attach_set_init(&f.have);
    f.names = cJSON_CreateArray();
    from_fs_run(&f);
    cJSON_Delete(f.names);
    cJSON_Delete(f.atts);
    attach_set_release(&f.have);
    toga_close(&f.tg);
}
