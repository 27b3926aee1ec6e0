/* This file keeps the HTTP client's metrics: attempts by service and status (429s among them)
 * and the starts that waited for the service's rate budget. Services come from the config
 * ([service.<name>]) and codes are HTTP statuses, so the labels stay bounded. */
#include "httpc_int.h"
#include "metrics.h"

#include <stdio.h>

const struct metric_def httpc_metric_requests = {
    "jobfleet_http_requests_total",
    "Attempts of requests to external services, by service and HTTP status (\"error\": no "
    "response); code=\"429\" counts rate-limit refusals.",
    METRIC_COUNTER,
    {"service", "code"},
    NULL,
    0};
const struct metric_def httpc_metric_budget_waits = {
    "jobfleet_http_budget_waits_total",
    "Request attempts that had to wait for the service's fleet-wide rate budget (or a 429 "
    "pause) before starting.",
    METRIC_COUNTER,
    {"service", NULL},
    NULL,
    0};
const struct metric_def httpc_metric_budget_wait_seconds = {
    "jobfleet_http_budget_wait_seconds_total",
    "Time request attempts spent waiting for the service's rate budget.",
    METRIC_COUNTER,
    {"service", NULL},
    NULL,
    0};

void
httpc_metrics_attempt(const struct httpc *h, long status)
{
    char code[16] = "error";
    if (status >= 100 && status <= 599)
        snprintf(code, sizeof(code), "%ld", status);
    metrics_add(&httpc_metric_requests, h->conf.name, code, 1);
}

void
httpc_metrics_budget_wait(const struct httpc *h, int64_t waited_ms)
{
    metrics_add(&httpc_metric_budget_waits, h->conf.name, NULL, 1);
    metrics_add(&httpc_metric_budget_wait_seconds, h->conf.name, NULL, (double)waited_ms / 1000.0);
}
