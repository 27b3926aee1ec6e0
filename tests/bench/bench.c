/* jobfleet-bench: the measuring half of tests/bench/run. Each subcommand does one thing
 * against the database named by the config and prints one "key value" line per figure. */
#include "actions.h"
#include "cfg.h"
#include "db.h"
#include "ids.h"
#include "job.h"
#include "log.h"
#include "rq.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct cfg bench_cfg;

struct bench_thread {
    pthread_t th;
    int lifecycle; /* 0: insert only; 1: insert, claim, check-out */
    int64_t deadline;
    int64_t done;
    int failed;
};

/* A statement per step and a commit each, as a straightforward implementation would. */
static void *
bench_worker(void *arg)
{
    struct bench_thread *bt = arg;
    struct db *db = db_new(&bench_cfg.mysql);
    if (db_connect(db) < 0) {
        bt->failed = 1;
        db_free(db);
        return NULL;
    }
    while (now_mono_ms() < bt->deadline) {
        char uuid[37];
        ids_uuid(uuid);
        uint64_t id = 0;
        if (db_exec(db,
                    "INSERT INTO bench_jobs (uuid, origin, queue, action, parameters, priority, "
                    "state, run_at, dt_created, dt_queued) VALUES (?, 'api', 'default', "
                    "'System/Noop', '{}', 0, 'queued', NOW(6), NOW(6), NOW(6))",
                    DB_P(DBS(uuid)), NULL, &id) < 0) {
            bt->failed = 1;
            break;
        }
        if (bt->lifecycle) {
            if (db_exec(db,
                        "UPDATE bench_jobs SET state = 'running', attempt = attempt + 1, "
                        "instance_id = 1, dt_started = NOW(6) WHERE id = ? AND state = 'queued'",
                        DB_P(DBI(id)), NULL, NULL) < 0 ||
                db_exec(db,
                        "UPDATE bench_jobs SET state = 'succeeded', dt_completed = NOW(6), "
                        "is_success = 1, execution_ms = 0 WHERE id = ? AND instance_id = 1 AND "
                        "attempt = 1 AND state = 'running'",
                        DB_P(DBI(id)), NULL, NULL) < 0) {
                bt->failed = 1;
                break;
            }
        }
        bt->done++;
    }
    db_free(db);
    return NULL;
}

static int
bench_baseline(int lifecycle, int conns, int seconds)
{
    struct db *db = db_new(&bench_cfg.mysql);
    if (db_connect(db) < 0 || db_exec_static(db, "DROP TABLE IF EXISTS bench_jobs") < 0 ||
        db_exec_static(db, "CREATE TABLE bench_jobs LIKE jobs") < 0) {
        fprintf(stderr, "bench: %s\n", db_errstr(db));
        return 1;
    }
    struct bench_thread *bt = xcalloc((size_t)conns, sizeof(*bt));
    int64_t start = now_mono_ms();
    for (int i = 0; i < conns; i++) {
        bt[i].lifecycle = lifecycle;
        bt[i].deadline = start + seconds * 1000;
        pthread_create(&bt[i].th, NULL, bench_worker, &bt[i]);
    }
    int64_t total = 0;
    int failed = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(bt[i].th, NULL);
        total += bt[i].done;
        failed |= bt[i].failed;
    }
    double secs = (now_mono_ms() - start) / 1000.0;
    printf("%s_per_s %.1f\n", lifecycle ? "lifecycle" : "insert", total / secs);
    db_exec_static(db, "DROP TABLE IF EXISTS bench_jobs");
    db_free(db);
    free(bt);
    return failed;
}

/* Inserts n jobs, 1,000 per transaction, pushing each batch in one pipeline; as the API's
 * bulk enqueue does. state "pending" with a far run_at fills the scheduler's backlog. */
