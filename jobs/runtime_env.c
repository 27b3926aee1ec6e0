/* This file holds the runtime's connections: the fleet database and Redis, the [db.<name>]
 * databases, transactions, and child jobs. */
#include "runtime_env.h"
#include "action.h"
#include "cfg.h"
#include "db.h"
#include "job.h"
#include "rq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job_env *
job_env_new(const struct cfg *cfg, bool foreground)
{
    struct job_env *env = xcalloc(1, sizeof(*env));
    env->cfg = cfg;
    env->foreground = foreground;
    return env;
}

void
job_env_free(struct job_env *env)
{
    if (env == NULL)
        return;
    job_env_http_free(env);
    db_free(env->fleet);
    rq_free(env->rq);
    for (int i = 0; i < env->n_dbs; i++) {
        free(env->dbs[i].name);
        db_free(env->dbs[i].db);
    }
    free(env->dbs);
    free(env);
}

struct db *
job_env_fleet(struct job_env *env)
{
    if (env->fleet == NULL)
        env->fleet = db_new(&env->cfg->mysql);
    /* A lost connection is closed by the db layer; the next statement reconnects. */
    db_check_idle(env->fleet, DB_IDLE_CHECK_MS);
    if (!db_connected(env->fleet) && db_connect(env->fleet) < 0) {
        log_warnx("job runtime: fleet database: %s", db_errstr(env->fleet));
        return NULL;
    }
    return env->fleet;
}

struct rq *
job_env_rq(struct job_env *env)
{
    if (env->rq == NULL)
        env->rq = rq_new(&env->cfg->redis);
    if (!rq_connected(env->rq) && rq_connect(env->rq) < 0) {
        log_warnx("job runtime: redis: %s", rq_errstr(env->rq));
        return NULL;
    }
    return env->rq;
}

/* The cached entry of [db.<name>], made (unconnected) on first use; NULL without a section. */
static struct job_env_db *
job_env_db_entry(struct job_env *env, const char *name, char *err, size_t errlen)
{
    for (int i = 0; i < env->n_dbs; i++)
        if (strcmp(env->dbs[i].name, name) == 0)
            return &env->dbs[i];
    struct cfg_mysql m;
    if (env->cfg == NULL || cfg_db_section(env->cfg, name, &m) < 0) {
        snprintf(err, errlen, "database \"%s\": no [db.%s] section in the configuration", name,
                 name);
        return NULL;
    }
    env->dbs = xrealloc(env->dbs, sizeof(*env->dbs) * (size_t)(env->n_dbs + 1));
    struct job_env_db *e = &env->dbs[env->n_dbs++];
    e->name = xstrdup(name);
    e->db = db_new(&m);
    return e;
}

struct db *
job_db(struct job_ctx *ctx, const char *name, char *err, size_t errlen)
{
    struct job_env_db *e = job_env_db_entry(ctx->env, name, err, errlen);
    if (e == NULL)
        return NULL;
    db_check_idle(e->db, DB_IDLE_CHECK_MS);
    if (db_set_read_only(e->db, ctx->dry_run) < 0 ||
        (!db_connected(e->db) && db_connect(e->db) < 0)) {
        snprintf(err, errlen, "database \"%s\": %s", name, db_errstr(e->db));
        return NULL;
    }
    return e->db;
}

int
job_db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg)
{
    if (db_begin(db) < 0)
        return -1;
    int rc = fn(db, arg);
    if (rc != 0) {
        db_rollback(db);
        return rc;
    }
    if (db_commit(db) < 0) {
        if (!db_lost(db))
            db_rollback(db);
        return -1;
    }
    return 0;
}

/* The step a dry run records instead of enqueueing. */
static void
job_enqueue_plan(struct job_ctx *ctx, const struct job_spec *spec)
{
    cJSON *step = cJSON_CreateObject();
    cJSON_AddStringToObject(step, "enqueue", spec->action);
    cJSON *p = cJSON_Parse(spec->parameters ? spec->parameters : "{}");
    cJSON_AddItemToObject(step, "parameters", p ? p : cJSON_CreateNull());
    if (spec->unique_key)
        cJSON_AddStringToObject(step, "unique_key", spec->unique_key);
    job_plan(ctx, step);
}

int
job_enqueue(struct job_ctx *ctx, const struct job_spec *spec, struct job_ref *ref, char *err,
            size_t errlen)
{
    memset(ref, 0, sizeof(*ref));
    struct job_spec checked, s = *spec;
    if (s.origin == NULL)
        s.origin = "job";
    const char *field = NULL;
    bool test = ctx->cfg && ctx->cfg->worker.test_actions;
    if (job_spec_check(&s, test, &checked, &field, err, errlen) != JOB_E_OK)
        return -1;
    if (ctx->dry_run) {
        job_enqueue_plan(ctx, &checked);
        return 0;
    }
    struct db *db = job_env_fleet(ctx->env);
    if (db == NULL) {
        snprintf(err, errlen, "enqueue %s: the fleet database is unreachable", spec->action);
        return -1;
    }
    char e[256];
    if (job_insert(db, &checked, ref, e, sizeof(e)) != JOB_E_OK) {
        snprintf(err, errlen, "enqueue %s: %s", spec->action, e);
        return -1;
    }
    job_count_enqueued(checked.action, ref);
    /* A failed push is left to the scheduler's reconcile (invariant 4). */
    struct rq *rq = job_env_rq(ctx->env);
    if (rq)
        job_push(rq, ref);
    job_info(ctx, "enqueued %s as job %lld%s", spec->action, (long long)ref->id,
             ref->existing ? " (an existing job)" : "");
    return 0;
}
