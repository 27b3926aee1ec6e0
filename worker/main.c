/* jobfleet-worker: flags, config and signals; the work is in supervisor.c. */
#include "actions.h"
#include "cfg.h"
#include "fetch_queues.h"
#include "listen_addr.h"
#include "log.h"
#include "migrate.h"
#include "supervisor.h"
#include "util.h"

#include <getopt.h>
#include <stdarg.h>
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
            "  --config PATH     config file (default $JOBFLEET_CONFIG, else your own\n"
            "                    .local/jobfleet.conf from deploy/local/up when run in the\n"
            "                    checkout, else /etc/jobfleet/jobfleet.conf if present)\n"
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

/* Reports a bad command line on one line of stderr; returns the usage exit status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "jobfleet-worker: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see --help)\n");
    va_end(ap);
    return 2;
}

int
main(int argc, char **argv)
{
    const char *config = NULL, *concurrency = NULL, *queues = NULL;
    bool check = false;
    enum { OPT_CHECK = 256, OPT_CONFIG, OPT_CONCURRENCY, OPT_QUEUES };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"queues", required_argument, NULL, OPT_QUEUES},
        {NULL, 0, NULL, 0},
    };
    /* Our own messages, one line each; '+' stops at the first operand instead of permuting. */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_CONCURRENCY:
            concurrency = optarg;
            break;
        case OPT_QUEUES:
            queues = optarg;
            break;
        case ':':
            return usage_error("%s needs a value", argv[optind - 1]);
        default:
            /* optopt holds a short option's letter, or a long option's code. */
            if (optopt > 0 && optopt < 256)
                return usage_error("unknown option -%c", optopt);
            return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
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
    /* Checked before any child is forked: a bad address once left the worker running without
     * metrics, and a port past 65535 was wrapped (99999 listened on 34463). */
    const char *ml = cfg.worker.metrics_listen;
    if (ml && *ml && listen_addr_check("[worker] metrics_listen", ml, err, sizeof(err)) < 0) {
        fprintf(stderr, "jobfleet-worker: %s\n", err);
        cfg_release(&cfg);
        return 2;
    }
    if (check) {
        /* What the start refuses, the check refuses too: a unit with Restart=always would
         * restart-loop on a config --check-config passed. */
        struct fetch_queue *q = NULL;
        int nq = 0;
        char qerr[256];
        if (fetch_parse_queues(cfg.worker.queues, &q, &nq, qerr, sizeof(qerr)) < 0) {
            fprintf(stderr, "jobfleet-worker: [worker] queues: %s\n", qerr);
            cfg_release(&cfg);
            return 2;
        }
        fetch_queues_free(q, nq);
        printf("config OK: %s\n",
               cfg.path ? cfg.path : "no config file (the defaults and the environment)");
        cfg_release(&cfg);
        return 0;
    }
    cfg_log_source(&cfg);
    if (migrate_check_schema(&cfg.mysql, err, sizeof(err)) < 0) {
        log_error("%s", err);
        cfg_release(&cfg);
        return 1;
    }
    int rc = supervisor_run(&cfg);
    cfg_release(&cfg);
    return rc;
}