static int
bench_enqueue_bulk(int64_t n, const char *action, bool pending)
{
    struct db *db = db_new(&bench_cfg.mysql);
    struct rq *rq = rq_new(&bench_cfg.redis);
    if (db_connect(db) < 0) {
        fprintf(stderr, "bench: %s\n", db_errstr(db));
        return 1;
    }
    int64_t start = now_mono_ms();
    int64_t *ids = xcalloc(1000, sizeof(int64_t));
    for (int64_t off = 0; off < n; off += 1000) {
        int m = (int)(n - off < 1000 ? n - off : 1000);
        if (db_begin(db) < 0)
            return 1;
        for (int i = 0; i < m; i++) {
            struct job_spec spec = {.action = action, .origin = "api"}, chk;
            if (pending)
                spec.run_at_ms = now_wall_ms() + 86400000LL * 30;
            const char *field;
            char err[256];
            struct job_ref ref;
            if (job_spec_check(&spec, true, &chk, &field, err, sizeof(err)) != JOB_E_OK ||
                job_insert(db, &chk, &ref, err, sizeof(err)) != JOB_E_OK) {
                fprintf(stderr, "bench: %s\n", err);
                return 1;
            }
            ids[i] = ref.id;
        }
        if (db_commit(db) < 0)
            return 1;
        if (!pending && rq_push(rq, "default", ids, NULL, m) < 0) {
            fprintf(stderr, "bench: %s\n", rq_errstr(rq));
            return 1;
        }
    }
    printf("bulk_enqueue_per_s %.1f\n", n / ((now_mono_ms() - start) / 1000.0));
    free(ids);
    db_free(db);
    rq_free(rq);
    return 0;
}

/* Appends "(?,?,...)" lists: n groups of the given text, comma-separated. */
static void
bench_repeat(struct buf *b, const char *group, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            buf_appends(b, ",");
        buf_appends(b, group);
    }
}

/* Inserts n queued no-op jobs, rows_per statement (autocommit); returns jobs/s or -1. */
static double
bench_ceiling_insert(struct db *db, int64_t n, int rows_per)
{
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "INSERT INTO jobs (uuid, origin, queue, action, parameters, priority, state, "
                      "run_at, dt_created, dt_queued) VALUES ");
    bench_repeat(&sql, "(?,'api','default','System/Noop','{}',0,'queued',NOW(6),NOW(6),NOW(6))",
                 rows_per);
    struct db_param *p = xcalloc((size_t)rows_per, sizeof(*p));
    char(*uuids)[37] = xcalloc((size_t)rows_per, sizeof(*uuids));
    int64_t start = now_mono_ms();
    int rc = 0;
    for (int64_t off = 0; off + rows_per <= n && rc == 0; off += rows_per) {
        for (int i = 0; i < rows_per; i++) {
            ids_uuid(uuids[i]);
            p[i] = DBS(uuids[i]);
        }
        rc = db_exec(db, sql.data, p, rows_per, NULL, NULL);
    }
    double secs = (now_mono_ms() - start) / 1000.0;
    buf_release(&sql);
    free(p);
    free(uuids);
    return rc < 0 ? -1 : (double)(n - n % rows_per) / secs;
}

/* The writes of a drain for the ids, batch per statement on one connection: the claim (its
 * own commit), then the check-out and the attempt rows in one transaction. Returns jobs/s or
 * -1. */
static double
bench_ceiling_drain(struct db *db, const int64_t *ids, int n, int batch)
{
    struct buf claim, done, att;
    buf_init(&claim, 0);
    buf_init(&done, 0);
    buf_init(&att, 0);
    struct buf ids_in;
    buf_init(&ids_in, 0);
    bench_repeat(&ids_in, "?", batch);
    buf_printf(&claim,
               "UPDATE jobs SET state = 'running', attempt = attempt + 1, instance_id = 1, "
               "claim_token = 1, dt_started = NOW(6), dt_deadline = NOW(6) + INTERVAL "
               "timeout_s SECOND WHERE state = 'queued' AND id IN (%s)",
               ids_in.data);
    buf_printf(&done,
               "UPDATE jobs SET state = 'succeeded', dt_completed = NOW(6), is_success = 1, "
               "execution_ms = 0, unique_key = NULL WHERE instance_id = 1 AND attempt = 1 "
               "AND state = 'running' AND id IN (%s)",
               ids_in.data);
    buf_release(&ids_in);
    buf_appends(&att, "INSERT INTO job_attempts (job_id, attempt, instance_id, dt_started, "
                      "dt_completed, outcome, execution_ms) VALUES ");
    bench_repeat(&att, "(?,1,1,NOW(6),NOW(6),'succeeded',0)", batch);
    struct db_param *p = xcalloc((size_t)batch, sizeof(*p));
    int64_t start = now_mono_ms();
    int rc = 0, k;
    for (k = 0; k + batch <= n && rc == 0; k += batch) {
        for (int i = 0; i < batch; i++)
            p[i] = DBI(ids[k + i]);
        rc = db_exec(db, claim.data, p, batch, NULL, NULL) < 0 || db_begin(db) < 0 ||
                     db_exec(db, done.data, p, batch, NULL, NULL) < 0 ||
                     db_exec(db, att.data, p, batch, NULL, NULL) < 0 || db_commit(db) < 0
                 ? -1
                 : 0;
    }
    double secs = (now_mono_ms() - start) / 1000.0;
    buf_release(&claim);
    buf_release(&done);
    buf_release(&att);
    free(p);
    return rc < 0 ? -1 : k / secs;
}

