/* Unit tests of the worker's thread start-up (worker/fetch.c, worker/checkout.c) when the
 * thread cannot be created: the start function fails and gives back everything it took.
 * pthread_create is wrapped (-Wl,--wrap=pthread_create) so that it fails on demand;
 * LeakSanitizer checks the memory, a count of open descriptors the pipes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "checkout.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

static bool fail_create;

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);

int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    if (fail_create)
        return EAGAIN;
    return __real_pthread_create(t, a, fn, arg);
}

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static char host[] = "127.0.0.1";
static char empty[] = "";
static char prefix[] = "jft-start";

static void
test_fetch_start_fails_cleanly(void **state)
{
    (void)state;
    struct cfg_mysql mysql = {.host = host,
                              .port = 1,
                              .socket = empty,
                              .user = empty,
                              .password = empty,
                              .database = empty};
    struct fetch f;
    memset(&f, 0, sizeof(f));
    char err[128];
    assert_int_equal(fetch_parse_queues("default", &f.queues, &f.n_queues, err, sizeof(err)), 0);
    f.mysql = &mysql;
    f.redis = (struct cfg_redis){.host = host, .port = 1, .password = empty, .prefix = prefix};
    int before = open_fds();
    fail_create = true;
    assert_int_equal(fetch_start(&f), -1);
    fail_create = false;
    assert_int_equal(open_fds(), before);
    assert_null(f.paused);
    assert_null(f.db);
    fetch_queues_free(f.queues, f.n_queues);
}

static void
test_checkout_start_fails_cleanly(void **state)
{
    (void)state;
    struct cfg_redis redis = {.host = host, .port = 1, .password = empty, .prefix = prefix};
    struct checkout c;
    memset(&c, 0, sizeof(c));
    c.redis = &redis;
    int before = open_fds();
    fail_create = true;
    assert_int_equal(checkout_start(&c), -1);
    fail_create = false;
    assert_int_equal(open_fds(), before);
}

int
main(void)
{
    log_init("worker_start_test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_start_fails_cleanly),
        cmocka_unit_test(test_checkout_start_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
