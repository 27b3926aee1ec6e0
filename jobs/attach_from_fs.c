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
    cJSON *names;
};

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
 * its fresh URL once (never the old one again). 0, or -1 with out filled. */
static int
from_fs_download(struct from_fs *f, double id, unsigned char **bytes, size_t *len)
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
            return -1;
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
        return 0;
    job_out_fail(f->out, r == ATTACH_FETCH_TRANSIENT ? JOB_RETRY : JOB_FAIL,
                 "attachment %.0f: %s%s", id, err,
                 r == ATTACH_FETCH_EXPIRED ? " (refused again after a re-fetch)" : "");
    return -1;
}

/* Copies one attachment unless the note has it. */
static int
from_fs_one(struct from_fs *f, const cJSON *a)
{
    double id = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "id"));
    const char *remote = cJSON_GetStringValue(cJSON_GetObjectItem(a, "name"));
    int64_t size = json_int(a, "size", 0, JSON_INT_MAX, -1);
    if (remote == NULL) {
        job_out_fail(f->out, JOB_FAIL, "attachment %.0f has no name", id);
        return -1;
    }
    if (size > f->conf.max_bytes) {
        job_out_fail(f->out, JOB_FAIL,
                     "attachment %.0f (%s) has %lld bytes, more than "
                     "[attachments] max_bytes",
                     id, remote, (long long)size);
        return -1;
    }
    char *name = attach_safe_name(remote), *use = NULL, err[512];
    unsigned char *bytes = NULL, sha[32];
    size_t len = 0;
    int rc = 0, found = -1;
    bool need = attach_set_maybe_has(&f->have, name, size);
    if ((need || !f->ctx->dry_run) && (rc = from_fs_download(f, id, &bytes, &len)) < 0)
        goto out;
    if (bytes)
        hmac_digest(bytes, len, sha);
    if (need && (found = attach_set_find(&f->have, name, (int64_t)len, sha, attach_toga_hash,
                                         &f->tg, err, sizeof(err))) == -2) {
        job_out_fail(f->out, JOB_RETRY, "reading the note's copy to compare: %s", err);
        rc = -1;
        goto out;
    }
    if (found >= 0) {
        f->skipped++;
        goto out;
    }
    use = attach_set_free_name(&f->have, name);
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "upload_to_note", use);
    job_plan(f->ctx, step);
    char uuid[37] = "";
    struct toga_err e;
    if (!f->ctx->dry_run &&
        toga_file_attach(&f->tg, f->note, use, bytes, len, uuid, &e) != TOGA_OK) {
        attach_fail_toga(f->out, &e, "uploading a file");
        rc = -1;
        goto out;
    }
    attach_set_add(&f->have, use, f->ctx->dry_run ? size : (int64_t)len,
                   f->ctx->dry_run ? NULL : sha, uuid);
    f->copied++;
    cJSON_AddItemToArray(f->names, cJSON_CreateString(use));
out:
    free(name);
    free(use);
    free(bytes);
    return rc;
}

static void
from_fs_run(struct from_fs *f)
{
    if (attach_note_set(&f->tg, f->note, &f->have, f->out) < 0 || from_fs_conversation(f) < 0)
        return;
    int total = cJSON_GetArraySize(f->atts);
    for (int i = 0; i < total; i++) {
        /* f->atts may be replaced by a re-fetch: index it afresh each time. */
        const cJSON *a = cJSON_GetArrayItem(f->atts, i);
        if (a == NULL || from_fs_one(f, a) < 0)
            break;
        job_progress(f->ctx, i + 1, total, NULL);
    }
    if (f->out->reason == NULL) {
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
