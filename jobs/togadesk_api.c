/* This file is the helpdesk sync's adapter to TOGA 2: every request it sends and every record
 * shape it reads. API-FACTS §5b marks much of that as assumed [A]; meeting the real API should
 * change this file only. Assumed here: /parameters records {uuid, key, value}; notes carry
 * their text in "content" and point at their ticket with "ticket"; a list filter
 * where[_updated >= 'T'] and paging by page/recordsPerPage. */
#include "caltime.h"
#include "ids.h"
#include "togadesk_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_PAGE 200
#define API_PAGE_TEXT "200"
#define NOTE_TEXT "content"

int64_t
togadesk_time(const cJSON *rec, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, key));
    int64_t t;
    return s && caltime_parse_dt(s, &t) == 0 ? t : 0;
}

const char *
togadesk_str(const cJSON *rec, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, key));
    return s ? s : "";
}

const char *
togadesk_ref(const cJSON *rec, const char *key)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, key);
    const char *u =
        cJSON_IsString(r) ? r->valuestring : cJSON_GetStringValue(cJSON_GetObjectItem(r, "uuid"));
    return ids_uuid_like(u) ? u : NULL;
}

enum toga_fail
togadesk_wm_read(struct togadesk *td, const char *key, struct togadesk_wm *wm, struct toga_err *e)
{
    memset(wm, 0, sizeof(*wm));
    caltime_parse_dt(TOGADESK_EPOCH_TEXT, &wm->t);
    char where[128];
    snprintf(where, sizeof(where), "where[key = '%s']", key);
    char *path = toga_path("/parameters", where, "", "depth", "0", NULL);
    cJSON *list = toga_get(&td->tg, path, "parameters", e);
    free(path);
    if (list == NULL)
        return e->fail;
    const cJSON *p = cJSON_GetArrayItem(list, 0);
    enum toga_fail f = TOGA_OK;
    if (p) {
        const char *uuid = togadesk_ref(p, "uuid");
        const cJSON *val = cJSON_GetObjectItem(p, "value");
        const char *v = cJSON_GetStringValue(val);
        if (uuid == NULL)
            toga_err_set(e, TOGA_OTHER, 0, "toga: the /parameters record %s has no uuid", key);
        else if (!cJSON_IsString(val) && !cJSON_IsNull(val))
            /* A record without its value (a misspelt key, another shape) is not "never ran":
             * read as that, every run would list everything again. An empty or null value
             * is: the record was made and never written. */
            toga_err_set(e, TOGA_OTHER, 0,
                         "toga: the /parameters record %s has no \"value\" (a string or null)",
                         key);
        else if (v && *v && caltime_parse_dt(v, &wm->t) < 0)
            toga_err_set(e, TOGA_OTHER, 0,
                         "toga: /parameters %s: the value is not YYYY-MM-DD HH:MM:SS", key);
        else
            snprintf(wm->uuid, sizeof(wm->uuid), "%s", uuid);
        f = e->fail;
    }
    wm->next = wm->t;
    cJSON_Delete(list);
    return f;
}

enum toga_fail
togadesk_wm_write(struct togadesk *td, const char *key, struct togadesk_wm *wm, struct toga_err *e)
{
    memset(e, 0, sizeof(*e));
    if (wm->next <= wm->t)
        return TOGA_OK;
    char text[24];
    caltime_format_dt(wm->next, text, sizeof(text));
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "value", text);
    char *path;
    if (wm->uuid[0]) {
        path = xasprintf("/parameters/%s", wm->uuid);
    } else {
        cJSON_AddStringToObject(body, "key", key);
        path = xstrdup("/parameters");
    }
    cJSON *data = NULL;
    enum toga_fail f = toga_call(&td->tg, wm->uuid[0] ? "PUT" : "POST", path, body, &data, NULL, e);
    cJSON_Delete(data);
    cJSON_Delete(body);
    free(path);
    return f;
}

/* True when the page's _updated never decreases: the order the keyset listing needs (TOGA 2's
 * documentation does not promise one). */
static bool
api_ascending(const cJSON *list)
{
    const char *prev = "";
    const cJSON *rec;
    cJSON_ArrayForEach(rec, list)
    {
        const char *upd = togadesk_str(rec, "_updated");
        if (strcmp(upd, prev) < 0)
            return false;
        prev = upd;
    }
    return true;
}

/* One page of the keyset listing: calls fn for records not seen yet, or seen with an older
 * _updated (changed since this run handled them: they moved to the end of the listing), and
 * moves cur to the page's newest _updated. Returns how many were new, -1 when fn stopped. */
