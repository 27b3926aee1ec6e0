/* Unit tests of the worker's reading of MariaDB's clock (worker/start_clock.c), on simulated
 * claims whose delays are known: a job is never stamped as started before it was handed over,
 * the stamp is late by no more than the quickest claim's delay before it ran, the stamps keep
 * their order, and a step of MariaDB's clock is followed either way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "start_clock.h"

/* MariaDB's clock minus the monotonic one, as a server ten minutes off would have it. */
#define OFFSET_US (1796000000000000LL + 600000000LL)

struct sim {
    int64_t now_us; /* the monotonic clock */
    int64_t offset_us;
    int64_t quickest_us; /* the shortest send-to-run delay of the claims so far */
    unsigned seed;
};

static int64_t
sim_rand(struct sim *s, int64_t lo, int64_t hi)
{
    s->seed = s->seed * 1103515245u + 12345u; /* a fixed sequence: the test is repeatable */
    return lo + (int64_t)((s->seed >> 8) % (unsigned)(hi - lo + 1));
}

/* One claim: sent now, runs (reads NOW(6)) after a delay, answered after its commit. */
static void
sim_claim(struct sim *s, struct start_clock *c)
{
    int64_t sent = s->now_us, run = sent + sim_rand(s, 20, 400);
    int64_t got = run + sim_rand(s, 150, 3000);
    if (run - sent < s->quickest_us)
        s->quickest_us = run - sent;
    start_clock_learn(c, run + s->offset_us, sent, got);
    s->now_us = got;
}

/* Hands a job over a little later and checks its stamp against the true time. */
static int64_t
sim_hand_over(struct sim *s, struct start_clock *c, int64_t prev)
{
    s->now_us += sim_rand(s, 1, 800);
    int64_t truth = s->now_us + s->offset_us, stamp = start_clock_stamp(c, s->now_us);
    assert_true(stamp >= truth);
    assert_true(stamp >= prev);
    return stamp;
}

static void
stamps_bracket_the_true_time(void **state)
{
    (void)state;
    struct sim s = {.now_us = 5000000, .offset_us = OFFSET_US, .quickest_us = INT64_MAX, .seed = 7};
    struct start_clock c = {0};
    int64_t prev = 0;
    for (int i = 0; i < 500; i++) {
        sim_claim(&s, &c);
        for (int k = 0; k < 3; k++)
            prev = sim_hand_over(&s, &c, prev);
    }
    /* Once learnt, late by the quickest claim's send-to-run delay at most: not by a commit. */
    s.now_us += 1000;
    int64_t late = start_clock_stamp(&c, s.now_us) - (s.now_us + s.offset_us);
    assert_true(late <= s.quickest_us);
    assert_true(late < 100);
}

static void
follows_a_step_of_mariadbs_clock(void **state)
{
    (void)state;
    struct sim s = {.now_us = 5000000, .offset_us = OFFSET_US, .quickest_us = INT64_MAX, .seed = 3};
    struct start_clock c = {0};
    int64_t prev = 0;
    for (int i = 0; i < 50; i++) {
        sim_claim(&s, &c);
        prev = sim_hand_over(&s, &c, prev);
    }
    /* Forward ten minutes: the next claim's stamps are on the new clock at once. */
    s.offset_us += 600000000LL;
    s.quickest_us = INT64_MAX;
    sim_claim(&s, &c);
    prev = sim_hand_over(&s, &c, prev);
    /* Back twenty: neither stuck at the last stamp nor ahead of the new clock by more than a
     * claim's delay. */
    s.offset_us -= 1200000000LL;
    s.quickest_us = INT64_MAX;
    sim_claim(&s, &c);
    s.now_us += 10;
    int64_t late = start_clock_stamp(&c, s.now_us) - (s.now_us + s.offset_us);
    assert_true(late >= 0);
    assert_true(late <= 400);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamps_bracket_the_true_time),
        cmocka_unit_test(follows_a_step_of_mariadbs_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
