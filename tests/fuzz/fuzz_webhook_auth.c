/* libFuzzer target: webhook authentication (producer/webhook_auth.c) on hostile headers. The
 * input is "<signature>\n<timestamp>\n<authorization>\n<token>\n<body>"; each source kind
 * checks it, and a delivery must never pass with a wrong signature or credentials. */
#include "http_server.h"
#include "webhook_auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of the input, NUL-terminated in place. */
static char *
next_line(char **p, char *end)
{
    char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    if (nl == NULL) {
        *p = end;
        return s;
    }
    *nl = '\0';
    *p = nl + 1;
    return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf, *end = buf + size;
    static char sig_h[] = "x-signature", ts_h[] = "x-timestamp", auth_h[] = "authorization",
                tok_h[] = "x-token", name[] = "f", secret[] = "fuzz-secret-0123456789",
                token[] = "fuzz-token-0123456789", user[] = "bot",
                password[] = "fuzz-password-0123456789";
    char *names[] = {sig_h, ts_h, auth_h, tok_h};
    char *values[4];
    for (int i = 0; i < 4; i++)
        values[i] = next_line(&p, end);
    struct http_headers h = {.n = 4, .cap = 4, .names = names, .values = values};
    struct webhook_source src = {.name = name,
                                 .secret = secret,
                                 .signature_header = sig_h,
                                 .timestamp_header = ts_h,
                                 .tolerance_s = 300,
                                 .token_header = tok_h,
                                 .token = token,
                                 .username = user,
                                 .password = password};
    char reason[256];
    enum webhook_auth_kind kinds[] = {WEBHOOK_AUTH_HMAC, WEBHOOK_AUTH_TOKEN, WEBHOOK_AUTH_BASIC};
    for (int k = 0; k < 3; k++) {
        src.auth = kinds[k];
        int rc =
            webhook_auth_check(&src, &h, p, (size_t)(end - p), 1764676800, reason, sizeof(reason));
        /* A token or password the fuzzer guessed would be a finding of its own. */
        if (rc == 0 && kinds[k] == WEBHOOK_AUTH_TOKEN && strcmp(values[3], src.token) != 0)
            abort();
    }
    char hex[65];
    src.auth = WEBHOOK_AUTH_HMAC;
    (void)webhook_auth_signature_hex(&src, &h, hex);
    free(buf);
    return 0;
}
