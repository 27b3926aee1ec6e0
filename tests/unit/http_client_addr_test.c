/* Unit tests for producer/http_client_addr.c: the trusted_proxies list (addresses, blocks,
 * IPv4-mapped IPv6, entries refused by name) and the client an X-Forwarded-For walk finds,
 * spoofed hops included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_client_addr.h"

#include <stdio.h>
#include <string.h>

static struct http_proxies
proxies(const char *spec)
{
    struct http_proxies l;
    char err[256] = "";
    if (http_proxies_parse(spec, &l, err, sizeof(err)) < 0)
        fail_msg("%s: %s", spec, err);
    return l;
}

static void
test_parse_and_match(void **state)
{
    (void)state;
    struct http_proxies l =
        proxies("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32\t::ffff:172.16.0.0/108");
    assert_int_equal(l.n, 4);
    assert_true(http_proxies_has(&l, "10.200.3.4"));
    assert_false(http_proxies_has(&l, "11.0.0.1"));
    assert_true(http_proxies_has(&l, "192.168.1.7"));
    assert_false(http_proxies_has(&l, "192.168.1.8"));
    assert_true(http_proxies_has(&l, "2001:db8:1::5"));
    assert_false(http_proxies_has(&l, "2001:db9::5"));
    /* A connection on a dual-stack socket shows IPv4 as IPv4-mapped IPv6. */
    assert_true(http_proxies_has(&l, "::ffff:10.1.2.3"));
    assert_true(http_proxies_has(&l, "172.16.9.9"));
    assert_false(http_proxies_has(&l, "172.32.0.1"));
    assert_false(http_proxies_has(&l, "not an address"));
    assert_int_equal(proxies("").n, 0);
}

static void
test_parse_refuses_by_name(void **state)
{
    (void)state;
    const char *bad[] = {"10.0.0.0/33", "10.0.0.1/", "10.0.0.1/x",        "proxy.example.com",
                         "::1/129",     "1.2.3",     "::ffff:10.0.0.0/95"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_proxies l;
        char err[256] = "";
        char spec[128];
        snprintf(spec, sizeof(spec), "127.0.0.1, %s", bad[i]);
        assert_int_equal(http_proxies_parse(spec, &l, err, sizeof(err)), -1);
        assert_non_null(strstr(err, bad[i]));
        assert_non_null(strstr(err, "trusted_proxies"));
    }
}

/* The client found for a request from peer with the X-Forwarded-For lines xff (NULL-ended). */
static const char *
client(const struct http_proxies *l, const char *peer, const char *const *xff)
{
    static char out[64];
    char lines[8][128], name[] = "x-forwarded-for";
    char *names[8], *values[8];
    struct http_headers h = {0, 8, names, values};
    for (; xff && *xff && h.n < 8; xff++) {
        snprintf(lines[h.n], sizeof(lines[h.n]), "%s", *xff);
        names[h.n] = name;
        values[h.n] = lines[h.n];
        h.n++;
    }
    http_client_addr(l, peer, &h, out, sizeof(out));
    return out;
}

static void
test_walk(void **state)
{
    (void)state;
    struct http_proxies l = proxies("10.0.0.0/8");
    /* Not from a proxy: the header is whatever the client wrote, and is not read. */
    assert_string_equal(client(&l, "203.0.113.9", (const char *[]){"1.1.1.1", NULL}),
                        "203.0.113.9");
    /* From a proxy: its hop names the client. */
    assert_string_equal(client(&l, "10.0.0.2", (const char *[]){"198.51.100.4", NULL}),
                        "198.51.100.4");
    /* A spoofed hop before the proxy's own stays unread. */
    assert_string_equal(client(&l, "10.0.0.2", (const char *[]){"6.6.6.6, 198.51.100.4", NULL}),
                        "198.51.100.4");
    /* Two proxies in a row: the walk passes the trusted one. */
    assert_string_equal(
        client(&l, "10.0.0.2", (const char *[]){"6.6.6.6, 198.51.100.4 ,10.9.9.9", NULL}),
        "198.51.100.4");
    /* Hops on separate lines: the last line is the nearest proxy's. */
    assert_string_equal(
        client(&l, "10.0.0.2", (const char *[]){"6.6.6.6", "10.1.1.1", "198.51.100.5", NULL}),
        "198.51.100.5");
    /* A hop that is no address ends the walk at the last address believed. */
    assert_string_equal(
        client(&l, "10.0.0.2", (const char *[]){"198.51.100.4, garbage, 10.3.3.3", NULL}),
        "10.3.3.3");
    /* No header: the proxy itself. */
    assert_string_equal(client(&l, "10.0.0.2", NULL), "10.0.0.2");
    /* No proxies configured: never read. */
    struct http_proxies none = proxies("");
    assert_string_equal(client(&none, "10.0.0.2", (const char *[]){"1.1.1.1", NULL}), "10.0.0.2");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_match),
        cmocka_unit_test(test_parse_refuses_by_name),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
