/* This file is the helpdesk sync's job function, Toga/Desk/Sync: it opens the client's TOGA 2
 * service and desk database, reads both watermarks, runs desk -> TOGA 2 and then TOGA 2 ->
 * desk (so that each direction sees what the other just wrote and the next run finds nothing
 * new), and writes each watermark once, at the end, only past what was fully synced. */
#include "caltime.h"
#include "cfg.h"
#include "db.h"
#include "togadesk.h"
#include "togadesk_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
togadesk_count(struct togadesk *td, const char *group, const char *name, int n)
{
    cJSON *g = td->result;
    char part[64];
    for (const char *p = group; *p;) {
        size_t l = strcspn(p, "/");
        snprintf(part, sizeof(part), "%.*s", (int)l, p);
        cJSON *next = cJSON_GetObjectItemCaseSensitive(g, part);
        g = next ? next : cJSON_AddObjectToObject(g, part);
        p += l + (p[l] == '/');
    }
    cJSON *c = cJSON_GetObjectItemCaseSensitive(g, name);
    if (c == NULL)
        c = cJSON_AddNumberToObject(g, name, 0);
    cJSON_SetNumberValue(c, c->valuedouble + n);
}

void
togadesk_note_fail(struct togadesk *td, const struct toga_err *e)
{
    if (e->fail == TOGA_AUTH && td->abort == TOGA_OK) {
        td->abort = TOGA_AUTH;
        snprintf(td->abort_err, sizeof(td->abort_err), "%s", e->msg);
    }
}

int
togadesk_desk_error(struct togadesk *td)
{
    if (db_lost(td->desk))
        td->desk_failed = true;
    return -1;
}

/* Opens what the client's section names. -1 with the outcome filled. */
static int
sync_open(struct togadesk *td, struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    char err[512], name[160];
    const char *client = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "client"));
    if (client == NULL || *client == '\0' || strlen(client) > 100) {
        job_out_fail(out, JOB_FAIL,
                     "parameters: \"client\" must name a [toga_desk.<client>] section");
        return -1;
    }
    if (togadesk_conf_read(ctx->cfg, client, &td->conf, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return -1;
    }
    snprintf(name, sizeof(name), "service.%s", td->conf.service);
    const char *missing = cfg_find_section(ctx->cfg, name) ? NULL : name;
    char dbname[160];
    snprintf(dbname, sizeof(dbname), "db.%s", td->conf.desk_db);
    if (missing == NULL && cfg_find_section(ctx->cfg, dbname) == NULL)
        missing = dbname;
    if (missing) {
        job_out_fail(out, JOB_FAIL, "[toga_desk.%s] names [%s], which is not configured", client,
                     missing);
        return -1;
    }
    if (toga_open_service(ctx, &td->tg, td->conf.service, err, sizeof(err)) < 0 ||
        (td->desk = job_db(ctx, td->conf.desk_db, err, sizeof(err))) == NULL) {
        job_out_fail(out, JOB_RETRY, "%s", err);
        return -1;
    }
    return 0;
}

static void
sync_fail_toga(struct togadesk *td, struct job_out *out, const char *what, const struct toga_err *e)
{
    if (e->fail == TOGA_AUTH)
        job_out_fail(out, JOB_FAIL, "TOGA 2 refused the credentials of [service.%s] (%s): %s",
                     td->conf.service, what, e->msg);
    else
        job_out_fail(out, JOB_RETRY, "%s: %s", what, e->msg);
}

static int
sync_read_wms(struct togadesk *td, struct job_out *out)
{
    struct toga_err e;
    if (togadesk_wm_read(td, TOGADESK_WM_IN, &td->wm_in, &e) != TOGA_OK ||
        togadesk_wm_read(td, TOGADESK_WM_OUT, &td->wm_out, &e) != TOGA_OK) {
        sync_fail_toga(td, out, "read the watermarks", &e);
        return -1;
    }
    return 0;
}

/* How far a watermark may move: to the newest synced time, but never past a failure. */
static int64_t
sync_advance(int64_t t, int64_t newest, int64_t first_fail)
{
    int64_t c = newest;
    if (first_fail && first_fail - 1 < c)
        c = first_fail - 1;
    return c > t ? c : t;
}

