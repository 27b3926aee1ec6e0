/* This file holds the System family job functions used by operators and tests. */
#include "system.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
system_noop(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)ctx;
    (void)params;
    job_out_ok(out, NULL);
}

void
system_echo(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)ctx;
    job_out_ok(out, params ? cJSON_PrintUnformatted(params) : xstrdup("null"));
}

/* The longest span, in seconds, these jobs take (100 years): checked before the conversion to
 * milliseconds, which past int64 is undefined. */
#define SYSTEM_MAX_S 3153600000.0

void
system_sleep(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(params, "seconds");
    if (!cJSON_IsNumber(s) || !(s->valuedouble >= 0 && s->valuedouble <= SYSTEM_MAX_S)) {
        job_out_fail(out, JOB_FAIL, "parameters: \"seconds\" must be a number in 0..%.0f",
                     SYSTEM_MAX_S);
        return;
    }
    if (job_ctx_sleep(ctx, (int64_t)(s->valuedouble * 1000.0))) {
        job_out_fail(out, JOB_CANCELLED, "cancelled");
        return;
    }
    job_out_ok(out, NULL);
}

void
system_fail(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)ctx;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(params, "reason");
    const cJSON *perm = cJSON_GetObjectItemCaseSensitive(params, "permanent");
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(params, "retry_after_s");
    enum job_status st = cJSON_IsTrue(perm) ? JOB_FAIL : JOB_RETRY;
    job_out_fail(out, st, "%s", cJSON_IsString(r) ? r->valuestring : "System/Fail");
    if (cJSON_IsNumber(delay) && delay->valuedouble >= 0 && delay->valuedouble <= SYSTEM_MAX_S)
        out->retry_delay_ms = (int64_t)(delay->valuedouble * 1000.0);
}

/* The sanitizers would stop the child with their own report and exit status; this job exists
 * to show what a real SIGSEGV does, so they are switched off for this one function. */
__attribute__((no_sanitize("undefined", "address"))) void
system_crash(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    (void)params;
    (void)out;
    /* A real NULL dereference, as a buggy job function would make; volatile keeps the
     * compiler from proving it away. */
    volatile int *volatile p = NULL;
    if (ctx->id >= 0)
        *p = 1;
}

void
system_touch(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    /* Appends one line per run to a file, so tests can count side effects. */
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(params, "path");
    if (!cJSON_IsString(path)) {
        job_out_fail(out, JOB_FAIL, "parameters: \"path\" must be a string");
        return;
    }
    int fd = open(path->valuestring, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        job_out_fail(out, JOB_RETRY, "open %s failed", path->valuestring);
        return;
    }
    char line[64];
    int n = snprintf(line, sizeof(line), "%lld %d\n", (long long)ctx->id, ctx->attempt);
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n) {
        job_out_fail(out, JOB_RETRY, "write %s failed", path->valuestring);
        return;
    }
    const cJSON *fail_until = cJSON_GetObjectItemCaseSensitive(params, "fail_until_attempt");
    if (cJSON_IsNumber(fail_until) && ctx->attempt < fail_until->valueint) {
        job_out_fail(out, JOB_RETRY, "failing attempt %d on purpose", ctx->attempt);
        return;
    }
    job_out_ok(out, NULL);
}
