/* End-to-end tests of the dashboard served by jobfleet-producer (login and sessions are in
 * dashboard_login.c): CSRF, the read-only role, the bounded Jobs listing, bulk changes with
 * their confirmation, the background cache behind the Overview and /metrics, and (through
 * tests/browser/dashboard.mjs) the whole flow in headless Chromium. */
#include "log_limit.h"
#include "tdash.h"
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
dstart(struct tenv *t)
{
    tprod_start(t);
}

static void
test_csrf(struct tenv *t)
{
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "admin login");
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", a.csrf);
    CHECK(dstatus(t, "POST", "/queues/default/pause", body, &a, "Origin: http://evil.example") ==
              403,
          "foreign Origin");
    CHECK(dstatus(t, "POST", "/queues/default/pause", body, &a, "Sec-Fetch-Site: cross-site") ==
              403,
          "cross-site fetch");
    CHECK(dstatus(t, "POST", "/queues/default/pause", "", &a, NULL) == 403, "no token");
    CHECK(dstatus(t, "POST", "/queues/default/pause",
                  "csrf=0000000000000000000000000000000000000000000000000000000000000000", &a,
                  NULL) == 403,
          "another token");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM queue_settings WHERE is_paused = 1", DB_NOP) == 0,
          "nothing paused by a refused POST");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == 0, "nothing audited");
    CHECK(dstatus(t, "POST", "/queues/default/pause", body, &a, NULL) == 303, "same origin");
    CHECK(t_sql_int(t, 0, "SELECT is_paused FROM queue_settings WHERE queue = 'default'", DB_NOP) ==
              1,
          "paused");
    char *who = t_sql_str(t,
                          "SELECT CONCAT(actor, ' ', action) FROM audit_log "
                          "WHERE object_kind = 'queue' AND object_id = 'default'",
                          DB_NOP);
    CHECK(who && strcmp(who, "admin pause") == 0, "audit: %s", who ? who : "(none)");
    free(who);
    /* A name no job can carry got a settings row of its own, shown as paused (a 70-character
     * one a 503 from MariaDB): refused with 400, as the CLI refuses it. */
    static const char *const bad[] = {"/queues/has%20space/pause", "/queues/%C3%A9t%C3%A9/pause",
                                      "/queues/Q%3Cscript%3E/pause"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long st = dstatus(t, "POST", bad[i], body, &a, NULL);
        CHECK(st == 400, "%s: %ld", bad[i], st);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM queue_settings", DB_NOP) == 1,
          "a settings row made for a queue name no job can carry");
}

/* A queue pause or a cron disable whose audit_log row cannot be written (a trigger refuses it)
 * is not made: 503, and nothing changed. They were made, and only the log said the record was
 * missing. */
static void
test_change_needs_its_record(struct tenv *t)
{
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "nightly", "0 3 * * *", "System/Noop",
                                      NULL}) == 0,
          "cron add");
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "admin login");
    CHECK(db_exec_static(t->db,
                         "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW "
                         "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'") == 0,
          "trigger: %s", db_errstr(t->db));
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", a.csrf);
    CHECK(dstatus(t, "POST", "/queues/default/pause", body, &a, NULL) == 503, "pause refused");
    CHECK(dstatus(t, "POST", "/cron/nightly/disable", body, &a, NULL) == 503, "disable refused");
    CHECK(t_sql_int(t, -1,
                    "SELECT (SELECT COUNT(*) FROM queue_settings WHERE is_paused = 1) + (SELECT "
                    "COUNT(*) FROM cron_jobs WHERE name = 'nightly' AND is_active = 0)",
                    DB_NOP) == 0,
          "neither change was made");
    CHECK(db_exec_static(t->db, "DROP TRIGGER audit_refused") == 0, "drop trigger");
    CHECK(dstatus(t, "POST", "/queues/default/pause", body, &a, NULL) == 303, "pause");
}

/* A cron job's name may hold 191 characters, and ':' or '/' take three bytes each once
 * encoded in a path: a 180-character "reports:reports:..." could not be opened (404) nor
 * disabled from the dashboard (its form's action was cut). */
static void
test_long_cron_name(struct tenv *t)
{
    char name[192] = "", enc[600] = "";
    for (int i = 0; i < 22; i++) {
        strcat(name, "reports:");
        strcat(enc, "reports%3A");
    }
    strcat(name, "xxxx");
    strcat(enc, "xxxx");
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", name, "0 3 * * *", "System/Noop", NULL}) == 0,
          "cron add");
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "admin login");
    char *page = dget(t, "/cron", &a), path[700], body[128];
    snprintf(path, sizeof(path), "/cron/%s/disable", enc);
    CHECK(strstr(page, path), "the cron list's disable form posts to %s", path);
    free(page);
    snprintf(path, sizeof(path), "/cron/%s", enc);
    free(dget(t, path, &a));
    snprintf(path, sizeof(path), "/cron/%s/disable", enc);
    snprintf(body, sizeof(body), "csrf=%s", a.csrf);
    CHECK(dstatus(t, "POST", path, body, &a, NULL) == 303, "disable");
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = ?", DB_P(DBS(name))) == 0,
          "disabled");
}

