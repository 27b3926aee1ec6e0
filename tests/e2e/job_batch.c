/* Tests of job_insert_batch's bulk path (common/job_batch.c) against the real MariaDB: a bulk
 * execution reports only its first row's id, so the ids, uuids and creation times it hands
 * back are read back; these tests compare every one with the row stored. */
#include "db.h"
#include "job_batch.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n checked no-op specs; key i (if keys) is "k<i>". The caller frees specs and keys. */
static struct job_spec *
batch_specs(int n, bool keys, char (**keybuf)[16])
{
    struct job_spec *s = xcalloc((size_t)n, sizeof(*s));
    *keybuf = xcalloc((size_t)n, sizeof(**keybuf));
    for (int i = 0; i < n; i++) {
        struct job_spec in = {.action = "System/Noop", .origin = "api"};
        const char *field = NULL;
        char err[256];
        CHECK(job_spec_check(&in, true, &s[i], &field, err, sizeof(err)) == JOB_E_OK, "spec: %s",
              err);
        if (keys) {
            snprintf((*keybuf)[i], sizeof((*keybuf)[i]), "k%d", i);
            s[i].idempotency_key = (*keybuf)[i];
        }
    }
    return s;
}

/* Every ref names its own row: the id's row has the ref's uuid and creation time, and holds
 * the key of spec i when the job is new. */
static void
check_refs(struct db *db, const struct job_spec *s, const struct job_ref *refs, int n)
{
    for (int i = 0; i < n; i++) {
        struct db_rows *r =
            db_query(db, "SELECT uuid, dt_created, idempotency_key FROM jobs WHERE id = ?",
                     DB_P(DBI(refs[i].id)));
        CHECK(r && r->n_rows == 1, "job %d: id %lld has no row (%s)", i, (long long)refs[i].id,
              db_errstr(db));
        CHECK(strcmp(db_rows_get(r, 0, 0), refs[i].uuid) == 0,
              "job %d: id %lld belongs to uuid %s, the ref says %s", i, (long long)refs[i].id,
              db_rows_get(r, 0, 0), refs[i].uuid);
        if (!refs[i].existing)
            CHECK(strcmp(db_rows_get(r, 0, 1), refs[i].created) == 0,
                  "job %d: created %s, the ref says %s", i, db_rows_get(r, 0, 1), refs[i].created);
        const char *key = db_rows_get(r, 0, 2);
        CHECK((key == NULL) == (s[i].idempotency_key == NULL), "job %d: key %s, spec key %s", i,
              key ? key : "NULL", s[i].idempotency_key ? s[i].idempotency_key : "NULL");
        db_rows_free(r);
    }
}

static int64_t
job_rows(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP);
}

static void
test_bulk_refs_match_rows(struct tenv *t)
{
    /* 1,000 (one bulk execution), then 1,300 (two of them), then 70 (the smallest bulk). */
    const int sizes[] = {1000, 1300, 70};
    int64_t total = 0;
    for (int k = 0; k < 3; k++) {
        char(*keys)[16];
        int n = sizes[k];
        struct job_spec *s = batch_specs(n, false, &keys);
        struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
        char err[512];
        CHECK(db_begin(t->db) == 0, "begin: %s", db_errstr(t->db));
        CHECK(job_insert_batch(t->db, s, n, refs, NULL, err, sizeof(err)) == JOB_E_OK, "batch: %s",
              err);
        CHECK(db_commit(t->db) == 0, "commit: %s", db_errstr(t->db));
        total += n;
        CHECK(job_rows(t) == total, "%lld rows after %d jobs", (long long)job_rows(t), n);
        for (int i = 0; i < n; i++)
            CHECK(!refs[i].existing && strcmp(refs[i].state, "queued") == 0,
                  "job %d: existing %d, state %s", i, refs[i].existing, refs[i].state);
        check_refs(t->db, s, refs, n);
        free(refs);
        free(s);
        free(keys);
    }
}

/* Keys already taken (the first row, one in the middle and the last) and a key given twice
 * in the batch: those rows are skipped by INSERT IGNORE and come back as the existing jobs. */
