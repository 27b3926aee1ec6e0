/* End-to-end tests of the cloud ticket-info update of call recordings: the recordings store
 * ([db.recordings], migrated), the cloud fake (tests/fakes/cloud.py), a real worker and
 * scheduler (retries are due later). */
#include "db.h"
#include "tfake.h"
#include "tmyproxy.h"
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cl {
    struct tenv *t;
    struct tfake cloud;
    struct db *rec;
};

static void
cl_start(struct cl *c, struct tenv *t, bool run_workers)
{
    memset(c, 0, sizeof(*c));
    c->t = t;
    tfake_start(t, &c->cloud, "cloud.py", NULL);
    setenv("JOBFLEET_SERVICE_CLOUD_BASE_URL", c->cloud.base_url, 1);
    char *dbname = xasprintf("%s_recordings", t->db_name);
    struct cfg_mysql m = t->cfg.mysql;
    m.database = dbname;
    c->rec = db_new(&m);
    CHECK(db_connect(c->rec) == 0, "connect to the recordings store");
    free(dbname);
    const char *actions[] = {"Cloud/Recording/UpdateTicket", "Cloud/Recording/Upload"};
    for (int i = 0; i < 2; i++) {
        const char *av[] = {"action", "set", actions[i], "--backoff-base", "1s", NULL};
        CHECK(t_cli(t, NULL, NULL, av) == 0, "action set %s", actions[i]);
    }
    if (run_workers) {
        t_spawn(t, t_bin("jobfleet-worker"), NULL);
        t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    }
}

static void
cl_stop(struct cl *c)
{
    tfake_stop(&c->cloud);
    db_free(c->rec);
}

/* Adds a recording; ticket (may be NULL) links it; clouds (may be NULL) puts it in the cloud. */
static int64_t
cl_rec(struct cl *c, const char *folder, const char *file, const char *ticket, const char *clouds)
{
    uint64_t id;
    CHECK(db_exec(c->rec,
                  "INSERT INTO recordings (folder_uuid, filename, size, token, transcribe, "
                  "ticket_id, customer_name, linked_at, clouds_uuid, transfer_cloud) "
                  "VALUES (?, ?, '2.5 MB', 'tok', 'hello', ?, ?, IF(? IS NULL, NULL, "
                  "UTC_TIMESTAMP()), ?, ?)",
                  DB_P(DBS(folder), DBS(file), DBS(ticket), DBS(ticket ? "ACME" : NULL),
                       DBS(ticket), DBS(clouds), DBI(clouds ? 1 : 0)),
                  NULL, &id) == 0,
          "insert recording: %s", db_errstr(c->rec));
    if (clouds) {
        char *doc = xasprintf("{\"uuid\":\"%s\"}", clouds);
        tfake_control(&c->cloud, "folder", doc);
        free(doc);
    }
    return (int64_t)id;
}

static char *
cl_str(struct cl *c, const char *sql, const char *arg)
{
    struct db_rows *r = db_query(c->rec, sql, DB_P(DBS(arg)));
    CHECK(r, "%s: %s", sql, db_errstr(c->rec));
    const char *v = r->n_rows ? db_rows_get(r, 0, 0) : NULL;
    char *s = v ? xstrdup(v) : NULL;
    db_rows_free(r);
    return s;
}

/* Waits for job id (of action, with params) to end; checks the final state; returns the result
 * or reason (caller frees) and the attempt in *attempt (may be NULL). */
static char *
cl_end(struct cl *c, int64_t id, const char *action, const char *params, const char *state,
       int *attempt)
{
    WAIT_UNTIL(t_job_done(c->t, id), 60000, "%s finishes", action);
    char *st = t_job_state(c->t, id);
    char *reason = t_sql_str(c->t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, state) == 0, "%s %s: %s, expected %s: %s", action, params, st, state,
          reason ? reason : "");
    free(st);
    if (attempt)
        *attempt = (int)t_sql_int(c->t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(id)));
    if (state[0] != 's')
        return reason;
    free(reason);
    return t_sql_str(c->t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
}