static int
api_page(struct togadesk *td, const cJSON *list, cJSON *seen, char *cur, size_t curlen,
         int (*fn)(struct togadesk *, const cJSON *, const void *), const void *arg)
{
    int fresh = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, list)
    {
        const char *uuid = togadesk_ref(rec, "uuid");
        const char *upd = togadesk_str(rec, "_updated");
        if (strcmp(upd, cur) > 0)
            snprintf(cur, curlen, "%s", upd);
        if (uuid == NULL)
            continue;
        cJSON *had = cJSON_GetObjectItemCaseSensitive(seen, uuid);
        if (had && strcmp(cJSON_GetStringValue(had), upd) >= 0)
            continue;
        if (had)
            cJSON_SetValuestring(had, upd);
        else
            cJSON_AddItemToObject(seen, uuid, cJSON_CreateString(upd));
        fresh++;
        if (fn(td, rec, arg) < 0 || job_ctx_cancelled(td->ctx))
            return -1;
    }
    return fresh;
}

enum toga_fail
togadesk_list(struct togadesk *td, const char *coll, const char *key, int64_t since,
              int (*fn)(struct togadesk *, const cJSON *, const void *), const void *arg,
              struct toga_err *e)
{
    char cur[24], where[64], page_text[16];
    caltime_format_dt(since, cur, sizeof(cur));
    char *base = xasprintf("/%s", coll);
    cJSON *seen = cJSON_CreateObject();
    memset(e, 0, sizeof(*e));
    for (int page = 1;;) {
        snprintf(where, sizeof(where), "where[_updated >= '%s']", cur);
        snprintf(page_text, sizeof(page_text), "%d", page);
        char *path = toga_path(base, where, "", "recordsPerPage", API_PAGE_TEXT, "page", page_text,
                               "depth", "0", NULL);
        cJSON *list = toga_get(&td->tg, path, key, e);
        free(path);
        if (list == NULL)
            break;
        char before[24];
        snprintf(before, sizeof(before), "%s", cur);
        int n = cJSON_GetArraySize(list);
        bool ascending = api_ascending(list);
        int fresh = api_page(td, list, seen, cur, sizeof(cur), fn, arg);
        cJSON_Delete(list);
        /* A later page of one second with nothing new would repeat for ever (a server
         * ignoring page); a first page at a new cursor may repeat the last one's records. */
        if (fresh < 0 || (fresh == 0 && page > 1) || n < API_PAGE)
            break;
        /* The next page starts at the newest _updated seen: a record updated meanwhile moves
         * to the end instead of shifting an unseen one onto a page already read. A full page
         * of one second goes on by page number, and so does a list in another order (newest
         * first, say), from the same start. */
        if (!ascending)
            snprintf(cur, sizeof(cur), "%s", before);
        page = strcmp(cur, before) > 0 ? 1 : page + 1;
    }
    cJSON_Delete(seen);
    free(base);
    return e->fail;
}

cJSON *
togadesk_ticket_get(struct togadesk *td, const char *uuid, struct toga_err *e)
{
    if (!ids_uuid_like(uuid)) {
        memset(e, 0, sizeof(*e));
        toga_err_set(e, TOGA_OTHER, 0, "toga: a ticket uuid \"%.80s\" is not a uuid",
                     uuid ? uuid : "");
        return NULL;
    }
    char *path = xasprintf("/tickets/%s?depth=5", uuid);
    cJSON *t = toga_get(&td->tg, path, "tickets", e);
    free(path);
    if (t && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(t, "ticketNotes"))) {
        /* Without the notes a sync would see "no notes": never treat that as nothing. */
        toga_err_set(e, TOGA_OTHER, 0, "toga: ticket %s: the answer has no ticketNotes array",
                     uuid);
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

const char *
togadesk_note_text(const cJSON *note)
{
    return togadesk_str(note, NOTE_TEXT);
}

bool
togadesk_note_external(const cJSON *note)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(note, "isExternal"));
}

const char *
togadesk_note_conversation(const struct togadesk *td, const cJSON *note)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(note, td->conf.conversation_field);
    return cJSON_IsString(v) ? v->valuestring : "";
}

enum toga_fail
togadesk_note_post(struct togadesk *td, const char *ticket_uuid, int64_t reply_id, const char *text,
                   char *uuid, struct toga_err *e)
{
    uuid[0] = '\0';
    char conv[24];
    snprintf(conv, sizeof(conv), "%lld", (long long)reply_id);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "ticket"), "uuid", ticket_uuid);
    cJSON_AddTrueToObject(body, "isExternal");
    cJSON_AddStringToObject(body, NOTE_TEXT, text ? text : "");
    cJSON_AddStringToObject(body, td->conf.conversation_field, conv);
    cJSON *data = NULL;
    enum toga_fail f = toga_call(&td->tg, "POST", "/ticket-notes", body, &data, NULL, e);
    cJSON_Delete(body);
    if (f == TOGA_OK) {
        const char *u = togadesk_ref(cJSON_GetObjectItem(data, "ticketNotes"), "uuid");
        if (u)
            snprintf(uuid, 65, "%s", u);
        else
            toga_err_set(e, TOGA_OTHER, 0,
                         "toga: POST /ticket-notes on ticket %s: no data.ticketNotes.uuid",
                         ticket_uuid);
        f = e->fail;
    }
    cJSON_Delete(data);
    return f;
}
