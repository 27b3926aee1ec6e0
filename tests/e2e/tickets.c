/* End-to-end tests of the Freshservice ticket sync against the fake (tests/fakes/
 * freshservice.py) serving a generated fixture whose tickets state the store row a correct
 * sync writes ("expected"), with a real worker, MariaDB and Redis. */
#include "caltime.h"
#include "rq.h"
#include "tfake.h"
#include "tproducer.h"
#include "thttp.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct tk {
    struct tenv *t;
    struct tfake fake;
    cJSON *fixture;
    char *fixture_path;
    struct db *store; /* the [db.tickets] database */
};

/* Generates an n-ticket fixture, starts the fake on it (extra args NULL-terminated), points
 * [service.freshservice] and [db.tickets] at them, migrates and loads the company map. */
static void
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

static void
tk_stop(struct tk *k)
{
    tfake_stop(&k->fake);
    db_free(k->store);
    cJSON_Delete(k->fixture);
    free(k->fixture_path);
}

static int64_t
tk_store_int(struct tk *k, const char *sql)
{
    struct db_rows *r = db_query(k->store, sql, DB_NOP);
    CHECK(r, "query the store: %s", db_errstr(k->store));
    int64_t v = db_rows_int(r, 0, 0, -1);
    db_rows_free(r);
    return v;
}

/* Runs a job to its end on the running worker; returns its result (caller frees). */
static char *
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

static int64_t
tk_count(const char *result, const char *key)
{
    cJSON *r = cJSON_Parse(result ? result : "");
    const cJSON *v = cJSON_GetObjectItem(r, key);
    int64_t n = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
    cJSON_Delete(r);
    return n;
}

/* An API time ("2026-01-02T03:04:05Z") as the store's DATETIME text. */
static void
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
static void
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

static void
test_full_sync(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 300, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    /* The fixture spreads tickets over 13 months: "since" reaches all of them ("full" is the
     * past year only). */
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", "{\"since\":\"2000-01-01T00:00:00Z\"}",
                       "succeeded");
    fprintf(stderr, "first run: %s\n", res);
    tk_check_store(&k);
    CHECK(tk_count(res, "skipped_unmapped") > 0, "the unmapped department is skipped: %s", res);
    CHECK(tk_count(res, "failed") == 0, "nothing failed: %s", res);
    free(res);
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    fprintf(stderr, "second run: %s\n", res);
    CHECK(tk_count(res, "upserted") == 0 && tk_count(res, "fetched") == 0,
          "a second run changes and fetches nothing: %s", res);
    free(res);
    tk_stop(&k);
}

/* GET /_control/fetched of the fake, parsed (caller deletes). */
static cJSON *
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
static int
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
static void
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

static const char *const since_2000 = "{\"since\":\"2000-01-01T00:00:00Z\"}";

/* After a sync, 5 tickets change in Freshservice: the next (incremental) run fetches exactly
 * those 5, and stores what they now are. */
static void
test_incremental(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 120, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", since_2000, "succeeded"));
    int64_t ids[5];
    CHECK(tk_stored_ids(&k, ids, 5) == 5, "five stored tickets");
    char body[256];
    snprintf(body, sizeof(body),
             "{\"ids\":[%lld,%lld,%lld,%lld,%lld],\"fields\":{\"subject\":\"changed\"}}",
             (long long)ids[0], (long long)ids[1], (long long)ids[2], (long long)ids[3],
             (long long)ids[4]);
    tfake_control(&k.fake, "touch", body);
    tfake_control(&k.fake, "reset", "{}");
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    cJSON *f = tk_fetched(&k);
    const cJSON *convs = cJSON_GetObjectItem(f, "conversations");
    char *fs = cJSON_PrintUnformatted(convs);
    CHECK(cJSON_GetArraySize(convs) == 5, "exactly 5 tickets re-fetched: %s (%s)", fs, res);
    for (int i = 0; i < 5; i++) {
        bool seen = false;
        const cJSON *v;
        cJSON_ArrayForEach(v, convs) seen |= (int64_t)v->valuedouble == ids[i];
        CHECK(seen, "ticket %lld re-fetched: %s", (long long)ids[i], fs);
    }
    CHECK(tk_count(res, "upserted") == 5, "5 rows changed: %s", res);
    free(fs);
    free(res);
    cJSON_Delete(f);
    tk_reload_fixture(&k);
    tk_check_store(&k);
    tk_stop(&k);
}

