/* This file holds the runtime's HTTP services: one client per [service.<name>], kept by the
 * process across jobs, drawing on the service's fleet-wide rate budget in Redis. */
#include "runtime_env.h"
#include "cfg.h"
#include "httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct job_env_http {
    char *name;
    struct httpc *h;
};

struct httpc *
job_http(struct job_ctx *ctx, const char *service, char *err, size_t errlen)
{
    struct job_env *env = ctx->env;
    for (int i = 0; i < env->n_https; i++)
        if (strcmp(env->https[i].name, service) == 0) {
            httpc_set_cancel(env->https[i].h, ctx->cancel_flag);
            return env->https[i].h;
        }
    struct httpc_conf conf;
    if (env->cfg == NULL || httpc_conf_from_cfg(env->cfg, service, &conf, err, errlen) < 0)
        return NULL;
    /* Without Redis the budget would be this process's alone: N workers would together exceed
     * the API's limit, so a budgeted service refuses to run without it. Every service draws on
     * Redis when it can, for the fleet-wide pause after a 429. */
    struct rq *rq = job_env_rq(env);
    if (conf.rate_per_minute > 0 && rq == NULL) {
        ctx->open_transient = true;
        snprintf(err, errlen, "service \"%s\": Redis is unreachable, so its rate budget is too",
                 service);
        return NULL;
    }
    env->https = xrealloc(env->https, sizeof(*env->https) * (size_t)(env->n_https + 1));
    struct job_env_http *e = &env->https[env->n_https++];
    e->name = xstrdup(service);
    e->h = httpc_new(&conf, rq);
    httpc_set_cancel(e->h, ctx->cancel_flag);
    return e->h;
}

/* True for a method that only reads (safe in a dry run). */
static bool
job_http_reads(const char *method)
{
    return method == NULL || strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0;
}

int
job_http_send(struct job_ctx *ctx, struct httpc *h, const struct httpc_req *req,
              struct httpc_resp *resp)
{
    if (ctx->dry_run && !job_http_reads(req->method)) {
        memset(resp, 0, sizeof(*resp));
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "http", req->method);
        cJSON_AddStringToObject(step, "path", req->path);
        if (req->json)
            cJSON_AddItemToObject(step, "json", cJSON_Duplicate(req->json, 1));
        job_plan(ctx, step);
        return 1;
    }
    return httpc_request(h, req, resp) == 0 ? 0 : -1;
}

void
job_env_http_free(struct job_env *env)
{
    for (int i = 0; i < env->n_https; i++) {
        free(env->https[i].name);
        httpc_free(env->https[i].h);
    }
    free(env->https);
    env->https = NULL;
    env->n_https = 0;
}