/* Enqueues a job with the CLI and runs it to its end (cl_end). */
static char *
cl_run(struct cl *c, const char *action, const char *params, const char *state, int *attempt)
{
    return cl_end(c, t_enqueue(c->t, action, params, NULL), action, params, state, attempt);
}

/* The cloud fake's recorded POSTs (caller deletes). */
static cJSON *
cl_posts(struct cl *c)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_control/posts", c->cloud.base_url);
    struct t_http_resp r;
    CHECK(t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200, "cloud posts");
    cJSON *j = cJSON_Parse(r.body);
    t_http_release(&r);
    cJSON *posts = cJSON_DetachItemFromObject(j, "posts");
    cJSON_Delete(j);
    return posts;
}

static int64_t
cl_jobs(struct cl *c, const char *action)
{
    return t_sql_int(c->t, 0, "SELECT COUNT(*) FROM jobs WHERE action = ?", DB_P(DBS(action)));
}

static void
test_upload(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    cl_rec(&c, "F1", "a.wav", "T-100", NULL);
    cl_rec(&c, "F1", "b.wav", NULL, NULL);
    free(cl_run(&c, "Cloud/Recording/Upload", "{\"folder_uuid\":\"F1\"}", "succeeded", NULL));
    cJSON *posts = cl_posts(&c);
    const cJSON *p0 = cJSON_GetArrayItem(posts, 0);
    CHECK(cJSON_GetArraySize(posts) == 1 && strcmp(cJSON_GetObjectItem(p0, "path")->valuestring,
                                                   "/api/external/v1/recording") == 0,
          "one first upload");
    const cJSON *files = cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "body"), "files");
    const cJSON *fa = cJSON_GetArrayItem(files, 0), *fb = cJSON_GetArrayItem(files, 1);
    CHECK(cJSON_GetArraySize(files) == 2 &&
              strcmp(cJSON_GetObjectItem(fa, "filename")->valuestring, "a.wav") == 0 &&
              strcmp(cJSON_GetObjectItem(fa, "size")->valuestring, "2.5 MB") == 0 &&
              strcmp(cJSON_GetObjectItem(fa, "transcribe")->valuestring, "hello") == 0,
          "the file objects");
    const cJSON *ti = cJSON_GetObjectItem(fa, "ticket_info");
    CHECK(ti && strcmp(cJSON_GetObjectItem(ti, "ticket_id")->valuestring, "T-100") == 0 &&
              strcmp(cJSON_GetObjectItem(ti, "customer_name")->valuestring, "ACME") == 0,
          "the linked file carries its ticket_info");
    CHECK(cJSON_GetObjectItem(fb, "ticket_info") == NULL, "the unlinked one carries none");
    cJSON_Delete(posts);
    char *cu = cl_str(&c,
                      "SELECT MIN(clouds_uuid) FROM recordings WHERE folder_uuid = ? AND "
                      "transfer_cloud = 1 HAVING COUNT(*) = 2 AND COUNT(DISTINCT clouds_uuid) = 1",
                      "F1");
    CHECK(cu != NULL && strlen(cu) == 36, "clouds_uuid stored on both, transfer_cloud = 1");
    char *synced = cl_str(&c,
                          "SELECT ticket_hash = ticket_info_hash FROM recordings "
                          "WHERE filename = ?",
                          "a.wav");
    CHECK(synced && strcmp(synced, "1") == 0, "the ticket info sent counts as synced");
    free(synced);
    /* Another file of the folder later: injected into the same cloud folder. */
    cl_rec(&c, "F1", "c.wav", NULL, NULL);
    free(cl_run(&c, "Cloud/Recording/Upload", "{\"folder_uuid\":\"F1\"}", "succeeded", NULL));
    posts = cl_posts(&c);
    char *want = xasprintf("/api/external/v1/recording/inject/%s", cu);
    CHECK(strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(posts, 1), "path")->valuestring, want) == 0,
          "the new file is injected into %s", cu);
    free(want);
    cJSON_Delete(posts);
    free(cu);
    cl_stop(&c);
}

