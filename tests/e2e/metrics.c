/* End-to-end test of the Prometheus metrics of all three processes: a known workload runs on a
 * real fleet, then the worker's and scheduler's metrics_listen and the producer's /metrics are
 * scraped and checked against the jobs and job_attempts tables, the webhooks sent and the fake
 * service's log. */
#include "tfake.h"
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
test_metrics_fleet(struct tenv *t)
{
    int wport = t_free_port(), sport = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp,
            "[worker]\nmetrics_listen = 127.0.0.1:%d\n[scheduler]\nmetrics_listen = "
            "127.0.0.1:%d\n[dashboard]\ncache_refresh_ms = 200\n"
            "[service.fake]\nbase_url = http://127.0.0.1:1\nrate_per_minute = 60\n"
            "[webhook.system]\nauth = none\n[webhook.guarded]\npath_prefix = system/effect\n"
            "auth = token\ntoken = t0ken-0123456789abc\ntoken_header = X-Auth\n",
            wport, sport);
    fclose(fp);
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    setenv("JOBFLEET_SERVICE_FAKE_BASE_URL", f.base_url, 1);
    tfake_control(&f, "faults", "{\"path\":\"/ping\",\"status\":429,\"retry_after\":1}");
    char wurl[64], surl[64];
    snprintf(wurl, sizeof(wurl), "http://127.0.0.1:%d/metrics", wport);
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%d/metrics", sport);
    /* The workload: 5 succeed, 3 fail for good, 2 fail once and succeed on their retry. */
    char *touch = xasprintf("{\"path\":\"%s/touch\",\"fail_until_attempt\":2}", t->dir);
    int64_t ids[10];
    int n = 0;
    for (int i = 0; i < 5; i++)
        ids[n++] = t_enqueue(t, "System/Noop", "{}", NULL);
    int64_t noops_ms = now_mono_ms();
    for (int i = 0; i < 3; i++)
        ids[n++] = t_enqueue(t, "System/Fail", "{}", NULL);
    for (int i = 0; i < 2; i++)
        ids[n++] =
            t_enqueue(t, "System/Touch", touch, (const char *const[]){"--max-attempts", "2", NULL});
    free(touch);
    /* A probe calls the fake service 3 times at 60 a minute (a 429 first): the budget makes
     * starts wait, and the child job it enqueues is counted by the worker. */
    int64_t probe = t_enqueue(t, "System/Probe",
                              "{\"steps\":3,\"service\":\"fake\",\"child\":\"System/Echo\"}", NULL);
    int64_t started_ms = now_mono_ms();
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    tprod_start(t);
    for (int i = 0; i < n; i++)
        WAIT_UNTIL(t_job_done(t, ids[i]), 30000, "job %lld finishes", (long long)ids[i]);
    WAIT_UNTIL(t_job_done(t, probe), 30000, "the probe finishes");
    CHECK(t_job_in_state(t, probe, "succeeded"), "the probe succeeded");
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'System/Echo' AND "
                         "state = 'succeeded'",
                         DB_NOP) == 1,
               20000, "the probe's child job runs");

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
        WAIT_UNTIL((got = t_metric(wurl, s)) == (double)want, 5000, "%s: %g, database %lld", s, got,
                   (long long)want);
    }
    CHECK(t_metric(wurl, "jobfleet_worker_slots") == 2, "slots = concurrency");
    snprintf(s, sizeof(s),
             "jobfleet_job_duration_seconds_count{queue=\"default\",action=\""
             "System/Touch\"}");
    CHECK(t_metric(wurl, s) == 4, "two Touch jobs, two attempts each: %g", t_metric(wurl, s));
    CHECK(t_metric(wurl, "jobfleet_worker_child_crashes_total") == -1 ||
              t_metric(wurl, "jobfleet_worker_child_crashes_total") == 0,
          "no crash");

    /* Queue wait: one observation per attempt started, every Noop waited at least from its
     * enqueue until the worker started (all ten were enqueued first). */
    snprintf(s, sizeof(s),
             "jobfleet_job_queue_wait_seconds_count{queue=\"default\",action=\"System/Touch\"}");
    CHECK(t_metric(wurl, s) == 4, "a wait per Touch attempt: %g", t_metric(wurl, s));
    snprintf(s, sizeof(s),
             "jobfleet_job_queue_wait_seconds_sum{queue=\"default\",action=\"System/Noop\"}");
    double least = (double)(started_ms - noops_ms) / 1000.0 * 5;
    CHECK(t_metric(wurl, s) >= least * 0.9, "the Noops' waits add up to %g s, at least %g",
          t_metric(wurl, s), least * 0.9);
    snprintf(s, sizeof(s),
             "jobfleet_job_queue_wait_seconds_bucket{queue=\"default\",action=\"System/Noop\","
             "le=\"+Inf\"}");
    CHECK(t_metric(wurl, s) == 5, "five Noop waits: %g", t_metric(wurl, s));

    /* The probe's requests, made in a child, are counted by the supervisor: the 429 and the
     * three answers, and the starts that waited for the budget (60 a minute: 1 a second). */
    double *arr = NULL;
    int calls = tfake_arrivals(&f, "/ping", &arr);
    free(arr);
    CHECK(calls == 4, "the fake saw 4 requests: %d", calls);
    CHECK(t_metric(wurl, "jobfleet_http_requests_total{service=\"fake\",code=\"429\"}") == 1,
          "one 429");
    CHECK(t_metric(wurl, "jobfleet_http_requests_total{service=\"fake\",code=\"200\"}") == 3,
          "three 200s");
    double waits = t_metric(wurl, "jobfleet_http_budget_waits_total{service=\"fake\"}");
    CHECK(waits >= 1, "starts waited for the budget: %g", waits);
    CHECK(t_metric(wurl, "jobfleet_http_budget_wait_seconds_total{service=\"fake\"}") > 0,
          "time spent waiting");
    CHECK(t_metric(wurl,
                   "jobfleet_jobs_enqueued_total{queue=\"default\",action=\"System/Echo\"}") == 1,
          "the child job the probe enqueued");
    tfake_stop(&f);

    /* Scheduler: it leads, ticks, and picked up the two retries (pending -> queued). */
    CHECK(t_metric(surl, "jobfleet_scheduler_leader") == 1, "leader");
    CHECK(t_metric(surl, "jobfleet_scheduler_tick_duration_seconds_count") > 0, "ticks");
    double picked = t_metric(surl, "jobfleet_scheduler_step_rows_total{step=\"pickup\"}");
    CHECK(picked == 2, "pickup moved the two retries: %g", picked);

    /* Producer: the fleet's gauges from the dashboard's cache follow the table. */
    int64_t ok = t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP);
    WAIT_UNTIL(tprod_metric(t, "jobfleet_jobs{state=\"succeeded\"}") == ok, 5000,
               "producer jobs gauge");
    CHECK(tprod_metric(t, "jobfleet_jobs{state=\"failed\"}") == 3, "failed");
    CHECK(tprod_metric(t, "jobfleet_workers") == 1, "one worker");
    CHECK(tprod_metric(t, "jobfleet_scheduler_leader_present") == 1, "a leader");

    /* Producer: webhooks by source and status, jobs enqueued by queue and action. */
    CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "echo webhook");
    CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "echo webhook");
    CHECK(tprod_post(t, "/webhook/system/effect", "{}", 2, NULL, NULL) == 401, "no token");
    CHECK(tprod_post(t, "/webhook/nope", "{}", 2, NULL, NULL) == 404, "no source");
    CHECK(tprod_call(t, "POST", "/api/jobs", "{\"action\":\"System/Noop\"}", NULL, NULL) == 201,
          "API job");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_webhook_requests_total{source=\"system\",code=\"202\"}") ==
                   2,
               5000, "two stored webhooks of source system");
    WAIT_UNTIL(
        tprod_metric(t, "jobfleet_webhook_requests_total{source=\"guarded\",code=\"401\"}") == 1,
        5000, "one refused by source guarded");
    WAIT_UNTIL(tprod_metric(t, "jobfleet_webhook_requests_total{source=\"(none)\",code=\"404\"}") ==
                   1,
               5000, "one without a source");
    CHECK(tprod_metric(t, "jobfleet_jobs_enqueued_total{queue=\"default\",action=\"System/Echo/"
                          "Webhook\"}") == 2,
          "two webhook jobs enqueued");
    CHECK(tprod_metric(
              t, "jobfleet_jobs_enqueued_total{queue=\"default\",action=\"System/Noop\"}") == 1,
          "one API job enqueued");
}

