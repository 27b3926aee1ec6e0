/* MIGRATE_SCHEMA_VERSION, the schema the daemons check for at start, is the highest migration
 * of deploy/sql: a migration added without raising it would let a new binary start on a
 * database that lacks it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>

#include "migrate.h"

static void
test_highest_migration(void **state)
{
    (void)state;
    DIR *d = opendir(JOBFLEET_SOURCE_DIR "/deploy/sql");
    assert_non_null(d);
    int highest = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int v = atoi(e->d_name);
        if (v > highest)
            highest = v;
    }
    closedir(d);
    assert_int_equal(MIGRATE_SCHEMA_VERSION, highest);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_highest_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
