/* End-to-end tests of the CLI's and daemons' error messages and exit codes. */
#include "audit.h"
#include "job.h"
#include "rq.h"
#include "tfake.h"
#include "tsupport.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXPECT_CLI(code, needle, ...)                                                              \
    do {                                                                                           \
        char *e_ = NULL;                                                                           \
        int rc_ = t_cli(t, NULL, &e_, (const char *const[]){__VA_ARGS__, NULL});                   \
        CHECK(rc_ == (code), "exit %d, expected %d; stderr: %s", rc_, (code), e_);                 \
        CHECK(strstr(e_, (needle)) != NULL, "stderr lacks \"%s\": %s", (needle), e_);              \
        CHECK(t_count(e_, "\n") == 1, "expected one line on stderr: %s", e_);                      \
        free(e_);                                                                                  \
    } while (0)

static void
test_bad_input(struct tenv *t)
{
    EXPECT_CLI(2, "unknown command \"frobnicate\"", "frobnicate");
    EXPECT_CLI(2, "enqueue: unknown option --colour", "enqueue", "System/Noop", "--colour", "red");
    /* An entry the producer would refuse to start with. */
    EXPECT_CLI(2, "passwd: \"api-token\" is the name of the API token's login", "passwd",
               "api-token");
    EXPECT_CLI(2, "parameters are not valid JSON", "enqueue", "System/Noop", "--params", "{nope");
    EXPECT_CLI(2, "parameters must be a JSON object", "enqueue", "System/Noop", "--params", "[1]");
    EXPECT_CLI(2, "unknown action \"No/Such\"", "enqueue", "No/Such");
    EXPECT_CLI(2, "--priority \"5000\" must be an integer in -1000..1000", "enqueue", "System/Noop",
               "--priority", "5000");
    EXPECT_CLI(2, "--at \"yesterday-ish\" is not a time", "enqueue", "System/Noop", "--at",
               "yesterday-ish");
    EXPECT_CLI(2, "--params needs a value", "enqueue", "System/Noop", "--params");
    EXPECT_CLI(2, "no job with id 99999", "show", "99999");
    EXPECT_CLI(2, "\"abc\" is not a job id", "show", "abc");
    EXPECT_CLI(2, "no job with id 99999", "retry", "99999");
    EXPECT_CLI(2, "no job with id 99999", "cancel", "99999");
    int64_t id = t_enqueue(t, "System/Noop", NULL, NULL);
    char idbuf[32];
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
    EXPECT_CLI(2, "is queued: only failed or cancelled jobs can be retried", "retry", idbuf);
    /* A running job cannot be retried either. */
    CHECK(db_exec(t->db, "UPDATE jobs SET state = 'running' WHERE id = ?", DB_P(DBI(id)), NULL,
                  NULL) == 0,
          "set running");
    EXPECT_CLI(2, "is running: only failed or cancelled", "retry", idbuf);
    CHECK(db_exec(t->db,
                  "UPDATE jobs SET state = 'succeeded', result = '{\"old\":1}', execution_ms = 5 "
                  "WHERE id = ?",
                  DB_P(DBI(id)), NULL, NULL) == 0,
          "set succeeded");
    EXPECT_CLI(2, "a succeeded one with --force", "retry", idbuf);
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"retry", "--force", idbuf, NULL}) == 0,
          "retry --force of a succeeded job");
    CHECK(t_job_in_state(t, id, "queued"), "forced retry queues the job");
    /* A client reading a queued job with a result would take it for done. */
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE id = ? AND result IS NULL AND execution_ms "
                    "IS NULL",
                    DB_P(DBI(id))) == 1,
          "the last run's result and time are cleared");
    EXPECT_CLI(2, "--state \"done\" is not one of", "list", "--state", "done");
    /* A bare number is unix seconds to a time parser and seconds ago to a duration's: taken as
     * a time, this would retry every failed job since 1970. */
    EXPECT_CLI(2, "--since \"3600\" is ambiguous", "retry", "--state", "failed", "--since", "3600");
    /* Seconds past what a clock in milliseconds holds. */
    EXPECT_CLI(2, "--in \"107000000000d\" is not a duration of at most 100 years", "enqueue",
               "System/Noop", "--in", "107000000000d");
    EXPECT_CLI(2, "--backoff-base \"107000000000d\" is not a duration", "action", "set",
               "System/Noop", "--backoff-base", "107000000000d");
    /* Nothing to change said "limits set" (or "settings set") and wrote an empty audit row;
     * extra arguments were ignored; a backoff base past its cap was taken. */
    int64_t audits = t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP);
    EXPECT_CLI(2, "queue limit default needs --concurrency", "queue", "limit", "default");
    EXPECT_CLI(2, "action set System/Noop needs --concurrency", "action", "set", "System/Noop");
    EXPECT_CLI(2, "--backoff-base (10m) is longer than --backoff-cap (1m)", "action", "set",
               "System/Noop", "--backoff-base", "10m", "--backoff-cap", "1m");
    /* The side not given counts too: its row's value, else the action's default (the final
     * review: a base of 1 h after a cap of 1 m, in two commands, was taken). */
    EXPECT_CLI(2, "the backoff base (7200 s) would be longer than its cap (3600 s", "action", "set",
               "System/Noop", "--backoff-base", "2h");
    EXPECT_CLI(2, "stats takes no arguments", "stats", "extra");
    EXPECT_CLI(2, "config-example takes no arguments", "config-example", "extra");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM audit_log", DB_NOP) == audits,
          "a refused change wrote an audit row");
    /* cJSON takes any bytes in a string; the column would not. */
    EXPECT_CLI(2, "parameters must be UTF-8 text (byte 6 is not)", "enqueue", "System/Echo",
               "--params", "{\"a\":\"\xff\"}");
    /* As the API: a number the stored JSON would round is refused, not stored rounded. */
    EXPECT_CLI(2, "enqueue: parameters: \"id\" is a number no JSON double holds exactly", "enqueue",
               "System/Echo", "--params", "{\"id\":9007199254740993}");
    EXPECT_CLI(2, "run: parameters: \"n\" is a number no JSON double holds exactly", "run",
               "System/Echo", "--params", "{\"a\":{\"n\":1e300}}");
    EXPECT_CLI(2, "parameters: \"id\" is a number no JSON double holds exactly", "cron", "add",
               "exact", "* * * * *", "System/Echo", "--params", "{\"id\":9007199254740993}");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM cron_jobs WHERE name = 'exact'", DB_NOP) == 0,
          "a refused cron job is not stored");
    /* cJSON would cut the string at the NUL and store "x". */
    EXPECT_CLI(2, "run: parameters hold a NUL character (\\u0000)", "run", "System/Echo",
               "--params", "{\"a\":\"x\\u0000y\"}");
    EXPECT_CLI(2, "parameters hold a NUL character (\\u0000)", "enqueue", "System/Echo", "--params",
               "{\"a\":\"x\\u0000y\"}");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE action = 'System/Echo'", DB_NOP) == 0,
          "a refused job is not stored");
    /* The server unreachable is a runtime failure, exit 1. */
    setenv("JOBFLEET_MYSQL_PORT", "1", 1);
    EXPECT_CLI(1, "connect to MariaDB at 127.0.0.1:1", "show", "1");
    unsetenv("JOBFLEET_MYSQL_PORT");
}

