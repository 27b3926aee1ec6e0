/* The ticket sync tests' common part (ttickets.h). */
#include "ttickets.h"
#include "caltime.h"
#include "thttp.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generates an n-ticket fixture, starts the fake on it (extra args NULL-terminated), points
 * [service.freshservice] and [db.tickets] at them, migrates and loads the company map. */
void
tk_start(struct tk *k, struct tenv *t, int n, const char *const *extra)
{
    memset(k, 0, sizeof(*k));
    k->t = t;
    k->fixture_path = xasprintf("%s/fixture.json", t->dir);
    char *cmd = xasprintf("python3 %s/tests/fakes/freshservice_fixture.py %d --seed 7 --out %s",
                          JOBFLEET_SOURCE_DIR, n, k->fixture_path);
    CHECK(system(cmd) == 0, "generate the fixture: %s", cmd);
    free(cmd);
    char *text = t_read_file(k->fixture_path);
    k->fixture = cJSON_Parse(text);
    free(text);
    CHECK(k->fixture, "the fixture parses");
    const char *args[16] = {"--fixture", k->fixture_path, "--api-key", "fs-key"};
    int na = 4;
    for (int i = 0; extra && extra[i] && na < 15; i++)
        args[na++] = extra[i];
    args[na] = NULL;
    tfake_start(t, &k->fake, "freshservice.py", args);
    setenv("JOBFLEET_SERVICE_FRESHSERVICE_BASE_URL", k->fake.base_url, 1);
    char *dbname = xasprintf("%s_tickets", t->db_name);
    struct cfg_mysql m = t->cfg.mysql;
    m.database = dbname;
    k->store = db_new(&m);
    CHECK(db_connect(k->store) == 0, "connect to the ticket store");
    free(dbname);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k->fixture, "companies"))
        CHECK(db_exec(k->store, "INSERT INTO companies (account_number, name) VALUES (?, ?)",
                      DB_P(DBS(cJSON_GetObjectItem(c, "account_number")->valuestring),
                           DBS(cJSON_GetObjectItem(c, "name")->valuestring)),
                      NULL, NULL) == 0,
              "load companies");
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k->fixture, "department_companies"))
        CHECK(db_exec(k->store,
                      "INSERT INTO department_companies (department_id, account_number) "
                      "VALUES (?, ?)",
                      DB_P(DBI(cJSON_GetObjectItem(c, "department_id")->valuedouble),
                           DBS(cJSON_GetObjectItem(c, "account_number")->valuestring)),
                      NULL, NULL) == 0,
              "load department_companies");
}

void
tk_stop(struct tk *k)
{
    tfake_stop(&k->fake);
    db_free(k->store);
    cJSON_Delete(k->fixture);
    free(k->fixture_path);
}

int64_t
tk_store_int(struct tk *k, const char *sql)
{
    struct db_rows *r = db_query(k->store, sql, DB_NOP);
    CHECK(r, "query the store: %s", db_errstr(k->store));
    int64_t v = db_rows_int(r, 0, 0, -1);
    db_rows_free(r);
    return v;
}

/* Runs a job to its end on the running worker; returns its result (caller frees). */
char *
tk_run(struct tk *k, const char *action, const char *params, const char *state)
{
    int64_t id = t_enqueue(k->t, action, params, NULL);
    WAIT_UNTIL(t_job_done(k->t, id), 120000, "%s %s finishes", action, params);
    char *st = t_job_state(k->t, id);
    char *reason = t_sql_str(k->t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, state) == 0, "%s ended %s, expected %s: %s", action, st, state,
          reason ? reason : "");
    free(st);
    char *res = t_sql_str(k->t,
                          state[0] == 's' ? "SELECT result FROM jobs WHERE id = ?"
                                          : "SELECT failure_reason FROM jobs WHERE id = ?",
                          DB_P(DBI(id)));
    free(reason);
    return res;
}

int64_t
tk_count(const char *result, const char *key)
{
    cJSON *r = cJSON_Parse(result ? result : "");
    const cJSON *v = cJSON_GetObjectItem(r, key);
    int64_t n = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    cJSON_Delete(r);
    return n;
}

/* An API time ("2026-01-02T03:04:05Z") as the store's DATETIME text. */
void
tk_dt(const cJSON *v, char *out, size_t len)
{
    int64_t ms;
    out[0] = '\0';
    if (cJSON_IsString(v) && caltime_parse(v->valuestring, &ms) == 0)
        caltime_format_dt(ms / 1000, out, len);
}

