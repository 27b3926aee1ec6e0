/* This file is jobfleet-scheduler's entry point: flags, config, signals, then sched_run(). */
#include "actions.h"
#include "cfg.h"
#include "listen_addr.h"
#include "log.h"
#include "migrate.h"
#include "sched.h"
#include "tzone.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHED_EXIT_OK 0
#define SCHED_EXIT_USAGE 2 /* unknown flag or bad config, as the CLI */
#define SCHED_MEASURE_MAX 1000000

static volatile sig_atomic_t sched_stop;

/* The first SIGTERM/SIGINT lets the tick finish and the lock be released; a second one
 * exits at once (the server frees the lock when the connection closes). */
static void
sched_on_signal(int sig)
{
    if (sched_stop)
        _exit(128 + sig);
    sched_stop = 1;
}

static void
sched_usage(FILE *fp)
{
    fprintf(fp, "usage: jobfleet-scheduler [--config PATH] [--check-config | --explain |\n"
                "                          --measure-ticks N]\n"
                "\n"
                "Enqueues due and retried jobs, fails timed-out jobs and the jobs of lost\n"
                "workers, re-pushes queued jobs Redis lost, fires cron schedules and deletes\n"
                "old rows. Run several for availability: one is leader (a MariaDB lock),\n"
                "the others wait and take over within two seconds of its death.\n"
                "\n"
                "options:\n"
                "  --config PATH    config file (default $JOBFLEET_CONFIG, else your own\n"
                "                   .local/jobfleet.conf from deploy/local/up when run in the\n"
                "                   checkout, else /etc/jobfleet/jobfleet.conf if present)\n"
                "  --check-config   load and check the configuration, then exit\n"
                "  --explain        print how MariaDB runs each tick query (index, rows) and\n"
                "                   exit 1 if one reads the whole jobs table\n"
                "  --measure-ticks N  take leadership, time N ticks back to back, print\n"
                "                   p50/mean/max and exit (for benchmarks)\n"
                "  --help           this text\n"
                "\n"
                "settings: [mysql], [redis], [scheduler] tick_ms, batch_size, requeue_after_s,\n"
                "  timeout_grace_s, retention_days, audit_retention_days, timezone,\n"
                "  cron_catchup_s, metrics_listen; [worker] lease_s (for workers too old to\n"
                "  record their own), kill_grace_s and prefetch_wait_ms (the watchdog's least\n"
                "  grace); [toga_desk.<client>] schedule and timezone;\n"
                "  [log] level. Every key can be set as JOBFLEET_<SECTION>_<KEY>.\n"
                "\n"
                "signals: SIGTERM/SIGINT finish the tick, release leadership and exit 0;\n"
                "  a second one exits at once.\n"
                "\n"
                "exit status: 0 stopped by a signal (or config OK), 2 usage or config error,\n"
                "  1 a runtime failure (metrics_listen cannot be served)\n"
                "  (one line on stderr).\n");
}

/* Reports a bad command line on one line of stderr; returns the usage exit status. */
static int sched_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sched_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "jobfleet-scheduler: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see jobfleet-scheduler --help)\n");
    va_end(ap);
    return SCHED_EXIT_USAGE;
}

static void
sched_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sched_on_signal;
    sigemptyset(&sa.sa_mask);
    /* Restart interrupted reads so a signal never looks like a lost connection; the loop
     * polls the flag between statements and during its sleeps. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A write to a server that went away must be an error return, not death. */
    signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
    const char *config = NULL;
    bool check_only = false, explain = false;
    int measure = 0;
    enum { OPT_CHECK = 256, OPT_EXPLAIN, OPT_MEASURE, OPT_CONFIG };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"measure-ticks", required_argument, NULL, OPT_MEASURE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {NULL, 0, NULL, 0},
    };
    /* Our own messages, one line each; '+' stops at the first operand instead of permuting. */
    opterr = 0;
    int c;
    int64_t n;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            sched_usage(stdout);
            return SCHED_EXIT_OK;
        case OPT_CHECK:
            check_only = true;
            break;
        case OPT_EXPLAIN:
            explain = true;
            break;
        case OPT_MEASURE:
            if (parse_int64(optarg, 1, SCHED_MEASURE_MAX, &n) < 0)
                return sched_usage_error("--measure-ticks \"%s\": expected a number of ticks in "
                                         "1..%d",
                                         optarg, SCHED_MEASURE_MAX);
            measure = (int)n;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case ':':
            return sched_usage_error("%s needs a value", argv[optind - 1]);
        default:
            /* optopt holds a short option's letter, or a long option's code. */
            if (optopt > 0 && optopt < 256)
                return sched_usage_error("unknown option -%c", optopt);
            return sched_usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return sched_usage_error("unexpected argument \"%s\"", argv[optind]);
    struct cfg cfg;
    char err[1024];
    if (cfg_load(&cfg, config, err, sizeof(err)) < 0) {
        fprintf(stderr, "jobfleet-scheduler: %s\n", err);
        return SCHED_EXIT_USAGE;
    }
    enum log_level level;
    if (log_level_parse(cfg.log.level ? cfg.log.level : "info", &level) < 0) {
        fprintf(stderr,
                "jobfleet-scheduler: [log] level: \"%s\" is not debug, info, warn or error\n",
                cfg.log.level);
        cfg_release(&cfg);
        return SCHED_EXIT_USAGE;
    }
    /* Checked here, not at load: only the scheduler needs the zone database, and a zone it
     * cannot load would park every cron job without a zone of its own, an hour at a time. */
    if (tzone_get(cfg.scheduler.timezone, err, sizeof(err)) == NULL) {
        fprintf(stderr,
                "jobfleet-scheduler: [scheduler] timezone: \"%s\" cannot be used: %s (an IANA "
                "zone name such as America/Chicago)\n",
                cfg.scheduler.timezone, err);
        cfg_release(&cfg);
        return SCHED_EXIT_USAGE;
    }
    const char *ml = cfg.scheduler.metrics_listen;
    if (sched_cron_check_config(&cfg, err, sizeof(err)) < 0 ||
        (ml && *ml && listen_addr_check("[scheduler] metrics_listen", ml, err, sizeof(err)) < 0)) {
        fprintf(stderr, "jobfleet-scheduler: %s\n", err);
        cfg_release(&cfg);
        return SCHED_EXIT_USAGE;
    }
    if (check_only) {
        printf("jobfleet-scheduler: configuration OK (%s)\n",
               cfg.path ? cfg.path : "no config file: the defaults and the environment");
        cfg_release(&cfg);
        return SCHED_EXIT_OK;
    }
    log_init("jobfleet-scheduler", level);
    actions_install();
    if (explain || measure) {
        int rc = explain ? sched_explain(&cfg) : sched_measure(&cfg, measure);
        cfg_release(&cfg);
        return rc;
    }
    cfg_log_source(&cfg);
    if (migrate_check_schema(&cfg.mysql, err, sizeof(err)) < 0) {
        log_error("%s", err);
        cfg_release(&cfg);
        return 1;
    }
    sched_signals();
    int rc = sched_run(&cfg, &sched_stop);
    cfg_release(&cfg);
    return rc;
}
