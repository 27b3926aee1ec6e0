/* This file turns Freshservice's ticket, conversations and time entries into a store row. */
#include "tickets_row.h"
#include "caltime.h"
#include "json.h"
#include "log.h"
#include "ticket_text.h"
#include "utf8.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
tickets_row_keep(struct tickets_row *tr, char *s)
{
    if (tr->n_strings == TICKETS_ROW_STRINGS)
        fatalx("tickets_row: more than %d strings", TICKETS_ROW_STRINGS);
    tr->strings[tr->n_strings++] = s;
    return s;
}

/* Names col in tr->fitted. */
static void
tickets_row_fitted(struct tickets_row *tr, const char *col)
{
    size_t n = strlen(tr->fitted);
    snprintf(tr->fitted + n, sizeof(tr->fitted) - n, "%s%s", n ? ", " : "", col);
}

/* The byte offset in the valid UTF-8 s (n bytes) at which at most max_chars characters and
 * max_bytes bytes end, on a character boundary. */
static size_t
tickets_cut_at(const char *s, size_t n, size_t max_chars, size_t max_bytes)
{
    size_t i = n < max_bytes ? n : max_bytes, chars = 0;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    if (max_chars >= i)
        return i; /* a character takes a byte at least */
    for (size_t k = 0; k < i; k++) {
        /* A byte that does not continue a sequence starts a character. */
        if (((unsigned char)s[k] & 0xC0) != 0x80 && ++chars > max_chars)
            return k;
    }
    return i;
}

/* s (NULL-safe) made to fit a column of max_chars characters and max_bytes bytes: bytes that
 * are not UTF-8 become '?', and the text is cut at a character boundary. s itself when it
 * fits as it is, else a copy kept by the row, and col named in tr->fitted. */
static const char *
tickets_fit(struct tickets_row *tr, const char *s, size_t max_chars, size_t max_bytes,
            const char *col)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *c;
    if (utf8_valid(s, n)) {
        size_t cut = tickets_cut_at(s, n, max_chars, max_bytes);
        if (cut == n)
            return s;
        c = xstrndup(s, cut);
    } else {
        /* Each bad byte becomes one '?': the length stays n. */
        c = utf8_clean(s);
        c[tickets_cut_at(c, n, max_chars, max_bytes)] = '\0';
    }
    tickets_row_fitted(tr, col);
    return tickets_row_keep(tr, c);
}

/* An email as its column takes it: NULL rather than cut or mended. */
static const char *
tickets_fit_email(struct tickets_row *tr, const char *email)
{
    if (email == NULL)
        return NULL;
    size_t n = strlen(email);
    if (utf8_valid(email, n) && tickets_cut_at(email, n, TICKET_PERSON_MAX_CHARS, n) == n)
        return email;
    tickets_row_fitted(tr, "requester_email (left out)");
    return NULL;
}

int64_t
tickets_int(const cJSON *o, const char *key)
{
    return json_int(o, key, -JSON_INT_MAX, JSON_INT_MAX, 0);
}

int64_t
tickets_time(const cJSON *v)
{
    int64_t ms;
    /* A time at or before the epoch is no ticket's: the sync's watermarks start past it. */
    if (!cJSON_IsString(v) || caltime_parse(v->valuestring, &ms) < 0 || ms < 1000)
        return -1;
    return ms / 1000;
}

/* A Freshservice time as a DATETIME text (kept by the row), or NULL. */
static const char *
tickets_dt(struct tickets_row *tr, const cJSON *v)
{
    int64_t t = tickets_time(v);
    if (t < 0)
        return NULL;
    char dt[24];
    caltime_format_dt(t, dt, sizeof(dt));
    return tickets_row_keep(tr, xstrdup(dt));
}

static char *
tickets_text(const char *html)
{
    return ticket_html_to_text(html ? html : "", html ? strlen(html) : 0);
}

static int
tickets_by_created(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int64_t tx = tickets_time(cJSON_GetObjectItemCaseSensitive(x, "created_at"));
    int64_t ty = tickets_time(cJSON_GetObjectItemCaseSensitive(y, "created_at"));
    if (tx != ty)
        return tx < ty ? -1 : 1;
    int64_t ix = tickets_int(x, "id"), iy = tickets_int(y, "id");
    return ix < iy ? -1 : ix > iy;
}

/* One conversation as stored: public ones with their sender and direction, private notes
 * with their author. */
static cJSON *
tickets_conv(const cJSON *c, bool note)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)tickets_int(c, "id"));
    if (note) {
        cJSON_AddNumberToObject(o, "user_id", (double)tickets_int(c, "user_id"));
    } else {
        const char *from = json_str(c, "from_email", NULL);
        if (from)
            cJSON_AddStringToObject(o, "from_email", from);
        else
            cJSON_AddNullToObject(o, "from_email");
        cJSON_AddBoolToObject(o, "incoming",
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "incoming")));
    }
    const char *created = json_str(c, "created_at", NULL);
    cJSON_AddStringToObject(o, "created_at", created ? created : "");
    char *text = tickets_text(json_str(c, "body", NULL));
    cJSON_AddStringToObject(o, "body_text", text);
    free(text);
    return o;
}

