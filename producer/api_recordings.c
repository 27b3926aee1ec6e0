/* This file serves POST /api/recordings/link-csv: a CSV of recording file name -> ticket
 * fields (the body, behind the API's bearer token) is stored in the recordings store and
 * Cloud/Recording/LinkCsv is enqueued to apply it. */
#include "api.h"
#include "cfg.h"
#include "db.h"
#include "job.h"
#include "producer.h"
#include "recording_store.h"
#include "rq.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* Stores the body; its id into *id. 0, or replies and returns -1. */
static int
api_recordings_store(struct http_req *r, int64_t *id)
{
    struct cfg_mysql m;
    if (cfg_db_section(r->p->cfg, "recordings", &m) < 0) {
        http_reply_error(r, 404, NULL, "the recordings store is not configured ([db.recordings])");
        return -1;
    }
    /* A rare upload: a connection of its own keeps the pool's pairs as they are. */
    struct db *db = db_new(&m);
    int rc = db_connect(db) == 0 ? rec_csv_store(db, r->body.data, id) : -1;
    if (rc < 0) {
        char err[512];
        snprintf(err, sizeof(err), "recordings store: %s", db_errstr(db));
        api_db_error(r, err);
    }
    db_free(db);
    return rc;
}

/* Enqueues LinkCsv for the upload and replies 202. */
static void
api_recordings_enqueue(struct http_req *r, int64_t upload)
{
    char params[64], err[512];
    snprintf(params, sizeof(params), "{\"upload_id\":%lld}", (long long)upload);
    struct job_spec spec = {.action = "Cloud/Recording/LinkCsv",
                            .parameters = params,
                            .origin = "api"},
                    checked;
    const char *field = NULL;
    struct job_ref ref;
    if (job_spec_check(&spec, r->p->cfg->worker.test_actions, &checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        http_reply_error(r, 500, field, "%s", err);
        return;
    }
    struct producer_conn *c = producer_pool_get(r->p);
    if (job_insert(c->db, &checked, &ref, err, sizeof(err)) != JOB_E_OK) {
        producer_pool_put(r->p, c);
        api_db_error(r, err);
        return;
    }
    job_count_enqueued(checked.action, &ref);
    job_push(c->rq, &ref);
    producer_pool_put(r->p, c);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "job_id", (double)ref.id);
    cJSON_AddNumberToObject(j, "upload_id", (double)upload);
    api_reply_json(r, 202, j);
    cJSON_Delete(j);
}

void
api_recordings_handle(struct http_req *r)
{
    if (strcmp(r->method, "POST") != 0) {
        http_reply_not_allowed(r, "POST");
        return;
    }
    if (r->body.len == 0 || memchr(r->body.data, '\0', r->body.len) != NULL) {
        http_reply_error(r, 400, "body", "the body must be the CSV text (not empty, no NUL)");
        return;
    }
    int64_t upload;
    if (api_recordings_store(r, &upload) == 0)
        api_recordings_enqueue(r, upload);
}
