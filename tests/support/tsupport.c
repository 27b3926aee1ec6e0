/* This file implements the end-to-end test harness declared in tsupport.h. */
#include "actions.h"
#include "tsupport.h"
#include "job.h"
#include "spawner.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tenv *t_current;

static void t_teardown(struct tenv *t, bool ok);

void
t_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  (condition: %s)\n", expr);
    if (t_current)
        t_teardown(t_current, false);
    exit(1);
}

const char *
t_bin(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 512, "%s/%s", JOBFLEET_BUILD_DIR, name);
    return p;
}

static const char *
t_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int
t_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        fatal("cannot find a free port");
    close(fd);
    return ntohs(a.sin_port);
}

/* The test's extra config lines with every "{db}" replaced by its private database name, so a
 * test can name databases of its own beside it (e.g. "[db.tickets]\ndatabase = {db}_tickets").
 * The caller frees it. */
static char *
t_extra_conf(const char *extra, const char *db_name)
{
    struct buf b;
    buf_init(&b, 0);
    for (const char *p = extra ? extra : ""; *p;) {
        const char *at = strstr(p, "{db}");
        size_t n = at ? (size_t)(at - p) : strlen(p);
        buf_append(&b, p, n);
        if (at == NULL)
            break;
        buf_appends(&b, db_name);
        p = at + 4;
    }
    return buf_detach(&b);
}

static void
t_setup(struct tenv *t, const struct test_case *tc)
{
    memset(t, 0, sizeof(*t));
    t->name = xstrdup(tc->name);
    char *tmpl = xasprintf("/tmp/jft-%s-XXXXXX", tc->name);
    t->dir = mkdtemp(tmpl);
    if (t->dir == NULL)
        fatal("mkdtemp");
    /* Database and key prefix are private to this test process. */
    char base[48];
    size_t j = 0;
    for (const char *s = tc->name; *s && j < 30; s++)
        base[j++] = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '_';
    base[j] = '\0';
    t->db_name = xasprintf("jft_%s_%d", base, (int)getpid());
    t->prefix = xasprintf("jft:%s:%d", base, (int)getpid());
    t->conf = xasprintf("%s/jobfleet.conf", t->dir);
    FILE *fp = fopen(t->conf, "w");
    if (fp == NULL)
        fatal("%s", t->conf);
    fchmod(fileno(fp), 0600); /* it holds the MariaDB password: the programs refuse it open */
    char *extra = t_extra_conf(tc->extra_conf, t->db_name);
    fprintf(fp,
            "[mysql]\nhost = %s\nport = %s\nuser = %s\npassword = %s\ndatabase = %s\n"
            "read_timeout_s = 10\n\n"
            "[redis]\nhost = %s\nport = %s\nprefix = %s\n\n"
            "[worker]\nconcurrency = 2\ntest_actions = true\nheartbeat_s = 1\nlease_s = 5\n"
            "drain_timeout_s = 20\nkill_grace_s = 2\n\n"
            "[scheduler]\ntick_ms = 200\nrequeue_after_s = 2\ntimeout_grace_s = 2\n\n"
            "[producer]\nlisten = 127.0.0.1:%d\nspool_dir = %s/spool\napi_token = "
            "test-token-0123456789\n\n"
            "[log]\nlevel = debug\n\n%s\n",
            t_env("JOBFLEET_TEST_MYSQL_HOST", "127.0.0.1"),
            t_env("JOBFLEET_TEST_MYSQL_PORT", "3306"), t_env("JOBFLEET_TEST_MYSQL_USER", "jf"),
            t_env("JOBFLEET_TEST_MYSQL_PASSWORD", "secret"), t->db_name,
            t_env("JOBFLEET_TEST_REDIS_HOST", "127.0.0.1"),
            t_env("JOBFLEET_TEST_REDIS_PORT", "6379"), t->prefix, t_free_port(), t->dir, extra);
    free(extra);
    fclose(fp);
    setenv("JOBFLEET_CONFIG", t->conf, 1);
    char err[512];
    if (cfg_load(&t->cfg, t->conf, err, sizeof(err)) < 0)
        fatalx("test config: %s", err);

    /* Create the database through a connection without one selected. */
    struct cfg_mysql admin = t->cfg.mysql;
    static char empty[] = "";
    admin.database = empty;
    struct db *adb = db_new(&admin);
    if (db_connect(adb) < 0)
        fatalx("test MariaDB: %s (is tests/run's server up?)", db_errstr(adb));
    char *sql = xasprintf("CREATE DATABASE `%s`", t->db_name); /* a name we made, not input */
    if (db_exec_static(adb, sql) < 0)
        fatalx("%s: %s", sql, db_errstr(adb));
    free(sql);
    db_free(adb);

    t->db = db_new(&t->cfg.mysql);
    if (db_connect(t->db) < 0)
        fatalx("connect: %s", db_errstr(t->db));
    t->rq = rq_new(&t->cfg.redis);
    if (rq_connect(t->rq) < 0)
        fatalx("test Redis: %s", rq_errstr(t->rq));

    char *out = NULL, *errs = NULL;
    int rc = t_cli(t, &out, &errs, (const char *const[]){"migrate", NULL});
    if (rc != 0)
        fatalx("jobfleet migrate exited %d: %s%s", rc, out ? out : "", errs ? errs : "");
    /* As t_builtin_crons_off does, without two more processes per test. */
    if (db_exec_static(t->db, "UPDATE cron_jobs SET is_active = 0 WHERE name IN "
                              "('System/Cleanup/Jobs', 'System/Cleanup/Webhooks')") < 0)
        fatalx("disabling the built-in cron jobs: %s", db_errstr(t->db));
    free(out);
    free(errs);
}

