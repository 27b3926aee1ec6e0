/* This file speaks to Redis through hiredis: pushes, pops and membership checks of job IDs. */
#include "rq.h"
#include "rq_int.h"
#include "log.h"
#include "retry.h"
#include "util.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After a command ran into its timeout (a server that accepts connections but does not answer:
 * stopped, swapping, partitioned after the handshake), no connection of this process asks again
 * for RQ_STALL_MS: every call would cost the full timeout, and a thread that also sends the
 * heartbeat (the worker's check-out) would fall silent for seconds per job ID and be fenced.
 * Whatever is not pushed meanwhile, the scheduler's reconcile pushes; a slot not freed expires
 * with its lease. Process-wide, because the server is: the check-out's and the limiter's
 * connections would otherwise each pay the timeout in turn. */
#define RQ_STALL_MS 5000
/* How long a command (other than the blocking pop) may wait for its answer. */
#define RQ_COMMAND_TIMEOUT_S 10
static _Atomic int64_t rq_stalled_until_ms;

struct rq *
rq_new(const struct cfg_redis *cfg)
{
    struct rq *rq = xcalloc(1, sizeof(*rq));
    rq->host = xstrdup(cfg->host ? cfg->host : "127.0.0.1");
    rq->password = xstrdup(cfg->password ? cfg->password : "");
    rq->prefix = xstrdup(cfg->prefix ? cfg->prefix : "jobfleet");
    rq->port = cfg->port;
    rq->db = cfg->db;
    return rq;
}

static void
rq_disconnect(struct rq *rq)
{
    if (rq->ctx)
        redisFree(rq->ctx);
    rq->ctx = NULL;
    rq->stale = false;
}

void
rq_free(struct rq *rq)
{
    if (rq == NULL)
        return;
    rq_disconnect(rq);
    free(rq->host);
    free(rq->password);
    free(rq->prefix);
    free(rq);
}

void
rq_fail(struct rq *rq, const char *what)
{
    /* hiredis reports a read past the socket's timeout as an I/O error with errno EAGAIN. */
    if (rq->ctx && rq->ctx->err == REDIS_ERR_IO && rq->within_ms == 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT))
        atomic_store(&rq_stalled_until_ms, now_mono_ms() + RQ_STALL_MS);
    if (rq->ctx && rq->ctx->err)
        snprintf(rq->errstr, sizeof(rq->errstr), "redis %s: %s", what, rq->ctx->errstr);
    else
        snprintf(rq->errstr, sizeof(rq->errstr), "redis %s failed", what);
    /* After an I/O or protocol error a hiredis context cannot be reused. */
    if (rq->ctx && rq->ctx->err)
        rq_disconnect(rq);
}

