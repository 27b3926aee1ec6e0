/* The spawner: a single-threaded process the supervisor forks at startup, before it starts
 * any thread, to make the worker's children for it. A child forked by the supervisor itself
 * once its fetch, check-out and metrics threads run inherits every lock one of them held at
 * that instant, held for good: a replacement child hung in its first malloc on the allocator
 * lock of ASan's runtime (1 run in 15-40 of e2e_lifecycle_crash_keeps_serving), and a
 * library's lock could do the same in a release build. The spawner's children are made with
 * clone(CLONE_PARENT), so they are the supervisor's children as if it had forked them: it
 * reaps them, signals them, and they die with it (PR_SET_PDEATHSIG). */
#ifndef JOBFLEET_SPAWNER_H
#define JOBFLEET_SPAWNER_H

#include <sys/types.h>

/* The name the spawner gives itself (/proc/PID/comm), so tools and tests that list the
 * supervisor's children can tell it from the children that run jobs. */
#define SPAWNER_COMM "jobfleet-spawn"

/* What a new child runs: fd is its end of the socketpair, slot its index. Never returns. */
typedef void (*spawner_child_fn)(int fd, int slot, void *arg);

struct spawner {
    pid_t pid; /* 0: none (not started, or gone) */
    int fd;    /* the supervisor's end of the control socket; -1: none */
};

/* Forks the spawner; call before the process starts any thread. fn(fd, slot, arg) runs in
 * each child it makes, on a copy of the memory as it is now (arg must stay valid in it).
 * Returns 0, or -1 with errno set (sp is then as if stopped: spawn by fork instead). */
int spawner_start(struct spawner *sp, spawner_child_fn fn, void *arg);

/* Asks the spawner for a child for slot, handing it child_fd (the caller still closes its
 * own copy). Returns the child's pid, or -1 when the spawner failed or did not answer within
 * a few seconds; the spawner is then stopped, and the caller forks instead. */
pid_t spawner_spawn(struct spawner *sp, int slot, int child_fd);

/* True when pid is the spawner's: the supervisor reaped it, so it is gone. Forgets it. */
int spawner_reaped(struct spawner *sp, pid_t pid);

/* Stops the spawner (its children live on) and waits for it. Safe to call more than once. */
void spawner_stop(struct spawner *sp);

#endif
