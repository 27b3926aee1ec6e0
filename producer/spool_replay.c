/* This file replays the spool into MariaDB once it is reachable again: oldest entry first, in
 * transactions of a few dozen, each entry under the idempotency key it was spooled with, so an
 * entry replayed twice (a crash between the commit and the file's removal, or a write whose
 * commit was unknown when the request spooled it) still makes exactly one job. A file is
 * removed only after its job is committed. */
#include "log.h"
#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLAY_CHUNK 100
#define REPLAY_IDLE_MS 500
#define REPLAY_RETRY_MS 1000

struct spool_replay {
    struct producer *p;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop, kicked;
    struct db *db;
    struct rq *rq;
};

/* Turns an entry into a checked job spec; strings stay borrowed from the entry. */
static int
replay_spec(struct spool_replay *r, const struct spool_entry *e, struct job_spec *out, char *err,
            size_t errlen)
{
    struct job_spec spec = {.action = e->action,
                            .parameters = e->parameters,
                            .idempotency_key = e->idempotency_key,
                            .origin = "webhook"};
    const char *field = NULL;
    if (job_spec_check(&spec, r->p->cfg->worker.test_actions, out, &field, err, errlen) != JOB_E_OK)
        return -1;
    return 0;
}

/* True for MariaDB errors that come from a row's values, so that trying again cannot help;
 * anything else (a deadlock with the writer, a lock wait timeout, the server going away) is
 * tried again later. */
static bool
replay_data_error(unsigned e)
{
    switch (e) {
    case 1048: /* ER_BAD_NULL_ERROR */
    case 1264: /* ER_WARN_DATA_OUT_OF_RANGE */
    case 1265: /* WARN_DATA_TRUNCATED */
    case 1292: /* ER_TRUNCATED_WRONG_VALUE */
    case 1366: /* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: not UTF-8 */
    case 1406: /* ER_DATA_TOO_LONG */
        return true;
    default:
        return false;
    }
}

/* Replays up to n entries in one transaction. Entries that can never be stored are moved to
 * failed/. Returns the number replayed, -1 when MariaDB failed (try again later), or -2 when
 * an entry was put aside and the rest must be listed and tried again. */
static int
replay_chunk(struct spool_replay *r, char **ids, int n)
{
    struct spool *sp = r->p->spool;
    struct spool_entry *e = xcalloc((size_t)n, sizeof(*e));
    struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
    bool *ok = xcalloc((size_t)n, sizeof(*ok));
    char err[512];
    int rc = -1, good = 0;
    for (int i = 0; i < n; i++) {
        if (spool_read(sp, ids[i], &e[i], err, sizeof(err)) < 0) {
            log_error("spool: %s", err);
            spool_quarantine(sp, ids[i]);
            continue;
        }
        ok[i] = true;
    }
    if (db_begin(r->db) < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        struct job_spec spec;
        if (replay_spec(r, &e[i], &spec, err, sizeof(err)) < 0) {
            log_error("spool: %s: %s", ids[i], err);
            spool_quarantine(sp, ids[i]);
            ok[i] = false;
            continue;
        }
        if (job_insert(r->db, &spec, &refs[i], err, sizeof(err)) != JOB_E_OK) {
            if (db_lost(r->db) || !replay_data_error(db_errno(r->db))) {
                log_warnx("spool replay: %s", err);
                goto out;
            }
            /* This entry's own data can never be stored. Put it aside and redo the rest. */
            db_rollback(r->db);
            log_error("spool: %s: %s", ids[i], err);
            spool_quarantine(sp, ids[i]);
            rc = -2;
            goto out;
        }
    }
    if (db_commit(r->db) < 0) {
        /* Unknown or failed: either way the files stay, and the keys make a repeat harmless. */
        log_warnx("spool replay: commit: %s", db_errstr(r->db));
        db_rollback(r->db);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (ok[i])
            refs[good++] = refs[i];
    producer_writer_push(r->p->writer, r->rq, refs, good);
    for (int i = 0; i < n; i++)
        if (ok[i])
            spool_remove(sp, ids[i]);
    atomic_fetch_add(&r->p->metrics.spool_replayed, good);
    rc = good;
out:
    if (rc == -1 && !db_lost(r->db))
        db_rollback(r->db);
    for (int i = 0; i < n; i++)
        spool_entry_release(&e[i]);
    free(e);
    free(refs);
    free(ok);
    return rc;
}

/* Replays everything on disk now. Returns 0 when done, 1 when it must run again at once, -1
 * when MariaDB is not taking writes. */
static int
replay_round(struct spool_replay *r)
{
    char **ids = NULL;
    int n = 0, rc = 0, total = 0;
    if (spool_list(r->p->spool, &ids, &n) < 0)
        return -1;
    for (int off = 0; off < n && rc == 0; off += REPLAY_CHUNK) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        int m = n - off < REPLAY_CHUNK ? n - off : REPLAY_CHUNK;
        int got = replay_chunk(r, ids + off, m);
        if (got == -2)
            rc = 1;
        else if (got < 0)
            rc = -1;
        else
            total += got;
    }
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (total)
        log_info("spool: replayed %d webhooks into MariaDB; %lld left", total,
                 (long long)spool_files(r->p->spool));
    return rc;
}

static void *
replay_main(void *arg)
{
    struct spool_replay *r = arg;
    int64_t next_try = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (!r->stop && !r->kicked) {
            struct timespec ts = deadline_after_ms(CLOCK_MONOTONIC, REPLAY_IDLE_MS);
            pthread_cond_timedwait(&r->cond, &r->mu, &ts);
        }
        bool stop = r->stop;
        r->kicked = false;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        /* Entries written while MariaDB is down wait until the writer sees it back, so the
         * replay does not hammer a server that is still starting. */
        if (spool_files(r->p->spool) == 0 || !producer_writer_db_up(r->p->writer) ||
            now_mono_ms() < next_try)
            continue;
        int rc;
        while ((rc = replay_round(r)) == 1)
            ;
        if (rc < 0)
            next_try = now_mono_ms() + REPLAY_RETRY_MS;
    }
    return NULL;
}

struct spool_replay *
spool_replay_start(struct producer *p)
{
    struct spool_replay *r = xcalloc(1, sizeof(*r));
    r->p = p;
    r->db = db_new(&p->cfg->mysql);
    r->rq = rq_new(&p->cfg->redis);
    pthread_mutex_init(&r->mu, NULL);
    cond_init_monotonic(&r->cond);
    if (pthread_create(&r->tid, NULL, replay_main, r) != 0)
        fatal("pthread_create");
    return r;
}

void
spool_replay_kick(struct spool_replay *r)
{
    pthread_mutex_lock(&r->mu);
    r->kicked = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

void
spool_replay_stop(struct spool_replay *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->tid, NULL);
    db_free(r->db);
    rq_free(r->rq);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