/* Checks a reply; frees it and records the error when it is missing or an error reply. */
redisReply *
rq_check(struct rq *rq, redisReply *r, const char *what)
{
    if (r == NULL) {
        rq_fail(rq, what);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(rq->errstr, sizeof(rq->errstr), "redis %s: %s", what, r->str);
        /* A master demoted by hand (REPLICAOF) keeps its clients' connections, unlike a
         * Sentinel failover: only a new connection can reach the new master (a moved address
         * or DNS name). Not dropped here: replies of a pipeline may still be unread. */
        if (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "MASTERDOWN", 10) == 0)
            rq->stale = true;
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Queues one command of a pipeline. hiredis refuses only when it cannot grow its output
 * buffer; the commands queued before are then half a pipeline whose replies would never match,
 * so the connection is dropped and the caller must not read replies. */
int
rq_append(struct rq *rq, int argc, const char **argv, const size_t *argvlen, const char *what)
{
    if (redisAppendCommandArgv(rq->ctx, argc, argv, argvlen) == REDIS_OK)
        return 0;
    snprintf(rq->errstr, sizeof(rq->errstr), "redis %s: cannot queue the command: %s", what,
             rq->ctx->err ? rq->ctx->errstr : "out of memory");
    rq_disconnect(rq);
    return -1;
}

/* Sets how long a command waits for its answer: RQ_COMMAND_TIMEOUT_S, or within_ms. */
static void
rq_answer_timeout(struct rq *rq)
{
    int ms = rq->within_ms > 0   ? rq->within_ms
             : rq->answer_ms > 0 ? rq->answer_ms
                                 : RQ_COMMAND_TIMEOUT_S * 1000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    redisSetTimeout(rq->ctx, tv);
}

int
rq_connect(struct rq *rq)
{
    rq_disconnect(rq);
    /* The kernel still accepts connections for a Redis that does not answer: a connect during
     * the stall would succeed, and its next command would wait the whole timeout again. */
    int64_t wait = atomic_load(&rq_stalled_until_ms) - now_mono_ms();
    if (wait > 0) {
        snprintf(rq->errstr, sizeof(rq->errstr),
                 "Redis at %s:%d did not answer in time; not asked again for %lld ms", rq->host,
                 rq->port, (long long)wait);
        return -1;
    }
    /* Within rq_command_within, the connect waits no longer than its command would. */
    int ms = rq->within_ms > 0 && rq->within_ms < 5000 ? rq->within_ms : 5000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    rq->ctx = redisConnectWithTimeout(rq->host, rq->port, tv);
    if (rq->ctx && rq->ctx->err == REDIS_ERR_IO && errno == ETIMEDOUT && rq->within_ms == 0)
        atomic_store(&rq_stalled_until_ms, now_mono_ms() + RQ_STALL_MS);
    if (rq->ctx == NULL || rq->ctx->err) {
        snprintf(rq->errstr, sizeof(rq->errstr), "connect to Redis at %s:%d: %s", rq->host,
                 rq->port, rq->ctx ? rq->ctx->errstr : "out of memory");
        rq_disconnect(rq);
        return -1;
    }
    /* Commands other than the blocking pop must not hang on a stalled server. */
    rq_answer_timeout(rq);
    if (rq->password[0]) {
        redisReply *r = rq_check(rq, redisCommand(rq->ctx, "AUTH %s", rq->password), "AUTH");
        if (r == NULL) {
            rq_disconnect(rq);
            return -1;
        }
        freeReplyObject(r);
    }
    if (rq->db) {
        redisReply *r = rq_check(rq, redisCommand(rq->ctx, "SELECT %d", rq->db), "SELECT");
        if (r == NULL) {
            rq_disconnect(rq);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

int
rq_version_check(struct rq *rq)
{
    redisReply *r = rq->ctx ? redisCommand(rq->ctx, "INFO server") : NULL;
    const char *v = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:") : NULL;
    int major = 0, minor = 0, ok = 1;
    if (v && sscanf(v, "redis_version:%d.%d", &major, &minor) == 2)
        ok = major > 6 || (major == 6 && minor >= 2);
    freeReplyObject(r);
    if (ok)
        return 0;
    snprintf(rq->errstr, sizeof(rq->errstr),
             "Redis at %s:%d is version %d.%d: jobfleet needs 6.2 or later (ZMSCORE)", rq->host,
             rq->port, major, minor);
    rq_disconnect(rq);
    return -1;
}

bool
rq_connected(const struct rq *rq)
{
    return rq->ctx != NULL && !rq->stale;
}

void
rq_set_answer_ms(struct rq *rq, int ms)
{
    rq->answer_ms = ms;
    if (rq->ctx)
        rq_answer_timeout(rq);
}

bool
rq_demoted(const struct rq *rq)
{
    return rq->stale;
}

int
rq_connect_retry(struct rq *rq, const volatile sig_atomic_t *stop)
{
    struct retry r;
    retry_init(&r, 100, 5000);
    int64_t last_log = 0;
    while (stop == NULL || !*stop) {
        if (rq_connect(rq) == 0)
            return 0;
        if (now_mono_ms() - last_log > 10000) {
            log_warnx("%s; retrying", rq->errstr);
            last_log = now_mono_ms();
        }
        if (retry_sleep(retry_fail(&r), stop))
            break;
    }
    return -1;
}

const char *
rq_errstr(const struct rq *rq)
{
    return rq->errstr;
}

int
rq_ensure(struct rq *rq)
{
    if (rq->stale)
        rq_disconnect(rq);
    return rq->ctx ? 0 : rq_connect(rq);
}

/* An argument vector under construction: the commands here take a key and many IDs, and
 * this keeps the formatting and freeing of those arguments in one place. */
struct rq_args {
    const char **argv;
    char **own;
    int argc, n_own, cap;
};

static void
rq_args_init(struct rq_args *a, int cap)
{
    a->argv = xcalloc((size_t)cap, sizeof(char *));
    a->own = xcalloc((size_t)cap, sizeof(char *));
    a->argc = a->n_own = 0;
    a->cap = cap;
}

/* Adds a borrowed argument. */
static void
rq_args_add(struct rq_args *a, const char *s)
{
    a->argv[a->argc++] = s;
}

/* Adds an argument formatted here (and freed by rq_args_release). */
static void rq_args_addf(struct rq_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rq_args_addf(struct rq_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        fatalx("out of memory formatting a Redis argument");
    va_end(ap);
    a->own[a->n_own++] = s;
    a->argv[a->argc++] = s;
}

static void
rq_args_release(struct rq_args *a)
{
    for (int i = 0; i < a->n_own; i++)
        free(a->own[i]);
    free(a->own);
    free(a->argv);
}

/* Runs the command; the reply (NULL on error, recorded on rq) is the caller's to free. */
static redisReply *
rq_args_run(struct rq *rq, const struct rq_args *a, const char *what)
{
    return rq_check(rq, redisCommandArgv(rq->ctx, a->argc, a->argv, NULL), what);
}

char *
rq_queue_key(const struct rq *rq, const char *queue)
{
    return xasprintf("%s:q:%s", rq->prefix, queue);
}

double
rq_score(int priority, int64_t id)
{
    /* Priority in the high part, the id below it: exact in a double for ids under 2^40 and
     * priorities within +-1000. */
    return (double)(-(int64_t)priority) * 1099511627776.0 + (double)id;
}

int
rq_push(struct rq *rq, const char *queue, const int64_t *ids, const int *priorities, int n)
{
    if (n <= 0)
        return 0;
    if (rq_ensure(rq) < 0)
        return -1;
    char *key = rq_queue_key(rq, queue);
    /* One ZADD of up to 512 members per command, all commands pipelined. A score is an
     * integer (see rq_score), so it is sent as one: Redis reads it back exactly. */
    const int chunk = 512;
    int ncmd = 0, rc = 0;
    bool queued = true;
    const char **argv = xcalloc((size_t)(3 + 2 * chunk), sizeof(char *));
    size_t *argvlen = xcalloc((size_t)(3 + 2 * chunk), sizeof(size_t));
    char(*text)[24] = xcalloc((size_t)(2 * chunk), sizeof(*text));
    for (int off = 0; off < n; off += chunk) {
        int m = n - off < chunk ? n - off : chunk;
        argv[0] = "ZADD";
        argv[1] = key;
        argv[2] = "NX";
        for (int k = 0; k < 3; k++)
            argvlen[k] = strlen(argv[k]);
        for (int i = 0; i < m; i++) {
            int64_t score = (int64_t)rq_score(priorities ? priorities[off + i] : 0, ids[off + i]);
            argvlen[3 + 2 * i] = format_int64(score, text[2 * i]);
            argvlen[4 + 2 * i] = format_int64(ids[off + i], text[2 * i + 1]);
            argv[3 + 2 * i] = text[2 * i];
            argv[4 + 2 * i] = text[2 * i + 1];
        }
        /* hiredis copies the arguments into its output buffer here. */
        if (rq_append(rq, 3 + 2 * m, argv, argvlen, "ZADD") < 0) {
            queued = false;
            rc = -1;
            break;
        }
        ncmd++;
    }
    free(argv);
    free(argvlen);
    free(text);
    /* Every reply is read, errors too, or the next command would get a stale one. */
    for (int i = 0; queued && i < ncmd; i++) {
        redisReply *r = NULL;
        if (redisGetReply(rq->ctx, (void **)&r) != REDIS_OK) {
            rq_fail(rq, "ZADD");
            rc = -1;
            break;
        }
        if (rq_check(rq, r, "ZADD") == NULL)
            rc = -1;
        else
            freeReplyObject(r);
    }
    free(key);
    return rc;
}

int
rq_push_each(struct rq *rq, const char *const *queues, const int64_t *ids, const int *priorities,
             int n, bool *pushed)
{
    size_t m = (size_t)(n ? n : 1);
    int64_t *qids = xcalloc(m, sizeof(*qids));
    int *qprios = xcalloc(m, sizeof(*qprios)), *at = xcalloc(m, sizeof(*at));
    bool *done = xcalloc(m, sizeof(*done));
    int rc = 0;
    for (int i = 0; i < n && pushed; i++)
        pushed[i] = false;
    for (int i = 0; i < n && rc == 0; i++) {
        if (done[i])
            continue;
        int k = 0;
        for (int j = i; j < n; j++)
            if (!done[j] && strcmp(queues[j], queues[i]) == 0) {
                qids[k] = ids[j];
                qprios[k] = priorities ? priorities[j] : 0;
                at[k++] = j;
                done[j] = true;
            }
        rc = rq_push(rq, queues[i], qids, qprios, k);
        for (int j = 0; j < k && pushed; j++)
            pushed[at[j]] = rc == 0;
    }
    free(qids);
    free(qprios);
    free(at);
    free(done);
    return rc;
}

int
rq_pop(struct rq *rq, const char *const *queues, int nq, int max, int64_t *ids, int *qidx,
       double *scores)
{
    if (rq_ensure(rq) < 0)
        return -1;
    int got = 0;
    for (int q = 0; q < nq && got < max; q++) {
        char *key = rq_queue_key(rq, queues[q]);
        redisReply *r =
            rq_check(rq, redisCommand(rq->ctx, "ZPOPMIN %s %d", key, max - got), "ZPOPMIN");
        free(key);
        if (r == NULL)
            return got ? got : -1;
        if (r->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i + 1 < r->elements; i += 2) {
                ids[got] = strtoll(r->element[i]->str, NULL, 10);
                if (scores)
                    scores[got] = strtod(r->element[i + 1]->str, NULL);
                if (qidx)
                    qidx[got] = q;
                got++;
            }
        }
        freeReplyObject(r);
    }
    return got;
}

int
rq_pop_wait(struct rq *rq, const char *const *queues, int nq, int timeout_ms, int64_t *id,
            int *qidx, double *score)
{
    if (rq_ensure(rq) < 0)
        return -1;
    int argc = nq + 2;
    const char **argv = xcalloc((size_t)argc, sizeof(char *));
    char **keys = xcalloc((size_t)nq, sizeof(char *));
    char tmo[32];
    argv[0] = "BZPOPMIN";
    for (int i = 0; i < nq; i++) {
        keys[i] = rq_queue_key(rq, queues[i]);
        argv[1 + i] = keys[i];
    }
    snprintf(tmo, sizeof(tmo), "%.3f", timeout_ms / 1000.0);
    argv[argc - 1] = tmo;
    /* The socket timeout must outlast the server-side block. */
    struct timeval tv = {.tv_sec = timeout_ms / 1000 + 5, .tv_usec = 0};
    redisSetTimeout(rq->ctx, tv);
    redisReply *r = rq_check(rq, redisCommandArgv(rq->ctx, argc, argv, NULL), "BZPOPMIN");
    if (rq->ctx)
        rq_answer_timeout(rq);
    int rc = 0;
    if (r == NULL) {
        rc = -1;
    } else {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            *id = strtoll(r->element[1]->str, NULL, 10);
            if (score)
                *score = strtod(r->element[2]->str, NULL);
            if (qidx) {
                *qidx = 0;
                for (int i = 0; i < nq; i++)
                    if (strcmp(keys[i], r->element[0]->str) == 0)
                        *qidx = i;
            }
            rc = 1;
        }
        freeReplyObject(r);
    }
    for (int i = 0; i < nq; i++)
        free(keys[i]);
    free(keys);
    free(argv);
    return rc;
}

int
rq_requeue(struct rq *rq, const char *queue, const int64_t *ids, const double *scores, int n)
{
    if (n <= 0)
        return 0;
    if (rq_ensure(rq) < 0)
        return -1;
    struct rq_args a;
    rq_args_init(&a, 3 + 2 * n);
    rq_args_add(&a, "ZADD");
    rq_args_addf(&a, "%s:q:%s", rq->prefix, queue);
    rq_args_add(&a, "NX");
    for (int i = 0; i < n; i++) {
        rq_args_addf(&a, "%.17g", scores[i]);
        rq_args_addf(&a, "%lld", (long long)ids[i]);
    }
    redisReply *r = rq_args_run(rq, &a, "ZADD");
    rq_args_release(&a);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* Builds "CMD <queue key> id..." */
static void
rq_args_ids(struct rq_args *a, const struct rq *rq, const char *cmd, const char *queue,
            const int64_t *ids, int n)
{
    rq_args_init(a, 2 + n);
    rq_args_add(a, cmd);
    rq_args_addf(a, "%s:q:%s", rq->prefix, queue);
    for (int i = 0; i < n; i++)
        rq_args_addf(a, "%lld", (long long)ids[i]);
}

int
rq_missing(struct rq *rq, const char *queue, const int64_t *ids, int n, bool *missing)
{
    if (n <= 0)
        return 0;
    if (rq_ensure(rq) < 0)
        return -1;
    struct rq_args a;
    rq_args_ids(&a, rq, "ZMSCORE", queue, ids, n);
    redisReply *r = rq_args_run(rq, &a, "ZMSCORE");
    rq_args_release(&a);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && (int)r->elements == n) {
        for (int i = 0; i < n; i++)
            missing[i] = r->element[i]->type == REDIS_REPLY_NIL;
        rc = 0;
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

int
rq_remove(struct rq *rq, const char *queue, const int64_t *ids, int n)
{
    if (n <= 0)
        return 0;
    if (rq_ensure(rq) < 0)
        return -1;
    struct rq_args a;
    rq_args_ids(&a, rq, "ZREM", queue, ids, n);
    redisReply *r = rq_args_run(rq, &a, "ZREM");
    rq_args_release(&a);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int64_t
rq_depth(struct rq *rq, const char *queue)
{
    if (rq_ensure(rq) < 0)
        return -1;
    char *key = rq_queue_key(rq, queue);
    redisReply *r = rq_check(rq, redisCommand(rq->ctx, "ZCARD %s", key), "ZCARD");
    free(key);
    if (r == NULL)
        return -1;
    int64_t n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

int64_t
rq_command(struct rq *rq, int argc, const char **argv)
{
    if (rq_ensure(rq) < 0)
        return -1;
    redisReply *r = rq_check(rq, redisCommandArgv(rq->ctx, argc, argv, NULL), argv[0]);
    if (r == NULL)
        return -1;
    int64_t v = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return v;
}

int64_t
rq_command_within(struct rq *rq, int timeout_ms, int argc, const char **argv)
{
    /* A connection made for it waits as short for AUTH and SELECT. */
    rq->within_ms = timeout_ms;
    if (rq->ctx)
        rq_answer_timeout(rq);
    int64_t v = rq_command(rq, argc, argv);
    rq->within_ms = 0;
    if (rq->ctx)
        rq_answer_timeout(rq);
    return v;
}
