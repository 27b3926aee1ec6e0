/* Unit tests of the spool's durability order (invariant 7: a webhook answered 2xx is in MySQL
 * or in the fsync'ed spool): spool_write fsyncs the entry's temp file, renames it, then fsyncs
 * the directory, in that order, and reports a failure of either fsync as a failed write that
 * leaves no entry behind (so the producer answers 503, never 2xx). fsync and renameat are
 * wrapped (-Wl,--wrap) to record the calls and to fail them on demand; a mutant without one of
 * the fsyncs (tests/chaos/mutants) fails here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

static char calls[32]; /* F: a file's fsync, D: a directory's, R: rename */
static char fail_on;   /* the call kind to fail once, or 0 */

static void
record(char c)
{
    size_t n = strlen(calls);
    if (n + 1 < sizeof(calls))
        calls[n] = c;
}

int
__wrap_fsync(int fd)
{
    struct stat st;
    char c = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? 'D' : 'F';
    record(c);
    if (fail_on == c) {
        fail_on = 0;
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

int
__wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    record('R');
    return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

struct fixture {
    char dir[64];
    struct spool *s;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/jf-spool-durable-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    char err[256];
    f->s = spool_open(f->dir, INT64_C(1) << 30, err, sizeof(err));
    if (f->s == NULL)
        return -1;
    memset(calls, 0, sizeof(calls));
    fail_on = 0;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    spool_close(f->s);
    char *cmd = xasprintf("rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static int
write_one(struct fixture *f)
{
    struct spool_entry e = {.source = xstrdup("system"),
                            .path = xstrdup("/webhook/system/echo"),
                            .action = xstrdup("System/Echo/Webhook"),
                            .parameters = xstrdup("{\"payload\":\"x\"}"),
                            .idempotency_key = xstrdup("system:key:1"),
                            .received_ms = 1};
    char id[128], err[256];
    memset(calls, 0, sizeof(calls));
    int rc = spool_write(f->s, &e, id, sizeof(id), err, sizeof(err));
    spool_entry_release(&e);
    return rc;
}

static int
entries(struct fixture *f)
{
    char **ids = NULL;
    int n = 0;
    assert_int_equal(spool_list(f->s, &ids, &n), 0);
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return n;
}

static void
test_fsync_file_rename_fsync_dir(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(write_one(f), 0);
    assert_string_equal(calls, "FRD");
    assert_int_equal(entries(f), 1);
}

static void
test_file_fsync_failure_is_a_failed_write(void **state)
{
    struct fixture *f = *state;
    fail_on = 'F';
    assert_int_not_equal(write_one(f), 0);
    assert_string_equal(calls, "F"); /* never renamed into place */
    assert_int_equal(entries(f), 0);
}

static void
test_dir_fsync_failure_is_a_failed_write(void **state)
{
    struct fixture *f = *state;
    fail_on = 'D';
    assert_int_not_equal(write_one(f), 0);
    assert_string_equal(calls, "FRD");
    assert_int_equal(entries(f), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fsync_file_rename_fsync_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_fsync_failure_is_a_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_fsync_failure_is_a_failed_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
