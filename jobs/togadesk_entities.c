/* This file syncs the TOGA 2 entities other than tickets into the desk, each behind its
 * switch and upserted by TOGA 2 uuid: contacts, units, predefined replies, ticket teams, and
 * the ticket categories, a tree flattened into each ticket's Category custom field. */
#include "togadesk_int.h"
#include "togadesk_store.h"
#include "db.h"
#include "json.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A category path has three levels; a longer chain (or a loop) is cut here. */
#define CATEGORY_MAX_DEPTH 8

/* One entity: its collection, data key, switch, desk table, and the TOGA 2 field of each
 * desk column (the fields are what the fake defines, API-FACTS §5b [A]). How to change: add a
 * column to cols and its field at the same index. */
struct entity {
    const char *coll, *key, *name;
    size_t on; /* offset of its switch in struct togadesk_conf */
    struct togadesk_table tb;
    const char *fields[4];
};

static const struct entity entities[] = {
    {"contacts",
     "contacts",
     "contacts",
     offsetof(struct togadesk_conf, contacts),
     {"people", true, 3, {"name", "email", "phone"}},
     {"name", "email", "phone"}},
    {"units",
     "units",
     "units",
     offsetof(struct togadesk_conf, units),
     {"assets", true, 2, {"name", "serial"}},
     {"name", "serialNumber"}},
    {"predefined-replies",
     "predefinedReplies",
     "predefined_replies",
     offsetof(struct togadesk_conf, predefined_replies),
     {"tickets_pr", false, 2, {"name", "content"}},
     {"name", "content"}},
    {"ticket-teams",
     "ticketTeams",
     "ticket_teams",
     offsetof(struct togadesk_conf, ticket_teams),
     {"groups", false, 1, {"name"}},
     {"name"}},
};

static const char *const upsert_names[] = {"inserted", "updated", "unchanged"};

static int
entity_one(struct togadesk *td, const cJSON *rec, const void *arg)
{
    const struct entity *en = arg;
    const char *values[4];
    for (int i = 0; i < en->tb.n; i++)
        values[i] = togadesk_str(rec, en->fields[i]);
    const char *uuid = togadesk_ref(rec, "uuid");
    if (td->ctx->dry_run) {
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "upsert", en->tb.table);
        cJSON_AddStringToObject(step, "uuid", uuid);
        job_plan(td->ctx, step);
        return 0;
    }
    int rc = togadesk_store_entity(td->desk, &en->tb, td->conf.client_id, uuid, values);
    char group[64];
    snprintf(group, sizeof(group), "entities/%s", en->name);
    if (rc < 0) {
        if (togadesk_desk_error(td) < 0 && td->desk_failed)
            return -1;
        /* This record only (a value the desk refuses): counted, and the watermark held. */
        job_warn(td->ctx, "client %s: TOGA 2 %s %s into %s failed: %s", td->conf.name, en->coll,
                 uuid, en->tb.table, db_errstr(td->desk));
        togadesk_count(td, group, "failed", 1);
        int64_t u = togadesk_time(rec, "_updated");
        if (td->in_first_fail == 0 || u < td->in_first_fail)
            td->in_first_fail = u;
        return 0;
    }
    togadesk_count(td, group, upsert_names[rc], 1);
    return 0;
}

/* The since of the entities: the TOGA 2 watermark less the overlap. */
static int64_t
entities_since(const struct togadesk *td)
{
    return td->wm_in.t - td->conf.overlap_s;
}

static int
entities_fail(struct togadesk *td, struct job_out *out, const char *what, struct toga_err *e)
{
    togadesk_note_fail(td, e);
    if (e->fail == TOGA_OK)
        job_out_fail(out, JOB_RETRY, "%s: the desk database: %s", what, db_errstr(td->desk));
    else
        job_out_fail(out, e->fail == TOGA_AUTH ? JOB_FAIL : JOB_RETRY, "%s: %s", what, e->msg);
    return -1;
}