void
t_builtin_crons_off(struct tenv *t)
{
    static const char *const names[] = {"System/Cleanup/Jobs", "System/Cleanup/Webhooks"};
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        CHECK(t_cli(t, NULL, &err, (const char *const[]){"cron", "disable", names[i], NULL}) == 0,
              "cron disable %s: %s", names[i], err ? err : "");
        free(err);
    }
}

static void
t_dump_logs(struct tenv *t)
{
    for (int i = 0; i < t->n_procs; i++) {
        char *log = t_read_file(t->procs[i].log_path);
        if (log == NULL)
            continue;
        size_t n = strlen(log);
        const char *tail = n > 6000 ? log + n - 6000 : log;
        fprintf(stderr, "---- %s (pid %d) log tail ----\n%s\n", t->procs[i].name,
                (int)t->procs[i].pid, tail);
        free(log);
    }
}

/* True when no spawned process's log holds a sanitizer's report. The daemons are killed at
 * teardown, so a report they wrote while the test went on (UBSan halting one after the test's
 * last request, ASan finding a bad access in a thread the test did not watch) fails the test
 * here rather than pass unseen. */
static bool
t_sanitizers_quiet(struct tenv *t)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "runtime error: "};
    bool quiet = true;
    for (int i = 0; i < t->n_procs; i++) {
        char *log = t_read_file(t->procs[i].log_path);
        for (size_t k = 0; log && k < sizeof(marks) / sizeof(marks[0]); k++)
            if (strstr(log, marks[k])) {
                fprintf(stderr, "FAIL %s (pid %d) reported \"%s\"\n", t->procs[i].name,
                        (int)t->procs[i].pid, marks[k]);
                quiet = false;
            }
        free(log);
    }
    return quiet;
}

