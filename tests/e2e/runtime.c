/* End-to-end tests of the job-function runtime: `jobfleet run` and `jobfleet actions`, and
 * System/Probe in a real worker using the log kept with the attempt, progress, a named
 * database, a child job and dry run. */
#include "tfake.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the CLI, expecting exit code rc; returns its stdout (caller frees). */
static char *
cli_expect(struct tenv *t, int rc, const char *const *argv)
{
    char *out = NULL, *err = NULL;
    int got = t_cli(t, &out, &err, argv);
    CHECK(got == rc, "jobfleet %s exited %d, expected %d: %s%s", argv[0], got, rc, out, err);
    free(err);
    return out;
}

static void
test_run_and_actions(struct tenv *t)
{
    char *out = cli_expect(
        t, 0, (const char *const[]){"run", "System/Echo", "--params", "{\"a\":1}", NULL});
    CHECK(strcmp(out, "{\"a\":1}\n") == 0, "run prints the result: %s", out);
    free(out);
    out = cli_expect(t, 1, (const char *const[]){"run", "System/Fail", NULL});
    free(out);
    out = cli_expect(t, 2, (const char *const[]){"run", "No/Such", NULL});
    free(out);
    /* A function that crashes must not take the CLI with it (it died by SIGSEGV, exit 139,
     * where --help promises 1): it runs in a child, and the CLI says how it died. */
    char *err = NULL;
    int rc = t_cli(t, NULL, &err, (const char *const[]){"run", "System/Crash", NULL});
    CHECK(rc == 1 && strstr(err, "System/Crash crashed: signal 11"), "run System/Crash: %d %s", rc,
          err);
    free(err);
    out = cli_expect(t, 2, (const char *const[]){"run", "System/Echo", "--params", "[1]", NULL});
    free(out);
    out = cli_expect(t, 0, (const char *const[]){"--json", "actions", NULL});
    cJSON *arr = cJSON_Parse(out);
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) >= 10, "actions --json: %s", out);
    const char *want[] = {"System/Noop", "System/Cleanup/Jobs", "System/Probe",
                          "System/Echo/Webhook"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK(strstr(out, want[i]) != NULL, "actions lists %s", want[i]);
    const cJSON *first = cJSON_GetArrayItem(arr, 0);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(first, "max_attempts")) &&
              cJSON_IsString(cJSON_GetObjectItem(first, "queue")),
          "an action has its defaults: %s", out);
    cJSON_Delete(arr);
    free(out);
    out = cli_expect(t, 0, (const char *const[]){"actions", NULL});
    CHECK(strstr(out, "System/Sleep") && strstr(out, "3600s"), "actions table: %s", out);
    free(out);
}

/* The job as `jobfleet show ID --json` prints it (caller deletes). */
static cJSON *
show_json(struct tenv *t, int64_t id)
{
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
    char *out = cli_expect(t, 0, (const char *const[]){"--json", "show", idbuf, NULL});
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL, "show --json parses: %s", out);
    free(out);
    return j;
}

static void
make_probe_table(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "CREATE TABLE probe_rows (job_id BIGINT, attempt INT)") == 0,
          "create probe_rows");
}

static int64_t
probe_rows(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM probe_rows", DB_NOP);
}

static void
test_probe_context(struct tenv *t)
{
    make_probe_table(t);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "System/Probe", "{\"db\":\"test\",\"child\":\"System/Noop\"}", NULL);
    WAIT_UNTIL(t_job_done(t, id), 20000, "probe job %lld finishes", (long long)id);
    CHECK(t_job_in_state(t, id, "succeeded"), "probe succeeded");
    CHECK(probe_rows(t) == 1, "the probe wrote its row in [db.test]");
    int64_t child = t_sql_int(t, 0, "SELECT id FROM jobs WHERE origin = 'job' AND action = ?",
                              DB_P(DBS("System/Noop")));
    CHECK(child > 0, "the probe enqueued a child job");
    WAIT_UNTIL(t_job_in_state(t, child, "succeeded"), 20000, "the child job runs");
    cJSON *j = show_json(t, id);
    const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "attempts"), 0);
    const cJSON *log = cJSON_GetObjectItem(a0, "log");
    CHECK(cJSON_IsString(log) && strstr(log->valuestring, "INFO probe starting") &&
              strstr(log->valuestring, "holds 0 probe rows") &&
              strstr(log->valuestring, "enqueued System/Noop as job"),
          "the attempt's log is kept and shown: %s", cJSON_IsString(log) ? log->valuestring : "");
    cJSON_Delete(j);
    /* A retried parent finds its child by the idempotency key instead of making another. */
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
    free(cli_expect(t, 0, (const char *const[]){"retry", "--force", idbuf, NULL}));
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id))) == 2,
        20000, "the retried probe runs again");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE origin = 'job'", DB_NOP) == 1,
          "still one child job");
    CHECK(probe_rows(t) == 2, "the second attempt wrote its row");
}

