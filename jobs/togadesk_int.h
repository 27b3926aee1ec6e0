/* Shared by the files of the TOGA 2 <-> TOGaDesk sync (togadesk_*.c): the client's settings,
 * the run's state, the TOGA 2 adapter (togadesk_api.c: every assumed shape of API-FACTS §5b in
 * one file), the desk's SQL (togadesk_store.c) and the steps of each direction. */
#ifndef JOBFLEET_TOGADESK_INT_H
#define JOBFLEET_TOGADESK_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"
#include "toga.h"

#define TOGADESK_MAX_DEPTS 32
/* The watermark of a client that never ran: a full sync. */
#define TOGADESK_EPOCH_TEXT "2000-01-01 00:00:00"
/* The two /parameters keys (API-FACTS §5b). */
#define TOGADESK_WM_IN "TOGADESK_LAST_TICKET_INTEGRATION_DATETIME"
#define TOGADESK_WM_OUT "TOGA_LAST_TICKET_INTEGRATION_DATETIME"

/* [toga_desk.<name>], checked (togadesk_conf.c). Strings are borrowed from the config. */
struct togadesk_conf {
    const char *name;
    const char *service; /* [service.<service>] */
    const char *desk_db; /* [db.<desk_db>] */
    int64_t client_id;
    int64_t department_id;
    int64_t depts[TOGADESK_MAX_DEPTS]; /* department_id, then monitor_department_ids */
    int n_depts;
    const char *integration_type;   /* TICKETS or REPAIR_ORDERS */
    const char *conversation_field; /* c_eliteConversationId or c_wjeConversationId */
    bool toga_to_desk, desk_to_toga;
    bool contacts, units, predefined_replies, ticket_teams, ticket_categories;
    int64_t overlap_s;
};

/* Reads and checks [toga_desk.<client>]; -1 with err naming the section, key and what is
 * wrong. */
int togadesk_conf_read(const struct cfg *cfg, const char *client, struct togadesk_conf *c,
                       char *err, size_t errlen);

/* A watermark: the /parameters record (uuid "" when there is none yet) and its time. */
struct togadesk_wm {
    char uuid[65];
    int64_t t;    /* as read */
    int64_t next; /* what this run may advance it to (>= t) */
};

/* One run. */
struct togadesk {
    struct job_ctx *ctx;
    struct togadesk_conf conf;
    struct toga tg;
    struct db *desk;
    cJSON *result;        /* the counts, built as the run goes */
    bool desk_failed;     /* the desk connection was lost (db_errstr(desk)): the run stops */
    enum toga_fail abort; /* an auth failure ends the run permanently */
    char abort_err[512];
    struct togadesk_wm wm_in, wm_out;
    /* TOGA 2 -> desk: newest _updated synced, oldest _updated of a failed ticket (0: none). */
    int64_t in_newest, in_first_fail;
    /* When the changed tickets were listed to the end: notes newer than that do not move the
     * watermark, so a ticket changed after its listing is never passed over. */
    int64_t in_listed_at;
    /* When the entities' listing began (0: none listed): they share the TOGA 2 watermark, so it
     * must not pass the changes made after their listing, while the tickets were synced. */
    int64_t entities_at;
    cJSON *in_done; /* ticket uuid -> true (synced this run) or false (failed this run) */
    /* The note uuids the tickets fetched this run held, and the tickets fetched a second time
     * for a note made after their first fetch: objects used as sets. */
    cJSON *in_notes_seen, *in_refetched;
    cJSON *categories; /* uuid -> {name, parent} of every ticket category (categories on) */
    /* desk -> TOGA 2: the same for desk activity times; the newest desk time this run wrote. */
    int64_t out_newest, out_first_fail, desk_wrote;
};

/* Adds n to result[group][name]: group is a path of objects ("entities/contacts"), made
 * when missing; n 0 makes the counter appear. */
void togadesk_count(struct togadesk *td, const char *group, const char *name, int n);
/* After a failed desk statement: a lost connection stops the run (desk_failed: the job is
 * retried); any other error is the record's own (the caller counts it and goes on). Returns
 * -1. */
