/* Unit tests for the producer's spool (producer/spool.c, compiled into this test): an entry
 * that cannot be read for a passing reason (here EMFILE, with RLIMIT_NOFILE at the open file
 * count) is reported as such (-2), not as corrupt; only a file read whole that is not an entry
 * is corrupt (-1); and a quarantine that cannot move the file says why and leaves the entry
 * in place. Durability (invariant 7: a webhook answered 2xx is in MySQL or in the fsync'ed
 * spool): spool_write fsyncs the entry's temp file, renames it, then fsyncs the directory, in
 * that order, and a failure of either fsync is a failed write that leaves no entry behind (so
 * the producer answers 503, never 2xx); fsync and renameat are wrapped (-Wl,--wrap) to record
 * the calls and fail them on demand. tests/chaos/mutants' spool mutants fail here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
    snprintf(f->dir, sizeof(f->dir), "/tmp/jf-spool-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    char err[256];
    f->s = spool_open(f->dir, INT64_C(1) << 30, err, sizeof(err));
    if (f->s == NULL)
        return -1;
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

static void
write_entry(struct fixture *f, char *id, size_t idlen)
{
    struct spool_entry e = {.source = xstrdup("system"),
                            .path = xstrdup("/webhook/system/echo"),
                            .action = xstrdup("System/Echo/Webhook"),
                            .parameters = xstrdup("{\"payload\":\"x\"}"),
                            .idempotency_key = xstrdup("system:key:1"),
                            .received_ms = 1};
    char err[256];
    int rc = spool_write(f->s, &e, id, idlen, err, sizeof(err));
    spool_entry_release(&e);
    if (rc != 0)
        fail_msg("spool_write: %s", err);
}

static void
write_file(struct fixture *f, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    free(path);
}

static void
test_emfile_is_transient(void **state)
{
    struct fixture *f = *state;
    char id[64], err[256];
    write_entry(f, id, sizeof(id));
    struct spool_entry e;
    assert_int_equal(spool_read(f->s, id, &e, err, sizeof(err)), 0);
    spool_entry_release(&e);
    /* open() returns the lowest free descriptor: with the limit there, the next open fails. */
    int lowest = open("/dev/null", O_RDONLY);
    assert_true(lowest >= 0);
    close(lowest);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int rc = spool_read(f->s, id, &e, err, sizeof(err));
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (rc != -2)
        fail_msg("spool_read under EMFILE returned %d (%s), want -2: the entry is good", rc, err);
    assert_non_null(strstr(err, "Too many open files"));
    /* The entry is untouched and reads again once descriptors are free. */
    assert_int_equal(spool_read(f->s, id, &e, err, sizeof(err)), 0);
    assert_string_equal(e.idempotency_key, "system:key:1");
    spool_entry_release(&e);
    assert_int_equal(spool_files(f->s), 1);
}

static void
test_corrupt_is_definitive(void **state)
{
    struct fixture *f = *state;
    static const char *const bodies[] = {
        "not json",  "",      "{\"v\":2}",
        "{\"v\":1}", "[1,2]", "{\"v\":1,\"action\":\"A\",\"parameters\":\"{}\"}"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char id[32], name[48], err[256];
        snprintf(id, sizeof(id), "0000000000001-%06zu-bad", i);
        snprintf(name, sizeof(name), "%s.json", id);
        write_file(f, name, bodies[i]);
        struct spool_entry e;
        int rc = spool_read(f->s, id, &e, err, sizeof(err));
        if (rc != -1)
            fail_msg("\"%s\": spool_read returned %d, want -1 (corrupt)", bodies[i], rc);
    }
    /* A file that is not there cannot be judged either. */
    char err[256];
    struct spool_entry e;
    assert_int_equal(spool_read(f->s, "0000000000002-000000-gone", &e, err, sizeof(err)), -2);
}

