/* Unit tests for the producer's webhook routing (producer/webhook_route.c, compiled in here
 * since the producer is a program, not a library): the path to action mapping, the rejected
 * path classes, longest-prefix source matching, and the checks of [webhook.<source>]
 * sections. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../producer/webhook_route.c"

static void
test_mapping(void **state)
{
    (void)state;
    static const struct {
        const char *rest, *action;
        int nseg;
    } ok[] = {
        {"clickup/task-update", "Clickup/TaskUpdate/Webhook", 2},
        {"system/echo", "System/Echo/Webhook", 2},
        {"freshservice/ticket", "Freshservice/Ticket/Webhook", 2},
        {"a", "A/Webhook", 1},
        {"a/b/c/d/e/f", "A/B/C/D/E/F/Webhook", 6},
        {"v2/x-y-z", "V2/XYZ/Webhook", 2},
        {"9lives/a1-b2", "9lives/A1B2/Webhook", 2},
    };
    char action[192], err[256];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int n = webhook_route_action(ok[i].rest, action, sizeof(action), err, sizeof(err));
        assert_int_equal(n, ok[i].nseg);
        assert_string_equal(action, ok[i].action);
    }
    static const char *bad[] = {"",   "A",  "a/B",  "a_b",           "a.b", "a//b",  "a/", "/a",
                                "-a", "a-", "a--b", "a/b/c/d/e/f/g", "a b", "a%2fb", "ä",  "a/b?x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(webhook_route_action(bad[i], action, sizeof(action), err, sizeof(err)),
                         -1);
    /* A segment of 64 characters is fine; 65 is not. */
    char seg[80];
    memset(seg, 'a', 65);
    seg[65] = '\0';
    assert_int_equal(webhook_route_action(seg, action, sizeof(action), err, sizeof(err)), -1);
    seg[64] = '\0';
    assert_int_equal(webhook_route_action(seg, action, sizeof(action), err, sizeof(err)), 1);
    /* An action that would not fit the column is refused, not cut. */
    assert_int_equal(webhook_route_action(seg, action, 20, err, sizeof(err)), -1);
}

static void
load(const char *ini, struct cfg *c, struct webhook_source **s, int *n, int want_rc, char *err)
{
    char path[] = "/tmp/webhook_route_test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    assert_int_equal(cfg_load(c, path, err, 512), 0);
    unlink(path);
    assert_int_equal(webhook_sources_load(c, s, n, err, 512), want_rc);
}

static void
test_sources(void **state)
{
    (void)state;
    struct cfg c;
    struct webhook_source *s = NULL;
    int n = 0;
    char err[512];
    load("[webhook.desk]\nauth = none\n\n"
         "[webhook.tickets]\npath_prefix = desk/tickets\nauth = token\ntoken = "
         "x-0123456789abcdef\n\n"
         "[webhook.gh]\nauth = hmac-sha256\nsecret = s-0123456789abcdef\nsignature_header = "
         "X-Hub-Signature-256\n"
         "timestamp_header = X-TS\ntolerance_s = 30\nidempotency_field = /a/b, /c\n",
         &c, &s, &n, 0, err);
    assert_int_equal(n, 3);
    assert_string_equal(webhook_route_source(s, n, "desk/tickets/x")->name, "tickets");
    assert_string_equal(webhook_route_source(s, n, "desk/tickets")->name, "tickets");
    assert_string_equal(webhook_route_source(s, n, "desk/other")->name, "desk");
    assert_null(webhook_route_source(s, n, "desktop/x"));
    assert_null(webhook_route_source(s, n, "nothing"));
    const struct webhook_source *gh = webhook_route_source(s, n, "gh/push");
    assert_string_equal(gh->signature_header, "x-hub-signature-256");
    assert_string_equal(gh->timestamp_header, "x-ts");
    assert_int_equal(gh->tolerance_s, 30);
    assert_int_equal(gh->n_idem, 2);
    assert_string_equal(gh->idem_fields[1], "/c");
    assert_string_equal(webhook_route_source(s, n, "desk/tickets")->token_header,
                        "x-webhook-token");
    webhook_sources_free(s, n);
    cfg_release(&c);
}

static void
test_source_errors(void **state)
{
    (void)state;
    static const struct {
        const char *ini, *msg;
    } bad[] = {
        {"[webhook.a]\npath_prefix = a\n", "[webhook.a] auth: required"},
        {"[webhook.a]\nauth = hmac\n", "expected hmac-sha256, token, basic or none"},
        {"[webhook.a]\nauth = hmac-sha256\n", "[webhook.a] secret: required"},
        {"[webhook.a]\nauth = token\n", "[webhook.a] token: required"},
        {"[webhook.a]\nauth = basic\nusername = u\n", "[webhook.a] password: required"},
        {"[webhook.a]\nauth = none\npath_prefix = A\n", "[webhook.a] path_prefix"},
        {"[webhook.a]\nauth = none\nidempotency_field = id\n", "not a JSON pointer"},
        {"[webhook.a]\nauth = hmac-sha256\nsecret = s-0123456789abcdef\ntolerance_s = 0\n",
         "tolerance_s"},
        {"[webhook.a]\nauth = hmac-sha256\nsecret = short\n",
         "[webhook.a] secret: at least 16 characters required, got 5"},
        {"[webhook.a]\nauth = token\ntoken = short\n", "[webhook.a] token: at least 16"},
        {"[webhook.a]\nauth = basic\nusername = u\npassword = pw\n",
         "[webhook.a] password: at least 16"},
        {"[webhook.a]\nauth = none\n\n[webhook.b]\nauth = none\npath_prefix = a\n",
         "is already [webhook.a]'s"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cfg c;
        struct webhook_source *s = NULL;
        int n = 0;
        char err[512] = "";
        load(bad[i].ini, &c, &s, &n, -1, err);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
        cfg_release(&c);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_source_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