int togadesk_desk_error(struct togadesk *td);
/* Records a TOGA 2 failure: an auth failure sets td->abort. */
void togadesk_note_fail(struct togadesk *td, const struct toga_err *e);

/* --- the TOGA 2 adapter (togadesk_api.c) --- */

/* A TOGA 2 time ("YYYY-MM-DD HH:MM:SS", UTC) of rec[key]; 0 when absent or malformed. */
int64_t togadesk_time(const cJSON *rec, const char *key);
/* rec[key] as a string ("" when absent; numbers printed); static storage per call site is not
 * used: the result is borrowed from rec or is "". */
const char *togadesk_str(const cJSON *rec, const char *key);
/* The uuid of a reference rec[key] (an object {"uuid"} or a bare uuid); NULL when none. */
const char *togadesk_ref(const cJSON *rec, const char *key);
/* Reads the watermark record key into wm (2000-01-01 when there is none). TOGA_OK or the
 * failure (e set; a malformed value is TOGA_OTHER naming it). */
enum toga_fail togadesk_wm_read(struct togadesk *td, const char *key, struct togadesk_wm *wm,
                                struct toga_err *e);
/* Writes wm->next into the record key when it differs from wm->t (POST when there is no
 * record yet, else PUT). TOGA_OK, TOGA_DRY or the failure. */
enum toga_fail togadesk_wm_write(struct togadesk *td, const char *key, struct togadesk_wm *wm,
                                 struct toga_err *e);
/* Calls fn for every record of collection coll (data key key) with _updated >= since, oldest
 * first, each once: pages of 200 by a keyset on _updated, so records updated while it lists
 * are not skipped. fn returns 0 to go on, -1 to stop (then this returns TOGA_OK with *stopped
 * set). TOGA_OK or the listing's failure. */
enum toga_fail togadesk_list(struct togadesk *td, const char *coll, const char *key, int64_t since,
                             int (*fn)(struct togadesk *, const cJSON *, const void *),
                             const void *arg, struct toga_err *e);
/* GET /tickets/{uuid}?depth=5: the ticket with its ticketNotes[] (the caller deletes it), or
 * NULL with e set. */
cJSON *togadesk_ticket_get(struct togadesk *td, const char *uuid, struct toga_err *e);
/* A note's text, whether it is external, and its conversation field value ("" when none). */
const char *togadesk_note_text(const cJSON *note);
bool togadesk_note_external(const cJSON *note);
const char *togadesk_note_conversation(const struct togadesk *td, const cJSON *note);
/* POST /ticket-notes: an external note on the ticket with the reply's text and the
 * conversation field set to the desk reply's id; the new note's uuid into uuid (65 bytes).
 * TOGA_OK, TOGA_DRY or the failure. */
enum toga_fail togadesk_note_post(struct togadesk *td, const char *ticket_uuid, int64_t reply_id,
                                  const char *text, char *uuid, struct toga_err *e);

/* --- the steps --- */

/* TOGA 2 -> desk: the entities with their switch on (togadesk_entities.c). 0, or -1 when the
 * run must stop (a listing or the desk failed: the job is retried; td->abort for auth). */
int togadesk_entities_in(struct togadesk *td, struct job_out *out);
/* The ticket's category path into its tickets_customfields row (ticket_categories on). */
int togadesk_category_set(struct togadesk *td, int64_t desk_ticket, const cJSON *ticket);
/* TOGA 2 -> desk: changed tickets, then changed notes (togadesk_in.c). 0 or -1 as above. */
int togadesk_in(struct togadesk *td, struct job_out *out);
/* desk -> TOGA 2: replies of changed desk tickets become notes (togadesk_out.c). */
int togadesk_out(struct togadesk *td, struct job_out *out);
/* The file steps (togadesk_files.c): enqueue the attachment copy of one reply/note, once. */
int togadesk_files_to_desk(struct togadesk *td, const char *note_uuid, int64_t reply_id, char *err,
                           size_t errlen);
int togadesk_files_to_toga(struct togadesk *td, int64_t reply_id, const char *note_uuid, char *err,
                           size_t errlen);

#endif
