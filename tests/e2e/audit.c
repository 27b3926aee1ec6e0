/* End-to-end tests of audit_log beyond the dashboard: every change the CLI and the JSON API
 * make is recorded with who made it, a job's change in the same transaction as the change
 * itself, and jobfleet show lists them. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The actor the CLI records for this process's user. */
static char *
cli_actor(void)
{
    const struct passwd *pw = getpwuid(geteuid());
    return xasprintf("cli:%s", pw ? pw->pw_name : "?");
}

static void
cli_ok(struct tenv *t, char **out, const char *const *argv)
{
    char *err = NULL;
    int rc = t_cli(t, out, &err, argv);
    CHECK(rc == 0, "jobfleet %s %s exited %d: %s", argv[0], argv[1] ? argv[1] : "", rc, err);
    free(err);
}

/* The number of audit rows with these values (detail NULL: any). */
static int64_t
audit_rows(struct tenv *t, const char *actor, const char *action, const char *kind, const char *id,
           const char *detail)
{
    return t_sql_int(t, -1,
                     "SELECT COUNT(*) FROM audit_log WHERE actor = ? AND action = ? AND "
                     "object_kind = ? AND object_id = ? AND (? IS NULL OR detail = ?)",
                     DB_P(DBS(actor), DBS(action), DBS(kind), DBS(id), DBS(detail), DBS(detail)));
}

/* Enqueues a job that stays queued (no worker runs in these tests); returns its id as text
 * in idbuf and as a number. */
static int64_t
queued_job(struct tenv *t, char *idbuf, size_t len)
{
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    snprintf(idbuf, len, "%lld", (long long)id);
    return id;
}

static void
test_cli_changes(struct tenv *t)
{
    unsetenv("SUDO_USER");
    char *me = cli_actor(), ids[24], *out = NULL;
    int64_t id = queued_job(t, ids, sizeof(ids));
    cli_ok(t, NULL, (const char *const[]){"cancel", ids, NULL});
    cli_ok(t, NULL, (const char *const[]){"retry", ids, NULL});
    CHECK(audit_rows(t, me, "cancel", "job", ids, "cancelled") == 1, "cancel recorded by %s", me);
    CHECK(audit_rows(t, me, "retry", "job", ids, "queued") == 1, "retry recorded");
    cli_ok(t, &out, (const char *const[]){"show", ids, NULL});
    CHECK(strstr(out, "changes:") && strstr(out, "retry    by ") && strstr(out, "cancel   by ") &&
              strstr(out, me) && strstr(out, "cancelled"),
          "show lists the changes: %s", out);
    CHECK(strstr(out, "retry    by ") < strstr(out, "cancel   by "), "newest first: %s", out);
    free(out);
    cli_ok(t, &out, (const char *const[]){"--json", "show", ids, NULL});
    CHECK(strstr(out, "\"audit\":[{") && t_count(out, "\"actor\":\"cli:") == 2,
          "show --json carries the audit: %s", out);
    free(out);

    cli_ok(t, NULL, (const char *const[]){"queue", "pause", "audq", NULL});
    cli_ok(t, NULL, (const char *const[]){"queue", "resume", "audq", NULL});
    cli_ok(t, NULL, (const char *const[]){"queue", "limit", "audq", "--concurrency", "3", NULL});
    CHECK(audit_rows(t, me, "pause", "queue", "audq", NULL) == 1 &&
              audit_rows(t, me, "resume", "queue", "audq", NULL) == 1 &&
              audit_rows(t, me, "limit", "queue", "audq", "--concurrency 3") == 1,
          "queue changes recorded");
    cli_ok(t, NULL, (const char *const[]){"action", "set", "System/Noop", "--rate", "5/1s", NULL});
    CHECK(audit_rows(t, me, "set", "action", "System/Noop", "--rate 5/1s") == 1,
          "action change recorded");
    /* --json said "audq limits set" in plain text; a row of an action since renamed could not
     * be cleared ("unknown action"). */
    cli_ok(t, &out,
           (const char *const[]){"--json", "queue", "limit", "audq", "--rate", "none", NULL});
    CHECK(strcmp(out, "{\"queue\":\"audq\",\"set\":\"--rate none\",\"released\":0}\n") == 0,
          "queue limit --json: %s", out);
    free(out);
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, concurrency_limit, "
                                "dt_updated) VALUES ('Old/Renamed', 1, NOW(6))") == 0,
          "a settings row of a renamed action: %s", db_errstr(t->db));
    cli_ok(t, &out,
           (const char *const[]){"--json", "action", "set", "Old/Renamed", "--concurrency", "none",
                                 NULL});
    CHECK(strcmp(out,
                 "{\"action\":\"Old/Renamed\",\"set\":\"--concurrency none\",\"released\":0}\n") ==
              0,
          "action set --json of a renamed action's row: %s", out);
    free(out);
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"action", "set", "Never/Was", "--concurrency", "1", NULL}) ==
              2,
          "a name with neither an action nor a row is still refused");
    cli_ok(t, NULL,
           (const char *const[]){"cron", "add", "aud-nightly", "0 2 * * *", "System/Noop", NULL});
    cli_ok(t, NULL, (const char *const[]){"cron", "disable", "aud-nightly", NULL});
    cli_ok(t, NULL, (const char *const[]){"cron", "enable", "aud-nightly", NULL});
    cli_ok(t, NULL, (const char *const[]){"cron", "remove", "aud-nightly", NULL});
    CHECK(audit_rows(t, me, "add", "cron", "aud-nightly", "0 2 * * * System/Noop") == 1 &&
              audit_rows(t, me, "disable", "cron", "aud-nightly", NULL) == 1 &&
              audit_rows(t, me, "enable", "cron", "aud-nightly", NULL) == 1 &&
              audit_rows(t, me, "remove", "cron", "aud-nightly", NULL) == 1,
          "cron changes recorded");
    /* A refused change records nothing. */
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"retry", ids, NULL}) == 2,
          "a retry of a queued job is refused");
    CHECK(t_job_in_state(t, id, "queued"), "queued");
    CHECK(audit_rows(t, me, "retry", "job", ids, NULL) == 1, "the refused retry is not recorded");

    /* Through sudo, the caller is named, not root; a name from the environment is kept to
     * plain ASCII, so it cannot make the row, and with it the change, fail. */
    if (geteuid() == 0) {
        setenv("SUDO_USER", "ops\x01\xc3\xa9", 1);
        int64_t id2 = queued_job(t, ids, sizeof(ids));
        cli_ok(t, NULL, (const char *const[]){"cancel", ids, NULL});
        unsetenv("SUDO_USER");
        CHECK(audit_rows(t, "cli:ops???", "cancel", "job", ids, "cancelled") == 1,
              "sudo's caller recorded, cleaned");
        CHECK(t_job_in_state(t, id2, "cancelled"), "cancelled");
    }
    free(me);
}

