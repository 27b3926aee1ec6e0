/* This file drives the TOGA 2 fake for e2e tests. */
#include "ttoga.h"
#include "hmac.h"
#include "tfake.h"
#include "thttp.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *
ttoga_request(struct tfake *f, const char *method, const char *what, const char *body)
{
    char url[192];
    snprintf(url, sizeof(url), "%s/_control/%s", f->base_url, what);
    struct t_http_resp r;
    int rc = t_http(method, url, body, body ? strlen(body) : 0, NULL, &r);
    CHECK(rc == 0 && r.status == 200, "toga fake %s %s: %ld %s", method, what, r.status,
          r.body ? r.body : r.err);
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j != NULL, "toga fake %s answered JSON", what);
    t_http_release(&r);
    return j;
}

cJSON *
ttoga_control(struct tfake *f, const char *what, const cJSON *doc)
{
    char *body = doc ? cJSON_PrintUnformatted(doc) : xstrdup("{}");
    cJSON *j = ttoga_request(f, "POST", what, body);
    free(body);
    return j;
}

char *
ttoga_seed(struct tfake *f, const char *collection, cJSON *record_take)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "collection", collection);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "records"), record_take);
    cJSON *ans = ttoga_control(f, "seed", doc);
    const char *uuid = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(ans, "records"), 0), "uuid"));
    CHECK(uuid != NULL, "seeded %s has a uuid", collection);
    char *out = xstrdup(uuid);
    cJSON_Delete(ans);
    cJSON_Delete(doc);
    return out;
}

char *
ttoga_note(struct tfake *f)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "subject", "a ticket");
    char *tu = ttoga_seed(f, "tickets", t);
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "ticket", tu);
    cJSON_AddBoolToObject(n, "isExternal", 1);
    cJSON_AddStringToObject(n, "text", "a note");
    free(tu);
    return ttoga_seed(f, "ticket-notes", n);
}

char *
ttoga_note_file(struct tfake *f, const char *note, const char *name, const void *bytes, size_t len)
{
    cJSON *file = cJSON_CreateObject();
    cJSON_AddStringToObject(file, "name", name);
    char *b64 = hmac_base64_encode(bytes, len);
    cJSON_AddStringToObject(file, "data", b64);
    free(b64);
    char *fu = ttoga_seed(f, "files", file);
    cJSON *link = cJSON_CreateObject();
    cJSON_AddStringToObject(link, "ticketNote", note);
    cJSON_AddStringToObject(link, "file", fu);
    free(ttoga_seed(f, "ticket-note-files", link));
    return fu;
}

int
ttoga_count(struct tfake *f, const char *endpoint)
{
    cJSON *log = tfake_log(f);
    const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(log, "endpoint_counts"), endpoint);
    int v = cJSON_IsNumber(n) ? (int)n->valuedouble : 0;
    cJSON_Delete(log);
    return v;
}

/* The record of uuid in a store listing, or NULL. */
static const cJSON *
ttoga_find(const cJSON *store, const char *uuid)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(store, "records"))
    {
        const char *u = cJSON_GetStringValue(cJSON_GetObjectItem(r, "uuid"));
        if (u && strcmp(u, uuid) == 0)
            return r;
    }
    return NULL;
}

cJSON *
ttoga_note_files(struct tfake *f, const char *note)
{
    cJSON *links = ttoga_request(f, "GET", "store/ticket-note-files", NULL);
    cJSON *files = ttoga_request(f, "GET", "store/files", NULL);
    cJSON *out = cJSON_CreateArray();
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(links, "records"))
    {
        const char *n =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "ticketNote"), "uuid"));
        const char *fu =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "file"), "uuid"));
        const cJSON *file = n && fu && strcmp(n, note) == 0 ? ttoga_find(files, fu) : NULL;
        if (file == NULL)
            continue;
        const char *data = cJSON_GetStringValue(cJSON_GetObjectItem(file, "data"));
        size_t dl = data ? strlen(data) : 0;
        char *raw = xmalloc(dl / 4 * 3 + 1);
        int len = hmac_base64_decode(data ? data : "", dl, raw, dl / 4 * 3 + 1);
        CHECK(len >= 0, "file %s holds base64", fu);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", cJSON_GetStringValue(cJSON_GetObjectItem(file, "name")));
        raw[len] = '\0';
        cJSON_AddStringToObject(o, "bytes", raw);
        cJSON_AddNumberToObject(o, "len", len);
        cJSON_AddItemToArray(out, o);
        free(raw);
    }
    cJSON_Delete(links);
    cJSON_Delete(files);
    return out;
}