static void
write_conf(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL, "write %s", path);
    fputs(text, fp);
    fclose(fp);
}

static void
test_config_errors(struct tenv *t)
{
    char *conf = xasprintf("%s/bad.conf", t->dir);
    char *err = NULL;
    const char *bins[] = {"jobfleet", "jobfleet-worker", "jobfleet-scheduler"};

    write_conf(conf, "[mysql]\nport = 3306\n\n[worker]\nconcurency = 4\n");
    for (int i = 0; i < 3; i++) {
        int rc = t_sh(t, &err, "%s --config %s %s", t_bin(bins[i]), conf,
                      i == 0 ? "stats" : "--check-config");
        CHECK(rc == 2, "%s: unknown key exits %d", bins[i], rc);
        char *want = xasprintf("%s:5: [worker] concurency: unknown key", conf);
        CHECK(strstr(err, want), "%s: message: %s", bins[i], err);
        CHECK(t_count(err, "\n") == 1, "one line: %s", err);
        free(want);
        free(err);
    }

    write_conf(conf, "[worker]\nconcurrency = lots\n");
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-worker"), conf) == 2,
          "bad value");
    CHECK(strstr(err, "[worker] concurrency: expected an integer in 1-1024, got \"lots\""),
          "message: %s", err);
    free(err);

    /* One placeholder per row in the pickup, seven in the attempt rows the watchdog and the
     * lease recovery write: past 9,362 rows a batch is a statement MariaDB refuses (1390). */
    write_conf(conf, "[scheduler]\nbatch_size = 70000\n");
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-scheduler"), conf) == 2,
          "batch_size too large");
    CHECK(strstr(err, "[scheduler] batch_size: expected an integer in 1-5000, got \"70000\""),
          "message: %s", err);
    free(err);

    /* A misspelt default zone would park every cron job without its own zone, an hour at a
     * time, after a check that said OK. */
    write_conf(conf, "[scheduler]\ntimezone = America/Chicgo\n");
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-scheduler"), conf) == 2,
          "a zone that does not exist");
    CHECK(strstr(err, "[scheduler] timezone: \"America/Chicgo\" cannot be used"), "message: %s",
          err);
    free(err);

    /* A bad port of a [db.<name>] section was dropped for [mysql]'s: the job wrote to the
     * fleet's own server. A bad schedule of a section the scheduler keeps as a cron job was only
     * logged, and the sync never ran. */
    static const char *const later[][3] = {
        {"jobfleet", "[db.tickets]\nhost = 127.0.0.2\nport = 33O6\n",
         "[db.tickets] port: \"33O6\" is not a whole number in 1-65535"},
        {"jobfleet-scheduler", "[toga_desk.acme]\nschedule = 99 * * * *\n",
         "[toga_desk.acme] schedule: \"99 * * * *\": field 1 (minute)"},
        {"jobfleet-scheduler", "[toga_desk.acme]\nschedule = @hourly\ntimezone = Nope/Nope\n",
         "[toga_desk.acme] timezone: \"Nope/Nope\" cannot be used"},
        /* getaddrinfo wrapped the port: the worker listened on 34463, and said nothing. */
        {"jobfleet-worker", "[worker]\nmetrics_listen = 127.0.0.1:99999\n",
         "[worker] metrics_listen: bad port in \"127.0.0.1:99999\""},
        {"jobfleet-scheduler", "[scheduler]\nmetrics_listen = 127.0.0.1\n",
         "[scheduler] metrics_listen: expected host:port, got \"127.0.0.1\""}};
    for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
        write_conf(conf, later[i][1]);
        int rc = t_sh(t, &err, "%s --config %s %s", t_bin(later[i][0]), conf,
                      strcmp(later[i][0], "jobfleet") == 0 ? "stats" : "--check-config");
        CHECK(rc == 2 && strstr(err, later[i][2]), "%s with %s: exit %d, %s", later[i][0],
              later[i][1], rc, err);
        free(err);
    }

    write_conf(conf, "[worker]\ntest_actions = maybe\n");
    CHECK(t_sh(t, &err, "%s --config %s stats", t_bin("jobfleet"), conf) == 2, "bad bool");
    CHECK(strstr(err, "[worker] test_actions: expected true or false, got \"maybe\""), "msg: %s",
          err);
    free(err);

    write_conf(conf, "[mysql]\npassword_file = /nonexistent/secret\n");
    CHECK(t_sh(t, &err, "%s --config %s stats", t_bin("jobfleet"), conf) == 2, "secret file");
    CHECK(strstr(err, "[mysql] password_file: cannot read secret file \"/nonexistent/secret\""),
          "msg: %s", err);
    free(err);

    write_conf(conf, "[nonsense]\nkey = 1\n");
    CHECK(t_sh(t, &err, "%s --config %s stats", t_bin("jobfleet"), conf) == 2, "section");
    CHECK(strstr(err, "[nonsense]: unknown section"), "msg: %s", err);
    free(err);

    write_conf(conf, "[worker]\nconcurrency = 2\n");
    CHECK(t_sh(t, &err, "JOBFLEET_WORKER_LEASE_S=1 %s --config %s --check-config",
               t_bin("jobfleet-worker"), conf) == 2,
          "env override");
    CHECK(strstr(err, "environment JOBFLEET_WORKER_LEASE_S: [worker] lease_s: expected an "
                      "integer in 2-86400, got \"1\""),
          "msg: %s", err);
    free(err);

    /* A webhook source named like the API's key space would share its idempotency keys. */
    write_conf(conf, "[webhook.api]\nauth = none\n");
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-producer"), conf) == 2,
          "[webhook.api]");
    char *want = xasprintf("%s:2: [webhook.api]: the source name \"api\" is the API's", conf);
    CHECK(strstr(err, want), "msg: %s", err);
    free(want);
    free(err);

    /* Errors of a [webhook.*] key name its file and line (before: section and key alone). */
    write_conf(conf, "[webhook.gh]\nauth = hmac-sha256\nsecret = short\n");
    CHECK(chmod(conf, 0600) == 0, "chmod %s", conf);
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-producer"), conf) == 2,
          "short secret");
    want = xasprintf("%s:3: [webhook.gh] secret: at least", conf);
    CHECK(strstr(err, want), "msg: %s", err);
    free(want);
    free(err);

    /* A key the section's auth does not read is warned about: the operator believes it in
     * force (before: accepted without a word). */
    write_conf(conf, "[webhook.desk]\nauth = none\nsecret = s-0123456789abcdef\n");
    CHECK(chmod(conf, 0600) == 0, "chmod %s", conf);
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-producer"), conf) == 0,
          "auth = none with a secret: %s", err);
    want = xasprintf("%s:3: [webhook.desk] secret: ignored: auth = none does not read it", conf);
    CHECK(strstr(err, want), "no warning of the unread secret: %s", err);
    free(want);
    free(err);

    /* One heartbeat per lease: the worker would fence itself between two of them. Both keys'
     * places are named (before: neither). */
    write_conf(conf, "[worker]\nheartbeat_s = 20\nlease_s = 30\n");
    CHECK(t_sh(t, &err, "%s --config %s --check-config", t_bin("jobfleet-worker"), conf) == 2,
          "heartbeat_s against lease_s");
    want = xasprintf("%s:3: [worker] lease_s (30) must be at least twice heartbeat_s (20, %s:2)",
                     conf, conf);
    CHECK(strstr(err, want), "msg: %s", err);
    free(want);
    free(err);

    /* Run where no config file is found, the CLI tried the defaults and said only that it
     * could not connect. */
    CHECK(t_sh(t, &err, "cd / && JOBFLEET_CONFIG= JOBFLEET_MYSQL_PORT=1 %s stats",
               t_bin("jobfleet")) == 1 &&
              strstr(err, "no config file was found"),
          "no config file: %s", err);
    free(err);

    /* The .local/jobfleet.conf of the directory a command runs in is found by itself: one that
     * another user put in a shared directory pointed root's CLI at their server, with root's
     * *_file secrets (the secrets review read them back). Only the caller's own is taken. */
    char *top = xasprintf("%s/shared", t->dir), *dir = xasprintf("%s/.local", top), *local;
    CHECK(mkdir(top, 0700) == 0 && mkdir(dir, 0700) == 0, "mkdir %s", dir);
    local = xasprintf("%s/jobfleet.conf", dir);
    write_conf(local, "[mysql]\nport = 1\n");
    CHECK(chmod(local, 0600) == 0, "chmod %s", local);
    CHECK(t_sh(t, &err, "cd %s/shared && JOBFLEET_CONFIG= %s stats", t->dir, t_bin("jobfleet")) ==
              1,
          "the caller's own .local/jobfleet.conf is used (port 1: no server): %s", err);
    free(err);
    if (geteuid() == 0) {
        CHECK(chown(local, 65534, 65534) == 0, "chown %s", local);
        CHECK(t_sh(t, &err, "cd %s/shared && JOBFLEET_CONFIG= %s stats", t->dir,
                   t_bin("jobfleet")) == 2 &&
                  strstr(err, "refusing .local/jobfleet.conf in this directory: it belongs to "
                              "uid 65534, not to you (uid 0)"),
              "another user's .local/jobfleet.conf: %s", err);
        free(err);
    }
    /* The owner was checked with stat() and the file opened again by name: another user who
     * owned .local swapped it between the two (the final review leaked root's Redis password
     * at the third try). Now the open file is checked, and a .local that others can write to,
     * or a link, is refused. */
    CHECK(chown(local, geteuid(), getegid()) == 0 && chmod(dir, 0777) == 0, "open .local to all");
    CHECK(t_sh(t, &err, "cd %s/shared && JOBFLEET_CONFIG= %s stats", t->dir, t_bin("jobfleet")) ==
                  2 &&
              strstr(err, ".local is open to others' writes"),
          "a .local others can write to: %s", err);
    free(err);
    char *target = xasprintf("%s/target.conf", dir);
    CHECK(chmod(dir, 0700) == 0 && rename(local, target) == 0 && symlink(target, local) == 0,
          "link .local/jobfleet.conf");
    CHECK(t_sh(t, &err, "cd %s/shared && JOBFLEET_CONFIG= %s stats", t->dir, t_bin("jobfleet")) ==
                  2 &&
              strstr(err, "it is a symbolic link"),
          "a link as .local/jobfleet.conf: %s", err);
    free(err);
    free(target);
    free(local);
    free(dir);
    free(top);

    /* A server that asks the client to switch to mysql_clear_password got the password as it
     * is (the secrets review read it off such a fake). */
    struct tfake fake;
    char *seen = xasprintf("%s/clear_switch.hex", t->dir);
    char *sock = xasprintf("%s/clear_switch.sock", t->dir);
    tfake_start(t, &fake, "mysql_clear_switch.py",
                (const char *const[]){"--out", seen, "--socket", sock, NULL});
    CHECK(t_sh(t, &err, "JOBFLEET_MYSQL_PASSWORD=Secret-Sauce-42 JOBFLEET_MYSQL_PORT=%d %s stats",
               fake.port, t_bin("jobfleet")) == 1,
          "stats against the hostile server: %s", err);
    free(err);
    char *hex = t_read_file(seen);
    CHECK(hex && !strstr(hex, "5365637265742d53617563652d3432"),
          "the password went in clear to a server that asked for it: %s", hex);
    free(hex);
    /* A local socket keeps every plugin (PAM logins through it), "localhost" too: libmariadb
     * reaches it through the socket, and treated as TCP it refused such a login. */
    CHECK(
        t_sh(t, &err,
             "JOBFLEET_MYSQL_HOST=localhost JOBFLEET_MYSQL_PASSWORD=Local-Pam-9 MYSQL_UNIX_PORT=%s "
             "%s stats",
             sock, t_bin("jobfleet")) == 1,
        "stats over the local socket: %s", err);
    free(err);
    tfake_stop(&fake);
    hex = t_read_file(seen);
    CHECK(hex && strstr(hex, "4c6f63616c2d50616d2d39"),
          "host = localhost refused the local socket's plugin: %s", hex);
    free(hex);
    free(sock);
    free(seen);

    CHECK(t_sh(t, &err, "%s --config %s/missing.conf stats", t_bin("jobfleet"), t->dir) == 2,
          "missing file");
    CHECK(strstr(err, "missing.conf: cannot open config file"), "msg: %s", err);
    free(err);

    CHECK(t_sh(t, &err, "%s --config %s --concurrency 0", t_bin("jobfleet-worker"), t->conf) == 2,
          "--concurrency 0");
    CHECK(strstr(err, "--concurrency \"0\": expected an integer in 1-1024"), "msg: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "%s --config %s --queues 'a:x'", t_bin("jobfleet-worker"), t->conf) == 2,
          "--queues a:x");
    CHECK(strstr(err, "weight \"x\" must be an integer"), "msg: %s", err);
    free(err);
    CHECK(t_sh(t, &err, "%s --config %s --frob", t_bin("jobfleet-worker"), t->conf) == 2,
          "unknown worker flag");
    CHECK(strstr(err, "unknown option --frob"), "msg: %s", err);
    free(err);

    /* A good file passes the check, and every binary has --help with its exit codes. */
    CHECK(t_sh(t, NULL, "%s --config %s --check-config", t_bin("jobfleet-worker"), t->conf) == 0,
          "good config");
    const char *all[] = {"jobfleet", "jobfleet-worker", "jobfleet-scheduler", "jobfleet-producer"};
    for (int i = 0; i < 4; i++) {
        char *out = xasprintf("%s/help.out", t->dir);
        char *cmd = xasprintf("%s --help > %s", t_bin(all[i]), out);
        CHECK(system(cmd) == 0, "%s --help exits 0", all[i]);
        char *text = t_read_file(out);
        CHECK(text && strstr(text, "usage:") && strstr(text, "--config"), "%s --help: %s", all[i],
              text);
        free(text);
        free(cmd);
        free(out);
    }
    free(conf);
}

