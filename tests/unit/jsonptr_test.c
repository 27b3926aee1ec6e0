/* Unit tests for common/jsonptr.c: RFC 6901's examples, malformed pointers, and the text of
 * the values idempotency keys are made from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "jsonptr.h"

static const char *rfc_doc = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, "
                             "\"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, "
                             "\"m~n\": 8}";

static void
test_rfc6901(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(rfc_doc);
    assert_non_null(doc);
    assert_ptr_equal(jsonptr_get(doc, ""), doc);
    assert_string_equal(cJSON_GetArrayItem(jsonptr_get(doc, "/foo"), 0)->valuestring, "bar");
    assert_string_equal(jsonptr_get(doc, "/foo/0")->valuestring, "bar");
    static const struct {
        const char *ptr;
        int value;
    } cases[] = {{"/", 0},     {"/a~1b", 1}, {"/c%d", 2}, {"/e^f", 3}, {"/g|h", 4},
                 {"/i\\j", 5}, {"/k\"l", 6}, {"/ ", 7},   {"/m~0n", 8}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const cJSON *v = jsonptr_get(doc, cases[i].ptr);
        assert_non_null(v);
        assert_int_equal(v->valueint, cases[i].value);
    }
    cJSON_Delete(doc);
}

static void
test_misses(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"ticket\": {\"id\": 42, \"tags\": [\"a\", \"b\"]}}");
    assert_null(jsonptr_get(doc, "/ticket/nope"));
    assert_null(jsonptr_get(doc, "/ticket/id/deeper"));
    assert_null(jsonptr_get(doc, "/ticket/tags/2"));
    assert_null(jsonptr_get(doc, "/ticket/tags/01"));
    assert_null(jsonptr_get(doc, "/ticket/tags/-1"));
    assert_null(jsonptr_get(doc, "ticket/id"));
    assert_null(jsonptr_get(doc, "/ticket~2"));
    assert_string_equal(jsonptr_get(doc, "/ticket/tags/1")->valuestring, "b");
    assert_false(jsonptr_valid("x"));
    assert_false(jsonptr_valid("/a~"));
    assert_true(jsonptr_valid("/a~0~1"));
    cJSON_Delete(doc);
}

static void
test_text(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse("{\"s\": \"x y\", \"i\": 42, \"f\": 42.0, \"d\": 1.5, \"b\": true, "
                             "\"o\": {\"k\": [1]}, \"n\": null}");
    char out[64];
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/s"), out, sizeof(out)), 0);
    assert_string_equal(out, "x y");
    jsonptr_text(jsonptr_get(doc, "/i"), out, sizeof(out));
    assert_string_equal(out, "42");
    jsonptr_text(jsonptr_get(doc, "/f"), out, sizeof(out));
    assert_string_equal(out, "42");
    jsonptr_text(jsonptr_get(doc, "/d"), out, sizeof(out));
    assert_string_equal(out, "1.5");
    jsonptr_text(jsonptr_get(doc, "/b"), out, sizeof(out));
    assert_string_equal(out, "true");
    jsonptr_text(jsonptr_get(doc, "/o"), out, sizeof(out));
    assert_string_equal(out, "{\"k\":[1]}");
    jsonptr_text(jsonptr_get(doc, "/n"), out, sizeof(out));
    assert_string_equal(out, "null");
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/s"), out, 3), -1);
    cJSON_Delete(doc);
    /* Two ids past 2^53 parse to one double: refused, not given one text. */
    doc = cJSON_Parse("{\"a\": 18014398509481985, \"b\": -9007199254740992, "
                      "\"c\": 9007199254740991, \"d\": 1e300}");
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/a"), out, sizeof(out)), -2);
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/b"), out, sizeof(out)), -2);
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/d"), out, sizeof(out)), -2);
    assert_int_equal(jsonptr_text(jsonptr_get(doc, "/c"), out, sizeof(out)), 0);
    assert_string_equal(out, "9007199254740991");
    cJSON_Delete(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6901),
        cmocka_unit_test(test_misses),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