static void
t_teardown(struct tenv *t, bool ok)
{
    t_current = NULL;
    if (!ok)
        t_dump_logs(t);
    for (int i = 0; i < t->n_procs; i++) {
        if (t->procs[i].pid > 0 && !t->procs[i].reaped) {
            kill(t->procs[i].pid, SIGKILL);
            waitpid(t->procs[i].pid, NULL, 0);
        }
        free(t->procs[i].name);
        free(t->procs[i].log_path);
    }
    if (t->db) {
        struct db *adb = t->db;
        if (!db_connected(adb))
            db_connect(adb);
        char *sql = xasprintf("DROP DATABASE IF EXISTS `%s`", t->db_name);
        db_exec_static(adb, sql);
        free(sql);
        db_free(adb);
    }
    rq_free(t->rq);
    cfg_release(&t->cfg);
    if (ok) {
        char *cmd = xasprintf("rm -rf '%s'", t->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", t->dir);
        free(cmd);
    } else {
        fprintf(stderr, "test files kept in %s\n", t->dir);
    }
    free(t->dir);
    free(t->conf);
    free(t->db_name);
    free(t->prefix);
    free(t->name);
}

int
test_main(int argc, char **argv, const struct test_case *cases, int n)
{
    log_init("test", LOG_LEVEL_INFO);
    actions_install();
    if (argc != 2) {
        fprintf(stderr, "usage: %s TEST\ntests:\n", argv[0]);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", cases[i].name);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid());
    for (int i = 0; i < n; i++) {
        if (strcmp(cases[i].name, argv[1]) != 0)
            continue;
        struct tenv t;
        t_setup(&t, &cases[i]);
        t_current = &t;
        int64_t start = now_mono_ms();
        cases[i].fn(&t);
        if (!t_sanitizers_quiet(&t)) {
            t_current = NULL;
            t_teardown(&t, false);
            return 1;
        }
        t_teardown(&t, true);
        fprintf(stderr, "PASS %s (%.1f s)\n", argv[1], (now_mono_ms() - start) / 1000.0);
        return 0;
    }
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
}

void
t_die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died before the prctl: then nothing would ever send it. */
    if (getppid() != parent)
        _exit(127);
}

pid_t
t_spawn(struct tenv *t, const char *bin, const char *const *argv)
{
    if (t->n_procs >= T_MAX_PROCS)
        fatalx("too many processes in one test");
    const char *base = strrchr(bin, '/') ? strrchr(bin, '/') + 1 : bin;
    char *log_path = xasprintf("%s/%s-%d.log", t->dir, base, t->n_procs);
    int n = 0;
    while (argv && argv[n])
        n++;
    char **av = xcalloc((size_t)n + 4, sizeof(char *));
    av[0] = (char *)(uintptr_t)bin;
    static char flag_config[] = "--config";
    av[1] = flag_config;
    av[2] = t->conf;
    for (int i = 0; i < n; i++)
        av[3 + i] = (char *)(uintptr_t)argv[i];
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        t_die_with_parent(parent);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* The program under test must not inherit the harness's process group signals. */
        setpgid(0, 0);
        execv(bin, av);
        _exit(127);
    }
    free(av);
    struct tproc *p = &t->procs[t->n_procs++];
    p->pid = pid;
    p->reaped = false;
    p->name = xstrdup(base);
    p->log_path = log_path;
    return pid;
}

pid_t
t_start_worker(struct tenv *t, const char *const *argv)
{
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), argv);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM worker_instances WHERE pid = ? AND state = "
                         "'running'",
                         DB_P(DBI(w))) == 1,
               10000, "worker %d never registered", (int)w);
    return w;
}

void
t_signal(struct tenv *t, pid_t pid, int sig)
{
    (void)t;
    kill(pid, sig);
}

/* True when every thread of pid is stopped (state T in /proc/<pid>/task/<tid>/stat). */
static bool
t_all_stopped(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    bool all = true;
    struct dirent *e;
    while (all && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        char *st = t_read_file(path);
        /* "tid (comm) S ...": the state follows the last ')' (comm may hold one). */
        const char *rp = st ? strrchr(st, ')') : NULL;
        all = rp && rp[1] == ' ' && (rp[2] == 'T' || rp[2] == 't');
        free(st);
    }
    closedir(d);
    return all;
}

void
t_hang(pid_t pid)
{
    CHECK(kill(pid, SIGSTOP) == 0, "SIGSTOP %d: %s", (int)pid, strerror(errno));
    WAIT_UNTIL(t_all_stopped(pid), 2000, "process %d did not stop", (int)pid);
}

int
t_wait_exit(struct tenv *t, pid_t pid, int timeout_ms)
{
    int64_t deadline = now_mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            for (int i = 0; i < t->n_procs; i++)
                if (t->procs[i].pid == pid)
                    t->procs[i].reaped = true;
            return status;
        }
        if (r < 0)
            return -1;
        if (now_mono_ms() > deadline)
            return -1;
        sleep_ms(20);
    }
}

void
t_wait_exit_ok(struct tenv *t, pid_t pid, int timeout_ms, const char *what)
{
    int st = t_wait_exit(t, pid, timeout_ms);
    CHECK(st != -1, "%s did not exit within %d ms", what, timeout_ms);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s did not exit 0 (wait status %d)", what, st);
}

