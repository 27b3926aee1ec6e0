/* Support for end-to-end tests: a private database and Redis prefix per test, the real
 * binaries started as child processes, commands run with captured output, and waits with
 * deadlines instead of fixed sleeps. */
#ifndef JOBFLEET_TSUPPORT_H
#define JOBFLEET_TSUPPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg.h"
#include "db.h"
#include "rq.h"

#define T_MAX_PROCS 32

struct tproc {
    pid_t pid;
    bool reaped; /* by t_wait_exit: its log stays readable by pid */
    char *name;
    char *log_path;
};

struct tenv {
    char *name;
    char *dir;      /* private temp dir */
    char *conf;     /* config file path */
    char *db_name;  /* private database */
    char *prefix;   /* private Redis key prefix */
    struct cfg cfg; /* the loaded test config */
    struct db *db;  /* a connection to the private database */
    struct rq *rq;
    struct tproc procs[T_MAX_PROCS];
    int n_procs;
};

/* Fails the test with a message and file:line when cond is false. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            t_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                        \
    } while (0)

_Noreturn void t_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Waits until cond holds, checking every 20 ms, failing the test after timeout_ms. */
#define WAIT_UNTIL(cond, timeout_ms, ...)                                                          \
    do {                                                                                           \
        int64_t wu_deadline_ = now_mono_ms() + (timeout_ms);                                       \
        while (!(cond)) {                                                                          \
            if (now_mono_ms() > wu_deadline_)                                                      \
                t_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                    \
            sleep_ms(20);                                                                          \
        }                                                                                          \
    } while (0)

struct test_case {
    const char *name;
    void (*fn)(struct tenv *t);
    /* Extra config lines appended to the test's file (e.g. "[worker]\nlease_s = 4\n"); "{db}"
     * stands for the test's private database name. */
    const char *extra_conf;
};

/* Disables the built-in cron jobs (the System/Cleanup ones, daily at 02:00 in the test's zone) in
 * the database the CLI's configuration names, after migrate installed them: a test that
 * happened to span 02:00 would otherwise count their jobs among its own. The setup does this
 * for the test's own database; a test that sets up another calls it. */
void t_builtin_crons_off(struct tenv *t);

/* Runs the case named argv[1]: sets up the env, runs it, tears down. Returns the exit code. */
int test_main(int argc, char **argv, const struct test_case *cases, int n);

/* A free loopback TCP port (free when asked: another process may take it before use). */
int t_free_port(void);

/* The path of a built binary ("jobfleet-worker"); static storage. */
const char *t_bin(const char *name);

/* In a child just forked by parent: the child is killed when the thread that forked it ends.
 * ctest kills a test at its timeout with SIGKILL, which no exit handler survives, so without
 * this what the test started would run on against the shared servers for good. Call it from
 * the test's main thread's forks only. */
void t_die_with_parent(pid_t parent);

/* Starts a binary with the test config; stdout and stderr go to <dir>/<name>.log.
 * argv is NULL-terminated and excludes argv[0]. Returns the pid. It dies with the test
 * (t_die_with_parent). */
pid_t t_spawn(struct tenv *t, const char *bin, const char *const *argv);
/* Spawns a jobfleet-worker (argv as for t_spawn) and waits until its instance row says
 * running; fails the test after 10 s. Returns the pid. */
pid_t t_start_worker(struct tenv *t, const char *const *argv);
/* The children of a worker's supervisor that run jobs (its spawner left out), from /proc:
 * fills out with up to max pids and returns how many. */
int t_worker_children(pid_t worker, pid_t *out, int max);
/* Sends sig to a spawned process. */
void t_signal(struct tenv *t, pid_t pid, int sig);
/* Hangs a process (SIGSTOP) and waits until every one of its threads has stopped: kill()
 * returns before they do, and a server thread still running could answer one more request.
 * Fails the test when they have not within 2 s. */
