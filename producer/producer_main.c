/* This file is jobfleet-producer's entry point: flags, configuration, logging, then
 * producer_run(). */
#include "actions.h"
#include "log.h"
#include "producer.h"
#include "webhook_route.h"

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
producer_help(FILE *fp)
{
    fprintf(fp, "usage: jobfleet-producer [--config PATH] [--check-config]\n"
                "\n"
                "The fleet's HTTP front door: POST /webhook/<path> (authenticated per\n"
                "[webhook.<source>] section), the JSON API under /api/ (bearer token\n"
                "[producer] api_token), GET /health, GET /metrics and the dashboard at GET /\n"
                "(login with [dashboard] users or the API token; docs/dashboard.md).\n"
                "\n"
                "options:\n"
                "  --config PATH    config file (default $JOBFLEET_CONFIG, else your own\n"
                "                   .local/jobfleet.conf from deploy/local/up when run in the\n"
                "                   checkout, else /etc/jobfleet/jobfleet.conf if present)\n"
                "  --check-config   check the configuration, print \"config ok\" and exit\n"
                "  --help           this text\n"
                "\n"
                "signals: SIGTERM or SIGINT stops accepting connections, finishes the requests\n"
                "already received and exits 0; a second one closes them at once.\n"
                "\n"
                "exit status: 0 stopped by a signal (or config ok), 1 runtime failure (cannot\n"
                "listen, spool directory unusable), 2 usage or configuration error.\n");
}

/* A bulk request of 1,000 jobs allocates a few blocks of 100-400 KB. By default glibc maps
 * blocks over 128 KB afresh and trims its heaps on free, so every request paid page faults and
 * zeroing for them: the producer's CPU per request rose from 3.1 to 5.5 ms when the insert's
 * arrays grew from 256 rows to 1,000. Kept in the heaps below 8 MiB and trimmed only past
 * 64 MiB free, the same requests cost 1.9-2.0 ms (100 requests a round, 3 rounds, same run).
 * What stays mapped is bounded by the largest requests served at once. */
static void
producer_tune_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int
main(int argc, char **argv)
{
    producer_tune_malloc();
    const char *config = NULL;
    bool check = false;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    opterr = 0;
    for (int o; (o = getopt_long(argc, argv, ":h", opts, NULL)) != -1;) {
        if (o == 'h') {
            producer_help(stdout);
            return 0;
        } else if (o == 'k') {
            check = true;
        } else if (o == 'c') {
            config = optarg;
        } else {
            fprintf(stderr, "jobfleet-producer: %s %s (see --help)\n",
                    o == ':' ? "missing value of" : "unknown option", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jobfleet-producer: unexpected argument %s (see --help)\n", argv[optind]);
        return 2;
    }
    struct cfg c;
    char err[1024];
    if (cfg_load(&c, config, err, sizeof(err)) < 0) {
        fprintf(stderr, "jobfleet-producer: %s\n", err);
        return 2;
    }
    enum log_level lv = LOG_LEVEL_INFO;
    log_level_parse(c.log.level, &lv);
    log_init("jobfleet-producer", lv);
    actions_install();
    if (producer_check_config(&c, err, sizeof(err)) < 0) {
        fprintf(stderr, "jobfleet-producer: %s\n", err);
        cfg_release(&c);
        return 2;
    }
    webhook_sources_warn_unused(&c);
    if (check) {
        printf("config ok%s\n",
               c.path ? "" : " (no config file: the defaults and the environment)");
        cfg_release(&c);
        return 0;
    }
    cfg_log_source(&c);
    int rc = producer_run(&c, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "jobfleet-producer: %s\n", err);
    cfg_release(&c);
    return rc < 0 ? 1 : 0;
}