void
t_wait_gone(struct tenv *t, pid_t pid, int timeout_ms, const char *what)
{
    CHECK(t_wait_exit(t, pid, timeout_ms) != -1, "%s was not gone within %d ms", what, timeout_ms);
}

bool
t_alive(pid_t pid)
{
    return kill(pid, 0) == 0;
}

int
t_attempt_lines(struct tenv *t, int64_t id, const char *what)
{
    char *line = xasprintf("job %lld attempt ", (long long)id);
    int n = 0;
    for (int k = 0; k < t->n_procs; k++) {
        if (strstr(t->procs[k].log_path, "jobfleet-worker") == NULL)
            continue;
        char *log = t_read_file(t->procs[k].log_path);
        for (char *p = log; p && (p = strstr(p, line)) != NULL; p += strlen(line)) {
            const char *rest = p + strlen(line);
            while (*rest >= '0' && *rest <= '9')
                rest++;
            n += strncmp(rest, what, strlen(what)) == 0;
        }
        free(log);
    }
    free(line);
    return n;
}

char *
t_log(struct tenv *t, pid_t pid)
{
    if (pid == 0 && t->n_procs > 0)
        return t_read_file(t->procs[0].log_path);
    /* From the latest: a reaped process's pid may have gone to a later one. */
    for (int i = t->n_procs - 1; i >= 0; i--)
        if (t->procs[i].pid == pid)
            return t_read_file(t->procs[i].log_path);
    return NULL;
}

pid_t
t_spawn_scheduler_metrics(struct tenv *t, char *url, size_t len)
{
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", t_free_port());
    snprintf(url, len, "http://%s/metrics", listen);
    setenv("JOBFLEET_SCHEDULER_METRICS_LISTEN", listen, 1);
    pid_t s = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    unsetenv("JOBFLEET_SCHEDULER_METRICS_LISTEN");
    return s;
}

int
t_kill_sessions(struct tenv *t, const char *db_name)
{
    struct db_rows *r = db_query(t->db,
                                 "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = "
                                 "COALESCE(?, DATABASE()) AND ID <> CONNECTION_ID()",
                                 DB_P(DBS(db_name)));
    CHECK(r != NULL, "processlist: %s", db_errstr(t->db));
    int killed = 0;
    for (int i = 0; i < r->n_rows; i++) {
        char *kill = xasprintf("KILL CONNECTION %lld", (long long)db_rows_int(r, i, 0, 0));
        killed += db_exec_static(t->db, kill) == 0;
        free(kill);
    }
    db_rows_free(r);
    return killed;
}

bool
t_log_has(struct tenv *t, pid_t pid, const char *needle)
{
    char *log = t_log(t, pid);
    bool has = log && strstr(log, needle);
    free(log);
    return has;
}

int
t_log_count(struct tenv *t, pid_t pid, const char *needle)
{
    char *log = t_log(t, pid);
    int n = log ? t_count(log, needle) : 0;
    free(log);
    return n;
}

static char *
t_slurp_fd(int fd)
{
    struct buf b;
    buf_init(&b, 0);
    char chunk[8192];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        buf_append(&b, chunk, (size_t)n);
    return buf_detach(&b);
}

int
t_cli(struct tenv *t, char **out, char **err, const char *const *argv)
{
    char *opath = xasprintf("%s/cli.out", t->dir), *epath = xasprintf("%s/cli.err", t->dir);
    int n = 0;
    while (argv[n])
        n++;
    char **av = xcalloc((size_t)n + 4, sizeof(char *));
    av[0] = (char *)(uintptr_t)t_bin("jobfleet");
    static char flag_config[] = "--config";
    av[1] = flag_config;
    av[2] = t->conf;
    for (int i = 0; i < n; i++)
        av[3 + i] = (char *)(uintptr_t)argv[i];
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        execv(av[0], av);
        _exit(127);
    }
    free(av);
    int status = 0;
    waitpid(pid, &status, 0);
    if (out)
        *out = t_read_file(opath);
    if (err)
        *err = t_read_file(epath);
    free(opath);
    free(epath);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

