/* This file checks and repairs UTF-8: the length of the well-formed sequence at a position,
 * and from that validation, the offset of the first bad byte, and cleaning copies in which
 * bad bytes become '?'. */
#include "utf8.h"
#include "util.h"

#include <string.h>

/* The length of the well-formed, non-NUL sequence at s[0..n), or 0 when there is none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (c == 0 || len == 0 || len > n || (len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    /* Overlong three- and four-byte forms, UTF-16 surrogates and code points past U+10FFFF
     * are not valid UTF-8 either. */
    if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

size_t
utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

bool
utf8_valid(const char *s, size_t n)
{
    return utf8_invalid_at(s, n) == n;
}

char *
utf8_clean_clip(const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    size_t n = strnlen(s, max);
    char *d = xstrndup(s, n);
    unsigned char *u = (unsigned char *)d;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0) {
            d[i++] = '?';
            continue;
        }
        i += k;
    }
    return d;
}

char *
utf8_clean(const char *s)
{
    return utf8_clean_clip(s, strlen(s));
}
