/* End-to-end tests of the TOGA 2 client (jobs/toga.c) against the fake (tests/fakes/toga.py):
 * the calls run inside a job context made by the runtime (job_run, foreground), as job
 * functions make them. */
#include "runtime.h"
#include "tfake.h"
#include "toga.h"
#include "tsupport.h"
#include "ttoga.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct tfake toga_fake;

/* Runs fn once as a job (foreground runtime on the test's config) and returns its status. */
static enum job_status
run_job(struct tenv *t, job_fn *fn, const char *params, char **reason)
{
    struct job_env *env = job_env_new(&t->cfg, true);
    struct job_out out = {0};
    job_run(env, fn, 0, 1, "Test/Toga", params, NULL, &out);
    enum job_status st = out.status;
    if (reason)
        *reason = out.reason ? xstrdup(out.reason) : NULL;
    job_out_release(&out);
    job_env_free(env);
    return st;
}

static void
start_fake(struct tenv *t)
{
    tfake_start(t, &toga_fake, "toga.py", NULL);
    char *url = xasprintf("%s/v2", toga_fake.base_url);
    setenv("JOBFLEET_SERVICE_TOGA_BASE_URL", url, 1);
    free(url);
    char err[512];
    cfg_release(&t->cfg);
    CHECK(cfg_load(&t->cfg, t->conf, err, sizeof(err)) == 0, "reload config: %s", err);
}

/* The note uuid the seeded fixture made, for the job functions below. */
static char g_note[64];

/* Seeds a ticket with a note holding nfiles files (f0.txt, ...) and remembers the note. */
static void
seed_note(int nfiles)
{
    char *note = ttoga_note(&toga_fake);
    snprintf(g_note, sizeof(g_note), "%s", note);
    for (int i = 0; i < nfiles; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d.txt", i);
        free(ttoga_note_file(&toga_fake, note, name, "abc", 3));
    }
    free(note);
}

/* Sets the fake's mode (a JSON object's text). */
static void
mode(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON_Delete(ttoga_control(&toga_fake, "mode", doc));
    cJSON_Delete(doc);
}

