/* End-to-end test of the Prometheus metrics of all three processes: a known workload runs on a
 * real fleet, then the worker's and scheduler's metrics_listen and the producer's /metrics are
 * scraped and checked against the jobs and job_attempts tables. */
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of the series line "<series> <value>" in a scrape of url; -1 when absent. */
static double
scrape(const char *url, const char *series)
{
    struct t_http_resp r;
    CHECK(t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200, "scrape %s: %ld %s", url,
          r.status, r.err);
    char key[256];
    snprintf(key, sizeof(key), "\n%s ", series);
    const char *p = strstr(r.body, key);
    double v = p ? strtod(p + strlen(key), NULL) : -1;
    t_http_release(&r);
    return v;
}

static void
test_metrics_fleet(struct tenv *t)
{
    int wport = t_free_port(), sport = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp,
            "[worker]\nmetrics_listen = 127.0.0.1:%d\n[scheduler]\nmetrics_listen = "
            "127.0.0.1:%d\n[dashboard]\ncache_refresh_ms = 200\n",
            wport, sport);
    fclose(fp);
    char wurl[64], surl[64];
    snprintf(wurl, sizeof(wurl), "http://127.0.0.1:%d/metrics", wport);
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%d/metrics", sport);
    /* The workload: 5 succeed, 3 fail for good, 2 fail once and succeed on their retry. */
    char *touch = xasprintf("{\"path\":\"%s/touch\",\"fail_until_attempt\":2}", t->dir);
    int64_t ids[10];
    int n = 0;
    for (int i = 0; i < 5; i++)
        ids[n++] = t_enqueue(t, "System/Noop", "{}", NULL);
    for (int i = 0; i < 3; i++)
        ids[n++] = t_enqueue(t, "System/Fail", "{}", NULL);
    for (int i = 0; i < 2; i++)
        ids[n++] =
            t_enqueue(t, "System/Touch", touch, (const char *const[]){"--max-attempts", "2", NULL});
    free(touch);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    tprod_start(t);
    for (int i = 0; i < n; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), 30000, "job %lld finishes", (long long)ids[i]);

    /* Worker: attempts by outcome, queue and action, as job_attempts holds them. */
    char s[160];
    struct {
        const char *metric, *action, *sql;
    } checks[] = {
        {"jobfleet_jobs_succeeded_total", "System/Noop", "outcome = 'succeeded'"},
        {"jobfleet_jobs_failed_total", "System/Fail", "outcome = 'failed'"},
        {"jobfleet_jobs_retried_total", "System/Touch", "outcome = 'failed'"},
        {"jobfleet_jobs_succeeded_total", "System/Touch", "outcome = 'succeeded'"},
    };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        snprintf(s, sizeof(s), "%s{queue=\"default\",action=\"%s\"}", checks[i].metric,
                 checks[i].action);
        char *sql = xasprintf("SELECT COUNT(*) FROM job_attempts ja JOIN jobs j ON j.id = "
                              "ja.job_id WHERE j.action = ? AND ja.%s",
                              checks[i].sql);
        int64_t want = t_sql_int(t, -1, sql, DB_P(DBS(checks[i].action)));
        free(sql);
        double got;
        WAIT_UNTIL((got = scrape(wurl, s)) == (double)want, 5000, "%s: %g, database %lld", s, got,
                   (long long)want);
    }
    CHECK(scrape(wurl, "jobfleet_worker_slots") == 2, "slots = concurrency");
    snprintf(s, sizeof(s),
             "jobfleet_job_duration_seconds_count{queue=\"default\",action=\""
             "System/Touch\"}");
    CHECK(scrape(wurl, s) == 4, "two Touch jobs, two attempts each: %g", scrape(wurl, s));
    CHECK(scrape(wurl, "jobfleet_worker_child_crashes_total") == -1 ||
              scrape(wurl, "jobfleet_worker_child_crashes_total") == 0,
          "no crash");

    /* Scheduler: it leads, ticks, and picked up the two retries (pending -> queued). */
    CHECK(scrape(surl, "jobfleet_scheduler_leader") == 1, "leader");
    CHECK(scrape(surl, "jobfleet_scheduler_tick_duration_seconds_count") > 0, "ticks");
    double picked = scrape(surl, "jobfleet_scheduler_step_rows_total{step=\"pickup\"}");
    CHECK(picked == 2, "pickup moved the two retries: %g", picked);

    /* Producer: the fleet's gauges from the dashboard's cache follow the table. */
    int64_t ok = t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP);
    WAIT_UNTIL(tprod_metric(t, "jobfleet_jobs{state=\"succeeded\"}") == ok, 5000,
               "producer jobs gauge");
    CHECK(tprod_metric(t, "jobfleet_jobs{state=\"failed\"}") == 3, "failed");
    CHECK(tprod_metric(t, "jobfleet_workers") == 1, "one worker");
    CHECK(tprod_metric(t, "jobfleet_scheduler_leader_present") == 1, "a leader");
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_metrics_fleet", test_metrics_fleet, NULL},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
