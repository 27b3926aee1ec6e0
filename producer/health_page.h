/* GET /health (health_page.c). */
#ifndef JOBFLEET_HEALTH_PAGE_H
#define JOBFLEET_HEALTH_PAGE_H

#include "http_server.h"

/* Answers /health from the background health state and the spool, never waiting on a server:
 * 200 "ok" (both servers reachable) or "degraded" (one is not, while the spool or the
 * scheduler covers it), 503 "down" when a webhook would be refused (MariaDB down and the
 * spool full). No error text: the reasons are in the log and /metrics. */
void health_page(struct http_req *r);

#endif
