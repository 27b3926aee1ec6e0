/* jobfleet-worker: flags, config and signals; the work is in supervisor.c. */
#include "actions.h"
#include "cfg.h"
#include "log.h"
#include "supervisor.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *fp)
{
    fprintf(fp,
            "usage: jobfleet-worker [--config PATH] [--concurrency N] [--queues SPEC]\n"
            "                       [--check-config] [--help]\n"
            "\n"
            "Runs jobs: a supervisor pops job IDs from Redis, claims them in MariaDB and hands\n"
            "each to one of N child processes.\n"
            "\n"
            "  --config PATH     config file (default $JOBFLEET_CONFIG, else\n"
            "                    /etc/jobfleet/jobfleet.conf if present)\n"
            "  --concurrency N   child processes ([worker] concurrency, default 16)\n"
            "  --queues SPEC     queues and weights, e.g. critical:3,default:1\n"
            "                    ([worker] queues, default default:1)\n"
            "  --check-config    load and check the config, then exit\n"
            "  --help            this text\n"
            "\n"
            "Signals: SIGTERM or SIGINT drains (no new jobs; running jobs finish, up to\n"
            "[worker] drain_timeout_s) and exits 0; a second one stops at once and exits 1.\n"
            "Exit status: 0 drained, 1 runtime failure, 2 usage or config error.\n");
}

int
main(int argc, char **argv)
{
    const char *config = NULL, *concurrency = NULL, *queues = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--check-config") == 0) {
            check = true;
            continue;
        } else if (strcmp(a, "--config") == 0) {
            slot = &config;
        } else if (strcmp(a, "--concurrency") == 0) {
            slot = &concurrency;
        } else if (strcmp(a, "--queues") == 0) {
            slot = &queues;
        } else {
            fprintf(stderr, "jobfleet-worker: unknown option %s (see --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "jobfleet-worker: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    /* Flags are the highest-precedence source: they override file and environment. */
    if (concurrency)
        setenv("JOBFLEET_WORKER_CONCURRENCY", concurrency, 1);
    if (queues)
        setenv("JOBFLEET_WORKER_QUEUES", queues, 1);
    struct cfg cfg;
    char err[1024];
    if (cfg_load(&cfg, config, err, sizeof(err)) < 0) {
        if (concurrency && strstr(err, "concurrency"))
            fprintf(stderr,
                    "jobfleet-worker: --concurrency \"%s\": expected an integer in "
                    "1-1024\n",
                    concurrency);
        else
            fprintf(stderr, "jobfleet-worker: %s\n", err);
        return 2;
    }
    enum log_level lv = LOG_LEVEL_INFO;
    log_level_parse(cfg.log.level, &lv);
    log_init("jobfleet-worker", lv);
    actions_install();
    if (check) {
        printf("config OK%s%s\n", cfg.path ? ": " : "", cfg.path ? cfg.path : "");
        cfg_release(&cfg);
        return 0;
    }
    int rc = supervisor_run(&cfg);
    cfg_release(&cfg);
    return rc;
}