/* The ceilings a drain and a bulk enqueue are measured against: the same writes as few
 * statements can carry, on one connection, no Redis, no worker (issue 17). */
static int
bench_ceiling(int64_t n, int batch)
{
    struct db *db = db_new(&bench_cfg.mysql);
    if (db_connect(db) < 0) {
        fprintf(stderr, "bench: %s\n", db_errstr(db));
        return 1;
    }
    double ins = bench_ceiling_insert(db, n, 1000);
    struct db_rows *r =
        db_query(db, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id", DB_NOP);
    if (ins < 0 || r == NULL) {
        fprintf(stderr, "bench: %s\n", db_errstr(db));
        return 1;
    }
    int64_t *ids = xcalloc((size_t)r->n_rows + 1, sizeof(*ids));
    for (int i = 0; i < r->n_rows; i++)
        ids[i] = db_rows_int(r, i, 0, 0);
    double drain = bench_ceiling_drain(db, ids, r->n_rows, batch);
    db_rows_free(r);
    free(ids);
    if (drain < 0) {
        fprintf(stderr, "bench: %s\n", db_errstr(db));
        return 1;
    }
    printf("insert_ceiling_per_s %.1f\ndrain_ceiling_per_s %.1f\n", ins, drain);
    db_free(db);
    return 0;
}

static int64_t
bench_count(struct db *db, const char *state)
{
    struct db_rows *r = db_query(db, "SELECT COUNT(*) FROM jobs WHERE state = ?", DB_P(DBS(state)));
    int64_t n = r ? db_rows_int(r, 0, 0, 0) : -1;
    db_rows_free(r);
    return n;
}

/* True while a job is left to run. The query stops at the first such row: the COUNT(*) of
 * the succeeded rows this polled before cost MariaDB ~11 ms at 100,000 rows, five times a
 * second, CPU taken from the drain it measured. */
static int
bench_busy(struct db *db)
{
    struct db_rows *r = db_query(db,
                                 "SELECT EXISTS (SELECT 1 FROM jobs WHERE state IN "
                                 "('pending', 'queued', 'running'))",
                                 DB_NOP);
    int busy = r ? (int)db_rows_int(r, 0, 0, 1) : -1;
    db_rows_free(r);
    return busy;
}

/* Waits until no job is left to run, checks that n succeeded, and reports the drain rate from
 * the first start to the last completion. */
static int
bench_wait_drain(int64_t n, int timeout_s)
{
    struct db *db = db_new(&bench_cfg.mysql);
    int64_t deadline = now_mono_ms() + timeout_s * 1000LL;
    int busy;
    while ((busy = bench_busy(db)) != 0) {
        if (busy < 0 || now_mono_ms() > deadline) {
            fprintf(stderr, "bench: drain %s with %lld of %lld succeeded\n",
                    busy < 0 ? "unreadable" : "timed out", (long long)bench_count(db, "succeeded"),
                    (long long)n);
            return 1;
        }
        sleep_ms(200);
    }
    if (bench_count(db, "succeeded") < n) {
        fprintf(stderr, "bench: the drain ended with %lld of %lld succeeded\n",
                (long long)bench_count(db, "succeeded"), (long long)n);
        return 1;
    }
    struct db_rows *r = db_query(db,
                                 "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(dt_started), "
                                 "MAX(dt_completed)), COUNT(*) FROM jobs WHERE state = 'succeeded'",
                                 DB_NOP);
    double us = (double)db_rows_int(r, 0, 0, 1);
    int64_t cnt = db_rows_int(r, 0, 1, 0);
    db_rows_free(r);
    r = db_query(db, "SELECT COUNT(*), COUNT(DISTINCT job_id) FROM job_attempts", DB_NOP);
    printf("drain_per_s %.1f\nattempt_rows %lld\nattempt_jobs %lld\n", cnt / (us / 1e6),
           (long long)db_rows_int(r, 0, 0, 0), (long long)db_rows_int(r, 0, 1, 0));
    db_rows_free(r);
    db_free(db);
    return 0;
}

struct bench_pacer {
    pthread_t th;
    int n;              /* jobs to enqueue */
    double interval_ms; /* between this thread's jobs */
    int64_t t0;
    int64_t first; /* the first job's id */
    int64_t *ids;  /* each job's id, and the wall clock (us) once its commit returned */
    int64_t *committed_us;
    int failed;
};

static int64_t
bench_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Inserts one System/Noop job as the API would, with its commit; fills ref. -1 (said on
 * stderr) on failure. */
static int
bench_insert_noop(struct db *db, struct job_ref *ref)
{
    struct job_spec spec = {.action = "System/Noop", .origin = "api"}, chk;
    const char *field;
    char err[256];
    if (job_spec_check(&spec, true, &chk, &field, err, sizeof(err)) != JOB_E_OK ||
        job_insert(db, &chk, ref, err, sizeof(err)) != JOB_E_OK) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    return 0;
}

/* Enqueues one job at a time (insert with its commit, then push), the i-th at t0 + i * interval:
 * no sleep when behind, so the offered load stays the rate asked whatever the latency. */
static void *
bench_pace(void *arg)
{
    struct bench_pacer *bp = arg;
    struct db *db = db_new(&bench_cfg.mysql);
    struct rq *rq = rq_new(&bench_cfg.redis);
    for (int i = 0; i < bp->n && !bp->failed; i++) {
        struct job_ref ref;
        if (bench_insert_noop(db, &ref) < 0) {
            bp->failed = 1;
            break;
        }
        bp->ids[i] = ref.id;
        bp->committed_us[i] = bench_wall_us();
        if (bp->first == 0)
            bp->first = ref.id;
        job_push(rq, &ref);
        int64_t next = bp->t0 + (int64_t)((i + 1) * bp->interval_ms);
        if (next > now_mono_ms())
            sleep_ms(next - now_mono_ms());
    }
    db_free(db);
    rq_free(rq);
    return NULL;
}

static int
bench_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The part of the pickup that follows the enqueue's commit: from the moment each job's commit
 * returned to its dt_started, both read off this machine's wall clock. Prints its p50, p99
 * and max, so a table can tell the disk's fsync tail (in the commit) from the fleet's. */
static void
bench_after_commit(struct db *db, const struct bench_pacer *bp, int threads, int64_t first)
{
    int n = 0;
    for (int k = 0; k < threads; k++)
        n += bp[k].n;
    /* Pairs (id, committed_us), sorted by id to meet the rows in id order. */
    int64_t(*pair)[2] = xcalloc((size_t)n + 1, sizeof(*pair));
    int m = 0;
    for (int k = 0; k < threads; k++)
        for (int i = 0; i < bp[k].n; i++, m++) {
            pair[m][0] = bp[k].ids[i];
            pair[m][1] = bp[k].committed_us[i];
        }
    qsort(pair, (size_t)m, sizeof(*pair), bench_cmp_i64);
    struct db_rows *r = db_query(db,
                                 "SELECT id, CAST(UNIX_TIMESTAMP(dt_started) * 1000000 AS SIGNED) "
                                 "FROM jobs WHERE id >= ? AND dt_started IS NOT NULL ORDER BY id",
                                 DB_P(DBI(first)));
    int64_t *lat = xcalloc((size_t)n + 1, sizeof(*lat));
    int got = 0;
    for (int row = 0, j = 0; r && row < r->n_rows && j < m; row++) {
        int64_t id = db_rows_int(r, row, 0, 0);
        while (j < m && pair[j][0] < id)
            j++;
        if (j < m && pair[j][0] == id)
            lat[got++] = db_rows_int(r, row, 1, 0) - pair[j][1];
    }
    db_rows_free(r);
    if (got > 0) {
        qsort(lat, (size_t)got, sizeof(*lat), bench_cmp_i64);
        printf("after_commit_p50_ms %.2f\nafter_commit_p99_ms %.2f\nafter_commit_max_ms %.2f\n",
               lat[got / 2] / 1000.0, lat[(int)(got * 0.99)] / 1000.0, lat[got - 1] / 1000.0);
    }
    free(lat);
    free(pair);
}

static void
bench_pacers_free(struct bench_pacer *bp, int threads)
{
    for (int k = 0; k < threads; k++) {
        free(bp[k].ids);
        free(bp[k].committed_us);
    }
    free(bp);
}

/* Enqueues n jobs interval_ms apart in all (a steady load: 1 ms is 1,000 jobs/s) from threads
 * connections, and reports the enqueue to dt_started percentiles and the rate achieved. */
static int
bench_latency(int n, double interval_ms, int threads)
{
    if (threads < 1)
        threads = 1;
    struct bench_pacer *bp = xcalloc((size_t)threads, sizeof(*bp));
    int64_t t0 = now_mono_ms();
    for (int k = 0; k < threads; k++) {
        bp[k] = (struct bench_pacer){.n = n / threads,
                                     .interval_ms = interval_ms * threads,
                                     .t0 = t0 + (int64_t)(k * interval_ms),
                                     .ids = xcalloc((size_t)(n / threads + 1), sizeof(int64_t)),
                                     .committed_us =
                                         xcalloc((size_t)(n / threads + 1), sizeof(int64_t))};
        pthread_create(&bp[k].th, NULL, bench_pace, &bp[k]);
    }
    int64_t first = 0;
    int failed = 0;
    for (int k = 0; k < threads; k++) {
        pthread_join(bp[k].th, NULL);
        failed |= bp[k].failed;
        if (first == 0 || (bp[k].first && bp[k].first < first))
            first = bp[k].first;
    }
    if (failed) {
        bench_pacers_free(bp, threads);
        return 1;
    }
    n = n / threads * threads;
    double rate = n / ((now_mono_ms() - t0) / 1000.0);
    struct db *db = db_new(&bench_cfg.mysql);
    int64_t deadline = now_mono_ms() + 60000;
    struct db_rows *r = NULL;
    for (;;) {
        r = db_query(db,
                     "SELECT TIMESTAMPDIFF(MICROSECOND, dt_created, dt_started) FROM jobs "
                     "WHERE id >= ? AND dt_started IS NOT NULL ORDER BY 1",
                     DB_P(DBI(first)));
        if (r && r->n_rows >= n)
            break;
        db_rows_free(r);
        if (now_mono_ms() > deadline) {
            fprintf(stderr, "bench: latency jobs never all started\n");
            bench_pacers_free(bp, threads);
            db_free(db);
            return 1;
        }
        sleep_ms(100);
    }
    double p50 = db_rows_int(r, r->n_rows / 2, 0, 0) / 1000.0;
    double p99 = db_rows_int(r, (int)(r->n_rows * 0.99), 0, 0) / 1000.0;
    double mx = db_rows_int(r, r->n_rows - 1, 0, 0) / 1000.0;
    printf("pickup_p50_ms %.2f\npickup_p99_ms %.2f\npickup_max_ms %.2f\nenqueue_per_s %.0f\n", p50,
           p99, mx, rate);
    db_rows_free(r);
    bench_after_commit(db, bp, threads, first);
    bench_pacers_free(bp, threads);
    db_free(db);
    return 0;
}

/* The floor under the idle pickup: what a pickup must wait for with nothing of the fleet's
 * in between. Every interval_ms, one connection inserts a job (its commit: invariant 1) and a
 * second one at once marks it started (the claim's commit: invariant 3), each statement
 * autocommitted as the fleet's are. Prints dt_started - dt_created over the n jobs, the
 * pickup's own measure, so a table can tell the fleet's share of the pickup from the disk's.
 * The rows end done (so the scheduler's lease recovery leaves them be) and are deleted after,
 * so a later wait-drain counts only the fleet's jobs. */
static int
bench_floor(int n, int interval_ms)
{
    struct db *a = db_new(&bench_cfg.mysql), *b = db_new(&bench_cfg.mysql);
    int64_t first = 0, last = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        struct job_ref ref;
        if (bench_insert_noop(a, &ref) < 0) {
            rc = 1;
            break;
        }
        if (first == 0)
            first = ref.id;
        last = ref.id;
        uint64_t hit = 0;
        int e = db_exec(b,
                        "UPDATE jobs SET state = 'succeeded', attempt = attempt + 1, dt_started = "
                        "NOW(6), dt_completed = NOW(6), is_success = 1 WHERE id = ? AND state = "
                        "'queued'",
                        DB_P(DBI(ref.id)), &hit, NULL);
        if (e < 0 || hit != 1) {
            fprintf(stderr, "bench: floor: job %lld: %s\n", (long long)ref.id,
                    e < 0 ? db_errstr(b) : "no longer queued (is a worker running?)");
            rc = 1;
        }
        sleep_ms(interval_ms);
    }
    struct db_rows *r = rc ? NULL
                           : db_query(a,
                                      "SELECT TIMESTAMPDIFF(MICROSECOND, dt_created, dt_started) "
                                      "FROM jobs WHERE id BETWEEN ? AND ? AND dt_started IS NOT "
                                      "NULL ORDER BY 1",
                                      DB_P(DBI(first), DBI(last)));
    if (r && r->n_rows > 0)
        printf("floor_p50_ms %.2f\nfloor_p99_ms %.2f\n",
               db_rows_int(r, r->n_rows / 2, 0, 0) / 1000.0,
               db_rows_int(r, (int)(r->n_rows * 0.99), 0, 0) / 1000.0);
    else if (rc == 0)
        fprintf(stderr, "bench: floor: reading the rows back: %s\n", db_errstr(a));
    if (r == NULL || r->n_rows == 0)
        rc = 1;
    if (rc == 0 && db_exec(a, "DELETE FROM jobs WHERE id BETWEEN ? AND ?",
                           DB_P(DBI(first), DBI(last)), NULL, NULL) < 0)
        rc = 1;
    db_rows_free(r);
    db_free(a);
    db_free(b);
    return rc;
}

