/* Unit tests of the background-thread helper (common/bgthread.c): how a wait ends, and a start
 * whose thread cannot be created. pthread_create is wrapped (-Wl,--wrap=pthread_create) so
 * that it fails on demand; LeakSanitizer checks that nothing is left behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bgthread.h"
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

/* What the waiting thread saw, under the helper's lock. */
struct waiter {
    struct bgthread bg;
    int64_t wait_ms;
    bool waiting, returned, stopped;
    int64_t took_ms;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    bgthread_lock(&w->bg);
    int64_t t0 = now_mono_ms();
    w->waiting = true;
    int64_t deadline = w->wait_ms == BGTHREAD_NO_DEADLINE ? w->wait_ms : t0 + w->wait_ms;
    w->stopped = bgthread_wait_until(&w->bg, deadline);
    w->took_ms = now_mono_ms() - t0;
    w->returned = true;
    bgthread_unlock(&w->bg);
    return NULL;
}

/* Starts a waiter and returns once it is inside its wait (it holds the lock until then). */
static void
waiter_start(struct waiter *w, int64_t wait_ms)
{
    memset(w, 0, sizeof(*w));
    w->wait_ms = wait_ms;
    assert_int_equal(bgthread_start(&w->bg, waiter_main, w), 0);
    for (;;) {
        bgthread_lock(&w->bg);
        bool waiting = w->waiting;
        bgthread_unlock(&w->bg);
        if (waiting)
            return;
        sleep_ms(1);
    }
}

static void
test_wait_returns_at_deadline(void **state)
{
    (void)state;
    struct waiter w;
    waiter_start(&w, 150);
    pthread_join(w.bg.thread, NULL);
    assert_true(w.returned);
    assert_false(w.stopped);
    assert_true(w.took_ms >= 150);
    assert_true(w.took_ms < 2000);
    bgthread_release(&w.bg);
}

static void
test_wake_ends_wait_early(void **state)
{
    (void)state;
    struct waiter w;
    waiter_start(&w, 60000);
    bgthread_lock(&w.bg);
    bgthread_wake(&w.bg);
    bgthread_unlock(&w.bg);
    pthread_join(w.bg.thread, NULL);
    assert_true(w.returned);
    assert_false(w.stopped);
    assert_true(w.took_ms < 10000);
    bgthread_release(&w.bg);
}

static void
test_stop_ends_wait_and_is_reported(void **state)
{
    (void)state;
    struct waiter w;
    waiter_start(&w, BGTHREAD_NO_DEADLINE);
    bgthread_stop(&w.bg);
    assert_true(w.returned);
    assert_true(w.stopped);
    bgthread_release(&w.bg);
}

static void
test_past_deadline_does_not_wait(void **state)
{
    (void)state;
    struct waiter w;
    waiter_start(&w, -1000);
    bgthread_stop(&w.bg);
    assert_false(w.stopped);
    assert_true(w.took_ms < 1000);
    bgthread_release(&w.bg);
}

static void
test_failed_start_leaves_nothing(void **state)
{
    (void)state;
    struct waiter w;
    memset(&w, 0, sizeof(w));
    fail_create = true;
    errno = 0;
    assert_int_equal(bgthread_start(&w.bg, waiter_main, &w), -1);
    fail_create = false;
    assert_int_equal(errno, EAGAIN);
    /* The mutex was destroyed: initialising it again must work, as it must for a retry. */
    assert_int_equal(bgthread_start(&w.bg, waiter_main, &w), 0);
    bgthread_stop(&w.bg);
    bgthread_release(&w.bg);
}

int
main(void)
{
    log_init("bgthread_test", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_returns_at_deadline),
        cmocka_unit_test(test_wake_ends_wait_early),
        cmocka_unit_test(test_stop_ends_wait_and_is_reported),
        cmocka_unit_test(test_past_deadline_does_not_wait),
        cmocka_unit_test(test_failed_start_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
