/* End-to-end tests of the Freshservice ticket sync against the fake (tests/fakes/
 * freshservice.py) serving a generated fixture whose tickets state the store row a correct
 * sync writes ("expected"), with a real worker, MariaDB and Redis. */
#include "caltime.h"
#include "rq.h"
#include "tfake.h"
#include "tproducer.h"
#include "thttp.h"
#include "tsupport.h"
#include "ttickets.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* After a sync, 5 tickets change in Freshservice: the next (incremental) run fetches exactly
 * those 5, and stores what they now are. */
static void
test_incremental(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 120, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
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
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded");
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

/* A run told to start after the watermark ("since" an hour after it: the operator's catch-up
 * after the runs failed for a day) leaves the watermark alone. It moved it to its newest
 * ticket before, and the tickets between the two were never listed again. */
static void
test_since_after_watermark(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 30, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
    CHECK(db_exec(k.store, "UPDATE sync_state SET watermark = watermark - INTERVAL 1 DAY", DB_NOP,
                  NULL, NULL) == 0,
          "set the watermark back: %s", db_errstr(k.store));
    char *before = tk_watermark(&k);
    struct db_rows *r = db_query(k.store,
                                 "SELECT DATE_FORMAT(watermark + INTERVAL 1 HOUR, "
                                 "'{\"since\":\"%Y-%m-%dT%H:%i:%sZ\"}') FROM sync_state",
                                 DB_NOP);
    CHECK(r && r->n_rows == 1, "the since: %s", db_errstr(k.store));
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", db_rows_get(r, 0, 0), "succeeded");
    db_rows_free(r);
    char *after = tk_watermark(&k);
    CHECK(strcmp(before, after) == 0, "the watermark moved from %s to %s: %s", before, after, res);
    free(res);
    free(before);
    free(after);
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

/* The first stored ticket of the fixture whose requester is an agent (agent true) or not. */
static const cJSON *
tk_stored_by_requester(struct tk *k, bool agent)
{
    const cJSON *t, *a;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        if (cJSON_GetObjectItem(t, "expected") == NULL)
            continue;
        bool is_agent = false;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(k->fixture, "agents"))
        {
            is_agent |= cJSON_GetObjectItem(a, "id")->valuedouble ==
                        cJSON_GetObjectItem(t, "requester_id")->valuedouble;
        }
        if (is_agent == agent)
            return t;
    }
    return NULL;
}

/* SyncOne fetches the ticket with include=requester and stores the requester it was given, a
 * requester's or an agent's: it asks nothing more of /requesters or /agents. Before, it looked
 * the requester up again (a credit, and a 404 and one more for an agent). */
static void
test_sync_one_included_requester(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 60, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    for (int agent = 0; agent < 2; agent++) {
        const cJSON *tk = tk_stored_by_requester(&k, agent);
        CHECK(tk, "a stored ticket whose requester is %s", agent ? "an agent" : "a requester");
        int64_t id = (int64_t)cJSON_GetObjectItem(tk, "id")->valuedouble;
        char params[64], sql[160];
        snprintf(params, sizeof(params), "{\"ticket_id\":%lld}", (long long)id);
        free(tk_run(&k, "Tickets/Freshservice/SyncOne", params, "succeeded"));
        const cJSON *want = cJSON_GetObjectItem(tk, "expected");
        const char *cols[] = {"requester_email", "requester_name"};
        for (int c = 0; c < 2; c++) {
            snprintf(sql, sizeof(sql), "SELECT %s FROM ticket_details WHERE ticket_id = %lld",
                     cols[c], (long long)id);
            struct db_rows *r = db_query(k.store, sql, DB_NOP);
            const char *got = r && r->n_rows == 1 ? db_rows_get(r, 0, 0) : NULL;
            const char *exp = cJSON_GetStringValue(cJSON_GetObjectItem(want, cols[c]));
            CHECK(got && exp && strcmp(got, exp) == 0, "ticket %lld %s: \"%s\", expected \"%s\"",
                  (long long)id, cols[c], got ? got : "(none)", exp ? exp : "(none)");
            db_rows_free(r);
        }
    }
    cJSON *log = tfake_log(&k.fake);
    const cJSON *counts = cJSON_GetObjectItem(log, "endpoint_counts");
    int people = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, counts)
    {
        if (strstr(c->string, "/requesters/") || strstr(c->string, "/agents/"))
            people += c->valueint;
    }
    char *all = cJSON_PrintUnformatted(counts);
    fprintf(stderr, "FIGURES: two SyncOne runs made %s\n", all);
    CHECK(people == 0, "%d requests for the requesters already included: %s", people, all);
    free(all);
    cJSON_Delete(log);
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
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
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
    /* The server closed the API's idle connection to the tickets database (wait_timeout, a
     * restart): the next read was a 503 "Lost connection" where a retry would have answered. */
    char *tickets_db = xasprintf("%s_tickets", t->db_name);
    CHECK(t_kill_sessions(t, tickets_db) > 0, "the tickets database's sessions killed");
    free(tickets_db);
    sleep_ms(1100); /* idle past the check's threshold */
    CHECK(tprod_call(t, "GET", path, NULL, NULL, &body) == 200,
          "the read after the server closed the connection: %s", body);
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
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
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

