/* Unit tests for common/json.c's integer reader (every JSON number from outside may be huge,
 * fractional or negative, and none may reach a conversion that overflows), its exact
 * comparison, and its finder of NUL characters, which cJSON would cut strings at. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static const char *doc_text = "{\"ok\": 42, \"neg\": -7, \"huge\": 1e300, \"tiny\": -1e300, "
                              "\"inf\": 1e400, \"frac\": 1.5, \"big\": 9007199254740994, "
                              "\"edge\": 9007199254740992, \"text\": \"5\", \"null\": null}";

static void
test_in_range(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(doc_text);
    assert_non_null(doc);
    assert_int_equal(json_int(doc, "ok", 1, 100, -1), 42);
    assert_int_equal(json_int(doc, "neg", -10, 0, 1), -7);
    assert_int_equal(json_int(doc, "edge", 1, JSON_INT_MAX, 0), JSON_INT_MAX);
    int64_t n = 0;
    assert_true(json_int_of(cJSON_GetObjectItem(doc, "ok"), 42, 42, &n));
    assert_int_equal(n, 42);
    cJSON_Delete(doc);
}

static void
test_refused(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(doc_text);
    /* The bounds of a caller who asks for all of int64 must not let 1e300 through: the test
     * build's float-cast-overflow check would abort here if the conversion ran. */
    static const char *bad[] = {"huge", "tiny", "inf", "frac", "big", "text", "null", "absent"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t n = 99;
        assert_false(json_int_of(cJSON_GetObjectItem(doc, bad[i]), INT64_MIN, INT64_MAX, &n));
        assert_int_equal(n, 99);
        assert_int_equal(json_int(doc, bad[i], INT64_MIN, INT64_MAX, -3), -3);
    }
    assert_int_equal(json_int(doc, "ok", 43, 100, -1), -1);
    assert_int_equal(json_int(doc, "neg", 0, 100, 5), 5);
    assert_false(json_int_of(NULL, 0, 1, &(int64_t){0}));
    cJSON_Delete(doc);
}

static bool
equal(const char *x, const char *y)
{
    cJSON *a = cJSON_Parse(x), *b = cJSON_Parse(y);
    assert_non_null(a);
    assert_non_null(b);
    bool same = json_equal(a, b);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return same;
}

/* The Idempotency-Key's "same request" check: cJSON_Compare took two neighbouring ids past 2^52
 * for one, and a body that named a member twice for another than itself. */
static void
test_equal(void **state)
{
    (void)state;
    assert_false(equal("{\"id\":5000000000000001}", "{\"id\":5000000000000002}"));
    assert_true(equal("{\"id\":5000000000000001}", "{\"id\":5000000000000001}"));
    assert_true(equal("{\"a\":1,\"b\":[1,\"x\",null]}", "{\"b\":[1,\"x\",null],\"a\":1.0}"));
    assert_true(equal("{\"x\":1,\"x\":2,\"y\":3}", "{\"y\":3,\"x\":1,\"x\":2}"));
    assert_false(equal("{\"x\":1,\"x\":2}", "{\"x\":2,\"x\":1}"));
    assert_false(equal("{\"a\":1}", "{\"a\":1,\"b\":2}"));
    assert_false(equal("{\"a\":1,\"c\":2}", "{\"a\":1,\"b\":2}"));
    assert_false(equal("[1,2]", "[2,1]"));
    assert_false(equal("[1,2]", "[1,2,3]"));
    assert_false(equal("{\"a\":true}", "{\"a\":false}"));
    assert_false(equal("{\"a\":\"1\"}", "{\"a\":1}"));
    assert_false(equal("{\"a\":null}", "{\"a\":{}}"));
    assert_true(equal("{}", "{}"));
}

/* A NUL in a string, escaped or raw, is found; the same six characters as text (an escaped
 * backslash before "u0000"), or outside a string's escapes, are not one. */
static void
test_text_has_nul(void **state)
{
    (void)state;
    static const char *const with[] = {"{\"a\":\"x\\u0000y\"}", "[\"\\u0000\"]", "{\"k\\u0000\":1}",
                                       "{\"a\":\"\\\"\\u00000\"}"};
    for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
        assert_true(json_text_has_nul(with[i], strlen(with[i])));
    static const char *const without[] = {"{\"a\":\"x\\\\u0000y\"}", "{\"a\":\"\\u0001\"}",
                                          "{\"a\":\"u0000\"}", "{\"a\":\"\\u000\"}"};
    for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++)
        assert_false(json_text_has_nul(without[i], strlen(without[i])));
    const char raw[] = {'{', '"', 'a', '"', ':', '"', 'x', '\0', 'y', '"', '}'};
    assert_true(json_text_has_nul(raw, sizeof(raw)));
    assert_false(json_text_has_nul(raw, 7));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_range),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_text_has_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
