/* End-to-end tests of the Freshservice ticket sync when the service misbehaves: a failing or
 * forbidden ticket, a wrong key, the API down, its rate limit shared by two workers or spent
 * by includes, a Retry-After of an hour on a 429 or a 503, an answer that is not the ticket
 * asked for, and a ticket without a time. */
#include "rq.h"
#include "tfake.h"
#include "tmyproxy.h"
#include "tsupport.h"
#include "ttickets.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded");
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
    int64_t a = t_enqueue(t, "Tickets/Freshservice/Sync", TK_SINCE_2000, NULL);
    int64_t b = t_enqueue(t, "Tickets/Freshservice/Sync", TK_SINCE_2000, NULL);
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

/* What the fake charged for an API request it logged: 1 credit plus 1 per include value, as
 * Freshservice does; a 429 it charged nothing. */
static int
tk_credits(const cJSON *e)
{
    const cJSON *st = cJSON_GetObjectItem(e, "status");
    if (cJSON_IsNumber(st) && st->valuedouble == 429)
        return 0;
    int n = 1;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(cJSON_GetObjectItem(e, "query"), "include"))
    {
        bool in_value = false;
        for (const char *p = cJSON_GetStringValue(v); p && *p; p++) {
            n += !in_value && *p != ',';
            in_value = *p != ',';
        }
    }
    return n;
}

struct tk_spend {
    int requests, n429, peak; /* peak: the most credits charged in any 60 s */
    double span_ms, first_429_ms;
};

/* The fake's API requests so far: how many, over how long, their 429s and the credits charged
 * in the busiest minute. */
static void
tk_spend(struct tk *k, struct tk_spend *s)
{
    memset(s, 0, sizeof(*s));
    s->first_429_ms = -1;
    cJSON *log = tfake_log(&k->fake);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(log, "requests"));
    double *at = xcalloc((size_t)n + 1, sizeof(double));
    int *credits = xcalloc((size_t)n + 1, sizeof(int));
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        if (path == NULL || strncmp(path, "/api/v2/", 8) != 0)
            continue;
        at[s->requests] = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "t_mono")) * 1000.0;
        credits[s->requests] = tk_credits(e);
        if (credits[s->requests] == 0 && s->n429++ == 0)
            s->first_429_ms = at[s->requests] - at[0];
        s->requests++;
    }
    /* The log is in arrival order (the fake charges in that order too). */
    for (int i = 0, j = 0, sum = 0; i < s->requests; i++) {
        sum += credits[i];
        while (at[i] - at[j] >= 60000.0)
            sum -= credits[j++];
        s->peak = sum > s->peak ? sum : s->peak;
    }
    s->span_ms = s->requests ? at[s->requests - 1] - at[0] : 0;
    free(at);
    free(credits);
    cJSON_Delete(log);
}

/* The fake charges as Freshservice does (1 credit a request, 1 more per include value, in a
 * sliding minute) and allows 60 a minute, and the service is configured so. A sync of 1000
 * tickets (ten list pages with include=stats,requester, then two requests a ticket) runs past
 * a minute without a 429, and no minute holds more than 60 credits. Before, the budget took
 * one credit a request: the list pages alone spent 30 credits in their first 10 s and the
 * first 429 came after about 40 s. */
static void
test_budget_counts_includes(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 1000, (const char *const[]){"--rate-per-minute", "60", NULL});
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_enqueue(t, "Tickets/Freshservice/Sync", TK_SINCE_2000, NULL);
    struct tk_spend s;
    int64_t deadline = now_mono_ms() + 150000;
    /* The log is fetched every half second: it grows by about one request a second. */
    for (tk_spend(&k, &s); s.n429 == 0 && s.span_ms < 65000; tk_spend(&k, &s)) {
        CHECK(now_mono_ms() < deadline, "the sync's requests span %.0f ms after 150 s", s.span_ms);
        sleep_ms(500);
    }
    fprintf(stderr,
            "FIGURES: %d requests in %.0f ms, at most %d credits in any 60 s (budget 60), "
            "%d 429s (the first after %.0f ms)\n",
            s.requests, s.span_ms, s.peak, s.n429, s.first_429_ms);
    CHECK(s.n429 == 0, "%d 429s, the first %.0f ms after the first request", s.n429,
          s.first_429_ms);
    CHECK(s.peak <= 60, "%d credits in one minute against a budget of 60", s.peak);
    tk_stop(&k);
}