static void
test_probe_dry_run(struct tenv *t)
{
    make_probe_table(t);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "System/Probe",
                           "{\"db\":\"test\",\"child\":\"System/Noop\",\"dry_run\":true}", NULL);
    WAIT_UNTIL(t_job_done(t, id), 20000, "dry-run probe finishes");
    CHECK(t_job_in_state(t, id, "succeeded"), "dry run succeeded");
    CHECK(probe_rows(t) == 0, "a dry run writes no row");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE origin = 'job'", DB_NOP) == 0,
          "a dry run enqueues no child");
    char *result = t_sql_str(t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
    cJSON *r = cJSON_Parse(result ? result : "");
    const cJSON *plan = cJSON_GetObjectItem(r, "plan");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(r, "dry_run")) && cJSON_GetArraySize(plan) == 2 &&
              strstr(result, "\"insert\":\"probe_rows\"") &&
              strstr(result, "\"enqueue\":\"System/Noop\""),
          "the plan is the result: %s", result);
    cJSON_Delete(r);
    free(result);
    /* `jobfleet run --dry-run` plans the same without a queue or a job row. */
    char *out = cli_expect(t, 0,
                           (const char *const[]){"run", "System/Probe", "--params",
                                                 "{\"db\":\"test\"}", "--dry-run", NULL});
    CHECK(strstr(out, "\"dry_run\":true") && strstr(out, "probe_rows"), "run --dry-run: %s", out);
    free(out);
    CHECK(probe_rows(t) == 0, "run --dry-run writes no row");
    /* A "dry_run" that is not a boolean is refused, not run for real. */
    char *err = NULL;
    int rc = t_cli(t, NULL, &err,
                   (const char *const[]){"run", "System/Probe", "--params",
                                         "{\"db\":\"test\",\"dry_run\":\"true\"}", NULL});
    CHECK(rc == 2 && err && strstr(err, "\"dry_run\" must be true or false"),
          "run with dry_run \"true\": rc %d, %s", rc, err ? err : "");
    free(err);
    CHECK(probe_rows(t) == 0, "nor written by it");
}

/* A write the job function forgot to skip fails in a dry run instead of writing. */
static void
test_dry_run_session_read_only(struct tenv *t)
{
    make_probe_table(t);
    char *out = NULL, *err = NULL;
    int rc =
        t_cli(t, &out, &err,
              (const char *const[]){"run", "System/Probe", "--params",
                                    "{\"db\":\"test\",\"force_write\":true}", "--dry-run", NULL});
    CHECK(rc == 1 && strstr(err, "READ ONLY"), "forced write refused: rc %d %s", rc, err);
    free(out);
    free(err);
    /* The same after the connection was lost and came back: the new session is read-only too. */
    rc = t_cli(t, &out, &err,
               (const char *const[]){"run", "System/Probe", "--params",
                                     "{\"db\":\"test\",\"force_write\":true,\"reconnect\":true}",
                                     "--dry-run", NULL});
    CHECK(rc == 1 && strstr(err, "READ ONLY"), "forced write after a reconnect refused: rc %d %s",
          rc, err);
    free(out);
    free(err);
    CHECK(probe_rows(t) == 0, "nothing written");
}

