/* Unit tests for common/hmac.c: HMAC-SHA256 against RFC 4231's test vectors, hex and base64
 * decoding, and the comparisons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hmac.h"

static void
mac_hex(const char *key, size_t keylen, const char *msg, char out[65])
{
    const void *parts[] = {msg};
    size_t lens[] = {strlen(msg)};
    uint8_t mac[HMAC_SHA256_LEN];
    hmac_sha256(key, keylen, parts, lens, 1, mac);
    hmac_hex(mac, sizeof(mac), out);
}

static void
test_rfc4231(void **state)
{
    (void)state;
    char hex[65];
    /* Test case 2: key "Jefe". */
    mac_hex("Jefe", 4, "what do ya want for nothing?", hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 1: key 0x0b x 20, "Hi There". */
    char key[20];
    memset(key, 0x0b, sizeof(key));
    mac_hex(key, sizeof(key), "Hi There", hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void
test_parts_join(void **state)
{
    (void)state;
    /* Signing "ts.body" in parts equals signing the joined string. */
    char joined[65], split[65];
    mac_hex("k", 1, "1700000000.{\"a\":1}", joined);
    const void *parts[] = {"1700000000", ".", "{\"a\":1}"};
    size_t lens[] = {10, 1, 7};
    uint8_t mac[HMAC_SHA256_LEN];
    hmac_sha256("k", 1, parts, lens, 3, mac);
    hmac_hex(mac, sizeof(mac), split);
    assert_string_equal(joined, split);
    /* An empty key is legal HMAC. */
    mac_hex("", 0, "", joined);
    assert_string_equal(joined, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void
test_unhex(void **state)
{
    (void)state;
    uint8_t out[2];
    assert_int_equal(hmac_unhex("aBcD", 4, out, 2), 0);
    assert_int_equal(out[0], 0xab);
    assert_int_equal(out[1], 0xcd);
    assert_int_equal(hmac_unhex("abc", 3, out, 2), -1);
    assert_int_equal(hmac_unhex("abcg", 4, out, 2), -1);
    assert_int_equal(hmac_unhex("abcdef", 6, out, 2), -1);
}

static void
test_equal(void **state)
{
    (void)state;
    assert_true(hmac_equal("abc", 3, "abc", 3));
    assert_false(hmac_equal("abc", 3, "abd", 3));
    assert_false(hmac_equal("abc", 3, "abcd", 4));
    assert_true(hmac_secret_equal("t0ken", 5, "t0ken", 5));
    assert_false(hmac_secret_equal("t0ke", 4, "t0ken", 5));
    assert_false(hmac_secret_equal("", 0, "t0ken", 5));
    assert_true(hmac_secret_equal("", 0, "", 0));
}

static void
test_base64(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(hmac_base64_decode("Ym90OnB3", 8, out, sizeof(out)), 6);
    assert_string_equal(out, "bot:pw");
    assert_int_equal(hmac_base64_decode("YQ==", 4, out, sizeof(out)), 1);
    assert_string_equal(out, "a");
    assert_int_equal(hmac_base64_decode("YWI=", 4, out, sizeof(out)), 2);
    assert_string_equal(out, "ab");
    assert_int_equal(hmac_base64_decode("", 0, out, sizeof(out)), 0);
    assert_int_equal(hmac_base64_decode("YWI", 3, out, sizeof(out)), -1);
    assert_int_equal(hmac_base64_decode("!!!!", 4, out, sizeof(out)), -1);
    assert_int_equal(hmac_base64_decode("YWJjZGVm", 8, out, 4), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231), cmocka_unit_test(test_parts_join),
        cmocka_unit_test(test_unhex),   cmocka_unit_test(test_equal),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
