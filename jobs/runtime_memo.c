/* This file holds the job context's memos: what a job function keeps between the attempts of
 * one job (job_memo_get, job_memo_set). */
#include "job_memo.h"
#include "runtime.h"
#include "runtime_env.h"

#include <stdio.h>
#include <string.h>

/* The fleet database for a memo of this run, or NULL when there is none to keep: no job row
 * (`jobfleet run`), or the database is unreachable (-1 in *rc then). */
static struct db *
job_memo_db(struct job_ctx *ctx, char *err, size_t errlen, int *rc)
{
    *rc = 0;
    if (ctx->id <= 0 || ctx->env == NULL)
        return NULL;
    struct db *db = job_env_fleet(ctx->env);
    if (db == NULL) {
        snprintf(err, errlen, "the fleet database is unreachable");
        *rc = -1;
    }
    return db;
}

int
job_memo_get(struct job_ctx *ctx, const char *name, char *out, size_t len, char *err, size_t errlen)
{
    int rc;
    if (len > 0)
        out[0] = '\0';
    struct db *db = job_memo_db(ctx, err, errlen, &rc);
    if (db == NULL)
        return rc;
    rc = job_memo_read(db, ctx->id, name, out, len);
    if (rc < 0)
        snprintf(err, errlen, "reading memo %s: %s", name, db_errstr(db));
    return rc;
}

int
job_memo_set(struct job_ctx *ctx, const char *name, const char *value, char *err, size_t errlen)
{
    if (strlen(name) > JOB_MEMO_NAME_MAX || strlen(value) > JOB_MEMO_VALUE_MAX) {
        snprintf(err, errlen, "memo %.64s: name or value too long (at most %d and %d bytes)", name,
                 JOB_MEMO_NAME_MAX, JOB_MEMO_VALUE_MAX);
        return -1;
    }
    int rc;
    if (ctx->dry_run)
        return 0; /* a dry run writes nothing */
    struct db *db = job_memo_db(ctx, err, errlen, &rc);
    if (db == NULL)
        return rc;
    if (job_memo_write(db, ctx->id, name, value) < 0) {
        snprintf(err, errlen, "writing memo %s: %s", name, db_errstr(db));
        return -1;
    }
    return 0;
}
