/* This file decodes the dashboard's form bodies (application/x-www-form-urlencoded): the
 * login, the CSRF token and the actions' fields, and the forms a redacted body may hold. */
#include "dash_int.h"

#include <string.h>

size_t
form_decode(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            c = (char)(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 2;
        }
        if (o + 1 >= len)
            return (size_t)-1;
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

bool
form_get(const char *body, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p;) {
        size_t n = strcspn(p, "&");
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
            return form_decode(p + nl + 1, n - nl - 1, out, len) != (size_t)-1;
        p += n;
        if (*p == '&')
            p++;
    }
    return false;
}