/* Webhook bodies that once slipped past the redaction: a form with a trailing newline or a
 * space in a value, JSON behind a byte-order mark, two JSON documents in one body (whose first
 * alone parsed), XML, SOAP, multipart, Ruby, Go and YAML pairs. Each reaches a read-only user
 * with its secret redacted, on the page and in its JSON; a form or document with the rest still
 * readable. */
static void
readonly_webhook_bodies(struct tenv *t, const struct dclient *v)
{
    static const struct {
        const char *body, *shown;
    } cases[] = {
        {"user=a&password=hunter2\n", "user=a"},
        {"user=a b&password=hunter2", "user=a b"},
        {"\xEF\xBB\xBF{\"password\":\"hunter2\"}", "password"},
        /* Text that is neither one document nor a form, in the ways senders spell a pair:
         * not shown at all, only its size. */
        {"{\"a\":1}\n{\"password\":\"hunter2\"}", "bytes of text"},
        {"<auth><password>hunter2</password></auth>", "bytes of text"},
        {"<soap><SessionId>00D!AQhunter2</SessionId></soap>", "bytes of text"},
        {"--b\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nhunter2\r\n--b--",
         "bytes of text"},
        {"{:password => \"hunter2\"}", "bytes of text"},
        {"password := \"hunter2\"", "bytes of text"},
        {"user: a\npassword:\n    hunter2\n", "bytes of text"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *body = cases[i].body;
        char *out = NULL;
        CHECK(tprod_post(t, "/webhook/system/effect", body, strlen(body), NULL, &out) == 202,
              "webhook %zu: %s", i, out ? out : "");
        const char *at = out ? strstr(out, "\"job_id\":") : NULL;
        long long id = at ? strtoll(at + 9, NULL, 10) : -1;
        free(out);
        char path[64];
        snprintf(path, sizeof(path), "/jobs/%lld", id);
        char *page = dget(t, path, v);
        CHECK(!strstr(page, "hunter2") && strstr(page, "[redacted]"),
              "body %zu: the page shows the secret: %s", i, page);
        free(page);
        snprintf(path, sizeof(path), "/jobs/%lld?format=json", id);
        cJSON *j = dget_json(t, path, v);
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
        const cJSON *payload = cJSON_GetObjectItemCaseSensitive(params, "payload");
        const char *text = cJSON_IsString(payload) ? payload->valuestring : "";
        CHECK(!strstr(text, "hunter2") && strstr(text, "[redacted]") &&
                  strstr(text, cases[i].shown),
              "body %zu: the JSON's payload is %s", i, text);
        cJSON_Delete(j);
    }
}

static void
test_readonly(struct tenv *t)
{
    int64_t id = t_enqueue(t, "System/Echo", "{\"password\":\"hunter2\",\"n\":\"<script>\"}", NULL);
    /* A webhook's raw body is kept as a string: its secrets are redacted inside it too. */
    int64_t hook =
        t_enqueue(t, "System/Echo",
                  "{\"payload\":\"{\\\"ticket\\\":7,\\\"api_key\\\":\\\"zq9secret\\\"}\"}", NULL);
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "nightly", "0 3 * * *", "System/Noop",
                                      "--params", "{\"api_key\":\"cr0nsecret\"}", NULL}) == 0,
          "cron add");
    dstart(t);
    struct dclient v;
    CHECK(dlogin(t, "viewer", "viewpw", &v) == 303, "viewer login");
    const char *pages[] = {"/",     "/jobs",         "/queues",  "/queues/default",
                           "/cron", "/cron/nightly", "/workers", "/webhooks"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        free(dget(t, pages[i], &v));
    char path[64];
    snprintf(path, sizeof(path), "/jobs/%lld", (long long)id);
    char *page = dget(t, path, &v);
    CHECK(!strstr(page, "hunter2") && strstr(page, "[redacted]"), "secret shown: %s", page);
    CHECK(!strstr(page, "<script>") && strstr(page, "&lt;script&gt;"), "not escaped: %s", page);
    CHECK(!strstr(page, "id=\"cancel\""), "a read-only user sees a cancel button");
    free(page);
    snprintf(path, sizeof(path), "/jobs/%lld", (long long)hook);
    page = dget(t, path, &v);
    CHECK(!strstr(page, "zq9secret") && strstr(page, "[redacted]") && strstr(page, "ticket"),
          "the secret inside the payload string is shown: %s", page);
    free(page);
    /* A form-encoded body's secrets too. */
    int64_t form =
        t_enqueue(t, "System/Echo", "{\"payload\":\"ticket=7&password=fo0rmsecret&x=1\"}", NULL);
    snprintf(path, sizeof(path), "/jobs/%lld", (long long)form);
    page = dget(t, path, &v);
    CHECK(!strstr(page, "fo0rmsecret") && strstr(page, "password=[redacted]") &&
              strstr(page, "ticket=7"),
          "the secret inside the form body is shown: %s", page);
    free(page);
    readonly_webhook_bodies(t, &v);
    /* The cron list's JSON carries every schedule's parameters: redacted as on its page. */
    const char *crons[] = {"/cron?format=json", "/cron/nightly?format=json", "/cron/nightly"};
    for (size_t i = 0; i < sizeof(crons) / sizeof(crons[0]); i++) {
        page = dget(t, crons[i], &v);
        CHECK(!strstr(page, "cr0nsecret") && strstr(page, "[redacted]"), "%s shows the secret: %s",
              crons[i], page);
        free(page);
    }
    /* The text filter must not tell a redacted value one guess at a time. */
    cJSON *j = dget_json(t, "/jobs?format=json&text=hunter", &v);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "jobs")) == 0,
          "a read-only user's text filter matched inside a redacted value");
    cJSON_Delete(j);
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", v.csrf);
    char cancel[64];
    snprintf(cancel, sizeof(cancel), "/jobs/%lld/cancel", (long long)id);
    const char *posts[] = {cancel, "/queues/default/pause", "/cron/nightly/disable",
                           "/cron/nightly/run"};
    for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++)
        CHECK(dstatus(t, "POST", posts[i], body, &v, NULL) == 403, "POST %s", posts[i]);
    snprintf(body, sizeof(body), "csrf=%s&op=cancel&mode=all", v.csrf);
    CHECK(dstatus(t, "POST", "/jobs/bulk", body, &v, NULL) == 403, "bulk");
    CHECK(t_job_in_state(t, id, "queued"), "job unchanged");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE origin = 'cron'", DB_NOP) == 0,
          "no run");
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 1,
          "still enabled");
    /* The set-up's cron add is the CLI's, and recorded as such. */
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log WHERE actor NOT LIKE 'cli:%'", DB_NOP) ==
              0,
          "nothing audited");
}

