/* End-to-end tests of bounds on queries over a large jobs table: the scheduler's tick queries
 * stay on index ranges (the plan is the bound, so that test checks plans, not timings:
 * benchmarks time it), and the API's listing is stopped at its time bound. */
#include "tconf.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

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
    const char *steps[] = {"pickup", "reconcile", "watchdog", "lease-jobs", "retention-jobs"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char *line = strstr(text, steps[i]);
        CHECK(line != NULL, "no plan for %s:\n%s", steps[i], text);
        char step[32], table[32], type[16], key[64];
        long rows = 0;
        /* lease-jobs has two lines; the jobs side is the one on ix_jobs_state_due */
        if (strcmp(steps[i], "lease-jobs") == 0)
            line = strstr(line, "\nlease-jobs") + 1;
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

static const struct test_case cases[] = {
    {"e2e_scheduler_explain_bounded", test_explain_with_backlog, NULL},
    {"e2e_api_list_bounded", test_api_list_bounded, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
