/* End-to-end tests of the cron routes of the producer's JSON API (/api/cron...), against real
 * MariaDB and Redis: each route's success, a bad token, bad input naming its field, an unknown
 * name, a duplicate, wrong methods, and names with slashes. Time is simulated through
 * [scheduler] test_clock_file, which the producer reads as the CLI does. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-03-07T12:00:00Z: the day before America/Chicago's 2026 spring change. */
#define CLOCK_START 1772884800

/* Points the producer at a clock file in the test's directory, set to now. */
static void
clock_set(struct tenv *t, int64_t now)
{
    char *path = xasprintf("%s/clock", t->dir);
    char *tmp = xasprintf("%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    CHECK(fp != NULL, "cannot write %s", tmp);
    fprintf(fp, "%lld\n", (long long)now);
    fclose(fp);
    CHECK(rename(tmp, path) == 0, "rename %s", tmp);
    setenv("JOBFLEET_SCHEDULER_TEST_CLOCK_FILE", path, 1);
    free(tmp);
    free(path);
}

static void
start_producer(struct tenv *t)
{
    clock_set(t, CLOCK_START);
    tprod_start(t);
}

/* Sends a request with the API token; returns the status and keeps the body in *out. */
static long
call(struct tenv *t, const char *method, const char *path, const char *body, char **out)
{
    return tprod_call(t, method, path, body, NULL, out);
}

/* The body parsed, failing the test when it is not JSON. */
static cJSON *
parse(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    CHECK(j != NULL, "not JSON: %s", body);
    return j;
}

static const char *
str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Checks a 400 (or other error) names field (NULL: null) and says what it should. */
static void
check_error(struct tenv *t, const char *method, const char *path, const char *body, long want,
            const char *field, const char *says)
{
    char *out = NULL;
    long st = call(t, method, path, body, &out);
    cJSON *j = parse(out);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "field");
    bool field_ok =
        field ? cJSON_IsString(f) && strcmp(f->valuestring, field) == 0 : cJSON_IsNull(f);
    const char *e = str(j, "error");
    CHECK(st == want && field_ok && e && strstr(e, says), "%s %s %s: %ld %s (want %ld, %s, %s)",
          method, path, body ? body : "", st, out, want, field ? field : "null", says);
    cJSON_Delete(j);
    free(out);
}

static int64_t
add(struct tenv *t, const char *body)
{
    char *out = NULL;
    long st = call(t, "POST", "/api/cron", body, &out);
    CHECK(st == 201, "add %s: %ld %s", body, st, out);
    cJSON *j = parse(out);
    int64_t id = (int64_t)num(j, "id");
    cJSON_Delete(j);
    free(out);
    return id;
}

#define NIGHTLY                                                                                    \
    "{\"name\":\"nightly\",\"schedule\":\"0 2 * * *\",\"action\":\"System/Noop\","                 \
    "\"timezone\":\"America/Chicago\",\"parameters\":{\"a\":1},\"queue\":\"default\","             \
    "\"priority\":3,\"timeout_s\":30,\"max_attempts\":2,\"catchup\":\"none\"}"

