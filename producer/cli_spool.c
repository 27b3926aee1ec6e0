/* This file holds `jobfleet spool`: what waits in the producer's spool and what the replayer
 * put aside in failed/ (entries it could never store), and an operator's two ways out for the
 * latter: store an entry as a job now, once its cause is fixed (retry), or delete it (drop).
 * It reads the spool beside a running producer without disturbing it: entries waiting for
 * the replay are only listed, and a retried entry keeps the idempotency key it was spooled
 * with, so a retry that races anything else still makes one job. */
#include "cli.h"
#include "job.h"
#include "json.h"
#include "spool.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The spool directory itself (waiting entries) or its failed/ subdirectory. */
static struct spool *
cli_spool_open(struct cli *c, bool failed, char *err, size_t errlen)
{
    char *dir = failed ? xasprintf("%s/failed", c->cfg.producer.spool_dir)
                       : xstrdup(c->cfg.producer.spool_dir);
    struct spool *s = spool_attach(dir, err, errlen);
    free(dir);
    return s;
}

/* Adds one row per entry of s to out (state "waiting" or "failed"). */
static void
cli_spool_rows(struct spool *s, const char *state, cJSON *out)
{
    char **ids = NULL;
    int n = 0;
    if (s == NULL || spool_list(s, &ids, &n) < 0)
        return;
    for (int i = 0; i < n; i++) {
        struct spool_entry e;
        char err[256];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", ids[i]);
        cJSON_AddStringToObject(o, "state", state);
        if (spool_read(s, ids[i], &e, err, sizeof(err)) == 0) {
            cJSON_AddStringToObject(o, "source", e.source ? e.source : "");
            cJSON_AddStringToObject(o, "action", e.action ? e.action : "");
            cJSON_AddStringToObject(o, "idempotency_key",
                                    e.idempotency_key ? e.idempotency_key : "");
            cJSON_AddNumberToObject(o, "received_ms", (double)e.received_ms);
            cJSON_AddNumberToObject(o, "parameters_bytes",
                                    e.parameters ? (double)strlen(e.parameters) : 0);
            spool_entry_release(&e);
        } else {
            cJSON_AddStringToObject(o, "error", err);
        }
        cJSON_AddItemToArray(out, o);
        free(ids[i]);
    }
    free(ids);
}

static int
cli_spool_list(struct cli *c)
{
    char err[512];
    struct spool *w = cli_spool_open(c, false, err, sizeof(err));
    if (w == NULL)
        return cli_runtime_error("spool list: %s", err);
    struct spool *f = cli_spool_open(c, true, err, sizeof(err)); /* none yet is fine */
    cJSON *out = cJSON_CreateArray();
    cli_spool_rows(w, "waiting", out);
    cli_spool_rows(f, "failed", out);
    spool_close(w);
    spool_close(f);
    if (c->json) {
        cli_print_json(out);
    } else {
        printf("%-36s %-8s %-12s %-32s %s\n", "ID", "STATE", "SOURCE", "ACTION", "BYTES");
        const cJSON *it;
        cJSON_ArrayForEach(it, out)
        {
            const cJSON *err_j = cJSON_GetObjectItem(it, "error");
            if (err_j) {
                printf("%-36s %-8s unreadable: %s\n", cJSON_GetObjectItem(it, "id")->valuestring,
                       cJSON_GetObjectItem(it, "state")->valuestring, err_j->valuestring);
                continue;
            }
            printf("%-36s %-8s %-12s %-32s %.0f\n", cJSON_GetObjectItem(it, "id")->valuestring,
                   cJSON_GetObjectItem(it, "state")->valuestring,
                   cJSON_GetObjectItem(it, "source")->valuestring,
                   cJSON_GetObjectItem(it, "action")->valuestring,
                   cJSON_GetObjectItem(it, "parameters_bytes")->valuedouble);
        }
    }
    cJSON_Delete(out);
    return CLI_OK;
}

/* Stores one failed entry as a job under its spooled key, then deletes the file. */
static int
cli_spool_retry_one(struct cli *c, struct spool *f, const char *id)
{
    struct spool_entry e;
    char err[512];
    if (spool_read(f, id, &e, err, sizeof(err)) < 0)
        return cli_usage_error("spool retry %s: %s", id, err);
    struct job_spec spec = {.action = e.action,
                            .parameters = e.parameters,
                            .idempotency_key = e.idempotency_key,
                            .origin = "webhook"};
    struct job_spec checked;
    const char *field = NULL;
    int rc = CLI_OK;
    if (job_spec_check(&spec, c->cfg.worker.test_actions, &checked, &field, err, sizeof(err)) !=
        JOB_E_OK) {
        rc = cli_usage_error("spool retry %s: %s", id, err);
        goto out;
    }
    struct job_ref ref;
    struct db *db = cli_db(c);
    if (job_insert(db, &checked, &ref, err, sizeof(err)) != JOB_E_OK) {
        rc = db_lost(db) ? cli_unknown_error("spool retry %s: %s (the entry is kept)", id, err)
                         : cli_runtime_error("spool retry %s: %s", id, err);
        goto out;
    }
    job_push(cli_rq(c), &ref);
    spool_remove(f, id);
    printf("%s %lld%s\n", id, (long long)ref.id, ref.existing ? " existing" : "");
out:
    spool_entry_release(&e);
    return rc;
}

static int
cli_spool_each_failed(struct cli *c, const char *what, bool retry)
{
    if (c->n_pos < 2)
        return cli_usage_error("spool %s: expected one or more entry ids (see spool list)", what);
    char err[512];
    struct spool *f = cli_spool_open(c, true, err, sizeof(err));
    if (f == NULL)
        return cli_usage_error("spool %s: no failed entries (%s)", what, err);
    int rc = CLI_OK;
    for (int i = 1; i < c->n_pos; i++) {
        const char *id = c->pos[i];
        int r;
        if (strchr(id, '/') || strstr(id, "..")) {
            r = cli_usage_error("spool %s: \"%s\" is not an entry id", what, id);
        } else if (retry) {
            r = cli_spool_retry_one(c, f, id);
        } else if (spool_remove(f, id) < 0) {
            r = cli_usage_error("spool drop: no failed entry %s", id);
        } else {
            printf("%s dropped\n", id);
            r = CLI_OK;
        }
        if (r != CLI_OK && rc == CLI_OK)
            rc = r;
    }
    spool_close(f);
    return rc;
}

int
cli_spool(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "spool", argc, argv, NULL) < 0)
        return CLI_USAGE;
    const char *sub = c->n_pos > 0 ? c->pos[0] : "";
    if (strcmp(sub, "list") == 0)
        return cli_spool_list(c);
    if (strcmp(sub, "retry") == 0)
        return cli_spool_each_failed(c, "retry", true);
    if (strcmp(sub, "drop") == 0)
        return cli_spool_each_failed(c, "drop", false);
    return cli_usage_error("spool: expected list, retry ID... or drop ID..., got \"%s\"", sub);
}