static int
tk_by_updated(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(cJSON_GetObjectItem(x, "updated_at")->valuestring,
                   cJSON_GetObjectItem(y, "updated_at")->valuestring);
    if (c)
        return c;
    double i = cJSON_GetObjectItem(x, "id")->valuedouble,
           j = cJSON_GetObjectItem(y, "id")->valuedouble;
    return (i > j) - (i < j);
}

/* Ten tickets of the sync's first page change as it asks for the second (the fake's
 * touch_on_list): in updated_at order they move to the last page and the ten after them
 * slide back onto the first page, already read. The run stores what it saw and keeps its
 * watermark before the ten; the next run stores the ten it missed. Before, the watermark went
 * past them and they were never stored (until they changed again). */
static void
test_changed_while_listing(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 300, NULL);
    int n = 0;
    const cJSON *c;
    const cJSON **order = xcalloc(400, sizeof(*order));
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k.fixture, "tickets"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItem(c, "spam")) &&
            !cJSON_IsTrue(cJSON_GetObjectItem(c, "deleted")) && n < 400)
            order[n++] = c;
    }
    qsort(order, (size_t)n, sizeof(*order), tk_by_updated);
    CHECK(n > 210, "%d listed tickets: three pages", n);
    int slid_stored = 0;
    struct buf body;
    buf_init(&body, 0);
    buf_appends(&body, "{\"page\":2,\"ids\":[");
    for (int i = 0; i < 10; i++) {
        buf_printf(&body, "%s%.0f", i ? "," : "", cJSON_GetObjectItem(order[i], "id")->valuedouble);
        slid_stored += cJSON_GetObjectItem(order[100 + i], "expected") != NULL;
    }
    buf_appends(&body, "]}");
    CHECK(slid_stored > 0, "a stored ticket among the ten that slide back");
    tfake_control(&k.fake, "touch_on_list", body.data);
    buf_release(&body);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", since_2000, "succeeded");
    fprintf(stderr, "first run: %s\n", res);
    char first_seen[32];
    tk_dt(cJSON_GetObjectItem(order[0], "updated_at"), first_seen, sizeof(first_seen));
    struct db_rows *r = db_query(k.store, "SELECT watermark FROM sync_state WHERE name = ?",
                                 DB_P(DBS("freshservice_tickets")));
    CHECK(r && r->n_rows == 1 && strcmp(db_rows_get(r, 0, 0), first_seen) <= 0,
          "the watermark stays at or before where the changed tickets were (%s): %s", first_seen,
          r && r->n_rows ? db_rows_get(r, 0, 0) : "(none)");
    db_rows_free(r);
    free(res);
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    fprintf(stderr, "second run: %s\n", res);
    CHECK(tk_count(res, "upserted") >= slid_stored, "the next run stores the %d it missed: %s",
          slid_stored, res);
    free(res);
    tk_reload_fixture(&k);
    tk_check_store(&k);
    free(order);
    tk_stop(&k);
}

/* A 5xx (or a 403: the key may not read that ticket) on one ticket's conversations fails that
 * ticket only; the watermark stays before it, so the next run stores it. */
static void
tk_one_ticket_fails(struct tenv *t, int status)
{
    struct tk k;
    tk_start(&k, t, 60, NULL);
    int64_t id;
    CHECK(tk_stored_ids(&k, &id, 1) == 1, "a stored ticket");
    char fault[256];
    snprintf(fault, sizeof(fault),
             "{\"path\":\"/api/v2/tickets/%lld/conversations\",\"status\":%d,\"count\":50}",
             (long long)id, status);
    tfake_control(&k.fake, "faults", fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", since_2000, "succeeded");
    CHECK(tk_count(res, "failed") == 1 && tk_count(res, "upserted") > 10,
          "one ticket failed, the others stored: %s", res);
    free(res);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM ticket_details WHERE ticket_id = %lld",
             (long long)id);
    CHECK(tk_store_int(&k, sql) == 0, "the failed ticket is not stored");
    tfake_control(&k.fake, "reset", "{}");
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    CHECK(tk_count(res, "failed") == 0, "the next run: %s", res);
    free(res);
    tk_check_store(&k);
    tk_stop(&k);
}

