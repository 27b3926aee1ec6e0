/* This file replays the spool into MariaDB once it is reachable again: oldest entry first, in
 * transactions of a few dozen, each entry under the idempotency key it was spooled with, so an
 * entry replayed twice (a crash between the commit and the file's removal, or a write whose
 * commit was unknown when the request spooled it) still makes exactly one job. A file is
 * removed only after its job is committed.
 *
 * Only an entry that can never be stored (a file read whole that is not an entry, an action no
 * longer registered, values MariaDB refuses) is moved to failed/. One that cannot be read now
 * (too many open files, an I/O error), or that cannot be moved to failed/, is held: left in
 * place, skipped until its backoff ends, and logged once, so neither a good entry is lost to
 * a passing error nor a broken failed/ makes the replayer spin or flood the log. */
#include "bgthread.h"
#include "log.h"
#include "producer.h"
#include "producer_writer.h"
#include "spool.h"
#include "spool_replay.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLAY_CHUNK 100
/* A transaction also ends after this many bytes of entries: 100 entries of a megabyte body
 * each (6 MB once escaped) would otherwise be held in memory at once. */
#define REPLAY_CHUNK_BYTES (16 << 20)
#define REPLAY_IDLE_MS 500
#define REPLAY_RETRY_MS 1000
#define HOLD_FIRST_MS 1000
#define HOLD_MAX_MS 60000

/* An entry left in place for now, and when to try it again. */
struct replay_hold {
    char id[64];
    int64_t retry_ms, delay_ms;
    bool seen; /* still listed in the current round */
};

struct spool_replay {
    struct producer *p;
    struct bgthread bg; /* woken by a kick; its lock guards kicked */
    bool kicked;
    struct db *db;
    struct rq *rq;
    /* Held entries; only the replay thread touches them. */
    struct replay_hold *holds;
    int n_holds;
};

static struct replay_hold *
replay_hold_find(struct spool_replay *r, const char *id)
{
    for (int i = 0; i < r->n_holds; i++)
        if (strcmp(r->holds[i].id, id) == 0)
            return &r->holds[i];
    return NULL;
}

/* True while the entry waits out its backoff. */
static bool
replay_held(struct spool_replay *r, const char *id)
{
    struct replay_hold *h = replay_hold_find(r, id);
    if (h)
        h->seen = true;
    return h && now_mono_ms() < h->retry_ms;
}

/* Leaves an entry in place and backs off before its next try, doubling the wait each time; the
 * reason is logged the first time only. */
static void
replay_hold(struct spool_replay *r, const char *id, const char *why)
{
    struct replay_hold *h = replay_hold_find(r, id);
    if (h == NULL) {
        log_error("spool: %s: %s; left in place and tried again with backoff (not logged again)",
                  id, why);
        r->holds = xrealloc(r->holds, sizeof(*r->holds) * (size_t)(r->n_holds + 1));
        h = &r->holds[r->n_holds++];
        memset(h, 0, sizeof(*h));
        snprintf(h->id, sizeof(h->id), "%s", id);
        h->delay_ms = HOLD_FIRST_MS;
    } else {
        h->delay_ms = h->delay_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS : h->delay_ms * 2;
    }
    h->seen = true;
    h->retry_ms = now_mono_ms() + h->delay_ms;
}

/* Forgets the hold of an entry that left the spool (replayed or moved to failed/). */
static void
replay_unhold(struct spool_replay *r, const char *id)
{
    struct replay_hold *h = replay_hold_find(r, id);
    if (h == NULL)
        return;
    log_info("spool: %s is no longer held", id);
    *h = r->holds[--r->n_holds];
}

/* Moves an entry that can never be stored to failed/, or holds it when it cannot be moved. */
static void
replay_put_aside(struct spool_replay *r, const char *id, const char *why)
{
    char err[512];
    if (spool_quarantine(r->p->spool, id, err, sizeof(err)) == 0) {
        log_error("spool: %s can never be stored (%s); moved to failed/", id, why);
        replay_unhold(r, id);
        return;
    }
    char both[1024];
    snprintf(both, sizeof(both), "can never be stored (%s), and %s", why, err);
    replay_hold(r, id, both);
}

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

/* Replays up to n entries, and no more than REPLAY_CHUNK_BYTES of them, in one transaction;
 * *used is how many ids it took. Entries that can never be stored are moved to failed/.
 * Returns the number replayed, -1 when MariaDB failed (try again later), or -2 when an entry
 * was put aside and the rest must be listed and tried again. */
