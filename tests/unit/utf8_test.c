/* Unit tests for common/utf8.c: what counts as well-formed UTF-8 (overlong forms, surrogates,
 * code points past U+10FFFF and NUL bytes do not), where the first bad byte is, and that a
 * cleaned or clipped copy is always valid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static void
test_valid(void **state)
{
    (void)state;
    static const char *good[] = {"",
                                 "plain",
                                 "caf\xc3\xa9",
                                 "\xe2\x82\xac",
                                 "\xf0\x9f\x98\x80",
                                 "\xed\x9f\xbf",
                                 "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(utf8_valid(good[i], strlen(good[i])));
    static const char *bad[] = {"\xff",         "caf\xe9",      "\xc0\xaf",         "\xc3",
                                "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88",
                                "\x80",         "\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(utf8_valid(bad[i], strlen(bad[i])));
    assert_false(utf8_valid("a\0b", 3));
}

static void
test_invalid_at(void **state)
{
    (void)state;
    assert_int_equal(utf8_invalid_at("abc\xff", 4), 3);
    assert_int_equal(utf8_invalid_at("\xc3\xa9x", 3), 3);
    assert_int_equal(utf8_invalid_at("\xc3\xa9\xc3", 3), 2);
}

static void
test_clean(void **state)
{
    (void)state;
    char *c = utf8_clean("/webhook/\xff\xfe ok \xc3\xa9");
    assert_string_equal(c, "/webhook/?? ok \xc3\xa9");
    free(c);
    /* A clip that cuts a character leaves '?' rather than half of it. */
    c = utf8_clean_clip("ab\xe2\x82\xac", 4);
    assert_true(utf8_valid(c, strlen(c)));
    assert_int_equal(strlen(c), 4);
    free(c);
    assert_null(utf8_clean_clip(NULL, 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid_at),
        cmocka_unit_test(test_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