/* Descriptors the worker's one child holds. */
static int
tk_child_fds(pid_t w)
{
    pid_t kid;
    CHECK(t_worker_children(w, &kid, 1) == 1, "one child");
    char *cmd = xasprintf("ls /proc/%d/fd | wc -l", (int)kid);
    FILE *p = popen(cmd, "r");
    int n = -1;
    CHECK(p && fscanf(p, "%d", &n) == 1, "count the fds");
    pclose(p);
    free(cmd);
    return n;
}

/* An export whose writes fail (a full disk: the test build's fault point) fails saying so, and
 * leaves neither a temporary file nor a descriptor: it left one open per failed document
 * before, in a child that runs job after job. */
static void
test_export_write_fails(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 20, NULL);
    pid_t w0 = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
    t_signal(t, w0, SIGTERM);
    t_wait_exit_ok(t, w0, 15000, "the worker");
    char account[80];
    tk_account_rows(&k, account, sizeof(account), 0);
    char *dir = xasprintf("%s/export", t->dir);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    char *params = xasprintf("{\"dir\":\"%s\",\"account\":\"%s\"}", dir, account);
    setenv("JOBFLEET_FAULT_POINT", "export.write", 1);
    setenv("JOBFLEET_FAULT_ACTION", "fail:1000", 1);
    setenv("JOBFLEET_WORKER_CONCURRENCY", "1", 1);
    pid_t w = t_start_worker(t, NULL);
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    unsetenv("JOBFLEET_WORKER_CONCURRENCY");
    /* The first run opens what the child keeps (its database connection). */
    int64_t id = t_enqueue(t, "Tickets/Export/Markdown", params,
                           (const char *const[]){"--max-attempts", "1", NULL});
    WAIT_UNTIL(t_job_done(t, id), 30000, "the first export");
    int before = tk_child_fds(w);
    for (int i = 0; i < 3; i++) {
        id = t_enqueue(t, "Tickets/Export/Markdown", params,
                       (const char *const[]){"--max-attempts", "1", NULL});
        WAIT_UNTIL(t_job_done(t, id), 30000, "export %d", i);
    }
    char *why = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(why && strstr(why, "No space left on device"), "the reason: %s", why ? why : "");
    free(why);
    int after = tk_child_fds(w);
    CHECK(after == before, "the child holds %d descriptors after three failed exports, %d before",
          after, before);
    char *cmd = xasprintf("test -z \"$(ls -A %s)\"", dir);
    CHECK(system(cmd) == 0, "no temporary file left");
    free(cmd);
    free(params);
    free(dir);
    tk_stop(&k);
}

static const struct test_case cases[] = {
    {"e2e_tickets_full_sync", test_full_sync, TK_CONF},
    {"e2e_tickets_incremental", test_incremental, TK_CONF},
    {"e2e_tickets_changed_while_listing", test_changed_while_listing, TK_CONF},
    {"e2e_tickets_dry_run", test_dry_run, TK_CONF},
    {"e2e_tickets_since_after_watermark", test_since_after_watermark, TK_CONF},
    {"e2e_tickets_webhook_burst", test_webhook_burst, TK_CONF_WEBHOOK},
    {"e2e_tickets_sync_one_included_requester", test_sync_one_included_requester, TK_CONF},
    {"e2e_tickets_read_api", test_read_api, TK_CONF},
    {"e2e_tickets_export_markdown", test_export_markdown, TK_CONF},
    {"e2e_tickets_export_write_fails", test_export_write_fails, TK_CONF},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
