/* Unit tests for producer/http_prefix_limit.c: IPv6 clients count against
 * max_connections_per_ip by their prefix, IPv4 ones (also inside IPv6) and local ones by their
 * address, each refusal is counted by its kind, and a group's count comes down as its
 * connections close. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_prefix_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* An address as libmicrohttpd hands it over: a sockaddr_in6, or a sockaddr_in for text
 * without a colon. */
struct addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

static struct addr
addr(const char *text)
{
    struct addr a;
    memset(&a, 0, sizeof(a));
    int ok;
    if (strchr(text, ':')) {
        a.u.in6.sin6_family = AF_INET6;
        a.u.in6.sin6_port = htons(40000);
        ok = inet_pton(AF_INET6, text, &a.u.in6.sin6_addr);
        a.len = sizeof(a.u.in6);
    } else {
        a.u.in.sin_family = AF_INET;
        ok = inet_pton(AF_INET, text, &a.u.in.sin_addr);
        a.len = sizeof(a.u.in);
    }
    if (ok != 1)
        fail_msg("not an address: %s", text);
    return a;
}

static bool
allows(struct http_prefix_limit *l, const char *text)
{
    struct addr a = addr(text);
    return http_prefix_limit_allows(l, &a.u.sa, a.len);
}

static void
opened(struct http_prefix_limit *l, const char *text)
{
    struct addr a = addr(text);
    http_prefix_limit_opened(l, &a.u.sa, a.len);
}

static void
closed(struct http_prefix_limit *l, const char *text)
{
    struct addr a = addr(text);
    http_prefix_limit_closed(l, &a.u.sa, a.len);
}

static int
count(struct http_prefix_limit *l, const char *text)
{
    struct addr a = addr(text);
    return http_prefix_limit_count(l, &a.u.sa, a.len);
}

static void
test_one_prefix_one_count(void **state)
{
    (void)state;
    struct http_prefix_limit *l = http_prefix_limit_new(2, 64, 16);
    opened(l, "2001:db8:1:2::1");
    opened(l, "2001:db8:1:2:ffff:ffff:ffff:ffff");
    assert_int_equal(count(l, "2001:db8:1:2::99"), 2);
    /* A third address of the /64, and one of the two open ones, are refused alike. */
    assert_false(allows(l, "2001:db8:1:2:abcd::7"));
    assert_false(allows(l, "2001:db8:1:2::1"));
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_PREFIX), 2);
    /* The neighbouring /64s are groups of their own. */
    assert_int_equal(count(l, "2001:db8:1:3::1"), 0);
    assert_true(allows(l, "2001:db8:1:3::1"));
    assert_true(allows(l, "2001:db8:1:1:ffff:ffff:ffff:ffff"));
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_PREFIX), 2);
    http_prefix_limit_free(l);
}

static void
test_close_makes_room(void **state)
{
    (void)state;
    struct http_prefix_limit *l = http_prefix_limit_new(2, 64, 16);
    opened(l, "2001:db8:1:2::1");
    opened(l, "2001:db8:1:2::2");
    assert_false(allows(l, "2001:db8:1:2::3"));
    closed(l, "2001:db8:1:2::1");
    assert_int_equal(count(l, "2001:db8:1:2::3"), 1);
    assert_true(allows(l, "2001:db8:1:2::3"));
    opened(l, "2001:db8:1:2::3");
    assert_false(allows(l, "2001:db8:1:2::4"));
    closed(l, "2001:db8:1:2::2");
    closed(l, "2001:db8:1:2::3");
    assert_int_equal(count(l, "2001:db8:1:2::3"), 0);
    assert_true(allows(l, "2001:db8:1:2::4"));
    http_prefix_limit_free(l);
}

/* Opens a connection from each of the n addresses, which share /64s, into a table of one
 * connection a group, and checks that each address is a group of its own: it holds one (so a
 * second from it is refused, as a per-address refusal), not the two of its /64. Then closes
 * them: each has room again. */
static void
expect_per_address(struct http_prefix_limit *l, const char *const *addrs, size_t n)
{
    long before = http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS);
    for (size_t i = 0; i < n; i++)
        opened(l, addrs[i]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(count(l, addrs[i]), 1);
        assert_false(allows(l, addrs[i]));
    }
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS), before + (long)n);
    for (size_t i = 0; i < n; i++)
        closed(l, addrs[i]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(count(l, addrs[i]), 0);
        assert_true(allows(l, addrs[i]));
    }
}