/* The open descriptors of process pid. */
static int
open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    CHECK(d != NULL, "%s: %s", path, strerror(errno));
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 2;
}

#define IDLE_CONNS 200

static bool
metrics_answer(const char *url)
{
    struct t_http_resp r;
    bool ok = t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200;
    t_http_release(&r);
    return ok;
}

/* metrics_listen is a port anyone who reaches it can open connections to: each idle one took a
 * descriptor of the worker's supervisor (which its children's pipes and the job sockets need)
 * and wrote a line to its log when libmicrohttpd refused one. Both are bounded now. */
static void
test_metrics_listen_bounded(struct tenv *t)
{
    int port = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp, "[worker]\nmetrics_listen = 127.0.0.1:%d\n", port);
    fclose(fp);
    pid_t w = t_start_worker(t, NULL);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    WAIT_UNTIL(metrics_answer(url), 10000, "the worker serves /metrics");
    int before = open_fds(w);
    int fds[IDLE_CONNS];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < IDLE_CONNS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&a, sizeof(a)) == 0,
              "connect %d: %s", i, strerror(errno));
    }
    /* libmicrohttpd accepts what its limit allows at once; the rest it accepts and closes. */
    int64_t until = now_mono_ms() + 3000, most = 0;
    while (now_mono_ms() < until) {
        int n = open_fds(w) - before;
        most = n > most ? n : most;
        usleep(50 * 1000);
    }
    fprintf(stderr, "FIGURES: %d idle connections took at most %lld descriptors\n", IDLE_CONNS,
            (long long)most);
    CHECK(most <= 40, "%lld descriptors taken by %d idle connections", (long long)most, IDLE_CONNS);
    for (int i = 0; i < IDLE_CONNS; i++)
        close(fds[i]);
    char *log = t_log(t, w);
    int lines = 0;
    for (const char *p = log; (p = strstr(p, "libmicrohttpd")) != NULL; p++)
        lines++;
    CHECK(lines <= 12, "%d log lines from libmicrohttpd for %d connections", lines, IDLE_CONNS);
    free(log);
    WAIT_UNTIL(metrics_answer(url), 15000, "/metrics answers again once they are gone");
}

