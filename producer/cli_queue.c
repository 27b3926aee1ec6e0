/* This file holds the CLI's queue and action commands: list, pause, resume, and limits. */
#include "action.h"
#include "cli.h"
#include "instance.h"
#include "job.h"
#include "json.h"
#include "settings.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds queue to the array of names (arg) unless it is there. */
static void
cli_name_add(const char *queue, void *arg)
{
    cJSON *names = arg;
    const cJSON *it;
    cJSON_ArrayForEach(it, names)
    {
        if (strcmp(it->valuestring, queue) == 0)
            return;
    }
    cJSON_AddItemToArray(names, cJSON_CreateString(queue));
}

/* The limits of a listed queue or action (o: its JSON) as a table cell: "-" for none. */
static void
cli_limits_text(const cJSON *o, char *out, size_t len)
{
    /* Only the limits set: "concurrency 0" read as none allowed. */
    double cl = cJSON_GetObjectItem(o, "concurrency_limit")->valuedouble;
    double rl = cJSON_GetObjectItem(o, "rate_limit")->valuedouble;
    snprintf(out, len, "-");
    if (cl > 0)
        snprintf(out, len, "concurrency %.0f", cl);
    if (rl > 0)
        snprintf(out + (cl > 0 ? strlen(out) : 0), len - (cl > 0 ? strlen(out) : 0),
                 "%srate %.0f/%.0fms", cl > 0 ? ", " : "", rl,
                 cJSON_GetObjectItem(o, "rate_interval_ms")->valuedouble);
}

static int
cli_queue_list(struct cli *c)
{
    struct db *db = cli_db(c);
    struct db_rows *r = job_live_counts(db);
    if (r == NULL)
        return cli_runtime_error("queue list: %s", db_errstr(db));
    struct settings set;
    if (settings_load(db, &set) < 0) {
        db_rows_free(r);
        return cli_runtime_error("queue list: %s", db_errstr(db));
    }
    /* Every queue that has live jobs or settings, or that a worker pops (a fresh stack's
     * "default" has neither of the others). */
    cJSON *names = cJSON_CreateArray();
    for (int i = 0; i < r->n_rows; i++)
        cli_name_add(db_rows_get(r, i, 0), names);
    for (int i = 0; i < set.n_queues; i++)
        cli_name_add(set.queues[i].name, names);
    if (instance_served_queues(db, cli_name_add, names) < 0) {
        cJSON_Delete(names);
        db_rows_free(r);
        settings_release(&set);
        return cli_runtime_error("queue list: %s", db_errstr(db));
    }
    cJSON *out = cJSON_CreateArray();
    const cJSON *name;
    cJSON_ArrayForEach(name, names)
    {
        const char *q = name->valuestring;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "queue", q);
        double counts[3] = {0, 0, 0}, over = 0;
        static const char *st[] = {"pending", "queued", "running"};
        for (int k = 0; k < r->n_rows; k++)
            for (int m = 0; m < 3; m++)
                if (!strcmp(db_rows_get(r, k, 0), q) && !strcmp(db_rows_get(r, k, 1), st[m])) {
                    counts[m] = (double)db_rows_int(r, k, 2, 0);
                    over += m == 0 ? (double)db_rows_int(r, k, 3, 0) : 0;
                }
        for (int m = 0; m < 3; m++)
            cJSON_AddNumberToObject(o, st[m], counts[m]);
        cJSON_AddNumberToObject(o, "over_limit", over);
        int64_t depth = rq_depth(cli_rq(c), q);
        if (depth >= 0)
            cJSON_AddNumberToObject(o, "depth", (double)depth);
        else
            cJSON_AddNullToObject(o, "depth");
        const struct queue_setting *qs = settings_queue(&set, q);
        cJSON_AddBoolToObject(o, "paused", qs && qs->paused);
        cJSON_AddNumberToObject(o, "concurrency_limit", qs ? qs->lim.concurrency : 0);
        cJSON_AddNumberToObject(o, "rate_limit", qs ? qs->lim.rate : 0);
        cJSON_AddNumberToObject(o, "rate_interval_ms",
                                qs && qs->lim.rate ? (double)qs->lim.rate_interval_ms : 0);
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(names);
    db_rows_free(r);
    settings_release(&set);
    if (c->json) {
        cli_print_json(out);
    } else {
        printf("%-20s %8s %8s %8s %8s %-7s %s\n", "QUEUE", "DEPTH", "PENDING", "QUEUED", "RUNNING",
               "PAUSED", "LIMITS (PENDING OVER THEM)");
        const cJSON *it;
        cJSON_ArrayForEach(it, out)
        {
            const cJSON *d = cJSON_GetObjectItem(it, "depth");
            char depth[32] = "?", lim[128];
            if (cJSON_IsNumber(d))
                snprintf(depth, sizeof(depth), "%.0f", d->valuedouble);
            cli_limits_text(it, lim, sizeof(lim));
            double over = cJSON_GetObjectItem(it, "over_limit")->valuedouble;
            /* An action's limit holds back jobs of a queue without one of its own. */
            if (over > 0)
                snprintf(lim + strlen(lim), sizeof(lim) - strlen(lim), " (%.0f)", over);
            printf("%-20s %8s %8.0f %8.0f %8.0f %-7s %s\n",
                   cJSON_GetObjectItem(it, "queue")->valuestring, depth,
                   cJSON_GetObjectItem(it, "pending")->valuedouble,
                   cJSON_GetObjectItem(it, "queued")->valuedouble,
                   cJSON_GetObjectItem(it, "running")->valuedouble,
                   cJSON_IsTrue(cJSON_GetObjectItem(it, "paused")) ? "yes" : "no", lim);
        }
    }
    cJSON_Delete(out);
    return CLI_OK;
}