static void
test_add_get_list(struct tenv *t)
{
    start_producer(t);
    int64_t before = t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs", DB_NOP);
    char *out = NULL;
    CHECK(call(t, "POST", "/api/cron", NIGHTLY, &out) == 201, "add: %s", out);
    cJSON *j = parse(out);
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(j, "parameters");
    CHECK(num(j, "id") > 0 && strcmp(str(j, "name"), "nightly") == 0 &&
              strcmp(str(j, "schedule"), "0 2 * * *") == 0 &&
              strcmp(str(j, "timezone"), "America/Chicago") == 0 &&
              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_active")) &&
              num(j, "priority") == 3 && num(j, "timeout_s") == 30 && num(j, "max_attempts") == 2 &&
              strcmp(str(j, "catchup"), "none") == 0 && num(params, "a") == 1,
          "added: %s", out);
    /* 02:00 does not exist that night in Chicago: the fire is right after the jump. */
    CHECK(str(j, "next_fire") && strcmp(str(j, "next_fire"), "2026-03-08T03:00:00-05:00") == 0,
          "next_fire: %s", out);
    int64_t id = (int64_t)num(j, "id");
    cJSON_Delete(j);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT id FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == id,
          "stored");

    CHECK(call(t, "GET", "/api/cron/nightly", NULL, &out) == 200, "get: %s", out);
    j = parse(out);
    CHECK(num(j, "id") == (double)id && strcmp(str(j, "action"), "System/Noop") == 0 &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "last_fire")),
          "get: %s", out);
    cJSON_Delete(j);
    free(out);

    CHECK(call(t, "GET", "/api/cron", NULL, &out) == 200, "list: %s", out);
    j = parse(out);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "cron_jobs"), *it;
    int found = 0;
    cJSON_ArrayForEach(it, list) found += strcmp(str(it, "name"), "nightly") == 0;
    CHECK(cJSON_GetArraySize(list) == before + 1 && found == 1, "list: %s", out);
    cJSON_Delete(j);
    free(out);

    /* The same name again: 409, nothing changed. */
    check_error(t, "POST", "/api/cron", NIGHTLY, 409, "name", "already exists");
    /* Bad input: 400 naming the field, with the checker's message. */
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad1\",\"schedule\":\"0 2 32 * *\",\"action\":\"System/Noop\"}", 400,
                "schedule", "schedule: field 3 (day-of-month): \"32\" is outside 1-31");
    check_error(t, "POST", "/api/cron", "{\"name\":\"bad2\",\"action\":\"System/Noop\"}", 400,
                "schedule", "a schedule is required");
    check_error(t, "POST", "/api/cron", "{\"name\":\"bad3\",\"schedule\":", 400, "body",
                "not valid JSON");
    check_error(t, "POST", "/api/cron", "", 400, "body", "JSON body is required");
    check_error(t, "POST", "/api/cron", "[1]", 400, NULL, "must be a JSON object");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad4\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"colour\":\"red\"}",
                400, "colour", "unknown field \"colour\"");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad5\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"timezone\":\"Mars/Base\"}",
                400, "timezone", "Mars/Base");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad6\",\"schedule\":\"* * * * *\",\"action\":\"No/Such\"}", 400,
                "action", "unknown action \"No/Such\"");
    /* A number past int64: checked as a number, never cast first (undefined behaviour). */
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad8\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"timeout_s\":1e300}",
                400, "timeout_s", "must be an integer in");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad name!\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\"}",
                400, "name", "must be 1-191 characters");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad7\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"catchup\":\"sometimes\"}",
                400, "catchup", "must be none or latest");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad8\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"priority\":\"high\"}",
                400, "priority", "must be an integer");
    check_error(t, "POST", "/api/cron",
                "{\"name\":\"bad9\",\"schedule\":\"* * * * *\",\"action\":\"System/Noop\","
                "\"parameters\":[1]}",
                400, "parameters", "must be a JSON object");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs", DB_NOP) == before + 1,
          "nothing more stored");
    check_error(t, "GET", "/api/cron/nope", NULL, 404, "name", "no cron job named \"nope\"");
}

static void
test_auth(struct tenv *t)
{
    start_producer(t);
    add(t, NIGHTLY);
    static const struct {
        const char *method, *path, *body;
    } routes[] = {
        {"GET", "/api/cron", NULL},
        {"POST", "/api/cron", NIGHTLY},
        {"GET", "/api/cron/nightly", NULL},
        {"POST", "/api/cron/nightly/enable", NULL},
        {"POST", "/api/cron/nightly/disable", NULL},
        {"GET", "/api/cron/nightly/next?count=2", NULL},
        {"DELETE", "/api/cron/nightly", NULL},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        tprod_check_401(t, routes[i].method, routes[i].path, routes[i].body);
    /* Nothing was done by any of them. */
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 1,
          "still there and active");
    /* Wrong methods: 405 with Allow naming the right ones. */
    static const struct {
        const char *method, *path, *allow;
    } wrong[] = {
        {"PUT", "/api/cron", "GET, POST"},
        {"DELETE", "/api/cron", "GET, POST"},
        {"POST", "/api/cron/nightly", "GET, DELETE"},
        {"GET", "/api/cron/nightly/enable", "POST"},
        {"DELETE", "/api/cron/nightly/disable", "POST"},
        {"POST", "/api/cron/nightly/next", "GET"},
    };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        char allow[64], *out = NULL;
        long st = tprod_call_allow(t, wrong[i].method, wrong[i].path, NULL, NULL, &out, allow,
                                   sizeof(allow));
        CHECK(st == 405 && strcmp(allow, wrong[i].allow) == 0 && strstr(out, "\"error\""),
              "%s %s: %ld Allow: %s %s", wrong[i].method, wrong[i].path, st, allow, out);
        free(out);
    }
}