static void
test_quarantine(void **state)
{
    struct fixture *f = *state;
    char id[64], err[256] = "";
    write_entry(f, id, sizeof(id));
    /* failed/ that is a file, not a directory: the move must fail, say why, and keep the
     * entry where it was (root ignores permissions, a wrong file type it does not). */
    write_file(f, "failed", "in the way");
    assert_int_equal(spool_quarantine(f->s, id, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "failed"));
    struct spool_entry e;
    assert_int_equal(spool_read(f->s, id, &e, err, sizeof(err)), 0);
    spool_entry_release(&e);
    assert_int_equal(spool_files(f->s), 1);
    char *failed = xasprintf("%s/failed", f->dir);
    assert_int_equal(unlink(failed), 0);
    assert_int_equal(spool_quarantine(f->s, id, err, sizeof(err)), 0);
    assert_int_equal(spool_files(f->s), 0);
    char *moved = xasprintf("%s/%s.json", failed, id);
    struct stat st;
    assert_int_equal(stat(moved, &st), 0);
    free(moved);
    free(failed);
}

/* Entries in failed/ count toward the quota, at start and when quarantined; a recount after
 * an operator removed them lets writes through again. */
static void
test_failed_counts_toward_quota(void **state)
{
    struct fixture *f = *state;
    char id[64], err[256] = "";
    write_entry(f, id, sizeof(id));
    assert_int_equal(spool_quarantine(f->s, id, err, sizeof(err)), 0);
    spool_close(f->s);
    /* Room for one entry beside what failed/ holds, not for two: each takes a 4 KiB block. */
    f->s = spool_open(f->dir, 8000, err, sizeof(err));
    assert_non_null(f->s);
    struct spool_entry e = {.source = xstrdup("system"),
                            .path = xstrdup("/webhook/system/echo"),
                            .action = xstrdup("System/Echo/Webhook"),
                            .parameters = xstrdup("{\"payload\":\"x\"}"),
                            .idempotency_key = xstrdup("system:key:2"),
                            .received_ms = 2};
    assert_int_equal(spool_write(f->s, &e, id, sizeof(id), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "in failed/"));
    assert_true(spool_full(f->s));
    char *cmd = xasprintf("rm -f '%s'/failed/*.json", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    spool_recount_failed(f->s);
    assert_false(spool_full(f->s));
    if (spool_write(f->s, &e, id, sizeof(id), err, sizeof(err)) != 0)
        fail_msg("spool_write after the recount: %s", err);
    spool_entry_release(&e);
}

/* A spool directory group or others can enter is refused, naming the fix. */
static void
test_loose_dir_refused(void **state)
{
    struct fixture *f = *state;
    char err[256] = "";
    assert_int_equal(chmod(f->dir, 0755), 0);
    struct spool *s = spool_open(f->dir, 1 << 20, err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, "chmod 700"));
    assert_int_equal(chmod(f->dir, 0700), 0);
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

/* A write the disk refused makes the spool full (and /health "down") until the disk takes a
 * write again; the replay's probe finds that out without waiting for a webhook, which a load
 * balancer that ejected the producer would never send. The probe leaves no file. */
static void
test_probe_clears_refused(void **state)
{
    struct fixture *f = *state;
    fail_on = 'F';
    assert_int_not_equal(write_one(f), 0);
    assert_true(spool_full(f->s));
    fail_on = 'F';
    spool_probe(f->s); /* the disk still refuses */
    assert_true(spool_full(f->s));
    spool_probe(f->s);
    assert_false(spool_full(f->s));
    assert_int_equal(entries(f), 0);
    char *probe = xasprintf("%s/tmp-probe", f->dir);
    assert_int_equal(access(probe, F_OK), -1);
    free(probe);
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
        cmocka_unit_test_setup_teardown(test_emfile_is_transient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_is_definitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_counts_toward_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loose_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_clears_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_file_rename_fsync_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_fsync_failure_is_a_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_fsync_failure_is_a_failed_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