/* The new watermarks. desk -> TOGA 2 also passes the desk rows TOGA 2 -> desk wrote in this
 * run (up to when the desk was read), so the next run does not find its own writes. */
static void
sync_next_wms(struct togadesk *td, int64_t out_read_at)
{
    int64_t in = td->in_newest < td->in_listed_at ? td->in_newest : td->in_listed_at;
    if (td->entities_at && in > td->entities_at)
        in = td->entities_at;
    td->wm_in.next = sync_advance(td->wm_in.t, in, td->in_first_fail);
    int64_t newest = td->out_newest;
    int64_t own = td->desk_wrote < out_read_at ? td->desk_wrote : out_read_at;
    if (td->conf.desk_to_toga && own > newest)
        newest = own;
    td->wm_out.next = sync_advance(td->wm_out.t, newest, td->out_first_fail);
    if (!td->conf.toga_to_desk)
        td->wm_in.next = td->wm_in.t;
    if (!td->conf.desk_to_toga)
        td->wm_out.next = td->wm_out.t;
}

static int
sync_write_wms(struct togadesk *td, struct job_out *out)
{
    struct toga_err e;
    struct togadesk_wm *wms[2] = {&td->wm_in, &td->wm_out};
    const char *keys[2] = {TOGADESK_WM_IN, TOGADESK_WM_OUT};
    cJSON *w = cJSON_AddObjectToObject(td->result, "watermarks");
    for (int i = 0; i < 2; i++) {
        enum toga_fail f = togadesk_wm_write(td, keys[i], wms[i], &e);
        if (f != TOGA_OK && f != TOGA_DRY) {
            sync_fail_toga(td, out, "write the watermark", &e);
            return -1;
        }
        char text[24];
        caltime_format_dt(wms[i]->next, text, sizeof(text));
        cJSON_AddStringToObject(w, keys[i], text);
    }
    return 0;
}

/* Both directions, each behind its switch. -1 with the outcome filled. */
static int
sync_run(struct togadesk *td, struct job_out *out, int64_t *out_read_at)
{
    *out_read_at = now_wall_ms() / 1000;
    if (td->conf.desk_to_toga && togadesk_out(td, out) < 0)
        return -1;
    if (td->abort == TOGA_OK && togadesk_entities_in(td, out) < 0)
        return -1;
    if (td->abort == TOGA_OK && td->conf.toga_to_desk && togadesk_in(td, out) < 0)
        return -1;
    if (td->abort != TOGA_OK) {
        job_out_fail(out, JOB_FAIL, "TOGA 2 refused the credentials of [service.%s]: %s",
                     td->conf.service, td->abort_err);
        return -1;
    }
    if (job_ctx_cancelled(td->ctx)) {
        job_out_fail(out, JOB_CANCELLED, "cancelled; what was synced is kept");
        return -1;
    }
    return 0;
}

void
togadesk_sync(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct togadesk td;
    memset(&td, 0, sizeof(td));
    td.ctx = ctx;
    if (sync_open(&td, ctx, params, out) < 0)
        return;
    td.result = cJSON_CreateObject();
    td.in_done = cJSON_CreateObject();
    td.in_notes_seen = cJSON_CreateObject();
    td.in_refetched = cJSON_CreateObject();
    cJSON_AddStringToObject(td.result, "client", td.conf.name);
    cJSON_AddStringToObject(td.result, "integration_type", td.conf.integration_type);
    togadesk_count(&td, "toga_to_desk", "failed", 0);
    togadesk_count(&td, "desk_to_toga", "failed", 0);
    int64_t read_at = 0;
    if (sync_read_wms(&td, out) == 0 && sync_run(&td, out, &read_at) == 0) {
        sync_next_wms(&td, read_at);
        if (sync_write_wms(&td, out) == 0) {
            job_info(ctx, "client %s synced", td.conf.name);
            job_out_ok(out, cJSON_PrintUnformatted(td.result));
        }
    }
    cJSON_Delete(td.result);
    cJSON_Delete(td.in_done);
    cJSON_Delete(td.in_notes_seen);
    cJSON_Delete(td.in_refetched);
    cJSON_Delete(td.categories);
    toga_close(&td.tg);
}
