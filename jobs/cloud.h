/* The cloud ticket-info update of call recordings (API-FACTS §7): [db.recordings] and
 * [service.cloud] (base_url, token). Job parameters (how to change them: add members, never
 * rename):
 *   Cloud/Recording/UpdateTicket  {"recording_id"} or {"folder_uuid"}
 *   Cloud/Recording/Upload        {"folder_uuid"}
 *   Cloud/Recording/Link          {"recording_id", "ticket_id", "ticket_url", "customer_name",
 *                                  "agent_name", "call_intent", "call_outcome", "display_name"}
 *   Cloud/Recording/SyncAll       {} ({"dry_run": true} lists the folders)
 *   Cloud/Recording/LinkCsv       {"path"} or {"upload_id"} (POST /api/recordings/link-csv)
 * A POST is sent once per attempt: 5xx, 408, 429 and timeouts retry the job with backoff (8
 * attempts by default), other 4xx fail it with the cloud's message. */
#ifndef JOBFLEET_CLOUD_H
#define JOBFLEET_CLOUD_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "runtime.h"

struct db;
struct rec_row;

void cloud_update_ticket(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
void cloud_upload(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
void cloud_link(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
void cloud_sync_all(struct job_ctx *ctx, const cJSON *params, struct job_out *out);
void cloud_link_csv(struct job_ctx *ctx, const cJSON *params, struct job_out *out);

/* Shared by the cloud files (cloud_post.c). */

/* The file object the cloud takes for a recording: filename, size, token, transcribe and,
 * when the recording is linked to a ticket, ticket_info. */
cJSON *cloud_file_object(const struct rec_row *r);
/* POSTs {"files": files_take, extra members of extra_take (may be NULL)} to path on
 * [service.cloud], one attempt. Returns 0 on a 2xx (*answer: the parsed body or NULL; the
 * caller deletes it), 1 when a dry run left it unsent, -1 with out failed (retry or
 * permanent, as the status says). */
int cloud_post(struct job_ctx *ctx, const char *path, cJSON *files_take, cJSON *extra_take,
               cJSON **answer, struct job_out *out);
/* Enqueues Cloud/Recording/UpdateTicket for a folder with the folder's unique key (a live job
 * for it is returned instead of a second). ref's existing says which. 0 or -1 (err set). */
int cloud_enqueue_update(struct job_ctx *ctx, const char *folder, bool *existing, char *err,
                         size_t errlen);
/* The [db.recordings] connection, or NULL with out failed (retry). */
struct db *cloud_db(struct job_ctx *ctx, struct job_out *out);

#endif
