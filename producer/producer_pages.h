/* The producer's pages (producer_pages.c): /, /health and the Prometheus /metrics, and the
 * 404/405 for paths outside /webhook and /api. */
#ifndef JOBFLEET_PRODUCER_PAGES_H
#define JOBFLEET_PRODUCER_PAGES_H

#include "http_server.h"

struct producer;

/* GET /, /health and /metrics, and 404/405 for anything else outside /webhook and /api;
 * always replies. */
void producer_pages_handle(struct http_req *r);

/* Renders the Prometheus text exposition; the caller frees it. */
char *producer_metrics_render(struct producer *p);

#endif
