/* The operator's dashboard (docs/dashboard.md): server-rendered pages at /, /jobs, /queues,
 * /cron, /workers and /webhooks, the same data as JSON with ?format=json, login and sessions,
 * and the background cache its counts and charts come from. */
#ifndef JOBFLEET_DASH_H
#define JOBFLEET_DASH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "cfg.h"
#include "http_server.h"

struct dash;
struct producer;

/* Checks [dashboard] (users and their roles and hashes). -1 with one line in err. */
int dash_check_config(const struct cfg *c, char *err, size_t errlen);
/* Starts the dashboard of p: parses its users and starts the cache thread. NULL with a
 * message in err when [dashboard] is wrong. */
struct dash *dash_start(struct producer *p, char *err, size_t errlen);
/* Stops the cache thread and frees everything; accepts NULL. No request may be in flight. */
void dash_stop(struct dash *d);

/* Handles every path outside /webhook, /api, /health and /metrics; always replies. */
void dash_handle(struct http_req *r);

/* The newest cache snapshot (docs/dashboard.md "Overview" JSON), for /metrics too; the caller
 * deletes it. Never NULL: before the first refresh it holds "error". */
cJSON *dash_snapshot(struct dash *d);

#endif