static void
test_link(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    int64_t in = cl_rec(&c, "F2", "in.wav", NULL, "11111111-2222-3333-4444-555555555555");
    int64_t out = cl_rec(&c, "F3", "out.wav", NULL, NULL);
    char *p = xasprintf("{\"recording_id\":%lld,\"ticket_id\":\"T-7\",\"agent_name\":\"Ann\"}",
                        (long long)in);
    char *res = cl_run(&c, "Cloud/Recording/Link", p, "succeeded", NULL);
    CHECK(strstr(res, "\"update_enqueued\":true"), "%s", res);
    free(res);
    free(p);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Cloud/Recording/UpdateTicket' "
                         "AND state = 'succeeded'",
                         DB_NOP) == 1,
               60000, "the update runs");
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 1, "one UpdateTicket");
    cJSON *posts = cl_posts(&c);
    const cJSON *p0 = cJSON_GetArrayItem(posts, 0);
    CHECK(strstr(cJSON_GetObjectItem(p0, "path")->valuestring,
                 "/update-ticket/11111111-2222-3333-4444-555555555555"),
          "posted to update-ticket");
    const cJSON *ti = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p0, "body"), "files"), 0),
        "ticket_info");
    CHECK(strcmp(cJSON_GetObjectItem(ti, "ticket_id")->valuestring, "T-7") == 0 &&
              strcmp(cJSON_GetObjectItem(ti, "agent_name")->valuestring, "Ann") == 0 &&
              cJSON_IsString(cJSON_GetObjectItem(ti, "linked_at")),
          "with the new ticket info");
    cJSON_Delete(posts);
    p = xasprintf("{\"recording_id\":%lld,\"ticket_id\":\"T-8\"}", (long long)out);
    res = cl_run(&c, "Cloud/Recording/Link", p, "succeeded", NULL);
    CHECK(strstr(res, "\"update_enqueued\":false"), "%s", res);
    free(res);
    free(p);
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 1, "no UpdateTicket for it");
    free(cl_run(&c, "Cloud/Recording/Upload", "{\"folder_uuid\":\"F3\"}", "succeeded", NULL));
    posts = cl_posts(&c);
    ti = cJSON_GetObjectItem(
        cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(posts, 1), "body"), "files"),
            0),
        "ticket_info");
    CHECK(ti && strcmp(cJSON_GetObjectItem(ti, "ticket_id")->valuestring, "T-8") == 0,
          "its upload carries the ticket info");
    cJSON_Delete(posts);
    cl_stop(&c);
}

/* The update-ticket POSTs the cloud fake took, in order (caller deletes). */
static cJSON *
cl_updates(struct cl *c)
{
    cJSON *posts = cl_posts(c), *ups = cJSON_CreateArray();
    const cJSON *p;
    cJSON_ArrayForEach(p, posts)
    {
        if (strstr(cJSON_GetStringValue(cJSON_GetObjectItem(p, "path")), "/update-ticket/"))
            cJSON_AddItemToArray(ups, cJSON_Duplicate(p, 1));
    }
    cJSON_Delete(posts);
    return ups;
}

/* How many requests under prefix the cloud fake has seen begin. */
static int
cl_arrived(struct cl *c, const char *prefix)
{
    double *at;
    int n = tfake_arrivals(&c->cloud, prefix, &at);
    free(at);
    return n;
}

/* The ticket_id an update POST carried for its first file. */
static const char *
cl_post_ticket(const cJSON *post)
{
    const cJSON *f =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(post, "body"), "files"), 0);
    return cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "ticket_info"), "ticket_id"));
}

/* A link made while the folder's update is posting finds that update holding the folder's
 * unique key, so it makes no job of its own: the running update must send it before it ends. */