/* Inserts n jobs in one statement: every third failed with a reason naming its number. */
static void
seed_jobs(struct tenv *t, int n)
{
    char *sql = xasprintf(
        "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, dt_created, "
        "dt_completed, failure_reason) SELECT UUID(), IF(seq %% 2, 'api', 'cli'), "
        "IF(seq %% 5 = 0, 'slow', 'default'), 'System/Echo', CONCAT('{\"n\":', seq, '}'), "
        "IF(seq %% 3 = 0, 'failed', 'succeeded'), NOW(6), NOW(6) - INTERVAL (%d - seq) SECOND, "
        "NOW(6) - INTERVAL (%d - seq) SECOND, IF(seq %% 3 = 0, CONCAT('boom ', seq), NULL) "
        "FROM seq_1_to_%d",
        n, n, n);
    CHECK(db_exec_static(t->db, sql) == 0, "seed: %s", db_errstr(t->db));
    free(sql);
}

static int
count_pages(struct tenv *t, const char *filter, struct dclient *c, int *rows)
{
    char cursor[128] = "";
    int pages = 0;
    *rows = 0;
    int64_t last = INT64_MAX;
    for (;;) {
        char *path = xasprintf("/jobs?format=json&limit=50%s%s%s", filter,
                               cursor[0] ? "&cursor=" : "", cursor);
        cJSON *j = dget_json(t, path, c);
        free(path);
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "jobs"))
        {
            int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
            if (strstr(filter, "state") == NULL)
                CHECK(id < last, "ids descend across pages: %lld after %lld", (long long)id,
                      (long long)last);
            last = id;
            (*rows)++;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next");
        pages++;
        if (!cJSON_IsString(next)) {
            cJSON_Delete(j);
            return pages;
        }
        /* The cursor goes back into the URL: "|" and " " need encoding. */
        struct buf b;
        buf_init(&b, 0);
        for (const char *p = next->valuestring; *p; p++)
            buf_printf(&b, (*p == '|' || *p == ' ' || *p == ':') ? "%%%02X" : "%c",
                       (unsigned char)*p);
        snprintf(cursor, sizeof(cursor), "%s", b.data);
        buf_release(&b);
        cJSON_Delete(j);
        CHECK(pages < 100, "paging does not end");
    }
}

