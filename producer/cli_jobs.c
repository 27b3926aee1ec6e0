/* This file holds the CLI's job commands: migrate, enqueue, show, list, retry, cancel,
 * stats. */
#include "audit.h"
#include "caltime.h"
#include "fault.h"
#include "cli.h"
#include "job.h"
#include "json.h"
#include "migrate.h"
#include "action.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cli_job_err(enum job_err e, const char *err)
{
    if (e == JOB_E_DB)
        return cli_runtime_error("%s", err);
    return cli_usage_error("%s", err);
}

int
cli_migrate(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "migrate", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("migrate takes no arguments");
    char err[1024];
    int applied = 0;
    if (migrate_all(&c->cfg, &applied, err, sizeof(err)) < 0) {
        /* A newer schema than we know, two migrations with one version, or a file cut short, is
         * the operator's input problem, not an outage: running it again will not help. */
        if (strstr(err, "newer than this jobfleet knows") || strstr(err, "have the same version") ||
            strstr(err, "the file ends inside a statement") ||
            strstr(err, "need a database of their own") || strstr(err, "it is an older copy"))
            return cli_usage_error("%s", err);
        return cli_runtime_error("%s", err);
    }
    /* The log lines that name each migration are below the CLI's log level. */
    if (c->json)
        printf("{\"ok\":true,\"applied\":%d}\n", applied);
    else if (applied)
        printf("applied %d migration%s; schema is up to date\n", applied, applied == 1 ? "" : "s");
    else
        printf("schema is up to date\n");
    return CLI_OK;
}

static const struct cli_opt_spec enqueue_opts[] = {
    {"--params", true},  {"--queue", true},      {"--priority", true},
    {"--at", true},      {"--in", true},         {"--max-attempts", true},
    {"--timeout", true}, {"--unique-key", true}, {"--idempotency-key", true},
    {NULL, false},
};

