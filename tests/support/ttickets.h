/* The Freshservice ticket sync's end-to-end tests' common part (tests/e2e/tickets*.c): the fake
 * (tests/fakes/freshservice.py) on a generated fixture whose tickets state the store row a
 * correct sync writes ("expected"), the [db.tickets] store, and checks of what it holds. */
#ifndef JOBFLEET_TTICKETS_H
#define JOBFLEET_TTICKETS_H

#include "tfake.h"
#include "tsupport.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* One test's fake, fixture and store. */
struct tk {
    struct tenv *t;
    struct tfake fake;
    cJSON *fixture;
    char *fixture_path;
    struct db *store; /* the [db.tickets] database */
};

/* A sync from before any fixture ticket (a full sync reaches only the past year). */
#define TK_SINCE_2000 "{\"since\":\"2000-01-01T00:00:00Z\"}"

#define TK_CONF                                                                                    \
    "[service.freshservice]\nbase_url = http://127.0.0.1:1\napi_key = fs-key\n"                    \
    "rate_per_minute = 6000\n"                                                                     \
    "[db.tickets]\ndatabase = {db}_tickets\n"

#define TK_CONF_60                                                                                 \
    "[service.freshservice]\nbase_url = http://127.0.0.1:1\napi_key = fs-key\n"                    \
    "rate_per_minute = 60\n"                                                                       \
    "[db.tickets]\ndatabase = {db}_tickets\n"
#define TK_CONF_WEBHOOK                                                                            \
    TK_CONF "[webhook.freshservice]\nauth = token\ntoken = wh-secret-0123456789\ntoken_header = "  \
            "X-Fs-Token\n"

/* Generates an n-ticket fixture, starts the fake on it (extra args NULL-terminated), points
 * [service.freshservice] and [db.tickets] at them, migrates and loads the company map. */
void tk_start(struct tk *k, struct tenv *t, int n, const char *const *extra);

/* Stops the fake and frees what tk_start made. */
void tk_stop(struct tk *k);

/* The first column of the first row of sql on the store (-1 for none); fails the test on
 * error. */
int64_t tk_store_int(struct tk *k, const char *sql);

/* Runs a job to its end on the running worker; returns its result (caller frees). */
char *tk_run(struct tk *k, const char *action, const char *params, const char *state);

/* The number result (a job's JSON result) has under key, -1 when it has none. */
int64_t tk_count(const char *result, const char *key);

/* An API time ("2026-01-02T03:04:05Z") as the store's DATETIME text. */
void tk_dt(const cJSON *v, char *out, size_t len);

/* Every expected row is stored as expected, and nothing else is. */
void tk_check_store(struct tk *k);

/* GET /_control/fetched of the fake, parsed (caller deletes). */
cJSON *tk_fetched(struct tk *k);

/* The ids of the first n tickets that the fixture stores, in fixture order. */
int tk_stored_ids(struct tk *k, int64_t *ids, int n);

/* Reloads the fixture as the fake now serves it (touches applied, expected rows recomputed). */
void tk_reload_fixture(struct tk *k);

/* The stored watermark as text ("(none)" when there is none); the caller frees. */
char *tk_watermark(struct tk *k);

/* Ticket id of the fixture as the list serves it, without the fixture's own members; fails
 * the test when there is none. The caller deletes it. */
cJSON *tk_listed(struct tk *k, int64_t id);

#endif
