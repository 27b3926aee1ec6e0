/* Unit tests of common/rq.c's pipelines when hiredis refuses to queue a command (it does so
 * only when it cannot grow its output buffer): the call must fail at once and drop the
 * connection, not wait for replies to commands that were never sent.
 * redisAppendCommandArgv is wrapped (-Wl,--wrap) to refuse on demand; the "server" is a
 * listening socket that never answers, so a wait for a reply lasts the full command
 * timeout (10 s). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "rq.h"
#include "util.h"

static int refuse_after = -1; /* appends allowed before refusing; -1: never refuse */

int __real_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen);
int __wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen);

int
__wrap_redisAppendCommandArgv(redisContext *c, int argc, const char **argv, const size_t *argvlen)
{
    if (refuse_after == 0)
        return REDIS_ERR;
    if (refuse_after > 0)
        refuse_after--;
    return __real_redisAppendCommandArgv(c, argc, argv, argvlen);
}

static int silent_fd = -1;
static char host[] = "127.0.0.1";
static char empty[] = "";
static char prefix[] = "jft-pipe";

/* A server that accepts connections (the kernel does, from the backlog) and never replies. */
static int
setup(void **state)
{
    silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(silent_fd, 16) < 0 || getsockname(silent_fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    static struct cfg_redis cfg;
    cfg = (struct cfg_redis){
        .host = host, .port = ntohs(a.sin_port), .password = empty, .prefix = prefix};
    *state = &cfg;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    close(silent_fd);
    return 0;
}

static void
test_push_refused_append_fails_at_once(void **state)
{
    struct rq *rq = rq_new(*state);
    assert_int_equal(rq_connect(rq), 0);
    /* 1500 IDs are three ZADDs; hiredis takes the first and refuses the second. */
    int64_t ids[1500];
    for (int i = 0; i < 1500; i++)
        ids[i] = i + 1;
    refuse_after = 1;
    int64_t t0 = now_mono_ms();
    int rc = rq_push(rq, "default", ids, NULL, 1500);
    int64_t took = now_mono_ms() - t0;
    refuse_after = -1;
    assert_int_equal(rc, -1);
    assert_false(rq_connected(rq));
    assert_non_null(strstr(rq_errstr(rq), "cannot queue"));
    rq_free(rq);
    if (took > 2000)
        fail_msg("rq_push took %lld ms: it waited for replies that could not come",
                 (long long)took);
}

/* rq_push_each stops at the queue Redis refuses: nothing after it is sent, and no ID is marked
 * pushed that is not in Redis (the producer keeps exactly the unmarked ones to push again). */
static void
test_push_each_refused_marks_nothing(void **state)
{
    struct rq *rq = rq_new(*state);
    assert_int_equal(rq_connect(rq), 0);
    const char *queues[3] = {"a", "b", "a"};
    int64_t ids[3] = {1, 2, 3};
    bool pushed[3] = {true, true, true};
    refuse_after = 0;
    int rc = rq_push_each(rq, queues, ids, NULL, 3, pushed);
    refuse_after = -1;
    assert_int_equal(rc, -1);
    assert_false(pushed[0] || pushed[1] || pushed[2]);
    rq_free(rq);
}

static void
test_limit_release_refused_append_fails_at_once(void **state)
{
    struct rq *rq = rq_new(*state);
    assert_int_equal(rq_connect(rq), 0);
    struct rq_limit lims[2] = {{.scope = "queue:a", .concurrency = 1},
                               {.scope = "action:b", .concurrency = 2}};
    refuse_after = 1;
    int64_t t0 = now_mono_ms();
    int rc = rq_limit_release(rq, lims, 2, "42");
    int64_t took = now_mono_ms() - t0;
    refuse_after = -1;
    assert_int_equal(rc, -1);
    assert_false(rq_connected(rq));
    rq_free(rq);
    if (took > 2000)
        fail_msg("rq_limit_release took %lld ms: it waited for replies that could not come",
                 (long long)took);
}

int
main(void)
{
    log_init("rq_pipeline_test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_refused_append_fails_at_once),
        cmocka_unit_test(test_push_each_refused_marks_nothing),
        cmocka_unit_test(test_limit_release_refused_append_fails_at_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