static int
cli_int_opt(const struct cli *c, const char *name, int64_t min, int64_t max, int *out)
{
    const char *v = cli_opt(c, name);
    if (v == NULL)
        return 0;
    int64_t n;
    if (parse_int64(v, min, max, &n) < 0) {
        cli_usage_error("enqueue: %s \"%s\" must be an integer in %lld..%lld", name, v,
                        (long long)min, (long long)max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* The job is stored but could not be read back: exit 1 would have a script make it again, so
 * print what is known (its id) and say what is missing. */
static int
cli_enqueue_unread(struct cli *c, const struct job_ref *ref, const char *err)
{
    fprintf(stderr, "jobfleet: job %lld is stored, but reading it back failed: %s\n",
            (long long)ref->id, err);
    if (c->json)
        printf("{\"id\":%lld,\"uuid\":\"%s\",\"state\":\"%s\",\"existing\":%s}\n",
               (long long)ref->id, ref->uuid, ref->state, ref->existing ? "true" : "false");
    else
        printf("%lld\n", (long long)ref->id);
    return CLI_OK;
}

/* The unique key the insert found taken: not read back from the holder's row, which shows
 * none once the holder has ended and released it. */
static const char *
cli_enqueue_key(const struct job_spec *checked, char *made)
{
    const char *key = NULL;
    char err[256];
    return job_spec_unique_key(checked, made, &key, err, sizeof(err)) == 0 && key ? key : "?";
}

int
cli_enqueue(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "enqueue", argc, argv, enqueue_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("enqueue needs exactly one ACTION (e.g. System/Noop)");
    struct job_spec spec = {.action = c->pos[0], .origin = "cli"};
    spec.parameters = cli_opt(c, "--params");
    spec.queue = cli_opt(c, "--queue");
    spec.unique_key = cli_opt(c, "--unique-key");
    if (cli_int_opt(c, "--priority", JOB_PRIORITY_MIN, JOB_PRIORITY_MAX, &spec.priority) < 0 ||
        cli_int_opt(c, "--max-attempts", 1, 1000, &spec.max_attempts) < 0 ||
        cli_int_opt(c, "--timeout", 1, 604800, &spec.timeout_s) < 0)
        return CLI_USAGE;
    const char *at = cli_opt(c, "--at"), *in = cli_opt(c, "--in");
    if (at && in)
        return cli_usage_error("enqueue: give --at or --in, not both");
    if (at && caltime_parse(at, &spec.run_at_ms) < 0)
        return cli_usage_error("enqueue: --at \"%s\" is not a time (ISO-8601 such as "
                               "2026-11-22T10:00:00Z, or unix seconds)",
                               at);
    if (in) {
        int64_t s;
        if (parse_duration_s(in, &s) < 0 || s > CLI_DURATION_MAX_S)
            return cli_usage_error("enqueue: --in \"%s\" is not a duration of at most 100 years "
                                   "(90, 90s, 15m, 2h, 1d)",
                                   in);
        spec.run_at_ms = now_wall_ms() + s * 1000;
    }
    const char *key = cli_opt(c, "--idempotency-key");
    if (key && !job_client_key_ok(key))
        return cli_usage_error("enqueue: --idempotency-key must be UTF-8 text, not empty");
    struct job_spec checked;
    const char *field = NULL;
    char err[1024], idem[JOB_UNIQUE_KEY_SIZE], made[JOB_UNIQUE_KEY_SIZE];
    enum job_err e =
        job_spec_check(&spec, c->cfg.worker.test_actions, &checked, &field, err, sizeof(err));
    /* As the API: a number the stored JSON would round is refused, not stored rounded. */
    if (e != JOB_E_OK || json_text_params_inexact(spec.parameters, err, sizeof(err)))
        return cli_usage_error("enqueue: %s", err);
    if (key) {
        job_idempotency_key("cli", key, idem);
        checked.idempotency_key = idem;
    }
    struct job_ref ref;
    struct db *db = cli_db(c);
    e = job_insert(db, &checked, &ref, err, sizeof(err));
    /* Outside a transaction the INSERT commits itself: when its answer is lost the job may
     * exist, and a script that retries on exit 1 would make it twice. */
    if (e == JOB_E_DB && db_lost(db))
        return cli_unknown_error("enqueue: outcome unknown: %s; the job may or may not be "
                                 "stored: %s",
                                 err,
                                 key ? "run the same command again with the same "
                                       "--idempotency-key to get its id"
                                     : "check with `jobfleet list` before retrying, or use "
                                       "--idempotency-key to make retries safe");
    if (e != JOB_E_OK)
        return cli_job_err(e, err);
    job_push(cli_rq(c), &ref);
    FAULT_POINT("cli.inserted");
    cJSON *j = NULL;
    if (c->json || ref.existing) {
        if (FAULT_FAIL("cli.readback"))
            snprintf(err, sizeof(err), "Lost connection (the fault point cli.readback)");
        else
            j = job_get(db, ref.id, &e, err, sizeof(err));
        if (j == NULL)
            return cli_enqueue_unread(c, &ref, err);
    }
    /* An existing job is either this key's (a repeat: success, same id) or the holder of the
     * unique key. */
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "idempotency_key");
    bool repeat = ref.existing && key && cJSON_IsString(k) && strcmp(k->valuestring, idem) == 0;
    if (repeat && !job_same_request(j, &checked)) {
        cJSON_Delete(j);
        return cli_usage_error("enqueue: --idempotency-key \"%s\" made job %lld, with another "
                               "action or other parameters: use a new key for a new job",
                               key, (long long)ref.id);
    }
    if (c->json) {
        cJSON_AddBoolToObject(j, "existing", ref.existing);
        cli_print_json(j);
    } else {
        printf("%lld\n", (long long)ref.id);
        if (repeat)
            fprintf(stderr, "jobfleet: job %lld (%s) was already made with this idempotency key\n",
                    (long long)ref.id, ref.state);
        else if (ref.existing)
            fprintf(stderr, "jobfleet: job %lld (%s) already holds unique key \"%s\"\n",
                    (long long)ref.id, ref.state, cli_enqueue_key(&checked, made));
    }
    cJSON_Delete(j);
    return CLI_OK;
}

/* Prints a kept attempt log indented under its attempt. */
static void
cli_show_log(const cJSON *log)
{
    if (!cJSON_IsString(log) || log->valuestring[0] == '\0')
        return;
    const char *p = log->valuestring;
    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        printf("      %.*s\n", n, p);
        p += n + (nl != NULL);
    }
}

static void
cli_show_progress(const cJSON *pr)
{
    if (!cJSON_IsObject(pr))
        return;
    const cJSON *d = cJSON_GetObjectItem(pr, "done"), *t = cJSON_GetObjectItem(pr, "total"),
                *n = cJSON_GetObjectItem(pr, "note"), *u = cJSON_GetObjectItem(pr, "updated");
    printf("progress         %.0f", cJSON_IsNumber(d) ? d->valuedouble : 0);
    if (cJSON_IsNumber(t))
        printf("/%.0f", t->valuedouble);
    printf("%s%s  (updated %s)\n", cJSON_IsString(n) ? "  " : "",
           cJSON_IsString(n) ? n->valuestring : "", cJSON_IsString(u) ? u->valuestring : "-");
}

static void
cli_show_text(const cJSON *j)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (strcmp(it->string, "attempts") == 0 || strcmp(it->string, "log") == 0 ||
            strcmp(it->string, "progress") == 0 || strcmp(it->string, "attempts_omitted") == 0)
            continue;
        if (cJSON_IsNull(it))
            continue;
        if (cJSON_IsNumber(it))
            printf("%-16s %.0f\n", it->string, it->valuedouble);
        else if (cJSON_IsString(it))
            printf("%-16s %s\n", it->string, it->valuestring);
    }
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(j, "attempts");
    const cJSON *omitted = cJSON_GetObjectItemCaseSensitive(j, "attempts_omitted");
    if (cJSON_IsNumber(omitted))
        printf("attempts (the last %d; %.0f older not shown):\n", JOB_GET_ATTEMPTS,
               omitted->valuedouble);
    else
        printf("attempts:\n");
    cJSON_ArrayForEach(it, att)
    {
        const cJSON *n = cJSON_GetObjectItem(it, "attempt"),
                    *o = cJSON_GetObjectItem(it, "outcome"),
                    *s = cJSON_GetObjectItem(it, "dt_started"),
                    *r = cJSON_GetObjectItem(it, "reason"),
                    *ms = cJSON_GetObjectItem(it, "execution_ms");
        char took[32] = "-";
        if (cJSON_IsNumber(ms))
            snprintf(took, sizeof(took), "%.0f ms", ms->valuedouble);
        printf("  #%.0f %-10s started %s  took %s  %s\n", n ? n->valuedouble : 0,
               cJSON_IsString(o) ? o->valuestring : "?", cJSON_IsString(s) ? s->valuestring : "-",
               took, cJSON_IsString(r) ? r->valuestring : "");
        cli_show_log(cJSON_GetObjectItem(it, "log"));
    }
    cli_show_progress(cJSON_GetObjectItemCaseSensitive(j, "progress"));
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(j, "log");
    if (cJSON_IsString(log)) {
        printf("log of the running attempt:\n");
        cli_show_log(log);
    }
}

