/* This file holds System/Effect, the fault suite's test-only job function. */
#include "effect.h"
#include "fault.h"
#include "httpc.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* POSTs body (taken) to path on [service.effects]. Returns 0, or -1 with err set. */
static int
effect_post(struct job_ctx *ctx, const char *path, cJSON *body, char *err, size_t errlen)
{
    struct httpc *h = job_http(ctx, "effects", err, errlen);
    int rc = -1;
    if (h != NULL) {
        /* Every call is idempotent at the fake (the effect by its key), so a retry after an
         * ambiguous error is safe. */
        struct httpc_req req = {.method = "POST", .path = path, .json = body, .unsafe_retry = true};
        struct httpc_resp resp;
        rc = job_http_send(ctx, h, &req, &resp) < 0 ? -1 : 0;
        if (rc < 0)
            snprintf(err, errlen, "%s", resp.err);
        httpc_resp_release(&resp);
    }
    cJSON_Delete(body);
    return rc;
}

static cJSON *
effect_body(struct job_ctx *ctx)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "job", (double)ctx->id);
    cJSON_AddNumberToObject(b, "attempt", ctx->attempt);
    cJSON_AddNumberToObject(b, "pid", (double)getpid());
    return b;
}

static void
effect_end(struct job_ctx *ctx, const char *outcome)
{
    char err[256];
    cJSON *b = effect_body(ctx);
    cJSON_AddStringToObject(b, "outcome", outcome);
    if (effect_post(ctx, "/end", b, err, sizeof(err)) < 0)
        job_warn(ctx, "report the end: %s", err);
}

void
system_effect(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    char err[512];
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(params, "work_ms");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(params, "effect");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(params, "fail_attempts");
    const char *effect = cJSON_IsString(e) ? e->valuestring : "post";
    cJSON *b = effect_body(ctx);
    cJSON_AddNumberToObject(b, "pgid", (double)getpgrp());
    if (effect_post(ctx, "/begin", b, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return;
    }
    FAULT_POINT("function");
    if (job_ctx_sleep(ctx, cJSON_IsNumber(w) ? (int64_t)w->valuedouble : 200)) {
        effect_end(ctx, "cancelled");
        job_out_fail(out, JOB_CANCELLED, "cancelled");
        return;
    }
    b = effect_body(ctx);
    cJSON_AddStringToObject(b, "effect", effect);
    char key[160];
    snprintf(key, sizeof(key), "job:%lld:%s", (long long)ctx->id, effect);
    cJSON_AddStringToObject(b, "key", key);
    if (effect_post(ctx, "/effect", b, err, sizeof(err)) < 0) {
        effect_end(ctx, "retry");
        job_out_fail(out, JOB_RETRY, "%s", err);
        return;
    }
    if (cJSON_IsNumber(f) && ctx->attempt <= f->valueint) {
        effect_end(ctx, "retry");
        job_out_fail(out, JOB_RETRY, "failing attempt %d on purpose", ctx->attempt);
        return;
    }
    effect_end(ctx, "ok");
    job_out_ok(out, NULL);
}
