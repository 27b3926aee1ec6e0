/* The HTTP client job functions use to reach an external service ([service.<name>]): JSON in
 * and out, a response size cap, retries with backoff that honours Retry-After, and a
 * fleet-wide rate budget per service kept in Redis. httpc.c is the only file that includes
 * libcurl's header. */
#ifndef JOBFLEET_HTTPC_H
#define JOBFLEET_HTTPC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

struct rq;
struct httpc;

/* How requests to the service are authenticated. */
enum httpc_auth {
    HTTPC_AUTH_NONE,
    HTTPC_AUTH_BASIC,  /* Basic base64(api_key:api_secret), api_secret "X" when unset */
    HTTPC_AUTH_BEARER, /* Authorization: Bearer <token> */
    HTTPC_AUTH_TOKEN,  /* Authorization: token <api_key>:<api_secret> (Frappe) */
};

/* The settings of one service. Strings are borrowed: from the config when filled by
 * httpc_conf_from_cfg, else from the caller; httpc_new copies them. */
struct httpc_conf {
    const char *name;     /* the service, used in errors and in the budget's Redis keys */
    const char *base_url; /* paths are joined to it; "" lets every path be a full URL */
    enum httpc_auth auth;
    const char *api_key;
    const char *api_secret;
    const char *token;
    int rate_per_minute; /* fleet-wide budget; 0 = no budget */
    int timeout_ms;      /* one attempt, connect to last byte */
    int connect_timeout_ms;
    int64_t max_response_bytes; /* a bigger body is refused; 0 = no cap */
    int max_attempts;           /* tries per request, the first included */
    int64_t backoff_base_ms;    /* the first retry waits about this long, doubling after */
    int64_t backoff_max_ms;
    int64_t retry_after_max_ms; /* a longer Retry-After ends the request (the job retries) */
    const char *redis_prefix;   /* the fleet's key prefix, for the pause key */
    const char *ca_file;        /* PEM CA bundle for TLS instead of the system's; NULL: system */
};

/* Fills conf with the defaults and then the keys of [service.<service>]; the strings are
 * borrowed from cfg. Returns -1 with a message in err when the section is missing or a value
 * is bad (naming the section and the key). */
int httpc_conf_from_cfg(const struct cfg *cfg, const char *service, struct httpc_conf *conf,
                        char *err, size_t errlen);
/* The defaults, for callers without a config (tests, one-off clients). */
void httpc_conf_defaults(struct httpc_conf *conf);

/* Creates a client; copies conf. rq (borrowed, may be NULL) carries the fleet-wide budget and
 * the fleet-wide pause after a 429 or a Retry-After; without it the budget is kept in this process
 * only. A client is used by one thread at a time. Never fails (allocation failure aborts). */
struct httpc *httpc_new(const struct httpc_conf *conf, struct rq *rq);
/* Frees the client; accepts NULL. */
void httpc_free(struct httpc *h);
/* Makes waits and transfers stop soon after *flag becomes nonzero (a job's cancel flag;
 * borrowed, may be NULL). */
void httpc_set_cancel(struct httpc *h, volatile int *flag);
/* Replaces the bearer token (a token obtained by a login call, e.g. TOGA's JWT); copied.
 * Switches the client to bearer auth. */
void httpc_set_bearer(struct httpc *h, const char *token);
/* True when the client holds a bearer token (from the config or httpc_set_bearer). */
bool httpc_bearer_set(const struct httpc *h);

/* One request. Only method and path are required. */
struct httpc_req {
    const char *method; /* NULL means GET */
    /* Joined to base_url (one '/' between them); may carry a query string. A full http(s)
     * URL (e.g. a Link header's next page) is used as is, with the service's credentials
     * only when it has base_url's scheme, host and port. */
    const char *path;
    const char *const *query; /* name, value, name, value, ..., NULL; encoded here */
    const cJSON *json;        /* a JSON body (sent as application/json), or */
    const char *body;         /* a raw body of body_len bytes with content_type */
    size_t body_len;
    const char *content_type;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
    bool unsafe_retry;          /* retry a POST/PATCH after errors that may have applied it */
    /* When set, every attempt (retries included) carries this header with a fresh random
     * UUID: for APIs that reject a reused request id (TOGA 2's transactionId, EV-5). */
    const char *attempt_id_header;
    /* For a URL handed to us by someone else (a signed attachment URL): https only, no proxy,
     * and, when connect_to is set ("HOST:PORT:ADDR:PORT" as for CURLOPT_CONNECT_TO, ADDR in
     * brackets for IPv6), the connection goes to that checked address whatever a second DNS
     * lookup would say. Redirects are never followed by the client (none are, for any
     * request): the caller checks a Location before it goes there. */
    bool untrusted_url;
    const char *connect_to;
    /* Attempts for this request, 0 for the service's max_attempts (1: the caller retries, e.g.
     * a job that leaves a long outage to the queue's backoff). */
    int max_attempts;
    /* This request's cap on the response body instead of the service's max_response_bytes
     * (0: the service's), and the setting it comes from, for the error (e.g. a file download
     * that [attachments] max_bytes bounds). */
    int64_t max_response_bytes;
    const char *max_response_name;
    /* What one attempt costs in the service's rate budget, for APIs that charge some requests
     * more than one credit (0 counts as 1). The budget takes that many before each attempt;
     * more than rate_per_minute counts as rate_per_minute. */
    int credits;
};