/* The number of the fake's requests after the first answer of status; -1 when none. */
static int
tk_requests_after(struct tk *k, int status)
{
    cJSON *log = tfake_log(&k->fake);
    int after = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const cJSON *code = cJSON_GetObjectItem(e, "status");
        if (after >= 0)
            after++;
        else if (cJSON_IsNumber(code) && code->valuedouble == status)
            after = 0;
    }
    cJSON_Delete(log);
    return after;
}

/* The first request under path (the list, or a ticket's) answers status with Retry-After:
 * 3600, past retry_after_max_ms: the run stops at once, keeps what it stored, pauses the
 * fleet's requests to the service for the hour and retries after it. */
static void
tk_long_retry_after(struct tenv *t, int status, const char *path)
{
    struct tk k;
    tk_start(&k, t, 300, NULL);
    char fault[160];
    snprintf(fault, sizeof(fault),
             "{\"path\":\"%s\",\"status\":%d,\"retry_after\":3600,\"count\":1}", path, status);
    tfake_control(&k.fake, "faults", fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(k.t, "Tickets/Freshservice/Sync", TK_SINCE_2000, NULL);
    WAIT_UNTIL(t_job_in_state(t, id, "pending") || t_job_done(t, id), 60000, "the run ends");
    char *st = t_job_state(t, id);
    char *why = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    int64_t again =
        t_sql_int(t, -1, "SELECT TIMESTAMPDIFF(SECOND, NOW(6), run_at) FROM jobs WHERE id = ?",
                  DB_P(DBI(id)));
    char *key = xasprintf("%s:s:freshservice:until", t->prefix);
    const char *argv[] = {"PTTL", key};
    int64_t pttl = rq_command(t->rq, 2, argv);
    free(key);
    int after = tk_requests_after(&k, status);
    fprintf(stderr,
            "FIGURES: HTTP %d with Retry-After 3600 on %s: job %s (%s), runs again in %lld s; "
            "fleet pause PTTL %lld ms; %d requests after it\n",
            status, path, st, why ? why : "", (long long)again, (long long)pttl, after);
    CHECK(strcmp(st, "pending") == 0 && why && strstr(why, "asked to wait 360"),
          "the job waits to run again: %s %s", st, why ? why : "");
    CHECK(again >= 3500, "it runs again after the Retry-After, not in %lld s", (long long)again);
    CHECK(pttl > 3500 * 1000, "the fleet's requests to Freshservice are paused: PTTL %lld",
          (long long)pttl);
    CHECK(after >= 0 && after < 16, "%d requests after the %d (at most those in flight)", after,
          status);
    free(st);
    free(why);
    tk_stop(&k);
}

/* A 429 (an old account's hourly limit). Before, the pause was not set, the job went on
 * sending a batch after the 429 (each failure spending the budget again), and ended succeeded
 * with failed=1 and its retry left to the next schedule. */
static void
test_long_retry_after(struct tenv *t)
{
    tk_long_retry_after(t, 429, "/api/v2/tickets/");
}

/* A 503 (maintenance) says when to come back just as a 429 does, on a ticket's request or on
 * the list. Before, its Retry-After was used only for the client's own retries: no fleet-wide
 * pause, and the run went on ticket by ticket (ending succeeded with failed=1), or, on the
 * list, the job came back after its own backoff (about 30 s), not after the hour. */
static void
test_503_retry_after(struct tenv *t)
{
    tk_long_retry_after(t, 503, "/api/v2/tickets/");
}

static void
test_503_retry_after_list(struct tenv *t)
{
    tk_long_retry_after(t, 503, "/api/v2/tickets");
}

/* SyncOne of a ticket whose answer has no id (or another ticket's): the job fails and says
 * so, nothing is stored. Before, a missing id crashed the child (a NULL dereference). */
static void
test_sync_one_wrong_answer(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 20, NULL);
    int64_t id;
    CHECK(tk_stored_ids(&k, &id, 1) == 1, "a stored ticket");
    double dept = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k.fixture, "tickets"))
    {
        if ((int64_t)cJSON_GetObjectItem(c, "id")->valuedouble == id)
            dept = cJSON_GetObjectItem(c, "department_id")->valuedouble;
    }
    /* Closed, of a mapped department: everything but the id says "store me". */
    char fault[320], params[64];
    snprintf(fault, sizeof(fault),
             "{\"path\":\"/api/v2/tickets/%lld\",\"status\":200,\"count\":1,"
             "\"body\":{\"ticket\":{\"subject\":\"no id\",\"status\":5,"
             "\"department_id\":%.0f}}}",
             (long long)id, dept);
    tfake_control(&k.fake, "faults", fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    snprintf(params, sizeof(params), "{\"ticket_id\":%lld}", (long long)id);
    char *res = tk_run(&k, "Tickets/Freshservice/SyncOne", params, "failed");
    CHECK(strstr(res, "answered a ticket whose id is missing"), "the reason: %s", res);
    free(res);
    /* An id past what a JSON number holds is another id, not a conversion that overflows. */
    snprintf(fault, sizeof(fault),
             "{\"path\":\"/api/v2/tickets/%lld\",\"status\":200,\"count\":1,"
             "\"body\":{\"ticket\":{\"id\":1e300,\"status\":5,\"department_id\":%.0f}}}",
             (long long)id, dept);
    tfake_control(&k.fake, "faults", fault);
    res = tk_run(&k, "Tickets/Freshservice/SyncOne", params, "failed");
    CHECK(strstr(res, "answered a ticket whose id is another"), "the reason: %s", res);
    free(res);
    /* A ticket without a department (or with one of 1e300) is not mapped; it was a conversion
     * of NaN (or of 1e300) before. */
    const char *depts[] = {"", ",\"department_id\":1e300"};
    for (int i = 0; i < 2; i++) {
        snprintf(fault, sizeof(fault),
                 "{\"path\":\"/api/v2/tickets/%lld\",\"status\":200,\"count\":1,"
                 "\"body\":{\"ticket\":{\"id\":%lld,\"status\":5%s}}}",
                 (long long)id, (long long)id, depts[i]);
        tfake_control(&k.fake, "faults", fault);
        res = tk_run(&k, "Tickets/Freshservice/SyncOne", params, "succeeded");
        CHECK(strstr(res, "department not mapped"), "the result: %s", res);
        free(res);
    }
    CHECK(tk_store_int(&k, "SELECT COUNT(*) FROM ticket_details") == 0, "nothing stored");
    tk_stop(&k);
}

