/* The TOGA 2 <-> TOGaDesk sync's end-to-end tests' common part (tests/e2e/togadesk*.c): the
 * TOGA 2 fake (tests/fakes/toga.py) and its store, the desk test schema
 * (tests/fakes/desk/schema.sql) on the real MariaDB, a run of the sync in the foreground
 * runtime (as `jobfleet run` does) and the full fixture. */
#ifndef JOBFLEET_TTOGADESK_H
#define JOBFLEET_TTOGADESK_H

#include "db.h"
#include "runtime.h"
#include "tfake.h"
#include "tsupport.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/types.h>

#define TTD_WM_IN "TOGADESK_LAST_TICKET_INTEGRATION_DATETIME"
#define TTD_WM_OUT "TOGA_LAST_TICKET_INTEGRATION_DATETIME"

/* The tests' config: client acme on [service.toga] (TTD_CONF), with every switch off (add
 * TTD_OFF). */
#define TTD_BASE_CONF                                                                              \
    "[worker]\nconcurrency = 1\n"                                                                  \
    "[service.toga]\nbase_url = http://127.0.0.1:9/v2\napi_key = toga-key\n"                       \
    "backoff_base_ms = 10\nmax_attempts = 2\n"                                                     \
    "[db.desk]\ndatabase = {db}_desk\n"                                                            \
    "[attachments]\nuploads_dir = /nonexistent\nmax_bytes = 1000000\n"                             \
    "[toga_desk.acme]\nservice = toga\ndesk_client_id = 7\ndesk_department_id = 3\n"               \
    "monitor_department_ids = 4\n"
#define TTD_CONF TTD_BASE_CONF "[service.toga]\napi_secret = toga-secret\n[toga_desk.acme]\n"
#define TTD_OFF                                                                                    \
    "toga_to_desk = false\ndesk_to_toga = false\ncontacts = false\nunits = false\n"                \
    "predefined_replies = false\nticket_teams = false\nticket_categories = false\n"

struct td {
    struct tenv *t;
    struct tfake fake;
    struct db *desk;
    char uploads[512];
};

/* The fixture of the full test: TOGA 2 records and desk rows (uuids and ids). */
struct fx {
    char contact[40], unit[40], team[40], pr[40], top[40], mid[40], leaf[40];
    char t1[40], t2[40], n_ext[40], n_int[40];
    int64_t d2, r1;
};

/* Seeds one record (JSON text) into coll; its uuid into out (40 bytes) when not NULL. */
void ttd_seed(struct td *d, const char *coll, const char *record, char *out);
/* Sets a mode of the fake (JSON text). */
void ttd_fake_mode(struct td *d, const char *json);
/* The records of a collection (the caller deletes them). */
cJSON *ttd_store(struct td *d, const char *coll);
/* The writes the fake received since its last reset (logins aside). */
int ttd_fake_writes(struct td *d);
/* The value of a /parameters record, "" when none; static storage. */
const char *ttd_param(struct td *d, const char *key);
/* How many ticket-notes have the conversation field value conv. */
int ttd_notes_with_conv(struct td *d, int64_t conv);
/* The first column of the first row of a desk query, -1 when none; fails the test on error. */
int64_t ttd_desk_int(struct td *d, const char *sql, const struct db_param *p, int n);
/* The same as text (the caller frees it), NULL when none or NULL. */
char *ttd_desk_str(struct td *d, const char *sql, const struct db_param *p, int n);
/* Runs a desk INSERT and returns the row's id; fails the test on error. */
int64_t ttd_desk_insert(struct td *d, const char *sql, const struct db_param *p, int n);
/* Every row of the tables the sync writes, as one number per table in text, to compare. */
char *ttd_desk_counts(struct td *d);
/* A desk reply (on desk ticket ticket, time t) with one file of the given bytes. */
int64_t ttd_desk_reply_with_file(struct td *d, int64_t ticket, int64_t t, const char *msg,
                                 const char *name, const char *bytes);
/* Starts the TOGA 2 fake, points [service.toga] and the uploads directory at it and a fresh
 * directory, reloads the config and makes the desk database. */
void ttd_start(struct td *d, struct tenv *t);
/* Stops the fake and closes the desk connection. */
void ttd_stop(struct td *d);
/* Runs Toga/Desk/Sync once in the foreground with params; returns the status and, when
 * result is not NULL, the parsed result (or the reason as {"reason"}). */
enum job_status ttd_run_sync(struct td *d, const char *params, cJSON **result);
/* The number o[group][name] (o[name] when group is NULL); NaN when absent. */
double ttd_num(const cJSON *o, const char *group, const char *name);
/* Runs the sync and fails the test unless it succeeded; the result (caller deletes). */
cJSON *ttd_sync_ok(struct td *d, const char *params);
/* Starts a worker and waits until every job is finished; fails unless all succeeded. */
void ttd_drain_jobs(struct td *d, pid_t *worker);
/* The fixture: entities, a three-level category, T1 with an external note (one file) and an
 * internal one, T2 linked to desk ticket D2 whose reply R1 has a file. */
void ttd_fx_seed(struct td *d, struct fx *f);

#endif
