/* The JSON API (docs/api.md): /api/jobs (api_jobs.c), /api/cron (api_cron.c), and the
 * helpers both use to parse requests and reply. */
#ifndef JOBFLEET_API_H
#define JOBFLEET_API_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "audit.h"
#include "db.h"
#include "http_server.h"

/* Who the API's changes are recorded as in audit_log: the bearer of the API token, under the
 * name the dashboard gives a login with it. */
extern const struct audit_by api_by;

/* Handles /api/... once the body is in (docs/api.md), and again after each wake of a request
 * it suspended (POST /api/jobs waits for the group-commit writer); replies, or suspends. */
void api_handle(struct http_req *r);
/* Checks the bearer token as soon as the headers are in; replies 401 (returning 1) when it is
 * wrong. */
int api_begin(struct http_req *r);
/* Frees the API state of a finished request (its writer item is released); accepts a request
 * without one. */
void api_end(struct http_req *r);
/* Parses the body as JSON; replies 400 naming the problem and returns NULL when it is not.
 * An empty body is {} unless required. The caller owns the result. */
cJSON *api_parse(struct http_req *r, bool required);
/* Replies status with j printed. */
void api_reply_json(struct http_req *r, int status, const cJSON *j);
/* Logs err and replies 503 with Retry-After: MariaDB did not do what was asked. */
void api_db_error(struct http_req *r, const char *err);

/* Handles /api/cron and /api/cron/{name}[/enable|/disable|/next] (api_cron.c); always
 * replies. */
void api_cron_handle(struct http_req *r);

/* Handles GET /api/companies/{account_number}/tickets[?year=YYYY&limit=N] (api_tickets.c):
 * the ticket store's rows of one company, newest first; always replies. */
void api_tickets_handle(struct http_req *r);

/* Handles POST /api/recordings/link-csv (api_recordings.c): stores the CSV body in the
 * recordings store and enqueues Cloud/Recording/LinkCsv; replies 202 {"job_id", "upload_id"}. */
void api_recordings_handle(struct http_req *r);

#endif
