/* End-to-end tests of bounds on queries over a large jobs table: the scheduler's tick queries
 * stay on index ranges (the plan is the bound, so that test checks plans, not timings:
 * benchmarks time it), and the API's listing is stopped at its time bound. */
#include "job.h"
#include "tconf.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void
fill(struct tenv *t, const char *state, int n, const char *extra_cols, const char *extra_vals)
{
    /* The SEQUENCE engine makes n rows in one statement; the text holds no input. */
    char *sql = xasprintf(
        "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, dt_created%s) "
        "SELECT UUID(), 'cli', 'default', 'System/Noop', '{}', '%s', "
        "NOW(6) + INTERVAL 30 DAY, NOW(6)%s FROM seq_1_to_%d",
        extra_cols, state, extra_vals, n);
    CHECK(db_exec_static(t->db, sql) == 0, "fill %s: %s", state, db_errstr(t->db));
    free(sql);
}

static void
test_explain_with_backlog(struct tenv *t)
{
    fill(t, "pending", 200000, "", "");
    fill(t, "queued", 20000, ", dt_queued", ", NOW(6)");
    fill(t, "succeeded", 50000, ", dt_completed", ", NOW(6)");
    fill(t, "running", 50, ", dt_started, dt_deadline, instance_id",
         ", NOW(6), NOW(6) + INTERVAL 1 HOUR, 1");
    CHECK(db_exec_static(t->db, "ANALYZE TABLE jobs") == 0, "analyze");
    char *out = xasprintf("%s/explain.out", t->dir);
    char *cmd =
        xasprintf("%s --config %s --explain > %s 2>&1", t_bin("jobfleet-scheduler"), t->conf, out);
    int st = system(cmd);
    char *text = t_read_file(out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--explain found a full scan:\n%s", text);
    /* Every step is listed, on the index meant for it, reading far fewer rows than exist. */
    const char *steps[] = {"pickup",        "reconcile",  "watchdog",
                           "lease-running", "lease-jobs", "retention-jobs"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char *line = strstr(text, steps[i]);
        CHECK(line != NULL, "no plan for %s:\n%s", steps[i], text);
        char step[32], table[32], type[16], key[64];
        long rows = 0;
        CHECK(sscanf(line, "%31s %31s %15s %63s %ld", step, table, type, key, &rows) == 5,
              "cannot read %s", line);
        CHECK(strcmp(key, "ix_jobs_state_due") == 0, "%s uses %s", steps[i], key);
        CHECK(strcmp(type, "ALL") != 0 && strcmp(type, "index") != 0, "%s scans (%s)", steps[i],
              type);
        /* An index range, not the table: reconcile's range holds all 20,000 queued rows (the
         * LIMIT bounds what it reads, not what EXPLAIN estimates), and InnoDB's estimate of a
         * range that size has come out at 40,878 on a loaded machine; a scan would be
         * 270,000. */
        CHECK(rows < 90000, "%s estimates %ld rows with a 270,000-job table", steps[i], rows);
    }
    free(text);
    free(cmd);
    free(out);
}

/* A listing whose filter few jobs match walks the whole table: the producer stops it at
 * db_timeout_ms and says so, and a listing on an index still answers under the same bound. */
static void
test_api_list_bounded(struct tenv *t)
{
    for (int i = 0; i < 2; i++)
        fill(t, "succeeded", 200000, ", dt_completed", ", NOW(6)");
    t_conf_append(t, "[producer]\ndb_timeout_ms = 20\n");
    tprod_start(t);
    char *out = NULL;
    int64_t t0 = now_mono_ms();
    long st = tprod_call(t, "GET", "/api/jobs?queue=nosuch", NULL, NULL, &out);
    int64_t took = now_mono_ms() - t0;
    CHECK(st == 503 && strstr(out, "db_timeout_ms (20 ms)"),
          "a scan past the bound is stopped and named (%lld ms): %ld %s", (long long)took, st, out);
    free(out);
    st = tprod_call(t, "GET", "/api/jobs?action=System/Noop&limit=3", NULL, NULL, &out);
    CHECK(st == 200 && t_count(out, "\"id\":") == 3, "an indexed listing answers: %ld %s", st, out);
    free(out);
}

/* One job retried 300 times, each attempt with a 10 KB reason and log: its reply shows the
 * last JOB_GET_ATTEMPTS attempts and their logs and says how many it left out, instead of
 * every one (here 6 MB; with 64 KiB logs and a thousand attempts, 64 MB per request). */
static void
test_api_job_bounded(struct tenv *t)
{
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    const char *fill_sql =
        "INSERT INTO job_attempts (job_id, attempt, dt_started, dt_completed, outcome, reason) "
        "SELECT ?, seq, NOW(6), NOW(6), 'failed', REPEAT('r', 10000) FROM seq_1_to_300";
    CHECK(db_exec(t->db, fill_sql, DB_P(DBI(id)), NULL, NULL) == 0, "attempts: %s",
          db_errstr(t->db));
    CHECK(db_exec(t->db,
                  "INSERT INTO job_logs (job_id, attempt, log, dt_updated) SELECT ?, seq, "
                  "REPEAT('l', 10000), NOW(6) FROM seq_1_to_300",
                  DB_P(DBI(id)), NULL, NULL) == 0,
          "logs: %s", db_errstr(t->db));
    tprod_start(t);
    char path[64], *out = NULL;
    snprintf(path, sizeof(path), "/api/jobs/%lld", (long long)id);
    long st = tprod_call(t, "GET", path, NULL, NULL, &out);
    cJSON *j = cJSON_Parse(out ? out : "");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(j, "attempts");
    int n = cJSON_GetArraySize(att);
    const cJSON *last = cJSON_GetArrayItem(att, n - 1);
    CHECK(st == 200 && n == 50, "the last %d attempts: %ld, %d of them (%zu bytes)",
          JOB_GET_ATTEMPTS, st, n, out ? strlen(out) : 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "attempt")) == 300 &&
              cJSON_IsString(cJSON_GetObjectItemCaseSensitive(last, "log")),
          "the newest attempt, with its log, comes last");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "attempts_omitted")) ==
              300 - JOB_GET_ATTEMPTS,
          "the reply says how many it left out");
    cJSON_Delete(j);
    free(out);
}

static const struct test_case cases[] = {
    {"e2e_scheduler_explain_bounded", test_explain_with_backlog, NULL},
    {"e2e_api_list_bounded", test_api_list_bounded, NULL},
    {"e2e_api_job_bounded", test_api_job_bounded, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
