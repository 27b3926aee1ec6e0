/* This file is the spawner (spawner.h): the process's loop, which makes a child for each
 * request, and the supervisor's side, which sends the requests. A request is a slot number
 * with the child's end of its socketpair (SCM_RIGHTS); the answer is the child's pid. */
#include "spawner.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the supervisor waits for an answer before it forks the child itself. */
#define SPAWNER_ANSWER_MS 5000

struct spawner_answer {
    int32_t pid; /* -1: the clone failed, with err */
    int32_t err;
};

/* Closes every descriptor but the standard three and keep: the children start without the
 * supervisor's connections and pipes. */
static void
spawner_close_fds(int keep)
{
    if (close_range(3, (unsigned)keep - 1, 0) == 0 && close_range((unsigned)keep + 1, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    for (long i = 3; i < (max > 0 && max < 65536 ? max : 65536); i++)
        if (i != keep)
            close((int)i);
}

/* Reads a request: returns 1 with *slot and *child_fd, or 0 at the end (EOF or an error). */
static int
spawner_recv(int fd, int32_t *slot, int *child_fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = slot, .iov_len = sizeof(*slot)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(fd, &msg, 0);
    while (n < 0 && errno == EINTR);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (n != (ssize_t)sizeof(*slot) || c == NULL || c->cmsg_type != SCM_RIGHTS)
        return 0;
    memcpy(child_fd, CMSG_DATA(c), sizeof(int));
    return 1;
}

/* A child as fork() makes one, except that its parent is the spawner's parent, the
 * supervisor. The raw system call: glibc's clone() runs a function on a stack of its own,
 * where this child goes on as a fork's does, on a copy of the spawner's stack. */
static pid_t
spawner_clone(void)
{
    return (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
}

_Noreturn static void
spawner_main(int fd, pid_t parent, spawner_child_fn fn, void *arg)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    /* The children take back the supervisor's name: they are the worker's to ps and tests. */
    char name[17] = "";
    prctl(PR_GET_NAME, name);
    prctl(PR_SET_NAME, SPAWNER_COMM);
    /* It ends when the supervisor closes its socket or dies, never on a signal meant for the
     * supervisor's drain (a terminal's Ctrl-C, systemd's SIGTERM to the whole group). */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    spawner_close_fds(fd);
    for (;;) {
        int32_t slot;
        int child_fd;
        if (!spawner_recv(fd, &slot, &child_fd))
            _exit(0);
        pid_t pid = spawner_clone();
        if (pid == 0) {
            close(fd);
            prctl(PR_SET_NAME, name);
            fn(child_fd, slot, arg);
            _exit(1);
        }
        struct spawner_answer a = {.pid = pid > 0 ? pid : -1, .err = pid > 0 ? 0 : errno};
        close(child_fd);
        if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) != (ssize_t)sizeof(a))
            _exit(0);
    }
}

int
spawner_start(struct spawner *sp, spawner_child_fn fn, void *arg)
{
    sp->pid = 0;
    sp->fd = -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        spawner_main(sv[1], parent, fn, arg);
    }
    close(sv[1]);
    sp->pid = pid;
    sp->fd = sv[0];
    return 0;
}

/* Sends the request for slot with child_fd. */
static bool
spawner_send(struct spawner *sp, int32_t slot, int child_fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct iovec iov = {.iov_base = &slot, .iov_len = sizeof(slot)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &child_fd, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(sp->fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(slot);
}

/* Reads the answer, waiting SPAWNER_ANSWER_MS at most (signals interrupt the wait, not it). */
static bool
spawner_answer(struct spawner *sp, struct spawner_answer *a)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = SPAWNER_ANSWER_MS -
                    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = sp->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        return recv(sp->fd, a, sizeof(*a), 0) == (ssize_t)sizeof(*a);
    }
}

pid_t
spawner_spawn(struct spawner *sp, int slot, int child_fd)
{
    if (sp->fd < 0)
        return -1;
    struct spawner_answer a;
    if (!spawner_send(sp, slot, child_fd) || !spawner_answer(sp, &a)) {
        log_warnx("the spawner (pid %d) did not answer: the supervisor forks its children "
                  "itself from now on",
                  (int)sp->pid);
        spawner_stop(sp);
        return -1;
    }
    if (a.pid <= 0) {
        log_warnx("the spawner could not make a child: %s", strerror(a.err));
        return -1;
    }
    return a.pid;
}

int
spawner_reaped(struct spawner *sp, pid_t pid)
{
    if (sp->pid <= 0 || pid != sp->pid)
        return 0;
    sp->pid = 0;
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
    return 1;
}

void
spawner_stop(struct spawner *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
    if (sp->pid > 0) {
        /* Its children are the supervisor's: killing it ends none of them. */
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, NULL, 0);
    }
    sp->pid = 0;
}
