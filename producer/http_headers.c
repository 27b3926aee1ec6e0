/* This file looks up request headers (struct http_headers of http_server.h), apart from the
 * server so that code which only reads headers (authentication, its fuzz target) can be built
 * without libmicrohttpd. */
#include "http_server.h"

#include <string.h>

const char *
http_headers_get(const struct http_headers *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}
