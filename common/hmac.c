/* This file computes HMAC-SHA256 and SHA-256 with libcrypto and compares secrets in constant
 * time. */
#include "hmac.h"
#include "log.h"
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_mac;

static void
hmac_fetch(void)
{
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (hmac_mac == NULL)
        fatalx("libcrypto: HMAC is not available");
}

void
hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens, int n,
            uint8_t out[HMAC_SHA256_LEN])
{
    /* HMAC_CTX is deprecated in OpenSSL 3; EVP_MAC replaces it. Fetching the algorithm is a
     * table lookup under a lock, so it is done once per process. */
    pthread_once(&hmac_once, hmac_fetch);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
    if (ctx == NULL)
        fatalx("libcrypto: out of memory");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", digest, 0),
        OSSL_PARAM_construct_end(),
    };
    /* A zero-length key is legal HMAC but OpenSSL refuses a NULL pointer for it. */
    static const uint8_t empty_key[1];
    if (EVP_MAC_init(ctx, keylen ? key : empty_key, keylen, params) != 1)
        fatalx("libcrypto: HMAC init failed");
    for (int i = 0; i < n; i++)
        if (lens[i] && EVP_MAC_update(ctx, parts[i], lens[i]) != 1)
            fatalx("libcrypto: HMAC update failed");
    size_t outl = 0;
    if (EVP_MAC_final(ctx, out, &outl, HMAC_SHA256_LEN) != 1 || outl != HMAC_SHA256_LEN)
        fatalx("libcrypto: HMAC final failed");
    EVP_MAC_CTX_free(ctx);
}

void
hmac_digest(const void *data, size_t len, uint8_t out[HMAC_SHA256_LEN])
{
    unsigned int outl = 0;
    if (EVP_Digest(data, len, out, &outl, EVP_sha256(), NULL) != 1 || outl != HMAC_SHA256_LEN)
        fatalx("libcrypto: SHA-256 failed");
}

void
hmac_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int
hmac_unhex(const char *s, size_t slen, uint8_t *out, size_t len)
{
    if (slen != 2 * len)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

bool
hmac_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

bool
hmac_secret_equal(const char *given, size_t glen, const char *expected, size_t elen)
{
    uint8_t g[HMAC_SHA256_LEN], e[HMAC_SHA256_LEN];
    hmac_digest(given, glen, g);
    hmac_digest(expected, elen, e);
    return CRYPTO_memcmp(g, e, sizeof(g)) == 0;
}

int
hmac_base64_decode(const char *in, size_t len, char *out, size_t outcap)
{
    if (len % 4 != 0 || len / 4 * 3 + 1 > outcap || len > INT32_MAX)
        return -1;
    if (len == 0) {
        out[0] = '\0';
        return 0;
    }
    int n = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as zero bytes; take them back off. */
    if (in[len - 1] == '=')
        n--;
    if (in[len - 2] == '=')
        n--;
    out[n] = '\0';
    return n;
}

char *
hmac_base64_encode(const void *in, size_t len)
{
    if (len > (size_t)INT32_MAX / 4 * 3 - 3)
        fatalx("hmac_base64_encode: %zu bytes is too long", len);
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}
