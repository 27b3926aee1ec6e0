/* Unit tests for producer/dash_auth.c's failed-login table: a flood of failures from other
 * addresses and names, enough to fill the table many times over, neither frees a locked user
 * name before its lockout ends nor wipes the failures a user name has gathered. A name that
 * does not exist costs the check a user's name costs. And one user's own logins cannot take
 * another user's way in from their known address. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cfg.h"
#include "dash_int.h"
#include "log.h"
#include "util.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD (DASH_FAILS * 2)

/* A bcrypt hash of pass at cost: 4 costs about a millisecond a check, so the test can fail
 * thousands of logins. */
static void
bcrypt_hash(const char *pass, int cost, char *out, size_t len)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    assert_non_null(
        crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, salt, (int)sizeof(salt)));
    const char *h = crypt_r(pass, salt, &cd);
    assert_true(h && h[0] == '$');
    snprintf(out, len, "%s", h);
}

static void
cheap_hash(const char *pass, char *out, size_t len)
{
    bcrypt_hash(pass, 4, out, len);
}

struct fixture {
    struct cfg cfg;
    char users[512];
    struct dash_auth auth;
};

static int
setup(void **state)
{
    log_init("dash_auth_test", LOG_LEVEL_ERROR);
    struct fixture *f = xcalloc(1, sizeof(*f));
    char hash[160], view[160];
    cheap_hash("right", hash, sizeof(hash));
    cheap_hash("look", view, sizeof(view));
    snprintf(f->users, sizeof(f->users), "ops:admin:%s,viewer:read:%s", hash, view);
    f->cfg.dashboard.users = f->users;
    f->cfg.dashboard.session_ttl_s = 3600;
    f->cfg.dashboard.login_max_failures = 5;
    f->cfg.dashboard.login_lockout_s = 300;
    char err[256] = "";
    if (dash_auth_init(&f->auth, &f->cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    /* Unknown users are checked against this hash: a cheap one keeps the flood fast. */
    cheap_hash("not a password", f->auth.dummy_hash, sizeof(f->auth.dummy_hash));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    dash_auth_release(&f->auth);
    free(f);
    return 0;
}

/* One login, with the producer's budget of checks refilled first: the budget is not what
 * these tests are about. */
static enum dash_login
login(struct fixture *f, const char *ip, const char *user, const char *pass)
{
    f->auth.checks.tokens = DASH_CHECKS_BURST;
    f->auth.checks.refill_ms = now_mono_ms();
    struct dash_session s;
    int64_t retry_s = 0;
    return dash_auth_login(&f->auth, ip, user, pass, &s, &retry_s);
}

/* One login while the producer's shared budget is spent (a flood elsewhere): only a known
 * address's own budget can check it. */
static enum dash_login
login_in_flood(struct fixture *f, const char *ip, const char *user, const char *pass)
{
    f->auth.checks.tokens = 0;
    f->auth.checks.refill_ms = now_mono_ms();
    struct dash_session s;
    int64_t retry_s = 0;
    return dash_auth_login(&f->auth, ip, user, pass, &s, &retry_s);
}

/* Failures of n names never seen, each from an address never seen. */
static void
flood(struct fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char ip[32], user[32];
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
        snprintf(user, sizeof(user), "guess%d", i);
        assert_int_equal(login(f, ip, user, "wrong"), DASH_LOGIN_BAD);
    }
}

static void
test_flood_keeps_a_locked_user_locked(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(login(f, "203.0.113.1", "ops", "wrong"), DASH_LOGIN_BAD);
    assert_int_equal(login(f, "198.51.100.7", "ops", "right"), DASH_LOGIN_LOCKED);
    flood(f, FLOOD);
    /* The lockout of "ops" has not ended: the right password from a new address is still
     * refused, so guessing it goes on at 5 tries per lockout, not per flood. */
    assert_int_equal(login(f, "198.51.100.8", "ops", "right"), DASH_LOGIN_LOCKED);
}

static void
test_flood_keeps_the_failures_of_a_user(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(login(f, "203.0.113.1", "ops", "wrong"), DASH_LOGIN_BAD);
    flood(f, FLOOD);
    /* The flood did not wipe the four failures: the fifth locks the name. */
    assert_int_equal(login(f, "203.0.113.2", "ops", "wrong"), DASH_LOGIN_BAD);
    assert_int_equal(login(f, "198.51.100.7", "ops", "right"), DASH_LOGIN_LOCKED);
}

/* A read-only user logging in from DASH_KNOWN addresses (free within one IPv6 /64) pushed the
 * admin's address out of the known pairs; five failures with the admin's name from anywhere
 * then locked the admin out of their own address. */
static void
test_read_user_cannot_evict_the_admins_address(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(login(f, "192.0.2.1", "ops", "right"), DASH_LOGIN_OK);
    for (int i = 0; i < DASH_KNOWN; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "2001:db8::%x", i + 1);
        assert_int_equal(login(f, ip, "viewer", "look"), DASH_LOGIN_OK);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(login(f, "203.0.113.1", "ops", "wrong"), DASH_LOGIN_BAD);
    if (login(f, "192.0.2.1", "ops", "right") != DASH_LOGIN_OK)
        fail_msg("after %d logins of the read user the admin is locked out of their own "
                 "address",
                 DASH_KNOWN);
}

/* A read-only user's right logins, over and over from its own known address, spent the one
 * budget every known address shared: during a flood the admin's login from their usual address
 * was refused unchecked. */
static void
test_read_user_cannot_spend_the_admins_budget(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(login(f, "192.0.2.1", "ops", "right"), DASH_LOGIN_OK);
    assert_int_equal(login(f, "192.0.2.9", "viewer", "look"), DASH_LOGIN_OK);
    int checked = 0;
    for (int i = 0; i < 10; i++)
        checked += login_in_flood(f, "192.0.2.9", "viewer", "look") == DASH_LOGIN_OK;
    assert_true(checked >= 1 && checked < 10); /* its own budget, not unlimited */
    if (login_in_flood(f, "192.0.2.1", "ops", "right") != DASH_LOGIN_OK)
        fail_msg("after %d logins of the read user the admin's login from their usual address "
                 "was refused unchecked",
                 checked);
}

static void
test_flood_names_are_limited_too(void **state)
{
    struct fixture *f = *state;
    flood(f, FLOOD);
    /* The table still counts the failures of a name first seen after the flood. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(login(f, "203.0.113.1", "late", "wrong"), DASH_LOGIN_BAD);
    assert_int_equal(login(f, "198.51.100.7", "late", "wrong"), DASH_LOGIN_LOCKED);
}

/* The shortest of three failed logins of user, in ms. */
static int64_t
login_ms(struct fixture *f, const char *user)
{
    int64_t best = INT64_MAX;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = now_mono_ms();
        assert_int_equal(login(f, "203.0.113.9", user, "wrong"), DASH_LOGIN_BAD);
        int64_t d = now_mono_ms() - t0;
        best = d < best ? d : best;
    }
    return best;
}

/* A user whose hash is dearer than the default one (bcrypt at cost 11, some 100 ms a check):
 * a name that does not exist must cost as much, or one request per name tells which exist. */
static void
test_unknown_name_costs_a_users_check(void **state)
{
    (void)state;
    struct fixture *f = xcalloc(1, sizeof(*f));
    char hash[160], err[256] = "";
    bcrypt_hash("right", 11, hash, sizeof(hash));
    snprintf(f->users, sizeof(f->users), "carol:read:%s", hash);
    f->cfg.dashboard.users = f->users;
    f->cfg.dashboard.session_ttl_s = 3600;
    f->cfg.dashboard.login_max_failures = 100;
    f->cfg.dashboard.login_lockout_s = 300;
    if (dash_auth_init(&f->auth, &f->cfg, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    int64_t known = login_ms(f, "carol"), unknown = login_ms(f, "nosuchuser");
    if (unknown * 2 < known || unknown > known * 2)
        fail_msg("a wrong password takes %lld ms for carol, %lld ms for a name that does not "
                 "exist",
                 (long long)known, (long long)unknown);
    dash_auth_release(&f->auth);
    free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flood_keeps_a_locked_user_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_keeps_the_failures_of_a_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flood_names_are_limited_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_user_cannot_evict_the_admins_address, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_user_cannot_spend_the_admins_budget, setup,
                                        teardown),
        cmocka_unit_test(test_unknown_name_costs_a_users_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
