/* This file holds Cloud/Recording/UpdateTicket, Upload, Link and SyncAll. */
#include "cloud.h"
#include "db.h"
#include "ids.h"
#include "json.h"
#include "recording_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The folder a job's parameters name ({"folder_uuid"} or {"recording_id"}) into folder (65
 * bytes); 0, or -1 with out failed. */
static int
cloud_folder(struct db *db, const cJSON *params, char *folder, struct job_out *out)
{
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "folder_uuid"));
    int64_t id = json_int(params, "recording_id", 1, JSON_INT_MAX, 0);
    if (f && f[0] && strlen(f) <= 64) {
        snprintf(folder, 65, "%s", f);
        return 0;
    }
    if (id == 0) {
        job_out_fail(out, JOB_FAIL,
                     "parameters: need \"folder_uuid\" (a string of at most 64) "
                     "or \"recording_id\" (a positive whole number up to 2^53)");
        return -1;
    }
    int rc = rec_folder_of(db, id, folder);
    if (rc <= 0)
        job_out_fail(out, rc < 0 ? JOB_RETRY : JOB_FAIL, "recording %lld: %s", (long long)id,
                     rc < 0 ? db_errstr(db) : "no such recording");
    return rc > 0 ? 0 : -1;
}

/* How many times one run sends a folder. A link made while the run's POST is in flight finds
 * the run holding the folder's unique key, so no job of its own is made: the run sends it
 * on its next pass. */
#define CLOUD_PASSES 3

/* The result of a job: a JSON object of the members given as name, value pairs (strings,
 * NULL-terminated list), and "posts"/"files" style numbers after them in nums (may be NULL). */
static char *
cloud_result(const char *const *strs, const char *const *num_names, const int64_t *nums)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; strs && strs[i]; i += 2)
        cJSON_AddStringToObject(o, strs[i], strs[i + 1]);
    for (int i = 0; num_names && num_names[i]; i++)
        cJSON_AddNumberToObject(o, num_names[i], (double)nums[i]);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* POSTs the rows with clouds_uuid cu to update-ticket and marks the linked ones synced. */
static int
cloud_update_one(struct job_ctx *ctx, struct db *db, struct rec_row *rows, int n, const char *cu,
                 struct job_out *out)
{
    /* Stored from a cloud's answer or by another writer of the store: it goes into a path. */
    if (!ids_uuid_like(cu)) {
        job_out_fail(out, JOB_FAIL, "recordings of cloud folder \"%.80s\": not a uuid", cu);
        return -1;
    }
    cJSON *files = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].clouds_uuid, cu) == 0)
            cJSON_AddItemToArray(files, cloud_file_object(&rows[i]));
    char *path = xasprintf("/api/external/v1/recording/update-ticket/%s", cu);
    cJSON *answer;
    int rc = cloud_post(ctx, path, files, NULL, &answer, out);
    free(path);
    cJSON_Delete(answer);
    /* Marked only after a 2xx, with the hash read before the POST: a change made meanwhile
     * still differs and is sent next time. */
    for (int i = 0; rc == 0 && i < n; i++)
        if (strcmp(rows[i].clouds_uuid, cu) == 0 && rows[i].ticket[REC_F_TICKET_ID] &&
            rec_mark_synced(db, rows[i].id, rows[i].info_hash) < 0) {
            job_out_fail(out, JOB_RETRY, "mark recording %lld synced: %s", (long long)rows[i].id,
                         db_errstr(db));
            rc = -1;
        }
    return rc;
}

/* Sends the folder's recordings in the cloud, one POST per cloud folder: adds the POSTs to
 * *posts and the recordings to *files. 0, or -1 with out failed. */
static int
cloud_update_pass(struct job_ctx *ctx, struct db *db, const char *folder, int *posts, int *files,
                  struct job_out *out)
{
    struct rec_row *rows;
    int n, rc = 0;
    if (rec_folder_rows(db, folder, 1, &rows, &n) < 0) {
        job_out_fail(out, JOB_RETRY, "recordings of %s: %s", folder, db_errstr(db));
        return -1;
    }
    for (int i = 0; i < n && rc >= 0; i++) {
        bool first = true; /* one POST per cloud folder, at its first row */
        for (int j = 0; j < i; j++)
            first &= strcmp(rows[j].clouds_uuid, rows[i].clouds_uuid) != 0;
        if (first && (rc = cloud_update_one(ctx, db, rows, n, rows[i].clouds_uuid, out)) >= 0)
            (*posts)++;
    }
    *files += n;
    rec_rows_free(rows, n);
    return rc < 0 ? -1 : 0;
}

