/* Unit tests for common/retry.c: the delays' bounds, the cap, the reset, and a sleep that a
 * stop flag ends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"
#include "util.h"

static void
test_delays_double_within_half_and_whole(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 100, 5000);
    assert_false(retry_failing(&r));
    int64_t ceiling = 100;
    for (int i = 0; i < 20; i++) {
        int64_t d = retry_fail(&r);
        assert_true(retry_failing(&r));
        assert_in_range(d, ceiling / 2, ceiling);
        ceiling = ceiling * 2 > 5000 ? 5000 : ceiling * 2;
    }
}

static void
test_reset_starts_over(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 100, 5000);
    for (int i = 0; i < 10; i++)
        retry_fail(&r);
    retry_reset(&r);
    assert_false(retry_failing(&r));
    assert_in_range(retry_fail(&r), 50, 100);
}

static void
test_many_failures_stay_capped(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 1, 3);
    for (int i = 0; i < 1000; i++)
        assert_in_range(retry_fail(&r), 1, 3);
}

static void
test_bad_bounds_are_mended(void **state)
{
    (void)state;
    struct retry r;
    /* A zero base would never grow; a cap below the base would be no cap. */
    retry_init(&r, 0, -5);
    assert_in_range(retry_fail(&r), 0, 1);
    retry_init(&r, 200, 100);
    assert_in_range(retry_fail(&r), 100, 200);
}

static void
test_sleep_without_stop_lasts(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 0;
    int64_t t0 = now_mono_ms();
    assert_false(retry_sleep(120, &stop));
    assert_true(now_mono_ms() - t0 >= 120);
    t0 = now_mono_ms();
    assert_false(retry_sleep(30, NULL));
    assert_true(now_mono_ms() - t0 >= 30);
}

static void
test_sleep_with_stop_returns_at_once(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 1;
    int64_t t0 = now_mono_ms();
    assert_true(retry_sleep(60000, &stop));
    assert_true(now_mono_ms() - t0 < 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_within_half_and_whole),
        cmocka_unit_test(test_reset_starts_over),
        cmocka_unit_test(test_many_failures_stay_capped),
        cmocka_unit_test(test_bad_bounds_are_mended),
        cmocka_unit_test(test_sleep_without_stop_lasts),
        cmocka_unit_test(test_sleep_with_stop_returns_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
