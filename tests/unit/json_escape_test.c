/* Unit tests for json_escape_append (common/json_escape.c): the hand-written escaper writes
 * what cJSON prints for the same string, on a table of inputs (every control character,
 * quotes, backslashes, slashes, DEL, non-ASCII UTF-8, invalid UTF-8, empty, long) and on
 * random bytes; its output parses back to the input; a NUL, which cJSON cannot carry, is
 * written as \u0000. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_escape.h"

/* The escaper's output for s against cJSON_PrintUnformatted of the string, and parsed back. */
static void
check(const char *s, size_t n, const char *what)
{
    struct buf b;
    buf_init(&b, 0);
    json_escape_append(&b, s, n);
    cJSON *str = cJSON_CreateString(s);
    char *want = cJSON_PrintUnformatted(str);
    assert_non_null(want);
    if (strcmp(b.data, want) != 0)
        fail_msg("%s: cJSON prints %s, the escaper wrote %s", what, want, b.data);
    cJSON *back = cJSON_Parse(b.data);
    if (!cJSON_IsString(back) || strcmp(back->valuestring, s) != 0)
        fail_msg("%s: %s does not parse back to the input", what, b.data);
    cJSON_Delete(back);
    cJSON_free(want);
    cJSON_Delete(str);
    buf_release(&b);
}

static void
test_table(void **state)
{
    (void)state;
    static const struct {
        const char *s, *what;
    } table[] = {
        {"", "empty"},
        {"plain ascii text", "plain"},
        {"\"", "a quote"},
        {"\\", "a backslash"},
        {"a\"b\\c\"\\\"", "quotes and backslashes"},
        {"/ and </script>", "slashes (not escaped by cJSON)"},
        {"\b\f\n\r\t", "the named controls"},
        {"\x01\x02\x1b\x1f", "other controls"},
        {"line1\nline2\r\n\ttabbed", "controls between text"},
        {"\x7f", "DEL (not a control for JSON)"},
        {"grüße, 日本語, emoji \xf0\x9f\x98\x80", "non-ASCII UTF-8"},
        {"\xe2\x80\xa8\xe2\x80\xa9", "U+2028 and U+2029"},
        {"\xff\xfe bad \xc3", "invalid UTF-8 (passed through as cJSON does)"},
        {"\xc0\xaf overlong", "an overlong encoding"},
        {"\xed\xa0\x80 surrogate", "an encoded surrogate"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        check(table[i].s, strlen(table[i].s), table[i].what);
    /* Every byte from 1 to 255 alone, and each between two letters. */
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, 0}, mid[4] = {'a', (char)c, 'z', 0};
        char what[32];
        snprintf(what, sizeof(what), "byte 0x%02x", c);
        check(one, 1, what);
        check(mid, 3, what);
    }
}

static void
test_long(void **state)
{
    (void)state;
    /* A megabyte mixing runs that need no escape with ones that all do. */
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    assert_non_null(s);
    static const char pattern[] = "run of plain text \"q\" \\ \n\t\x01 ü ";
    for (size_t i = 0; i < n; i++)
        s[i] = pattern[i % (sizeof(pattern) - 1)];
    s[n] = '\0';
    check(s, n, "a long string");
    free(s);
}

static void
test_random(void **state)
{
    (void)state;
    srand(4711);
    char s[64];
    for (int i = 0; i < 100000; i++) {
        size_t n = (size_t)(rand() % 63);
        for (size_t k = 0; k < n; k++)
            s[k] = (char)(1 + rand() % 255);
        s[n] = '\0';
        check(s, n, "random bytes");
    }
}

static void
test_nul_and_length(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    json_escape_append(&b, "a\0b", 3);
    assert_string_equal(b.data, "\"a\\u0000b\"");
    buf_reset(&b);
    /* Only n bytes are read, whatever follows. */
    json_escape_append(&b, "abc\"def", 3);
    assert_string_equal(b.data, "\"abc\"");
    buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_long),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_nul_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