/* Parses --concurrency and --rate into l (-1: unchanged). */
static int
cli_limits(struct cli *c, const char *cmd, struct limits *l)
{
    l->concurrency = -1;
    l->rate = -1;
    l->rate_interval_ms = -1;
    const char *v;
    if ((v = cli_opt(c, "--concurrency"))) {
        int64_t n;
        if (strcmp(v, "none") == 0)
            n = 0;
        else if (parse_int64(v, 1, 100000, &n) < 0)
            return cli_usage_error("%s: --concurrency \"%s\" must be 1..100000 or none", cmd, v);
        l->concurrency = (int)n;
    }
    if ((v = cli_opt(c, "--rate"))) {
        int rate;
        int64_t ms;
        if (settings_parse_rate(v, &rate, &ms) < 0)
            return cli_usage_error("%s: --rate \"%s\" must be N/DURATION (e.g. 5/1s, 100/1m; "
                                   "a window of at most 24 days) or none",
                                   cmd, v);
        l->rate = rate;
        l->rate_interval_ms = ms;
    }
    return CLI_OK;
}

static const struct cli_opt_spec limit_opts[] = {
    {"--concurrency", true}, {"--rate", true}, {"--backoff-base", true},
    {"--backoff-cap", true}, {NULL, false},
};

/* After a committed change that loosens a limit: marks the scope's row changed (no worker then
 * defers a job by a snapshot from before: settings_touch), releases the jobs that wait for the
 * old limit, and again once every worker's settings are newer (a worker of an older version
 * defers without that check). The change stands whatever happens here; a job not released
 * waits out its deferral, as it would without the release. Returns how many it released. */
static int64_t
cli_release(struct cli *c, bool queue, const char *name)
{
    int64_t committed = now_mono_ms();
    int64_t n = settings_touch(cli_db(c), queue, name) < 0
                    ? -1
                    : settings_release_deferred(cli_db(c), queue, name);
    sleep_ms(committed + SETTINGS_AGE_MAX_MS - now_mono_ms());
    int64_t m = n < 0 ? -1 : settings_release_deferred(cli_db(c), queue, name);
    if (m < 0) {
        fprintf(stderr,
                "jobfleet: the change is made, but the jobs waiting for the old limit "
                "were not all released (they wait out their deferral): %s\n",
                db_errstr(cli_db(c)));
        return n > 0 ? n : 0;
    }
    return n + m;
}

