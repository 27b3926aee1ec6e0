/* End-to-end tests of the producer's writer when rows of a batch fail on their own: the rows
 * at fault are answered alone, and the others of the batch are stored. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>

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

/* Five creates in one batch whose multi-row insert fails, and four of whose rows then fail on
 * their own (the test build's fault point writer.insert; each batch is held 0.8 s at
 * writer.batch, so that the five queue up behind a first one). The row-by-row retry gave up
 * after three rows: the good fifth was answered 503 with the fourth's error. */
static void
test_bad_rows_spare_the_good(struct tenv *t)
{
    setenv("JOBFLEET_FAULT_STALL", "writer.batch:800", 1);
    setenv("JOBFLEET_FAULT_POINT", "writer.insert@2", 1);
    setenv("JOBFLEET_FAULT_ACTION", "fail:5", 1);
    pid_t prod = tprod_start(t);
    unsetenv("JOBFLEET_FAULT_STALL");
    unsetenv("JOBFLEET_FAULT_POINT");
    unsetenv("JOBFLEET_FAULT_ACTION");
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

static const struct test_case cases[] = {
    {"e2e_writer_rows_bad_rows_spare_the_good", test_bad_rows_spare_the_good,
     "[producer]\ndb_timeout_ms = 10000\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
