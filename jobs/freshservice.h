/* The Freshservice API as the ticket sync uses it (API-FACTS.md §1): [service.freshservice]
 * through the runtime's HTTP client, so every request draws on the fleet-wide rate budget and
 * retries 429/5xx as the client does. */
#ifndef JOBFLEET_FRESHSERVICE_H
#define JOBFLEET_FRESHSERVICE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"

struct httpc;

/* How a call failed: FS_AUTH, the key was refused (401); FS_DENIED, the key may not see
 * this (403 access_denied: one ticket of a group it cannot read, say); FS_TRANSIENT, worth
 * trying again (429, 5xx, a timeout); FS_OTHER, anything else. */
enum fs_fail { FS_OK = 0, FS_AUTH, FS_DENIED, FS_TRANSIENT, FS_OTHER };

struct fs {
    struct job_ctx *ctx;
    struct httpc *h;
    const char *prefix; /* "/api/v2", or "" when base_url already ends with it */
    /* The longest wait a failed request was told of (the Retry-After of a 429, a 503 or any
     * answer worth retrying, or what is left of the fleet-wide pause one set), 0 when none:
     * more requests now only spend the budget. told_status is the status of an answer that
     * said so (0: only the pause did). */
    int64_t told_wait_ms;
    long told_status;
};

/* Ends the job on a failed call (f not FS_OK): JOB_RETRY for FS_TRANSIENT, after the wait the
 * service asked for when it asked one (fs->told_wait_ms: a Retry-After past the client's own
 * retries, or the fleet-wide pause) rather than the action's backoff, whose attempts would all
 * be spent inside that wait; JOB_FAIL otherwise. */
void fs_out_fail(const struct fs *fs, struct job_out *out, enum fs_fail f, const char *err);

/* Opens the service [service.freshservice]. -1 with err set when it is not configured. */
int fs_open(struct job_ctx *ctx, struct fs *fs, char *err, size_t errlen);

/* GETs every page of a list (path with its query, relative to the API root, e.g.
 * "/tickets?updated_since=..."), following the Link header, and appends the members of the
 * array under key to out. Returns FS_OK or the failure, with err set. */
enum fs_fail fs_list(struct fs *fs, const char *path, const char *key, cJSON *out, char *err,
                     size_t errlen);

/* One ticket's details, fetched by fs_details. */
struct fs_details {
    cJSON *conversations; /* array, owned */
    cJSON *time_entries;  /* array, owned */
    enum fs_fail fail;
    char err[512];
};

/* The conversations and time entries of n tickets, all pages, the first pages of all of them
 * concurrently (within the service's budget). d[i] is filled for ids[i]; release each with
 * fs_details_release. */
void fs_details(struct fs *fs, const int64_t *ids, int n, struct fs_details *d);
void fs_details_release(struct fs_details *d);

/* One ticket with include=stats,requester; NULL with *fail and err set. */
cJSON *fs_ticket(struct fs *fs, int64_t id, enum fs_fail *fail, char *err, size_t errlen);

/* The name and email of ticket t's requester, into name and email (owned by the caller): from
 * its "requester" object when it was fetched with include=requester and that holds both, else
 * looked up (a requester id that is an agent's is looked up as one). Returns FS_OK or the
 * failure. */
enum fs_fail fs_ticket_person(struct fs *fs, const cJSON *t, char **name, char **email, char *err,
                              size_t errlen);

#endif