static void
test_jobs_filter(struct tenv *t)
{
    seed_jobs(t, 600);
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    int rows;
    count_pages(t, "", &a, &rows);
    CHECK(rows == 600, "all jobs over the pages: %d", rows);
    count_pages(t, "&state=failed", &a, &rows);
    CHECK(rows == 200, "failed jobs over the pages: %d", rows);
    /* origin is not indexed: each page examines at most scan_max (100) entries, and the
     * cursor continues the scan, so every match is still found, page by page. */
    int pages = count_pages(t, "&origin=api", &a, &rows);
    CHECK(rows == 300 && pages >= 6, "api jobs: %d rows in %d pages", rows, pages);
    /* boom 33 and boom 330, 333, 336, 339: the first page's window (the newest 100 failed
     * jobs) holds only the last four, says so, and its cursor leads on to the fifth. */
    cJSON *j = dget_json(t, "/jobs?format=json&text=boom+33&state=failed", &a);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(j, "jobs");
    CHECK(cJSON_GetArraySize(jobs) == 4 &&
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "window_end")) &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "next")),
          "text filter, first window: %d", cJSON_GetArraySize(jobs));
    cJSON_Delete(j);
    count_pages(t, "&text=boom+33&state=failed", &a, &rows);
    CHECK(rows == 5, "text filter over the windows: %d", rows);
    j = dget_json(t, "/jobs?format=json&text=%25&queue=slow", &a);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "jobs")) == 0,
          "%% is a literal, not a wildcard");
    cJSON_Delete(j);
    /* The time range: the 60 jobs created in the last minute (ids 541..600). */
    char *from = t_sql_str(t,
                           "SELECT DATE_FORMAT(dt_created, '%Y-%m-%dT%H:%i:%s') FROM jobs "
                           "WHERE id = 541",
                           DB_NOP);
    char *path = xasprintf("/jobs?format=json&limit=500&from=%s", from);
    j = dget_json(t, path, &a);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "jobs")) == 60, "from: %d",
          cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "jobs")));
    cJSON_Delete(j);
    free(path);
    free(from);
    CHECK(dstatus(t, "GET", "/jobs?state=nope", NULL, &a, NULL) == 400, "bad state");
    CHECK(dstatus(t, "GET", "/jobs?cursor=I0x", NULL, &a, NULL) == 400, "bad cursor");
    CHECK(dstatus(t, "GET", "/jobs?from=yesterday", NULL, &a, NULL) == 400, "bad time");
}

