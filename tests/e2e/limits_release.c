/* End-to-end tests of the release of jobs waiting for a limit (settings_release_deferred): a
 * change that loosens a limit lets the jobs it held back run now, not when their deferral
 * under the old limit runs out (a rate's window: up to 24 days), and releases nothing else. */
#include "lifecycle.h"
#include "settings.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the CLI; returns its stdout, failing the test unless it exits 0. */
static char *
cli_out(struct tenv *t, const char *const *argv)
{
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, argv);
    CHECK(rc == 0, "jobfleet %s %s exited %d: %s", argv[0], argv[1], rc, err);
    free(err);
    return out ? out : xstrdup("");
}

static void
cli_ok(struct tenv *t, const char *const *argv)
{
    free(cli_out(t, argv));
}

/* The jobs the test made (cron-fired ones left out) in a state. */
static int64_t
count_jobs(struct tenv *t, const char *state)
{
    return t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = ? AND cron_job_id IS NULL",
                     DB_P(DBS(state)));
}

/* How many of the test's jobs wait in pending for a full limit, due at least min_s from now. */
static int64_t
deferred_jobs(struct tenv *t, int min_s)
{
    return t_sql_int(t, 0,
                     "SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND limit_deferred = 1 "
                     "AND run_at > NOW(6) + INTERVAL ? SECOND AND cron_job_id IS NULL",
                     DB_P(DBI(min_s)));
}

/* Runs a limit command and checks that it reports released jobs that waited for the old limit. */
static void
cli_release(struct tenv *t, int64_t want, const char *const *argv)
{
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, argv);
    char said[64];
    snprintf(said, sizeof(said), "; %lld job(s) waiting for the old limit", (long long)want);
    CHECK(rc == 0 && out && strstr(out, said), "jobfleet %s %s: exit %d, want \"%s\": %s%s",
          argv[0], argv[1], rc, said, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/* Jobs over a rate limit wait in pending until its window has room. Lifting or raising the
 * limit lets them run now; they used to wait out the old window (here an hour). A job its
 * client delayed is not released with them. */
static void
test_rate_limit_lifted(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Noop", "--rate", "1/1h", NULL});
    /* Set now: the workers read a change within half a second, and would run a job at once
     * meanwhile. */
    cli_ok(t, (const char *const[]){"queue", "limit", "slowq", "--rate", "1/1h", NULL});
    t_start_worker(t, (const char *const[]){"--queues", "default:1,slowq:1", NULL});
    int64_t delayed = t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1h", NULL});
    for (int i = 0; i < 3; i++)
        t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(count_jobs(t, "succeeded") == 1 && deferred_jobs(t, 1800) == 2, 15000,
               "want 1 run and 2 waiting for the hour's window: %lld succeeded, %lld waiting",
               (long long)count_jobs(t, "succeeded"), (long long)deferred_jobs(t, 1800));
    cli_release(t, 2,
                (const char *const[]){"action", "set", "System/Noop", "--rate", "none", NULL});
    WAIT_UNTIL(count_jobs(t, "succeeded") == 3, 10000,
               "the limit is lifted, yet %lld job(s) still wait for its window",
               (long long)deferred_jobs(t, 0));
    CHECK(t_job_in_state(t, delayed, "pending") &&
              t_sql_int(t, 0, "SELECT run_at > NOW(6) + INTERVAL 30 MINUTE FROM jobs WHERE id = ?",
                        DB_P(DBI(delayed))) == 1,
          "the job delayed by its client was released with the limit's");

    /* A queue's limit, raised rather than lifted. */
    for (int i = 0; i < 2; i++)
        t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--queue", "slowq", NULL});
    WAIT_UNTIL(count_jobs(t, "succeeded") == 4 && deferred_jobs(t, 1800) == 1, 15000,
               "want 4 run and 1 waiting for the queue's window: %lld succeeded, %lld waiting",
               (long long)count_jobs(t, "succeeded"), (long long)deferred_jobs(t, 1800));
    cli_release(t, 1, (const char *const[]){"queue", "limit", "slowq", "--rate", "100/1s", NULL});
    WAIT_UNTIL(count_jobs(t, "succeeded") == 5, 10000,
               "the queue's limit is raised, yet %lld job(s) still wait for its old window",
               (long long)deferred_jobs(t, 0));
}

/* The release is made after the change commits, and again once every worker goes by the new
 * limit: a job a worker deferred by its older settings in between waited out the old window
 * (the limits review: 3 jobs enqueued right after `--rate none` returned, all left for an
 * hour). */
static void
test_lifted_then_enqueued(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Noop", "--rate", "1/1h", NULL});
    t_start_worker(t, NULL);
    t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(count_jobs(t, "succeeded") == 1, 15000, "the first job never ran");
    /* Enqueued while the command runs, so that workers meet them by the old limit. */
    pid_t cli =
        t_spawn(t, t_bin("jobfleet"),
                (const char *const[]){"action", "set", "System/Noop", "--rate", "none", NULL});
    for (int i = 0; i < 3; i++)
        t_enqueue(t, "System/Noop", NULL, NULL);
    CHECK(t_wait_exit(t, cli, 30000) == 0, "action set failed");
    WAIT_UNTIL(count_jobs(t, "succeeded") == 4, 10000,
               "the limit was lifted, yet %lld job(s) wait for the old window",
               (long long)deferred_jobs(t, 0));
}

/* Only a change that loosens a limit the scope had releases its jobs: a limit of a queue that
 * had none, or a tighter rate, brought the jobs back only to defer them again (the limits
 * review: "2 job(s) ... due again", then deferred for the window again). */
static void
test_only_loosening_releases(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"action", "set", "System/Noop", "--rate", "1/1h", NULL});
    t_start_worker(t, NULL);
    for (int i = 0; i < 3; i++)
        t_enqueue(t, "System/Noop", NULL, NULL);
    WAIT_UNTIL(count_jobs(t, "succeeded") == 1 && deferred_jobs(t, 1800) == 2, 15000,
               "want 1 run and 2 waiting: %lld succeeded, %lld waiting",
               (long long)count_jobs(t, "succeeded"), (long long)deferred_jobs(t, 1800));
    const char *const *changes[] = {
        (const char *const[]){"queue", "limit", "default", "--concurrency", "50", NULL},
        (const char *const[]){"action", "set", "System/Noop", "--rate", "1/2h", NULL},
        (const char *const[]){"action", "set", "System/Noop", "--concurrency", "5", NULL},
    };
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        char *out = cli_out(t, changes[i]);
        CHECK(!strstr(out, "waiting for the old limit"), "%s %s %s %s released: %s", changes[i][0],
              changes[i][1], changes[i][2], changes[i][3], out);
        free(out);
        CHECK(deferred_jobs(t, 1800) == 2, "%s %s %s %s: %lld job(s) still wait", changes[i][0],
              changes[i][1], changes[i][2], changes[i][3], (long long)deferred_jobs(t, 1800));
    }
}