/* What a limit or setting change says: "NAME WHAT", and how many jobs waiting for the old
 * limit it released (released >= 0: a limit was given); or under --json {"KIND": NAME, "set":
 * the options given, "released": N}. */
static void
cli_print_set(const struct cli *c, const char *kind, const char *name, const char *detail,
              const char *what, int64_t released)
{
    if (!c->json) {
        printf("%s %s", name, what);
        if (released > 0)
            printf("; %lld job(s) waiting for the old limit released (due within %d ms)",
                   (long long)released, SETTINGS_RELEASE_MS);
        printf("\n");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, kind, name);
    cJSON_AddStringToObject(o, "set", detail);
    if (released >= 0)
        cJSON_AddNumberToObject(o, "released", (double)released);
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

/* True when action_settings has a row for name (an action renamed or removed since). */
static bool
cli_action_has_row(struct cli *c, const char *name)
{
    struct settings set;
    if (settings_load(cli_db(c), &set) < 0)
        return false;
    bool has = settings_action(&set, name) != NULL;
    settings_release(&set);
    return has;
}

/* Whether the backoff an action would have after this change has its base past its cap, the
 * side not given taken from its settings row, else from its registered default (said, then
 * true). base and cap are the given ones in ms, -1 when not given. */
static bool
cli_backoff_past_cap(struct cli *c, const char *action, int64_t base, int64_t cap)
{
    const struct action_info *a = action_find(action, c->cfg.worker.test_actions);
    struct settings set;
    if (settings_load(cli_db(c), &set) < 0)
        return false; /* the change itself will say what is wrong with the database */
    const struct action_setting *row = settings_action(&set, action);
    int64_t b = base > 0                          ? base
                : row && row->backoff_base_ms > 0 ? row->backoff_base_ms
                : a                               ? a->backoff_base_ms
                                                  : 0;
    int64_t k = cap > 0                          ? cap
                : row && row->backoff_cap_ms > 0 ? row->backoff_cap_ms
                : a                              ? a->backoff_cap_ms
                                                 : 0;
    settings_release(&set);
    if (b <= 0 || k <= 0 || b <= k)
        return false;
    cli_usage_error("action set: the backoff base (%lld s) would be longer than its cap (%lld s, "
                    "%s): give both, or a %s that fits",
                    (long long)(b / 1000), (long long)(k / 1000),
                    cap > 0 ? "given" : "set before or the action's default",
                    cap > 0 ? "--backoff-base" : "--backoff-cap");
    return true;
}

int
cli_queue(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "queue", argc, argv, limit_opts) < 0)
        return CLI_USAGE;
    const char *sub = c->n_pos ? c->pos[0] : NULL;
    if (sub == NULL)
        return cli_usage_error("queue needs list, pause Q, resume Q or limit Q");
    if (strcmp(sub, "list") == 0)
        return cli_queue_list(c);
    if (c->n_pos != 2)
        return cli_usage_error("queue %s needs one queue name", sub);
    const char *q = c->pos[1];
    /* The options are shared with action set; what a queue command does not use is refused,
     * not dropped while the command says it was set. */
    bool limit = strcmp(sub, "limit") == 0;
    const char *unused = cli_opt(c, "--backoff-base")  ? "--backoff-base"
                         : cli_opt(c, "--backoff-cap") ? "--backoff-cap"
                         : limit                       ? NULL
                         : cli_opt(c, "--concurrency") ? "--concurrency"
                         : cli_opt(c, "--rate")        ? "--rate"
                                                       : NULL;
    if (unused)
        return cli_usage_error("queue %s does not take %s%s", sub, unused,
                               limit ? " (backoff is set per action: action set)" : "");
    if (!job_queue_name_ok(q))
        return cli_usage_error("queue name \"%s\" must be 1-64 of [A-Za-z0-9._-]", q);
    /* Nothing to set would still say "limits set" and write an empty audit row. */
    if (limit && !cli_opt(c, "--concurrency") && !cli_opt(c, "--rate"))
        return cli_usage_error("queue limit %s needs --concurrency N|none, --rate N/DURATION|none "
                               "or both",
                               q);
    struct db *db = cli_db(c);
    if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0) {
        bool pause = sub[0] == 'p';
        int rc = cli_change_begin(c);
        if (rc != CLI_OK)
            return rc;
        if (settings_queue_pause(db, q, pause) < 0) {
            rc = cli_runtime_error("queue %s: %s", sub, db_errstr(db));
            cli_change_abort(c);
            return rc;
        }
        if ((rc = cli_change_commit(c, sub, "queue", q, NULL)) != CLI_OK)
            return rc;
        printf(c->json ? "{\"queue\":\"%s\",\"paused\":%s}\n" : "%s %s\n", q,
               c->json ? (pause ? "true" : "false") : (pause ? "paused" : "resumed"));
        return CLI_OK;
    }
    if (strcmp(sub, "limit") == 0) {
        struct limits l;
        if (cli_limits(c, "queue limit", &l) != CLI_OK)
            return CLI_USAGE;
        int rc = cli_change_begin(c);
        if (rc != CLI_OK)
            return rc;
        int loosens = settings_queue_limit(db, q, &l);
        if (loosens < 0) {
            rc = cli_runtime_error("queue limit: %s", db_errstr(db));
            cli_change_abort(c);
            return rc;
        }
        char *detail = cli_opts_detail(c);
        rc = cli_change_commit(c, "limit", "queue", q, detail);
        int64_t released = rc == CLI_OK && loosens ? cli_release(c, true, q) : 0;
        if (rc == CLI_OK)
            cli_print_set(c, "queue", q, detail, "limits set", released);
        free(detail);
        return rc;
    }
    return cli_usage_error("unknown queue command \"%s\" (list, pause, resume, limit)", sub);
}