static void
test_one_ticket_fails(struct tenv *t)
{
    tk_one_ticket_fails(t, 500);
}

/* Before, a 403 was taken for refused credentials: the whole run failed for good. */
static void
test_one_ticket_forbidden(struct tenv *t)
{
    tk_one_ticket_fails(t, 403);
}

/* A wrong API key is a permanent failure with a reason that says so. */
static void
test_wrong_key(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 10, NULL);
    setenv("JOBFLEET_SERVICE_FRESHSERVICE_API_KEY", "not-the-key", 1);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *reason = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "failed");
    CHECK(reason && strstr(reason, "refused the credentials") && strstr(reason, "401"),
          "clear reason: %s", reason);
    free(reason);
    CHECK(t_sql_int(t, 0, "SELECT MAX(attempt) FROM jobs", DB_NOP) == 1, "permanent: not retried");
    tk_stop(&k);
}

/* The ticket list answering 503 on every try: the job is retried later (not failed), with the
 * reason, and nothing is stored. */
static void
test_api_down_retries(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 10, NULL);
    tfake_control(&k.fake, "faults",
                  "{\"path\":\"/api/v2/tickets\",\"status\":503,\"count\":1000}");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Tickets/Freshservice/Sync", "{}", NULL);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id))) == 1,
        60000, "the first attempt ends");
    char *st = t_job_state(t, id);
    char *reason = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, "pending") == 0 && reason && strstr(reason, "503"), "retried later: %s, %s",
          st, reason ? reason : "");
    free(st);
    free(reason);
    CHECK(tk_store_int(&k, "SELECT COUNT(*) FROM ticket_details") == 0, "nothing stored");
    tk_stop(&k);
}

/* A dry run reads and plans, and writes neither rows nor the watermark. */
static void
test_dry_run(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 30, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *res = tk_run(&k, "Tickets/Freshservice/Sync",
                       "{\"since\":\"2000-01-01T00:00:00Z\",\"dry_run\":true}", "succeeded");
    CHECK(strstr(res, "\"dry_run\":true") && strstr(res, "upsert_ticket"), "the plan: %s", res);
    CHECK(tk_count(res, "fetched") > 0, "it read: %s", res);
    free(res);
    CHECK(tk_store_int(&k, "SELECT COUNT(*) FROM ticket_details") == 0, "no row written");
    CHECK(tk_store_int(&k, "SELECT COUNT(*) FROM sync_state") == 0, "no watermark written");
    tk_stop(&k);
}

/* The fake allows 60 requests a minute and the service is configured so: two workers syncing
 * at once share the budget, finish, stay within 5 % of it in any minute, and wait out a
 * Retry-After. */
