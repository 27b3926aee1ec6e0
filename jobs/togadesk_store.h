/* The TOGaDesk tables as the helpdesk sync reads and writes them ([db.desk]; API-FACTS §6,
 * tests/fakes/desk/schema.sql): every statement of the sync on the desk, with bound
 * parameters. Table and column names come only from this file's constants. Each function
 * returns 0 (or the documented value) and -1 on a database error (db_errstr). */
#ifndef JOBFLEET_TOGADESK_STORE_H
#define JOBFLEET_TOGADESK_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct db;

/* A TOGA 2 ticket as the desk's tickets row holds it (strings borrowed). */
struct togadesk_ticket_row {
    const char *uuid;
    int64_t client_id, department_id; /* department_id: only for a new row */
    const char *number, *subject, *status, *priority;
    int64_t userid, assetid, created, updated;
};

/* Inserts the ticket of uuid (for the client) or updates the columns that differ; *id gets
 * the desk id, *changed 1 when something was written. */
int togadesk_store_ticket(struct db *db, const struct togadesk_ticket_row *r, int64_t *id,
                          int *changed);
/* The id of the people/assets row (table "people" or "assets") whose referenceId is uuid; 0
 * when none (or uuid NULL). -1 on error. */
int64_t togadesk_store_ref_id(struct db *db, const char *table, const char *uuid);
/* 1 when a tickets_replies or comments row carries the note uuid as referenceId, 0 when none. */
int togadesk_store_note_known(struct db *db, const char *note_uuid);
/* 1 when reply_id is a reply of desk_ticket still without a referenceId (a note this sync
 * posted whose uuid was never written back), else 0. */
int togadesk_store_reply_unlinked(struct db *db, int64_t desk_ticket, int64_t reply_id);
/* Writes the note's uuid into the reply when it has none yet. */
int togadesk_store_reply_link(struct db *db, int64_t reply_id, const char *note_uuid);
/* A note into tickets_replies (external) or comments (internal); *id the new row. A reply
 * also gets its tickets_history row. Run it in a transaction. */
int togadesk_store_note_insert(struct db *db, bool external, int64_t desk_ticket, int64_t t,
                               const char *note_uuid, const char *text, int64_t *id);

/* A desk ticket whose activity passed the watermark. */
struct togadesk_active {
    int64_t id, activity;
    char uuid[65]; /* its referenceId, "" when it has none */
};
/* Up to max tickets of the client in the departments (n_depts of them) with activity (the
 * newest of its replies', comments' and own time) >= since, after (after_t, after_id) in
 * (activity, id) order. Returns how many, -1 on error. */
int togadesk_store_active(struct db *db, int64_t client_id, const int64_t *depts, int n_depts,
                          int64_t since, int64_t after_t, int64_t after_id,
                          struct togadesk_active *out, int max);
/* A desk reply without a referenceId. */
struct togadesk_reply {
    int64_t id;
    char *message;
};
/* The replies of a ticket without a referenceId, in id order; release with
 * togadesk_store_replies_free. Returns how many, -1 on error. */
int togadesk_store_unlinked(struct db *db, int64_t desk_ticket, struct togadesk_reply **out);
void togadesk_store_replies_free(struct togadesk_reply *r, int n);

/* An entity table keyed by referenceId: table, whether it has clientid, and n columns. */
struct togadesk_table {
    const char *table;
    bool has_client;
    int n;
    const char *cols[4];
};
/* Inserts the row of uuid or updates its columns that differ. Returns 0 inserted, 1 updated,
 * 2 unchanged, -1 on error. */
int togadesk_store_entity(struct db *db, const struct togadesk_table *tb, int64_t client_id,
                          const char *uuid, const char *const *values);
/* The ticket's Category custom field (value the flattened path, referenceId the leaf). Returns
 * 0 inserted, 1 updated, 2 unchanged, -1 on error. */
int togadesk_store_category(struct db *db, int64_t desk_ticket, const char *leaf_uuid,
                            const char *path);
/* Re-flattens the Category fields of a category whose path changed; *n gets how many. */
int togadesk_store_category_rename(struct db *db, const char *leaf_uuid, const char *path,
                                   int64_t *n);

#endif
