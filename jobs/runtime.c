/* This file holds the helpers job functions use for their context and outcome. */
#include "runtime_env.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
job_ctx_cancelled(const struct job_ctx *ctx)
{
    return ctx->cancel_flag && *ctx->cancel_flag;
}

bool
job_ctx_sleep(const struct job_ctx *ctx, int64_t ms)
{
    int64_t end = now_mono_ms() + ms;
    for (;;) {
        if (job_ctx_cancelled(ctx))
            return true;
        int64_t left = end - now_mono_ms();
        if (left <= 0)
            return false;
        sleep_ms(left < 50 ? left : 50);
    }
}

void
job_out_ok(struct job_out *out, char *result_json_take)
{
    out->status = JOB_OK;
    free(out->result);
    out->result = result_json_take;
}

void
job_out_fail(struct job_out *out, enum job_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    out->status = status;
    free(out->reason);
    out->reason = s;
}

void
job_out_release(struct job_out *out)
{
    free(out->result);
    free(out->reason);
    out->result = out->reason = NULL;
}

/* A dry run's result: the function's own (an object gains "dry_run" and "plan"; anything else
 * goes under "result") with the plan the run recorded. */
static char *
job_run_dry_result(struct job_rt *rt, char *result)
{
    cJSON *r = result ? cJSON_Parse(result) : NULL;
    if (!cJSON_IsObject(r)) {
        cJSON *wrap = cJSON_CreateObject();
        if (r)
            cJSON_AddItemToObject(wrap, "result", r);
        r = wrap;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(r, "dry_run");
    cJSON_AddBoolToObject(r, "dry_run", true);
    if (!cJSON_HasObjectItem(r, "plan")) {
        cJSON_AddItemToObject(r, "plan", rt->plan ? rt->plan : cJSON_CreateArray());
        rt->plan = NULL;
        if (rt->plan_left_out)
            cJSON_AddNumberToObject(r, "plan_left_out", (double)rt->plan_left_out);
    }
    free(result);
    char *text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return text;
}

void
job_run(struct job_env *env, job_fn *fn, int64_t id, int attempt, const char *action,
        const char *params_json, volatile int *cancel_flag, struct job_out *out)
{
    cJSON *params = cJSON_ParseWithOpts(params_json ? params_json : "{}", NULL, 1);
    if (!cJSON_IsObject(params)) {
        cJSON_Delete(params);
        job_out_fail(out, JOB_FAIL, "parameters are not a valid JSON object");
        return;
    }
    struct job_rt rt;
    memset(&rt, 0, sizeof(rt));
    buf_init(&rt.log, 0);
    struct job_ctx ctx = {.id = id,
                          .attempt = attempt,
                          .action = action,
                          .cancel_flag = cancel_flag,
                          .cfg = env->cfg,
                          .dry_run =
                              cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, "dry_run")),
                          .env = env,
                          .rt = &rt};
    out->status = JOB_FAIL;
    job_rt_attach(&ctx);
    fn(&ctx, params, out);
    /* Said with the action and what follows, so that the worker's log alone tells an operator
     * which job failed and whether it runs again. */
    if (out->status != JOB_OK && out->reason)
        job_log(&ctx, out->status == JOB_RETRY ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "%s %s: %s",
                action,
                out->status == JOB_RETRY       ? "failed (retried if attempts remain)"
                : out->status == JOB_CANCELLED ? "cancelled"
                                               : "failed for good",
                out->reason);
    if (ctx.dry_run && out->status == JOB_OK)
        out->result = job_run_dry_result(&rt, out->result);
    job_rt_save(&ctx, true);
    job_rt_detach();
    job_rt_release(&rt);
    cJSON_Delete(params);
}