static void
test_rate_limit_two_workers(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 10, (const char *const[]){"--rate-per-minute", "60", NULL});
    /* One explicit 429 with Retry-After: 3, whoever gets it. */
    tfake_control(&k.fake, "faults",
                  "{\"path\":\"/api/v2/tickets/\",\"status\":429,\"retry_after\":3}");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t a = t_enqueue(t, "Tickets/Freshservice/Sync", since_2000, NULL);
    int64_t b = t_enqueue(t, "Tickets/Freshservice/Sync", since_2000, NULL);
    WAIT_UNTIL(t_job_done(t, a) && t_job_done(t, b), 150000, "both syncs finish");
    CHECK(t_job_in_state(t, a, "succeeded") && t_job_in_state(t, b, "succeeded"), "both succeed");
    double *arr = NULL;
    int n = tfake_arrivals(&k.fake, "/api/v2", &arr);
    int peak = tfake_max_in_window(arr, n, 60000.0);
    cJSON *log = tfake_log(&k.fake);
    int n429 = 0;
    double after429 = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const cJSON *st = cJSON_GetObjectItem(e, "status");
        double tm = cJSON_GetObjectItem(e, "t_mono")->valuedouble * 1000.0;
        if (cJSON_IsNumber(st) && st->valuedouble == 429) {
            n429++;
            after429 = tm;
        } else if (after429 >= 0 && n429 == 1) {
            CHECK(tm - after429 >= 3000 - 20, "a request %.0f ms after the 429's Retry-After: 3",
                  tm - after429);
            after429 = -1;
        }
    }
    fprintf(stderr, "FIGURES: %d requests, at most %d in any 60 s (budget 60), %d 429s\n", n, peak,
            n429);
    CHECK(peak <= 63, "%d requests in one minute against a budget of 60", peak);
    CHECK(n429 == 1, "only the injected 429: the budget kept the rest off (%d)", n429);
    cJSON_Delete(log);
    free(arr);
    tk_stop(&k);
}

/* A 429 with Retry-After: 3600 (an old account's hourly limit), past retry_after_max_ms: the
 * run stops at once, keeps what it stored, pauses the fleet's requests to the service for the
 * hour and retries after it. Before, the pause was not set, the job went on sending a batch
 * after the 429 (each failure spending the budget again), and ended succeeded with failed=1
 * and its retry left to the next schedule. */
static void
test_long_retry_after(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 300, NULL);
    tfake_control(&k.fake, "faults",
                  "{\"path\":\"/api/v2/tickets/\",\"status\":429,\"retry_after\":3600,"
                  "\"count\":1}");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(k.t, "Tickets/Freshservice/Sync", since_2000, NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "pending") || t_job_done(t, id), 60000, "the run ends");
    char *st = t_job_state(t, id);
    char *why = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, "pending") == 0 && why && strstr(why, "asked to wait 3600 s"),
          "the job waits to run again: %s %s", st, why ? why : "");
    CHECK(t_sql_int(t, -1, "SELECT TIMESTAMPDIFF(SECOND, NOW(6), run_at) FROM jobs WHERE id = ?",
                    DB_P(DBI(id))) >= 3500,
          "it runs again after the Retry-After");
    char *key = xasprintf("%s:s:freshservice:until", t->prefix);
    const char *argv[] = {"PTTL", key};
    int64_t pttl = rq_command(t->rq, 2, argv);
    CHECK(pttl > 3500 * 1000, "the fleet's requests to Freshservice are paused: PTTL %lld",
          (long long)pttl);
    free(key);
    cJSON *log = tfake_log(&k.fake);
    int after = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const cJSON *code = cJSON_GetObjectItem(e, "status");
        if (after >= 0)
            after++;
        else if (cJSON_IsNumber(code) && code->valuedouble == 429)
            after = 0;
    }
    CHECK(after >= 0 && after < 16, "%d requests after the 429 (at most those in flight)", after);
    cJSON_Delete(log);
    free(st);
    free(why);
    tk_stop(&k);
}