/* The disk under MariaDB's files, for the latency figures: n writes of 4 KiB to a file at
 * path, each followed by fdatasync (what a commit waits for), 5 ms apart as on an idle fleet.
 * Prints the fdatasync's p50 and p99. */
static int
bench_fsync(const char *path, int n)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || n < 1) {
        fprintf(stderr, "bench: %s: %s\n", path, n < 1 ? "no samples asked" : strerror(errno));
        return 1;
    }
    char block[4096] = {0};
    int64_t *us = xcalloc((size_t)n, sizeof(*us));
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int64_t t = now_mono_us();
        if (pwrite(fd, block, sizeof(block), (off_t)(i % 256) * 4096) != (ssize_t)sizeof(block) ||
            fdatasync(fd) < 0)
            rc = 1;
        us[i] = now_mono_us() - t;
        sleep_ms(5);
    }
    close(fd);
    unlink(path);
    qsort(us, (size_t)n, sizeof(*us), bench_cmp_i64);
    if (rc == 0)
        printf("fdatasync_p50_ms %.2f\nfdatasync_p99_ms %.2f\n", us[n / 2] / 1000.0,
               us[(int)(n * 0.99)] / 1000.0);
    else
        fprintf(stderr, "bench: %s: %s\n", path, strerror(errno));
    free(us);
    return rc;
}

