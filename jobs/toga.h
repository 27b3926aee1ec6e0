/* The TOGA 2 API client (API-FACTS.md §5): [service.toga] through the runtime's HTTP client,
 * with the API's login (POST /auth/api, renewed by /auth/refresh or a new login when the JWT
 * expires), a fresh transactionId on every request and every retry, and the envelope
 * ({transactionId, isSuccess, status, messages[], data{}}) unwrapped. base_url is the API root
 * that holds /auth/api, e.g. https://toga.example.com/v2. Used by the attachment copy and the
 * TOGA 2 <-> TOGaDesk sync. */
#ifndef JOBFLEET_TOGA_H
#define JOBFLEET_TOGA_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "runtime.h"

struct httpc;

/* The header carrying the transactionId. */
#define TOGA_TXN_HEADER "X-Transaction-Id"

/* How a call failed: our credentials are refused (permanent), a failure that may pass (5xx,
 * 429, transport, a lost login), the record is not there (404), or another refusal (a 4xx
 * with its message code). TOGA_DRY: a write left unsent by a dry run. */
enum toga_fail { TOGA_OK = 0, TOGA_DRY, TOGA_AUTH, TOGA_TRANSIENT, TOGA_NOTFOUND, TOGA_OTHER };

/* A failure's details. */
struct toga_err {
    enum toga_fail fail;
    long status;   /* the HTTP status, 0 when none came */
    char code[16]; /* the first message code (e.g. "EV-14"), "" when none */
    char msg[512]; /* what went wrong, with method, path and the API's message */
};

/* Fills e: the failure, the HTTP status (0 when none) and the message; code is left empty. */
void toga_err_set(struct toga_err *e, enum toga_fail f, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An open client for one job. */
struct toga {
    struct job_ctx *ctx;
    struct httpc *h; /* the process's [service.toga] client: keeps the JWT across jobs */
    char *refresh;   /* the refresh token of this job's last login, or NULL */
    const char *key, *secret, *client_uuid; /* borrowed from the config */
    /* The largest file toga_file_get takes ([attachments] max_bytes, set by the attachment
     * copy): its answer may be that in base64 whatever the service's max_response_bytes, and
     * no more. 0: the service's max_response_bytes bounds it. */
    int64_t file_max_bytes;
};

/* Opens [service.toga] (base_url, api_key, api_secret or api_secret_file, client_uuid).
 * No request is sent until the first call. -1 with err set when the section is missing or
 * has no credentials. Release with toga_close. */
int toga_open(struct job_ctx *ctx, struct toga *t, char *err, size_t errlen);
/* The same for [service.<service>] (a client of the helpdesk sync names its own). */
int toga_open_service(struct job_ctx *ctx, struct toga *t, const char *service, char *err,
                      size_t errlen);
/* Frees what t holds (the process keeps the HTTP client and its token). */
void toga_close(struct toga *t);

/* One API call: method and path (relative to base_url, with its query already encoded), an
 * optional JSON body (borrowed). Logs in first when no token is held; on a 401 renews the
 * token (refresh, else a new login) and sends once more. Each attempt carries a new
 * transactionId. In a dry run a write is not sent (TOGA_DRY, recorded in the plan). On success
 * *data is the envelope's "data" (the caller deletes it; an empty object when absent) and
 * *meta, when meta is not NULL, its "meta" (likewise). Returns TOGA_OK or the failure (e
 * filled either way). */
enum toga_fail toga_call(struct toga *t, const char *method, const char *path, const cJSON *body,
                         cJSON **data, cJSON **meta, struct toga_err *e);

/* GET path (with its query) and take data[key] (an object or array, detached; the caller
 * deletes it). A 2xx answer without that key is a failure (TOGA_OTHER naming the key): a
 * misspelt key must never read as "nothing there". */
cJSON *toga_get(struct toga *t, const char *path, const char *key, struct toga_err *e);

/* path with "?"/"&" and the query pairs (name, value, ..., NULL) appended, percent-encoded;
 * the caller frees it. E.g. toga_path("/tickets", "where[_updated > '2026-01-01 00:00:00']",
 * "", "recordsPerPage", "200", NULL): an empty value leaves the '=' out, as the API's where
 * expressions need. */
char *toga_path(const char *path, ...) __attribute__((sentinel));

/* The files linked to a note, from GET /ticket-notes/{uuid}?depth=5 (key ticketNoteFiles),
 * never the nested route (404 EV-6 for none, EV-14 for two or more). Returns a new array of
 * {"uuid" (the file's), "name", "size" (number or absent)}; NULL on failure (e set; a note
 * answer without ticketNoteFiles is a failure). */
cJSON *toga_note_files(struct toga *t, const char *note_uuid, struct toga_err *e);

/* A file's name and bytes (GET /files/{uuid}?depth=1, data base64-decoded into *bytes, which
 * the caller frees, *len its length) and its name (*name, caller frees). A file bigger than
 * t->file_max_bytes (when set) fails (TOGA_OTHER) without being read whole. */
enum toga_fail toga_file_get(struct toga *t, const char *file_uuid, char **name,
                             unsigned char **bytes, size_t *len, struct toga_err *e);

/* Uploads a file (POST /files with name and data base64) and links it to the note (POST
 * /ticket-notes/{uuid}/ticket-note-files). The uploaded file is kept as a memo of the job
 * (job_memo_set) before the link: a later attempt of the job, after a failure between the two,
 * links that file instead of uploading another copy (TOGA 2 keeps every upload, linked or
 * not). file_uuid_out (37 bytes, may be NULL) receives the file's uuid. Returns TOGA_OK,
 * TOGA_DRY or the failure. */
enum toga_fail toga_file_attach(struct toga *t, const char *note_uuid, const char *name,
                                const unsigned char *bytes, size_t len, char *file_uuid_out,
                                struct toga_err *e);

#endif
