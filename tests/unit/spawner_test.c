/* Unit tests for the worker's spawner (worker/spawner.c): a child it makes holds none of the
 * locks that threads started after it held at the spawn (a child forked from those threads'
 * process would), its parent is the process that started the spawner, which reaps it, and it
 * carries that process's name, not the spawner's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawner.h"

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int release_pipe[2];

/* What a child reports: its slot, its parent, whether it could take the lock, its name. */
struct report {
    int slot;
    pid_t ppid;
    int trylock;
    char comm[17];
};

static void
child_report(int fd, int slot, void *arg)
{
    (void)arg;
    struct report r = {.slot = slot, .ppid = getppid()};
    r.trylock = pthread_mutex_trylock(&held);
    prctl(PR_GET_NAME, r.comm);
    _exit(write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

/* Holds the lock until the test writes to release_pipe. */
static void *
holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held);
    char c;
    while (read(release_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    pthread_mutex_unlock(&held);
    return NULL;
}

static void
read_report(int fd, struct report *r)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 10000), 1);
    assert_int_equal(read(fd, r, sizeof(*r)), sizeof(*r));
}

static void
test_child_without_the_threads_locks(void **state)
{
    (void)state;
    struct spawner sp;
    assert_int_equal(spawner_start(&sp, child_report, NULL), 0);
    assert_true(sp.pid > 0);
    /* A thread takes the lock only now, after the spawner was forked. */
    assert_int_equal(pipe(release_pipe), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, holder, NULL), 0);
    while (pthread_mutex_trylock(&held) == 0) {
        pthread_mutex_unlock(&held);
        usleep(1000);
    }
    char mine[17] = "";
    prctl(PR_GET_NAME, mine);

    /* The premise: a child forked here finds the lock held, for good. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t forked = fork();
    assert_true(forked >= 0);
    if (forked == 0)
        child_report(sv[1], 0, NULL);
    struct report r;
    read_report(sv[0], &r);
    assert_int_equal(r.trylock, EBUSY);
    assert_int_equal(waitpid(forked, NULL, 0), forked);
    close(sv[0]);
    close(sv[1]);

    /* The spawner's child takes it, is this process's child, and has its name. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t pid = spawner_spawn(&sp, 3, sv[1]);
    close(sv[1]);
    assert_true(pid > 0);
    read_report(sv[0], &r);
    close(sv[0]);
    assert_int_equal(r.slot, 3);
    assert_int_equal(r.trylock, 0);
    assert_int_equal(r.ppid, getpid());
    assert_string_equal(r.comm, mine);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    assert_int_equal(write(release_pipe[1], "x", 1), 1);
    pthread_join(th, NULL);
    close(release_pipe[0]);
    close(release_pipe[1]);
    spawner_stop(&sp);
}

/* Once stopped (or reaped), the spawner is asked nothing: the caller forks instead. */
static void
test_stopped_spawner_spawns_nothing(void **state)
{
    (void)state;
    struct spawner sp;
    assert_int_equal(spawner_start(&sp, child_report, NULL), 0);
    pid_t spid = sp.pid;
    kill(spid, SIGKILL);
    int status;
    assert_int_equal(waitpid(spid, &status, 0), spid);
    assert_int_equal(spawner_reaped(&sp, spid + 1), 0);
    assert_int_equal(spawner_reaped(&sp, spid), 1);
    assert_int_equal(sp.fd, -1);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(spawner_spawn(&sp, 0, sv[1]), -1);
    close(sv[0]);
    close(sv[1]);
    spawner_stop(&sp);
    assert_int_equal(sp.pid, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_without_the_threads_locks),
        cmocka_unit_test(test_stopped_spawner_spawns_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
