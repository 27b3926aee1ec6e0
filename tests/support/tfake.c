/* This file starts, drives and stops the fake HTTP services of tests/fakes/ for e2e tests. */
#include "tfake.h"
#include "thttp.h"
#include "log.h"
#include "tsupport.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Fakes still running, for the exit handler: a failing test exits from t_fail and its fakes
 * must not outlive it. Only the process that started them stops them (a forked helper that
 * exits must not). */
#define TFAKE_MAX 8
static pid_t tfake_live[TFAKE_MAX];
static pid_t tfake_owner;

static void
tfake_at_exit(void)
{
    if (getpid() != tfake_owner)
        return;
    for (int i = 0; i < TFAKE_MAX; i++) {
        if (tfake_live[i] > 0) {
            kill(tfake_live[i], SIGKILL);
            waitpid(tfake_live[i], NULL, 0);
            tfake_live[i] = 0;
        }
    }
}

static void
tfake_track(pid_t pid, bool add)
{
    static bool registered;
    if (!registered) {
        tfake_owner = getpid();
        atexit(tfake_at_exit);
        registered = true;
    }
    for (int i = 0; i < TFAKE_MAX; i++) {
        if (add && tfake_live[i] == 0) {
            tfake_live[i] = pid;
            return;
        }
        if (!add && tfake_live[i] == pid) {
            tfake_live[i] = 0;
            return;
        }
    }
}

static pid_t
tfake_spawn(struct tenv *t, const char *script, const char *const *args, int out_fd)
{
    const char *py = getenv("JOBFLEET_TEST_PYTHON");
    py = py && *py ? py : "python3";
    char *path = xasprintf("%s/tests/fakes/%s", JOBFLEET_SOURCE_DIR, script);
    char *log_path = xasprintf("%s/%s.log", t->dir, script);
    const char *av[32] = {py, path, "--port", "0"};
    int n = 4;
    for (int i = 0; args && args[i] && n < 31; i++)
        av[n++] = args[i];
    av[n] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        t_die_with_parent(parent);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out_fd, 1);
        if (fd >= 0)
            dup2(fd, 2);
        execvp(py, (char *const *)(uintptr_t)av);
        fprintf(stderr, "cannot run %s: %s\n", py, strerror(errno));
        _exit(127);
    }
    free(path);
    free(log_path);
    return pid;
}

/* Reads the port line from fd, waiting until deadline (monotonic ms); 0 when none came. */
static int
tfake_read_port(int fd, int64_t deadline)
{
    char line[32];
    size_t len = 0;
    while (len + 1 < sizeof(line)) {
        int64_t left = deadline - now_mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return 0;
        ssize_t r = read(fd, line + len, 1);
        if (r <= 0)
            return 0;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    int64_t port;
    return parse_int64(line, 1, 65535, &port) == 0 ? (int)port : 0;
}

void
tfake_start(struct tenv *t, struct tfake *f, const char *script, const char *const *args)
{
    memset(f, 0, sizeof(*f));
    int p[2];
    CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    f->pid = tfake_spawn(t, script, args, p[1]);
    close(p[1]);
    tfake_track(f->pid, true);
    f->port = tfake_read_port(p[0], now_mono_ms() + 30000);
    close(p[0]);
    CHECK(f->port > 0, "the fake %s printed no port within 30 s (see %s/%s.log)", script, t->dir,
          script);
    snprintf(f->base_url, sizeof(f->base_url), "http://127.0.0.1:%d", f->port);
}

void
tfake_stop(struct tfake *f)
{
    if (f->pid <= 0)
        return;
    kill(f->pid, SIGTERM);
    int64_t deadline = now_mono_ms() + 2000;
    while (waitpid(f->pid, NULL, WNOHANG) == 0) {
        if (now_mono_ms() > deadline) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, NULL, 0);
            break;
        }
        sleep_ms(20);
    }
    tfake_track(f->pid, false);
    f->pid = 0;
}

void
tfake_control(struct tfake *f, const char *what, const char *json)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_control/%s", f->base_url, what);
    struct t_http_resp r;
    int rc = t_http("POST", url, json, strlen(json), NULL, &r);
    CHECK(rc == 0 && r.status == 200, "fake control %s: %ld %s %s", what, r.status, r.err,
          r.body ? r.body : "");
    t_http_release(&r);
}

cJSON *
tfake_log(struct tfake *f)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/_control/log", f->base_url);
    struct t_http_resp r;
    int rc = t_http("GET", url, NULL, 0, NULL, &r);
    CHECK(rc == 0 && r.status == 200, "fake log: %ld %s", r.status, r.err);
    cJSON *j = cJSON_Parse(r.body);
    CHECK(j != NULL, "fake log is not JSON");
    t_http_release(&r);
    return j;
}

static int
tfake_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
tfake_arrivals(struct tfake *f, const char *prefix, double **out)
{
    cJSON *log = tfake_log(f);
    cJSON *reqs = cJSON_GetObjectItem(log, "requests");
    int n = 0;
    *out = xcalloc((size_t)cJSON_GetArraySize(reqs) + 1, sizeof(double));
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs)
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        if (prefix && (path == NULL || strncmp(path, prefix, strlen(prefix)) != 0))
            continue;
        (*out)[n++] = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "t_mono")) * 1000.0;
    }
    cJSON_Delete(log);
    /* The log is in the order requests took the fake's lock, which threads may swap. */
    qsort(*out, (size_t)n, sizeof(double), tfake_cmp_double);
    return n;
}

int
tfake_max_in_window(const double *t, int n, double window_ms)
{
    int best = 0;
    for (int i = 0, j = 0; i < n; i++) {
        while (t[i] - t[j] > window_ms)
            j++;
        if (i - j + 1 > best)
            best = i - j + 1;
    }
    return best;
}
