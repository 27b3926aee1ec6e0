/* Unit tests for worker/fetch_queues.c: the worker's queue list, its weights and the specs it
 * must refuse with a message that names the problem. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_queues.h"
#include "util.h"

/* Parses spec expecting success; returns the queues (the caller frees them). */
static struct fetch_queue *
parse_ok(const char *spec, int *n)
{
    struct fetch_queue *q = NULL;
    char err[256] = "";
    int rc = fetch_parse_queues(spec, &q, n, err, sizeof(err));
    if (rc != 0)
        fail_msg("\"%s\" refused: %s", spec, err);
    return q;
}

/* Parses spec expecting an error whose message contains needle. */
static void
parse_fails(const char *spec, const char *needle)
{
    struct fetch_queue *q = (struct fetch_queue *)1;
    int n = -1;
    char err[256] = "";
    assert_int_equal(fetch_parse_queues(spec, &q, &n, err, sizeof(err)), -1);
    assert_null(q);
    assert_int_equal(n, 0);
    if (strstr(err, needle) == NULL)
        fail_msg("\"%s\": error \"%s\" lacks \"%s\"", spec, err, needle);
}

static void
test_weights(void **state)
{
    (void)state;
    int n = 0;
    struct fetch_queue *q = parse_ok("critical:3,default,low:1000", &n);
    assert_int_equal(n, 3);
    assert_string_equal(q[0].name, "critical");
    assert_int_equal(q[0].weight, 3);
    assert_string_equal(q[1].name, "default");
    assert_int_equal(q[1].weight, 1);
    assert_string_equal(q[2].name, "low");
    assert_int_equal(q[2].weight, 1000);
    fetch_queues_free(q, n);
}

static void
test_spaces_around_names(void **state)
{
    (void)state;
    int n = 0;
    struct fetch_queue *q = parse_ok(" a:2 , b.c_d-E ", &n);
    assert_int_equal(n, 2);
    assert_string_equal(q[0].name, "a");
    assert_int_equal(q[0].weight, 2);
    assert_string_equal(q[1].name, "b.c_d-E");
    fetch_queues_free(q, n);
}

static void
test_bad_weights(void **state)
{
    (void)state;
    parse_fails("a:0", "1..1000");
    parse_fails("a:1001", "1..1000");
    parse_fails("a:", "1..1000");
    parse_fails("a:x", "1..1000");
    parse_fails("a:-1", "1..1000");
    parse_fails("b,a:2x", "\"a\"");
}

static void
test_bad_names(void **state)
{
    (void)state;
    parse_fails("a b", "[A-Za-z0-9._-]");
    parse_fails(":3", "[A-Za-z0-9._-]");
    parse_fails("ok,bad/name", "bad/name");
    parse_fails("ok,bäd", "[A-Za-z0-9._-]");
    char longname[80];
    memset(longname, 'q', 65);
    longname[65] = '\0';
    parse_fails(longname, "1-64");
    longname[64] = '\0';
    int n = 0;
    struct fetch_queue *q = parse_ok(longname, &n);
    assert_int_equal(n, 1);
    fetch_queues_free(q, n);
}

static void
test_empty(void **state)
{
    (void)state;
    parse_fails("", "no queues");
    parse_fails(",,", "no queues");
    parse_fails(" ", "[A-Za-z0-9._-]");
}

static void
test_duplicates(void **state)
{
    (void)state;
    /* One queue listed twice would be popped twice per round with two weights: refuse it
     * rather than guess which weight was meant. */
    parse_fails("a:1,b,a:3", "\"a\" is listed twice");
}

static void
test_too_many(void **state)
{
    (void)state;
    /* The fetch loop orders and pops at most 64 queues: a 65th would never be served. */
    char spec[1024] = "";
    for (int i = 0; i < 64; i++)
        snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%sq%d", i ? "," : "", i);
    int n = 0;
    struct fetch_queue *q = parse_ok(spec, &n);
    assert_int_equal(n, 64);
    fetch_queues_free(q, n);
    snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), ",q64");
    parse_fails(spec, "at most 64 queues");
}

static void
test_free_accepts_null(void **state)
{
    (void)state;
    fetch_queues_free(NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights),     cmocka_unit_test(test_spaces_around_names),
        cmocka_unit_test(test_bad_weights), cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_too_many),    cmocka_unit_test(test_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
