/* End-to-end tests of Attachments/Freshservice/CopyToToga: the Freshservice fake hands out
 * signed URLs on the fake attachment host (tests/fakes/attachhost.py, HTTPS with a test CA),
 * the job downloads them safely and attaches them to a TOGA 2 note (tests/fakes/toga.py). */
#include "hmac.h"
#include "tconf.h"
#include "tfake.h"
#include "tproducer.h"
#include "tsupport.h"
#include "ttls.h"
#include "ttoga.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct af {
    struct tenv *t;
    struct tfake fs, host, toga;
    int64_t ticket;
    char *note;
    char host_base[96]; /* https://files.attachments.test:<port> */
};

static int64_t
af_first_ticket(const char *fixture)
{
    char *text = t_read_file(fixture);
    cJSON *fx = cJSON_Parse(text);
    free(text);
    int64_t id = (int64_t)cJSON_GetNumberValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(fx, "tickets"), 0), "id"));
    cJSON_Delete(fx);
    CHECK(id > 0, "the fixture has a ticket");
    return id;
}

/* Starts the three fakes (the attachment host on TLS with a fresh test CA), the config and a
 * worker. */
static void
af_start(struct af *a, struct tenv *t)
{
    memset(a, 0, sizeof(*a));
    a->t = t;
    ttls_make(t->dir);
    char *cert = xasprintf("%s/server.pem", t->dir), *key = xasprintf("%s/server.key", t->dir);
    const char *hargs[] = {"--cert", cert, "--key", key, "--secret", "sig-secret", NULL};
    tfake_start(t, &a->host, "attachhost.py", hargs);
    snprintf(a->host_base, sizeof(a->host_base), "https://files.attachments.test:%d", a->host.port);
    char *fixture = xasprintf("%s/fixture.json", t->dir);
    char *cmd = xasprintf("python3 %s/tests/fakes/freshservice_fixture.py 3 --seed 7 --out %s",
                          JOBFLEET_SOURCE_DIR, fixture);
    CHECK(system(cmd) == 0, "generate the fixture: %s", cmd);
    const char *fargs[] = {
        "--fixture",  fixture, "--attachment-base", a->host_base, "--attachment-secret",
        "sig-secret", NULL};
    tfake_start(t, &a->fs, "freshservice.py", fargs);
    tfake_start(t, &a->toga, "toga.py", NULL);
    a->ticket = af_first_ticket(fixture);
    a->note = ttoga_note(&a->toga);
    char *c = xasprintf(
        "[service.freshservice]\nbase_url = %s\napi_key = fs-key\n\n"
        "[service.toga]\nbase_url = %s/v2\napi_key = toga-key\napi_secret = toga-secret\n\n"
        "[attachments]\nallowed_hosts = .attachments.test, localhost\nca_file = %s/ca.pem\n"
        "timeout_ms = 5000\nmax_bytes = 100000\n"
        "test_resolve = files.attachments.test=127.0.0.1, loop.attachments.test=127.0.0.1, "
        "ten.attachments.test=10.0.0.1, meta.attachments.test=169.254.169.254\n"
        "test_private_hosts = files.attachments.test\n",
        a->fs.base_url, a->toga.base_url, t->dir);
    t_conf_append(t, c);
    free(c);
    free(cmd);
    free(fixture);
    free(cert);
    free(key);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
}

static void
af_stop(struct af *a)
{
    tfake_stop(&a->fs);
    tfake_stop(&a->host);
    tfake_stop(&a->toga);
    free(a->note);
}

static void
af_post(struct tfake *f, const char *what, cJSON *doc_take)
{
    char *s = cJSON_PrintUnformatted(doc_take);
    tfake_control(f, what, s);
    free(s);
    cJSON_Delete(doc_take);
}

/* The attachment host path of attachment id named name. */
static char *
af_path(int64_t id, const char *name)
{
    return xasprintf("/data/helpdesk/attachments/production/%lld/original/%s", (long long)id, name);
}

