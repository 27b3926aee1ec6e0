/* This file is the helpdesk sync's file step: the attachment copy of one reply/note is
 * enqueued as its own job (Attachments/Toga/CopyToDesk, Attachments/Desk/CopyToToga) with an
 * idempotency key made from the reply and the note, so a sync that runs again after a crash
 * enqueues it again harmlessly, and a slow or failing copy retries on its own backoff without
 * holding the sync's watermark. */
#include "job.h"
#include "togadesk_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
files_enqueue(struct togadesk *td, const char *action, const char *group, const char *dir,
              int64_t reply_id, const char *note_uuid, char *err, size_t errlen)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "note_uuid", note_uuid);
    cJSON_AddNumberToObject(p, "desk_reply_id", (double)reply_id);
    cJSON_AddStringToObject(p, "service", td->conf.service);
    cJSON_AddStringToObject(p, "desk_db", td->conf.desk_db);
    char *params = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    char key[JOB_UNIQUE_KEY_SIZE];
    snprintf(key, sizeof(key), "togadesk:%s:%lld:%s", dir, (long long)reply_id, note_uuid);
    struct job_spec spec = {.action = action, .parameters = params, .idempotency_key = key};
    struct job_ref ref;
    int rc = job_enqueue(td->ctx, &spec, &ref, err, errlen);
    free(params);
    if (rc == 0)
        togadesk_count(td, group, "file_jobs", 1);
    return rc;
}

int
togadesk_files_to_desk(struct togadesk *td, const char *note_uuid, int64_t reply_id, char *err,
                       size_t errlen)
{
    return files_enqueue(td, "Attachments/Toga/CopyToDesk", "toga_to_desk", "to_desk", reply_id,
                         note_uuid, err, errlen);
}

int
togadesk_files_to_toga(struct togadesk *td, int64_t reply_id, const char *note_uuid, char *err,
                       size_t errlen)
{
    return files_enqueue(td, "Attachments/Desk/CopyToToga", "desk_to_toga", "to_toga", reply_id,
                         note_uuid, err, errlen);
}
