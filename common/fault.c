/* This file fires the test-only fault points of fault.h. It is compiled only into builds
 * configured with -DJOBFLEET_FAULT_POINTS=ON. */
#include "fault.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int fault_hits;

/* Appends line (n bytes) to JOBFLEET_FAULT_LOG; best effort. */
static void
fault_append(const char *line, int n)
{
    const char *path = getenv("JOBFLEET_FAULT_LOG");
    if (path == NULL || path[0] == '\0' || n <= 0)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)n) != n)
        n = -1;
    close(fd);
}

/* Appends the history's fault event; best effort, the kill follows anyway. */
static void
fault_log(const char *name, pid_t group, bool stop)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "{\"ev\":\"fault\",\"t\":%lld.%06ld,\"what\":\"%s\",\"point\":\"%s\","
                     "\"pid\":%d,\"pids\":[%d],\"pgids\":[%d]}\n",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000, stop ? "stop" : "point", name,
                     (int)getpid(), (int)getpid(), (int)group);
    fault_append(line, n);
}

void
fault_note_kill(int pid, const char *detail)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "{\"ev\":\"fault\",\"t\":%lld.%06ld,\"what\":\"kill\",\"detail\":\"%s\","
                     "\"by\":%d,\"pids\":[%d],\"pgids\":[]}\n",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000, detail, (int)getpid(), pid);
    fault_append(line, n);
}

/* JOBFLEET_FAULT_STALL=NAME:MS: every pass through NAME sleeps MS, beside the fault point. */
static void
fault_stall(const char *name)
{
    const char *stall = getenv("JOBFLEET_FAULT_STALL");
    const char *colon = stall ? strchr(stall, ':') : NULL;
    if (colon && (size_t)(colon - stall) == strlen(name) &&
        strncmp(stall, name, strlen(name)) == 0) {
        fprintf(stderr, "fault point %s: stalled for %d ms\n", name, atoi(colon + 1));
        usleep((useconds_t)atoi(colon + 1) * 1000);
    }
}

/* The N of JOBFLEET_FAULT_POINT=NAME[@N] when it names name; 0 when it does not. */
static int
fault_nth(const char *name)
{
    const char *want = getenv("JOBFLEET_FAULT_POINT");
    if (want == NULL)
        return 0;
    const char *at = strchr(want, '@');
    size_t len = at ? (size_t)(at - want) : strlen(want);
    if (len != strlen(name) || strncmp(want, name, len) != 0)
        return 0;
    int nth = at ? atoi(at + 1) : 1;
    return nth > 0 ? nth : 1;
}

bool
fault_fail(const char *name)
{
    const char *action = getenv("JOBFLEET_FAULT_ACTION");
    int nth = fault_nth(name);
    if (nth == 0 || action == NULL || strncmp(action, "fail:", 5) != 0)
        return false;
    int hit = atomic_fetch_add(&fault_hits, 1) + 1;
    return hit >= nth && hit < nth + atoi(action + 5);
}

void
fault_point(const char *name)
{
    fault_stall(name);
    int nth = fault_nth(name);
    if (nth == 0)
        return;
    int hit = atomic_fetch_add(&fault_hits, 1) + 1;
    const char *action = getenv("JOBFLEET_FAULT_ACTION");
    if (action && strncmp(action, "stall1:", 7) == 0) {
        if (hit == nth) {
            /* Said on stderr (the process's log), so that a test knows the race is open. */
            fprintf(stderr, "fault point %s: stalled for %d ms\n", name, atoi(action + 7));
            usleep((useconds_t)atoi(action + 7) * 1000);
        }
        return;
    }
    if (action && strncmp(action, "stall:", 6) == 0) {
        /* A stall holds every pass from the Nth on, so a race it opens stays open. */
        if (hit >= nth)
            usleep((useconds_t)atoi(action + 6) * 1000);
        return;
    }
    if (hit != nth)
        return;
    pid_t g = getpgrp();
    bool whole_group = g == getpid() || g == getppid();
    /* "stop" freezes the worker at the point (a zombie made at an exact step); SIGCONT from
     * the test resumes it right here. Logged as a stop, not a kill: the checker must count
     * what runs after the SIGCONT. */
    int sig = action && strcmp(action, "stop") == 0 ? SIGSTOP : SIGKILL;
    fault_log(name, whole_group ? g : getpid(), sig == SIGSTOP);
    if (whole_group)
        kill(-g, sig);
    else
        raise(sig);
    if (sig == SIGKILL)
        raise(SIGKILL);
}