/* Lists the note's files and fails the job unless there are params.want of them. */
static void
job_list_files(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct toga tg;
    char err[512];
    if (toga_open(ctx, &tg, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    struct toga_err e;
    cJSON *files = toga_note_files(&tg, g_note, &e);
    int want = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(params, "want"));
    if (files == NULL)
        job_out_fail(out, JOB_FAIL, "%s", e.msg);
    else if (cJSON_GetArraySize(files) != want)
        job_out_fail(out, JOB_FAIL, "got %d files, want %d", cJSON_GetArraySize(files), want);
    else
        job_out_ok(out, NULL);
    cJSON_Delete(files);
    toga_close(&tg);
}

static void
test_note_files(struct tenv *t)
{
    start_fake(t);
    for (int n = 0; n <= 2; n += 2) {
        seed_note(n);
        char *p = xasprintf("{\"want\":%d}", n);
        char *reason = NULL;
        CHECK(run_job(t, job_list_files, p, &reason) == JOB_OK, "%d files: %s", n, reason);
        free(p);
        free(reason);
    }
    CHECK(ttoga_count(&toga_fake, "GET /v2/ticket-notes/{uuid}/ticket-note-files") == 0,
          "the nested route is never used for listing");
    /* The misspelt key: the note answer has ticketNotesFiles only, so the read fails. */
    mode("{\"note_files_key\":\"ticketNotesFiles\"}");
    char *reason = NULL;
    CHECK(run_job(t, job_list_files, "{\"want\":2}", &reason) == JOB_FAIL,
          "a note without ticketNoteFiles fails the read");
    CHECK(reason && strstr(reason, "ticketNoteFiles"), "the reason names the key: %s", reason);
    free(reason);
    tfake_stop(&toga_fake);
}

/* Uploads one file to the note and reads it back. */
static void
job_roundtrip(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    struct toga tg;
    char err[512];
    if (toga_open(ctx, &tg, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    struct toga_err e;
    char fu[37];
    static const unsigned char bytes[] = {0, 1, 2, 'x', 0xff};
    if (toga_file_attach(&tg, g_note, "r.bin", bytes, sizeof(bytes), fu, &e) != TOGA_OK) {
        job_out_fail(out, JOB_FAIL, "attach: %s", e.msg);
        toga_close(&tg);
        return;
    }
    char *name;
    unsigned char *got;
    size_t len;
    if (toga_file_get(&tg, fu, &name, &got, &len, &e) != TOGA_OK)
        job_out_fail(out, JOB_FAIL, "get: %s", e.msg);
    else if (strcmp(name, "r.bin") != 0 || len != sizeof(bytes) || memcmp(got, bytes, len))
        job_out_fail(out, JOB_FAIL, "the file came back different");
    else
        job_out_ok(out, NULL);
    if (e.fail == TOGA_OK) {
        free(name);
        free(got);
    }
    toga_close(&tg);
}

static void
test_roundtrip_and_transaction_ids(struct tenv *t)
{
    start_fake(t);
    seed_note(0);
    /* One 503 on the upload: the retry must carry a new transactionId or the fake says EV-5. */
    tfake_control(&toga_fake, "faults",
                  "{\"path\":\"/v2/files\",\"method\":\"POST\",\"status\":503,\"count\":1}");
    char *reason = NULL;
    CHECK(run_job(t, job_roundtrip, "{}", &reason) == JOB_OK, "roundtrip: %s", reason);
    free(reason);
    CHECK(ttoga_count(&toga_fake, "POST /v2/files") == 2, "the upload was retried once");
    cJSON *log = tfake_log(&toga_fake);
    const cJSON *ids = cJSON_GetObjectItem(log, "transaction_ids");
    int n = cJSON_GetArraySize(ids);
    CHECK(n >= 5, "every request carried a transactionId (%d)", n);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK(strcmp(cJSON_GetArrayItem(ids, i)->valuestring,
                         cJSON_GetArrayItem(ids, j)->valuestring) != 0,
                  "transactionId %d and %d differ", i, j);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
        CHECK(!cJSON_IsTrue(cJSON_GetObjectItem(e, "txn_reused")), "no transactionId reused");
    cJSON_Delete(log);
    tfake_stop(&toga_fake);
}

/* Two calls with the token expired in between: the second renews and succeeds. */
static void
job_two_calls(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    struct toga tg;
    char err[512];
    if (toga_open(ctx, &tg, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    struct toga_err e;
    cJSON *a = toga_get(&tg, "/tickets", "tickets", &e);
    if (a)
        mode("{\"expire_tokens\":true}");
    cJSON *b = a ? toga_get(&tg, "/tickets", "tickets", &e) : NULL;
    if (b)
        job_out_ok(out, NULL);
    else
        job_out_fail(out, JOB_FAIL, "%s", e.msg);
    cJSON_Delete(a);
    cJSON_Delete(b);
    toga_close(&tg);
}

static void
test_token_renewal(struct tenv *t)
{
    start_fake(t);
    char *reason = NULL;
    CHECK(run_job(t, job_two_calls, "{}", &reason) == JOB_OK, "renewal: %s", reason);
    free(reason);
    CHECK(ttoga_count(&toga_fake, "POST /v2/auth/api") == 1, "one login");
    CHECK(ttoga_count(&toga_fake, "POST /v2/auth/refresh") == 1, "one refresh after the expiry");
    CHECK(ttoga_count(&toga_fake, "GET /v2/tickets") == 3, "the refused call was sent again once");
    tfake_stop(&toga_fake);
}

static void
test_wrong_secret(struct tenv *t)
{
    start_fake(t);
    char *reason = NULL;
    CHECK(run_job(t, job_two_calls, "{}", &reason) == JOB_FAIL, "a wrong secret fails");
    CHECK(reason && strstr(reason, "EN-1"), "the reason carries EN-1: %s", reason);
    free(reason);
    tfake_stop(&toga_fake);
}

#define TOGA_CONF "[service.toga]\nbase_url = http://127.0.0.1:9/v2\napi_key = toga-key\n"
static const struct test_case cases[] = {
    {"e2e_toga_note_files", test_note_files, TOGA_CONF "api_secret = toga-secret\n"},
    {"e2e_toga_roundtrip_transaction_ids", test_roundtrip_and_transaction_ids,
     TOGA_CONF "api_secret = toga-secret\nbackoff_base_ms = 10\n"},
    {"e2e_toga_token_renewal", test_token_renewal, TOGA_CONF "api_secret = toga-secret\n"},
    {"e2e_toga_wrong_secret", test_wrong_secret, TOGA_CONF "api_secret = wrong\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