/* One action's row of `action list`: its settings row (as) over its registered defaults (a;
 * NULL for a row of an action since renamed or removed). */
static cJSON *
cli_action_row(const struct action_info *a, const struct action_setting *as, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "action", name);
    cJSON_AddBoolToObject(o, "registered", a != NULL);
    cJSON_AddNumberToObject(o, "concurrency_limit", as ? as->lim.concurrency : 0);
    cJSON_AddNumberToObject(o, "rate_limit", as ? as->lim.rate : 0);
    cJSON_AddNumberToObject(o, "rate_interval_ms",
                            as && as->lim.rate ? (double)as->lim.rate_interval_ms : 0);
    int64_t base = as && as->backoff_base_ms ? as->backoff_base_ms : a ? a->backoff_base_ms : 0;
    int64_t cap = as && as->backoff_cap_ms ? as->backoff_cap_ms : a ? a->backoff_cap_ms : 0;
    cJSON_AddNumberToObject(o, "backoff_base_ms", (double)base);
    cJSON_AddNumberToObject(o, "backoff_cap_ms", (double)cap);
    return o;
}

static void
cli_action_print(const cJSON *o)
{
    char lim[128];
    cli_limits_text(o, lim, sizeof(lim));
    printf("%-36s %8.0fs %8.0fs  %s%s\n", cJSON_GetObjectItem(o, "action")->valuestring,
           cJSON_GetObjectItem(o, "backoff_base_ms")->valuedouble / 1000,
           cJSON_GetObjectItem(o, "backoff_cap_ms")->valuedouble / 1000, lim,
           cJSON_IsTrue(cJSON_GetObjectItem(o, "registered")) ? "" : " (no such action now)");
}

/* `action list`: what the workers go by for each action, the settings rows of `action set` (and
 * of migrations, such as Dispatch/Legacy/Sync's concurrency of 1) over the registered defaults
 * that `actions` lists. A row of an action since renamed or removed is listed too, to be
 * cleared. */
static int
cli_action_list(struct cli *c)
{
    struct settings set;
    if (settings_load(cli_db(c), &set) < 0)
        return cli_runtime_error("action list: %s", db_errstr(cli_db(c)));
    bool test = c->cfg.worker.test_actions;
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; action_at(i, test); i++) {
        const struct action_info *a = action_at(i, test);
        cJSON_AddItemToArray(out, cli_action_row(a, settings_action(&set, a->action), a->action));
    }
    for (int i = 0; i < set.n_actions; i++)
        if (action_find(set.actions[i].name, test) == NULL)
            cJSON_AddItemToArray(out, cli_action_row(NULL, &set.actions[i], set.actions[i].name));
    settings_release(&set);
    if (c->json) {
        cli_print_json(out);
    } else {
        printf("%-36s %9s %9s  %s\n", "ACTION", "BACKOFF", "CAP", "LIMITS");
        const cJSON *it;
        cJSON_ArrayForEach(it, out) cli_action_print(it);
    }
    cJSON_Delete(out);
    return CLI_OK;
}