static void
test_bulk(struct tenv *t)
{
    seed_jobs(t, 30); /* 10 failed */
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    /* The success banner shows the dashboard's own messages only, not a link's text. */
    const char *forged[] = {"/jobs?done=Session+expired%2C+log+in+at+evil.example",
                            "/queues?done=Session+expired%2C+log+in+at+evil.example&ds=00"};
    for (int i = 0; i < 2; i++) {
        char *page = dget(t, forged[i], &a);
        CHECK(!strstr(page, "evil.example"), "%s shows the forged banner", forged[i]);
        free(page);
    }
    char *body = xasprintf("csrf=%s&op=retry&mode=all&state=failed&queue=default", a.csrf);
    struct t_http_resp r;
    CHECK(dreq(t, "POST", "/jobs/bulk", body, &a, NULL, &r) == 200, "confirmation page");
    /* failed and in queue default: multiples of 3 that are not multiples of 5 → 8 */
    CHECK(strstr(r.body, "id=\"confirm-count\">8<"), "count stated: %s", r.body);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'failed'", DB_NOP) == 10,
          "nothing changed before the confirmation");
    t_http_release(&r);
    /* The page repeats the form's fields: a field name is escaped like its value. */
    char *odd = xasprintf("%s&a\"><b>x=1", body);
    CHECK(dreq(t, "POST", "/jobs/bulk", odd, &a, NULL, &r) == 200, "odd field name");
    CHECK(!strstr(r.body, "\"><b>x") && strstr(r.body, "name=\"a&quot;&gt;&lt;b&gt;x\""),
          "the field name is escaped: %s", r.body);
    t_http_release(&r);
    free(odd);
    /* Everything matching a filter without a state the change takes: the walk counted every
     * job (10,000 newest at most) and changed only those it could ("retried 0 of 10000"),
     * the same ones again at every run. */
    static const char *const unfit[] = {"op=retry&mode=all&queue=default",
                                        "op=cancel&mode=all&state=failed"};
    for (int i = 0; i < 2; i++) {
        char *b = xasprintf("csrf=%s&%s", a.csrf, unfit[i]);
        CHECK(dreq(t, "POST", "/jobs/bulk", b, &a, NULL, &r) == 400 && r.body &&
                  strstr(r.body, "filter by the state"),
              "%s: %ld %s", unfit[i], r.status, r.body ? r.body : "");
        t_http_release(&r);
        free(b);
    }
    char *confirm = xasprintf("%s&confirm=8", body);
    CHECK(dreq(t, "POST", "/jobs/bulk", confirm, &a, NULL, &r) == 303, "confirmed");
    t_http_release(&r);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'failed'", DB_NOP) == 2,
          "the two in queue slow are left");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'retry' AND "
                    "actor = 'admin' AND object_kind = 'job'",
                    DB_NOP) == 8,
          "each retry audited");
    /* A filter value the jobs table cannot hold is refused, naming the field, not taken for
     * a filter that matches nothing. */
    static const char *const bad[][2] = {
        {"state=nope", "state: one of pending"},
        {"origin=nope", "origin: one of cli"},
        {"state=failed&from=yesterday", "from: not a time"},
    };
    for (int i = 0; i < 3; i++) {
        char *b = xasprintf("csrf=%s&op=retry&mode=all&%s&confirm=5", a.csrf, bad[i][0]);
        CHECK(dreq(t, "POST", "/jobs/bulk", b, &a, NULL, &r) == 400, "%s: %ld", bad[i][0],
              r.status);
        CHECK(r.body && strstr(r.body, bad[i][1]), "%s: %s", bad[i][0], r.body);
        t_http_release(&r);
        free(b);
    }
    /* Selected rows. */
    char *sel = xasprintf("csrf=%s&op=cancel&mode=selected&id=1&id=2&confirm=2", a.csrf);
    CHECK(dstatus(t, "POST", "/jobs/bulk", sel, &a, NULL) == 303, "bulk cancel");
    free(sel);
    free(confirm);
    free(body);
}

/* Bulk changes larger than one transaction (JOB_CHANGE_MAX): a retry of 2,500 failed jobs
 * queues, pushes and audits every one; a cancel of selected rows cancels the waiting ones
 * (out of Redis too), flags the running one, and skips the finished one and a missing ID. */
