/* Unit tests for the worker protocol (worker/proto.c): a job or a result too large for one
 * field is refused whole (EMSGSIZE, nothing written) rather than cut into other data, a
 * message that fits goes through a socketpair intact, and the reader's buffer parses messages
 * whole however the bytes arrive. */
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
    struct proto_rbuf rb = {0};
    assert_int_equal(proto_read_job(sv[1], &rb, &got), 1);
    assert_string_equal(got.parameters, "{\"n\":1}");
    assert_int_equal(got.start_by_ms, 123456789);
    proto_job_release(&got);
    proto_rbuf_release(&rb);
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
    struct proto_rbuf rb = {0};
    assert_int_equal(proto_read_outcome(sv[1], &rb, &got), 1);
    assert_string_equal(got.reason, "failed");
    assert_string_equal(got.metrics, metrics);
    proto_outcome_release(&got);
    /* Both were written before the first read: the second is parsed from the buffer. */
    assert_int_equal(proto_next_outcome(&rb, &got), 1);
    assert_null(got.metrics);
    proto_outcome_release(&got);
    assert_int_equal(proto_next_outcome(&rb, &got), 0);
    proto_rbuf_release(&rb);
    close(sv[0]);
    close(sv[1]);
}

/* Messages reach the reader in pieces of any size (a header split, a field larger than a read's
 * room): each is parsed only once whole, in order; a peer gone mid-message is an error, a peer
 * gone between messages an EOF. */
static void
test_split_messages(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    size_t n = 3 * PROTO_RBUF_CHUNK + 17;
    char *params = big_json(n);
    char action[] = "System/Echo";
    struct proto_job j = {.id = 5, .seq = 9, .attempt = 1, .action = action, .parameters = params};
    int pw[2];
    assert_int_equal(pipe(pw), 0);
    /* The whole message, written to a pipe to take its bytes, then fed in three pieces. */
    assert_int_equal(proto_write_job(pw[1], &j), 0);
    j.id = 6;
    assert_int_equal(proto_write_job(pw[1], &j), 0);
    close(pw[1]);
    char *all = malloc(2 * (n + 256));
    ssize_t len = 0, r;
    while ((r = read(pw[0], all + len, 4096)) > 0)
        len += r;
    close(pw[0]);
    struct proto_rbuf rb = {0};
    struct proto_job got;
    assert_int_equal(write(sv[0], all, 10), 10);
    assert_int_equal(proto_fill(&rb, sv[1]), 10);
    assert_int_equal(proto_next_job(&rb, &got), 0);
    assert_int_equal(write(sv[0], all + 10, 5000), 5000);
    assert_true(proto_fill(&rb, sv[1]) > 0);
    assert_int_equal(proto_next_job(&rb, &got), 0);
    /* The rest of the first and half of the second; proto_read_job reads on as needed. */
    ssize_t half = len - (len / 2 - 100);
    assert_int_equal(write(sv[0], all + 5010, (size_t)(half - 5010)), half - 5010);
    assert_int_equal(proto_read_job(sv[1], &rb, &got), 1);
    assert_int_equal(got.id, 5);
    assert_int_equal(got.seq, 9);
    assert_string_equal(got.parameters, params);
    proto_job_release(&got);
    assert_int_equal(proto_next_job(&rb, &got), 0);
    /* The writer dies mid-message: an error, not a job. */
    close(sv[0]);
    assert_int_equal(proto_read_job(sv[1], &rb, &got), -1);
    proto_rbuf_release(&rb);
    close(sv[1]);
    /* Between messages, the end is an EOF. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    assert_int_equal(proto_read_job(sv[1], &rb, &got), 0);
    proto_rbuf_release(&rb);
    close(sv[1]);
    free(all);
    free(params);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_oversized_refused),
                                       cmocka_unit_test(test_outcome_metrics),
                                       cmocka_unit_test(test_split_messages)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