static void
test_link_during_update(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    int64_t rec = cl_rec(&c, "L1", "l.wav", NULL, "bbbbbbbb-0000-0000-0000-000000000001");
    tfake_control(&c.cloud, "faults",
                  "{\"path\":\"/api/external\",\"latency_ms\":3000,\"count\":1}");
    /* The first link makes the update, which holds the folder's key while it posts. */
    char *p = xasprintf("{\"recording_id\":%lld,\"ticket_id\":\"T-100\"}", (long long)rec);
    free(cl_run(&c, "Cloud/Recording/Link", p, "succeeded", NULL));
    free(p);
    int64_t up = t_sql_int(
        t, 0, "SELECT id FROM jobs WHERE action = 'Cloud/Recording/UpdateTicket'", DB_NOP);
    CHECK(up > 0, "the first link made the update");
    WAIT_UNTIL(cl_arrived(&c, "/api/external/v1/recording/update-ticket/") == 1, 30000,
               "the update's POST reaches the cloud");
    p = xasprintf("{\"recording_id\":%lld,\"ticket_id\":\"T-200\"}", (long long)rec);
    char *res = cl_run(&c, "Cloud/Recording/Link", p, "succeeded", NULL);
    CHECK(strstr(res, "\"update_enqueued\":true"), "%s", res);
    free(res);
    free(p);
    char *st = t_job_state(t, up);
    CHECK(strcmp(st, "running") == 0, "the link ran while the update posted (update %s)", st);
    free(st);
    int attempt = 0;
    free(cl_end(&c, up, "Cloud/Recording/UpdateTicket", "L1", "succeeded", &attempt));
    CHECK(attempt == 1, "one attempt (%d)", attempt);
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 1, "the link made no job of its own");
    cJSON *ups = cl_updates(&c);
    int n = cJSON_GetArraySize(ups);
    const char *last = n ? cl_post_ticket(cJSON_GetArrayItem(ups, n - 1)) : NULL;
    CHECK(n == 2 && last && strcmp(last, "T-200") == 0,
          "the update sent the new link before it ended: %d POSTs, the last with %s", n,
          last ? last : "(none)");
    cJSON_Delete(ups);
    char *synced = cl_str(&c,
                          "SELECT ticket_hash = ticket_info_hash FROM recordings WHERE "
                          "filename = ?",
                          "l.wav");
    CHECK(synced && strcmp(synced, "1") == 0, "the new link is marked synced");
    free(synced);
    cl_stop(&c);
}

/* The cloud's answers are hostile until checked: a first upload answered with a folder uuid
 * that is no uuid fails at once and stores nothing (a stored "../" would be the path of every
 * later update); a local folder name with a quote still gives a result that is JSON. */
static void
test_hostile_answer(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    cl_rec(&c, "H1", "h.wav", "T-1", NULL);
    tfake_control(&c.cloud, "next_uuid", "{\"uuid\":\"../../admin?x=\"}");
    int attempt = 0;
    char *reason =
        cl_run(&c, "Cloud/Recording/Upload", "{\"folder_uuid\":\"H1\"}", "failed", &attempt);
    CHECK(attempt == 1 && strstr(reason, "is not a uuid"),
          "an answer that is no uuid fails at once: attempt %d, %s", attempt, reason);
    free(reason);
    char *v = cl_str(&c,
                     "SELECT CONCAT(transfer_cloud, '|', COALESCE(clouds_uuid, 'null')) FROM "
                     "recordings WHERE filename = ?",
                     "h.wav");
    CHECK(v && strcmp(v, "0|null") == 0, "nothing stored from that answer: %s", v);
    free(v);
    cl_rec(&c, "Q\"1", "q.wav", "T-2", NULL);
    char *res =
        cl_run(&c, "Cloud/Recording/Upload", "{\"folder_uuid\":\"Q\\\"1\"}", "succeeded", NULL);
    cJSON *j = cJSON_Parse(res);
    CHECK(j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "folder_uuid")), "Q\"1") == 0,
          "the result is JSON naming the folder: %s", res);
    cJSON_Delete(j);
    free(res);
    res = cl_run(&c, "Cloud/Recording/UpdateTicket", "{\"folder_uuid\":\"Q\\\"1\"}", "succeeded",
                 NULL);
    j = cJSON_Parse(res);
    CHECK(j && cJSON_GetNumberValue(cJSON_GetObjectItem(j, "posts")) == 1,
          "the update's result is JSON: %s", res);
    cJSON_Delete(j);
    free(res);
    cl_stop(&c);
}

