/* This file turns result rows into JSON and checks JSON text. */
#include "json.h"
#include "util.h"

#include <math.h>
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

/* Whole numbers from 10^15 up: cJSON prints a number with 15 significant digits when that
 * reads back within a relative 2e-16 of it, so 5000000000000001 came out as 5e+15. */
static bool
json_big_integer(const cJSON *c)
{
    double d = c->valuedouble, a = fabs(d);
    return cJSON_IsNumber(c) && isfinite(d) && d == floor(d) && a >= 1e15 && a < 9.2e18;
}

static bool
json_has_big_integer(const cJSON *j)
{
    if (json_big_integer(j))
        return true;
    for (const cJSON *c = j->child; c; c = c->next)
        if (json_has_big_integer(c))
            return true;
    return false;
}

/* Turns the big whole numbers of j into raw text of all their digits. */
static void
json_exact_big_integers(cJSON *j)
{
    if (json_big_integer(j)) {
        char digits[32];
        snprintf(digits, sizeof(digits), "%.0f", j->valuedouble);
        j->type = cJSON_Raw;
        j->valuestring = xstrdup(digits);
        return;
    }
    for (cJSON *c = j->child; c; c = c->next)
        json_exact_big_integers(c);
}

char *
json_print(const cJSON *j)
{
    char *s;
    if (j && json_has_big_integer(j)) {
        cJSON *dup = cJSON_Duplicate(j, 1);
        json_exact_big_integers(dup);
        s = cJSON_PrintUnformatted(dup);
        cJSON_Delete(dup);
    } else {
        s = cJSON_PrintUnformatted(j);
    }
    if (s == NULL)
        return xstrdup("null");
    return s;
}

const cJSON *
json_inexact_number(const cJSON *j)
{
    if (cJSON_IsNumber(j) &&
        (!isfinite(j->valuedouble) ||
         (j->valuedouble == floor(j->valuedouble) && fabs(j->valuedouble) >= 9007199254740992.0)))
        return j;
    for (const cJSON *c = j->child; c; c = c->next) {
        const cJSON *in = json_inexact_number(c);
        if (in)
            return in;
    }
    return NULL;
}

bool
json_text_has_nul(const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return true;
        if (!in_string) {
            in_string = text[i] == '"';
        } else if (text[i] == '"') {
            in_string = false;
        } else if (text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && len - i >= 6 && memcmp(text + i + 2, "0000", 4) == 0)
                return true;
            i++; /* the escaped character: \" does not end the string */
        }
    }
    return false;
}

bool
json_params_inexact(const cJSON *params, char *err, size_t errlen)
{
    const cJSON *n = params ? json_inexact_number(params) : NULL;
    if (n == NULL)
        return false;
    snprintf(err, errlen,
             "parameters: %s%s%s is a number no JSON double holds exactly (past 2^53 or not "
             "finite): send it as a string",
             n->string ? "\"" : "", n->string ? n->string : "a value", n->string ? "\"" : "");
    return true;
}

bool
json_text_params_inexact(const char *text, char *err, size_t errlen)
{
    cJSON *p = text ? cJSON_Parse(text) : NULL;
    bool inexact = json_params_inexact(p, err, errlen);
    cJSON_Delete(p);
    return inexact;
}

/* Orders object members by name, then by their order in the object (qsort is not stable). */
struct json_member {
    const cJSON *m;
    int at;
};

static const char *
json_name(const cJSON *m)
{
    return m->string ? m->string : "";
}

static int
json_member_cmp(const void *x, const void *y)
{
    const struct json_member *a = x, *b = y;
    int c = strcmp(json_name(a->m), json_name(b->m));
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

static struct json_member *
json_members_sorted(const cJSON *o, int n)
{
    struct json_member *v = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*v));
    int i = 0;
    for (const cJSON *c = o->child; c; c = c->next, i++)
        v[i] = (struct json_member){c, i};
    qsort(v, (size_t)n, sizeof(*v), json_member_cmp);
    return v;
}

/* Objects by name, in O(n log n): a body of many members is compared on every retry. */
static bool
json_objects_equal(const cJSON *a, const cJSON *b)
{
    int n = cJSON_GetArraySize(a);
    if (n != cJSON_GetArraySize(b))
        return false;
    struct json_member *va = json_members_sorted(a, n), *vb = json_members_sorted(b, n);
    bool same = true;
    for (int i = 0; i < n && same; i++)
        same = strcmp(json_name(va[i].m), json_name(vb[i].m)) == 0 && json_equal(va[i].m, vb[i].m);
    free(va);
    free(vb);
    return same;
}

bool
json_equal(const cJSON *a, const cJSON *b)
{
    if (a == NULL || b == NULL || (a->type & 0xff) != (b->type & 0xff))
        return a == b;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) || cJSON_IsRaw(a))
        return strcmp(a->valuestring ? a->valuestring : "", b->valuestring ? b->valuestring : "") ==
               0;
    if (cJSON_IsObject(a))
        return json_objects_equal(a, b);
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return false;
        return x == NULL && y == NULL;
    }
    return true; /* null, true, false: the type says all */
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