void
cloud_update_ticket(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct db *db = cloud_db(ctx, out);
    char folder[65];
    if (db == NULL || cloud_folder(db, params, folder, out) < 0)
        return;
    int posts = 0, files = 0;
    int64_t stale = 0;
    for (int pass = 0; pass < CLOUD_PASSES; pass++) {
        if (cloud_update_pass(ctx, db, folder, &posts, &files, out) < 0)
            return;
        if (ctx->dry_run || (stale = rec_folder_stale(db, folder)) == 0)
            break;
        if (stale < 0) {
            job_out_fail(out, JOB_RETRY, "recordings of %s: %s", folder, db_errstr(db));
            return;
        }
        job_log(ctx, LOG_LEVEL_INFO, "%lld recordings of %s were linked again during the update",
                (long long)stale, folder);
    }
    if (stale > 0) {
        job_out_fail(out, JOB_RETRY,
                     "%lld recordings of %s were linked again during each of %d updates",
                     (long long)stale, folder, CLOUD_PASSES);
        return;
    }
    const char *strs[] = {"folder_uuid", folder, NULL};
    const char *names[] = {"posts", "files", NULL};
    int64_t nums[] = {posts, files};
    job_out_ok(out, cloud_result(strs, names, nums));
}

/* The cloud folder's uuid in a first upload's answer ({"uuid"}, {"clouds_uuid"} or under
 * "data"), or NULL; the caller checks it. */
static const char *
cloud_answer_uuid(const cJSON *a)
{
    const char *keys[] = {"uuid", "clouds_uuid", "folder_uuid"};
    const cJSON *d = cJSON_GetObjectItem(a, "data");
    for (int pass = 0; pass < 2; pass++, a = d)
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(a, keys[k]));
            if (v && v[0])
                return v;
        }
    return NULL;
}

void
cloud_upload(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    const char *folder =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "folder_uuid"));
    struct db *db = cloud_db(ctx, out);
    if (db == NULL)
        return;
    if (folder == NULL || !folder[0] || strlen(folder) > 64) {
        job_out_fail(out, JOB_FAIL, "parameters: need \"folder_uuid\" (a string of at most 64)");
        return;
    }
    struct rec_row *todo = NULL, *done = NULL;
    int n = 0, nd = 0;
    if (rec_folder_rows(db, folder, 0, &todo, &n) < 0 ||
        rec_folder_rows(db, folder, 1, &done, &nd) < 0) {
        job_out_fail(out, JOB_RETRY, "recordings of %s: %s", folder, db_errstr(db));
        goto out;
    }
    if (n == 0) {
        const char *strs[] = {"folder_uuid", folder, NULL}, *names[] = {"uploaded", NULL};
        int64_t nums[] = {0};
        job_out_ok(out, cloud_result(strs, names, nums));
        goto out;
    }
    cJSON *files = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(files, cloud_file_object(&todo[i]));
    /* A folder part of which is in the cloud gets the rest injected into that cloud folder. */
    const char *known = nd > 0 ? done[0].clouds_uuid : NULL;
    if (known && !ids_uuid_like(known)) {
        cJSON_Delete(files);
        job_out_fail(out, JOB_FAIL, "recordings of cloud folder \"%.80s\": not a uuid", known);
        goto out;
    }
    char *path = known ? xasprintf("/api/external/v1/recording/inject/%s", known)
                       : xstrdup("/api/external/v1/recording");
    cJSON *extra = cJSON_CreateObject(), *answer = NULL;
    cJSON_AddStringToObject(extra, "folder_uuid", folder);
    int rc = cloud_post(ctx, path, files, extra, &answer, out);
    const char *cu = known ? known : cloud_answer_uuid(answer);
    if (rc == 0 && cu == NULL)
        job_out_fail(out, JOB_FAIL, "cloud: POST %s: the answer names no folder uuid", path);
    else if (rc == 0 && !ids_uuid_like(cu)) {
        /* Stored, it would be a path of every later update of the folder. */
        job_out_fail(out, JOB_FAIL,
                     "cloud: POST %s: the answer's folder uuid \"%.80s\" is not a uuid", path, cu);
        cu = NULL;
    }
    for (int i = 0; rc == 0 && cu && i < n; i++)
        if (rec_mark_uploaded(db, todo[i].id, cu,
                              todo[i].ticket[REC_F_TICKET_ID] ? todo[i].info_hash : NULL) < 0) {
            job_out_fail(out, JOB_RETRY, "mark recording %lld uploaded: %s", (long long)todo[i].id,
                         db_errstr(db));
            rc = -1;
        }
    if (rc >= 0 && (cu || rc == 1)) {
        const char *strs[] = {"folder_uuid", folder, "clouds_uuid", cu ? cu : "", NULL};
        const char *names[] = {"uploaded", NULL};
        int64_t nums[] = {n};
        job_out_ok(out, cloud_result(strs, names, nums));
    }
    free(path);
    cJSON_Delete(answer);
