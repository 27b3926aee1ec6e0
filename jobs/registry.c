/* This file holds the table of job functions and the helpers they use. */
#include "registry.h"
#include "cleanup.h"
#include "system.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC(n) ((int64_t)(n)*1000)

static const struct job_def registry_table[] = {
    {"System/Noop", system_noop, "default", 1, 60, SEC(15), SEC(3600), false, NULL},
    {"System/Echo", system_echo, "default", 1, 60, SEC(15), SEC(3600), false, NULL},
    {"System/Sleep", system_sleep, "default", 1, 3600, SEC(15), SEC(3600), false, NULL},
    {"System/Fail", system_fail, "default", 1, 60, SEC(15), SEC(3600), false, NULL},
    {"System/Cleanup/Jobs", cleanup_jobs, "default", 3, 3600, SEC(60), SEC(3600), false, NULL},
    {"System/Cleanup/Webhooks", cleanup_webhooks, "default", 3, 3600, SEC(60), SEC(3600), false,
     NULL},
    {"System/Crash", system_crash, "default", 1, 60, SEC(15), SEC(3600), true, NULL},
    {"System/Touch", system_touch, "default", 1, 60, SEC(1), SEC(10), true, NULL},
    /* Echo with a unique key made from its "key" parameter: shows and tests unique_by. */
    {"System/Echo/Unique", system_echo, "default", 1, 60, SEC(15), SEC(3600), true, "key"},
    {"System/Echo/Webhook", system_echo, "default", 1, 60, SEC(15), SEC(3600), true, NULL},
};

#define N_DEFS ((int)(sizeof(registry_table) / sizeof(registry_table[0])))

const struct job_def *
registry_find(const char *action, bool test_actions)
{
    for (int i = 0; i < N_DEFS; i++) {
        const struct job_def *d = &registry_table[i];
        if ((!d->test_only || test_actions) && strcmp(d->action, action) == 0)
            return d;
    }
    return NULL;
}

const struct job_def *
registry_at(int i, bool test_actions)
{
    for (int j = 0; j < N_DEFS; j++) {
        const struct job_def *d = &registry_table[j];
        if (d->test_only && !test_actions)
            continue;
        if (i-- == 0)
            return d;
    }
    return NULL;
}

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