/* The JSON text of a, with bytes that are not UTF-8 made '?' (col named in tr->fitted). */
static char *
tickets_clean_json(struct tickets_row *tr, const cJSON *a, const char *col)
{
    char *text = cJSON_PrintUnformatted(a);
    if (utf8_valid(text, strlen(text)))
        return text;
    char *clean = utf8_clean(text);
    free(text);
    tickets_row_fitted(tr, col);
    return clean;
}

/* Splits conversations into the public ones and the private notes, oldest first, as JSON. */
static void
tickets_split(struct tickets_row *tr, const cJSON *convs)
{
    int n = cJSON_GetArraySize(convs), k = 0;
    const cJSON **sorted = xcalloc((size_t)(n ? n : 1), sizeof(*sorted));
    const cJSON *c;
    cJSON_ArrayForEach(c, convs) sorted[k++] = c;
    qsort(sorted, (size_t)n, sizeof(*sorted), tickets_by_created);
    cJSON *pub = cJSON_CreateArray(), *priv = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        bool note = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(sorted[i], "private"));
        cJSON_AddItemToArray(note ? priv : pub, tickets_conv(sorted[i], note));
    }
    free(sorted);
    /* The texts are UTF-8 already, but a conversation's other members are as the API sent
     * them; a '?' for a bad byte leaves the JSON whole. */
    tr->row.conversations = tickets_row_keep(tr, tickets_clean_json(tr, pub, "conversations"));
    tr->row.notes = tickets_row_keep(tr, tickets_clean_json(tr, priv, "notes"));
    cJSON_Delete(pub);
    cJSON_Delete(priv);
}

/* Total hours of the time entries; an entry whose time_spent cannot be read counts 0 (the
 * ticket is still stored) and is logged by the caller through the count it gets back. */
static double
tickets_hours(const cJSON *entries)
{
    int64_t total = 0;
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        int64_t s;
        if (ticket_time_spent_s(cJSON_GetObjectItemCaseSensitive(e, "time_spent"), &s) == 0)
            total += s;
        n++;
    }
    return ticket_hours(total, n);
}

/* The ticket's texts, each made to fit its column. */
static void
tickets_row_texts(struct tickets_row *tr, const cJSON *ticket, const char *name, const char *email)
{
    struct ticket_row *r = &tr->row;
    const char *subject = json_str(ticket, "subject", NULL);
    r->subject =
        tickets_fit(tr, subject ? subject : "", TICKET_SUBJECT_MAX_CHARS, SIZE_MAX, "subject");
    r->description = tickets_fit(tr, json_str(ticket, "description", NULL), SIZE_MAX,
                                 TICKET_MEDIUMTEXT_MAX_BYTES, "description");
    char *text = tickets_row_keep(tr, tickets_text(r->description));
    r->description_text =
        tickets_fit(tr, text, SIZE_MAX, TICKET_MEDIUMTEXT_MAX_BYTES, "description_text");
    r->requester_name = tickets_fit(tr, name, TICKET_PERSON_MAX_CHARS, SIZE_MAX, "requester_name");
    r->requester_email = tickets_fit_email(tr, email);
}

int
tickets_row_make(struct tickets_row *tr, const cJSON *ticket, const char *company,
                 const cJSON *conversations, const cJSON *time_entries, const char *name,
                 const char *email, char *err, size_t len)
{
    memset(tr, 0, sizeof(*tr));
    struct ticket_row *r = &tr->row;
    r->ticket_id = tickets_int(ticket, "id");
    r->total_hours_spent = tickets_hours(time_entries);
    if (r->total_hours_spent > TICKET_HOURS_MAX) {
        snprintf(err, len,
                 "its time entries total %.2f hours, more than total_hours_spent holds "
                 "(%.2f)",
                 r->total_hours_spent, TICKET_HOURS_MAX);
        return -1;
    }
    r->company_account_number = company;
    const char *type = json_str(ticket, "type", NULL);
    bool sr = type && strcmp(type, "Service Request") == 0;
    r->ticket_number =
        tickets_row_keep(tr, xasprintf("%s-%lld", sr ? "SR" : "INC", (long long)r->ticket_id));
    tickets_row_texts(tr, ticket, name, email);
    char buf[32];
    r->status = tickets_row_keep(
        tr, xstrdup(ticket_status_word((int)tickets_int(ticket, "status"), buf, sizeof(buf))));
    r->priority = tickets_row_keep(
        tr, xstrdup(ticket_priority_word((int)tickets_int(ticket, "priority"), buf, sizeof(buf))));
    r->created_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(ticket, "created_at"));
    r->last_updated_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(ticket, "updated_at"));
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(ticket, "stats");
    r->closed_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(stats, "closed_at"));
    tickets_split(tr, conversations);
    return 0;
}

void
tickets_row_release(struct tickets_row *tr)
{
    for (int i = 0; i < tr->n_strings; i++)
        free(tr->strings[i]);
    tr->n_strings = 0;
}
