/* Unit tests for common/httpc's pure parts: Retry-After in both forms, Link headers, URL
 * joining, the budget's window and the [service.<name>] settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"

static void
test_retry_after(void **state)
{
    (void)state;
    /* Sun, 06 Nov 1994 08:49:37 GMT is 784111777. */
    int64_t now = INT64_C(784111777) * 1000;
    assert_int_equal(httpc_retry_after_ms("2", now), 2000);
    assert_int_equal(httpc_retry_after_ms(" 0", now), 0);
    assert_int_equal(httpc_retry_after_ms("Sun, 06 Nov 1994 08:49:39 GMT", now), 2000);
    assert_int_equal(httpc_retry_after_ms("Sunday, 06-Nov-94 08:49:40 GMT", now), 3000);
    assert_int_equal(httpc_retry_after_ms("Sun Nov  6 08:49:41 1994", now), 4000);
    /* A date in the past means now. */
    assert_int_equal(httpc_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", now), 0);
    assert_int_equal(httpc_retry_after_ms("soon", now), -1);
    assert_int_equal(httpc_retry_after_ms("-5", now), -1);
    assert_int_equal(httpc_retry_after_ms(NULL, now), -1);
    /* Years (a buggy proxy, a hostile server) wait a day at most, and are not taken for absent:
     * a fleet-wide pause of decades parked every job on the service. */
    assert_int_equal(httpc_retry_after_ms("2147483648", now), HTTPC_RETRY_AFTER_CAP_MS);
    assert_int_equal(httpc_retry_after_ms("99999999999999999999999", now),
                     HTTPC_RETRY_AFTER_CAP_MS);
    assert_int_equal(httpc_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", now),
                     HTTPC_RETRY_AFTER_CAP_MS);
    assert_int_equal(httpc_retry_after_ms("86400", now), HTTPC_RETRY_AFTER_CAP_MS);
}

static void
check_link(const char *header, const char *want)
{
    char *got = httpc_link_next(header);
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void
test_link_next(void **state)
{
    (void)state;
    check_link("<https://a.freshservice.com/api/v2/tickets?page=2&per_page=100>; rel=\"next\"",
               "https://a.freshservice.com/api/v2/tickets?page=2&per_page=100");
    check_link("<https://x/?page=1>; rel=\"prev\", <https://x/?page=3>; rel=\"next\"",
               "https://x/?page=3");
    check_link("<https://x/?page=3>; rel=\"next last\"", "https://x/?page=3");
    /* The rel text is unconfirmed for Freshservice: a lone entry is the next page. */
    check_link("<https://x/?page=2>", "https://x/?page=2");
    /* ...but not a lone entry that says it is another page: following "prev" looped 2 -> 1 ->
     * 2 for ever. */
    check_link("<https://x/?page=1>; rel=\"prev\"", NULL);
    check_link("<https://x/?page=1>; rel=\"first\"", NULL);
    check_link("<https://x/?page=1>; rel=\"prev\", <https://x/?page=9>; rel=\"last\"", NULL);
    check_link("", NULL);
    check_link(NULL, NULL);
}

static void
check_join(const char *base, const char *path, const char *want)
{
    char *got = httpc_url_join(base, path);
    assert_string_equal(got, want);
    free(got);
}

static void
test_url_join(void **state)
{
    (void)state;
    check_join("https://a.x/api/v2", "/tickets", "https://a.x/api/v2/tickets");
    check_join("https://a.x/api/v2/", "tickets?page=2", "https://a.x/api/v2/tickets?page=2");
    check_join("https://a.x/api/v2//", "//tickets", "https://a.x/api/v2/tickets");
    check_join("https://a.x", "", "https://a.x");
    check_join("https://a.x/api", "https://b.y/file?Signature=s", "https://b.y/file?Signature=s");
    check_join("", "http://c/d", "http://c/d");
}

static void
test_budget_window(void **state)
{
    (void)state;
    int k;
    int64_t w;
    /* 120/min: one start per 500 ms, so no 1 s window holds more than two. */
    httpc_budget_window(120, &k, &w);
    assert_int_equal(k, 1);
    assert_int_equal(w, 500);
    /* 500/min: the 25 ms guard per 120 ms would cost 17 %; five starts per 600 ms cost 4 %. */
    httpc_budget_window(500, &k, &w);
    assert_int_equal(k, 5);
    assert_int_equal(w, 600);
    httpc_budget_window(7, &k, &w);
    assert_int_equal(k, 1);
    assert_int_equal(w, 8572);
    httpc_budget_window(0, &k, &w);
    assert_int_equal(k, 0);
}

/* Loads a config from text, through a temporary file. */
static int
load(struct cfg *c, const char *text)
{
    char path[] = "/tmp/httpc_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[256];
    int rc = cfg_load(c, path, err, sizeof(err));
    unlink(path);
    return rc;
}

static void
test_conf(void **state)
{
    (void)state;
    struct cfg c;
    assert_int_equal(load(&c, "[redis]\nprefix = p\n"
                              "[service.freshservice]\nbase_url = https://a.x/api/v2\n"
                              "api_key = k\nrate_per_minute = 100\ntimeout_ms = 2000\n"
                              "[service.frappe]\nbase_url = http://f\nauth = token\n"
                              "api_key = k\napi_secret = s\n"
                              "[service.cloud]\nbase_url = http://c\ntoken = t\n"
                              "[service.bad]\nbase_url = http://b\nrate_per_minute = fast\n"
                              "[service.badauth]\nbase_url = http://b\nauth = bearer\n"),
                     0);
    struct httpc_conf conf;
    char err[256];
    assert_int_equal(httpc_conf_from_cfg(&c, "freshservice", &conf, err, sizeof(err)), 0);
    assert_int_equal(conf.auth, HTTPC_AUTH_BASIC);
    assert_int_equal(conf.rate_per_minute, 100);
    assert_int_equal(conf.timeout_ms, 2000);
    assert_string_equal(conf.name, "freshservice");
    assert_string_equal(conf.redis_prefix, "p");
    assert_int_equal(httpc_conf_from_cfg(&c, "frappe", &conf, err, sizeof(err)), 0);
    assert_int_equal(conf.auth, HTTPC_AUTH_TOKEN);
    assert_int_equal(httpc_conf_from_cfg(&c, "cloud", &conf, err, sizeof(err)), 0);
    assert_int_equal(conf.auth, HTTPC_AUTH_BEARER);
    assert_int_equal(httpc_conf_from_cfg(&c, "bad", &conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[service.bad] rate_per_minute"));
    assert_int_equal(httpc_conf_from_cfg(&c, "badauth", &conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs token"));
    assert_int_equal(httpc_conf_from_cfg(&c, "none", &conf, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "[service.none]"));
    cfg_release(&c);
    /* A key the service family does not know stops the load. */
    assert_int_equal(load(&c, "[service.x]\nbase_url = http://x\nretries = 3\n"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after), cmocka_unit_test(test_link_next),
        cmocka_unit_test(test_url_join),    cmocka_unit_test(test_budget_window),
        cmocka_unit_test(test_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