/* Puts bytes on the attachment host for attachment id. */
static void
af_object(struct af *a, int64_t id, const char *name, const char *bytes)
{
    cJSON *o = cJSON_CreateObject();
    char *path = af_path(id, name), *b64 = hmac_base64_encode(bytes, strlen(bytes));
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddStringToObject(o, "data_b64", b64);
    af_post(&a->host, "object", o);
    free(path);
    free(b64);
}

/* Adds conversation conv to the ticket with attachments (ids, names, optional fixed URLs). */
static void
af_conversation(struct af *a, int64_t conv, int n, const int64_t *ids, const char *const *names,
                const char *const *urls)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "ticket_id", (double)a->ticket);
    cJSON *c = cJSON_AddObjectToObject(doc, "conversation");
    cJSON_AddNumberToObject(c, "id", (double)conv);
    cJSON *atts = cJSON_AddArrayToObject(c, "attachments");
    for (int i = 0; i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "id", (double)ids[i]);
        cJSON_AddStringToObject(x, "name", names[i]);
        cJSON_AddNumberToObject(x, "size", 5);
        cJSON_AddStringToObject(x, "content_type", "text/plain");
        if (urls && urls[i])
            cJSON_AddStringToObject(x, "attachment_url", urls[i]);
        cJSON_AddItemToArray(atts, x);
    }
    af_post(&a->fs, "conversation", doc);
}

static char *
af_params(struct af *a, int64_t conv)
{
    return xasprintf("{\"ticket_id\":%lld,\"conversation_id\":%lld,\"note_uuid\":\"%s\"}",
                     (long long)a->ticket, (long long)conv, a->note);
}

/* Runs the copy of conversation conv; checks its final state; returns the result or the
 * failure reason (caller frees). */
static char *
af_run(struct af *a, int64_t conv, const char *state)
{
    char *p = af_params(a, conv);
    int64_t id = t_enqueue(a->t, "Attachments/Freshservice/CopyToToga", p, NULL);
    free(p);
    WAIT_UNTIL(t_job_done(a->t, id), 60000, "the copy finishes");
    char *st = t_job_state(a->t, id);
    char *reason = t_sql_str(a->t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    CHECK(strcmp(st, state) == 0, "conversation %lld: %s, expected %s: %s", (long long)conv, st,
          state, reason ? reason : "");
    free(st);
    if (state[0] != 's')
        return reason;
    free(reason);
    return t_sql_str(a->t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
}

/* How many requests for path the attachment host logged, and how many answered status. */
static int
af_host_hits(struct af *a, const char *path, int status)
{
    cJSON *log = tfake_log(&a->host);
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        const cJSON *s = cJSON_GetObjectItem(e, "status");
        if (p && strcmp(p, path) == 0 && (status == 0 || cJSON_GetNumberValue(s) == status))
            n++;
    }
    cJSON_Delete(log);
    return n;
}

static void
test_copy_twice(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    const int64_t ids[] = {9001, 9002};
    const char *names[] = {"one.txt", "two.txt"};
    af_object(&a, 9001, "one.txt", "first");
    af_object(&a, 9002, "two.txt", "other");
    af_conversation(&a, 501, 2, ids, names, NULL);
    char *res = af_run(&a, 501, "succeeded");
    CHECK(strstr(res, "\"copied\":2"), "both copied: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 2, "two uploads");
    cJSON *files = ttoga_note_files(&a.toga, a.note);
    CHECK(cJSON_GetArraySize(files) == 2 &&
              strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 1), "bytes")->valuestring,
                     "other") == 0,
          "the note holds the downloaded bytes");
    cJSON_Delete(files);
    res = af_run(&a, 501, "succeeded");
    CHECK(strstr(res, "\"copied\":0"), "the second run copies none: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 2, "no upload on the second run");
    af_stop(&a);
}

/* The first conversation fetch hands out URLs that have already expired: the 403 (the S3 XML
 * body) makes the job fetch the conversation again and download the fresh URL, once. */