/* The most changes jobfleet show lists, newest first, as the dashboard's job page does. */
#define CLI_SHOW_AUDIT 50

/* Who changed the job, newest first (audit_list's rows). */
static void
cli_show_audit(const cJSON *audit)
{
    if (cJSON_GetArraySize(audit) == 0)
        return;
    printf("changes:\n");
    const cJSON *it;
    cJSON_ArrayForEach(it, audit)
    {
        const cJSON *d = cJSON_GetObjectItem(it, "detail");
        printf("  %s  %-8s by %s%s%s\n", json_str(it, "dt_created", "-"),
               json_str(it, "action", "-"), json_str(it, "actor", "-"),
               cJSON_IsString(d) ? "  " : "", cJSON_IsString(d) ? d->valuestring : "");
    }
}

int
cli_show(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "show", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("show needs one job ID");
    int64_t id = cli_job_id(c->pos[0]);
    if (id < 0)
        return CLI_USAGE;
    enum job_err e;
    char err[1024];
    cJSON *j = job_get(cli_db(c), id, &e, err, sizeof(err));
    if (j == NULL)
        return cli_job_err(e, err);
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    cJSON *audit = audit_list(cli_db(c), "job", ids, CLI_SHOW_AUDIT);
    if (audit == NULL) {
        cJSON_Delete(j);
        return cli_runtime_error("read audit_log: %s", db_errstr(cli_db(c)));
    }
    cJSON_AddItemToObject(j, "audit", audit);
    if (c->json) {
        cli_print_json(j);
    } else {
        cli_show_text(j);
        cli_show_audit(audit);
    }
    cJSON_Delete(j);
    return CLI_OK;
}

static const struct cli_opt_spec list_opts[] = {
    {"--state", true}, {"--action", true}, {"--queue", true},
    {"--limit", true}, {"--after", true},  {NULL, false},
};

