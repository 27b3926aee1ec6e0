/* This file holds what the three attachment copy job functions share. */
#include "attach.h"
#include "attach_set.h"
#include "cfg.h"
#include "hmac.h"
#include "job.h"
#include "json.h"
#include "util.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t
attach_param_id(const cJSON *params, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    int64_t id;
    if (json_int_of(v, 1, JSON_INT_MAX, &id))
        return id;
    if (cJSON_IsString(v) && isdigit((unsigned char)v->valuestring[0]) &&
        parse_int64(v->valuestring, 1, INT64_C(999999999999999999), &id) == 0)
        return id;
    return 0;
}

const char *
attach_param_uuid(const cJSON *params, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, name));
    return s && s[0] && strlen(s) <= 64 ? s : NULL;
}

const char *
attach_param_name(const cJSON *params, const char *name, const char *dflt)
{
    const char *v = attach_param_uuid(params, name);
    return v ? v : dflt;
}

void
attach_fail_toga(struct job_out *out, const struct toga_err *e, const char *what)
{
    job_out_fail(out, e->fail == TOGA_TRANSIENT ? JOB_RETRY : JOB_FAIL, "%s: %s", what, e->msg);
}

int
attach_note_set(struct toga *tg, const char *note, struct attach_set *set, struct job_out *out)
{
    struct toga_err e;
    cJSON *files = toga_note_files(tg, note, &e);
    if (files == NULL) {
        attach_fail_toga(out, &e, "reading the note's files");
        return -1;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        attach_set_add(set, cJSON_GetObjectItem(f, "name")->valuestring,
                       json_int(f, "size", 0, JSON_INT_MAX, -1), NULL,
                       cJSON_GetObjectItem(f, "uuid")->valuestring);
    }
    cJSON_Delete(files);
    return 0;
}

int
attach_toga_hash(void *arg, struct attach_item *it, char *err, size_t errlen)
{
    struct toga_err e;
    char *name;
    unsigned char *bytes;
    size_t len;
    if (toga_file_get(arg, it->ref, &name, &bytes, &len, &e) != TOGA_OK) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    hmac_digest(bytes, len, it->sha);
    it->hashed = true;
    it->size = (int64_t)len;
    free(name);
    free(bytes);
    return 0;
}

void
attach_test_crash(const struct job_ctx *ctx, const cJSON *params, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    int64_t n;
    if (ctx->cfg && ctx->cfg->worker.test_actions && json_int_of(v, 1, INT32_MAX, &n) &&
        n == ctx->attempt)
        raise(SIGKILL);
}

char *
attach_result(int copied, int skipped, cJSON *files_take)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "copied", copied);
    cJSON_AddNumberToObject(r, "skipped", skipped);
    cJSON_AddItemToObject(r, "files", files_take);
    char *s = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return s;
}

int64_t
attach_webhook_enqueue(struct job_ctx *ctx, const cJSON *params, int64_t ticket_id, char *err,
                       size_t errlen)
{
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(params, "payload");
    cJSON *body = cJSON_IsString(payload) ? cJSON_Parse(payload->valuestring) : NULL;
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(body, "freshservice_webhook");
    const cJSON *src = inner ? inner : body;
    int64_t conv = attach_param_id(src, "conversation_id");
    const char *note = attach_param_uuid(src, "note_uuid");
    int64_t id = 0;
    if (conv > 0 && note) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "ticket_id", (double)ticket_id);
        cJSON_AddNumberToObject(p, "conversation_id", (double)conv);
        cJSON_AddStringToObject(p, "note_uuid", note);
        char *text = cJSON_PrintUnformatted(p);
        struct job_spec spec = {.action = "Attachments/Freshservice/CopyToToga",
                                .parameters = text,
                                .priority = ATTACH_WEBHOOK_PRIORITY};
        struct job_ref ref;
        id = job_enqueue(ctx, &spec, &ref, err, errlen) < 0 ? -1 : ref.id;
        free(text);
        cJSON_Delete(p);
    }
    cJSON_Delete(body);
    return id;
}

int
attach_copy_open(struct attach_copy *c, struct job_ctx *ctx, const cJSON *params,
                 struct job_out *out)
{
    char err[512];
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->params = params;
    c->out = out;
    c->note = attach_param_uuid(params, "note_uuid");
    c->reply = attach_param_id(params, "desk_reply_id");
    if (c->note == NULL || c->reply <= 0) {
        job_out_fail(out, JOB_FAIL,
                     "parameters: need \"note_uuid\" (a string) and "
                     "\"desk_reply_id\" (a positive id)");
        return -1;
    }
    if (attach_conf_load(ctx->cfg, &c->conf, 1, err, sizeof(err)) < 0 ||
        toga_open_service(ctx, &c->tg, attach_param_name(params, "service", "toga"), err,
                          sizeof(err)) < 0) {
        job_out_fail(out, ctx->open_transient ? JOB_RETRY : JOB_FAIL, "%s", err);
        return -1;
    }
    c->tg.file_max_bytes = c->conf.max_bytes;
    if ((c->db = job_db(ctx, attach_param_name(params, "desk_db", "desk"), err, sizeof(err))) ==
        NULL) {
        /* A database that does not answer may come back. */
        job_out_fail(out, JOB_RETRY, "%s", err);
        toga_close(&c->tg);
        return -1;
    }
    c->have = xcalloc(1, sizeof(*c->have));
    attach_set_init(c->have);
    c->names = cJSON_CreateArray();
    return 0;
}

void
attach_copy_close(struct attach_copy *c)
{
    if (c->out->reason == NULL) {
        job_out_ok(c->out, attach_result(c->copied, c->skipped, c->names));
        c->names = NULL;
    }
    cJSON_Delete(c->names);
    attach_set_release(c->have);
    free(c->have);
    toga_close(&c->tg);
}
