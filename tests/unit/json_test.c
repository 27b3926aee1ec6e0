/* Unit tests for common/json.c's integer reader: every JSON number from outside may be huge,
 * fractional or negative, and none may reach a conversion that overflows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_range),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
