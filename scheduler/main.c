/* This file is jobfleet-scheduler's entry point: flags, config, signals, then sched_run(). */
#include "actions.h"
#include "cfg.h"
#include "log.h"
#include "sched.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHED_EXIT_OK 0
#define SCHED_EXIT_USAGE 2 /* unknown flag or bad config, as the CLI */

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
    fprintf(fp, "usage: jobfleet-scheduler [--config PATH] [--check-config]\n"
                "\n"
                "Enqueues due and retried jobs, fails timed-out jobs and the jobs of lost\n"
                "workers, re-pushes queued jobs Redis lost, fires cron schedules and deletes\n"
                "old rows. Run several for availability: one is leader (a MariaDB lock),\n"
                "the others wait and take over within two seconds of its death.\n"
                "\n"
                "options:\n"
                "  --config PATH    config file (default $JOBFLEET_CONFIG, else\n"
                "                   /etc/jobfleet/jobfleet.conf if present)\n"
                "  --check-config   load and check the configuration, then exit\n"
                "  --explain        print how MariaDB runs each tick query (index, rows) and\n"
                "                   exit 1 if one reads the whole jobs table\n"
                "  --measure-ticks N  take leadership, time N ticks back to back, print\n"
                "                   p50/mean/max and exit (for benchmarks)\n"
                "  --help           this text\n"
                "\n"
                "settings: [mysql], [redis], [scheduler] tick_ms, batch_size, requeue_after_s,\n"
                "  timeout_grace_s, retention_days, timezone, cron_catchup_s; [worker] lease_s;\n"
                "  [log] level. Every key can be set as JOBFLEET_<SECTION>_<KEY>.\n"
                "\n"
                "signals: SIGTERM/SIGINT finish the tick, release leadership and exit 0;\n"
                "  a second one exits at once.\n"
                "\n"
                "exit status: 0 stopped by a signal (or config OK), 2 usage or config error\n"
                "  (one line on stderr).\n");
}

static int
sched_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "jobfleet-scheduler: %s%s (see jobfleet-scheduler --help)\n", what, arg);
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            sched_usage(stdout);
            return SCHED_EXIT_OK;
        } else if (strcmp(a, "--check-config") == 0) {
            check_only = true;
        } else if (strcmp(a, "--explain") == 0) {
            explain = true;
        } else if (strcmp(a, "--measure-ticks") == 0) {
            if (i + 1 >= argc || (measure = atoi(argv[i + 1])) < 1)
                return sched_usage_error("--measure-ticks needs a count of ticks", "");
            i++;
        } else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return sched_usage_error("--config needs a path", "");
            config = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else {
            return sched_usage_error("unknown argument ", a);
        }
    }
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
    if (check_only) {
        printf("jobfleet-scheduler: configuration OK (%s)\n", cfg.path ? cfg.path : "defaults");
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
    sched_signals();
    int rc = sched_run(&cfg, &sched_stop);
    cfg_release(&cfg);
    return rc;
}
