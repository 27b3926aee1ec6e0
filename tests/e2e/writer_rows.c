/* End-to-end tests of the producer's writer when rows of a batch fail on their own: the rows
 * at fault are answered alone, and the others of the batch are stored. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_POSTS 5

struct post {
    struct tenv *t;
    long status;
};

static void *
post_main(void *arg)
{
    struct post *p = arg;
    p->status = tprod_call(p->t, "POST", "/api/jobs", "{\"action\":\"System/Noop\"}", NULL, NULL);
    return NULL;
}

/* Starts the producer with stall (NAME:MS, every batch held at writer.batch) and the fault
 * point (NAME@N) failing as action says (fail:K); unsets the three variables once it runs. */
static pid_t
start_with_faults(struct tenv *t, const char *stall, const char *point, const char *action)
{
    setenv("JOBFLEET_FAULT_STALL", stall, 1);
    setenv("JOBFLEET_FAULT_POINT", point, 1);
    setenv("JOBFLEET_FAULT_ACTION", action, 1);
    pid_t prod = tprod_start(t);
    unsetenv("JOBFLEET_FAULT_STALL");
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
    return prod;
}

/* Five creates in one batch whose multi-row insert fails, and four of whose rows then fail on
 * their own (the test build's fault point writer.insert; each batch is held 0.8 s at
 * writer.batch, so that the five queue up behind a first one). The row-by-row retry gave up
 * after three rows: the good fifth was answered 503 with the fourth's error. */
static void
test_bad_rows_spare_the_good(struct tenv *t)
{
    pid_t prod = start_with_faults(t, "writer.batch:800", "writer.insert@2", "fail:5");
    struct post first = {.t = t};
    pthread_t first_tid, tid[N_POSTS];
    CHECK(pthread_create(&first_tid, NULL, post_main, &first) == 0, "thread");
    WAIT_UNTIL(t_log_has(t, prod, "writer.batch: stalled"), 10000,
               "the first create never reached the writer");
    struct post p[N_POSTS];
    for (int i = 0; i < N_POSTS; i++) {
        p[i] = (struct post){.t = t};
        CHECK(pthread_create(&tid[i], NULL, post_main, &p[i]) == 0, "thread");
    }
    pthread_join(first_tid, NULL);
    int stored = 0;
    for (int i = 0; i < N_POSTS; i++) {
        pthread_join(tid[i], NULL);
        stored += p[i].status == 201;
    }
    CHECK(first.status == 201, "the first create: %ld", first.status);
    CHECK(stored == 1,
          "%d of the five stored: the row of the four that fail on their own "
          "should not cost the good one",
          stored);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "two jobs stored");
}

struct keyed_post {
    struct tenv *t;
    const char *key; /* Idempotency-Key, or NULL */
    long status;
    char *body;
};

static void *
keyed_post_main(void *arg)
{
    struct keyed_post *p = arg;
    char h[64];
    snprintf(h, sizeof(h), "Idempotency-Key: %s", p->key ? p->key : "");
    const char *hdrs[] = {TPROD_AUTH, p->key ? h : NULL, NULL};
    const char *body = "{\"action\":\"System/Noop\"}";
    p->status = tprod_post(p->t, "/api/jobs", body, strlen(body), hdrs, &p->body);
    return NULL;
}

/* Runs the posts of ps[0..n-1] at once, as one batch: each batch is held 3 s at writer.batch,
 * and these queue up behind a first, keyless create (fails the test unless they all wait for
 * the writer before its hold of the first ends). */
static void
post_as_one_batch(struct tenv *t, pid_t prod, struct keyed_post *ps, int n)
{
    int stalls = t_log_count(t, prod, "writer.batch: stalled");
    struct keyed_post first = {.t = t};
    pthread_t first_tid, tid[8];
    CHECK(pthread_create(&first_tid, NULL, keyed_post_main, &first) == 0, "thread");
    WAIT_UNTIL(t_log_count(t, prod, "writer.batch: stalled") > stalls, 10000,
               "the first create never reached the writer");
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&tid[i], NULL, keyed_post_main, &ps[i]) == 0, "thread");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_writer_waiting_requests") == n + 1, 2500,
               "the %d creates did not queue up behind the first while it was held", n);
    pthread_join(first_tid, NULL);
    CHECK(first.status == 201, "the first create: %ld", first.status);
    free(first.body);
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
}

/* A batch without keys the multi-row statement cannot take commits with that one statement
 * (autocommit). When a key of the batch was taken, the writer looks the holder up next; that
 * read failing with the connection kept was taken for "nothing written", and the batch was
 * written again row by row: its keyless jobs were stored twice. Now the batch's outcome is
 * unknown: 503, and each job stored once. */
static void
test_read_after_autocommit(struct tenv *t)
{
    pid_t prod = start_with_faults(t, "writer.batch:3000", "batch.find@1", "fail:1");
    struct keyed_post k1 = {.t = t, .key = "k1"};
    post_as_one_batch(t, prod, &k1, 1);
    CHECK(k1.status == 201, "the keyed create: %ld %s", k1.status, k1.body ? k1.body : "");
    struct keyed_post ps[4] = {{.t = t, .key = "k1"}, {.t = t}, {.t = t}, {.t = t}};
    post_as_one_batch(t, prod, ps, 4);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key IS NULL", DB_NOP) == 5,
          "the keyless jobs (two first creates, three of the batch) stored once each: %lld",
          (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key IS NULL",
                               DB_NOP));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 6, "six jobs in all");
    CHECK(!t_log_has(t, prod, "MariaDB unavailable"), "the writer took MariaDB for down");
    for (int i = 0; i < 4; i++)
        CHECK(ps[i].status == 503 && ps[i].body && strstr(ps[i].body, "outcome_unknown"),
              "create %d of the batch whose read failed: %ld %s", i, ps[i].status,
              ps[i].body ? ps[i].body : "");
    free(k1.body);
    for (int i = 0; i < 4; i++)
        free(ps[i].body);
}

static const struct test_case cases[] = {
    {"e2e_writer_rows_bad_rows_spare_the_good", test_bad_rows_spare_the_good,
     "[producer]\ndb_timeout_ms = 10000\n"},
    {"e2e_writer_rows_read_after_autocommit", test_read_after_autocommit,
     "[producer]\ndb_timeout_ms = 10000\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