static void
test_bulk_skips_taken_keys(struct tenv *t)
{
    char(*keys)[16];
    const int n = 300;
    struct job_spec *s = batch_specs(n, true, &keys);
    struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
    struct job_ref early[3];
    const int taken[3] = {0, 150, 299};
    char err[512];
    for (int j = 0; j < 3; j++)
        CHECK(job_insert(t->db, &s[taken[j]], &early[j], err, sizeof(err)) == JOB_E_OK,
              "insert %d: %s", taken[j], err);
    snprintf(keys[200], sizeof(keys[200]), "k100"); /* spec 200 repeats spec 100's key */
    CHECK(db_begin(t->db) == 0, "begin: %s", db_errstr(t->db));
    CHECK(job_insert_batch(t->db, s, n, refs, NULL, err, sizeof(err)) == JOB_E_OK, "batch: %s",
          err);
    CHECK(db_commit(t->db) == 0, "commit: %s", db_errstr(t->db));
    CHECK(job_rows(t) == n - 1, "%lld rows, expected %d", (long long)job_rows(t), n - 1);
    for (int j = 0; j < 3; j++)
        CHECK(refs[taken[j]].existing && refs[taken[j]].id == early[j].id,
              "job %d: existing %d, id %lld, the earlier job is %lld", taken[j],
              refs[taken[j]].existing, (long long)refs[taken[j]].id, (long long)early[j].id);
    CHECK(refs[200].existing && refs[200].id == refs[100].id,
          "job 200 should be job 100 (%lld), is %lld existing %d", (long long)refs[100].id,
          (long long)refs[200].id, refs[200].existing);
    int fresh = 0;
    for (int i = 0; i < n; i++)
        fresh += !refs[i].existing;
    CHECK(fresh == n - 4, "%d new jobs, expected %d", fresh, n - 4);
    check_refs(t->db, s, refs, n);
    free(refs);
    free(s);
    free(keys);
}

struct writer_arg {
    struct tenv *t;
    int rounds, n, failed;
    char err[512];
};

/* One connection writing rounds batches of n jobs, checking each batch's refs. */
static void *
bulk_writer(void *arg)
{
    struct writer_arg *w = arg;
    struct db *db = db_new(&w->t->cfg.mysql);
    char(*keys)[16];
    struct job_spec *s = batch_specs(w->n, false, &keys);
    struct job_ref *refs = xcalloc((size_t)w->n, sizeof(*refs));
    for (int r = 0; r < w->rounds && !w->failed; r++) {
        if (db_begin(db) < 0 || job_insert_batch(db, s, w->n, refs, NULL, w->err, sizeof(w->err)) ||
            db_commit(db) < 0) {
            if (w->err[0] == '\0')
                snprintf(w->err, sizeof(w->err), "%s", db_errstr(db));
            w->failed = 1;
            break;
        }
        check_refs(db, s, refs, w->n);
    }
    free(refs);
    free(s);
    free(keys);
    db_free(db);
    return NULL;
}

/* Three connections insert batches at once, so ids of one batch can fall between another's
 * (bulk executions take auto-increment values row by row): each must still read back its
 * own rows and only them. */
static void
test_bulk_concurrent_writers(struct tenv *t)
{
    enum { WRITERS = 3 };
    pthread_t th[WRITERS];
    struct writer_arg w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer_arg){.t = t, .rounds = 8, .n = 500};
        CHECK(pthread_create(&th[i], NULL, bulk_writer, &w[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < WRITERS; i++)
        CHECK(!w[i].failed, "writer %d: %s", i, w[i].err);
    CHECK(job_rows(t) == WRITERS * 8 * 500, "%lld rows, expected %d", (long long)job_rows(t),
          WRITERS * 8 * 500);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(DISTINCT uuid) FROM jobs", DB_NOP) == WRITERS * 8 * 500,
          "every job has its own uuid");
}

static const struct test_case cases[] = {
    {"e2e_job_batch_bulk_refs_match_rows", test_bulk_refs_match_rows, NULL},
    {"e2e_job_batch_bulk_skips_taken_keys", test_bulk_skips_taken_keys, NULL},
    {"e2e_job_batch_bulk_concurrent_writers", test_bulk_concurrent_writers, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