int
cli_action(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "action", argc, argv, limit_opts) < 0)
        return CLI_USAGE;
    const char *sub = c->n_pos ? c->pos[0] : NULL;
    if (sub && strcmp(sub, "list") == 0 && c->n_pos == 1 && !cli_opt(c, "--concurrency") &&
        !cli_opt(c, "--rate") && !cli_opt(c, "--backoff-base") && !cli_opt(c, "--backoff-cap"))
        return cli_action_list(c);
    if (sub == NULL || strcmp(sub, "set") != 0 || c->n_pos != 2)
        return cli_usage_error("action needs: list, or set ACTION [--concurrency N|none] "
                               "[--rate N/DURATION|none] [--backoff-base D] [--backoff-cap D]");
    /* Settings of a name no worker runs would limit nothing (settings match exactly); a row
     * left by an action since renamed or removed may still be changed, to clear it. */
    if (action_find(c->pos[1], c->cfg.worker.test_actions) == NULL &&
        !cli_action_has_row(c, c->pos[1]))
        return cli_usage_error("action set: unknown action \"%s\" (jobfleet actions lists them)",
                               c->pos[1]);
    if (!cli_opt(c, "--concurrency") && !cli_opt(c, "--rate") && !cli_opt(c, "--backoff-base") &&
        !cli_opt(c, "--backoff-cap"))
        return cli_usage_error("action set %s needs --concurrency, --rate, --backoff-base or "
                               "--backoff-cap",
                               c->pos[1]);
    struct limits l;
    if (cli_limits(c, "action set", &l) != CLI_OK)
        return CLI_USAGE;
    int64_t base = -1, cap = -1;
    const char *v;
    if ((v = cli_opt(c, "--backoff-base"))) {
        if (parse_duration_s(v, &base) < 0 || base <= 0 || base > CLI_DURATION_MAX_S)
            return cli_usage_error("action set: --backoff-base \"%s\" is not a duration of 1 s to "
                                   "100 years",
                                   v);
        base *= 1000;
    }
    if ((v = cli_opt(c, "--backoff-cap"))) {
        if (parse_duration_s(v, &cap) < 0 || cap <= 0 || cap > CLI_DURATION_MAX_S)
            return cli_usage_error("action set: --backoff-cap \"%s\" is not a duration of 1 s to "
                                   "100 years",
                                   v);
        cap *= 1000;
    }
    /* A base past the cap would wait the cap from the first retry on: not what was asked. */
    if (base > 0 && cap > 0 && base > cap)
        return cli_usage_error("action set: --backoff-base (%s) is longer than --backoff-cap (%s)",
                               cli_opt(c, "--backoff-base"), cli_opt(c, "--backoff-cap"));
    if ((base > 0 || cap > 0) && cli_backoff_past_cap(c, c->pos[1], base, cap))
        return CLI_USAGE;
    struct db *db = cli_db(c);
    int rc = cli_change_begin(c);
    if (rc != CLI_OK)
        return rc;
    int loosens = settings_action_set(db, c->pos[1], &l, base, cap);
    if (loosens < 0) {
        rc = cli_runtime_error("action set: %s", db_errstr(db));
        cli_change_abort(c);
        return rc;
    }
    char *detail = cli_opts_detail(c);
    rc = cli_change_commit(c, "set", "action", c->pos[1], detail);
    int64_t released = rc == CLI_OK && loosens ? cli_release(c, false, c->pos[1]) : 0;
    if (rc == CLI_OK)
        cli_print_set(c, "action", c->pos[1], detail, "settings set",
                      cli_opt(c, "--concurrency") || cli_opt(c, "--rate") ? released : -1);
    free(detail);
    return rc;
}