int64_t
t_enqueue(struct tenv *t, const char *action, const char *params, const char *const *extra)
{
    const char *av[32] = {"enqueue", action, "--params", params ? params : "{}"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        av[n++] = extra[i];
    av[n] = NULL;
    char *out = NULL, *err = NULL;
    int rc = t_cli(t, &out, &err, av);
    CHECK(rc == 0, "jobfleet enqueue %s exited %d: %s", action, rc, err ? err : "");
    int64_t id = strtoll(out, NULL, 10);
    CHECK(id > 0, "jobfleet enqueue printed no id: %s", out);
    free(out);
    free(err);
    return id;
}

int64_t
t_insert_job(struct tenv *t, const char *action, const char *params)
{
    struct job_spec spec = {.action = action, .parameters = params, .origin = "cli"}, chk;
    struct job_ref ref;
    const char *field = NULL;
    char err[512];
    CHECK(job_spec_check(&spec, t->cfg.worker.test_actions, &chk, &field, err, sizeof(err)) ==
              JOB_E_OK,
          "%s", err);
    CHECK(job_insert(t->db, &chk, &ref, err, sizeof(err)) == JOB_E_OK, "insert: %s", err);
    CHECK(job_push(t->rq, &ref) == 0, "push job %lld", (long long)ref.id);
    return ref.id;
}

int64_t
t_sql_int(struct tenv *t, int64_t dflt, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(t->db, sql, p, n);
    if (r == NULL && db_lost(t->db))
        r = db_query(t->db, sql, p, n);
    CHECK(r != NULL, "query failed: %s: %s", sql, db_errstr(t->db));
    int64_t v = r->n_rows ? db_rows_int(r, 0, 0, dflt) : dflt;
    db_rows_free(r);
    return v;
}

char *
t_sql_str(struct tenv *t, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(t->db, sql, p, n);
    if (r == NULL && db_lost(t->db))
        r = db_query(t->db, sql, p, n);
    CHECK(r != NULL, "query failed: %s: %s", sql, db_errstr(t->db));
    const char *v = r->n_rows ? db_rows_get(r, 0, 0) : NULL;
    char *s = v ? xstrdup(v) : NULL;
    db_rows_free(r);
    return s;
}

char *
t_job_state(struct tenv *t, int64_t id)
{
    char *s = t_sql_str(t, "SELECT state FROM jobs WHERE id = ?", DB_P(DBI(id)));
    return s ? s : xstrdup("(none)");
}

bool
t_job_in_state(struct tenv *t, int64_t id, const char *state)
{
    char *s = t_job_state(t, id);
    bool eq = strcmp(s, state) == 0;
    free(s);
    return eq;
}

bool
t_job_done(struct tenv *t, int64_t id)
{
    char *s = t_job_state(t, id);
    bool done = !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
    free(s);
    return done;
}

int
t_worker_children(pid_t worker, pid_t *out, int max)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)worker, (int)worker);
    char *s = t_read_file(path);
    int n = 0;
    for (char *p = s; p && *p && n < max;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
        snprintf(path, sizeof(path), "/proc/%ld/comm", v);
        char *comm = t_read_file(path);
        if (comm == NULL || strncmp(comm, SPAWNER_COMM, strlen(SPAWNER_COMM)) != 0)
            out[n++] = (pid_t)v;
        free(comm);
    }
    free(s);
    return n;
}

char *
t_read_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    char *s = t_slurp_fd(fd);
    close(fd);
    return s;
}

int
t_count(const char *haystack, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = haystack; p && (p = strstr(p, needle)) != NULL; p += l)
        n++;
    return n;
}

void
t_set_clock(struct tenv *t, int64_t now)
{
    char *path = xasprintf("%s/clock", t->dir), *tmp = xasprintf("%s/clock.tmp", t->dir);
    setenv("JOBFLEET_SCHEDULER_TEST_CLOCK_FILE", path, 1);
    FILE *fp = fopen(tmp, "w");
    CHECK(fp != NULL, "write %s", tmp);
    fprintf(fp, "%lld\n", (long long)now);
    fclose(fp);
    CHECK(rename(tmp, path) == 0, "rename %s", tmp);
    free(tmp);
    free(path);
}

int
t_sh(struct tenv *t, char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    va_end(ap);
    char *errpath = xasprintf("%s/sh.err", t->dir);
    char *full = xasprintf("%s >/dev/null 2>%s", cmd, errpath);
    int st = system(full);
    if (err)
        *err = t_read_file(errpath);
    free(full);
    free(errpath);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