static void
test_progress_visible(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "System/Probe", "{\"steps\":40,\"sleep_ms\":100}", NULL);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT progress_done FROM job_logs WHERE job_id = ?", DB_P(DBI(id))) > 0,
        15000, "progress shows while the job runs");
    CHECK(t_job_in_state(t, id, "running"), "still running when progress shows");
    cJSON *j = show_json(t, id);
    const cJSON *p = cJSON_GetObjectItem(j, "progress");
    CHECK(cJSON_IsObject(p) && cJSON_GetObjectItem(p, "total")->valuedouble == 40,
          "show --json has progress");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "log")), "show --json has the running log");
    cJSON_Delete(j);
    /* At most one write a second: 40 steps in ~4 s leave the row updated a few times only,
     * which this checks through the final value being saved at the end. */
    WAIT_UNTIL(t_job_done(t, id), 20000, "probe finishes");
    CHECK(t_sql_int(t, 0, "SELECT progress_done FROM job_logs WHERE job_id = ?", DB_P(DBI(id))) ==
              40,
          "the final progress is saved");
}

/* A job stopped by its worker (here its timeout) kept only what it saved a second before:
 * the lines and progress of its last second, the ones that say where it hung, were lost with
 * the child. The child now saves them when the SIGTERM comes, with a line saying so. */
static void
test_log_saved_when_stopped(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "System/Probe", "{\"steps\":2,\"sleep_ms\":60000}",
                           (const char *const[]){"--timeout", "2", "--max-attempts", "1", NULL});
    WAIT_UNTIL(t_job_done(t, id), 20000, "the probe is stopped by its timeout");
    char *log =
        t_sql_str(t, "SELECT log FROM job_logs WHERE job_id = ? AND attempt = 1", DB_P(DBI(id)));
    CHECK(log && strstr(log, "INFO probe starting") &&
              strstr(log, "stopped by its worker (SIGTERM)"),
          "the log has the line the stop came in: %s", log ? log : "(no row)");
    free(log);
    CHECK(t_sql_int(t, 0, "SELECT progress_done FROM job_logs WHERE job_id = ? AND attempt = 1",
                    DB_P(DBI(id))) == 1,
          "the progress of the step done a moment before the stop is saved");
}

/* Two workers (two children each) run probes that call the fake through [service.fake] at
 * 120 requests a minute: across all four children never more than 2 requests in any second
 * (less a 20 ms tolerance: the fake stamps a request when it reads it, a little after the
 * client took its slot on Redis's clock), and a 429's Retry-After pauses the whole fleet. */
static void
test_probe_http_budget_two_workers(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    setenv("JOBFLEET_SERVICE_FAKE_BASE_URL", f.base_url, 1);
    tfake_control(&f, "faults", "{\"path\":\"/ping\",\"status\":429,\"retry_after\":2}");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = t_enqueue(t, "System/Probe", "{\"steps\":3,\"service\":\"fake\"}", NULL);
    for (int i = 0; i < 4; i++) {
        WAIT_UNTIL(t_job_done(t, ids[i]), 40000, "probe %d finishes", i);
        CHECK(t_job_in_state(t, ids[i], "succeeded"), "probe %d succeeded", i);
    }
    double *a = NULL;
    int n = tfake_arrivals(&f, "/ping", &a);
    CHECK(n == 13, "12 requests and the one answered 429: %d", n);
    int strict = tfake_max_in_window(a, n, 1000.0), tolerant = tfake_max_in_window(a, n, 980.0);
    fprintf(stderr, "FIGURES: %d requests in %.0f ms; max in any 1000 ms window %d, 980 ms %d\n", n,
            a[n - 1] - a[0], strict, tolerant);
    CHECK(tolerant <= 2, "%d requests in one second across both workers", tolerant);
    CHECK(a[1] - a[0] >= 2000, "the 429's Retry-After holds every child: next after %.0f ms",
          a[1] - a[0]);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(DISTINCT instance_id) FROM job_attempts", DB_NOP) == 2,
          "both workers ran probes");
    free(a);
    tfake_stop(&f);
}

/* An HTTP error names the request's path clipped to 160 bytes, which can cut a character in
 * two; the reason the attempt ends with goes into its log, and one bad byte used to make
 * MariaDB refuse every save of that log: the operator saw none of it. */