static void
test_enable_disable(struct tenv *t)
{
    start_producer(t);
    add(t, NIGHTLY);
    char *out = NULL;
    CHECK(call(t, "POST", "/api/cron/nightly/disable", NULL, &out) == 200, "disable: %s", out);
    cJSON *j = parse(out);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "is_active")) &&
              cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "next_fire")),
          "disabled: %s", out);
    cJSON_Delete(j);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 0,
          "stored disabled");
    /* Idempotent. */
    CHECK(call(t, "POST", "/api/cron/nightly/disable", NULL, &out) == 200 &&
              strstr(out, "\"is_active\":false"),
          "disable again: %s", out);
    free(out);
    /* Enabling starts from the next fire after now. */
    clock_set(t, CLOCK_START + 2 * 86400);
    CHECK(call(t, "POST", "/api/cron/nightly/enable", NULL, &out) == 200, "enable: %s", out);
    j = parse(out);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_active")) && str(j, "next_fire") &&
              strcmp(str(j, "next_fire"), "2026-03-10T02:00:00-05:00") == 0,
          "enabled: %s", out);
    cJSON_Delete(j);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 1,
          "stored enabled");
    check_error(t, "POST", "/api/cron/nope/enable", NULL, 404, "name", "no cron job named");
    check_error(t, "POST", "/api/cron/nope/disable", NULL, 404, "name", "no cron job named");
}

/* A change and its audit_log row share one transaction: when the record cannot be written,
 * the change is not made either, and the reply says so (before, the change stood unrecorded
 * and the client got 200). */
static void
test_change_needs_its_record(struct tenv *t)
{
    start_producer(t);
    add(t, NIGHTLY);
    CHECK(db_exec_static(t->db,
                         "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log FOR EACH ROW "
                         "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused'") == 0,
          "trigger: %s", db_errstr(t->db));
    char *out = NULL;
    CHECK(call(t, "POST", "/api/cron/nightly/disable", NULL, &out) == 503 &&
              strstr(out, "not recorded in audit_log, so it was not made"),
          "disable without its record: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 1,
          "still enabled");
    CHECK(call(t, "DELETE", "/api/cron/nightly", NULL, &out) == 503, "remove: %s", out);
    free(out);
    CHECK(call(t, "POST", "/api/cron",
               "{\"name\":\"other\",\"schedule\":\"0 4 * * *\",\"action\":\"System/Noop\"}",
               &out) == 503,
          "add: %s", out);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name IN ('nightly', 'other')",
                    DB_NOP) == 1,
          "nightly kept, other not added");
    CHECK(db_exec_static(t->db, "DROP TRIGGER audit_refused") == 0, "drop trigger");
}

static void
test_remove(struct tenv *t)
{
    start_producer(t);
    int64_t id = add(t, NIGHTLY);
    char *out = NULL;
    CHECK(call(t, "DELETE", "/api/cron/nightly", NULL, &out) == 200, "remove: %s", out);
    cJSON *j = parse(out);
    CHECK(strcmp(str(j, "removed"), "nightly") == 0 && num(j, "id") == (double)id, "%s", out);
    cJSON_Delete(j);
    free(out);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name = 'nightly'", DB_NOP) == 0,
          "gone");
    check_error(t, "GET", "/api/cron/nightly", NULL, 404, "name", "no cron job named \"nightly\"");
    check_error(t, "DELETE", "/api/cron/nightly", NULL, 404, "name", "no cron job named");
    /* The name is free again. */
    CHECK(add(t, NIGHTLY) > id, "re-added");
}

static void
test_next(struct tenv *t)
{
    start_producer(t);
    add(t, NIGHTLY);
    char *out = NULL;
    CHECK(call(t, "GET", "/api/cron/nightly/next?count=3", NULL, &out) == 200, "next: %s", out);
    cJSON *want = parse(
        "{\"name\":\"nightly\",\"timezone\":\"America/Chicago\","
        "\"is_active\":true,\"next\":[\"2026-03-08T03:00:00-05:00\",\"2026-03-09T02:00:00-05:00\","
        "\"2026-03-10T02:00:00-05:00\"],"
        "\"next_utc\":[\"2026-03-08T08:00:00Z\",\"2026-03-09T07:00:00Z\","
        "\"2026-03-10T07:00:00Z\"]}");
    cJSON *j = parse(out);
    CHECK(cJSON_Compare(j, want, true), "next: %s", out);
    cJSON_Delete(j);
    cJSON_Delete(want);
    free(out);
    CHECK(call(t, "GET", "/api/cron/nightly/next", NULL, &out) == 200, "next: %s", out);
    j = parse(out);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "next")) == 5, "default 5: %s",
          out);
    cJSON_Delete(j);
    free(out);
    check_error(t, "GET", "/api/cron/nightly/next?count=0", NULL, 400, "count", "1..1000");
    check_error(t, "GET", "/api/cron/nightly/next?count=1001", NULL, 400, "count", "1..1000");
    check_error(t, "GET", "/api/cron/nightly/next?count=abc", NULL, 400, "count", "integer");
    check_error(t, "GET", "/api/cron/nope/next?count=2", NULL, 404, "name", "no cron job named");
}