int
main(int argc, char **argv)
{
    log_init("jobfleet-bench", LOG_LEVEL_WARN);
    actions_install();
    char err[512];
    if (argc < 2) {
        fprintf(stderr, "usage: jobfleet-bench baseline-insert|baseline-lifecycle CONNS SECONDS"
                        " | enqueue-bulk N [pending] | wait-drain N TIMEOUT_S"
                        " | latency N INTERVAL_MS [THREADS] | ceiling N BATCH"
                        " | fsync PATH N | floor N INTERVAL_MS\n(config "
                        "from $JOBFLEET_CONFIG)\n");
        return 2;
    }
    if (cfg_load(&bench_cfg, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "jobfleet-bench: %s\n", err);
        return 2;
    }
    const char *cmd = argv[1];
    int64_t a = argc > 2 ? strtoll(argv[2], NULL, 10) : 0;
    int64_t b = argc > 3 ? strtoll(argv[3], NULL, 10) : 0;
    int rc = 2;
    if (strcmp(cmd, "baseline-insert") == 0)
        rc = bench_baseline(0, (int)a, (int)b);
    else if (strcmp(cmd, "baseline-lifecycle") == 0)
        rc = bench_baseline(1, (int)a, (int)b);
    else if (strcmp(cmd, "enqueue-bulk") == 0)
        rc = bench_enqueue_bulk(a, "System/Noop", argc > 3 && strcmp(argv[3], "pending") == 0);
    else if (strcmp(cmd, "wait-drain") == 0)
        rc = bench_wait_drain(a, (int)b);
    else if (strcmp(cmd, "ceiling") == 0)
        rc = bench_ceiling(a, b > 0 ? (int)b : 256);
    else if (strcmp(cmd, "fsync") == 0 && argc > 3)
        rc = bench_fsync(argv[2], (int)b);
    else if (strcmp(cmd, "floor") == 0)
        rc = bench_floor((int)a, b > 0 ? (int)b : 10);
    else if (strcmp(cmd, "latency") == 0)
        rc = bench_latency((int)a, argc > 3 ? strtod(argv[3], NULL) : 10,
                           argc > 4 ? atoi(argv[4]) : 1);
    else
        fprintf(stderr, "jobfleet-bench: unknown command %s\n", cmd);
    cfg_release(&bench_cfg);
    return rc;
}