static void
test_migrate_refuses_newer(struct tenv *t)
{
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err, (const char *const[]){"migrate", NULL}) == 0,
          "second migrate is a no-op: %s", err);
    free(out);
    free(err);
    CHECK(db_exec(t->db,
                  "INSERT INTO schema_migrations (version, name, dt_applied) "
                  "VALUES (999, '999_future', NOW(6))",
                  DB_NOP, NULL, NULL) == 0,
          "insert future version");
    EXPECT_CLI(2, "is at schema version 999, newer than this jobfleet knows", "migrate");
}

/* Two migrates at once on a new database (an init container per replica): each applied every
 * file, and the slower failed with "Duplicate entry" on schema_migrations (a migration that is
 * not idempotent would have run twice). They take turns now, and both succeed. */
static void
test_migrate_concurrent(struct tenv *t)
{
    char *dbname = xasprintf("%s_mig", t->db_name);
    setenv("JOBFLEET_MYSQL_DATABASE", dbname, 1);
    pid_t p[2];
    for (int i = 0; i < 2; i++)
        p[i] = t_spawn(t, t_bin("jobfleet"), (const char *const[]){"migrate", NULL});
    unsetenv("JOBFLEET_MYSQL_DATABASE");
    int st[2];
    for (int i = 0; i < 2; i++)
        st[i] = t_wait_exit(t, p[i], 60000);
    char *sql = xasprintf("DROP DATABASE IF EXISTS `%s`", dbname);
    db_exec_static(t->db, sql);
    free(sql);
    for (int i = 0; i < 2; i++) {
        char *log = t_read_file(t->procs[t->n_procs - 2 + i].log_path);
        CHECK(st[i] != -1 && WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0,
              "migrate %d exited %d: %s", i, st[i], log ? log : "");
        free(log);
    }
    free(dbname);
}

