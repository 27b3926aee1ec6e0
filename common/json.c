/* This file turns result rows into JSON and checks JSON text. */
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *
json_from_row(const struct db_rows *rows, int r)
{
    cJSON *o = cJSON_CreateObject();
    for (int c = 0; c < rows->n_cols; c++) {
        const char *v = db_rows_get(rows, r, c);
        cJSON *item;
        if (v == NULL)
            item = cJSON_CreateNull();
        else if (rows->numeric[c])
            item = cJSON_CreateNumber(strtod(v, NULL));
        else
            item = cJSON_CreateString(v);
        cJSON_AddItemToObject(o, rows->names[c], item);
    }
    return o;
}

cJSON *
json_from_rows(const struct db_rows *rows)
{
    cJSON *a = cJSON_CreateArray();
    for (int r = 0; r < rows->n_rows; r++)
        cJSON_AddItemToArray(a, json_from_row(rows, r));
    return a;
}

char *
json_print(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (s == NULL)
        return xstrdup("null");
    return s;
}

bool
json_valid(const char *text, char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    if (j == NULL) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text ? (long)(at - text) : 0;
        snprintf(err, errlen, "invalid JSON at byte %ld", off);
        return false;
    }
    cJSON_Delete(j);
    return true;
}

const char *
json_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

bool
json_int_of(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    /* Within ±2^53 as well, so a caller's bound of INT64_MAX (2^63 as a double) cannot let
     * through a value whose conversion overflows. NaN fails every comparison. */
    if (!(d >= (double)lo && d <= (double)hi && d >= -(double)JSON_INT_MAX &&
          d <= (double)JSON_INT_MAX) ||
        d != (double)(int64_t)d)
        return false;
    *out = (int64_t)d;
    return true;
}

int64_t
json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t dflt)
{
    int64_t n;
    return json_int_of(cJSON_GetObjectItemCaseSensitive(o, key), lo, hi, &n) ? n : dflt;
}