static void
test_log_keeps_clipped_text(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    setenv("JOBFLEET_SERVICE_FAKE_BASE_URL", f.base_url, 1);
    tfake_control(&f, "faults", "{\"path\":\"/bad/\",\"status\":404,\"count\":100}");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    /* "/bad/" and 100 two-byte characters: the clip at 160 bytes falls inside one. */
    struct buf params = {0};
    buf_printf(&params, "{\"steps\":1,\"service\":\"fake\",\"path\":\"/bad/");
    for (int i = 0; i < 100; i++)
        buf_printf(&params, "\xc3\xa9");
    buf_printf(&params, "\"}");
    int64_t id = t_enqueue(t, "System/Probe", params.data,
                           (const char *const[]){"--max-attempts", "1", NULL});
    buf_release(&params);
    WAIT_UNTIL(t_job_done(t, id), 20000, "probe job %lld finishes", (long long)id);
    CHECK(t_job_in_state(t, id, "failed"), "the probe failed on the 404");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM job_logs WHERE job_id = ? AND attempt = 1 AND log LIKE "
                    "'%System/Probe failed (retried if attempts remain): fake: GET /bad/%'",
                    DB_P(DBI(id))) == 1,
          "the attempt's log is saved, its last line too");
    tfake_stop(&f);
}

/* A dry run of the retention functions deletes nothing and says what it would delete: they
 * opened a connection of their own, outside the runtime's read-only session, and deleted
 * every row past the cutoff while their result said "dry_run": true. */
static void
test_cleanup_dry_run(struct tenv *t)
{
    static const char *const setup[] = {
        "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, dt_completed) "
        "SELECT UUID(), 'System/Noop', '{}', 'succeeded', NOW(6) - INTERVAL 3 DAY, "
        "NOW(6) - INTERVAL 3 DAY, NOW(6) - INTERVAL 3 DAY FROM seq_1_to_2",
        "INSERT INTO webhook_log (dt_received, path, status) SELECT NOW(6) - INTERVAL 3 DAY, "
        "'/webhook/x', 202 FROM seq_1_to_2",
    };
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++)
        CHECK(db_exec_static(t->db, setup[i]) == 0, "%s: %s", setup[i], db_errstr(t->db));
    const char *actions[] = {"System/Cleanup/Jobs", "System/Cleanup/Webhooks"};
    for (int i = 0; i < 2; i++) {
        char *out = cli_expect(t, 0,
                               (const char *const[]){"run", actions[i], "--dry-run", "--params",
                                                     "{\"days\":1}", NULL});
        CHECK(strstr(out, "\"would_delete\":2") && strstr(out, "\"deleted\":0"),
              "%s --dry-run says what it would delete: %s", actions[i], out);
        free(out);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "the old jobs stay");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log", DB_NOP) == 2,
          "the old webhook log rows stay");
}

/* A 429's Retry-After pauses every child of the fleet for a service without a rate budget too
 * (only budgeted services drew on Redis, so the others' pause held the one client): two
 * children probe at once, one gets the 429, and the other's next request waits it out. */
static void
test_probe_429_pauses_unbudgeted(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    setenv("JOBFLEET_SERVICE_FAKE_BASE_URL", f.base_url, 1);
    tfake_control(&f, "faults", "{\"path\":\"/ping\",\"status\":429,\"retry_after\":3}");
    t_start_worker(t, NULL);
    int64_t ids[2];
    for (int i = 0; i < 2; i++)
        ids[i] = t_enqueue(t, "System/Probe", "{\"steps\":3,\"sleep_ms\":300,\"service\":\"fake\"}",
                           NULL);
    for (int i = 0; i < 2; i++) {
        WAIT_UNTIL(t_job_done(t, ids[i]), 30000, "probe %d finishes", i);
        CHECK(t_job_in_state(t, ids[i], "succeeded"), "probe %d succeeded", i);
    }
    double *a = NULL;
    int n = tfake_arrivals(&f, "/ping", &a);
    CHECK(n == 7, "6 requests and the one answered 429: %d", n);
    /* a[0] was answered 429; a request sent with it may have passed before the pause began. */
    for (int i = 1; i < n; i++)
        CHECK(a[i] - a[0] < 150 || a[i] - a[0] >= 2900,
              "request %d sent %.0f ms after the 429, inside its Retry-After of 3 s", i,
              a[i] - a[0]);
    free(a);
    tfake_stop(&f);
}

