/* This file writes JSON string literals without cJSON, for text built on a hot path. */
#include "json_escape.h"

#include <string.h>

void
json_escape_append(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_append(b, "\"", 1);
    /* Runs of bytes that need no escape are appended in one piece. */
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + from, i - from);
        from = i + 1;
        char esc[7] = {'\\', (char)c, 0};
        switch (c) {
        case '"':
        case '\\':
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        buf_append(b, esc, strlen(esc));
    }
    buf_append(b, s + from, n - from);
    buf_append(b, "\"", 1);
}
