/* This file holds the cloud calls the Cloud/Recording jobs share. */
#include "cloud.h"
#include "httpc.h"
#include "job.h"
#include "recording_store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *
cloud_file_object(const struct rec_row *r)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "filename", r->filename);
    cJSON_AddStringToObject(f, "size", r->size ? r->size : "");
    cJSON_AddStringToObject(f, "token", r->token ? r->token : "");
    cJSON_AddStringToObject(f, "transcribe", r->transcribe ? r->transcribe : "");
    if (r->ticket[REC_F_TICKET_ID]) {
        cJSON *t = cJSON_AddObjectToObject(f, "ticket_info");
        for (int k = 0; k < REC_N_TICKET; k++) {
            if (r->ticket[k])
                cJSON_AddStringToObject(t, rec_ticket_fields[k], r->ticket[k]);
            else
                cJSON_AddNullToObject(t, rec_ticket_fields[k]);
        }
    }
    return f;
}

/* The cloud's own words for a refusal: its JSON "message" or "error", else the body. */
static void
cloud_message(const struct httpc_resp *r, char *out, size_t len)
{
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(r->json, "message"));
    if (m == NULL)
        m = cJSON_GetStringValue(cJSON_GetObjectItem(r->json, "error"));
    if (m)
        snprintf(out, len, "HTTP %ld: %s", r->status, m);
    else
        snprintf(out, len, "%s", r->err);
}

int
cloud_post(struct job_ctx *ctx, const char *path, cJSON *files_take, cJSON *extra_take,
           cJSON **answer, struct job_out *out)
{
    *answer = NULL;
    char err[512];
    struct httpc *h = job_http(ctx, "cloud", err, sizeof(err));
    if (h == NULL) {
        job_out_fail(out, ctx->open_transient ? JOB_RETRY : JOB_FAIL, "%s", err);
        cJSON_Delete(files_take);
        cJSON_Delete(extra_take);
        return -1;
    }
    cJSON *body = extra_take ? extra_take : cJSON_CreateObject();
    cJSON_AddItemToObject(body, "files", files_take);
    /* One attempt: the job's retries (with backoff, visible per attempt) carry an outage. */
    struct httpc_req req = {.method = "POST", .path = path, .json = body, .max_attempts = 1};
    struct httpc_resp r;
    int rc = job_http_send(ctx, h, &req, &r);
    cJSON_Delete(body);
    if (rc == 0) {
        *answer = r.json;
        r.json = NULL;
    } else if (rc < 0) {
        cloud_message(&r, err, sizeof(err));
        job_out_fail(out,
                     httpc_resp_transient(&r) || r.error == HTTPC_ECANCELLED ? JOB_RETRY : JOB_FAIL,
                     "cloud: POST %s: %s", path, err);
    }
    httpc_resp_release(&r);
    return rc;
}

int
cloud_enqueue_update(struct job_ctx *ctx, const char *folder, bool *existing, char *err,
                     size_t errlen)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "folder_uuid", folder);
    char *text = cJSON_PrintUnformatted(p);
    char *key = xasprintf("Cloud/Recording/UpdateTicket:%s", folder);
    struct job_spec spec = {
        .action = "Cloud/Recording/UpdateTicket", .parameters = text, .unique_key = key};
    struct job_ref ref = {0};
    int rc = job_enqueue(ctx, &spec, &ref, err, errlen);
    *existing = ref.existing;
    free(key);
    free(text);
    cJSON_Delete(p);
    return rc;
}

struct db *
cloud_db(struct job_ctx *ctx, struct job_out *out)
{
    char err[512];
    struct db *db = job_db(ctx, "recordings", err, sizeof(err));
    if (db == NULL)
        job_out_fail(out, JOB_RETRY, "%s", err);
    return db;
}