static void
test_cli_bulk(struct tenv *t)
{
    char *me = cli_actor();
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "attempt, max_attempts, dt_created, dt_queued) SELECT UUID(), 'api', 'default', "
                  "IF(seq <= 1200, 'System/Noop', 'System/Echo'), '{}', 'queued', NOW(6), 0, 1, "
                  "NOW(6), NOW(6) FROM seq_1_to_1250",
                  DB_NOP, NULL, NULL) == 0,
          "insert jobs: %s", db_errstr(t->db));
    cli_ok(t, NULL,
           (const char *const[]){"cancel", "--state", "queued", "--action", "System/Noop", NULL});
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM audit_log a JOIN jobs j ON a.object_id = j.id "
                    "WHERE a.object_kind = 'job' AND a.action = 'cancel' AND a.actor = ? AND "
                    "a.detail = '--state queued --action System/Noop' AND j.state = 'cancelled'",
                    DB_P(DBS(me))) == 1200,
          "each cancelled job recorded once, with the filter");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == 1200,
          "nothing else recorded (the Echo jobs were not cancelled)");
    cli_ok(t, NULL, (const char *const[]){"retry", "--state", "cancelled", NULL});
    char *last = t_sql_str(t, "SELECT MAX(id) FROM jobs WHERE action = 'System/Noop'", DB_NOP);
    CHECK(audit_rows(t, me, "retry", "job", last, "--state cancelled") == 1, "bulk retry recorded");
    free(last);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'retry' AND "
                    "detail = '--state cancelled'",
                    DB_NOP) == 1200,
          "each retried job recorded once");
    free(me);
}

/* A job's change and its record commit together: when the record cannot be written, the
 * change is not made. Other changes are made and say that their record failed. */
