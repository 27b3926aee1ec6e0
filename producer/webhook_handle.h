/* The webhook path (webhook_handle.c): a delivery from its headers to a stored, spooled or
 * refused job. */
#ifndef JOBFLEET_WEBHOOK_HANDLE_H
#define JOBFLEET_WEBHOOK_HANDLE_H

#include "http_server.h"

/* Checks method, path, source, action and declared length once the headers are in; replies
 * (and returns 1) when the request is refused, else returns 0 and keeps the routing in r. */
int webhook_begin(struct http_req *r);
/* Runs once the whole body is in, and again after each wake: authenticates, stores or
 * spools, and replies. */
void webhook_handle(struct http_req *r);
/* Frees the webhook state of a finished request (its writer item is released, not freed,
 * while the writer still holds it). Accepts a request without webhook state. */
void webhook_end(struct http_req *r);

#endif
