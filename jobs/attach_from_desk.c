/* This file holds Attachments/Desk/CopyToToga: a desk reply's files onto a TOGA 2 note. */
#include "attach.h"
#include "attach_desk.h"
#include "attach_fetch.h"
#include "attach_file.h"
#include "attach_set.h"
#include "db.h"
#include "hmac.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Uploads one desk file unless the note has it. */
static int
from_desk_one(struct attach_copy *d, const struct attach_desk_file *f)
{
    unsigned char *bytes, sha[32];
    size_t len;
    char err[512];
    if (attach_file_read(d->conf.uploads_dir, f->file, d->conf.max_bytes, &bytes, &len, err,
                         sizeof(err)) < 0) {
        /* A row whose bytes are missing or unsafe is the desk's problem, not a reason to stop
         * the other files: it is reported and skipped, and the job fails at the end. */
        job_error(d->ctx, "desk file %lld: %s", (long long)f->id, err);
        return 1;
    }
    hmac_digest(bytes, len, sha);
    int rc = 0, found = -1;
    if (attach_set_maybe_has(d->have, f->name, (int64_t)len) &&
        (found = attach_set_find(d->have, f->name, (int64_t)len, sha, attach_toga_hash, &d->tg, err,
                                 sizeof(err))) == -2) {
        job_out_fail(d->out, JOB_RETRY, "reading the note's copy to compare: %s", err);
        free(bytes);
        return -1;
    }
    if (found >= 0) {
        d->skipped++;
        free(bytes);
        return 0;
    }
    char *name = attach_set_free_name(d->have, f->name);
    char uuid[37] = "";
    struct toga_err e;
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "upload_to_note", name);
    job_plan(d->ctx, step);
    if (!d->ctx->dry_run &&
        toga_file_attach(&d->tg, d->note, name, bytes, len, uuid, &e) != TOGA_OK) {
        attach_fail_toga(d->out, &e, "uploading a file");
        rc = -1;
    } else {
        attach_set_add(d->have, name, (int64_t)len, sha, uuid);
        d->copied++;
        cJSON_AddItemToArray(d->names, cJSON_CreateString(name));
    }
    free(name);
    free(bytes);
    return rc;
}

static void
from_desk_run(struct attach_copy *d)
{
    struct attach_desk_file *f;
    int n, bad = 0;
    if (attach_desk_files(d->db, d->reply, &f, &n) < 0) {
        job_out_fail(d->out, JOB_RETRY, "desk files of reply %lld: %s", (long long)d->reply,
                     db_errstr(d->db));
        return;
    }
    if (attach_note_set(&d->tg, d->note, d->have, d->out) == 0) {
        for (int i = 0; i < n; i++) {
            /* A row without bytes yet belongs to a copy into the desk still under way. */
            if (f[i].file[0] == '\0')
                continue;
            int rc = from_desk_one(d, &f[i]);
            if (rc < 0)
                break;
            bad += rc;
            job_progress(d->ctx, i + 1, n, NULL);
        }
    }
    attach_desk_files_free(f, n);
    if (d->out->reason == NULL && bad)
        job_out_fail(d->out, JOB_FAIL, "%d desk file(s) could not be read (see the log); %d copied",
                     bad, d->copied);
}

void
attach_desk_to_toga(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct attach_copy c;
    if (attach_copy_open(&c, ctx, params, out) < 0)
        return;
    from_desk_run(&c);
    attach_copy_close(&c);
}