static void
test_with_the_change(struct tenv *t)
{
    char ids[24], *err = NULL;
    int64_t id = queued_job(t, ids, sizeof(ids));
    CHECK(db_exec(t->db, "RENAME TABLE audit_log TO audit_log_away", DB_NOP, NULL, NULL) == 0,
          "rename: %s", db_errstr(t->db));
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cancel", ids, NULL}) == 1, "cancel fails: %s",
          err);
    CHECK(strstr(err, "audit_log"), "says why: %s", err);
    free(err);
    CHECK(t_job_in_state(t, id, "queued"), "the job is not cancelled without its record");
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"cancel", "--state", "queued", NULL}) == 1,
          "bulk cancel fails: %s", err);
    free(err);
    CHECK(t_job_in_state(t, id, "queued"), "nor by a bulk cancel");
    /* The CLI's other changes are no different: a pause, a limit, an action's settings and
     * the cron changes are not made without their record (they were made, with a warning). */
    static const char *const changes[][8] = {
        {"queue", "pause", "audq", NULL},
        {"queue", "limit", "audq", "--concurrency", "2", NULL},
        {"action", "set", "System/Noop", "--concurrency", "2", NULL},
        {"cron", "add", "audcron", "0 3 * * *", "System/Noop", NULL},
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        CHECK(t_cli(t, NULL, &err, changes[i]) == 1, "%s %s fails: %s", changes[i][0],
              changes[i][1], err);
        CHECK(strstr(err, "not done: the change could not be recorded in audit_log"),
              "and says why: %s", err);
        free(err);
    }
    CHECK(t_sql_int(t, -1,
                    "SELECT (SELECT COUNT(*) FROM queue_settings WHERE queue = 'audq') + (SELECT "
                    "COUNT(*) FROM action_settings WHERE action = 'System/Noop') + (SELECT "
                    "COUNT(*) FROM cron_jobs WHERE name = 'audcron')",
                    DB_NOP) == 0,
          "none of them was made");
    CHECK(db_exec(t->db, "RENAME TABLE audit_log_away TO audit_log", DB_NOP, NULL, NULL) == 0,
          "rename back: %s", db_errstr(t->db));
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"cancel", ids, NULL}) == 0, "cancel");
    CHECK(t_job_in_state(t, id, "cancelled"), "cancelled with its record back");
}

static void
test_api_changes(struct tenv *t)
{
    tprod_start(t);
    char ids[24], path[96], *out = NULL;
    queued_job(t, ids, sizeof(ids));
    snprintf(path, sizeof(path), "/api/jobs/%s/cancel", ids);
    CHECK(tprod_call(t, "POST", path, NULL, NULL, &out) == 200, "cancel: %s", out);
    free(out);
    snprintf(path, sizeof(path), "/api/jobs/%s/retry", ids);
    CHECK(tprod_call(t, "POST", path, NULL, NULL, &out) == 200, "retry: %s", out);
    free(out);
    CHECK(audit_rows(t, "api-token", "cancel", "job", ids, "cancelled") == 1 &&
              audit_rows(t, "api-token", "retry", "job", ids, "queued") == 1,
          "job changes recorded");
    CHECK(tprod_call(t, "POST", "/api/cron",
                     "{\"name\":\"aud-api\",\"schedule\":\"*/5 * * * *\",\"action\":"
                     "\"System/Noop\"}",
                     NULL, &out) == 201,
          "cron add: %s", out);
    free(out);
    CHECK(tprod_call(t, "POST", "/api/cron/aud-api/disable", NULL, NULL, &out) == 200,
          "disable: %s", out);
    free(out);
    CHECK(tprod_call(t, "DELETE", "/api/cron/aud-api", NULL, NULL, &out) == 200, "remove: %s", out);
    free(out);
    CHECK(audit_rows(t, "api-token", "add", "cron", "aud-api", "*/5 * * * * System/Noop") == 1 &&
              audit_rows(t, "api-token", "disable", "cron", "aud-api", NULL) == 1 &&
              audit_rows(t, "api-token", "remove", "cron", "aud-api", NULL) == 1,
          "cron changes recorded");
    /* Reads and refusals are not changes. */
    CHECK(tprod_call(t, "POST", path, NULL, NULL, &out) == 409, "retry of a queued job: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/api/cron", NULL, NULL, &out) == 200, "list: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == 5, "five changes");
}

/* jobfleet changes: everyone's changes newest first, filtered, paged. */
static void
test_cli_list(struct tenv *t)
{
    char *me = cli_actor(), ids[24], *out = NULL, *err = NULL;
    queued_job(t, ids, sizeof(ids));
    cli_ok(t, NULL, (const char *const[]){"cancel", ids, NULL});
    cli_ok(t, NULL, (const char *const[]){"queue", "pause", "audq", NULL});
    CHECK(db_exec(t->db,
                  "INSERT INTO audit_log (dt_created, actor, action, object_kind, object_id) "
                  "VALUES (NOW(6), 'admin', 'pause', 'queue', 'other')",
                  DB_NOP, NULL, NULL) == 0,
          "insert: %s", db_errstr(t->db));
    cli_ok(t, &out, (const char *const[]){"changes", NULL});
    CHECK(strstr(out, "WHO") && strstr(out, "queue other") && strstr(out, "queue audq") &&
              strstr(out, "job ") && strstr(out, me),
          "every change listed: %s", out);
    CHECK(strstr(out, "queue other") < strstr(out, "queue audq") &&
              strstr(out, "queue audq") < strstr(out, "job "),
          "newest first: %s", out);
    free(out);
    cli_ok(t, &out, (const char *const[]){"changes", "--actor", "admin", NULL});
    CHECK(strstr(out, "queue other") && !strstr(out, me), "by who: %s", out);
    free(out);
    cli_ok(t, &out, (const char *const[]){"--json", "changes", "--kind", "job", NULL});
    cJSON *a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 1 &&
              strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "object_id")->valuestring,
                     ids) == 0,
          "by kind, as JSON: %s", out);
    cJSON_Delete(a);
    free(out);
    cli_ok(t, &out, (const char *const[]){"--json", "changes", "--limit", "1", NULL});
    a = cJSON_Parse(out);
    CHECK(cJSON_GetArraySize(a) == 1, "one: %s", out);
    char before[24];
    snprintf(before, sizeof(before), "%.0f",
             cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0), "id")->valuedouble);
    cJSON_Delete(a);
    free(out);
    cli_ok(t, &out, (const char *const[]){"changes", "--before", before, NULL});
    CHECK(!strstr(out, "queue other") && strstr(out, "queue audq"), "older ones: %s", out);
    free(out);
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"changes", "--kind", "jobs", NULL}) == 2 &&
              strstr(err, "--kind \"jobs\" must be job, queue, cron or action"),
          "a bad kind: %s", err);
    free(err);
    free(me);
}