/* A backlog is released in batches of SETTINGS_RELEASE_BATCH, each committed on its own (one
 * statement held its rows, and the queue's settings row every claim reads, for as long as it
 * ran: 16 s for 1.2 million jobs), and every batch's jobs are due after the change, not before
 * it is seen. */
static void
test_backlog_released_in_batches(struct tenv *t)
{
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    cli_ok(t, (const char *const[]){"queue", "limit", "parked", "--rate", "1/1h", NULL});
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, queue, action, parameters, state, run_at, "
                  "dt_created, limit_deferred) SELECT UUID(), 'cli', 'parked', 'System/Noop', "
                  "'{}', 'pending', NOW(6) + INTERVAL 1 HOUR, NOW(6), 1 FROM seq_1_to_2500",
                  DB_NOP, NULL, NULL) == 0,
          "the backlog: %s", db_errstr(t->db));
    char *out = cli_out(
        t, (const char *const[]){"--json", "queue", "limit", "parked", "--rate", "none", NULL});
    CHECK(strstr(out, "\"released\":2500"), "queue limit --json: %s", out);
    free(out);
    CHECK(deferred_jobs(t, 0) == 0, "%lld job(s) left waiting", (long long)deferred_jobs(t, 0));
}
/* A job a retry sent back to pending waits out its backoff, whatever a limit's release does:
 * an older scheduler, during a rolling upgrade, queued a deferred job without clearing its
 * mark, and a release then cut the retry's hour of backoff to 2 s (the limits review). */
