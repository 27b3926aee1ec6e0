/* Unit tests for common/log_limit.c: the burst per window, the count of what was left out and
 * its handing over once, and kinds that do not share a budget. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "log_limit.h"

static void
test_burst_then_counted(void **state)
{
    (void)state;
    static struct log_limit l = LOG_LIMIT_INIT("test");
    long left = -1;
    int written = 0;
    for (int i = 0; i < 1000; i++) {
        if (log_limit_take(&l, 5000 + i, &left))
            written++;
        assert_int_equal(left, 0);
    }
    assert_int_equal(written, LOG_LIMIT_BURST);
}

static void
test_next_window_reports_once(void **state)
{
    (void)state;
    static struct log_limit l = LOG_LIMIT_INIT("test");
    long left = -1;
    for (int i = 0; i < LOG_LIMIT_BURST + 25; i++)
        log_limit_take(&l, 1000, &left);
    /* Still the same window: nothing reported yet, nothing written. */
    assert_false(log_limit_take(&l, 1000 + LOG_LIMIT_WINDOW_MS - 1, &left));
    assert_int_equal(left, 0);
    /* The next window writes again and hands over the count once. */
    assert_true(log_limit_take(&l, 1000 + LOG_LIMIT_WINDOW_MS, &left));
    assert_int_equal(left, 26);
    assert_true(log_limit_take(&l, 1000 + LOG_LIMIT_WINDOW_MS + 1, &left));
    assert_int_equal(left, 0);
}

static void
test_kinds_apart(void **state)
{
    (void)state;
    static struct log_limit a = LOG_LIMIT_INIT("a"), b = LOG_LIMIT_INIT("b");
    long left;
    for (int i = 0; i < 100; i++)
        log_limit_take(&a, 2000, &left);
    assert_false(log_limit_take(&a, 2000, &left));
    assert_true(log_limit_take(&b, 2000, &left));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_counted),
        cmocka_unit_test(test_next_window_reports_once),
        cmocka_unit_test(test_kinds_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