static void
test_retry_and_permanent(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    cl_rec(&c, "F4", "r.wav", "T-1", "aaaaaaaa-0000-0000-0000-000000000001");
    tfake_control(&c.cloud, "faults", "{\"path\":\"/api/external\",\"status\":503,\"count\":2}");
    int attempt = 0;
    free(cl_run(&c, "Cloud/Recording/UpdateTicket", "{\"folder_uuid\":\"F4\"}", "succeeded",
                &attempt));
    CHECK(attempt == 3, "succeeded on attempt 3 (was %d)", attempt);
    char *synced = cl_str(&c,
                          "SELECT ticket_hash = ticket_info_hash AND ticket_synced_at IS NOT "
                          "NULL FROM recordings WHERE filename = ?",
                          "r.wav");
    CHECK(synced && strcmp(synced, "1") == 0, "marked synced after the 2xx");
    free(synced);
    /* A hang past timeout_ms is retried like a 5xx. */
    tfake_control(&c.cloud, "faults", "{\"path\":\"/api/external\",\"latency_ms\":4000}");
    free(cl_run(&c, "Cloud/Recording/UpdateTicket", "{\"folder_uuid\":\"F4\"}", "succeeded",
                &attempt));
    CHECK(attempt == 2, "a timeout is retried (attempt %d)", attempt);
    db_exec(c.rec, "UPDATE recordings SET ticket_id = 'T-2'", DB_NOP, NULL, NULL);
    tfake_control(&c.cloud, "faults",
                  "{\"path\":\"/api/external\",\"status\":400,\"body\":{\"message\":"
                  "\"folder is archived\"}}");
    char *reason =
        cl_run(&c, "Cloud/Recording/UpdateTicket", "{\"folder_uuid\":\"F4\"}", "failed", &attempt);
    CHECK(attempt == 1 && strstr(reason, "folder is archived"),
          "a 400 fails at once with the message: attempt %d, %s", attempt, reason);
    free(reason);
    synced = cl_str(&c, "SELECT ticket_hash = ticket_info_hash FROM recordings WHERE filename = ?",
                    "r.wav");
    CHECK(synced && strcmp(synced, "0") == 0, "not marked synced after the 400");
    free(synced);
    cl_stop(&c);
}

/* Parameters come from outside: a recording or upload id past what a JSON number holds exactly
 * (1e300) fails the job at once naming the field, and never reaches a conversion to an integer,
 * which overflows (the tests' build aborts the child on it). The CLI and the API refuse such a
 * number, so the jobs are stored as the fleet's own code would store them (a sync's child job,
 * a row of an older version). */