static void
test_retry_backoff_not_released(struct tenv *t)
{
    cli_ok(t, (const char *const[]){"action", "set", "System/Fail", "--rate", "100/1h",
                                    "--backoff-base", "1h", NULL});
    int64_t id = t_enqueue(t, "System/Fail", "{\"reason\":\"boom\"}",
                           (const char *const[]){"--max-attempts", "2", NULL});
    /* As the older scheduler leaves a job it queued after a deferral. */
    CHECK(db_exec(t->db, "UPDATE jobs SET limit_deferred = 1 WHERE id = ?", DB_P(DBI(id)), NULL,
                  NULL) == 0,
          "mark: %s", db_errstr(t->db));
    t_start_worker(t, NULL);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT attempt = 1 AND state = 'pending' FROM jobs WHERE id = ?",
                         DB_P(DBI(id))) == 1,
               15000, "the first attempt never failed into its backoff");
    cli_ok(t, (const char *const[]){"action", "set", "System/Fail", "--rate", "none", NULL});
    CHECK(t_sql_int(t, 0, "SELECT run_at > NOW(6) + INTERVAL 30 MINUTE FROM jobs WHERE id = ?",
                    DB_P(DBI(id))) == 1,
          "the retry's hour of backoff was released with the limit's jobs");
}
/* Queue and action names are exact, as the workers match them: lifting the limit of queue
 * "Default" released the jobs of "default" (the final review). */
static void
test_release_names_exact(struct tenv *t)
{
    cli_ok(t, (const char *const[]){"queue", "limit", "Default", "--rate", "5/1h", NULL});
    CHECK(db_exec_static(t->db, "INSERT INTO jobs (uuid, origin, queue, action, parameters, "
                                "state, run_at, dt_created, limit_deferred) VALUES (UUID(), "
                                "'cli', 'default', 'System/Noop', '{}', 'pending', NOW(6) + "
                                "INTERVAL 1 HOUR, NOW(6), 1)") == 0,
          "a job of default waiting for a limit: %s", db_errstr(t->db));
    char *out = cli_out(
        t, (const char *const[]){"--json", "queue", "limit", "Default", "--rate", "none", NULL});
    CHECK(strstr(out, "\"released\":0"), "queue limit Default: %s", out);
    free(out);
    CHECK(deferred_jobs(t, 1800) == 1, "default's job was released with Default's");
}
/* A worker that judged a job by settings read before a limit changed does not defer it: the
 * change's release could have run already, and the job would wait out the old window (the
 * final review: a claim stalled 3 s, the job deferred for an hour after `--rate none`). */
static void
test_defer_by_old_settings_refused(struct tenv *t)
{
    int64_t id = t_insert_job(t, "System/Noop", "{}");
    struct settings before;
    CHECK(settings_load(t->db, &before) == 0, "settings: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, rate_limit, "
                                "rate_interval_ms, dt_updated) VALUES ('System/Noop', 1, 60000, "
                                "NOW(6))") == 0,
          "a change: %s", db_errstr(t->db));
    CHECK(lifecycle_defer(t->db, id, 3600000, before.read_at) == 0 &&
              t_job_in_state(t, id, "queued"),
          "a job was deferred by settings read before its limit changed");
    struct settings after;
    CHECK(settings_load(t->db, &after) == 0, "settings: %s", db_errstr(t->db));
    CHECK(lifecycle_defer(t->db, id, 3600000, after.read_at) == 1 &&
              t_job_in_state(t, id, "pending"),
          "a job judged by the settings as they are was not deferred");
    settings_release(&before);
    settings_release(&after);
}

static const struct test_case cases[] = {
    {"e2e_limits_release_lifted", test_rate_limit_lifted, NULL},
    {"e2e_limits_release_lifted_then_enqueued", test_lifted_then_enqueued, NULL},
    {"e2e_limits_release_only_loosening", test_only_loosening_releases, NULL},
    {"e2e_limits_release_backlog_in_batches", test_backlog_released_in_batches, NULL},
    {"e2e_limits_release_keeps_retry_backoff", test_retry_backoff_not_released, NULL},
    {"e2e_limits_release_names_exact", test_release_names_exact, NULL},
    {"e2e_limits_release_defer_by_old_settings", test_defer_by_old_settings_refused, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