/* Copies deploy/sql into <t->dir>/sql, runs the shell command then in it, and points the CLI at
 * the copy (JOBFLEET_SQL_DIR, which the caller unsets). */
static void
sql_dir_with(struct tenv *t, const char *then)
{
    char *dir = xasprintf("%s/sql", t->dir);
    CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
    char *cmd =
        xasprintf("cp %s/deploy/sql/*.sql %s/ && cd %s && %s", JOBFLEET_SOURCE_DIR, dir, dir, then);
    CHECK(system(cmd) == 0, "%s", cmd);
    setenv("JOBFLEET_SQL_DIR", dir, 1);
    free(cmd);
    free(dir);
}

/* Two migration files with one version (two branches that each added the next number): the
 * migrate names both and applies neither, where it used to apply the first and skip the
 * second for good. */
static void
test_migrate_refuses_duplicate_versions(struct tenv *t)
{
    sql_dir_with(t, "echo 'CREATE TABLE dup_a (id INT);' > 900_a.sql && "
                    "echo 'CREATE TABLE dup_b (id INT);' > 900_b.sql");
    EXPECT_CLI(2, "900_a.sql and 900_b.sql have the same version 900: renumber one", "migrate");
    unsetenv("JOBFLEET_SQL_DIR");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                    "DATABASE() AND table_name IN ('dup_a', 'dup_b')",
                    DB_NOP) == 0,
          "neither duplicate was applied");
}