/* Local addresses (unique local fc00::/7, link-local fe80::/10) are the operator's own
 * networks, where one /64 holds many unrelated clients (a LAN, a cluster's pods): one address
 * each, as before. */
static void
test_local_per_address(void **state)
{
    (void)state;
    struct http_prefix_limit *l = http_prefix_limit_new(1, 64, 16);
    static const char *const local[] = {"fd00:1:2:3::1", "fd00:1:2:3::2", "fc00::1",
                                        "fc00::2",       "fe80::1",       "fe80::2"};
    expect_per_address(l, local, sizeof(local) / sizeof(local[0]));
    /* The first global prefix past them is counted. */
    opened(l, "fec0::1");
    assert_false(allows(l, "fec0::2"));
    closed(l, "fec0::1");
    http_prefix_limit_free(l);
}

/* IPv4 clients, also on a dual-stack socket or through a NAT64, are one address each: their
 * /64 would be every IPv4 client's. An IPv4 client is the same one whether it comes as IPv4 or
 * inside IPv6. */
static void
test_ipv4_per_address(void **state)
{
    (void)state;
    struct http_prefix_limit *l = http_prefix_limit_new(1, 64, 16);
    static const char *const v4[] = {"::ffff:192.0.2.1", "::ffff:192.0.2.2", "64:ff9b::192.0.2.1",
                                     "64:ff9b::192.0.2.2"};
    expect_per_address(l, v4, sizeof(v4) / sizeof(v4[0]));
    opened(l, "192.0.2.1");
    assert_int_equal(count(l, "::ffff:192.0.2.1"), 1);
    assert_false(allows(l, "::ffff:192.0.2.1"));
    assert_false(allows(l, "192.0.2.1"));
    assert_true(allows(l, "192.0.2.2"));
    closed(l, "::ffff:192.0.2.1");
    assert_true(allows(l, "192.0.2.1"));
    /* Next to them, an IPv6 /64 is still counted by its prefix. */
    opened(l, "2001:db8::1");
    assert_false(allows(l, "2001:db8::2"));
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_PREFIX), 1);
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS), 6);
    closed(l, "2001:db8::1");
    http_prefix_limit_free(l);
}

static void
test_prefix_len(void **state)
{
    (void)state;
    /* 60 bits: the cut falls inside a byte, after the fourth group's third hex digit. */
    struct http_prefix_limit *l = http_prefix_limit_new(1, 60, 16);
    opened(l, "2001:db8:1:2::1");
    assert_false(allows(l, "2001:db8:1:f:1::1"));
    assert_true(allows(l, "2001:db8:1:10::1"));
    http_prefix_limit_free(l);
    /* 128: each address alone; 0 connections: no limit. */
    l = http_prefix_limit_new(1, 128, 16);
    opened(l, "2001:db8::1");
    assert_int_equal(count(l, "2001:db8::1"), 1);
    assert_false(allows(l, "2001:db8::1"));
    assert_true(allows(l, "2001:db8::2"));
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS), 1);
    closed(l, "2001:db8::1");
    http_prefix_limit_free(l);
    l = http_prefix_limit_new(0, 64, 16);
    opened(l, "2001:db8::1");
    assert_true(allows(l, "2001:db8::2"));
    http_prefix_limit_free(l);
}

/* More groups than the table was sized for: each still has its own count, and each leaves
 * the table when its last connection closes (LeakSanitizer would see one left behind). */
static void
test_many_groups(void **state)
{
    (void)state;
    struct http_prefix_limit *l = http_prefix_limit_new(1, 64, 16);
    char text[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i / 7, i);
        assert_true(allows(l, text));
        opened(l, text);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "2001:db8:%x:%x::2", i / 7, i);
        assert_int_equal(count(l, text), 1);
        assert_false(allows(l, text));
        snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i / 7, i);
        closed(l, text);
        assert_int_equal(count(l, text), 0);
    }
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_PREFIX), 1000);
    assert_int_equal(http_prefix_limit_refused(l, HTTP_REFUSED_ADDRESS), 0);
    http_prefix_limit_free(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_prefix_one_count), cmocka_unit_test(test_close_makes_room),
        cmocka_unit_test(test_ipv4_per_address),     cmocka_unit_test(test_local_per_address),
        cmocka_unit_test(test_prefix_len),           cmocka_unit_test(test_many_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