static int
replay_chunk(struct spool_replay *r, char **ids, int n, int *used)
{
    struct spool *sp = r->p->spool;
    struct spool_entry *e = xcalloc((size_t)n, sizeof(*e));
    struct job_ref *refs = xcalloc((size_t)n, sizeof(*refs));
    bool *ok = xcalloc((size_t)n, sizeof(*ok));
    char err[512];
    int rc = -1, good = 0;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        if (bytes >= REPLAY_CHUNK_BYTES) {
            n = i;
            break;
        }
        if (replay_held(r, ids[i]))
            continue;
        int rd = spool_read(sp, ids[i], &e[i], err, sizeof(err));
        if (rd == -2)
            replay_hold(r, ids[i], err);
        else if (rd < 0)
            replay_put_aside(r, ids[i], err);
        else {
            ok[i] = true;
            bytes += (e[i].parameters ? strlen(e[i].parameters) : 0) + 256;
        }
    }
    *used = n;
    if (db_begin(r->db) < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        struct job_spec spec;
        if (replay_spec(r, &e[i], &spec, err, sizeof(err)) < 0) {
            replay_put_aside(r, ids[i], err);
            ok[i] = false;
            continue;
        }
        if (job_insert(r->db, &spec, &refs[i], err, sizeof(err)) != JOB_E_OK) {
            if (!db_packet_too_large(r->db) && (db_lost(r->db) || !db_data_error(r->db))) {
                log_warnx("spool replay: %s", err);
                goto out;
            }
            /* This entry's own data can never be stored. Put it aside and redo the rest: a
             * held entry is skipped then, so this cannot come round again at once. */
            db_rollback(r->db);
            replay_put_aside(r, ids[i], err);
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
    producer_writer_wrote(r->p->writer);
    for (int i = 0; i < n; i++) {
        if (ok[i]) {
            job_count_enqueued(e[i].action, &refs[i]);
            refs[good++] = refs[i];
        }
    }
    producer_writer_push(r->p->writer, r->rq, refs, good);
    for (int i = 0; i < n; i++) {
        if (ok[i]) {
            spool_remove(sp, ids[i]);
            replay_unhold(r, ids[i]);
        }
    }
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
    for (int i = 0; i < r->n_holds; i++)
        r->holds[i].seen = false;
    for (int off = 0, used = 0; off < n && rc == 0; off += used) {
        bgthread_lock(&r->bg);
        bool stop = bgthread_stopping(&r->bg);
        bgthread_unlock(&r->bg);
        if (stop)
            break;
        int m = n - off < REPLAY_CHUNK ? n - off : REPLAY_CHUNK;
        int got = replay_chunk(r, ids + off, m, &used);
        if (got == -2)
            rc = 1;
        else if (got < 0)
            rc = -1;
        else
            total += got;
    }
    /* Holds of entries gone from the spool (removed by hand) are forgotten; a round cut short
     * by a stop or an error did not look at every entry, so it keeps them all. */
    for (int i = 0; rc == 0 && i < r->n_holds;) {
        if (!r->holds[i].seen && r->holds[i].retry_ms <= now_mono_ms())
            r->holds[i] = r->holds[--r->n_holds];
        else
            i++;
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
        bgthread_lock(&r->bg);
        if (!bgthread_stopping(&r->bg) && !r->kicked)
            bgthread_wait_until(&r->bg, now_mono_ms() + REPLAY_IDLE_MS);
        bool stop = bgthread_stopping(&r->bg);
        r->kicked = false;
        bgthread_unlock(&r->bg);
        if (stop)
            break;
        /* A spool refusing writes may have been given room by an operator (jobfleet spool
         * retry or drop on failed/). */
        if (spool_recount_due(r->p->spool))
            spool_recount_failed(r->p->spool);
        spool_probe(r->p->spool);
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
    if (bgthread_start(&r->bg, replay_main, r) < 0)
        fatal("pthread_create");
    return r;
}

void
spool_replay_kick(struct spool_replay *r)
{
    bgthread_lock(&r->bg);
    r->kicked = true;
    bgthread_wake(&r->bg);
    bgthread_unlock(&r->bg);
}

void
spool_replay_stop(struct spool_replay *r)
{
    if (r == NULL)
        return;
    bgthread_stop(&r->bg);
    bgthread_release(&r->bg);
    db_free(r->db);
    rq_free(r->rq);
    free(r->holds);
    free(r);
}
