/* Tests of the batched check-out (lifecycle_finish, common/lifecycle.c) against the real
 * MariaDB: one statement gives every row its own execution time, result and start time, looked
 * up by the row's id; these tests check that each value lands on its own row and attempt row,
 * whatever the order of the outcomes and the padding of the batch. And the hand-back of a job
 * claimed ahead (lifecycle_hand_back), whose guard a repeat must not pass. */
#include "db.h"
#include "instance.h"
#include "job.h"
#include "lifecycle.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 37 jobs: not a power of two, so the statement's lists are padded (to 64). */
#define CB_JOBS 37

struct cb_jobs {
    int64_t instance;
    int64_t ids[CB_JOBS];
    struct claimed_job claimed[CB_JOBS];
    int n;
};

/* Enqueues CB_JOBS no-ops, gives every third one attempt 2 instead of 1 (a retry), and claims
 * them all for a new instance. */
static void
cb_claim(struct tenv *t, struct cb_jobs *j)
{
    j->instance = instance_register(t->db, "default", 4, t->cfg.worker.lease_s);
    CHECK(j->instance > 0, "instance: %s", db_errstr(t->db));
    for (int i = 0; i < CB_JOBS; i++) {
        struct job_spec in = {.action = "System/Noop", .origin = "api"}, s;
        struct job_ref ref;
        const char *field = NULL;
        char err[256];
        CHECK(job_spec_check(&in, true, &s, &field, err, sizeof(err)) == JOB_E_OK, "spec: %s", err);
        CHECK(job_insert(t->db, &s, &ref, err, sizeof(err)) == JOB_E_OK, "insert: %s", err);
        j->ids[i] = ref.id;
        if (i % 3 == 1)
            CHECK(db_exec(t->db, "UPDATE jobs SET attempt = 1, max_attempts = 3 WHERE id = ?",
                          DB_P(DBI(ref.id)), NULL, NULL) == 0,
                  "retry: %s", db_errstr(t->db));
    }
    j->n = lifecycle_claim(t->db, j->ids, CB_JOBS, j->instance, 1, NULL, j->claimed);
    CHECK(j->n == CB_JOBS, "claimed %d of %d", j->n, CB_JOBS);
}

/* UPDATE statements this test's connection has run: the batch is one, row by row is one per
 * job, and a wrong lookup of a row's values shows as a guard that misses, then row by row. */
static int64_t
cb_updates(struct tenv *t)
{
    struct db_rows *r = db_query(t->db, "SHOW SESSION STATUS LIKE 'Com_update'", DB_NOP);
    CHECK(r && r->n_rows == 1, "session status: %s", db_errstr(t->db));
    int64_t n = db_rows_int(r, 0, 1, -1);
    db_rows_free(r);
    return n;
}

/* Outcome i, for claimed job k: a success with its own time and result, and for every other
 * job a start time of its own (one that waited in the window). */
static void
cb_outcome(const struct claimed_job *c, int i, struct outcome *o, char *result, size_t rlen,
           char *started, size_t slen)
{
    snprintf(result, rlen, "{\"job\":%lld}", (long long)c->id);
    snprintf(started, slen, "2020-01-02 03:04:%02d.%06d", i % 60, 1000 + i);
    *o = (struct outcome){.id = c->id,
                          .instance_id = 0,
                          .attempt = c->attempt,
                          .max_attempts = c->max_attempts,
                          .action = c->action,
                          .status = JOB_OK,
                          .result = result,
                          .execution_ms = 1000 + 13 * (int64_t)c->id,
                          .dt_started = i % 2 ? started : c->dt_started,
                          .write_started = i % 2 == 1};
}

