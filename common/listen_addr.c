/* This file parses and resolves the config's listening addresses. getaddrinfo takes any number
 * as a service and wraps it modulo 65536 (99999 listened on 34463), so the port is checked
 * here first. */
#include "listen_addr.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct addrinfo *
listen_addr_resolve(const char *what, const char *listen, char *err, size_t errlen)
{
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (colon == NULL || colon == listen || colon[1] == '\0') {
        snprintf(err, errlen, "%s: expected host:port, got \"%s\"", what, listen ? listen : "");
        return NULL;
    }
    char host[256];
    size_t hl = (size_t)(colon - listen);
    if (listen[0] == '[' && hl > 2 && listen[hl - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), listen + 1);
    else
        snprintf(host, sizeof(host), "%.*s", (int)hl, listen);
    int64_t port;
    if (parse_int64(colon + 1, 1, 65535, &port) < 0) {
        snprintf(err, errlen, "%s: bad port in \"%s\" (expected 1-65535)", what, listen);
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s: %s", what, listen, gai_strerror(rc));
        return NULL;
    }
    return ai;
}

int
listen_addr_check(const char *what, const char *listen, char *err, size_t errlen)
{
    struct addrinfo *ai = listen_addr_resolve(what, listen, err, errlen);
    if (ai == NULL)
        return -1;
    freeaddrinfo(ai);
    return 0;
}
