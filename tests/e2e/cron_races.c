/* Integration tests of a cron fire racing another writer of its cron job's row, against real
 * MariaDB and Redis: an operator's `cron disable`, or another scheduler that fired the minute
 * under another instant. The race is made exact, not hoped for: the other writer holds its
 * change uncommitted until the firing step is seen waiting for the row, then commits. */
#include "cronjob_fire.h"
#include "job.h"
#include "tcron.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One firing step at now, on connections of its own. */
struct step {
    struct tenv *t;
    int64_t now;
    int64_t conn_id; /* its MariaDB session, to see it wait */
    int fired, rc;
    bool done;     /* the step returned (or could not start) */
    char err[256]; /* why it could not, or failed */
};

static void *
step_thread(void *arg)
{
    struct step *s = arg;
    struct db *db = db_new(&s->t->cfg.mysql);
    struct rq *rq = rq_new(&s->t->cfg.redis);
    s->rc = -1;
    struct db_rows *r = NULL;
    if (db_connect(db) == 0 && rq_connect(rq) == 0 &&
        (r = db_query(db, "SELECT CONNECTION_ID()", DB_NOP)) != NULL && r->n_rows == 1) {
        __atomic_store_n(&s->conn_id, db_rows_int(r, 0, 0, 0), __ATOMIC_RELEASE);
        s->rc = cronjob_fire_due(db, rq, &s->t->cfg, s->now, &s->fired);
    }
    snprintf(s->err, sizeof(s->err), "%s / %s", db_errstr(db), rq_errstr(rq));
    db_rows_free(r);
    __atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
    db_free(db);
    rq_free(rq);
    return NULL;
}

/* Whether MariaDB session id waits for a lock. */
static bool
waits_for_lock(struct tenv *t, int64_t id)
{
    return id > 0 && t_sql_int(t, 0,
                               "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE "
                               "trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
                               DB_P(DBI(id))) > 0;
}

/* Runs a firing step at now while session other holds its change of the cron job's row
 * uncommitted, and commits that change once the step waits for the row. Returns what the step
 * fired. */
static int
step_racing(struct tenv *t, struct db *other, int64_t now)
{
    struct step s = {.t = t, .now = now};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, step_thread, &s) == 0, "pthread_create");
    WAIT_UNTIL(waits_for_lock(t, __atomic_load_n(&s.conn_id, __ATOMIC_ACQUIRE)) ||
                   __atomic_load_n(&s.done, __ATOMIC_ACQUIRE),
               15000, "the firing step never waited for the cron job's row");
    bool waited = !__atomic_load_n(&s.done, __ATOMIC_ACQUIRE);
    CHECK(db_commit(other) == 0, "commit the other change: %s", db_errstr(other));
    pthread_join(th, NULL);
    CHECK(s.rc == 0, "the firing step failed: %s", s.err);
    CHECK(waited, "the firing step ended without waiting for the cron job's row");
    return s.fired;
}

static struct db *
other_session(struct tenv *t)
{
    struct db *db = db_new(&t->cfg.mysql);
    CHECK(db_connect(db) == 0 && db_begin(db) == 0, "other session: %s", db_errstr(db));
    return db;
}

/* A `cron disable` committed while a fire of that cron job is under way wins: no job is made
 * after the operator was told "disabled". Before, the fire inserted its job first and only then
 * moved the row, so the disabled cron job made one more job. */
static void
test_disable_during_fire(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    struct db *op = other_session(t);
    CHECK(db_exec(op, "UPDATE cron_jobs SET is_active = 0, dt_updated = NOW(6) WHERE id = ?",
                  DB_P(DBI(id)), NULL, NULL) == 0,
          "disable: %s", db_errstr(op));
    int fired = step_racing(t, op, t0 + 1);
    db_free(op);
    CHECK(t_cron_jobs(t, id) == 0 && fired == 0,
          "a cron job disabled before its fire was decided made %lld job(s)",
          (long long)t_cron_jobs(t, id));
}

/* A scheduler that fired the minute under another instant (other tzdata during a rolling
 * upgrade) and moved the row while this one was deciding: this one makes no second job. Before,
 * it inserted its job under its own fire time, a unique key the other's job did not hold, and
 * only its compare-and-set failed. */
static void
test_advanced_during_fire(struct tenv *t)
{
    t_clock_init(t);
    int64_t t0 = t_iso("2026-05-01T10:00:00Z");
    int64_t id = t_cron_add_at(t, t0 - 30, "every", "* * * * *", NULL, NULL);
    struct db *other = other_session(t);
    struct job_spec spec = {.action = "System/Noop",
                            .origin = "cron",
                            .cron_job_id = id,
                            .cron_fire_time = "2026-05-01 10:00:30"},
                    checked;
    struct job_ref ref;
    const char *field = NULL;
    char err[256];
    CHECK(job_spec_check(&spec, true, &checked, &field, err, sizeof(err)) == JOB_E_OK &&
              job_insert(other, &checked, &ref, err, sizeof(err)) == JOB_E_OK,
          "the other scheduler's job: %s", err);
    CHECK(db_exec(other,
                  "UPDATE cron_jobs SET dt_next_fire = '2026-05-01 10:01:30', dt_last_fire = "
                  "'2026-05-01 10:00:30', last_job_id = ? WHERE id = ?",
                  DB_P(DBI(ref.id), DBI(id)), NULL, NULL) == 0,
          "the other scheduler's move: %s", db_errstr(other));
    step_racing(t, other, t0 + 1);
    db_free(other);
    char *fires = t_sql_str(
        t, "SELECT GROUP_CONCAT(cron_fire_time) FROM jobs WHERE cron_job_id = ?", DB_P(DBI(id)));
    CHECK(fires && strcmp(fires, "2026-05-01 10:00:30") == 0,
          "one minute, two schedulers: fires %s, want only the other's 2026-05-01 10:00:30",
          fires ? fires : "(none)");
    free(fires);
}

static const struct test_case cases[] = {
    {"e2e_cron_races_disable_during_fire", test_disable_during_fire, NULL},
    {"e2e_cron_races_advanced_during_fire", test_advanced_during_fire, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