/* The exit status of a migrate spawned into the test's processes (the last one), with its log on
 * failure. */
static void
migrate_exited(struct tenv *t, pid_t p, int want, const char *needle)
{
    const char *path = t->procs[t->n_procs - 1].log_path;
    int st = t_wait_exit(t, p, 40000);
    char *log = t_read_file(path);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == want, "migrate exited %d, want %d: %s",
          st, want, log ? log : "");
    CHECK(needle == NULL || (log && strstr(log, needle)), "the log lacks \"%s\": %s", needle,
          log ? log : "");
    free(log);
}

/* A second migrate waits for the first one's lock up to its 600 s. Its connection had the
 * fleet's [mysql] read_timeout_s (30 s by default, 2 here), and it gave up there with "Lost
 * connection": an init container of the second replica failed when the first one's migration
 * took over 30 s. */
static void
test_migrate_waits_past_read_timeout(struct tenv *t)
{
    char *lock = xasprintf("jobfleet:migrate:%s", t->db_name);
    CHECK(t_sql_int(t, -1, "SELECT GET_LOCK(?, 0)", DB_P(DBS(lock))) == 1, "take the lock");
    setenv("JOBFLEET_MYSQL_READ_TIMEOUT_S", "2", 1);
    pid_t p = t_spawn(t, t_bin("jobfleet"), (const char *const[]){"migrate", NULL});
    unsetenv("JOBFLEET_MYSQL_READ_TIMEOUT_S");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                         "'%GET\\_LOCK%' AND ID <> CONNECTION_ID() AND TIME >= 4",
                         DB_NOP) == 1,
               15000, "the migrate did not wait 4 s for the lock");
    CHECK(t_sql_int(t, -1, "SELECT RELEASE_LOCK(?)", DB_P(DBS(lock))) == 1, "release the lock");
    free(lock);
    migrate_exited(t, p, 0, NULL);
}