static void
test_expired_refetch(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    const int64_t ids[] = {9101};
    const char *names[] = {"late.txt"};
    af_object(&a, 9101, "late.txt", "fresh");
    af_conversation(&a, 601, 1, ids, names, NULL);
    tfake_control(&a.fs, "attachment_ttl", "{\"ttl\":-60,\"count\":1}");
    char *res = af_run(&a, 601, "succeeded");
    free(res);
    char *path = af_path(9101, "late.txt");
    CHECK(af_host_hits(&a, path, 403) == 1 && af_host_hits(&a, path, 200) == 1,
          "one expired download, then one fresh one");
    cJSON *files = ttoga_note_files(&a.toga, a.note);
    CHECK(cJSON_GetArraySize(files) == 1, "attached once");
    cJSON_Delete(files);
    /* The host's clock runs two minutes ahead of ours and answers expiry with a plain
     * AccessDenied (CloudFront's text is not known): a URL with a minute left by our clock is
     * expired there. It is re-fetched, and the fresh URL works; the job failed for good before,
     * taking the 403 for a refusal. */
    tfake_control(&a.host, "clock", "{\"ahead_s\":120,\"plain_expiry\":true}");
    af_object(&a, 9103, "skew.txt", "skewed");
    const int64_t ids3[] = {9103};
    const char *names3[] = {"skew.txt"};
    af_conversation(&a, 603, 1, ids3, names3, NULL);
    tfake_control(&a.fs, "attachment_ttl", "{\"ttl\":60,\"count\":1}");
    free(af_run(&a, 603, "succeeded"));
    char *skew_path = af_path(9103, "skew.txt");
    CHECK(af_host_hits(&a, skew_path, 403) == 1 && af_host_hits(&a, skew_path, 200) == 1,
          "one refused download, then one fresh one");
    free(skew_path);
    tfake_control(&a.host, "clock", "{\"ahead_s\":0}");
    /* A plain AccessDenied on a URL whose Expires has not passed by our clock (a CDN's clock
     * ahead of ours, a rotated key, or a bad signature): the conversation is fetched again,
     * and when it gives the same URL the job fails saying why, the URL tried once. */
    char *bad =
        xasprintf("%s%s?Expires=9999999999&Signature=00&Key-Pair-Id=APKAFAKE", a.host_base, path);
    const int64_t ids2[] = {9102};
    const char *urls[] = {bad};
    af_conversation(&a, 602, 1, ids2, names, urls);
    res = af_run(&a, 602, "failed");
    CHECK(strstr(res, "HTTP 403 AccessDenied") && strstr(res, "the same URL"),
          "the reason says 403 and no fresh URL: %s", res);
    free(res);
    CHECK(af_host_hits(&a, path, 403) == 2, "the bad URL was tried once");
    free(bad);
    free(path);
    af_stop(&a);
}

/* One attachment that cannot be had (the host has no such object: 404) does not keep the
 * others from the note (the webhook enqueues the copy once): they are copied, and the job
 * fails naming it. */
static void
test_one_bad(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    const int64_t ids[] = {9301, 9302, 9303};
    const char *names[] = {"gone.txt", "b.txt", "c.txt"};
    af_object(&a, 9302, "b.txt", "bee");
    af_object(&a, 9303, "c.txt", "sea");
    af_conversation(&a, 801, 3, ids, names, NULL);
    char *res = af_run(&a, 801, "failed");
    CHECK(strstr(res, "1 of 3") && strstr(res, "attachment 9301") && strstr(res, "2 copied"),
          "the reason names the bad one and the copied count: %s", res);
    free(res);
    cJSON *files = ttoga_note_files(&a.toga, a.note);
    CHECK(cJSON_GetArraySize(files) == 2, "the other two are on the note (%d)",
          cJSON_GetArraySize(files));
    cJSON_Delete(files);
    af_stop(&a);
}

