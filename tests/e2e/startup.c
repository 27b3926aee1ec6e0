/* End-to-end tests of a worker that starts while MariaDB or Redis cannot be reached: a signal
 * must still stop it promptly, however long the server stays away; and of daemons started on a
 * schema older than they need. */
#include "log.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A loopback port that refuses connections for as long as fd stays open: bound, never
 * listening, so no other test can take it meanwhile. */
static int
closed_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    CHECK(*fd >= 0 && bind(*fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              getsockname(*fd, (struct sockaddr *)&a, &len) == 0,
          "cannot reserve a port");
    return ntohs(a.sin_port);
}

/* The worker's log, read from its file (the process may be reaped already). */
static char *
worker_log(struct tenv *t)
{
    return t_read_file(t->procs[0].log_path);
}

static bool
log_has(struct tenv *t, const char *needle)
{
    char *log = worker_log(t);
    bool found = log && strstr(log, needle);
    free(log);
    return found;
}

/* Starts a worker with one setting overridden through the environment (which the child
 * inherits), sends sig once the log shows it waiting, and checks it exits 0 in a few
 * seconds with a line saying why. */
static void
stop_while_waiting(struct tenv *t, const char *env, const char *waiting, int sig,
                   const char *stopping)
{
    int fd;
    char port[16];
    snprintf(port, sizeof(port), "%d", closed_port(&fd));
    setenv(env, port, 1);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    unsetenv(env);
    WAIT_UNTIL(log_has(t, waiting), 15000, "worker never logged \"%s\"", waiting);
    CHECK(t_alive(w), "the worker should still be waiting");
    char *source = xasprintf("configuration: %s", t->conf);
    CHECK(log_has(t, source), "the log names the config file (\"%s\")", source);
    free(source);
    int64_t sent = now_mono_ms();
    t_signal(t, w, sig);
    int status = t_wait_exit(t, w, 3000);
    CHECK(status != -1, "worker did not exit within 3 s of the signal");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker should exit 0 (status %d)",
          status);
    CHECK(log_has(t, stopping), "no log line says why the worker stopped (\"%s\")", stopping);
    log_info("worker exited %lld ms after the signal", (long long)(now_mono_ms() - sent));
    close(fd);
}

/* A daemon of a new version started before `jobfleet migrate` refuses to start, naming the
 * versions: the worker claimed and ran jobs whose check-outs then failed on a missing column,
 * and the watchdog ran each again. */
static void
test_old_schema_refused(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = (SELECT v FROM "
                                "(SELECT MAX(version) AS v FROM schema_migrations) m)") == 0,
          "forget the last migration: %s", db_errstr(t->db));
    const char *bins[] = {"jobfleet-worker", "jobfleet-scheduler", "jobfleet-producer"};
    for (int i = 0; i < 3; i++) {
        pid_t p = t_spawn(t, t_bin(bins[i]), NULL);
        const char *path = t->procs[t->n_procs - 1].log_path;
        int st = t_wait_exit(t, p, 15000);
        char *log = t_read_file(path);
        CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s exited %d: %s", bins[i], st,
              log ? log : "");
        CHECK(log && strstr(log, "this jobfleet needs") && strstr(log, "jobfleet migrate"),
              "%s does not say to migrate: %s", bins[i], log ? log : "");
        free(log);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM worker_instances", DB_NOP) == 0,
          "the worker registered");
}

static void
test_sigterm_waiting_for_mysql(struct tenv *t)
{
    stop_while_waiting(t, "JOBFLEET_MYSQL_PORT", "retrying until MariaDB answers", SIGTERM,
                       "signal received while waiting for MariaDB");
}

static void
test_sigint_waiting_for_mysql(struct tenv *t)
{
    stop_while_waiting(t, "JOBFLEET_MYSQL_PORT", "retrying until MariaDB answers", SIGINT,
                       "signal received while waiting for MariaDB");
}

static void
test_sigterm_waiting_for_redis(struct tenv *t)
{
    /* The worker registers without Redis and its fetch thread retries the pops; a drain
     * must not wait for Redis to come back. */
    stop_while_waiting(t, "JOBFLEET_REDIS_PORT", "fetch: ", SIGTERM, "draining");
}

static const struct test_case cases[] = {
    {"e2e_startup_sigterm_waiting_for_mysql", test_sigterm_waiting_for_mysql, NULL},
    {"e2e_startup_sigint_waiting_for_mysql", test_sigint_waiting_for_mysql, NULL},
    {"e2e_startup_sigterm_waiting_for_redis", test_sigterm_waiting_for_redis, NULL},
    {"e2e_startup_old_schema_refused", test_old_schema_refused, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
