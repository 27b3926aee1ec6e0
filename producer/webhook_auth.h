/* Authentication of webhook deliveries (webhook_auth.c): HMAC signatures, tokens and basic
 * auth, as a source's section asks. */
#ifndef JOBFLEET_WEBHOOK_AUTH_H
#define JOBFLEET_WEBHOOK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "hmac.h"
#include "http_server.h"
#include "webhook_route.h"

/* Authenticates a delivery. now_s is the wall clock in seconds. Returns 0, or -1 with the
 * reason (for the log, never for the sender) in reason. */
int webhook_auth_check(const struct webhook_source *src, const struct http_headers *h,
                       const char *body, size_t len, int64_t now_s, char *reason, size_t reasonlen);

/* What of a delivery's authentication its headers alone decide, before any body is read: the
 * whole of a token or basic check; for an hmac-sha256 source a signature header present and
 * well-formed and a timestamp within tolerance (webhook_auth_check still checks the signature
 * over the body). Returns 0, or -1 with the reason as webhook_auth_check. */
int webhook_auth_headers(const struct webhook_source *src, const struct http_headers *h,
                         int64_t now_s, char *reason, size_t reasonlen);

/* The signature of a delivery to an hmac-sha256 source as 64 lower-case hex digits, however
 * the sender wrote it; -1 when the header is missing or malformed. */
int webhook_auth_signature_hex(const struct webhook_source *src, const struct http_headers *h,
                               char hex[2 * HMAC_SHA256_LEN + 1]);

#endif