enum httpc_error {
    HTTPC_OK,         /* a 2xx response */
    HTTPC_ESTATUS,    /* a response with another status (after the retries allowed) */
    HTTPC_ETRANSPORT, /* no response: connect failure, timeout, reset */
    HTTPC_ETOOBIG,    /* the body passed max_response_bytes */
    HTTPC_EBODY,      /* a 2xx response whose JSON body does not parse */
    HTTPC_ECANCELLED, /* the cancel flag was set */
    HTTPC_EBUDGET,    /* the rate budget could not be read (Redis unavailable), or the service
                       * is paused fleet-wide past retry_after_max_ms (retry_after_ms says how
                       * long): nothing was sent */
    HTTPC_EREQUEST,   /* the request itself is wrong (bad URL, bad JSON body) */
};

/* The outcome of a request. Released with httpc_resp_release. */
struct httpc_resp {
    enum httpc_error error;
    long status; /* the last HTTP status, 0 when no response came */
    char *body;  /* the body, NUL-terminated (NULL when none) */
    size_t body_len;
    cJSON *json;            /* the body parsed, when it is JSON; owned by the response */
    char *headers;          /* the raw header block of the last response, names lower-cased */
    char *link_next;        /* the URL inside <...> of a Link rel="next", or NULL */
    int64_t retry_after_ms; /* from Retry-After, -1 when absent */
    int64_t rate_remaining; /* X-RateLimit-Remaining, -1 when absent */
    int64_t rate_total;     /* X-RateLimit-Total, -1 when absent */
    int attempts;           /* attempts made */
    int64_t waited_ms;      /* time spent waiting for the budget and between retries */
    char err[512];          /* "<service>: <METHOD> <path>: <what went wrong>" unless HTTPC_OK */
};

/* Sends one request, waiting for the budget (req->credits of it) before each attempt, and retries
 * transport errors, 408, 429 and 5xx (except 501) up to max_attempts with capped exponential
 * backoff and jitter, and never sooner than a Retry-After (seconds, or an HTTP date read against
 * the answer's Date header, so a server's clock far from ours does not matter). A 429, and any
 * other answer it would retry that carries a Retry-After (a 503's), also pauses the whole service
 * fleet-wide for that long (a 429 without one: for the backoff), capped at
 * HTTPC_RETRY_AFTER_CAP_MS; one past retry_after_max_ms ends the request at once with
 * resp->retry_after_ms set. POST and PATCH are retried only after errors that cannot have applied
 * them (connect failure, 429, 503) unless unsafe_retry is set. Fills resp (always; release it).
 * Returns 0 for a 2xx response, else -1 with resp->error and resp->err saying why. */
int httpc_request(struct httpc *h, const struct httpc_req *req, struct httpc_resp *resp);

/* Runs n requests concurrently, at most max_parallel at a time (curl multi), each taking its
 * credits from the budget before it starts and retried as httpc_request does. resps[i] is filled
 * for reqs[i] (release each). Returns how many ended without a 2xx response (0: all succeeded). */
int httpc_batch(struct httpc *h, const struct httpc_req *reqs, struct httpc_resp *resps, int n,
                int max_parallel);

/* Frees what the response holds; accepts a zeroed response. */
void httpc_resp_release(struct httpc_resp *r);
/* True when trying again later may succeed: transport, budget, 408, 429, 5xx. */
bool httpc_resp_transient(const struct httpc_resp *r);
/* Copies the value of a response header (name in lower case) into out; -1 when absent. */
int httpc_resp_header(const struct httpc_resp *r, const char *name, char *out, size_t len);

struct metric_def;
/* The client's counters (httpc_metrics.c), for metrics_merge in a process whose children make
 * the requests: jobfleet_http_requests_total{service,code},
 * jobfleet_http_budget_waits_total{service}, jobfleet_http_budget_wait_seconds_total{service}. */
extern const struct metric_def httpc_metric_requests;
extern const struct metric_def httpc_metric_budget_waits;
extern const struct metric_def httpc_metric_budget_wait_seconds;

/* Pure helpers, public so unit tests reach them. */

/* The longest wait a Retry-After is taken for (a day): a server's (or a proxy's) value of years
 * would pause the service for the whole fleet that long, and park every job on it. */
#define HTTPC_RETRY_AFTER_CAP_MS (24LL * 3600 * 1000)
/* Milliseconds to wait from a Retry-After value (delta seconds or an HTTP date) at wall time
 * now_ms, at most HTTPC_RETRY_AFTER_CAP_MS; a date in the past gives 0. -1 when the value is
 * neither. */
int64_t httpc_retry_after_ms(const char *value, int64_t now_ms);
/* The URL of a Link header's rel="next" entry (or of its only entry, when that names no rel); the
 * caller frees it; NULL when none. */
char *httpc_link_next(const char *link);
/* base and path joined with one '/' (path as is when it is a full URL); the caller frees it. */
char *httpc_url_join(const char *base, const char *path);
/* The milliseconds between fleet-wide request starts for a per-minute budget, and how many
 * starts may share one such interval window: the Redis limiter counts each start 25 ms past
 * its window (a guard for clock and scheduling noise), so windows are grouped until the guard
 * costs at most 5 % of the budget. */
void httpc_budget_window(int rate_per_minute, int *starts, int64_t *window_ms);

#endif
