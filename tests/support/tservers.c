/* This file implements private MariaDB and Redis servers for tests, over tests/servers. */
#include "tservers.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory of the running private servers, for the exit handler: a test that fails exits
 * from t_fail, and its servers must not outlive it. */
static char *tsrv_live_dir;

static int
tsrv_shutdown(const char *dir)
{
    char *cmd = xasprintf("%s/tests/servers stop %s >/dev/null 2>&1", JOBFLEET_SOURCE_DIR, dir);
    int rc = system(cmd) == 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "could not stop the private servers in %s\n", dir);
    free(cmd);
    return rc;
}

static void
tsrv_at_exit(void)
{
    if (tsrv_live_dir == NULL)
        return;
    tsrv_shutdown(tsrv_live_dir);
    free(tsrv_live_dir);
    tsrv_live_dir = NULL;
}

static void
tsrv_cmd(struct tsrv *s, const char *what)
{
    char *cmd = xasprintf("%s/tests/servers %s %s >/dev/null", JOBFLEET_SOURCE_DIR, what, s->dir);
    CHECK(system(cmd) == 0, "tests/servers %s", what);
    free(cmd);
}

/* The port after "KEY=" in the servers' env file, as text of at most 15 digits. */
static void
tsrv_port(const char *env, const char *key, char port[16])
{
    port[0] = '\0';
    sscanf(strstr(env, key) + strlen(key), "%15[0-9]", port);
}

void
tsrv_start(struct tenv *t, struct tsrv *s)
{
    static bool registered;
    memset(s, 0, sizeof(*s));
    s->dir = xasprintf("%s/servers", t->dir);
    tsrv_live_dir = xstrdup(s->dir);
    if (!registered) {
        atexit(tsrv_at_exit);
        registered = true;
    }
    /* ctest kills a test at its timeout with SIGKILL, which no exit handler survives: the
     * servers' reaper stops them when this process is gone. */
    char owner[24];
    snprintf(owner, sizeof(owner), "%ld", (long)getpid());
    setenv("JOBFLEET_SERVERS_OWNER", owner, 1);
    tsrv_cmd(s, "start");
    char *envp = xasprintf("%s/env", s->dir);
    char *env = t_read_file(envp);
    CHECK(env && strstr(env, "MYSQL_PORT=") && strstr(env, "REDIS_PORT="), "servers env");
    char myport[16], rport[16];
    tsrv_port(env, "MYSQL_PORT=", myport);
    tsrv_port(env, "REDIS_PORT=", rport);
    free(env);
    free(envp);
    s->mysql_port = (int)strtol(myport, NULL, 10);
    s->redis_port = (int)strtol(rport, NULL, 10);
    setenv("JOBFLEET_MYSQL_PORT", myport, 1);
    setenv("JOBFLEET_REDIS_PORT", rport, 1);
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err, (const char *const[]){"migrate", NULL}) == 0, "migrate: %s", err);
    free(out);
    free(err);
    t_builtin_crons_off(t);
}

void
tsrv_use(struct tenv *t, struct tsrv *s)
{
    struct cfg_mysql m = t->cfg.mysql;
    m.port = s->mysql_port;
    struct cfg_redis r = t->cfg.redis;
    r.port = s->redis_port;
    s->shared_db = t->db;
    s->shared_rq = t->rq;
    t->db = db_new(&m);
    t->rq = rq_new(&r);
    CHECK(db_connect(t->db) == 0, "private MariaDB: %s", db_errstr(t->db));
    CHECK(rq_connect(t->rq) == 0, "private Redis: %s", rq_errstr(t->rq));
}

void
tsrv_stop_mysql(struct tsrv *s)
{
    tsrv_cmd(s, "stop-mysql");
}

void
tsrv_start_mysql(struct tsrv *s)
{
    tsrv_cmd(s, "start-mysql");
}

void
tsrv_stop_redis(struct tsrv *s)
{
    tsrv_cmd(s, "stop-redis");
}

void
tsrv_start_redis(struct tsrv *s)
{
    tsrv_cmd(s, "start-redis");
}

int
tsrv_stop(struct tenv *t, struct tsrv *s)
{
    if (s->shared_db != NULL || s->shared_rq != NULL) {
        db_free(t->db);
        rq_free(t->rq);
        t->db = s->shared_db;
        t->rq = s->shared_rq;
        s->shared_db = NULL;
        s->shared_rq = NULL;
    }
    int rc = tsrv_shutdown(s->dir);
    free(tsrv_live_dir);
    tsrv_live_dir = NULL;
    free(s->dir);
    s->dir = NULL;
    unsetenv("JOBFLEET_MYSQL_PORT");
    unsetenv("JOBFLEET_REDIS_PORT");
    return rc;
}

pid_t
tsrv_pid(struct tsrv *s, const char *file)
{
    char *path = xasprintf("%s/%s", s->dir, file);
    char *text = t_read_file(path);
    CHECK(text != NULL, "no %s", path);
    pid_t pid = (pid_t)strtol(text, NULL, 10);
    free(text);
    free(path);
    return pid;
}