/* Compares one stored row with the fixture's expected row, field by field. */
static void
tk_check_row(struct tk *k, const cJSON *want)
{
    int64_t id = (int64_t)cJSON_GetObjectItem(want, "ticket_id")->valuedouble;
    struct db_rows *r = db_query(
        k->store,
        "SELECT company_account_number, ticket_number, subject, description, description_text, "
        "status, priority, requester_email, requester_name, created_at, last_updated_at, "
        "closed_at, total_hours_spent, conversations, notes FROM ticket_details "
        "WHERE ticket_id = ?",
        DB_P(DBI(id)));
    CHECK(r && r->n_rows == 1, "ticket %lld is stored", (long long)id);
    static const char *const text[] = {
        "company_account_number", "ticket_number", "subject",  "description",
        "description_text",       "status",        "priority", "requester_email",
        "requester_name"};
    for (int c = 0; c < 9; c++) {
        const cJSON *w = cJSON_GetObjectItem(want, text[c]);
        const char *got = db_rows_get(r, 0, c);
        const char *exp = cJSON_IsString(w) ? w->valuestring : NULL;
        CHECK((exp == NULL && got == NULL) || (exp && got && strcmp(exp, got) == 0),
              "ticket %lld %s: stored \"%s\", expected \"%s\"", (long long)id, text[c],
              got ? got : "(null)", exp ? exp : "(null)");
    }
    static const char *const times[] = {"created_at", "last_updated_at", "closed_at"};
    for (int c = 0; c < 3; c++) {
        char dt[32];
        tk_dt(cJSON_GetObjectItem(want, times[c]), dt, sizeof(dt));
        const char *got = db_rows_get(r, 0, 9 + c);
        CHECK(strcmp(dt, got ? got : "") == 0, "ticket %lld %s: stored %s, expected %s",
              (long long)id, times[c], got ? got : "(null)", dt);
    }
    double hours = atof(db_rows_get(r, 0, 12));
    double want_h = cJSON_GetObjectItem(want, "total_hours_spent")->valuedouble;
    CHECK(fabs(hours - want_h) < 0.005, "ticket %lld hours %.2f, expected %.2f", (long long)id,
          hours, want_h);
    static const char *const arrays[] = {"conversations", "notes"};
    for (int c = 0; c < 2; c++) {
        cJSON *got = cJSON_Parse(db_rows_get(r, 0, 13 + c));
        const cJSON *w = cJSON_GetObjectItem(want, arrays[c]);
        char *gs = cJSON_PrintUnformatted(got), *ws = cJSON_PrintUnformatted(w);
        CHECK(cJSON_Compare(got, w, 1), "ticket %lld %s:\nstored   %s\nexpected %s", (long long)id,
              arrays[c], gs, ws);
        free(gs);
        free(ws);
        cJSON_Delete(got);
    }
    db_rows_free(r);
}

/* Every expected row is stored as expected, and nothing else is. */
void
tk_check_store(struct tk *k)
{
    int expected = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        const cJSON *want = cJSON_GetObjectItem(t, "expected");
        if (want) {
            expected++;
            tk_check_row(k, want);
        }
    }
    CHECK(tk_store_int(k, "SELECT COUNT(*) FROM ticket_details") == expected,
          "the store holds exactly the %d closed, mapped tickets", expected);
}

/* GET /_control/fetched of the fake, parsed (caller deletes). */
cJSON *
tk_fetched(struct tk *k)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_control/fetched", k->fake.base_url);
    struct t_http_resp r;
    CHECK(t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200, "GET fetched");
    cJSON *j = cJSON_Parse(r.body);
    t_http_release(&r);
    return j;
}

/* The ids of the first n tickets that the fixture stores, in fixture order. */
int
tk_stored_ids(struct tk *k, int64_t *ids, int n)
{
    int m = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        if (m < n && cJSON_GetObjectItem(t, "expected"))
            ids[m++] = (int64_t)cJSON_GetObjectItem(t, "id")->valuedouble;
    }
    return m;
}

/* Reloads the fixture as the fake now serves it (touches applied, expected rows recomputed). */
void
tk_reload_fixture(struct tk *k)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_control/fixture", k->fake.base_url);
    struct t_http_resp r;
    CHECK(t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200, "GET fixture");
    cJSON_Delete(k->fixture);
    k->fixture = cJSON_Parse(r.body);
    CHECK(k->fixture, "the served fixture parses");
    t_http_release(&r);
}

/* The stored watermark as text ("(none)" when there is none); the caller frees. */
char *
tk_watermark(struct tk *k)
{
    struct db_rows *r = db_query(k->store, "SELECT watermark FROM sync_state WHERE name = ?",
                                 DB_P(DBS("freshservice_tickets")));
    char *s = xstrdup(r && r->n_rows ? db_rows_get(r, 0, 0) : "(none)");
    db_rows_free(r);
    return s;
}

/* Ticket id of the fixture as the list serves it, without the fixture's own members; fails
 * the test when there is none. The caller deletes it. */
cJSON *
tk_listed(struct tk *k, int64_t id)
{
    static const char *const own[] = {"conversations", "time_entries", "expected", "skip_reason"};
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        if ((int64_t)cJSON_GetObjectItem(c, "id")->valuedouble != id)
            continue;
        cJSON *t = cJSON_Duplicate(c, 1);
        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
            cJSON_DeleteItemFromObject(t, own[i]);
        return t;
    }
    CHECK(0, "ticket %lld is in the fixture", (long long)id);
    return NULL;
}
