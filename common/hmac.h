/* Message authentication for webhooks: HMAC-SHA256 and SHA-256 from OpenSSL's libcrypto, and a
 * comparison whose time does not depend on where two secrets differ. The only file that
 * includes OpenSSL headers. */
#ifndef JOBFLEET_HMAC_H
#define JOBFLEET_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAC_SHA256_LEN 32

/* Computes HMAC-SHA256 of the concatenation of the n parts (parts[i] of lens[i] bytes) under
 * key into out. Signing "timestamp.body" needs no copy of the body this way. */
void hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
                 int n, uint8_t out[HMAC_SHA256_LEN]);

/* SHA-256 of data into out. */
void hmac_digest(const void *data, size_t len, uint8_t out[HMAC_SHA256_LEN]);

/* Writes len bytes as lower-case hex into out (2 * len + 1 bytes, NUL-terminated). */
void hmac_hex(const uint8_t *in, size_t len, char *out);

/* Decodes exactly 2 * len hex digits (either case) of s into out. Returns -1 when s is not
 * that many hex digits. */
int hmac_unhex(const char *s, size_t slen, uint8_t *out, size_t len);

/* Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp).
 * Returns true when they are equal. */
bool hmac_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Compares two secrets of any lengths without leaking either length or the position of the
 * first difference: both are hashed first, then the digests are compared in constant time. */
bool hmac_secret_equal(const char *given, size_t glen, const char *expected, size_t elen);

/* Decodes standard base64 (with padding) into out (capacity outcap, at least 3/4 of len),
 * NUL-terminating it. Returns the decoded length, or -1 when in is not base64 or out is too
 * small. */
int hmac_base64_decode(const char *in, size_t len, char *out, size_t outcap);
/* Encodes len bytes as standard base64 with padding; the caller frees the NUL-terminated
 * result. */
char *hmac_base64_encode(const void *in, size_t len);

#endif