/* Serves the ticket list once as {"tickets": tickets} (taken), whatever the query. */
static void
tk_list_once(struct tk *k, cJSON *tickets)
{
    cJSON *fault = cJSON_CreateObject(), *body = cJSON_CreateObject();
    cJSON_AddStringToObject(fault, "path", "/api/v2/tickets");
    cJSON_AddNumberToObject(fault, "status", 200);
    cJSON_AddNumberToObject(fault, "count", 1);
    cJSON_AddItemToObject(body, "tickets", tickets);
    cJSON_AddItemToObject(fault, "body", body);
    char *text = cJSON_PrintUnformatted(fault);
    tfake_control(&k->fake, "faults", text);
    free(text);
    cJSON_Delete(fault);
}

/* A stored, closed, mapped ticket listed with "updated_at": null fails (counted, logged) and
 * leaves the watermark as it was. Before, the run stored the row and the watermark
 * 1969-12-31 23:59:59, and from then on every incremental run failed for good with a reason
 * never written. A watermark stored so (by that version, or by hand) now fails an incremental
 * run with a reason that says what to do, and a "full" run replaces it. */
static void
test_untimed_ticket(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 20, NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    free(tk_run(&k, "Tickets/Freshservice/Sync", TK_SINCE_2000, "succeeded"));
    char *before = tk_watermark(&k);
    int64_t id;
    CHECK(tk_stored_ids(&k, &id, 1) == 1, "a stored ticket");
    cJSON *list = cJSON_CreateArray(), *listed = tk_listed(&k, id);
    cJSON_ReplaceItemInObject(listed, "updated_at", cJSON_CreateNull());
    cJSON_AddItemToArray(list, listed);
    tk_list_once(&k, list);
    char *res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    char *after = tk_watermark(&k);
    CHECK(strcmp(before, after) == 0, "the watermark stays %s: %s (%s)", before, after, res);
    CHECK(tk_count(res, "failed") == 1 && tk_count(res, "upserted") == 0,
          "the ticket without a time failed: %s", res);
    free(res);
    free(after);
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    CHECK(tk_count(res, "failed") == 0, "the next run: %s", res);
    free(res);
    tk_check_store(&k);
    /* Listed twice (it changed while the pages were read), the second time without a time,
     * after a later ticket: the watermark stays at or before where its first copy was, and the
     * run still stores one. Before, the copy without a time made the cap -1. */
    int64_t ids[2];
    CHECK(tk_stored_ids(&k, ids, 2) == 2, "two stored tickets");
    cJSON *a = tk_listed(&k, ids[0]), *b = tk_listed(&k, ids[1]);
    if (strcmp(cJSON_GetObjectItem(a, "updated_at")->valuestring,
               cJSON_GetObjectItem(b, "updated_at")->valuestring) > 0) {
        cJSON *x = a;
        a = b;
        b = x;
    }
    char first[32];
    tk_dt(cJSON_GetObjectItem(a, "updated_at"), first, sizeof(first));
    listed = cJSON_Duplicate(a, 1);
    cJSON_ReplaceItemInObject(listed, "updated_at", cJSON_CreateNull());
    list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, a);
    cJSON_AddItemToArray(list, b);
    cJSON_AddItemToArray(list, listed);
    tk_list_once(&k, list);
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded");
    after = tk_watermark(&k);
    CHECK(strcmp(after, first) == 0, "the watermark is where the first copy was (%s): %s (%s)",
          first, after, res);
    free(after);
    free(res);
    free(tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded"));

    CHECK(db_exec(k.store, "UPDATE sync_state SET watermark = '1969-12-31 23:59:59'", DB_NOP, NULL,
                  NULL) == 0,
          "store the watermark of before: %s", db_errstr(k.store));
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{}", "failed");
    CHECK(strstr(res, "not a time after 1970") && strstr(res, "\"full\": true"),
          "the reason says what to do: %s", res);
    free(res);
    free(tk_run(&k, "Tickets/Freshservice/Sync", "{\"full\":true}", "succeeded"));
    after = tk_watermark(&k);
    CHECK(strcmp(after, "2000") > 0, "a full run replaces the watermark: %s", after);
    free(after);
    free(tk_run(&k, "Tickets/Freshservice/Sync", "{}", "succeeded"));
    res = tk_run(&k, "Tickets/Freshservice/Sync", "{\"since\":\"1969-12-31T00:00:00Z\"}", "failed");
    CHECK(strstr(res, "\"since\" must be an ISO-8601 time after 1970"), "a since of 1969: %s", res);
    free(res);
    free(before);
    tk_stop(&k);
}