out:
    rec_rows_free(todo, n);
    rec_rows_free(done, nd);
}

/* A ticket field parameter as text (numbers as digits); NULL when absent or null. */
static char *
cloud_field(const cJSON *params, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    if (cJSON_IsString(v))
        return xstrdup(v->valuestring);
    if (cJSON_IsNumber(v))
        return xasprintf("%.0f", v->valuedouble);
    return NULL;
}

void
cloud_link(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    int64_t id = json_int(params, "recording_id", 1, JSON_INT_MAX, 0);
    char *v[REC_N_TICKET - 1] = {0};
    for (int k = 0; k < REC_N_TICKET - 1; k++)
        v[k] = cloud_field(params, rec_ticket_fields[k]);
    struct db *db = NULL;
    if (id == 0 || v[REC_F_TICKET_ID] == NULL)
        job_out_fail(out, JOB_FAIL,
                     "parameters: need \"recording_id\" (a positive whole number up to 2^53) and "
                     "\"ticket_id\"");
    else if ((db = cloud_db(ctx, out)) != NULL) {
        bool in_cloud = false, existing = false;
        char folder[65] = "", err[512];
        int rc =
            ctx->dry_run ? 1 : rec_link(db, id, NULL, (const char *const *)v, &in_cloud, folder);
        if (rc <= 0)
            /* Values the store refuses (too long for a column) fail as they would again. */
            job_out_fail(out, rc < 0 && (db_lost(db) || !db_data_error(db)) ? JOB_RETRY : JOB_FAIL,
                         "recording %lld: %s", (long long)id,
                         rc < 0 ? db_errstr(db) : "no such recording");
        else if (in_cloud && cloud_enqueue_update(ctx, folder, &existing, err, sizeof(err)) < 0)
            job_out_fail(out, JOB_RETRY, "%s", err);
        else
            job_out_ok(out, xasprintf("{\"recording_id\":%lld,\"update_enqueued\":%s}",
                                      (long long)id, in_cloud ? "true" : "false"));
    }
    for (int k = 0; k < REC_N_TICKET - 1; k++)
        free(v[k]);
}

void
cloud_sync_all(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    struct db *db = cloud_db(ctx, out);
    if (db == NULL)
        return;
    struct db_rows *r = rec_folders_to_update(db);
    if (r == NULL) {
        job_out_fail(out, JOB_RETRY, "folders to update: %s", db_errstr(db));
        return;
    }
    int enqueued = 0, existing = 0;
    cJSON *folders = cJSON_CreateArray();
    for (int i = 0; i < r->n_rows; i++) {
        bool ex = false;
        char err[512];
        const char *f = db_rows_get(r, i, 0);
        cJSON_AddItemToArray(folders, cJSON_CreateString(f));
        if (cloud_enqueue_update(ctx, f, &ex, err, sizeof(err)) < 0) {
            job_out_fail(out, JOB_RETRY, "%s", err);
            break;
        }
        ex ? existing++ : enqueued++;
    }
    if (out->reason == NULL) {
        cJSON *res = cJSON_CreateObject();
        cJSON_AddNumberToObject(res, "enqueued", ctx->dry_run ? 0 : enqueued);
        cJSON_AddNumberToObject(res, "already_queued", existing);
        cJSON_AddItemToObject(res, "folders", folders);
        folders = NULL;
        job_out_ok(out, cJSON_PrintUnformatted(res));
        cJSON_Delete(res);
    }
    cJSON_Delete(folders);
    db_rows_free(r);
}