/* The row and the attempt row of job o hold o's values. */
static void
cb_check_row(struct tenv *t, const struct outcome *o, const char *claimed_started)
{
    struct db_rows *r = db_query(t->db,
                                 "SELECT j.state, j.execution_ms, j.result, j.dt_started, "
                                 "a.execution_ms, a.dt_started, a.outcome FROM jobs j JOIN "
                                 "job_attempts a ON a.job_id = j.id AND a.attempt = j.attempt "
                                 "WHERE j.id = ?",
                                 DB_P(DBI(o->id)));
    CHECK(r && r->n_rows == 1, "job %lld: %d rows with its attempt (%s)", (long long)o->id,
          r ? r->n_rows : -1, db_errstr(t->db));
    const char *want_started = o->write_started ? o->dt_started : claimed_started;
    char ms[32];
    snprintf(ms, sizeof(ms), "%lld", (long long)o->execution_ms);
    CHECK(strcmp(db_rows_get(r, 0, 0), "succeeded") == 0, "job %lld: state %s", (long long)o->id,
          db_rows_get(r, 0, 0));
    CHECK(strcmp(db_rows_get(r, 0, 1), ms) == 0 && strcmp(db_rows_get(r, 0, 4), ms) == 0,
          "job %lld: execution_ms %s (attempt row %s), its outcome says %s", (long long)o->id,
          db_rows_get(r, 0, 1), db_rows_get(r, 0, 4), ms);
    CHECK(strcmp(db_rows_get(r, 0, 2), o->result) == 0, "job %lld: result %s, its outcome says %s",
          (long long)o->id, db_rows_get(r, 0, 2), o->result);
    CHECK(strcmp(db_rows_get(r, 0, 3), want_started) == 0 &&
              strcmp(db_rows_get(r, 0, 5), want_started) == 0,
          "job %lld: dt_started %s (attempt row %s), expected %s", (long long)o->id,
          db_rows_get(r, 0, 3), db_rows_get(r, 0, 5), want_started);
    db_rows_free(r);
}

/* A claimed batch and its outcomes, in the order (i * mul + add) % CB_JOBS of the claim (a
 * permutation when mul and CB_JOBS are coprime): the children finish in any order. */
struct cb_batch {
    struct cb_jobs j;
    struct outcome o[CB_JOBS];
    const char *claimed_started[CB_JOBS]; /* the claim's dt_started of o[i]'s job */
    char results[CB_JOBS][32], started[CB_JOBS][32];
    bool applied[CB_JOBS];
};

static void
cb_prepare(struct tenv *t, struct cb_batch *b, int mul, int add)
{
    cb_claim(t, &b->j);
    for (int i = 0; i < CB_JOBS; i++) {
        const struct claimed_job *c = &b->j.claimed[(i * mul + add) % CB_JOBS];
        cb_outcome(c, i, &b->o[i], b->results[i], sizeof(b->results[i]), b->started[i],
                   sizeof(b->started[i]));
        b->o[i].instance_id = b->j.instance;
        b->claimed_started[i] = c->dt_started;
    }
}

/* Checks that outcome i took with its own values, except skip (-1: none); releases the jobs. */
static void
cb_check_all(struct tenv *t, struct cb_batch *b, int skip)
{
    for (int i = 0; i < CB_JOBS; i++) {
        if (i == skip)
            continue;
        CHECK(b->applied[i], "outcome %d (job %lld) did not take", i, (long long)b->o[i].id);
        cb_check_row(t, &b->o[i], b->claimed_started[i]);
    }
    for (int k = 0; k < CB_JOBS; k++)
        claimed_job_release(&b->j.claimed[k]);
}

/* Outcomes in an order unrelated to the ids, with values that differ per job: each lands on
 * its own row and attempt row, in one statement. */
static void
test_values_reach_their_rows(struct tenv *t)
{
    static struct cb_batch b;
    cb_prepare(t, &b, 17, 5);
    int64_t updates = cb_updates(t);
    CHECK(lifecycle_finish(t->db, b.o, CB_JOBS, b.applied) == 0, "finish: %s", db_errstr(t->db));
    CHECK(cb_updates(t) - updates == 1, "%lld UPDATE statements for one batch",
          (long long)(cb_updates(t) - updates));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts", DB_NOP) == CB_JOBS,
          "one attempt row per job");
    cb_check_all(t, &b, -1);
}

/* One outcome whose attempt is not the row's (a zombie's): the batch's guard misses, and the
 * others still take with their own values while that one changes nothing. */
static void
test_stale_attempt_takes_nothing(struct tenv *t)
{
    static struct cb_batch b;
    cb_prepare(t, &b, CB_JOBS - 1, CB_JOBS - 1); /* the claim's order reversed */
    const int stale = 10;
    b.o[stale].attempt += 1;
    CHECK(lifecycle_finish(t->db, b.o, CB_JOBS, b.applied) == 0, "finish: %s", db_errstr(t->db));
    CHECK(!b.applied[stale], "the stale outcome took");
    char *state = t_job_state(t, b.o[stale].id);
    CHECK(strcmp(state, "running") == 0, "the stale outcome's job is %s", state);
    free(state);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?",
                    DB_P(DBI(b.o[stale].id))) == 0,
          "the stale outcome wrote an attempt row");
    cb_check_all(t, &b, stale);
}

/* A failure checked out row by row with a start time past the server's (a worker's reading of
 * MariaDB's clock a little ahead): the row and its attempt row get the same capped start, not
 * each their own statement's NOW(6). */
