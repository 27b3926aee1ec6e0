/* End-to-end tests of the daemons' command lines: every flag that was accepted still is,
 * and a bad one exits 2 with one line of stderr that names it. */
#include "tsupport.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Runs bin (a built binary) with the test config and args, without a shell; returns its exit
 * status (-1 when killed by a signal) and its stderr in *err (the caller frees it). */
static int
run(struct tenv *t, const char *bin, char **err, const char *const *args)
{
    const char *argv[16] = {"--config", t->conf};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = t_spawn(t, t_bin(bin), argv + 2);
    int st = t_wait_exit(t, pid, 30000);
    CHECK(st != -1, "%s %s did not exit within 30 s", bin, args[0] ? args[0] : "");
    *err = t_read_file(t->procs[t->n_procs - 1].log_path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define EXPECT(bin, code, needle, ...)                                                             \
    do {                                                                                           \
        char *e_ = NULL;                                                                           \
        int rc_ = run(t, (bin), &e_, (const char *const[]){__VA_ARGS__, NULL});                    \
        CHECK(rc_ == (code), "%s: exit %d, expected %d; stderr: %s", (bin), rc_, (code), e_);      \
        CHECK(e_ &&strstr(e_, (needle)) != NULL, "%s: stderr lacks \"%s\": %s", (bin), (needle),   \
              e_);                                                                                 \
        free(e_);                                                                                  \
    } while (0)

static void
test_scheduler(struct tenv *t)
{
    const char *s = "jobfleet-scheduler";
    /* atoi read "5x" as 5 and ran five ticks. */
    EXPECT(s, 2, "--measure-ticks \"5x\": expected a number of ticks in 1..", "--measure-ticks",
           "5x");
    EXPECT(s, 2, "--measure-ticks \"0\"", "--measure-ticks", "0");
    EXPECT(s, 2, "--measure-ticks \"\"", "--measure-ticks", "");
    EXPECT(s, 2, "--measure-ticks needs a value", "--measure-ticks");
    EXPECT(s, 2, "unknown option --frob", "--frob");
    EXPECT(s, 2, "unexpected argument \"stray\"", "--check-config", "stray");
    EXPECT(s, 0, "configuration OK", "--check-config");
    char *eq = xasprintf("--config=%s", t->conf);
    EXPECT(s, 0, "configuration OK", eq, "--check-config");
    free(eq);
}

static void
test_worker(struct tenv *t)
{
    const char *w = "jobfleet-worker";
    EXPECT(w, 2, "unknown option --frob", "--frob");
    EXPECT(w, 2, "--queues needs a value", "--queues");
    EXPECT(w, 2, "unexpected argument \"stray\"", "--check-config", "stray");
    EXPECT(w, 2, "--concurrency \"0\": expected an integer in 1-1024", "--concurrency", "0");
    EXPECT(w, 0, "config OK", "--concurrency", "3", "--queues", "a:2,b", "--check-config");
    EXPECT(w, 0, "config OK", "--concurrency=3", "--check-config");
    /* The start refuses these queues; the check said "config OK" and a unit restart-looped. */
    EXPECT(w, 2, "weight \"0\" must be an integer in 1..1000", "--queues", "critical:0",
           "--check-config");
    EXPECT(w, 2, "queue \"a\" is listed twice", "--queues", "a,a", "--check-config");
}

static const struct test_case cases[] = {
    {"e2e_flags_scheduler", test_scheduler, NULL},
    {"e2e_flags_worker", test_worker, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
