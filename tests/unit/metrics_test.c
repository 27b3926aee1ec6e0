/* Unit tests for the metrics registry's hand-over from a prefork child to its parent
 * (common/metrics.c): metrics_drain takes the counters and zeroes them, metrics_merge adds only
 * the metrics it is given, and labels and values survive the text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

static const struct metric_def m_req = {
    "jobfleet_test_requests_total", "t", METRIC_COUNTER, {"service", "code"}, NULL, 0};
static const struct metric_def m_plain = {
    "jobfleet_test_plain_total", "t", METRIC_COUNTER, {NULL, NULL}, NULL, 0};
static const struct metric_def m_other = {
    "jobfleet_test_other_total", "t", METRIC_COUNTER, {NULL, NULL}, NULL, 0};
static const struct metric_def m_gauge = {"jobfleet_test_gauge", "t",  METRIC_GAUGE,
                                          {NULL, NULL},          NULL, 0};

static char *
rendered(void)
{
    struct buf b;
    buf_init(&b, 0);
    metrics_render(&b);
    return buf_detach(&b);
}

static void
test_drain_then_merge(void **state)
{
    (void)state;
    metrics_reset();
    metrics_add(&m_req, "fake", "429", 1);
    metrics_add(&m_req, "fake", "200", 3);
    metrics_add(&m_plain, NULL, NULL, 0.25);
    metrics_add(&m_other, NULL, NULL, 7);
    metrics_set(&m_gauge, NULL, NULL, 5);
    struct buf b;
    buf_init(&b, 0);
    metrics_drain(&b);
    char *text = buf_detach(&b);
    assert_non_null(strstr(text, "jobfleet_test_requests_total\t=fake\t=429\t1\n"));
    assert_null(strstr(text, "jobfleet_test_gauge"));
    /* Drained counters start again from zero; a second drain has nothing to say. */
    buf_init(&b, 0);
    metrics_drain(&b);
    assert_int_equal(b.len, 0);
    buf_release(&b);

    /* The parent: only the metrics it accepts, added to what it has. */
    metrics_reset();
    metrics_add(&m_req, "fake", "200", 2);
    const struct metric_def *const accept[] = {&m_req, &m_plain};
    metrics_merge(text, accept, 2);
    metrics_merge("garbage\nno\ttabs enough\n\n", accept, 2);
    metrics_merge(NULL, accept, 2);
    char *out = rendered();
    assert_non_null(strstr(out, "jobfleet_test_requests_total{service=\"fake\",code=\"429\"} 1\n"));
    assert_non_null(strstr(out, "jobfleet_test_requests_total{service=\"fake\",code=\"200\"} 5\n"));
    assert_non_null(strstr(out, "jobfleet_test_plain_total 0.25\n"));
    assert_null(strstr(out, "jobfleet_test_other_total"));
    free(out);
    free(text);
    metrics_reset();
}

/* A child forked while the parent's registry held series starts empty. */
static void
test_fork_child_starts_empty(void **state)
{
    (void)state;
    metrics_reset();
    metrics_add(&m_plain, NULL, NULL, 1);
    metrics_fork_child();
    struct buf b;
    buf_init(&b, 0);
    metrics_drain(&b);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

/* Past the cap of series, a new label pair's updates are kept under "(other)", so a client's
 * 600 queue names cannot take the real queues' counts away. Before, they were dropped. */
static void
test_cap_folds_into_other(void **state)
{
    (void)state;
    metrics_reset();
    char q[32];
    for (int i = 0; i < METRICS_MAX_SERIES + 88; i++) {
        snprintf(q, sizeof(q), "q%d", i);
        metrics_add(&m_req, q, "200", 1);
    }
    metrics_add(&m_req, "default", "200", 5);
    char *out = rendered();
    assert_non_null(strstr(out, "jobfleet_test_requests_total{service=\"q511\",code=\"200\"} 1\n"));
    assert_null(strstr(out, "service=\"q512\""));
    assert_non_null(
        strstr(out, "jobfleet_test_requests_total{service=\"(other)\",code=\"(other)\"} 93\n"));
    assert_non_null(strstr(out, "jobfleet_metrics_series_dropped_total 89\n"));
    free(out);
    metrics_reset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_drain_then_merge),
                                       cmocka_unit_test(test_fork_child_starts_empty),
                                       cmocka_unit_test(test_cap_folds_into_other)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