/* 20 webhooks for one ticket within a second make one SyncOne job, which stores the ticket. */
static void
test_webhook_burst(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 20, NULL);
    int64_t id;
    CHECK(tk_stored_ids(&k, &id, 1) == 1, "a stored ticket");
    tprod_start(t);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    /* SyncOne waits out the burst as a pending job: the scheduler queues it. */
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    char body[128];
    for (int i = 0; i < 20; i++) {
        /* The automator sends the id as a number or a string, plain or wrapped. */
        snprintf(body, sizeof(body),
                 i % 2 ? "{\"ticket_id\":\"%lld\"}"
                       : "{\"freshservice_webhook\":{\"ticket_id\":%lld}}",
                 (long long)id);
        long st = tprod_call(t, "POST", "/webhook/freshservice/ticket", body,
                             "X-Fs-Token: wh-secret-0123456789", NULL);
        CHECK(st == 202, "webhook %d answered %ld", i, st);
    }
    CHECK(tprod_call(t, "POST", "/webhook/freshservice/ticket", body, "X-Fs-Token: nope", NULL) ==
              401,
          "a wrong token is refused");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Freshservice/Ticket/Webhook' "
                         "AND state = 'succeeded'",
                         DB_NOP) == 20,
               30000, "the 20 webhook jobs run");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE action = 'Tickets/Freshservice/SyncOne'",
                    DB_NOP) == 1,
          "one SyncOne job for the burst");
    int64_t one = t_sql_int(
        t, 0, "SELECT id FROM jobs WHERE action = 'Tickets/Freshservice/SyncOne'", DB_NOP);
    WAIT_UNTIL(t_job_done(t, one), 30000, "SyncOne runs");
    CHECK(t_job_in_state(t, one, "succeeded"), "SyncOne succeeded");
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM ticket_details WHERE ticket_id = %lld",
             (long long)id);
    CHECK(tk_store_int(&k, sql) == 1, "SyncOne stored the ticket");
    char *first = t_sql_str(t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(one)));
    CHECK(first && strstr(first, "\"changed\":true"), "the first SyncOne changed it: %s", first);
    free(first);
    /* Again, with nothing changed upstream: the row is the same, and says so. */
    char params[64];
    snprintf(params, sizeof(params), "{\"ticket_id\":%lld}", (long long)id);
    char *again = tk_run(&k, "Tickets/Freshservice/SyncOne", params, "succeeded");
    CHECK(strstr(again, "\"changed\":false"), "a second SyncOne changes nothing: %s", again);
    free(again);
    tk_stop(&k);
}

/* The account of the first stored ticket, and how many stored tickets it has (in year when
 * year > 0). */
static int
tk_account_rows(struct tk *k, char *account, size_t len, int year)
{
    int n = 0;
    if (year == 0)
        account[0] = '\0';
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        const cJSON *w = cJSON_GetObjectItem(t, "expected");
        if (w == NULL)
            continue;
        const char *a = cJSON_GetObjectItem(w, "company_account_number")->valuestring;
        if (account[0] == '\0')
            snprintf(account, len, "%s", a);
        int y = atoi(cJSON_GetObjectItem(w, "created_at")->valuestring);
        n += strcmp(a, account) == 0 && (year == 0 || y == year);
    }
    return n;
}

/* GET /api/companies/{account}/tickets returns the company's tickets with their conversations
 * and notes as arrays; ?year= filters by creation year; the token is required; bad input is
 * refused with the field named. */
static void
test_read_api(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 80, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    tprod_start(t);
    free(tk_run(&k, "Tickets/Freshservice/Sync", since_2000, "succeeded"));
    char account[80], path[160];
    int all = tk_account_rows(&k, account, sizeof(account), 0);
    snprintf(path, sizeof(path), "/api/companies/%s/tickets", account);
    char *body = NULL;
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &body) == 200, "read API: %s", body);
    cJSON *j = cJSON_Parse(body);
    const cJSON *tickets = cJSON_GetObjectItem(j, "tickets");
    CHECK(cJSON_GetArraySize(tickets) == all, "%d tickets of %s, expected %d",
          cJSON_GetArraySize(tickets), account, all);
    const cJSON *first = cJSON_GetArrayItem(tickets, 0);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(first, "conversations")) &&
              cJSON_IsArray(cJSON_GetObjectItem(first, "notes")) &&
              cJSON_IsString(cJSON_GetObjectItem(first, "ticket_number")),
          "a ticket with its conversations and notes as arrays");
    int year = atoi(cJSON_GetObjectItem(first, "created_at")->valuestring);
    cJSON_Delete(j);
    free(body);
    snprintf(path, sizeof(path), "/api/companies/%s/tickets?year=%d", account, year);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &body) == 200, "read API by year");
    j = cJSON_Parse(body);
    int want = tk_account_rows(&k, account, sizeof(account), year);
    int got = cJSON_GetArraySize(cJSON_GetObjectItem(j, "tickets"));
    CHECK(got == want && want <= all, "?year=%d: %d tickets, expected %d (of %d)", year, got, want,
          all);
    cJSON_Delete(j);
    free(body);
    tprod_check_401(t, "GET", path, NULL);
    snprintf(path, sizeof(path), "/api/companies/%s/tickets?year=20x6", account);
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &body) == 400 && strstr(body, "\"year\""),
          "a bad year: %s", body);
    free(body);
    CHECK(tprod_call(t, "GET", "/api/companies/a%2Fb/tickets", NULL, NULL, NULL) == 404,
          "a bad account");
    CHECK(tprod_call(t, "GET", "/api/companies/nobody/tickets", NULL, NULL, &body) == 200 &&
              strstr(body, "\"count\":0"),
          "an unknown account has no tickets: %s", body);
    free(body);
    tk_stop(&k);
}