void t_hang(pid_t pid);
/* Waits up to timeout_ms for a spawned process to exit; returns its wait status or -1. */
int t_wait_exit(struct tenv *t, pid_t pid, int timeout_ms);
/* Waits as t_wait_exit and fails the test unless the process exited with status 0 in time: for
 * a drain (SIGTERM) that must end cleanly. what names the process in the failure. */
void t_wait_exit_ok(struct tenv *t, pid_t pid, int timeout_ms, const char *what);
/* Waits as t_wait_exit and fails the test unless the process was gone in time, however it
 * ended: for a SIGKILL, after which the test's next steps assume it is gone. */
void t_wait_gone(struct tenv *t, pid_t pid, int timeout_ms, const char *what);
/* True while the process exists (not yet reaped). */
bool t_alive(pid_t pid);
/* The log file of a spawned process, read whole, also once t_wait_exit reaped it (the latest
 * process spawned with that pid); the caller frees it. */
char *t_log(struct tenv *t, pid_t pid);

/* Spawns a jobfleet-scheduler that serves its metrics on a free loopback port, and writes
 * their URL ("http://127.0.0.1:<port>/metrics") into url (room for len). */
pid_t t_spawn_scheduler_metrics(struct tenv *t, char *url, size_t len);

/* Kills every session on database db_name (NULL: the test's own) but the test's connection, as
 * a server's wait_timeout or restart would; returns how many. */
int t_kill_sessions(struct tenv *t, const char *db_name);

/* Whether the log of the spawned process pid holds needle. */
bool t_log_has(struct tenv *t, pid_t pid, const char *needle);
/* How many times needle occurs in a spawned process's log (0 without a log). */
int t_log_count(struct tenv *t, pid_t pid, const char *needle);
/* The lines "job ID attempt N<what>" (what: " succeeded", " taken by its child"...), whatever
 * the attempt, in the logs of every worker the test started (reaped ones too). */
int t_attempt_lines(struct tenv *t, int64_t id, const char *what);

/* Runs the shell command line fmt with its stdout dropped (in the test's environment: the CLI
 * finds the test config). *err (when err is not NULL) gets its stderr, to free. Returns the exit
 * status (0-255), or -1 if it did not exit. */
int t_sh(struct tenv *t, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs the CLI (build/jobfleet) with the test config, capturing stdout and stderr (each may be
 * NULL). Returns the exit status (0-255), or -1 if it died of a signal. */
int t_cli(struct tenv *t, char **out, char **err, const char *const *argv);
/* Runs `jobfleet enqueue ACTION --params P [extra...]` and returns the new job id. */
int64_t t_enqueue(struct tenv *t, const char *action, const char *params, const char *const *extra);
/* Stores and pushes a job as the fleet's own code would (a job function's child jobs, a row
 * of an older version), past the client checks of the CLI and the API: for parameters that
 * no client may send. Fails the test on error; returns the id. */
int64_t t_insert_job(struct tenv *t, const char *action, const char *params);

/* Runs a query on the test database and returns the first column of the first row as an
 * integer (dflt for no row or NULL). */
int64_t t_sql_int(struct tenv *t, int64_t dflt, const char *sql, const struct db_param *p, int n);
/* The same for text; the caller frees it (NULL for no row or NULL). */
char *t_sql_str(struct tenv *t, const char *sql, const struct db_param *p, int n);
/* A job's state as text ("succeeded", ...); the caller frees it. */
char *t_job_state(struct tenv *t, int64_t id);
/* True when the job is in state (false for no such job). */
bool t_job_in_state(struct tenv *t, int64_t id, const char *state);
/* True when the job has finished: succeeded, failed or cancelled. */
bool t_job_done(struct tenv *t, int64_t id);

/* Reads a whole file; NULL if it cannot. The caller frees it. */
char *t_read_file(const char *path);
/* Counts occurrences of needle in haystack. */
int t_count(const char *haystack, const char *needle);
/* Sets the scheduler's simulated clock ([scheduler] test_clock_file, <dir>/clock, through the
 * environment for the processes started after) to now, atomically. */
void t_set_clock(struct tenv *t, int64_t now);

#endif