static void
test_bad_numbers(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    static const struct {
        const char *action, *params, *field;
    } cases[] = {
        {"Cloud/Recording/UpdateTicket", "{\"recording_id\":1e300}", "recording_id"},
        {"Cloud/Recording/Link", "{\"recording_id\":1e300,\"ticket_id\":\"T-1\"}", "recording_id"},
        {"Cloud/Recording/Link", "{\"recording_id\":2.5,\"ticket_id\":\"T-1\"}", "recording_id"},
        {"Cloud/Recording/LinkCsv", "{\"upload_id\":-1e300}", "upload_id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int attempt = 0;
        int64_t id = t_insert_job(t, cases[i].action, cases[i].params);
        char *reason = cl_end(&c, id, cases[i].action, cases[i].params, "failed", &attempt);
        CHECK(attempt == 1 && reason && strstr(reason, cases[i].field),
              "%s %s fails at once naming %s: attempt %d, %s", cases[i].action, cases[i].params,
              cases[i].field, attempt, reason ? reason : "(none)");
        free(reason);
    }
    cl_stop(&c);
}

static void
test_sync_all(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, false);
    cl_rec(&c, "S1", "s1.wav", "T-1", "aaaaaaaa-0000-0000-0000-0000000000a1");
    cl_rec(&c, "S1", "s1b.wav", "T-1", "aaaaaaaa-0000-0000-0000-0000000000a1");
    cl_rec(&c, "S2", "s2.wav", "T-2", "aaaaaaaa-0000-0000-0000-0000000000a2");
    cl_rec(&c, "S3", "s3.wav", NULL, "aaaaaaaa-0000-0000-0000-0000000000a3"); /* no ticket */
    cl_rec(&c, "S4", "s4.wav", "T-4", NULL);                                  /* not in cloud */
    /* Dry run lists the folders and enqueues nothing. */
    char *out = NULL;
    const char *dry[] = {"run", "Cloud/Recording/SyncAll", "--params", "{\"dry_run\":true}", NULL};
    CHECK(t_cli(t, &out, NULL, dry) == 0 && strstr(out, "\"S1\"") && strstr(out, "\"S2\"") &&
              !strstr(out, "\"S3\"") && !strstr(out, "\"S4\""),
          "the dry run lists S1 and S2: %s", out ? out : "");
    free(out);
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 0, "the dry run enqueued nothing");
    /* Twice, with nothing running the updates in between: one job per folder. */
    for (int i = 0; i < 2; i++) {
        const char *av[] = {"run", "Cloud/Recording/SyncAll", NULL};
        CHECK(t_cli(t, NULL, NULL, av) == 0, "SyncAll run %d", i);
    }
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 2, "one UpdateTicket per folder");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Cloud/Recording/UpdateTicket' "
                         "AND state = 'succeeded'",
                         DB_NOP) == 2,
               60000, "the updates run");
    const char *av[] = {"run", "Cloud/Recording/SyncAll", NULL};
    CHECK(t_cli(t, NULL, NULL, av) == 0, "SyncAll after the updates");
    CHECK(cl_jobs(&c, "Cloud/Recording/UpdateTicket") == 2, "nothing left to update");
    cl_stop(&c);
}

/* A CSV with a BOM, quoted fields holding commas and newlines, and bad rows. */
static const char *csv_text =
    "\xEF\xBB\xBF"
    "filename,ticket_id,customer_name,call_intent\r\n"
    "c1.wav,T-10,\"Smith, John\",\"billing\nsecond line\"\r\n"    /* lines 2-3 */
    "c2.wav,T-11\r\n"                                             /* line 4: 2 fields */
    "nosuch.wav,T-12,X,Y\r\n"                                     /* line 5: unknown */
    "c3.wav,,X,Y\r\n"                                             /* line 6: no ticket */
    "\"c4.wav\",T-13,\"Caf\xC3\xA9 \"\"Quoted\"\"\",support\r\n"; /* line 7 */

static void
csv_check(struct cl *c, const char *res)
{
    cJSON *r = cJSON_Parse(res);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "linked")) == 2, "two linked: %s", res);
    const cJSON *bad = cJSON_GetObjectItem(r, "bad");
    int lines[3];
    for (int i = 0; i < 3; i++)
        lines[i] =
            (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(bad, i), "line"));
    CHECK(cJSON_GetArraySize(bad) == 3 && lines[0] == 4 && lines[1] == 5 && lines[2] == 6,
          "bad rows at lines 4, 5, 6: %s", res);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "update_jobs")) == 1,
          "one update for the folder in the cloud: %s", res);
    cJSON_Delete(r);
    char *v = cl_str(c,
                     "SELECT CONCAT(customer_name, '|', call_intent) FROM recordings "
                     "WHERE filename = ?",
                     "c1.wav");
    CHECK(v && strcmp(v, "Smith, John|billing\nsecond line") == 0, "c1 fields: %s", v);
    free(v);
    v = cl_str(c, "SELECT customer_name FROM recordings WHERE filename = ?", "c4.wav");
    CHECK(v && strcmp(v, "Caf\xC3\xA9 \"Quoted\"") == 0, "c4 fields: %s", v);
    free(v);
    v = cl_str(c, "SELECT COALESCE(ticket_id, 'none') FROM recordings WHERE filename = ?",
               "c3.wav");
    CHECK(v && strcmp(v, "none") == 0, "the bad row changed nothing");
    free(v);
}