/* Runs a sync and waits for its first attempt only (a run that ends in a retry is not waited
 * out): fails the test unless it succeeded; returns its result (the caller frees). */
static char *
tk_run_once(struct tk *k, const char *params)
{
    int64_t id = t_enqueue(k->t, "Tickets/Freshservice/Sync", params, NULL);
    WAIT_UNTIL(t_sql_int(k->t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?",
                         DB_P(DBI(id))) >= 1,
               120000, "the first attempt ends");
    WAIT_UNTIL(!t_job_in_state(k->t, id, "running"), 10000, "the job leaves running");
    char *st = t_job_state(k->t, id);
    char *why = t_sql_str(k->t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, "succeeded") == 0, "the sync ended %s: %s", st, why ? why : "");
    free(st);
    free(why);
    return t_sql_str(k->t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
}

/* The fixture ticket id (its expected row recomputed by the fake). */
static cJSON *
tk_fixture_ticket(struct tk *k, int64_t id)
{
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(k->fixture, "tickets"))
    {
        if ((int64_t)cJSON_GetObjectItem(c, "id")->valuedouble == id)
            return c;
    }
    CHECK(false, "ticket %lld is in the fixture", (long long)id);
    return NULL;
}

/* Rows the store would refuse: a subject of 600 characters (cut to the column's 512), time
 * entries of 100,000,000 hours (past DECIMAL(10,2): that ticket fails), and a row a trigger
 * makes the store refuse as too long (that ticket fails). The other tickets of their chunk and
 * of the run are stored, and the run succeeds. Before, the first such row failed the chunk's
 * transaction: the run ended in a retry, and so did every run after it. */
