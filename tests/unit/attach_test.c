/* Unit tests for the attachment copy's pure helpers: safe file names, the dedup name family,
 * the address check of downloads, URL splitting, host suffixes and what a 403 means. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "attach_fetch.h"
#include "attach_file.h"
#include "attach_set.h"
#include "netaddr.h"

static void
safe_is(const char *in, const char *want)
{
    char *got = attach_safe_name(in);
    if (strcmp(got, want) != 0)
        fail_msg("attach_safe_name(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    assert_true(attach_name_ok(got));
    free(got);
}

static void
test_safe_names(void **state)
{
    (void)state;
    safe_is("report.pdf", "report.pdf");
    safe_is("../../etc/passwd", "passwd");
    safe_is("/abs", "abs");
    safe_is("a/b", "b");
    safe_is("a\\b", "b");
    safe_is("..", "__");
    safe_is(".", "_");
    safe_is(".hidden", "_hidden");
    safe_is("dir/", "file");
    safe_is("", "file");
    safe_is("x\x01y\x7f.txt", "x_y_.txt");
    safe_is("caf\xc3\xa9.txt", "caf\xc3\xa9.txt"); /* UTF-8 kept */
    safe_is("bad\xff\xfe.txt", "bad__.txt");       /* not UTF-8 */
    char longname[301];
    memset(longname, 'n', 296);
    memcpy(longname + 296, ".txt", 5);
    char *got = attach_safe_name(longname);
    assert_true(strlen(got) <= ATTACH_NAME_MAX);
    assert_string_equal(got + strlen(got) - 4, ".txt");
    free(got);
    /* A multi-byte character is never cut in half. */
    char wide[201];
    for (int i = 0; i < 100; i++)
        memcpy(wide + 2 * i, "\xc3\xa9", 2);
    wide[200] = '\0';
    got = attach_safe_name(wide);
    assert_true(strlen(got) <= ATTACH_NAME_MAX && strlen(got) % 2 == 0);
    free(got);
    assert_false(attach_name_ok("a/b"));
    assert_false(attach_name_ok(".x"));
    assert_false(attach_name_ok(""));
}

static void
test_name_family(void **state)
{
    (void)state;
    assert_true(attach_name_in_family("a.txt", "a.txt"));
    assert_true(attach_name_in_family("a (2).txt", "a.txt"));
    assert_true(attach_name_in_family("a (17).txt", "a.txt"));
    assert_false(attach_name_in_family("a (1).txt", "a.txt"));
    assert_false(attach_name_in_family("a (02).txt", "a.txt"));
    assert_false(attach_name_in_family("a ().txt", "a.txt"));
    assert_false(attach_name_in_family("a (2).pdf", "a.txt"));
    assert_false(attach_name_in_family("ab.txt", "a.txt"));
    assert_true(attach_name_in_family("README (3)", "README"));
    struct attach_set s;
    attach_set_init(&s);
    char *n = attach_set_free_name(&s, "a.txt");
    assert_string_equal(n, "a.txt");
    free(n);
    attach_set_add(&s, "a.txt", 5, NULL, "r1");
    attach_set_add(&s, "a (2).txt", 6, NULL, "r2");
    n = attach_set_free_name(&s, "a.txt");
    assert_string_equal(n, "a (3).txt");
    free(n);
    assert_true(attach_set_maybe_has(&s, "a.txt", 6));
    assert_false(attach_set_maybe_has(&s, "a.txt", 7));
    assert_true(attach_set_maybe_has(&s, "a.txt", -1));
    assert_false(attach_set_maybe_has(&s, "b.txt", 5));
    attach_set_release(&s);
}

static void
blocked(const char *addr, int want)
{
    const char *why = netaddr_blocked(addr);
    if ((why != NULL) != want)
        fail_msg("netaddr_blocked(%s) = %s, want %s", addr, why ? why : "NULL",
                 want ? "blocked" : "allowed");
}