/* The dashboard's Changes page (here with the API token as the bearer): everyone's changes,
 * each linked to its object, filtered, paged, escaped. */
static void
test_changes_page(struct tenv *t)
{
    char ids[24], *out = NULL;
    queued_job(t, ids, sizeof(ids));
    cli_ok(t, NULL, (const char *const[]){"cancel", ids, NULL});
    CHECK(db_exec(t->db,
                  "INSERT INTO audit_log (dt_created, actor, action, object_kind, object_id, "
                  "detail) SELECT NOW(6), IF(seq = 150, '<b>x</b>', 'admin'), 'pause', 'queue', "
                  "CONCAT('q', seq), 'd&d' FROM seq_1_to_150",
                  DB_NOP, NULL, NULL) == 0,
          "insert: %s", db_errstr(t->db));
    tprod_start(t);
    CHECK(tprod_call(t, "GET", "/changes", NULL, NULL, &out) == 200, "page: %s", out);
    CHECK(strstr(out, "&lt;b&gt;x&lt;/b&gt;") && !strstr(out, "<b>x</b>") && strstr(out, "d&amp;d"),
          "escaped: %s", out);
    CHECK(strstr(out, "<a href=\"/queues/q150\">q150</a>") && strstr(out, ">Changes</a>"),
          "linked, and in the navigation: %s", out);
    const char *older = strstr(out, "/changes?before=");
    CHECK(older && t_count(out, "<tr>") == 101, "100 rows and a link to older ones: %s", out);
    char next[64];
    snprintf(next, sizeof(next), "%.*s", (int)strcspn(older, "\""), older);
    free(out);
    CHECK(tprod_call(t, "GET", next, NULL, NULL, &out) == 200, "older: %s", out);
    CHECK(strstr(out, "/queues/q50\"") && !strstr(out, "/queues/q51\"") && strstr(out, "/jobs/") &&
              !strstr(out, "/changes?before="),
          "the other 51, the CLI's cancel last: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/changes?format=json", NULL, NULL, &out) == 200, "json: %s", out);
    const char *nb = strstr(out, "\"next_before\":");
    CHECK(nb && nb[14] >= '1' && nb[14] <= '9' && t_count(out, "\"action\":") == 100,
          "a page of JSON with its cursor: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/changes?kind=job&format=json", NULL, NULL, &out) == 200,
          "json: %s", out);
    CHECK(strstr(out, "\"kind\":\"job\"") && strstr(out, "\"next_before\":null") &&
              t_count(out, "\"object_kind\":\"job\"") == 1 && !strstr(out, "\"queue\""),
          "by kind: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/changes?actor=cli%3Aroot-nobody&format=json", NULL, NULL, &out) ==
                  200 &&
              strstr(out, "\"changes\":[]"),
          "by who: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/changes?kind=nope", NULL, NULL, &out) == 400 &&
              strstr(out, "kind must be job, queue, cron or action"),
          "a bad kind: %s", out);
    free(out);
    CHECK(tprod_call(t, "GET", "/changes?before=x", NULL, NULL, &out) == 400, "a bad before: %s",
          out);
    free(out);
}

static const struct test_case cases[] = {
    {"e2e_audit_cli_changes", test_cli_changes, NULL},
    {"e2e_audit_cli_bulk", test_cli_bulk, NULL},
    {"e2e_audit_with_the_change", test_with_the_change, NULL},
    {"e2e_audit_api_changes", test_api_changes, NULL},
    {"e2e_audit_cli_list", test_cli_list, NULL},
    {"e2e_audit_changes_page", test_changes_page, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