int
cli_list(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "list", argc, argv, list_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("list takes no positional arguments");
    struct job_filter f = {.state = cli_opt(c, "--state"),
                           .action = cli_opt(c, "--action"),
                           .queue = cli_opt(c, "--queue"),
                           .limit = 50};
    static const char *states[] = {"pending",   "queued", "running",
                                   "succeeded", "failed", "cancelled"};
    if (f.state) {
        bool ok = false;
        for (int i = 0; i < 6; i++)
            ok |= strcmp(states[i], f.state) == 0;
        if (!ok)
            return cli_usage_error("list: --state \"%s\" is not one of pending, queued, running, "
                                   "succeeded, failed, cancelled",
                                   f.state);
    }
    const char *v;
    int64_t n;
    if ((v = cli_opt(c, "--limit"))) {
        if (parse_int64(v, 1, 10000, &n) < 0)
            return cli_usage_error("list: --limit \"%s\" must be in 1..10000", v);
        f.limit = (int)n;
    }
    if ((v = cli_opt(c, "--after"))) {
        if ((f.after_id = cli_job_id(v)) < 0)
            return CLI_USAGE;
    }
    char err[1024];
    cJSON *a = job_list(cli_db(c), &f, err, sizeof(err));
    if (a == NULL)
        return cli_runtime_error("%s", err);
    if (c->json) {
        cli_print_json(a);
    } else {
        printf("%-10s %-10s %-28s %-10s %-7s %s\n", "ID", "STATE", "ACTION", "QUEUE", "ATTEMPT",
               "CREATED");
        const cJSON *it;
        cJSON_ArrayForEach(it, a)
        {
            printf("%-10.0f %-10s %-28s %-10s %.0f/%-5.0f %s\n",
                   cJSON_GetObjectItem(it, "id")->valuedouble,
                   cJSON_GetObjectItem(it, "state")->valuestring,
                   cJSON_GetObjectItem(it, "action")->valuestring,
                   cJSON_GetObjectItem(it, "queue")->valuestring,
                   cJSON_GetObjectItem(it, "attempt")->valuedouble,
                   cJSON_GetObjectItem(it, "max_attempts")->valuedouble,
                   cJSON_GetObjectItem(it, "dt_created")->valuestring);
        }
    }
    cJSON_Delete(a);
    return CLI_OK;
}

static const struct cli_opt_spec retry_opts[] = {
    {"--force", false}, {"--state", true}, {"--action", true}, {"--since", true}, {NULL, false}};

static int
cli_retry_bulk(struct cli *c, bool force)
{
    const char *state = cli_opt(c, "--state"), *since = cli_opt(c, "--since");
    if (state == NULL)
        return cli_usage_error("retry: --action and --since need --state failed|cancelled");
    int64_t since_ms = 0, secs;
    /* A bare number could be unix seconds (a time) or seconds ago (a duration, as --in reads
     * it): taken as a time, "--since 3600" would retry every job since 1970. */
    if (since && strspn(since, "0123456789") == strlen(since))
        return cli_usage_error("retry: --since \"%s\" is ambiguous: write a duration with its "
                               "unit (%ss, 2h, 1d) or a time (2026-11-22T10:00:00Z)",
                               since, since);
    if (since && caltime_parse(since, &since_ms) < 0) {
        if (parse_duration_s(since, &secs) < 0 || secs > CLI_DURATION_MAX_S)
            return cli_usage_error("retry: --since \"%s\" is not a time or a duration (2h = "
                                   "the last two hours)",
                                   since);
        since_ms = now_wall_ms() - secs * 1000;
    }
    int64_t n = 0;
    char err[1024];
    char *detail = cli_opts_detail(c);
    const struct audit_by by = {cli_actor(c), detail};
    enum job_err e = job_retry_bulk(cli_db(c), cli_rq(c), state, cli_opt(c, "--action"), since_ms,
                                    force, &by, &n, err, sizeof(err));
    free(detail);
    /* Batches commit one by one: a script rerunning on failure must know some were retried
     * (a rerun would retry those again once they failed again). */
    if (e != JOB_E_OK && n > 0)
        return cli_runtime_error("%s (%lld job(s) were queued again before it)", err, (long long)n);
    if (e != JOB_E_OK)
        return cli_job_err(e, err);
    if (c->json)
        printf("{\"retried\":%lld}\n", (long long)n);
    else
        printf("%lld job(s) queued again\n", (long long)n);
    return CLI_OK;
}