static void
test_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"127.0.0.1",
                         "10.0.0.1",
                         "172.16.5.4",
                         "192.168.1.1",
                         "169.254.169.254",
                         "100.64.0.1",
                         "100.100.100.200",
                         "0.0.0.0",
                         "224.0.0.1",
                         "255.255.255.255",
                         "::1",
                         "::",
                         "fe80::1",
                         "fc00::1",
                         "fd00:ec2::254",
                         "::ffff:127.0.0.1",
                         "::ffff:10.1.2.3",
                         "64:ff9b::a9fe:a9fe",
                         "2002:7f00:1::1",
                         "ff02::1",
                         "2001:db8::1",
                         "not-an-ip"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        blocked(bad[i], 1);
    const char *good[] = {"93.184.216.34",   "8.8.8.8",        "172.32.0.1",       "100.128.0.1",
                          "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        blocked(good[i], 0);
}

static void
split_ok(const char *url, const char *host, int port)
{
    char h[256], err[256];
    int p;
    if (attach_url_split(url, h, sizeof(h), &p, err, sizeof(err)) < 0)
        fail_msg("%s: %s", url, err);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
}

static void
test_url_split(void **state)
{
    (void)state;
    split_ok("https://A.Attachments.Freshservice.com/data/x?Expires=1",
             "a.attachments.freshservice.com", 443);
    split_ok("https://h.example:8443/x", "h.example", 8443);
    split_ok("https://[2606:4700::1]:444/x", "2606:4700::1", 444);
    split_ok("https://h.example", "h.example", 443);
    const char *bad[] = {"http://h.example/x",       "ftp://h/x",
                         "https://user@h.example/x", "https://h.example\\@evil/x",
                         "https://h%2eexample/x",    "https:///x",
                         "https://h.example:0/x",    "https://h.example:99999/x",
                         "https://h.example./x",     "https://h.example:/x",
                         "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char h[256], err[256];
        int p;
        if (attach_url_split(bad[i], h, sizeof(h), &p, err, sizeof(err)) == 0)
            fail_msg("%s was accepted (host %s)", bad[i], h);
    }
}

static void
test_hosts(void **state)
{
    (void)state;
    const char *list = ".attachments.freshservice.com, exact.example";
    assert_true(attach_host_allowed("acme.attachments.freshservice.com", list));
    assert_true(attach_host_allowed("attachments.freshservice.com", list));
    assert_true(attach_host_allowed("exact.example", list));
    assert_true(attach_host_allowed("sub.exact.example", list));
    assert_false(attach_host_allowed("evilattachments.freshservice.com", list));
    assert_false(attach_host_allowed("attachments.freshservice.com.evil.com", list));
    assert_false(attach_host_allowed("example", list));
    assert_false(attach_host_allowed("127.0.0.1", "127.0.0.1"));
    assert_false(attach_host_allowed("a.example", ""));
}

static void
test_expiry(void **state)
{
    (void)state;
    const char *s3 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                     "<Message>Request has expired</Message></Error>";
    const char *expired_code = "<Error><Code>ExpiredRequest</Code><Message>x</Message></Error>";
    const char *sig = "<Error><Code>SignatureDoesNotMatch</Code><Message>Request has expired"
                      "</Message></Error>";
    const char *denied = "<Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>";
    assert_true(attach_expired_403(s3, strlen(s3)));
    assert_true(attach_expired_403(expired_code, strlen(expired_code)));
    /* A cause no fresh URL mends is final, whatever its message says. */
    assert_false(attach_expired_403(sig, strlen(sig)));
    /* CloudFront's expiry text is not known, and its clock may be ahead of ours: a plain
     * denial, or a 403 without XML, may be expiry (one re-fetch tells). */
    assert_true(attach_expired_403(denied, strlen(denied)));
    assert_true(attach_expired_403("", 0));
    assert_true(attach_expired_403("<html>Forbidden</html>", 22));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_names), cmocka_unit_test(test_name_family),
        cmocka_unit_test(test_addresses),  cmocka_unit_test(test_url_split),
        cmocka_unit_test(test_hosts),      cmocka_unit_test(test_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
