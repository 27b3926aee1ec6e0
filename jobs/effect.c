/* This file holds System/Effect, the fault suite's test-only job function. */
#include "effect.h"
#include "fault.h"
#include "httpc.h"
#include "json.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
        /* The reason may be cut to errlen; its start still says why. */
        if (rc < 0 && snprintf(err, errlen, "%s", resp.err) < 0)
            err[0] = '\0';
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

/* Ends the process the way a buggy job function does, when "die" asks for it on this attempt
 * ("die_attempts": up to which attempt; every attempt when absent). The sanitizers are off
 * here: the crash itself is the point, not their report of it. */
__attribute__((no_sanitize("undefined", "address"))) static void
effect_die(struct job_ctx *ctx, const cJSON *params)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(params, "die");
    const cJSON *upto = cJSON_GetObjectItemCaseSensitive(params, "die_attempts");
    if (!cJSON_IsString(d) || (cJSON_IsNumber(upto) && ctx->attempt > upto->valueint))
        return;
    if (strcmp(d->valuestring, "segv") == 0) {
        volatile int *volatile p = NULL;
        *p = 1;
    } else if (strcmp(d->valuestring, "abort") == 0) {
        abort();
    } else if (strcmp(d->valuestring, "exit") == 0) {
        /* _exit: exit() would also run LeakSanitizer's check of the child's live state. */
        _exit(3);
    } else if (strcmp(d->valuestring, "kill") == 0) {
        raise(SIGKILL); /* as the OOM killer ends a process */
    }
}

void
system_effect(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    char err[512];
    int64_t work_ms = json_int(params, "work_ms", 0, 86400000, 200);
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
    effect_die(ctx, params);
    if (job_ctx_sleep(ctx, work_ms)) {
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