/* Tickets/Export/Markdown writes one document per stored ticket of the company, with safe
 * names, and writes nothing in a dry run. */
static void
test_export_markdown(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 40, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", since_2000, "succeeded"));
    char account[80];
    int n = tk_account_rows(&k, account, sizeof(account), 0);
    char *dir = xasprintf("%s/export", t->dir);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    char *params = xasprintf("{\"dir\":\"%s\",\"account\":\"%s\",\"dry_run\":true}", dir, account);
    char *res = tk_run(&k, "Tickets/Export/Markdown", params, "succeeded");
    CHECK(strstr(res, ".md"), "the dry run plans the files: %s", res);
    free(res);
    char *cmd = xasprintf("test -z \"$(ls -A %s)\"", dir);
    CHECK(system(cmd) == 0, "a dry run writes no file");
    free(cmd);
    free(params);
    params = xasprintf("{\"dir\":\"%s\",\"account\":\"%s\"}", dir, account);
    res = tk_run(&k, "Tickets/Export/Markdown", params, "succeeded");
    CHECK(tk_count(res, "documents") == n, "%d documents: %s", n, res);
    free(res);
    cmd =
        xasprintf("test $(ls %s/*.md | wc -l) -eq %d && ! ls -A %s | grep -q '^\\.'", dir, n, dir);
    CHECK(system(cmd) == 0, "%d .md files and no temporary file left", n);
    free(cmd);
    cmd = xasprintf("test $(grep -l '^# \\(INC\\|SR\\)-' %s/*.md | wc -l) -eq %d && "
                    "grep -q '^## Conversation' %s/*.md && grep -q '^- Hours: ' %s/*.md",
                    dir, n, dir, dir);
    CHECK(system(cmd) == 0, "each document has its header and sections");
    free(cmd);
    free(params);
    params = xasprintf("{\"dir\":\"relative\",\"account\":\"%s\"}", account);
    res = tk_run(&k, "Tickets/Export/Markdown", params, "failed");
    CHECK(strstr(res, "\"dir\" must be an existing directory"), "a bad dir: %s", res);
    free(res);
    free(params);
    free(dir);
    tk_stop(&k);
}

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

static const struct test_case cases[] = {
    {"e2e_tickets_full_sync", test_full_sync, TK_CONF},
    {"e2e_tickets_incremental", test_incremental, TK_CONF},
    {"e2e_tickets_changed_while_listing", test_changed_while_listing, TK_CONF},
    {"e2e_tickets_one_ticket_fails", test_one_ticket_fails, TK_CONF},
    {"e2e_tickets_one_ticket_forbidden", test_one_ticket_forbidden, TK_CONF},
    {"e2e_tickets_wrong_key", test_wrong_key, TK_CONF},
    {"e2e_tickets_api_down_retries", test_api_down_retries, TK_CONF},
    {"e2e_tickets_dry_run", test_dry_run, TK_CONF},
    {"e2e_tickets_rate_limit_two_workers", test_rate_limit_two_workers, TK_CONF_60},
    {"e2e_tickets_long_retry_after", test_long_retry_after, TK_CONF},
    {"e2e_tickets_webhook_burst", test_webhook_burst, TK_CONF_WEBHOOK},
    {"e2e_tickets_read_api", test_read_api, TK_CONF},
    {"e2e_tickets_export_markdown", test_export_markdown, TK_CONF},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