static void
test_bulk_many(struct tenv *t)
{
    seed_jobs(t, 7500); /* 2,500 failed: 2,000 in default, 500 in slow */
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    char *body = xasprintf("csrf=%s&op=retry&mode=all&state=failed&confirm=2500", a.csrf);
    struct t_http_resp r;
    CHECK(dreq(t, "POST", "/jobs/bulk", body, &a, NULL, &r) == 303, "confirmed");
    CHECK(r.headers && strstr(r.headers, "retried%202500%20of%202500%20jobs"), "the message: %s",
          r.headers ? r.headers : "(none)");
    t_http_release(&r);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP) == 2500,
          "every failed job queued again");
    CHECK(rq_depth(t->rq, "default") == 2000 && rq_depth(t->rq, "slow") == 500,
          "Redis holds %lld + %lld IDs, want 2000 + 500", (long long)rq_depth(t->rq, "default"),
          (long long)rq_depth(t->rq, "slow"));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(DISTINCT object_id) FROM audit_log WHERE action = 'retry' AND "
                    "actor = 'admin' AND object_kind = 'job' AND detail = 'bulk'",
                    DB_NOP) == 2500,
          "each retry audited");
    /* 3 is queued now, 6 running, 1 succeeded, 99999 no job. */
    CHECK(db_exec_static(t->db, "UPDATE jobs SET state = 'running' WHERE id = 6") == 0, "run 6");
    /* A page's worth of selected rows (500, with the seven-digit ids of a table in use) fits
     * a page's form: it was a 413 at 4 KiB. */
    struct buf many;
    buf_init(&many, 0);
    buf_printf(&many, "csrf=%s&op=retry&mode=selected", a.csrf);
    for (int i = 0; i < 500; i++)
        buf_printf(&many, "&id=%d", 1000000 + i);
    CHECK(dreq(t, "POST", "/jobs/bulk", many.data, &a, NULL, &r) == 200 &&
              strstr(r.body, "id=\"confirm-count\">500<"),
          "500 selected rows: %ld %s", r.status, r.body ? r.body : "");
    t_http_release(&r);
    buf_release(&many);
    char *sel =
        xasprintf("csrf=%s&op=cancel&mode=selected&id=3&id=6&id=1&id=99999&confirm=4", a.csrf);
    CHECK(dreq(t, "POST", "/jobs/bulk", sel, &a, NULL, &r) == 303, "bulk cancel");
    CHECK(r.headers && strstr(r.headers, "cancelled%202%20of%204%20jobs"), "the message: %s",
          r.headers ? r.headers : "(none)");
    t_http_release(&r);
    char *st = t_sql_str(t,
                         "SELECT GROUP_CONCAT(CONCAT(id, ':', state, ':', cancel_requested) "
                         "ORDER BY id) FROM jobs WHERE id IN (1, 3, 6)",
                         DB_NOP);
    CHECK(st && strcmp(st, "1:succeeded:0,3:cancelled:0,6:running:1") == 0, "states: %s",
          st ? st : "(none)");
    free(st);
    CHECK(rq_depth(t->rq, "default") == 1999, "the cancelled job left Redis: %lld",
          (long long)rq_depth(t->rq, "default"));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'cancel' AND object_id IN "
                    "('3', '6')",
                    DB_NOP) == 2,
          "each cancel audited, nothing else");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log WHERE action = 'cancel'", DB_NOP) == 2,
          "no audit row for skipped IDs");
    /* Everything queued (2,498: 3 is cancelled, 6 running): the cancel keeps to the filter's
     * state. */
    char *all = xasprintf("csrf=%s&op=cancel&mode=all&state=queued&confirm=2498", a.csrf);
    CHECK(dreq(t, "POST", "/jobs/bulk", all, &a, NULL, &r) == 303, "cancel all queued");
    CHECK(r.headers && strstr(r.headers, "cancelled%202498%20of%202498%20jobs"), "the message: %s",
          r.headers ? r.headers : "(none)");
    t_http_release(&r);
    free(all);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'", DB_NOP) == 0,
          "no queued job left");
    CHECK(rq_depth(t->rq, "default") == 1 && rq_depth(t->rq, "slow") == 0,
          "Redis holds only job 6's ID (made running behind its back): %lld + %lld",
          (long long)rq_depth(t->rq, "default"), (long long)rq_depth(t->rq, "slow"));
    CHECK(t_sql_int(t, -1, "SELECT cancel_requested FROM jobs WHERE id = 6", DB_NOP) == 1,
          "the running job keeps the flag the selected cancel set");
    free(sel);
    free(body);
}

/* A confirmed bulk retry of the two rows in fields; checks that it retried one of them. */
static void
bulk_retry_one_of_two(struct tenv *t, struct dclient *a, const char *fields)
{
    struct t_http_resp r;
    char *body = xasprintf("csrf=%s&op=retry&mode=selected&%s&confirm=2", a->csrf, fields);
    CHECK(dreq(t, "POST", "/jobs/bulk", body, a, NULL, &r) == 303, "bulk retry of %s", fields);
    CHECK(r.headers && strstr(r.headers, "retried%201%20of%202%20jobs"), "the message: %s",
          r.headers ? r.headers : "(none)");
    t_http_release(&r);
    free(body);
}

/* A retry runs again only a job still in the state it was chosen in: a failed job retried
 * and succeeded meanwhile (a second click, a stale page, another operator) is left, on the
 * job page and in a bulk retry of selected rows; a succeeded job is retried when the page
 * showed it succeeded, or the rows were listed as succeeded. */
static void
test_retry_keeps_state(struct tenv *t)
{
    seed_jobs(t, 12); /* 3, 6, 9, 12 failed; the rest succeeded */
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    /* Job 1 succeeded; the page that offered its retry showed it failed. */
    char *body = xasprintf("csrf=%s&state=failed", a.csrf);
    CHECK(dstatus(t, "POST", "/jobs/1/retry", body, &a, NULL) == 409, "stale page refused");
    CHECK(t_job_in_state(t, 1, "succeeded"), "job 1 is not run again");
    free(body);
    body = xasprintf("csrf=%s&state=succeeded", a.csrf);
    CHECK(dstatus(t, "POST", "/jobs/1/retry", body, &a, NULL) == 303, "retry of a succeeded job");
    CHECK(t_job_in_state(t, 1, "queued"), "job 1 queued again");
    free(body);
    /* Rows 2 (succeeded) and 3 (failed) selected on an unfiltered page. */
    bulk_retry_one_of_two(t, &a, "id=2&id=3");
    CHECK(t_job_in_state(t, 2, "succeeded") && t_job_in_state(t, 3, "queued"),
          "only the failed one is retried");
    /* Rows listed as succeeded: the operator chose succeeded jobs. */
    bulk_retry_one_of_two(t, &a, "state=succeeded&id=2&id=6");
    CHECK(t_job_in_state(t, 2, "queued") && t_job_in_state(t, 6, "failed"),
          "the succeeded one is retried, the failed one (not in the listed state) left");
    /* The job page's form carries the state it showed. */
    char *page = dget(t, "/jobs/5", &a);
    CHECK(page && strstr(page, "name=\"state\" value=\"succeeded\""), "the form: %s",
          page ? page : "(none)");
    free(page);
}

