/* End-to-end tests of the worker's fleet-wide limits (worker/limits.c) against the test's Redis:
 * each acquire of a job's slots is its own, so that two claims of one job (after a hand-back or
 * a recovery) neither share a slot nor free each other's. */
#include "limits.h"
#include "tsupport.h"
#include "util.h"

#define LEASE_MS 300

/* A limiter over the test's settings, with System/Sleep limited to one at a time. */
static void
limiter_one_at_a_time(struct tenv *t, struct limiter *l)
{
    CHECK(db_exec_static(t->db, "INSERT INTO action_settings (action, concurrency_limit, "
                                "dt_updated) VALUES ('System/Sleep', 1, NOW(6))") == 0,
          "settings: %s", db_errstr(t->db));
    limiter_init(l, &t->cfg.redis, LEASE_MS);
    CHECK(limiter_refresh(l, t->db) == 0, "load the settings: %s", db_errstr(t->db));
}

static int64_t
acquire(struct limiter *l, struct job_limits *jl, int64_t id)
{
    limiter_scopes(l, "default", "System/Sleep", jl);
    return limiter_acquire(l, jl, id);
}

/* A worker whose outcome waited past its slot's lease (a stalled check-out) while the job was
 * recovered and claimed again frees its slots late. The slots' member was the job's id, so the
 * second claim went in on the first one's slot, and the late free took the second claim's: a
 * job of a concurrency of 1 then started beside it. */
static void
test_late_free_keeps_later_claim(struct tenv *t)
{
    struct limiter l;
    limiter_one_at_a_time(t, &l);
    struct job_limits first, second, other;
    CHECK(acquire(&l, &first, 42) == 0, "the first claim of job 42 takes the slot");
    CHECK(acquire(&l, &second, 42) > 0,
          "a second claim of job 42 went in on the first claim's slot while it was held");
    WAIT_UNTIL(acquire(&l, &second, 42) == 0, 5000, "the slot never came back with its lease");
    limiter_free_slots(&l, &first);
    CHECK(acquire(&l, &other, 43) > 0,
          "job 43 took the slot job 42's second claim holds: the late free of the first claim "
          "freed it");
    limiter_free_slots(&l, &second);
    CHECK(acquire(&l, &other, 43) == 0, "the slot is free once its holder frees it");
    limiter_free_slots(&l, &other);
    limiter_release(&l);
}

static const struct test_case cases[] = {
    {"e2e_limits_late_free_keeps_later_claim", test_late_free_keeps_later_claim, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