static void
test_slash_names(struct tenv *t)
{
    start_producer(t);
    int64_t id = add(t, "{\"name\":\"Reports/Daily\",\"schedule\":\"@daily\","
                        "\"action\":\"System/Noop\"}");
    char *out = NULL;
    /* The slash as it is, or escaped. */
    const char *paths[] = {"/api/cron/Reports/Daily", "/api/cron/Reports%2FDaily",
                           "/api/cron/Reports%2fDaily"};
    for (int i = 0; i < 3; i++) {
        CHECK(call(t, "GET", paths[i], NULL, &out) == 200, "%s: %s", paths[i], out);
        cJSON *j = parse(out);
        CHECK(num(j, "id") == (double)id && strcmp(str(j, "name"), "Reports/Daily") == 0, "%s",
              out);
        cJSON_Delete(j);
        free(out);
    }
    CHECK(call(t, "POST", "/api/cron/Reports%2FDaily/disable", NULL, &out) == 200 &&
              strstr(out, "\"is_active\":false"),
          "disable: %s", out);
    free(out);
    CHECK(call(t, "POST", "/api/cron/Reports/Daily/enable", NULL, &out) == 200 &&
              strstr(out, "\"is_active\":true"),
          "enable: %s", out);
    free(out);
    CHECK(call(t, "GET", "/api/cron/Reports/Daily/next?count=2", NULL, &out) == 200 &&
              strstr(out, "\"name\":\"Reports/Daily\""),
          "next: %s", out);
    free(out);
    /* A name that ends like a verb is reached with its slash escaped. */
    int64_t odd = add(t, "{\"name\":\"odd/next\",\"schedule\":\"@hourly\","
                         "\"action\":\"System/Noop\"}");
    CHECK(call(t, "GET", "/api/cron/odd%2Fnext", NULL, &out) == 200, "odd: %s", out);
    cJSON *j = parse(out);
    CHECK(num(j, "id") == (double)odd && strcmp(str(j, "schedule"), "@hourly") == 0, "%s", out);
    cJSON_Delete(j);
    free(out);
    check_error(t, "GET", "/api/cron/odd/next", NULL, 404, "name", "no cron job named \"odd\"");
    CHECK(call(t, "GET", "/api/cron/odd%2Fnext/next?count=1", NULL, &out) == 200 &&
              strstr(out, "\"name\":\"odd/next\""),
          "odd next: %s", out);
    free(out);
    CHECK(call(t, "DELETE", "/api/cron/odd%2Fnext", NULL, &out) == 200 &&
              strstr(out, "\"removed\":\"odd/next\""),
          "odd remove: %s", out);
    free(out);
    check_error(t, "GET", "/api/cron/x%2", NULL, 400, "name", "bad % escape");
    check_error(t, "GET", "/api/cron/x%zz", NULL, 400, "name", "bad % escape");
    check_error(t, "GET", "/api/cron/x%00y", NULL, 400, "name", "bad % escape");
    check_error(t, "GET", "/api/cron/", NULL, 404, NULL, "no such route");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name = 'Reports/Daily'", DB_NOP) ==
              1,
          "still there");
}

static const struct test_case cases[] = {
    {"e2e_producer_cron_add_get_list", test_add_get_list, NULL},
    {"e2e_producer_cron_auth_methods", test_auth, NULL},
    {"e2e_producer_cron_enable_disable", test_enable_disable, NULL},
    {"e2e_producer_cron_change_needs_its_record", test_change_needs_its_record, NULL},
    {"e2e_producer_cron_remove", test_remove, NULL},
    {"e2e_producer_cron_next", test_next, NULL},
    {"e2e_producer_cron_slash_names", test_slash_names, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