static void
csv_seed(struct cl *c)
{
    cl_rec(c, "C1", "c1.wav", NULL, "cccccccc-0000-0000-0000-000000000001");
    cl_rec(c, "C1", "c4.wav", NULL, "cccccccc-0000-0000-0000-000000000001");
    cl_rec(c, "C2", "c2.wav", NULL, NULL);
    cl_rec(c, "C3", "c3.wav", NULL, NULL);
}

static void
test_link_csv(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    csv_seed(&c);
    char *path = xasprintf("%s/links.csv", t->dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fputs(csv_text, fp) >= 0, "write %s", path);
    fclose(fp);
    char *p = xasprintf("{\"path\":\"%s\"}", path);
    char *res = cl_run(&c, "Cloud/Recording/LinkCsv", p, "succeeded", NULL);
    csv_check(&c, res);
    free(res);
    free(p);
    free(path);
    cl_stop(&c);
}

/* A cell too long for its column (a 300-character customer name; the column holds 255) is a
 * bad row of the file: reported, and the rows after it linked. Before, the store's refusal
 * was taken for an outage: the job was retried until it failed, the rows after the bad one
 * never linked and no update enqueued. */
static void
test_link_csv_long_cell(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    const char *av[] = {"action", "set", "Cloud/Recording/LinkCsv", "--backoff-base", "1s", NULL};
    CHECK(t_cli(t, NULL, NULL, av) == 0, "action set");
    csv_seed(&c);
    char longname[301];
    memset(longname, 'n', 300);
    longname[300] = '\0';
    char *path = xasprintf("%s/long.csv", t->dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fprintf(fp,
                        "filename,ticket_id,customer_name\nc1.wav,T-1,ok\nc2.wav,T-2,%s\n"
                        "c4.wav,T-4,ok\n",
                        longname) > 0,
          "write %s", path);
    fclose(fp);
    char *p = xasprintf("{\"path\":\"%s\"}", path);
    char *res = cl_run(&c, "Cloud/Recording/LinkCsv", p, "succeeded", NULL);
    cJSON *r = cJSON_Parse(res);
    const cJSON *bad = cJSON_GetObjectItem(r, "bad");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "linked")) == 2 &&
              cJSON_GetArraySize(bad) == 1 &&
              cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(bad, 0), "line")) == 3,
          "two linked, line 3 bad: %s", res);
    cJSON_Delete(r);
    char *v = cl_str(&c, "SELECT ticket_id FROM recordings WHERE filename = ?", "c4.wav");
    CHECK(v && strcmp(v, "T-4") == 0, "the row after the bad one is linked: %s", v ? v : "");
    free(v);
    free(res);
    free(p);
    free(path);
    cl_stop(&c);
}

/* The recordings store lost in the middle of a CSV: the job is retried (linking a row again
 * writes the same values), not failed for good with the rows after the cut never linked and
 * the updates of the folders never enqueued. */
static void
test_link_csv_db_lost(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, false);
    csv_seed(&c);
    const char *av[] = {"action", "set", "Cloud/Recording/LinkCsv", "--backoff-base", "1s", NULL};
    CHECK(t_cli(t, NULL, NULL, av) == 0, "action set");
    char *path = xasprintf("%s/links.csv", t->dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fputs(csv_text, fp) >= 0, "write %s", path);
    fclose(fp);
    struct tmyproxy *px = tmyproxy_start_for(t);
    tmyproxy_cut_answer(px, "UPDATE recordings");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    char *p = xasprintf("{\"path\":\"%s\"}", path);
    int attempt = 0;
    char *res = cl_run(&c, "Cloud/Recording/LinkCsv", p, "succeeded", &attempt);
    CHECK(tmyproxy_cuts(px) == 1 && attempt == 2, "one cut, one retry: %d cuts, attempt %d",
          tmyproxy_cuts(px), attempt);
    csv_check(&c, res);
    free(res);
    free(p);
    free(path);
    tmyproxy_stop_for(px);
    cl_stop(&c);
}