static void
test_cache_metrics(struct tenv *t)
{
    seed_jobs(t, 90);
    dstart(t);
    /* The cache refreshes every 200 ms: the Overview and /metrics follow the table. */
    cJSON *j = NULL;
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "login");
    WAIT_UNTIL((cJSON_Delete(j), j = dget_json(t, "/?format=json", &a),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(j, "states"), "failed")) == 30),
               5000, "overview counts");
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(j, "per_minute");
    double sum = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(pm, "failed")) sum += v->valuedouble;
    CHECK(sum == 30, "failed per minute adds up to 30: %.0f", sum);
    cJSON_Delete(j);
    db_exec_static(t->db, "UPDATE jobs SET state = 'queued', dt_queued = NOW(6) - INTERVAL 90 "
                          "SECOND WHERE id <= 3");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_queue_jobs{queue=\"default\",state=\"queued\"}") == 3,
               5000, "metrics follow the table");
    int64_t age = tprod_metric(t, "jobfleet_queue_oldest_queued_age_seconds{queue=\"default\"}");
    CHECK(age >= 90 && age < 120, "oldest queued age %lld", (long long)age);
    /* The finished states' range of the index is the whole history (failed and cancelled jobs
     * are kept): read whole at every refresh it grew into a core's steady load. It is read
     * whole once a minute, and in between only what finished since (by dt_completed) is
     * added: two jobs moved to failed with their old dt_completed show at the next whole
     * read, not at the next refresh. */
    db_exec_static(t->db, "UPDATE jobs SET state = 'failed' WHERE id IN (1, 2)");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_queue_jobs{queue=\"default\",state=\"queued\"}") == 1,
               5000, "the live counts follow the table");
    j = dget_json(t, "/?format=json", &a);
    double failed = cJSON_GetNumberValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "states"), "failed"));
    CHECK(failed == 30,
          "the failed count (31 in the table now) was read again at a refresh, not "
          "once a minute: %.0f",
          failed);
    cJSON_Delete(j);
}

/* Runs the Chromium flow of tests/browser/dashboard.mjs against a running fleet. */
/* The Webhooks page says how many refused requests it does not list (webhook_log keeps a
 * budget of their rows), so an operator does not take ten rows for the whole flood. */
static void
test_webhooks_left_out(struct tenv *t)
{
    dstart(t);
    struct dclient c;
    CHECK(dlogin(t, "admin", "adminpw", &c) == 303, "login");
    char *page = dget(t, "/webhooks", &c);
    CHECK(strstr(page, "are not listed") == NULL, "a note before any was left out");
    free(page);
    for (int i = 0; i < 30; i++)
        CHECK(tprod_post(t, "/webhook/nosuch/x", "{}", 2, NULL, NULL) == 404, "refused %d", i);
    int64_t left = tprod_metric(t, "jobfleet_producer_webhook_log_left_out_total");
    CHECK(left >= 30 - LOG_LIMIT_BURST, "%lld left out", (long long)left);
    page = dget(t, "/webhooks", &c);
    char want[64];
    snprintf(want, sizeof(want), "not listed: %lld since", (long long)left);
    CHECK(strstr(page, want) != NULL, "no \"%s\" on the page", want);
    free(page);
}

static void
test_browser(struct tenv *t)
{
    char *touch = xasprintf("%s/touch", t->dir);
    char *params =
        xasprintf("{\"path\":\"%s\",\"fail_until_attempt\":2,\"token\":\"s3cr3t\"}", touch);
    int64_t failed = t_enqueue(t, "System/Touch", params, NULL);
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "add", "hourly-noop", "0 * * * *", "System/Noop",
                                      NULL}) == 0,
          "cron add");
    /* A paused queue whose name is one long word: the phone step checks its Resume button. */
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"queue", "pause", "notifications_outbound", NULL}) == 0,
          "queue pause");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    dstart(t);
    WAIT_UNTIL(t_job_in_state(t, failed, "failed"), 20000, "the job fails its first attempt");
    char *shots = xasprintf("%s/artifacts/dashboard", JOBFLEET_BUILD_DIR);
    char *cmd =
        xasprintf("mkdir -p %s && JF_URL=%s JF_JOB=%lld JF_CRON=hourly-noop JF_QUEUE=default "
                  "JF_SHOTS=%s node %s/tests/browser/dashboard.mjs > %s/browser.log 2>&1",
                  shots, tprod_url(t, ""), (long long)failed, shots, JOBFLEET_SOURCE_DIR, t->dir);
    int rc = system(cmd);
    char *log = xasprintf("%s/browser.log", t->dir);
    char *out = t_read_file(log);
    fprintf(stderr, "%s", out ? out : "");
    CHECK(rc == 0, "the browser flow failed (log above; screenshots in %s)", shots);
    /* What the browser did is in the database, by the right user. */
    CHECK(t_job_in_state(t, failed, "succeeded"), "retried job succeeded");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log WHERE actor = 'admin'", DB_NOP) >= 4,
          "retry, pause, resume, run now audited");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log WHERE actor = 'viewer'", DB_NOP) == 0,
          "the read-only user changed nothing");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE origin = 'cron'", DB_NOP) == 1,
          "one run now");
    free(out);
    free(log);
    free(cmd);
    free(shots);
    free(params);
    free(touch);
}