static void
test_bad_rows(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 60, NULL);
    int64_t ids[3];
    CHECK(tk_stored_ids(&k, ids, 3) == 3, "three stored tickets");
    struct buf body;
    buf_init(&body, 0);
    buf_printf(&body, "{\"ids\":[%lld],\"fields\":{\"subject\":\"", (long long)ids[0]);
    for (int i = 0; i < 600; i++)
        buf_appends(&body, "\\u00e9");
    buf_appends(&body, "\"}}");
    tfake_control(&k.fake, "touch", body.data);
    buf_release(&body);
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"ids\":[%lld],\"fields\":{\"time_entries\":[{\"id\":9000001,"
             "\"time_spent\":\"100000000:00\",\"created_at\":\"2025-01-01T00:00:00Z\","
             "\"updated_at\":\"2025-01-01T00:00:00Z\"}]}}",
             (long long)ids[1]);
    tfake_control(&k.fake, "touch", doc);
    snprintf(doc, sizeof(doc),
             "CREATE TRIGGER refuse_one BEFORE INSERT ON ticket_details FOR EACH ROW "
             "IF NEW.ticket_id = %lld THEN SIGNAL SQLSTATE '22001' SET MYSQL_ERRNO = 1406, "
             "MESSAGE_TEXT = 'Data too long for column (a test trigger)'; END IF",
             (long long)ids[2]);
    CHECK(db_exec_static(k.store, doc) == 0, "the trigger: %s", db_errstr(k.store));
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *res = tk_run_once(&k, TK_SINCE_2000);
    fprintf(stderr, "the run: %s\n", res);
    CHECK(tk_count(res, "failed") == 2, "two tickets failed: %s", res);
    free(res);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT CHAR_LENGTH(subject) FROM ticket_details WHERE ticket_id = %lld "
             "AND subject = REPEAT(_utf8mb4 0xC3A9, 512)",
             (long long)ids[0]);
    CHECK(tk_store_int(&k, sql) == 512, "the subject is cut to 512 characters");
    /* Everything else is stored as expected. */
    tk_reload_fixture(&k);
    char *cut = xmalloc(1025);
    for (int i = 0; i < 512; i++)
        memcpy(cut + 2 * i, "\xc3\xa9", 2);
    cut[1024] = '\0';
    cJSON *want = cJSON_GetObjectItem(tk_fixture_ticket(&k, ids[0]), "expected");
    cJSON_ReplaceItemInObject(want, "subject", cJSON_CreateString(cut));
    free(cut);
    for (int i = 1; i < 3; i++)
        cJSON_DeleteItemFromObject(tk_fixture_ticket(&k, ids[i]), "expected");
    tk_check_store(&k);
    tk_stop(&k);
}

/* A ticket whose row is bigger than max_allowed_packet (a proxy's, here): the server answers
 * by closing the connection, which takes the chunk's transaction with it. The chunk is written
 * again without that row: the ticket fails, the run succeeds. Before, the chunk failed on every
 * run. */
static void
test_row_over_packet(struct tenv *t)
{
    struct tk k;
    tk_start(&k, t, 30, NULL);
    int64_t id;
    CHECK(tk_stored_ids(&k, &id, 1) == 1, "a stored ticket");
    struct buf body;
    buf_init(&body, 0);
    buf_printf(&body, "{\"ticket_id\":%lld,\"conversation\":{\"id\":99000001,\"body\":\"<p>",
               (long long)id);
    for (int i = 0; i < 12000; i++)
        buf_appends(&body, "a line of a very long reply, pasted from a log file, again and again "
                           "until the ticket's row is bigger than the proxy lets through; ");
    buf_appends(&body, "</p>\"}}");
    tfake_control(&k.fake, "conversation", body.data);
    buf_release(&body);
    struct tmyproxy *px = tmyproxy_start_for(t);
    tmyproxy_max_packet(px, (size_t)1 << 20);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    char *res = tk_run_once(&k, TK_SINCE_2000);
    CHECK(tk_count(res, "failed") == 1 && tmyproxy_too_large(px) >= 1,
          "the big row failed its ticket only: %s (%d refused)", res, tmyproxy_too_large(px));
    free(res);
    tk_reload_fixture(&k);
    cJSON_DeleteItemFromObject(tk_fixture_ticket(&k, id), "expected");
    tk_check_store(&k);
    tmyproxy_stop_for(px);
    tk_stop(&k);
}

static const struct test_case cases[] = {
    {"e2e_tickets_one_ticket_fails", test_one_ticket_fails, TK_CONF},
    {"e2e_tickets_one_ticket_forbidden", test_one_ticket_forbidden, TK_CONF},
    {"e2e_tickets_wrong_key", test_wrong_key, TK_CONF},
    {"e2e_tickets_api_down_retries", test_api_down_retries, TK_CONF},
    {"e2e_tickets_rate_limit_two_workers", test_rate_limit_two_workers, TK_CONF_60},
    {"e2e_tickets_long_retry_after", test_long_retry_after, TK_CONF},
    {"e2e_tickets_503_retry_after", test_503_retry_after, TK_CONF},
    {"e2e_tickets_503_retry_after_list", test_503_retry_after_list, TK_CONF},
    {"e2e_tickets_budget_counts_includes", test_budget_counts_includes, TK_CONF_60},
    {"e2e_tickets_sync_one_wrong_answer", test_sync_one_wrong_answer, TK_CONF},
    {"e2e_tickets_untimed_ticket", test_untimed_ticket, TK_CONF},
    {"e2e_tickets_bad_rows", test_bad_rows, TK_CONF},
    {"e2e_tickets_row_over_packet", test_row_over_packet, TK_CONF},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