/* A migration's DDL waits at most 10 s for a table another session holds open (here a
 * transaction that read action_settings), and says so: while an ALTER waits, every later
 * statement on the table queues behind it, and a backup's long transaction would have stalled
 * the fleet's claims until the workers fenced themselves. */
static void
test_migrate_gives_up_on_held_table(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = 10") == 0,
          "forget 010: %s", db_errstr(t->db));
    CHECK(db_begin(t->db) == 0 &&
              t_sql_int(t, -1, "SELECT COUNT(*) FROM action_settings", DB_NOP) >= 0,
          "hold action_settings: %s", db_errstr(t->db));
    pid_t p = t_spawn(t, t_bin("jobfleet"), (const char *const[]){"migrate", NULL});
    migrate_exited(t, p, 1, "010_settings_names_exact.sql:10: gave up waiting for a table");
    db_rollback(t->db);
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"migrate", NULL}) == 0,
          "migrate once the table is free: %s", err);
    free(err);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM schema_migrations WHERE version = 10", DB_NOP) ==
              1,
          "010 applied");
}

/* A last statement without its ';' was never run, and its file recorded as applied. */
static void
test_migrate_refuses_unended_statement(struct tenv *t)
{
    sql_dir_with(t, "printf 'CREATE TABLE ended (id INT);\\n\\nCREATE TABLE unended (id "
                    "INT)\\n' > 900_unended.sql");
    EXPECT_CLI(2, "900_unended.sql:3: the file ends inside a statement", "migrate");
    unsetenv("JOBFLEET_SQL_DIR");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM schema_migrations WHERE version = 900", DB_NOP) ==
              0,
          "the file was recorded as applied");
}