static int
category_keep(struct togadesk *td, const cJSON *rec, const void *arg)
{
    (void)arg;
    const char *uuid = togadesk_ref(rec, "uuid");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", togadesk_str(rec, "name"));
    const char *parent = togadesk_ref(rec, "parentTicketCategory");
    if (parent)
        cJSON_AddStringToObject(c, "parent", parent);
    cJSON_AddNumberToObject(c, "updated", (double)togadesk_time(rec, "_updated"));
    cJSON_AddItemToObject(td->categories, uuid, c);
    return 0;
}

/* "Top,Middle,Leaf" of a category (the caller frees it); NULL when it is unknown. */
static char *
category_path(const struct togadesk *td, const char *leaf, int64_t *newest)
{
    const char *names[CATEGORY_MAX_DEPTH];
    int n = 0;
    *newest = 0;
    for (const char *u = leaf; u && n < CATEGORY_MAX_DEPTH;) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(td->categories, u);
        if (c == NULL)
            break;
        names[n++] = togadesk_str(c, "name");
        int64_t t = json_int(c, "updated", 0, JSON_INT_MAX, 0);
        if (t > *newest)
            *newest = t;
        u = cJSON_GetStringValue(cJSON_GetObjectItem(c, "parent"));
    }
    if (n == 0)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    for (int i = n - 1; i >= 0; i--)
        buf_printf(&b, "%s%s", i == n - 1 ? "" : ",", names[i]);
    return buf_detach(&b);
}

/* Re-flattens the desk fields of categories whose path changed since the watermark (a
 * renamed parent changes every leaf under it). */
static int
categories_rename(struct togadesk *td)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, td->categories)
    {
        int64_t newest, n = 0;
        char *path = category_path(td, c->string, &newest);
        int rc = 0;
        if (path && newest >= entities_since(td) && !td->ctx->dry_run)
            rc = togadesk_store_category_rename(td->desk, c->string, path, &n);
        free(path);
        if (rc < 0)
            return -1;
        togadesk_count(td, "entities/ticket_categories", "renamed", (int)n);
    }
    return 0;
}

int
togadesk_category_set(struct togadesk *td, int64_t desk_ticket, const cJSON *ticket)
{
    if (!td->conf.ticket_categories || td->categories == NULL)
        return 0;
    const char *leaf = togadesk_ref(ticket, "ticketCategory");
    int64_t newest;
    char *path = leaf ? category_path(td, leaf, &newest) : NULL;
    int rc = 0;
    if (path && !td->ctx->dry_run) {
        rc = togadesk_store_category(td->desk, desk_ticket, leaf, path);
        if (rc >= 0)
            togadesk_count(td, "entities/ticket_categories", upsert_names[rc], 1);
    }
    free(path);
    return rc < 0 ? -1 : 0;
}

int
togadesk_entities_in(struct togadesk *td, struct job_out *out)
{
    struct toga_err e;
    td->entities_at = now_wall_ms() / 1000;
    for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
        const struct entity *en = &entities[i];
        if (!*(const bool *)((const char *)&td->conf + en->on))
            continue;
        memset(&e, 0, sizeof(e));
        if (togadesk_list(td, en->coll, en->key, entities_since(td), entity_one, en, &e) !=
                TOGA_OK ||
            td->desk_failed)
            return entities_fail(td, out, en->coll, &e);
    }
    if (!td->conf.ticket_categories)
        return 0;
    /* Paths need the whole tree, whatever changed: categories are few. */
    td->categories = cJSON_CreateObject();
    memset(&e, 0, sizeof(e));
    if (togadesk_list(td, "ticket-categories", "ticketCategories", 0, category_keep, NULL, &e) !=
        TOGA_OK)
        return entities_fail(td, out, "ticket-categories", &e);
    if (categories_rename(td) < 0)
        return entities_fail(td, out, "ticket-categories", &e);
    return 0;
}
