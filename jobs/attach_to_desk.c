/* This file holds Attachments/Toga/CopyToDesk: a TOGA 2 note's files into a desk reply. */
#include "attach.h"
#include "attach_desk.h"
#include "attach_fetch.h"
#include "attach_file.h"
#include "attach_set.h"
#include "db.h"
#include "hmac.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a copy waits for its reply's transaction to commit (READ COMMITTED: each look sees
 * what committed since). */
#define TO_DESK_REPLY_WAIT_MS 2000

/* The hash callback of the desk's files: reads the bytes from the uploads directory. */
static int
to_desk_hash(void *arg, struct attach_item *it, char *err, size_t errlen)
{
    struct attach_copy *d = arg;
    unsigned char *b;
    size_t len;
    if (attach_file_read(d->conf.uploads_dir, it->ref, d->conf.max_bytes, &b, &len, err, errlen) <
        0)
        return -1;
    hmac_digest(b, len, it->sha);
    it->hashed = true;
    free(b);
    return 0;
}

/* Reads the reply's files; drops the rows an interrupted copy left without bytes. */
static int
to_desk_have(struct attach_copy *d)
{
    struct attach_desk_file *f;
    int n;
    if (attach_desk_files(d->db, d->reply, &f, &n) < 0) {
        job_out_fail(d->out, JOB_RETRY, "desk files of reply %lld: %s", (long long)d->reply,
                     db_errstr(d->db));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (f[i].file[0] != '\0') {
            attach_set_add(d->have, f[i].name, f[i].size, NULL, f[i].file);
            continue;
        }
        job_warn(d->ctx, "files row %lld (%s) has no bytes yet: an interrupted copy; redoing it",
                 (long long)f[i].id, f[i].name);
        cJSON *step = cJSON_CreateObject();
        cJSON_AddNumberToObject(step, "drop_partial_row", (double)f[i].id);
        job_plan(d->ctx, step);
        if (!d->ctx->dry_run && attach_desk_drop_partial(d->db, f[i].id) < 0) {
            job_out_fail(d->out, JOB_RETRY, "drop files row %lld: %s", (long long)f[i].id,
                         db_errstr(d->db));
            rc = -1;
        }
    }
    attach_desk_files_free(f, n);
    return rc;
}

/* Writes one file: the row, the bytes under {id}-{name}, the row completed. */
static int
to_desk_store(struct attach_copy *d, const char *name, const unsigned char *bytes, size_t len,
              const unsigned char *sha)
{
    int64_t id;
    if (attach_desk_insert(d->db, d->reply, name, &id) < 0) {
        job_out_fail(d->out, JOB_RETRY, "insert files row: %s", db_errstr(d->db));
        return -1;
    }
    attach_test_crash(d->ctx, d->params, "_test_crash_after_row");
    char *final = xasprintf("%lld-%s", (long long)id, name);
    char err[512];
    int rc = attach_file_write(d->conf.uploads_dir, final, bytes, len, err, sizeof(err));
    if (rc < 0)
        job_out_fail(d->out, JOB_RETRY, "%s", err);
    else if ((rc = attach_desk_complete(d->db, id, final, attach_mime_type(name), (int64_t)len)) <
             0)
        job_out_fail(d->out, JOB_RETRY, "complete files row %lld: %s", (long long)id,
                     db_errstr(d->db));
    if (rc == 0)
        attach_set_add(d->have, name, (int64_t)len, sha, final);
    free(final);
    return rc;
}

/* Copies one TOGA 2 file unless the reply has it. */
static int
to_desk_one(struct attach_copy *d, const char *uuid, const char *remote_name, int64_t size)
{
    char *safe = attach_safe_name(remote_name);
    char *fname = NULL, *name = NULL, err[512];
    unsigned char *bytes = NULL, sha[32];
    size_t len = 0;
    struct toga_err e;
    int rc = 0, found = -1;
    bool need = attach_set_maybe_has(d->have, safe, size);
    if ((need || !d->ctx->dry_run) &&
        toga_file_get(&d->tg, uuid, &fname, &bytes, &len, &e) != TOGA_OK) {
        attach_fail_toga(d->out, &e, "fetching a file");
        rc = -1;
        goto out;
    }
    if (bytes)
        hmac_digest(bytes, len, sha);
    if (need && (found = attach_set_find(d->have, safe, (int64_t)len, sha, to_desk_hash, d, err,
                                         sizeof(err))) == -2) {
        job_out_fail(d->out, JOB_RETRY, "reading the desk's copy to compare: %s", err);
        rc = -1;
        goto out;
    }
    if (found >= 0) {
        d->skipped++;
        goto out;
    }
    name = attach_set_free_name(d->have, safe);
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "copy_to_desk", name);
    job_plan(d->ctx, step);
    if (d->ctx->dry_run) {
        attach_set_add(d->have, name, size, NULL, "");
    } else if ((int64_t)len > d->conf.max_bytes) {
        job_out_fail(d->out, JOB_FAIL, "%s has %zu bytes, more than [attachments] max_bytes",
                     remote_name, len);
        rc = -1;
        goto out;
    } else if ((rc = to_desk_store(d, name, bytes, len, sha)) < 0) {
        goto out;
    }
    d->copied++;
    cJSON_AddItemToArray(d->names, cJSON_CreateString(name));
out:
    free(safe);
    free(fname);
    free(name);
    free(bytes);
    return rc;
}

static void
to_desk_run(struct attach_copy *d)
{
    /* Missing is a retry, not a failure for good: the helpdesk sync enqueues this job inside
     * the desk transaction that inserts the reply, so the job can run before that commits. That
     * commit is usually a moment away: waited for, up to TO_DESK_REPLY_WAIT_MS, before the
     * attempt counts as failed (each such reply showed a failed attempt). A reply that never
     * comes (the sync crashed before its commit) fails after the attempts. */
    int ok = attach_desk_reply_exists(d->db, d->reply);
    for (int waited = 0; ok == 0 && waited < TO_DESK_REPLY_WAIT_MS; waited += 100) {
        sleep_ms(100);
        ok = attach_desk_reply_exists(d->db, d->reply);
    }
    if (ok <= 0) {
        job_out_fail(d->out, JOB_RETRY, "desk reply %lld: %s", (long long)d->reply,
                     ok < 0 ? db_errstr(d->db) : "no such tickets_replies row");
        return;
    }
    if (to_desk_have(d) < 0)
        return;
    struct toga_err e;
    cJSON *files = toga_note_files(&d->tg, d->note, &e);
    if (files == NULL) {
        attach_fail_toga(d->out, &e, "reading the note's files");
        return;
    }
    int total = cJSON_GetArraySize(files), i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        if (to_desk_one(d, cJSON_GetObjectItem(f, "uuid")->valuestring,
                        cJSON_GetObjectItem(f, "name")->valuestring,
                        json_int(f, "size", 0, JSON_INT_MAX, -1)) < 0)
            break;
        job_progress(d->ctx, ++i, total, NULL);
    }
    cJSON_Delete(files);
}

void
attach_toga_to_desk(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct attach_copy c;
    if (attach_copy_open(&c, ctx, params, out) < 0)
        return;
    to_desk_run(&c);
    attach_copy_close(&c);
}