/* A [db.tickets] without a database of its own is the fleet's: schema_migrations counts
 * versions, not sets, and the tickets tables were never made ("newer than this jobfleet
 * knows"). Refused before anything is migrated, naming the section. */
static void
test_migrate_refuses_shared_database(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = 10") == 0,
          "forget 010: %s", db_errstr(t->db));
    FILE *fp = fopen(t->conf, "a");
    CHECK(fp && fputs("[db.tickets]\nconnect_timeout_s = 5\n", fp) >= 0 && fclose(fp) == 0,
          "add [db.tickets] to %s", t->conf);
    EXPECT_CLI(2, "[db.tickets]: database ", "migrate");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM schema_migrations WHERE version = 10", DB_NOP) ==
              0,
          "the fleet's database was migrated before the refusal");
}

/* A migrations directory older than the binary (an installed copy left from the last version)
 * is refused: its migrate said the schema was up to date, and every daemon then refused to
 * start on it. */
static void
test_migrate_refuses_older_sql_dir(struct tenv *t)
{
    sql_dir_with(t, "rm 01[0-9]_*.sql");
    EXPECT_CLI(2, "holds migrations up to version 9, and this jobfleet needs", "migrate");
    unsetenv("JOBFLEET_SQL_DIR");
}

/* The table of `queue list` prints each queue's Redis depth: the path that formats it must
 * free what it formats (the suite runs under LeakSanitizer, which fails the exit status). */
static void
test_queue_list_text(struct tenv *t)
{
    t_enqueue(t, "System/Noop", "{}", NULL);
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, (const char *const[]){"queue", "list", NULL});
    CHECK(rc == 0, "queue list exits %d; stderr: %s", rc, err);
    CHECK(out && strstr(out, "DEPTH") && strstr(out, "default"), "queue list: %s", out);
    free(out);
    free(err);
}

/* `action list` shows what the workers go by: Dispatch/Legacy/Sync's concurrency of 1 from
 * migration 006 showed nowhere but in SQL (`actions` prints the registered defaults), a
 * backoff set with `action set` over the default, and a row of an action since renamed. */
static void
test_action_list(struct tenv *t)
{
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, NULL, &err,
                (const char *const[]){"action", "set", "System/Noop", "--backoff-base", "7s",
                                      NULL}) == 0,
          "action set: %s", err);
    free(err);
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, rate_limit, "
                                "rate_interval_ms, dt_updated) VALUES ('Old/Renamed', 5, 1000, "
                                "NOW(6))") == 0,
          "a row of a renamed action: %s", db_errstr(t->db));
    CHECK(t_cli(t, &out, &err, (const char *const[]){"action", "list", NULL}) == 0,
          "action list: %s", err);
    free(err);
    const char *want[] = {"Dispatch/Legacy/Sync", "concurrency 1\n",
                          "System/Noop",          "       7s",
                          "Old/Renamed",          "  rate 5/1000ms (no such "};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK(out && strstr(out, want[i]), "action list lacks \"%s\":\n%s", want[i], out);
    free(out);
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"--json", "action", "list", NULL}) == 0,
          "action list --json");
    CHECK(out && strstr(out, "\"action\":\"System/Noop\",\"registered\":true,"
                             "\"concurrency_limit\":0,\"rate_limit\":0,\"rate_interval_ms\":0,"
                             "\"backoff_base_ms\":7000"),
          "action list --json: %s", out);
    free(out);
    EXPECT_CLI(2, "action needs: list, or set ACTION", "action", "list", "extra");
}

/* Queue and action names are exact, as the workers match them: a pause of "default" after a
 * limit of "Default" was kept on the "Default" row (the keys compared case-insensitively), and
 * the real queue ran on. */
static void
test_settings_names_exact(struct tenv *t)
{
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"queue", "limit", "Default", "--concurrency", "2", NULL}) ==
              0,
          "limit Default: %s", err);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, &err, (const char *const[]){"queue", "pause", "default", NULL}) == 0,
          "pause default: %s", err);
    free(out);
    free(err);
    CHECK(t_sql_int(t, -1, "SELECT is_paused FROM queue_settings WHERE BINARY queue = 'default'",
                    DB_NOP) == 1,
          "the row of \"default\" is paused");
    CHECK(t_sql_int(t, -1, "SELECT is_paused FROM queue_settings WHERE BINARY queue = 'Default'",
                    DB_NOP) == 0,
          "\"Default\" is not");
}

