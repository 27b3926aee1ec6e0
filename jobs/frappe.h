/* The Frappe REST API (API-FACTS.md §3) as the dispatch bridge uses it: [service.frappe]
 * through the runtime's HTTP client (token auth, fleet-wide budget, retries), one request at a
 * time, writes left unsent in a dry run (job_http_send). */
#ifndef JOBFLEET_FRAPPE_H
#define JOBFLEET_FRAPPE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime.h"

struct httpc;

/* How a call failed: the API refused our credentials (the job fails), a failure that may pass
 * (transport, 5xx, 429 past the client's retries: the job retries), the unique key exists
 * already (409 DuplicateEntryError or 417 UniqueValidationError), the document changed since
 * the "modified" a write carried was read (417 TimestampMismatchError: someone else wrote it
 * meanwhile), or another refusal of this one document (404, 417 on a missing mandatory field:
 * counted, the run goes on). */
enum frappe_fail {
    FRAPPE_OK = 0,
    FRAPPE_AUTH,
    FRAPPE_TRANSIENT,
    FRAPPE_DUPLICATE,
    FRAPPE_CHANGED,
    FRAPPE_OTHER
};

struct frappe {
    struct job_ctx *ctx;
    struct httpc *h;
};

/* Opens [service.frappe]. -1 with err set when it is not configured or is wrong. */
int frappe_open(struct job_ctx *ctx, struct frappe *f, char *err, size_t errlen);

/* GETs every page of /api/resource/<doctype> with filters and fields (JSON texts; filters may
 * be NULL), ordered by name, and appends the documents to out (an array). */
enum frappe_fail frappe_list(struct frappe *f, const char *doctype, const char *filters,
                             const char *fields, cJSON *out, char *err, size_t errlen);

/* POSTs doc as a new document of doctype. *sent (sent may be NULL) tells whether it was
 * sent: a dry run sends nothing and returns FRAPPE_OK. */
enum frappe_fail frappe_insert(struct frappe *f, const char *doctype, const cJSON *doc, bool *sent,
                               char *err, size_t errlen);

/* PUTs the fields of patch into the document called name. A dry run sends nothing. */
enum frappe_fail frappe_update(struct frappe *f, const char *doctype, const char *name,
                               const cJSON *patch, char *err, size_t errlen);

/* The class of a failed response (public for unit tests): 401/403 auth, 409 and 417 whose
 * exc_type or exception names a unique or duplicate error duplicate, transient as
 * httpc_resp_transient, else other. */
enum frappe_fail frappe_classify(long status, bool transient, const char *body);

#endif