/* The row of queue in the Queues page's JSON, with field's number (-1 without the row). */
static double
queue_field(struct tenv *t, const struct dclient *a, const char *queue, const char *field)
{
    cJSON *j = dget_json(t, "/queues?format=json", a);
    double v = -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(it, "queue");
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, field);
        if (cJSON_IsString(q) && strcmp(q->valuestring, queue) == 0 && cJSON_IsNumber(f))
            v = f->valuedouble;
    }
    cJSON_Delete(j);
    return v;
}

/* The Queues page and `queue list` show a queue a worker pops before it has a job or a setting
 * (a fresh stack's "default" was missing from both), and how many jobs wait in pending for a
 * full limit: those are in neither the queued count nor its age. */
static void
test_queues_served_and_over_limit(struct tenv *t)
{
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"),
                      (const char *const[]){"--queues", "default:1, idleq:2", NULL});
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM worker_instances WHERE pid = ?", DB_P(DBI(w))) == 1,
        10000, "the worker never registered");
    int64_t id = t_enqueue(t, "System/Noop", NULL,
                           (const char *const[]){"--queue", "slowq", "--in", "1h", NULL});
    /* As a worker leaves a job over a full limit (lifecycle_defer). */
    CHECK(db_exec(t->db, "UPDATE jobs SET limit_deferred = 1 WHERE id = ?", DB_P(DBI(id)), NULL,
                  NULL) == 0,
          "mark the job: %s", db_errstr(t->db));
    dstart(t);
    struct dclient a;
    CHECK(dlogin(t, "admin", "adminpw", &a) == 303, "admin login");
    CHECK(queue_field(t, &a, "idleq", "queued") == 0, "the Queues page leaves out idleq");
    WAIT_UNTIL(queue_field(t, &a, "slowq", "over_limit") == 1, 15000,
               "the Queues page says %.0f of slowq's jobs wait for a limit",
               queue_field(t, &a, "slowq", "over_limit"));
    char *page = dget(t, "/queues", &a);
    CHECK(page && strstr(page, "1 waiting for a limit"), "the Queues page: %s", page);
    free(page);
    char *out = NULL;
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"--json", "queue", "list", NULL}) == 0,
          "queue list");
    CHECK(out && strstr(out, "\"queue\":\"idleq\"") && strstr(out, "\"over_limit\":1"),
          "queue list: %s", out);
    free(out);
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_dashboard_long_cron_name", test_long_cron_name, TDASH_USERS},
        {"e2e_dashboard_csrf", test_csrf, TDASH_USERS},
        {"e2e_dashboard_readonly", test_readonly, TDASH_USERS "[webhook.system]\nauth = none\n"},
        {"e2e_dashboard_change_needs_its_record", test_change_needs_its_record, TDASH_USERS},
        {"e2e_dashboard_jobs_filter", test_jobs_filter,
         TDASH_USERS "scan_max = 100\ntext_scan_max = 100\n"},
        {"e2e_dashboard_bulk", test_bulk, TDASH_USERS},
        {"e2e_dashboard_bulk_many", test_bulk_many, TDASH_USERS},
        {"e2e_dashboard_retry_keeps_state", test_retry_keeps_state, TDASH_USERS},
        {"e2e_dashboard_cache_metrics", test_cache_metrics, TDASH_USERS},
        {"e2e_dashboard_webhooks_left_out", test_webhooks_left_out, TDASH_USERS},
        {"e2e_dashboard_queues_served_and_over_limit", test_queues_served_and_over_limit,
         TDASH_USERS},
        {"e2e_dashboard_browser", test_browser, TDASH_USERS},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
