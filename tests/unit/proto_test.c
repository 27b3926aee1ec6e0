/* Unit tests for the worker protocol (worker/proto.c): a job or a result too large for one
 * field is refused whole (EMSGSIZE, nothing written) rather than cut into other data, and a
 * message that fits goes through a socketpair intact. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

static char *
big_json(size_t n)
{
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[0] = '"';
    s[n - 1] = '"';
    s[n] = '\0';
    return s;
}

static void
test_oversized_refused(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char *big = big_json((size_t)PROTO_MAX_FIELD + 1);
    char action[] = "System/Echo", small[] = "{\"n\":1}";
    struct proto_job j = {
        .id = 1, .attempt = 1, .timeout_s = 5, .action = action, .parameters = big};
    errno = 0;
    assert_int_equal(proto_write_job(sv[0], &j), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_false(proto_fits(big));
    struct proto_outcome o = {.id = 1, .status = 0, .result = big};
    errno = 0;
    assert_int_equal(proto_write_outcome(sv[1], &o), -1);
    assert_int_equal(errno, EMSGSIZE);
    /* Nothing was written: the next message is read whole. */
    j.parameters = small;
    j.start_by_ms = 123456789; /* the child's start deadline travels with the job */
    assert_int_equal(proto_write_job(sv[0], &j), 0);
    struct proto_job got;
    assert_int_equal(proto_read_job(sv[1], &got), 1);
    assert_string_equal(got.parameters, "{\"n\":1}");
    assert_int_equal(got.start_by_ms, 123456789);
    proto_job_release(&got);
    free(big);
    close(sv[0]);
    close(sv[1]);
}

/* An outcome carries the child's drained counters to the supervisor, and none when empty. */
static void
test_outcome_metrics(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char reason[] = "failed", metrics[] = "jobfleet_http_requests_total\t=fake\t=429\t1\n";
    struct proto_outcome o = {.id = 7, .status = 2, .reason = reason, .metrics = metrics};
    assert_int_equal(proto_write_outcome(sv[0], &o), 0);
    o.metrics = NULL;
    assert_int_equal(proto_write_outcome(sv[0], &o), 0);
    struct proto_outcome got;
    assert_int_equal(proto_read_outcome(sv[1], &got), 1);
    assert_string_equal(got.reason, "failed");
    assert_string_equal(got.metrics, metrics);
    proto_outcome_release(&got);
    assert_int_equal(proto_read_outcome(sv[1], &got), 1);
    assert_null(got.metrics);
    proto_outcome_release(&got);
    close(sv[0]);
    close(sv[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_oversized_refused),
                                       cmocka_unit_test(test_outcome_metrics)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
