/* This file resolves RFC 6901 JSON pointers against cJSON documents. */
#include "jsonptr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
jsonptr_valid(const char *ptr)
{
    if (ptr == NULL)
        return false;
    if (*ptr == '\0')
        return true;
    if (*ptr != '/')
        return false;
    for (const char *p = ptr; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return false;
    return true;
}

/* Copies one reference token (up to the next '/' or the end) into out, undoing "~1" then
 * "~0" as the RFC requires. Returns the position after the token, or NULL if it is too long. */
static const char *
jsonptr_token(const char *p, char *out, size_t len)
{
    size_t j = 0;
    for (; *p && *p != '/'; p++) {
        char c = *p;
        if (c == '~') {
            c = p[1] == '1' ? '/' : '~';
            p++;
        }
        if (j + 1 >= len)
            return NULL;
        out[j++] = c;
    }
    out[j] = '\0';
    return p;
}

static const cJSON *
jsonptr_index(const cJSON *arr, const char *tok)
{
    size_t n = strlen(tok);
    if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)tok[i]))
            return NULL;
    return cJSON_GetArrayItem(arr, (int)strtol(tok, NULL, 10));
}

const cJSON *
jsonptr_get(const cJSON *root, const char *ptr)
{
    if (!jsonptr_valid(ptr))
        return NULL;
    const cJSON *cur = root;
    const char *p = ptr;
    char tok[512];
    while (cur && *p == '/') {
        p = jsonptr_token(p + 1, tok, sizeof(tok));
        if (p == NULL)
            return NULL;
        if (cJSON_IsObject(cur))
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        else if (cJSON_IsArray(cur))
            cur = jsonptr_index(cur, tok);
        else
            cur = NULL;
    }
    return cur;
}

int
jsonptr_text(const cJSON *item, char *out, size_t len)
{
    int n;
    if (cJSON_IsString(item)) {
        n = snprintf(out, len, "%s", item->valuestring);
    } else if (cJSON_IsNumber(item)) {
        double d = item->valuedouble;
        /* Past 2^53 a double no longer holds every integer: 18014398509481984 and ...985 are
         * one value, and would be one key. */
        if (d == floor(d) && fabs(d) >= 9007199254740992.0)
            return -2;
        /* Integral values print as integers so that 42 and 42.0 give the same key. */
        if (d == floor(d))
            n = snprintf(out, len, "%.0f", d);
        else
            n = snprintf(out, len, "%.17g", d);
    } else if (cJSON_IsBool(item)) {
        n = snprintf(out, len, "%s", cJSON_IsTrue(item) ? "true" : "false");
    } else {
        char *s = cJSON_PrintUnformatted(item);
        n = snprintf(out, len, "%s", s ? s : "null");
        cJSON_free(s);
    }
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
