/* Safe downloads of attachment URLs someone else handed us (Freshservice's signed URLs): https
 * only, hosts on [attachments] allowed_hosts only, every address the host resolves to checked
 * (no loopback, private, link-local, CGNAT or metadata range, IPv4 or IPv6) and the connection
 * pinned to the checked address, redirects followed only to URLs that pass the same checks,
 * within max_bytes and timeout_ms. Also reads [attachments]. */
#ifndef JOBFLEET_ATTACH_FETCH_H
#define JOBFLEET_ATTACH_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct cfg;

/* [attachments], strings borrowed from the config. */
struct attach_conf {
    const char *uploads_dir;
    const char *allowed_hosts; /* comma-separated host suffixes */
    int64_t max_bytes;
    int timeout_ms;
    const char *ca_file;
    const char *test_resolve;       /* TEST ONLY: "host=addr,..." instead of DNS */
    const char *test_private_hosts; /* TEST ONLY: hosts whose private address is accepted */
};

/* Reads [attachments] (defaults: max_bytes 25 MiB, timeout_ms 60000). need_dir: the action
 * writes or reads the uploads directory, so uploads_dir must be set. -1 with err naming the
 * key when a value is missing or bad. */
int attach_conf_load(const struct cfg *cfg, struct attach_conf *c, int need_dir, char *err,
                     size_t errlen);

enum attach_fetch_result {
    ATTACH_FETCH_OK = 0,
    ATTACH_FETCH_REFUSED,   /* the URL breaks the policy (scheme, host, address, size) */
    ATTACH_FETCH_EXPIRED,   /* a 403 that may mean the signed URL expired (attach_expired_403) */
    ATTACH_FETCH_FAILED,    /* another refusal (another 403, 404, ...): permanent */
    ATTACH_FETCH_TRANSIENT, /* 5xx, 408, 429 or transport after the retries: try later */
};

/* Downloads url into *bytes (the caller frees) and *len. cancel (may be NULL) stops it early.
 * Returns ATTACH_FETCH_OK, or the failure with err saying why (the URL's query, which holds
 * the signature, is never written to err). */
enum attach_fetch_result attach_fetch(const struct attach_conf *c, volatile int *cancel,
                                      const char *url, unsigned char **bytes, size_t *len,
                                      char *err, size_t errlen);

/* Pure helpers, public for unit tests. */

/* Splits an https URL: host (lower-cased, IPv6 without brackets, into host, hostlen bytes) and
 * port (443 by default). Refuses other schemes, user info, backslashes, percent signs or empty
 * hosts. 0, or -1 with err set. */
int attach_url_split(const char *url, char *host, size_t hostlen, int *port, char *err,
                     size_t errlen);
/* True when host matches one of the comma-separated suffixes: "example.com" matches itself,
 * ".example.com" (or "example.com" too) matches its subdomains. */
int attach_host_allowed(const char *host, const char *suffixes);
/* True when a 403 (its body: S3/CloudFront XML, or anything) may mean the signed URL expired,
 * so a fresh URL is worth fetching once (API-FACTS §2: on a 403 from an attachment URL,
 * re-fetch and retry once): every 403 but one whose XML names another cause
 * (SignatureDoesNotMatch and the like). CloudFront's expiry text is not known, and a CDN's
 * clock may run ahead of ours, so a plain AccessDenied counts whatever the URL's Expires. */
int attach_expired_403(const char *body, size_t len);

#endif
