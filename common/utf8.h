/* UTF-8 checks and repairs (utf8.c) for text that arrives from outside and must reach a
 * utf8mb4 column, a JSON string or a log line intact. */
#ifndef JOBFLEET_UTF8_H
#define JOBFLEET_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without NUL bytes. */
bool utf8_valid(const char *s, size_t n);
/* The offset of the first byte that is not part of well-formed UTF-8 (or is NUL); n when
 * there is none. */
size_t utf8_invalid_at(const char *s, size_t n);
/* A copy of the NUL-terminated s in which every byte that is not part of well-formed UTF-8
 * becomes '?'. The caller frees it. */
char *utf8_clean(const char *s);
/* The same for at most max bytes of s (a sequence cut by max becomes '?' too, so the result
 * is always valid); NULL for NULL. The caller frees it. */
char *utf8_clean_clip(const char *s, size_t max);

#endif
