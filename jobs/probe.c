/* This file holds System/Probe, the test-only job function that exercises the runtime. */
#include "probe.h"
#include "db.h"
#include "httpc.h"
#include "job.h"
#include "json.h"
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
probe_int(const cJSON *params, const char *name, int dflt)
{
    return (int)json_int(params, name, INT_MIN, INT_MAX, dflt);
}

/* One GET through the service's client: the rate budget and retries are the runtime's. */
static int
probe_request(struct job_ctx *ctx, const char *service, const char *path, char *err, size_t errlen)
{
    struct httpc *h = job_http(ctx, service, err, errlen);
    if (h == NULL)
        return -1;
    struct httpc_req req = {.method = "GET", .path = path};
    struct httpc_resp resp;
    int rc = job_http_send(ctx, h, &req, &resp);
    if (rc < 0)
        snprintf(err, errlen, "%s", resp.err);
    else
        job_debug(ctx, "GET %s: HTTP %ld after %d attempts, %lld ms waited", path, resp.status,
                  resp.attempts, (long long)resp.waited_ms);
    httpc_resp_release(&resp);
    return rc < 0 ? -1 : 0;
}

struct probe_row {
    int64_t id;
    int attempt;
};

static int
probe_insert(struct db *db, void *arg)
{
    const struct probe_row *r = arg;
    return db_exec(db, "INSERT INTO probe_rows (job_id, attempt) VALUES (?, ?)",
                   DB_P(DBI(r->id), DBI(r->attempt)), NULL, NULL);
}

/* Counts probe_rows in the named database and adds one (a plan step in a dry run). Returns
 * the count before, or -1 with err set. */
static int64_t
probe_db(struct job_ctx *ctx, const cJSON *params, const char *name, char *err, size_t errlen)
{
    struct db *db = job_db(ctx, name, err, errlen);
    if (db == NULL)
        return -1;
    /* "reconnect" drops the connection first, so the next statement opens a new session: a
     * dry run's must be read-only too. */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "reconnect")))
        db_close(db);
    struct db_rows *r = db_query(db, "SELECT COUNT(*) FROM probe_rows", DB_NOP);
    if (r == NULL) {
        snprintf(err, errlen, "count probe_rows: %s", db_errstr(db));
        return -1;
    }
    int64_t n = db_rows_int(r, 0, 0, 0);
    db_rows_free(r);
    job_info(ctx, "database %s holds %lld probe rows", name, (long long)n);
    /* force_write skips the dry-run check, to test that the runtime's read-only session
     * refuses the write. */
    if (ctx->dry_run && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "force_write"))) {
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "insert", "probe_rows");
        job_plan(ctx, step);
        return n;
    }
    struct probe_row row = {ctx->id, ctx->attempt};
    if (job_db_tx(db, probe_insert, &row) != 0) {
        snprintf(err, errlen, "insert probe_rows: %s", db_errstr(db));
        return -1;
    }
    return n;
}

static int64_t
probe_child(struct job_ctx *ctx, const char *action, char *err, size_t errlen)
{
    char key[64];
    snprintf(key, sizeof(key), "probe:%lld", (long long)ctx->id);
    struct job_spec spec = {.action = action, .idempotency_key = key};
    struct job_ref ref;
    if (job_enqueue(ctx, &spec, &ref, err, errlen) < 0)
        return -1;
    return ref.id;
}

void
system_probe(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    char err[512];
    int steps = probe_int(params, "steps", 0);
    const char *service = json_str(params, "service", NULL);
    job_info(ctx, "probe starting: %d steps%s", steps, ctx->dry_run ? " (dry run)" : "");
    for (int i = 0; i < steps; i++) {
        if (service &&
            probe_request(ctx, service, json_str(params, "path", "/ping"), err, sizeof(err)) < 0) {
            job_out_fail(out, JOB_RETRY, "%s", err);
            return;
        }
        job_progress(ctx, i + 1, steps, service ? "requests sent" : "steps done");
        if (job_ctx_sleep(ctx, probe_int(params, "sleep_ms", 0))) {
            job_out_fail(out, JOB_CANCELLED, "cancelled after %d steps", i + 1);
            return;
        }
    }
    int64_t rows = -1, child = 0;
    const char *dbname = json_str(params, "db", NULL);
    if (dbname && (rows = probe_db(ctx, params, dbname, err, sizeof(err))) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    const char *child_action = json_str(params, "child", NULL);
    if (child_action && (child = probe_child(ctx, child_action, err, sizeof(err))) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    int64_t big = json_int(params, "result_bytes", 0, INT64_C(64) << 20, 0);
    if (big > 0) {
        /* A result of that many bytes (a test of results too large to hand over). */
        char *r = xmalloc((size_t)big + 1);
        memset(r, ' ', (size_t)big);
        memcpy(r, "{}", 2);
        r[big] = '\0';
        job_out_ok(out, r);
        return;
    }
    job_out_ok(out, xasprintf("{\"steps\":%d,\"rows\":%lld,\"child\":%lld}", steps, (long long)rows,
                              (long long)child));
}