/* The body of GET url, or NULL. */
static char *
scrape(const char *url)
{
    struct t_http_resp r;
    char *body = NULL;
    if (t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200)
        body = xstrdup(r.body ? r.body : "");
    t_http_release(&r);
    return body;
}

/* A fresh worker and scheduler show their counters at 0, so that an alert on increase() sees
 * the first crash or misfire. Before, a counter without labels appeared only with its first
 * event, and an increase() from nothing to 1 is no increase. */
static void
test_counters_from_zero(struct tenv *t)
{
    int wport = t_free_port(), sport = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp,
            "[worker]\nmetrics_listen = 127.0.0.1:%d\n[scheduler]\nmetrics_listen = 127.0.0.1:%d\n",
            wport, sport);
    fclose(fp);
    t_start_worker(t, NULL);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    char wurl[64], surl[64];
    snprintf(wurl, sizeof(wurl), "http://127.0.0.1:%d/metrics", wport);
    snprintf(surl, sizeof(surl), "http://127.0.0.1:%d/metrics", sport);
    WAIT_UNTIL(metrics_answer(wurl) && metrics_answer(surl), 10000, "both serve /metrics");
    static const char *const want[][2] = {
        {"w", "\njobfleet_worker_child_crashes_total 0\n"},
        {"w", "\njobfleet_worker_job_timeouts_total 0\n"},
        {"w", "\njobfleet_worker_children_restarted_total 0\n"},
        {"w", "\njobfleet_worker_jobs_withdrawn_total 0\n"},
        {"s", "\njobfleet_cron_misfires_total{reason=\"late\"} 0\n"},
        {"s", "\njobfleet_cron_misfires_total{reason=\"bad_schedule\"} 0\n"}};
    char *wbody = scrape(wurl), *sbody = scrape(surl);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *body = want[i][0][0] == 'w' ? wbody : sbody;
        CHECK(body && strstr(body, want[i][1]), "no%s in the %s's /metrics:\n%s", want[i][1],
              want[i][0][0] == 'w' ? "worker" : "scheduler", body ? body : "(none)");
    }
    free(wbody);
    free(sbody);
}