/* A child keeps its [db.<name>] connection across jobs. One the server closed while the child
 * was idle (wait_timeout, a restart) failed the next job's first statement, an attempt lost
 * with its backoff; the child now finds it gone before handing it out. */
static void
test_probe_db_closed_while_idle(struct tenv *t)
{
    make_probe_table(t);
    t_start_worker(t, NULL);
    int64_t first = t_enqueue(t, "System/Probe", "{\"db\":\"test\"}", NULL);
    WAIT_UNTIL(t_job_done(t, first), 20000, "the first probe finishes");
    CHECK(t_job_in_state(t, first, "succeeded"), "the first probe succeeded");
    /* The child's [db.test] connection: the one that inserted into probe_rows. Every
     * connection of the test's user but this test's own is the worker's. */
    CHECK(t_kill_sessions(t, NULL) > 0, "the worker's connections killed");
    sleep_ms(1100); /* idle past the check's threshold */
    int64_t second = t_enqueue(t, "System/Probe", "{\"db\":\"test\"}",
                               (const char *const[]){"--max-attempts", "1", NULL});
    WAIT_UNTIL(t_job_done(t, second), 20000, "the second probe finishes");
    CHECK(t_job_in_state(t, second, "succeeded"), "the second probe succeeded on its one attempt");
    CHECK(probe_rows(t) == 2, "both wrote their row");
}

#define DB_TEST "[db.test]\nconnect_timeout_s = 5\n"
#define FAKE_SERVICE "[service.fake]\nbase_url = http://127.0.0.1:1\nrate_per_minute = 120\n"

/* FAULTS [15]: a job whose parameters are not JSON (clients cannot send one; a row written by
 * hand or by another version can hold one) fails at its first attempt with what is wrong, not
 * after every attempt it has, and the worker runs the next job. */
static void
test_malformed_parameters(struct tenv *t)
{
    int64_t bad = t_enqueue(t, "System/Echo", "{\"a\":1}",
                            (const char *const[]){"--max-attempts", "3", NULL});
    CHECK(db_exec(t->db, "UPDATE jobs SET parameters = '{\"a\":' WHERE id = ?", DB_P(DBI(bad)),
                  NULL, NULL) == 0,
          "spoil the parameters: %s", db_errstr(t->db));
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(t_job_in_state(t, bad, "failed"), 20000, "the job is %s", t_job_state(t, bad));
    char *why = t_sql_str(t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(bad)));
    CHECK(why && strstr(why, "parameters are not a valid JSON object"), "failed with: %s", why);
    free(why);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(bad))) ==
              1,
          "a job that can never run took more than one attempt");
    int64_t next = t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(t_job_in_state(t, next, "succeeded"), 20000, "the next job is %s",
               t_job_state(t, next));
    CHECK(kill(w, 0) == 0, "the worker died");
}

static const struct test_case cases[] = {
    {"e2e_runtime_run_and_actions", test_run_and_actions, NULL},
    {"e2e_runtime_probe_context", test_probe_context, DB_TEST},
    {"e2e_runtime_probe_dry_run", test_probe_dry_run, DB_TEST},
    {"e2e_runtime_dry_run_read_only", test_dry_run_session_read_only, DB_TEST},
    {"e2e_runtime_progress_visible", test_progress_visible, NULL},
    {"e2e_runtime_log_saved_when_stopped", test_log_saved_when_stopped, NULL},
    {"e2e_runtime_http_budget_two_workers", test_probe_http_budget_two_workers, FAKE_SERVICE},
    {"e2e_runtime_log_keeps_clipped_text", test_log_keeps_clipped_text, FAKE_SERVICE},
    {"e2e_runtime_cleanup_dry_run", test_cleanup_dry_run, NULL},
    {"e2e_runtime_malformed_parameters", test_malformed_parameters, NULL},
    {"e2e_runtime_db_closed_while_idle", test_probe_db_closed_while_idle, DB_TEST},
    {"e2e_runtime_429_pauses_unbudgeted", test_probe_429_pauses_unbudgeted,
     "[service.fake]\nbase_url = http://127.0.0.1:1\n[worker]\nconcurrency = 2\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
