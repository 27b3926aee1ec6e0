/* Unit tests of the worker's timed waits (worker/fetch.c, worker/checkout.c): they must run on
 * CLOCK_MONOTONIC, so that a step of the wall clock neither stretches nor cuts them short.
 *
 * The test links with -Wl,--wrap=clock_gettime: every clock_gettime call of the code under
 * test comes here, and CLOCK_REALTIME reads WALL_AHEAD_S seconds ahead of the clock the kernel
 * measures a realtime wait against. That is what a waiter sees when the wall clock is stepped
 * back right after it computed its deadline: a wait on the wall clock lasts WALL_AHEAD_S
 * seconds too long. No server is needed: MariaDB and Redis point at a port that refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "checkout.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

#define WALL_AHEAD_S 5

int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);

int
__wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
    int rc = __real_clock_gettime(clk, ts);
    if (rc == 0 && clk == CLOCK_REALTIME)
        ts->tv_sec += WALL_AHEAD_S;
    return rc;
}

static int refuse_fd = -1;
static char host[] = "127.0.0.1";
static char empty[] = "";
static char prefix[] = "jft-clock";

/* A loopback port bound but never listening: connections to it are refused at once. */
static int
refusing_port(void)
{
    refuse_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    assert_true(refuse_fd >= 0);
    assert_int_equal(bind(refuse_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(refuse_fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static int
setup(void **state)
{
    (void)state;
    int port = refusing_port();
    static struct cfg_mysql mysql;
    static struct cfg_redis redis;
    mysql = (struct cfg_mysql){.host = host,
                               .port = port,
                               .socket = empty,
                               .user = empty,
                               .password = empty,
                               .database = empty,
                               .connect_timeout_s = 1,
                               .read_timeout_s = 1};
    redis = (struct cfg_redis){.host = host, .port = port, .password = empty, .prefix = prefix};
    static const void *cfgs[2];
    cfgs[0] = &mysql;
    cfgs[1] = &redis;
    *state = cfgs;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    close(refuse_fd);
    return 0;
}

static void
test_fetch_nap_ignores_wall_clock(void **state)
{
    const void *const *cfgs = *state;
    struct fetch f;
    memset(&f, 0, sizeof(f));
    char err[128];
    assert_int_equal(fetch_parse_queues("default", &f.queues, &f.n_queues, err, sizeof(err)), 0);
    f.mysql = cfgs[0];
    f.redis = *(const struct cfg_redis *)cfgs[1];
    f.lease_ms = 5000;
    assert_int_equal(fetch_start(&f), 0);
    /* The thread waits for capacity (none is given); this thread naps on the same cond. */
    int64_t t0 = now_mono_ms();
    fetch_nap(&f, 100, false);
    int64_t took = now_mono_ms() - t0;
    fetch_stop(&f);
    int n = 0;
    free(fetch_join(&f, &n));
    fetch_queues_free(f.queues, f.n_queues);
    if (took < 90 || took > 2000)
        fail_msg("a 100 ms nap took %lld ms (a wait on the wall clock takes %d s more)",
                 (long long)took, WALL_AHEAD_S);
}

static void
test_checkout_retry_wait_ignores_wall_clock(void **state)
{
    const void *const *cfgs = *state;
    struct checkout c;
    memset(&c, 0, sizeof(c));
    c.db = db_new(cfgs[0]);
    c.redis = cfgs[1];
    c.instance_id = 1;
    c.lease_ms = 5000;
    c.heartbeat_ms = 1000;
    assert_int_equal(checkout_start(&c), 0);
    struct checkout_item it;
    memset(&it, 0, sizeof(it));
    it.job.id = 1;
    it.job.attempt = 1;
    it.job.action = xstrdup("System/Noop");
    it.o = (struct outcome){.id = 1, .instance_id = 1, .attempt = 1, .action = it.job.action};
    checkout_add(&c, &it);
    /* MariaDB refuses: the thread retries in 200 ms waits until the grace is over. */
    int64_t t0 = now_mono_ms();
    int left = checkout_stop(&c, 600);
    int64_t took = now_mono_ms() - t0;
    db_free(c.db);
    assert_int_equal(left, 1);
    if (took < 500 || took > 3000)
        fail_msg("a stop with 600 ms of grace took %lld ms (waits on the wall clock take %d s "
                 "more each)",
                 (long long)took, WALL_AHEAD_S);
}

int
main(void)
{
    log_init("worker_clock_test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_nap_ignores_wall_clock),
        cmocka_unit_test(test_checkout_retry_wait_ignores_wall_clock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