static void
test_start_ahead_matches_attempt(struct tenv *t)
{
    static struct cb_jobs j;
    cb_claim(t, &j);
    struct outcome o = {.id = j.claimed[0].id,
                        .instance_id = j.instance,
                        .attempt = j.claimed[0].attempt,
                        .max_attempts = 1,
                        .action = j.claimed[0].action,
                        .status = JOB_FAIL,
                        .reason = "failed on purpose",
                        .execution_ms = 5,
                        .dt_started = "2099-01-01 00:00:00.000000",
                        .write_started = true};
    bool applied = false;
    CHECK(lifecycle_finish(t->db, &o, 1, &applied) == 0 && applied, "finish: %s", db_errstr(t->db));
    CHECK(t_sql_int(t, 0,
                    "SELECT a.dt_started = j.dt_started AND j.dt_started <= j.dt_completed "
                    "AND a.dt_started <= a.dt_completed FROM jobs j JOIN job_attempts a ON "
                    "a.job_id = j.id WHERE j.id = ?",
                    DB_P(DBI(o.id))) == 1,
          "the attempt row's start differs from the row's, or follows its end");
    for (int k = 0; k < CB_JOBS; k++)
        claimed_job_release(&j.claimed[k]);
}

/* A job function's retry delay is its own: one past what a DATETIME holds (a millisecond
 * epoch taken for a delay, 2^52 ms) made run_at NULL, the statement failed, and the worker
 * retried that outcome at the head of its queue for ever, writing no other. It is capped at
 * JOB_RETRY_DELAY_MAX_MS. */
static void
test_retry_delay_capped(struct tenv *t)
{
    static struct cb_jobs j;
    cb_claim(t, &j);
    const struct claimed_job *c = &j.claimed[1]; /* attempt 2 of 3: it will retry */
    struct outcome o = {.id = c->id,
                        .instance_id = j.instance,
                        .attempt = c->attempt,
                        .max_attempts = c->max_attempts,
                        .action = c->action,
                        .status = JOB_RETRY,
                        .reason = "later",
                        .retry_delay_ms = 1LL << 52};
    bool applied = false;
    CHECK(lifecycle_finish(t->db, &o, 1, &applied) == 0 && applied, "finish: %s", db_errstr(t->db));
    CHECK(t_sql_int(t, 0,
                    "SELECT state = 'pending' AND run_at BETWEEN NOW() + INTERVAL 99 YEAR AND "
                    "NOW() + INTERVAL 101 YEAR FROM jobs WHERE id = ?",
                    DB_P(DBI(o.id))) == 1,
          "not pending 100 years away");
    for (int k = 0; k < CB_JOBS; k++)
        claimed_job_release(&j.claimed[k]);
}

/* A hand-back repeated after the job was claimed again (its first answer lost, then a stale
 * copy of the ID popped by the same worker): the job is running at the same attempt for the
 * same instance, under another claim, and the repeat must leave it running. */
static void
test_hand_back_repeat_after_reclaim(struct tenv *t)
{
    static struct cb_jobs j;
    cb_claim(t, &j);
    struct claimed_job *c = &j.claimed[0];
    CHECK(lifecycle_hand_back(t->db, j.instance, &c->id, &c->attempt, &c->token, 1) == 0,
          "hand back: %s", db_errstr(t->db));
    CHECK(t_job_in_state(t, c->id, "queued"), "handed back");
    struct claimed_job again;
    CHECK(lifecycle_claim(t->db, &c->id, 1, j.instance, c->token + 1, NULL, &again) == 1,
          "claimed again: %s", db_errstr(t->db));
    CHECK(again.attempt == c->attempt, "the same attempt: %d and %d", again.attempt, c->attempt);
    CHECK(lifecycle_hand_back(t->db, j.instance, &c->id, &c->attempt, &c->token, 1) == 0,
          "the repeat: %s", db_errstr(t->db));
    CHECK(t_job_in_state(t, c->id, "running"),
          "the repeated hand-back queued a job claimed again since");
    claimed_job_release(&again);
    for (int k = 0; k < CB_JOBS; k++)
        claimed_job_release(&j.claimed[k]);
}

static const struct test_case cases[] = {
    {"e2e_checkout_batch_values_reach_their_rows", test_values_reach_their_rows, NULL},
    {"e2e_checkout_batch_stale_attempt_takes_nothing", test_stale_attempt_takes_nothing, NULL},
    {"e2e_checkout_batch_start_ahead_matches_attempt", test_start_ahead_matches_attempt, NULL},
    {"e2e_checkout_hand_back_repeat_after_reclaim", test_hand_back_repeat_after_reclaim, NULL},
    {"e2e_checkout_retry_delay_capped", test_retry_delay_capped, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
