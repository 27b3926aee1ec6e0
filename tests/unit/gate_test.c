/* Unit tests for the worker children's start gate (worker/gate.c): a child takes jobs in their
 * order until the supervisor shuts the gate; the number gate_shut returns is exactly the last
 * job the child took, however the two race, so a job withdrawn never starts and a job taken is
 * never handed back; and the gate opens again after the jobs withdrawn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate.h"

static void
test_take_shut_reopen(void **state)
{
    (void)state;
    struct gate *g = gate_map(2);
    assert_non_null(g);
    assert_true(gate_take(&g[0], 1));
    assert_true(gate_take(&g[0], 2));
    assert_false(gate_is_shut(&g[0]));
    assert_int_equal(gate_shut(&g[0]), 2);
    assert_true(gate_is_shut(&g[0]));
    /* Jobs 3 and 4 were written before the shut: both are passed over. */
    assert_false(gate_take(&g[0], 3));
    assert_false(gate_take(&g[0], 4));
    /* Asked again, the gate still names the last job taken, not the last passed over. */
    assert_int_equal(gate_shut(&g[0]), 2);
    gate_reopen(&g[0], 4);
    assert_false(gate_is_shut(&g[0]));
    assert_true(gate_take(&g[0], 5));
    /* A job out of order is never taken. */
    assert_false(gate_take(&g[0], 7));
    /* The gates are independent. */
    assert_true(gate_take(&g[1], 1));
    gate_unmap(g, 2);
}

/* A child process takes jobs 1, 2, ... as fast as it can while this process shuts the gate
 * at a different moment each round: the child's own count of jobs taken must equal what
 * gate_shut says, every round. */
static void
test_shut_races_take(void **state)
{
    (void)state;
    struct gate *g = gate_map(1);
    assert_non_null(g);
    for (int round = 0; round < 300; round++) {
        atomic_store(&g->word, 0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            uint64_t seq = 1;
            while (seq < 100000000 && gate_take(g, seq))
                seq++;
            uint64_t last = seq - 1;
            _exit(write(fds[1], &last, sizeof(last)) == sizeof(last) ? 0 : 1);
        }
        /* Shut while the child is taking, a little later each round. */
        while (atomic_load(&g->word) == 0)
            ;
        for (volatile int spin = 0; spin < (round % 50) * 200; spin++)
            ;
        uint64_t shut = gate_shut(g);
        uint64_t last = 0;
        assert_int_equal(read(fds[0], &last, sizeof(last)), sizeof(last));
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (last != shut)
            fail_msg("round %d: the child took %llu jobs, the gate said %llu", round,
                     (unsigned long long)last, (unsigned long long)shut);
        close(fds[0]);
        close(fds[1]);
    }
    gate_unmap(g, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_take_shut_reopen),
                                       cmocka_unit_test(test_shut_races_take)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