/* URLs the policy refuses: the job fails with the reason, and nothing is downloaded. */
static void
test_refused(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    int port = a.host.port;
    char *good = af_path(9201, "r.txt");
    /* A signed URL on the allowed host whose path redirects to a loopback host. */
    cJSON *r = cJSON_CreateObject();
    char *loop_url = xasprintf("https://loop.attachments.test:%d%s", port, good);
    cJSON_AddStringToObject(r, "path", good);
    cJSON_AddStringToObject(r, "location", loop_url);
    af_post(&a.host, "redirect", r);
    struct {
        char *url;
        const char *why;
    } cases[] = {
        {xasprintf("https://example.com/x.txt"), "not in [attachments] allowed_hosts"},
        {xasprintf("http://files.attachments.test:%d%s", port, good), "only https"},
        {xasprintf("https://loop.attachments.test:%d%s", port, good), "127.0.0.1 (loopback)"},
        {xasprintf("https://ten.attachments.test%s", good), "10.0.0.1 (private)"},
        {xasprintf("https://meta.attachments.test%s", good), "169.254.169.254 (link-local"},
        {xasprintf("https://localhost:%d%s", port, good), "(loopback)"},
        {NULL, "redirect refused: loop.attachments.test resolves to 127.0.0.1"},
    };
    int n = (int)(sizeof(cases) / sizeof(cases[0]));
    for (int i = 0; i < n; i++) {
        const int64_t ids[] = {9201};
        const char *names[] = {"r.txt"};
        /* The last case has no URL of its own: the fake signs one on the allowed host. */
        const char *urls[] = {cases[i].url};
        af_conversation(&a, 700 + i, 1, ids, names, urls);
        char *res = af_run(&a, 700 + i, "failed");
        CHECK(strstr(res, "refused") && strstr(res, cases[i].why),
              "case %d: the reason says why (%s): %s", i, cases[i].why, res);
        free(res);
        free(cases[i].url);
    }
    CHECK(af_host_hits(&a, good, 302) == 1 && af_host_hits(&a, good, 0) == 1,
          "only the redirecting URL reached the host, once");
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 0, "nothing uploaded");
    free(loop_url);
    free(good);
    af_stop(&a);
}

/* Freshservice answers the conversation fetch with a 429 and Retry-After of an hour (past the
 * client's own retries): the copy waits that hour. It retried after its backoff before (10 s at
 * most), and spent its every attempt inside the wait: a webhook's copy, enqueued once, failed
 * for good within minutes. */
static void
test_told_to_wait(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    const int64_t ids[] = {9301};
    const char *names[] = {"wait.txt"};
    af_object(&a, 9301, "wait.txt", "later");
    af_conversation(&a, 901, 1, ids, names, NULL);
    tfake_control(&a.fs, "faults",
                  "{\"path\":\"/api/v2/tickets/\",\"status\":429,\"retry_after\":3600,"
                  "\"count\":1}");
    char *p = af_params(&a, 901);
    int64_t id = t_enqueue(t, "Attachments/Freshservice/CopyToToga", p, NULL);
    free(p);
    WAIT_UNTIL(t_job_in_state(t, id, "pending") || t_job_done(t, id), 60000, "the attempt ends");
    char *st = t_job_state(t, id);
    CHECK(
        strcmp(st, "pending") == 0 &&
            t_sql_int(t, -1, "SELECT TIMESTAMPDIFF(SECOND, NOW(6), run_at) FROM jobs WHERE id = ?",
                      DB_P(DBI(id))) >= 3500,
        "the copy runs again after the Retry-After: %s, in %lld s", st,
        (long long)t_sql_int(t, -1,
                             "SELECT TIMESTAMPDIFF(SECOND, NOW(6), run_at) FROM jobs WHERE id = ?",
                             DB_P(DBI(id))));
    free(st);
    af_stop(&a);
}

/* The Freshservice webhook naming a conversation and a note enqueues the copy at once, at a
 * higher priority than the ticket sync. */
