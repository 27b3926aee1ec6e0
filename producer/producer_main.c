/* This file is jobfleet-producer's entry point: flags, configuration, logging, then
 * producer_run(). */
#include "actions.h"
#include "log.h"
#include "producer.h"

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
                "[producer] api_token), GET /health, GET /metrics and the dashboard at GET /.\n"
                "\n"
                "options:\n"
                "  --config PATH    config file (default $JOBFLEET_CONFIG, else\n"
                "                   /etc/jobfleet/jobfleet.conf if present)\n"
                "  --check-config   check the configuration, print \"config ok\" and exit\n"
                "  --help           this text\n"
                "\n"
                "signals: SIGTERM or SIGINT stops accepting connections, finishes the requests\n"
                "already received and exits 0; a second one closes them at once.\n"
                "\n"
                "exit status: 0 stopped by a signal (or config ok), 1 runtime failure (cannot\n"
                "listen, spool directory unusable), 2 usage or configuration error.\n");
}

int
main(int argc, char **argv)
{
    const char *config = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            producer_help(stdout);
            return 0;
        } else if (strcmp(a, "--check-config") == 0) {
            check = true;
        } else if (strcmp(a, "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else {
            fprintf(stderr, "jobfleet-producer: unknown option %s (see --help)\n", a);
            return 2;
        }
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
    if (check) {
        printf("config ok\n");
        cfg_release(&c);
        return 0;
    }
    int rc = producer_run(&c, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "jobfleet-producer: %s\n", err);
    cfg_release(&c);
    return rc < 0 ? 1 : 0;
}
