/* Unit tests for job_unique_key (common/job.c): the key an action's unique_by makes from a
 * job's parameters, on a table of parameters (strings, numbers, several names in unique_by's
 * order, values escaped, the exact length limit) and the refusals (missing or mistyped values, text
 * that is not JSON, a key one character too long, a value far longer than the key). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

struct made {
    const char *unique_by;
    const char *params;
    const char *want; /* NULL: refused */
};

static void
check(const struct made *m)
{
    char key[JOB_UNIQUE_KEY_SIZE], err[256] = "";
    const char *field = NULL;
    const char *got =
        job_unique_key("Tickets/Sync", m->unique_by, m->params, key, &field, err, sizeof(err));
    if (m->want == NULL) {
        if (got != NULL)
            fail_msg("%s by %s: want a refusal, got \"%s\"", m->params, m->unique_by, got);
        assert_non_null(field);
        assert_string_equal(field, "parameters");
        assert_true(err[0] != '\0');
        return;
    }
    if (got == NULL)
        fail_msg("%s by %s: want \"%s\", refused: %s", m->params, m->unique_by, m->want, err);
    assert_ptr_equal(got, key);
    assert_string_equal(got, m->want);
}

static void
test_table(void **state)
{
    (void)state;
    static const struct made table[] = {
        {"id", "{\"id\":\"T-1\"}", "Tickets/Sync:T-1"},
        {"id", "{\"id\":42}", "Tickets/Sync:42"},
        {"id", "{\"id\":-7}", "Tickets/Sync:-7"},
        {"id", "{\"id\":1.5}", "Tickets/Sync:1.5"},
        {"id", "{\"id\":\"\"}", "Tickets/Sync:"},
        {"id", "{\"id\":\"ü ß\"}", "Tickets/Sync:ü ß"},
        /* unique_by's order, whatever the parameters' order; other parameters ignored. */
        {"client,id", "{\"id\":9,\"x\":true,\"client\":\"acme\"}", "Tickets/Sync:acme:9"},
        {"id,client", "{\"id\":9,\"client\":\"acme\"}", "Tickets/Sync:9:acme"},
        /* A value's ':' and '\\' are escaped: two values cannot run into one another, nor a
         * value into the dry-run mark. */
        {"client,id", "{\"client\":\"1:X\",\"id\":\"n\"}", "Tickets/Sync:1\\:X:n"},
        {"client,id", "{\"client\":\"1\",\"id\":\"X:n\"}", "Tickets/Sync:1:X\\:n"},
        {"id", "{\"id\":\"a\\\\b\"}", "Tickets/Sync:a\\\\b"},
        {"id", "{\"id\":\"K:dry-run\"}", "Tickets/Sync:K\\:dry-run"},
        {"id", "{\"id\":\"K\",\"dry_run\":true}", "Tickets/Sync:K:dry-run"},
        /* Names are case-sensitive. */
        {"id", "{\"ID\":1}", NULL},
        {"id", "{}", NULL},
        {"id", "{\"id\":null}", NULL},
        {"id", "{\"id\":true}", NULL},
        {"id", "{\"id\":[1]}", NULL},
        {"id", "{\"id\":{\"a\":1}}", NULL},
        {"client,id", "{\"client\":\"acme\"}", NULL},
        {"id", "not json", NULL},
        {"id", "", NULL},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        check(&table[i]);
}

static void
test_missing_names_the_parameter(void **state)
{
    (void)state;
    char key[JOB_UNIQUE_KEY_SIZE], err[256];
    const char *field = NULL;
    assert_null(job_unique_key("Tickets/Sync", "client,id", "{\"client\":\"a\"}", key, &field, err,
                               sizeof(err)));
    assert_non_null(strstr(err, "\"id\""));
    assert_non_null(strstr(err, "Tickets/Sync"));
}

static void
test_length_limit(void **state)
{
    (void)state;
    /* "Tickets/Sync:" is 13 characters: a value of 178 makes exactly 191. */
    char value[4096], params[4200], want[4200];
    memset(value, 'v', 178);
    value[178] = '\0';
    snprintf(params, sizeof(params), "{\"id\":\"%s\"}", value);
    snprintf(want, sizeof(want), "Tickets/Sync:%s", value);
    assert_int_equal(strlen(want), JOB_UNIQUE_KEY_SIZE - 1);
    check(&(struct made){"id", params, want});
    value[178] = 'v';
    value[179] = '\0';
    snprintf(params, sizeof(params), "{\"id\":\"%s\"}", value);
    check(&(struct made){"id", params, NULL});
    /* Far past the buffer, with a second value after the overflow: refused, nothing written
     * past the key (AddressSanitizer watches). */
    memset(value, 'w', 4000);
    value[4000] = '\0';
    snprintf(params, sizeof(params), "{\"id\":\"%s\",\"n\":1}", value);
    check(&(struct made){"id,n", params, NULL});
    char err[256];
    const char *field;
    char key[JOB_UNIQUE_KEY_SIZE];
    assert_null(job_unique_key("Tickets/Sync", "id,n", params, key, &field, err, sizeof(err)));
    assert_non_null(strstr(err, "longer than 191"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_missing_names_the_parameter),
        cmocka_unit_test(test_length_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