static void
test_webhook_priority(struct tenv *t)
{
    struct af a;
    af_start(&a, t);
    t_conf_append(
        t, "[webhook.freshservice]\nauth = token\ntoken = wh-secret-0123456789\ntoken_header = "
           "X-Fs-Token\n");
    tprod_start(t);
    char *body = xasprintf("{\"freshservice_webhook\":{\"ticket_id\":\"%lld\","
                           "\"conversation_id\":801,\"note_uuid\":\"%s\"}}",
                           (long long)a.ticket, a.note);
    CHECK(tprod_call(t, "POST", "/webhook/freshservice/ticket", body,
                     "X-Fs-Token: wh-secret-0123456789", NULL) == 202,
          "the webhook is accepted");
    free(body);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = "
                         "'Attachments/Freshservice/CopyToToga'",
                         DB_NOP) == 1,
               30000, "the copy is enqueued");
    CHECK(t_sql_int(t, 0,
                    "SELECT priority FROM jobs WHERE action = "
                    "'Attachments/Freshservice/CopyToToga'",
                    DB_NOP) == 100,
          "at priority 100");
    CHECK(t_sql_int(t, -1,
                    "SELECT TIMESTAMPDIFF(SECOND, dt_created, run_at) FROM jobs WHERE action = "
                    "'Attachments/Freshservice/CopyToToga'",
                    DB_NOP) <= 0,
          "due at once");
    af_stop(&a);
}

/* Runs `jobfleet run ACTION --params P` with the fleet's Redis replaced by a closed port;
 * returns its stderr (caller frees). */
static char *
run_without_redis(struct tenv *t, const char *action, const char *params)
{
    char *text = t_read_file(t->conf), *conf = t->conf;
    char *path = xasprintf("%s/noredis.conf", t->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "w");
    CHECK(fp && fprintf(fp, "%s\n[redis]\nport = 1\n", text) > 0 && fclose(fp) == 0, "%s", path);
    t->conf = path;
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, (const char *const[]){"run", action, "--params", params, NULL});
    t->conf = conf;
    CHECK(rc == 1, "%s exited %d: %s", action, rc, err);
    free(out);
    free(text);
    free(path);
    return err;
}

/* Redis unreachable when a copy opens its rate-budgeted services is an outage, not a
 * configuration error: the copy is retried, not failed for good (a webhook enqueues it once). */
static void
test_redis_unreachable_retries(struct tenv *t)
{
    char *c = xasprintf("[service.freshservice]\nbase_url = http://127.0.0.1:1\napi_key = k\n"
                        "rate_per_minute = 60\n\n"
                        "[service.toga]\nbase_url = http://127.0.0.1:1/v2\napi_key = k\n"
                        "api_secret = s\nrate_per_minute = 60\n\n"
                        "[attachments]\nallowed_hosts = .attachments.test\nuploads_dir = %s\n",
                        t->dir);
    t_conf_append(t, c);
    free(c);
    char *err = run_without_redis(t, "Attachments/Freshservice/CopyToToga",
                                  "{\"ticket_id\":1,\"conversation_id\":2,\"note_uuid\":\"n-1\"}");
    CHECK(strstr(err, "CopyToToga retry: ") && strstr(err, "Redis is unreachable"),
          "the copy from Freshservice is retried: %s", err);
    free(err);
    err = run_without_redis(t, "Attachments/Toga/CopyToDesk",
                            "{\"note_uuid\":\"n-1\",\"desk_reply_id\":3}");
    CHECK(strstr(err, "CopyToDesk retry: ") && strstr(err, "Redis is unreachable"),
          "the copy to the desk is retried: %s", err);
    free(err);
}

static const struct test_case cases[] = {
    {"e2e_attach_fs_one_bad", test_one_bad, NULL},
    {"e2e_attach_fs_copy_twice", test_copy_twice, NULL},
    {"e2e_attach_fs_expired_refetch", test_expired_refetch, NULL},
    {"e2e_attach_fs_refused", test_refused, NULL},
    {"e2e_attach_fs_webhook_priority", test_webhook_priority, NULL},
    {"e2e_attach_fs_told_to_wait", test_told_to_wait, NULL},
    {"e2e_attach_fs_redis_unreachable_retries", test_redis_unreachable_retries, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
