/* Private MariaDB and Redis servers for end-to-end tests that stop, restart or lose them: the
 * shared servers serve the other tests at the same time, so a test that breaks a server starts
 * its own through tests/servers. One set per test process. */
#ifndef JOBFLEET_TSERVERS_H
#define JOBFLEET_TSERVERS_H

#include "tsupport.h"

struct tsrv {
    char *dir;            /* <test dir>/servers: the servers' files and their env file */
    int mysql_port;       /* where the private MariaDB listens */
    int redis_port;       /* where the private Redis listens */
    struct db *shared_db; /* the test's shared connections while tsrv_use has replaced them */
    struct rq *shared_rq;
};

/* Starts private servers in <t->dir>/servers (stopped at exit whatever happens), points the
 * binaries the test spawns and the CLI at them through JOBFLEET_MYSQL_PORT and
 * JOBFLEET_REDIS_PORT (which override the config file) and migrates the private database.
 * t->db and t->rq are left alone (see tsrv_use). Fails the test on any error; release s with
 * tsrv_stop. */
void tsrv_start(struct tenv *t, struct tsrv *s);

/* Connects t->db and t->rq to the private servers, keeping the shared connections in s for
 * tsrv_stop to put back. Fails the test when either cannot connect. */
void tsrv_use(struct tenv *t, struct tsrv *s);

/* Stops or starts one private server (`tests/servers stop-mysql DIR`, ...); each fails the test
 * when tests/servers does. */
void tsrv_stop_mysql(struct tsrv *s);
void tsrv_start_mysql(struct tsrv *s);
void tsrv_stop_redis(struct tsrv *s);
void tsrv_start_redis(struct tsrv *s);

/* The pid of a private server, from its pid file in s->dir ("mariadb.pid", or
 * "redis.pid.launch": the redis-server tests/servers launched); fails the test without one. For
 * a test that hangs a server (SIGSTOP) rather than stop it. */
pid_t tsrv_pid(struct tsrv *s, const char *file);

/* Puts the shared t->db and t->rq back (freeing the private connections) when tsrv_use replaced
 * them, stops the private servers, unsets the port variables and frees s->dir. Returns 0, or -1
 * when tests/servers could not stop them (reported on stderr). */
int tsrv_stop(struct tenv *t, struct tsrv *s);

#endif