struct bg_retry {
    struct tenv *t;
    const int64_t *ids;
    int n, rc;
    int64_t done[4];
    char err[512];
};

/* job_retry_ids (the dashboard's bulk retry) on its own connections. */
static void *
bg_retry_main(void *arg)
{
    struct bg_retry *b = arg;
    struct db *db = db_new(&b->t->cfg.mysql);
    struct rq *rq = rq_new(&b->t->cfg.redis);
    const struct audit_by by = {.actor = "test"};
    b->rc = db_connect(db) < 0 || rq_connect(rq) < 0
                ? -3
                : job_retry_ids(db, rq, b->ids, b->n, NULL, &by, b->done, b->err, sizeof(b->err));
    rq_free(rq);
    db_free(db);
    return NULL;
}

/* A bulk retry while a unique key one of the failed jobs gave back is taken by another job,
 * not yet committed: the retry's check cannot see it, its UPDATE waits on the key, and after
 * the commit it met a duplicate key, so the whole batch (up to 1,000 jobs) failed with a raw
 * "Duplicate entry". The batch is read again: that job is left out, the others retried. */
static void
test_bulk_retry_key_race(struct tenv *t)
{
    int64_t ids[4], other = t_enqueue(t, "System/Noop", NULL, NULL);
    for (int i = 0; i < 4; i++) {
        ids[i] = t_enqueue(t, "System/Noop", NULL, NULL);
        CHECK(db_exec(t->db,
                      "UPDATE jobs SET state = 'failed', dt_completed = NOW(6), is_success = 0, "
                      "released_key = IF(? = 0, 'K1', NULL) WHERE id = ?",
                      DB_P(DBI(i), DBI(ids[i])), NULL, NULL) == 0,
              "fail job %d", i);
    }
    struct db *db2 = db_new(&t->cfg.mysql);
    CHECK(db_connect(db2) == 0 && db_begin(db2) == 0 &&
              db_exec(db2, "UPDATE jobs SET unique_key = 'K1' WHERE id = ?", DB_P(DBI(other)), NULL,
                      NULL) == 0,
          "the other job takes K1, uncommitted: %s", db_errstr(db2));
    struct bg_retry b = {.t = t, .ids = ids, .n = 4};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, bg_retry_main, &b) == 0, "thread");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM information_schema.processlist WHERE "
                         "db = DATABASE() AND info LIKE 'UPDATE jobs SET state%'",
                         DB_NOP) >= 1,
               10000, "the retry's UPDATE waits on the key");
    CHECK(db_commit(db2) == 0, "commit: %s", db_errstr(db2));
    pthread_join(th, NULL);
    CHECK(b.rc == 3, "retried %d: %s", b.rc, b.err);
    CHECK(t_job_in_state(t, ids[0], "failed"), "the job whose key is held stays failed");
    for (int i = 1; i < 4; i++)
        CHECK(t_job_in_state(t, ids[i], "queued"), "job %d retried", i);
    db_free(db2);
}

static const struct test_case cases[] = {
    {"e2e_cli_bad_input", test_bad_input, NULL},
    {"e2e_cli_queue_list_text", test_queue_list_text, NULL},
    {"e2e_cli_action_list", test_action_list, NULL},
    {"e2e_cli_settings_names_exact", test_settings_names_exact, NULL},
    {"e2e_cli_bulk_retry_key_race", test_bulk_retry_key_race, NULL},
    {"e2e_cli_config_errors", test_config_errors, NULL},
    {"e2e_cli_migrate_refuses_newer", test_migrate_refuses_newer, NULL},
    {"e2e_cli_migrate_concurrent", test_migrate_concurrent, NULL},
    {"e2e_cli_migrate_refuses_duplicate_versions", test_migrate_refuses_duplicate_versions, NULL},
    {"e2e_cli_migrate_waits_past_read_timeout", test_migrate_waits_past_read_timeout, NULL},
    {"e2e_cli_migrate_gives_up_on_held_table", test_migrate_gives_up_on_held_table, NULL},
    {"e2e_cli_migrate_refuses_unended_statement", test_migrate_refuses_unended_statement, NULL},
    {"e2e_cli_migrate_refuses_shared_database", test_migrate_refuses_shared_database, NULL},
    {"e2e_cli_migrate_refuses_older_sql_dir", test_migrate_refuses_older_sql_dir, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
