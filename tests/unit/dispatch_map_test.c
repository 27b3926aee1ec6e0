/* Unit tests for the dispatch bridge's mapping (jobs/dispatch_map.c) and Frappe error classes
 * (jobs/frappe.c): city folding, due_time forms, priorities, local dates across DST, the
 * [dispatch] lists, and which errors mean "the Dispatch Job exists already". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cfg.h"
#include "dispatch_map.h"
#include "frappe.h"
#include "tzone.h"

static void
fold_is(const char *in, const char *want)
{
    char out[64];
    dispatch_fold_city(in, out, sizeof(out));
    assert_string_equal(out, want);
}

static void
test_fold_city(void **state)
{
    (void)state;
    fold_is("Montréal", "montreal");
    fold_is("  MONTRÉAL ", "montreal");
    fold_is("Trois-Rivières", "trois rivieres");
    fold_is("Saint  Jérôme", "saint jerome");
    fold_is("Québec", "quebec");
    fold_is("ÀÉÎÕÜÇ", "aeiouc");
    fold_is("", "");
    fold_is(NULL, "");
    char small[4];
    dispatch_fold_city("Montréal", small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
}

static void
test_start_time(void **state)
{
    (void)state;
    assert_string_equal(dispatch_start_time("09:30"), "09:30");
    assert_string_equal(dispatch_start_time("am"), "08:00");
    assert_string_equal(dispatch_start_time("PM"), "13:00");
    assert_null(dispatch_start_time("day"));
    assert_null(dispatch_start_time(""));
    assert_null(dispatch_start_time(NULL));
    assert_null(dispatch_start_time("25:00"));
    assert_null(dispatch_start_time("9:30"));
    assert_null(dispatch_start_time("12:60"));
}

static void
test_priority(void **state)
{
    (void)state;
    assert_string_equal(dispatch_priority(0), "low");
    assert_string_equal(dispatch_priority(1), "low");
    assert_string_equal(dispatch_priority(2), "medium");
    assert_string_equal(dispatch_priority(3), "high");
    assert_string_equal(dispatch_priority(9), "high");
}

static void
date_is(const struct tzone *z, int64_t t, const char *want)
{
    char out[16];
    dispatch_date(z, t, out, sizeof(out));
    assert_string_equal(out, want);
}

static void
test_dates(void **state)
{
    (void)state;
    const struct tzone *z = tzone_get("America/Toronto", NULL, 0);
    assert_non_null(z);
    date_is(z, 1772857800, "2026-03-06"); /* 03-07 04:30Z = 23:30 EST */
    date_is(z, 1773117000, "2026-03-10"); /* 03-10 04:30Z = 00:30 EDT */
    date_is(z, 1793593800, "2026-11-01"); /* 11-02 04:30Z = 23:30 EST */
}

static struct cfg
conf_with(char *skip, char *types, char *durations, char *dflt)
{
    static char tz[] = "America/Toronto", other[] = "Autre";
    struct cfg c;
    memset(&c, 0, sizeof(c));
    c.dispatch = (struct cfg_dispatch){.legacy_staff_id = 3301,
                                       .timezone = tz,
                                       .skip_dept_ids = skip,
                                       .job_types = types,
                                       .default_job_type = other,
                                       .durations = durations,
                                       .default_duration_h = dflt};
    return c;
}

static void
test_conf(void **state)
{
    (void)state;
    char skip[] = "12,14", types[] = "1:Installation,2:Réparation", dur[] = "Installation:2",
         one[] = "1";
    struct cfg c = conf_with(skip, types, dur, one);
    struct dispatch_conf dc;
    char err[256];
    assert_int_equal(dispatch_conf_load(&c, &dc, err, sizeof(err)), 0);
    assert_true(dispatch_conf_skips(&dc, 14));
    assert_false(dispatch_conf_skips(&dc, 1));
    assert_string_equal(dispatch_job_type(&dc, 2), "Réparation");
    assert_string_equal(dispatch_job_type(&dc, 7), "Autre");
    assert_true(dispatch_duration(&dc, "Installation") == 2.0);
    assert_true(dispatch_duration(&dc, "Autre") == 1.0);
    char bad_skip[] = "12,x";
    c = conf_with(bad_skip, types, dur, one);
    assert_int_equal(dispatch_conf_load(&c, &dc, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "skip_dept_ids"));
    char bad_types[] = "1Installation";
    c = conf_with(skip, bad_types, dur, one);
    assert_int_equal(dispatch_conf_load(&c, &dc, err, sizeof(err)), -1);
    char bad_dur[] = "Installation:two";
    c = conf_with(skip, types, bad_dur, one);
    assert_int_equal(dispatch_conf_load(&c, &dc, err, sizeof(err)), -1);
}

static void
test_classify(void **state)
{
    (void)state;
    assert_int_equal(frappe_classify(409, false, "{}"), FRAPPE_DUPLICATE);
    assert_int_equal(frappe_classify(417, false, "{\"exc_type\":\"UniqueValidationError\"}"),
                     FRAPPE_DUPLICATE);
    assert_int_equal(frappe_classify(417, false, "{\"exc_type\":\"MandatoryError\"}"),
                     FRAPPE_OTHER);
    assert_int_equal(frappe_classify(403, false, NULL), FRAPPE_AUTH);
    assert_int_equal(frappe_classify(503, true, NULL), FRAPPE_TRANSIENT);
    assert_int_equal(frappe_classify(404, false, NULL), FRAPPE_OTHER);
    /* The write carried a "modified" the document no longer has. */
    assert_int_equal(frappe_classify(417, false, "{\"exc_type\": \"TimestampMismatchError\"}"),
                     FRAPPE_CHANGED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_city), cmocka_unit_test(test_start_time),
        cmocka_unit_test(test_priority),  cmocka_unit_test(test_dates),
        cmocka_unit_test(test_conf),      cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