int
cli_retry(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "retry", argc, argv, retry_opts) < 0)
        return CLI_USAGE;
    bool force = cli_opt(c, "--force") != NULL;
    bool bulk = cli_opt(c, "--state") || cli_opt(c, "--action") || cli_opt(c, "--since");
    if (bulk && c->n_pos)
        return cli_usage_error("retry: give job IDs or --state, not both");
    if (bulk)
        return cli_retry_bulk(c, force);
    if (c->n_pos == 0)
        return cli_usage_error("retry needs at least one job ID (or --state failed)");
    int64_t *ids = xcalloc((size_t)c->n_pos, sizeof(int64_t));
    for (int i = 0; i < c->n_pos; i++) {
        if ((ids[i] = cli_job_id(c->pos[i])) < 0) {
            free(ids);
            return CLI_USAGE;
        }
    }
    int rc = CLI_OK;
    const struct audit_by by = {cli_actor(c), NULL};
    for (int i = 0; i < c->n_pos; i++) {
        char err[1024];
        enum job_err e = job_retry(cli_db(c), cli_rq(c), ids[i], force, &by, err, sizeof(err));
        if (e != JOB_E_OK) {
            int r = cli_job_err(e, err);
            if (rc == CLI_OK || r == CLI_RUNTIME)
                rc = r;
            continue;
        }
        if (c->json)
            printf("{\"id\":%lld,\"state\":\"queued\"}\n", (long long)ids[i]);
        else
            printf("%lld queued\n", (long long)ids[i]);
    }
    free(ids);
    return rc;
}

static const struct cli_opt_spec cancel_opts[] = {
    {"--state", true}, {"--action", true}, {"--queue", true}, {NULL, false}};

static int
cli_cancel_bulk(struct cli *c)
{
    const char *state = cli_opt(c, "--state");
    if (state == NULL)
        return cli_usage_error("cancel: --action and --queue need --state pending|queued|running");
    int64_t n = 0;
    char err[1024];
    char *detail = cli_opts_detail(c);
    const struct audit_by by = {cli_actor(c), detail};
    enum job_err e = job_cancel_bulk(cli_db(c), cli_rq(c), state, cli_opt(c, "--action"),
                                     cli_opt(c, "--queue"), &by, &n, err, sizeof(err));
    free(detail);
    if (e != JOB_E_OK && n > 0)
        return cli_runtime_error("%s (%lld job(s) were cancelled before it)", err, (long long)n);
    if (e != JOB_E_OK)
        return cli_job_err(e, err);
    if (c->json)
        printf("{\"cancelled\":%lld}\n", (long long)n);
    else
        printf("%lld job(s) cancelled%s\n", (long long)n,
               strcmp(state, "running") == 0 ? " (their workers stop them)" : "");
    return CLI_OK;
}

int
cli_cancel(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "cancel", argc, argv, cancel_opts) < 0)
        return CLI_USAGE;
    bool bulk = cli_opt(c, "--state") || cli_opt(c, "--action") || cli_opt(c, "--queue");
    if (bulk && c->n_pos)
        return cli_usage_error("cancel: give a job ID or --state, not both");
    if (bulk)
        return cli_cancel_bulk(c);
    if (c->n_pos != 1)
        return cli_usage_error("cancel needs one job ID (or --state queued)");
    int64_t id = cli_job_id(c->pos[0]);
    if (id < 0)
        return CLI_USAGE;
    const char *state = NULL;
    char err[1024];
    const struct audit_by by = {cli_actor(c), NULL};
    enum job_err e = job_cancel(cli_db(c), cli_rq(c), id, &by, &state, err, sizeof(err));
    if (e != JOB_E_OK)
        return cli_job_err(e, err);
    if (c->json)
        printf("{\"id\":%lld,\"state\":\"%s\"}\n", (long long)id, state);
    else
        printf("%lld %s\n", (long long)id, state);
    return CLI_OK;
}

int
cli_stats(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "stats", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos)
        return cli_usage_error("stats takes no arguments");
    char err[1024];
    cJSON *s = job_stats(cli_db(c), err, sizeof(err));
    if (s == NULL)
        return cli_runtime_error("%s", err);
    if (c->json) {
        cli_print_json(s);
    } else {
        const cJSON *st = cJSON_GetObjectItem(s, "states"), *it;
        cJSON_ArrayForEach(it, st) printf("%-10s %.0f\n", it->string, it->valuedouble);
        const cJSON *w = cJSON_GetObjectItem(s, "workers"), *sl = cJSON_GetObjectItem(s, "slots");
        printf("workers    %.0f (%.0f slots)\n", w ? w->valuedouble : 0, sl ? sl->valuedouble : 0);
        const cJSON *qs = cJSON_GetObjectItem(s, "queues");
        cJSON_ArrayForEach(it, qs)
        {
            printf("queue %s:", it->string);
            const cJSON *x;
            cJSON_ArrayForEach(x, it) printf(" %s=%.0f", x->string, x->valuedouble);
            printf("\n");
        }
    }
    cJSON_Delete(s);
    return CLI_OK;
}
