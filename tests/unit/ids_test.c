/* Unit tests for common/ids.c: UUIDs are version 4 in canonical form, do not repeat, and a
 * forked child does not hand out the random bytes its parent has left in its pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ids.h"

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
test_uuid_form(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char u[37];
        ids_uuid(u);
        assert_int_equal(strlen(u), 36);
        for (int k = 0; k < 36; k++) {
            if (k == 8 || k == 13 || k == 18 || k == 23)
                assert_int_equal(u[k], '-');
            else
                assert_non_null(strchr("0123456789abcdef", u[k]));
        }
        assert_int_equal(u[14], '4');
        assert_non_null(strchr("89ab", u[19]));
    }
}

static void
test_uuid_unique(void **state)
{
    (void)state;
    enum { N = 20000 };
    char(*u)[37] = calloc(N, sizeof(*u));
    for (int i = 0; i < N; i++)
        ids_uuid(u[i]);
    qsort(u, N, sizeof(*u), cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(u[i - 1], u[i]);
    free(u);
}

static void
test_fork_does_not_repeat(void **state)
{
    (void)state;
    char first[37];
    ids_uuid(first); /* the pool now holds bytes a child would copy */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char u[37];
        ids_uuid(u);
        _exit(write(fds[1], u, sizeof(u)) == (ssize_t)sizeof(u) ? 0 : 1);
    }
    char child[37], parent[37];
    assert_int_equal(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    ids_uuid(parent);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_string_not_equal(child, parent);
    close(fds[0]);
    close(fds[1]);
}

static void
test_random_large(void **state)
{
    (void)state;
    uint8_t a[4096], b[4096];
    ids_random(a, sizeof(a));
    ids_random(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_form),
        cmocka_unit_test(test_uuid_unique),
        cmocka_unit_test(test_fork_does_not_repeat),
        cmocka_unit_test(test_random_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