/* The producer's per-queue gauges keep 512 queues and sum the rest under "(other)", and tell
 * "DEFAULT" from "default" as the workers do. Before, 100,000 queue names made 200,000 series,
 * and the case-insensitive GROUP BY counted DEFAULT's jobs as default's. */
static void
test_queue_gauges_bounded(struct tenv *t)
{
    CHECK(db_exec_static(t->db,
                         "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, "
                         "dt_queued, queue) SELECT UUID(), 'System/Noop', '{}', 'queued', NOW(6), "
                         "NOW(6), NOW(6), IF(seq < 600, CONCAT('q', LPAD(seq, 3, '0')), IF(seq "
                         "< 602, 'DEFAULT', 'default')) FROM seq_0_to_602") == 0,
          "queued jobs: %s", db_errstr(t->db));
    /* A queue name written by hand, past the enqueue's checks: escaped, not a broken scrape. */
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, action, parameters, state, run_at, dt_created, "
                  "dt_queued, queue) VALUES (UUID(), 'System/Noop', '{}', 'queued', NOW(6), "
                  "NOW(6), NOW(6), ?)",
                  DB_P(DBS("\"x\\y")), NULL, NULL) == 0,
          "a hand-written queue: %s", db_errstr(t->db));
    tprod_start(t);
    const char *url = tprod_url(t, "/metrics");
    const char *other = "jobfleet_queue_jobs{queue=\"(other)\",state=\"queued\"}";
    WAIT_UNTIL(t_metric(url, other) >= 0, 15000, "no (other) queue in the producer's /metrics");
    /* By name, byte for byte: "x\y, DEFAULT, default, q000 to q508 are the first 512. */
    CHECK(t_metric(url, other) == 91, "(other) holds %.0f queued jobs, want 91 (q509 to q599)",
          t_metric(url, other));
    CHECK(t_metric(url, "jobfleet_queue_jobs{queue=\"\\\"x\\\\y\",state=\"queued\"}") == 1,
          "the hand-written queue's name is not escaped");
    CHECK(t_metric(url, "jobfleet_queue_jobs{queue=\"DEFAULT\",state=\"queued\"}") == 2 &&
              t_metric(url, "jobfleet_queue_jobs{queue=\"default\",state=\"queued\"}") == 1,
          "DEFAULT and default told apart");
    char *body = scrape(url);
    CHECK(body && t_count(body, "\njobfleet_queue_jobs{") <= 3 * 513 &&
              t_count(body, "\njobfleet_queue_oldest_queued_age_seconds{") == 513,
          "series: %d queue_jobs, %d oldest ages", t_count(body, "\njobfleet_queue_jobs{"),
          t_count(body, "\njobfleet_queue_oldest_queued_age_seconds{"));
    free(body);
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_metrics_fleet", test_metrics_fleet, NULL},
        {"e2e_metrics_listen_bounded", test_metrics_listen_bounded, NULL},
        {"e2e_metrics_counters_from_zero", test_counters_from_zero, NULL},
        {"e2e_metrics_queue_gauges_bounded", test_queue_gauges_bounded,
         "[dashboard]\ncache_refresh_ms = 200\n"},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
