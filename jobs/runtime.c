/* This file holds the helpers job functions use for their context and outcome. */
#include "runtime.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
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