static void
test_link_csv_api(struct tenv *t)
{
    struct cl c;
    cl_start(&c, t, true);
    csv_seed(&c);
    /* An upload older than retention_days: nothing deleted uploads, and each holds a whole
     * CSV (20 of 429 KB kept 8.5 MB for good). */
    CHECK(db_exec_static(c.rec, "INSERT INTO recording_csv_uploads (received_at, body) VALUES "
                                "(UTC_TIMESTAMP(6) - INTERVAL 30 DAY, 'old,csv')") == 0,
          "an old upload: %s", db_errstr(c.rec));
    tprod_start(t);
    char *body = NULL;
    tprod_check_401(t, "POST", "/api/recordings/link-csv", csv_text);
    long st = tprod_call(t, "POST", "/api/recordings/link-csv", csv_text, NULL, &body);
    CHECK(st == 202, "the upload is accepted: %ld %s", st, body ? body : "");
    cJSON *j = cJSON_Parse(body);
    int64_t id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "job_id"));
    cJSON_Delete(j);
    free(body);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the LinkCsv job finishes");
    char *res = t_sql_str(t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
    csv_check(&c, res);
    free(res);
    struct db_rows *r = db_query(c.rec,
                                 "SELECT COUNT(*), SUM(received_at < UTC_TIMESTAMP(6) - INTERVAL "
                                 "14 DAY) FROM recording_csv_uploads",
                                 DB_NOP);
    CHECK(r && db_rows_int(r, 0, 0, -1) == 1 && db_rows_int(r, 0, 1, -1) == 0,
          "CSV uploads after the link: %lld, %lld of them older than retention_days",
          r ? (long long)db_rows_int(r, 0, 0, -1) : -1LL,
          r ? (long long)db_rows_int(r, 0, 1, -1) : -1LL);
    db_rows_free(r);
    cl_stop(&c);
}

#define CL_CONF                                                                                    \
    "[db.recordings]\ndatabase = {db}_recordings\n"                                                \
    "[service.cloud]\nbase_url = http://127.0.0.1:1\ntoken = cloud-token\ntimeout_ms = 1500\n"

/* A cloud that may take 3 s to answer, within the timeout. */
#define CL_CONF_SLOW                                                                               \
    "[db.recordings]\ndatabase = {db}_recordings\n"                                                \
    "[service.cloud]\nbase_url = http://127.0.0.1:1\ntoken = cloud-token\ntimeout_ms = 10000\n"

static const struct test_case cases[] = {
    {"e2e_cloud_upload", test_upload, CL_CONF},
    {"e2e_cloud_link", test_link, CL_CONF},
    {"e2e_cloud_link_during_update", test_link_during_update, CL_CONF_SLOW},
    {"e2e_cloud_hostile_answer", test_hostile_answer, CL_CONF},
    {"e2e_cloud_retry_and_permanent", test_retry_and_permanent, CL_CONF},
    {"e2e_cloud_bad_numbers", test_bad_numbers, CL_CONF},
    {"e2e_cloud_sync_all", test_sync_all, CL_CONF},
    {"e2e_cloud_link_csv", test_link_csv, CL_CONF},
    {"e2e_cloud_link_csv_api", test_link_csv_api, CL_CONF},
    {"e2e_cloud_link_csv_db_lost", test_link_csv_db_lost, CL_CONF},
    {"e2e_cloud_link_csv_long_cell", test_link_csv_long_cell, CL_CONF},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
