/* This file holds `jobfleet run` (one job function in the foreground, no queue and no job row)
 * and `jobfleet actions` (every registered action with its defaults). */
#include "action.h"
#include "cli.h"
#include "json.h"
#include "registry.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int run_cancel;
static volatile pid_t run_child;

static void
run_on_signal(int sig)
{
    (void)sig;
    run_cancel = 1;
}

/* The parent's: a signal sent to it alone (a timeout, a service manager) reaches the job. */
static void
run_forward(int sig)
{
    if (run_child > 0)
        kill(run_child, sig);
}

/* Forks: the child returns 0 and runs the job as the worker's child would; the parent waits
 * and returns the child's exit status, or says how it died (a function that crashes must not
 * take the CLI with it: --help promises exit 1) and returns CLI_RUNTIME. */
static int
run_in_child(const char *action, bool *child)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    *child = pid == 0;
    if (pid <= 0)
        return pid < 0 ? cli_runtime_error("run: fork: %s", strerror(errno)) : CLI_OK;
    run_child = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = run_forward;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st)) {
        fprintf(stderr, "%s crashed: signal %d (%s)\n", action, WTERMSIG(st),
                strsignal(WTERMSIG(st)));
        return CLI_RUNTIME;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : CLI_RUNTIME;
}

static const struct cli_opt_spec run_opts[] = {
    {"--params", true},
    {"--dry-run", false},
    {NULL, false},
};

/* The parameters to run with: --params (a JSON object), with "dry_run": true added for
 * --dry-run. NULL after printing the error. */
static char *
run_params(const struct cli *c)
{
    const char *text = cli_opt(c, "--params");
    if (text && json_text_has_nul(text, strlen(text))) {
        cli_usage_error("run: parameters hold " JSON_NUL_REFUSED);
        return NULL;
    }
    cJSON *p = cJSON_ParseWithOpts(text ? text : "{}", NULL, 1);
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        cli_usage_error("--params: not a JSON object");
        return NULL;
    }
    char err[256];
    if (json_params_inexact(p, err, sizeof(err))) {
        cJSON_Delete(p);
        cli_usage_error("run: %s", err);
        return NULL;
    }
    /* As job_spec_check says for every other way in: only true asks for a dry run, and a
     * "true" or 1 would run the job for real. */
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive(p, "dry_run");
    if (dry && !cJSON_IsBool(dry)) {
        cJSON_Delete(p);
        cli_usage_error("run: parameters: \"dry_run\" must be true or false");
        return NULL;
    }
    if (cli_opt(c, "--dry-run")) {
        cJSON_DeleteItemFromObjectCaseSensitive(p, "dry_run");
        cJSON_AddBoolToObject(p, "dry_run", true);
    }
    char *s = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    return s;
}

int
cli_run(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "run", argc, argv, run_opts) < 0)
        return CLI_USAGE;
    if (c->n_pos != 1)
        return cli_usage_error("run needs one ACTION (see `jobfleet actions`)");
    const char *action = c->pos[0];
    job_fn *fn = registry_find(action, c->cfg.worker.test_actions);
    if (fn == NULL)
        return cli_usage_error("unknown action \"%s\" (see `jobfleet actions`)", action);
    char *params = run_params(c);
    if (params == NULL)
        return CLI_USAGE;
    bool child = false;
    int rc = run_in_child(action, &child);
    if (!child) {
        free(params);
        return rc;
    }
    /* Ctrl-C asks the job function to stop, as a cancellation does in the worker. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = run_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct job_env *env = job_env_new(&c->cfg, true);
    struct job_out out = {.status = JOB_FAIL};
    job_run(env, fn, 0, 1, action, params, &run_cancel, &out);
    job_env_free(env);
    free(params);
    static const char *const word[] = {"succeeded", "retry", "failed", "cancelled"};
    fprintf(stderr, "%s %s%s%s\n", action, word[out.status], out.reason ? ": " : "",
            out.reason ? out.reason : "");
    if (out.result)
        printf("%s\n", out.result);
    rc = out.status == JOB_OK ? CLI_OK : CLI_RUNTIME;
    job_out_release(&out);
    return rc;
}

static cJSON *
action_json(const struct action_info *a)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "action", a->action);
    cJSON_AddStringToObject(j, "queue", a->queue);
    cJSON_AddNumberToObject(j, "max_attempts", a->max_attempts);
    cJSON_AddNumberToObject(j, "timeout_s", a->timeout_s);
    cJSON_AddNumberToObject(j, "backoff_base_ms", (double)a->backoff_base_ms);
    cJSON_AddNumberToObject(j, "backoff_cap_ms", (double)a->backoff_cap_ms);
    if (a->unique_by)
        cJSON_AddStringToObject(j, "unique_by", a->unique_by);
    else
        cJSON_AddNullToObject(j, "unique_by");
    cJSON_AddBoolToObject(j, "webhook", action_is_webhook(a));
    cJSON_AddBoolToObject(j, "test_only", a->test_only);
    cJSON_AddStringToObject(j, "summary", a->summary ? a->summary : "");
    return j;
}

/* The fleet-wide limits set with `jobfleet action set` are in the database; this lists what the
 * build knows, so it needs no server. */
int
cli_actions(struct cli *c, int argc, char **argv)
{
    if (cli_parse(c, "actions", argc, argv, NULL) < 0)
        return CLI_USAGE;
    if (c->n_pos != 0)
        return cli_usage_error("actions takes no arguments");
    bool test = c->cfg.worker.test_actions;
    if (c->json) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; action_at(i, test); i++)
            cJSON_AddItemToArray(arr, action_json(action_at(i, test)));
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
        return CLI_OK;
    }
    printf("%-28s %-10s %8s %8s %8s %8s  %s\n", "ACTION", "QUEUE", "ATTEMPTS", "TIMEOUT", "BACKOFF",
           "CAP", "UNIQUE BY / SUMMARY");
    for (int i = 0; action_at(i, test); i++) {
        const struct action_info *a = action_at(i, test);
        printf("%-28s %-10s %8d %7ds %7llds %7llds  %s%s%s\n", a->action, a->queue, a->max_attempts,
               a->timeout_s, (long long)(a->backoff_base_ms / 1000),
               (long long)(a->backoff_cap_ms / 1000), a->unique_by ? a->unique_by : "",
               a->unique_by ? ": " : "", a->summary ? a->summary : "");
    }
    return CLI_OK;
}
