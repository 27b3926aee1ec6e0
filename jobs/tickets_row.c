/* This file turns Freshservice's ticket, conversations and time entries into a store row. */
#include "tickets_row.h"
#include "caltime.h"
#include "json.h"
#include "ticket_text.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
tickets_row_keep(struct tickets_row *tr, char *s)
{
    tr->strings[tr->n_strings++] = s;
    return s;
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
    tr->row.conversations = tickets_row_keep(tr, cJSON_PrintUnformatted(pub));
    tr->row.notes = tickets_row_keep(tr, cJSON_PrintUnformatted(priv));
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

void
tickets_row_make(struct tickets_row *tr, const cJSON *ticket, const char *company,
                 const cJSON *conversations, const cJSON *time_entries, const char *name,
                 const char *email)
{
    memset(tr, 0, sizeof(*tr));
    struct ticket_row *r = &tr->row;
    r->ticket_id = tickets_int(ticket, "id");
    r->company_account_number = company;
    const char *type = json_str(ticket, "type", NULL);
    bool sr = type && strcmp(type, "Service Request") == 0;
    r->ticket_number =
        tickets_row_keep(tr, xasprintf("%s-%lld", sr ? "SR" : "INC", (long long)r->ticket_id));
    const char *subject = json_str(ticket, "subject", NULL);
    r->subject = subject ? subject : "";
    r->description = json_str(ticket, "description", NULL);
    r->description_text = tickets_row_keep(tr, tickets_text(r->description));
    char buf[32];
    r->status = tickets_row_keep(
        tr, xstrdup(ticket_status_word((int)tickets_int(ticket, "status"), buf, sizeof(buf))));
    r->priority = tickets_row_keep(
        tr, xstrdup(ticket_priority_word((int)tickets_int(ticket, "priority"), buf, sizeof(buf))));
    r->requester_name = name;
    r->requester_email = email;
    r->created_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(ticket, "created_at"));
    r->last_updated_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(ticket, "updated_at"));
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(ticket, "stats");
    r->closed_at = tickets_dt(tr, cJSON_GetObjectItemCaseSensitive(stats, "closed_at"));
    r->total_hours_spent = tickets_hours(time_entries);
    tickets_split(tr, conversations);
}

void
tickets_row_release(struct tickets_row *tr)
{
    for (int i = 0; i < tr->n_strings; i++)
        free(tr->strings[i]);
    tr->n_strings = 0;
}
