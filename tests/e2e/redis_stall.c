/* End-to-end test of a worker while Redis stops answering (FAULTS #8, a Redis hang): Redis
 * accepts connections but answers nothing, so every command runs into its 10 s timeout. The
 * worker's check-out thread, which also sends the heartbeat, frees each finished job's
 * concurrency slot in Redis; at 10 s a slot it went silent past the fence and killed its own
 * healthy jobs. The scheduler, and the HTTP client of a service without a budget, go on too.
 * Private servers: the shared Redis serves the other tests. */
#include "httpc.h"
#include "rq.h"
#include "tfake.h"
#include "tproducer.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Four jobs run under a queue concurrency limit: one of 26 s, three of 2 s. Redis stops
 * answering; the three short jobs end, and their slots cannot be freed. The long job must run
 * to its end on its one attempt: the worker's heartbeat goes on (lease 30 s, fence 22.5 s). */
static void
test_stall_keeps_heartbeat(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"queue", "limit", "default", "--concurrency", "10", NULL}) ==
              0,
          "queue limit");
    int64_t long_job = t_enqueue(t, "System/Sleep", "{\"seconds\":26}", NULL);
    int64_t short_jobs[3];
    for (int i = 0; i < 3; i++)
        short_jobs[i] = t_enqueue(t, "System/Sleep", "{\"seconds\":2}", NULL);
    pid_t w = t_start_worker(t, NULL);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE state = 'running'", DB_NOP) == 4,
               10000, "the four jobs never ran");
    pid_t rp = tsrv_pid(&srv, "redis.pid.launch");
    t_hang(rp);
    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(t_job_done(t, short_jobs[i]), 15000, "short job %d: %s", i,
                   t_job_state(t, short_jobs[i]));
    /* Past the fence of a worker silent since the stall began, before the long job's end. */
    WAIT_UNTIL(t_job_done(t, long_job), 40000, "the long job: %s", t_job_state(t, long_job));
    CHECK(kill(rp, SIGCONT) == 0, "SIGCONT Redis: %s", strerror(errno));
    char *st = t_sql_str(t,
                         "SELECT CONCAT(state, ' attempt ', attempt, ' ', "
                         "COALESCE(failure_reason, '')) FROM jobs WHERE id = ?",
                         DB_P(DBI(long_job)));
    CHECK(st && strcmp(st, "succeeded attempt 1 ") == 0, "the long job: %s", st ? st : "(none)");
    free(st);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'", DB_NOP) == 4,
          "every job succeeded");
    t_signal(t, w, SIGTERM);
    int status = t_wait_exit(t, w, 30000);
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the worker exits 0 (status %d)", status);
    tsrv_stop(t, &srv);
}

static bool
scheduler_leads(struct tenv *t, pid_t pid)
{
    char *log = t_log(t, pid);
    bool yes = log && strstr(log, "became leader");
    free(log);
    return yes;
}

/* The scheduler while Redis stops answering: after a command times out it does not ask Redis
 * again for 5 s, so its ticks (the watchdog, the lease recovery, cron) go on between the
 * timeouts. Before, it reconnected at once (the kernel still accepts connections) and every
 * tick waited out one or more 10 s timeouts. */
static void
test_stall_scheduler_ticks(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    int port = t_free_port();
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp, "[scheduler]\nmetrics_listen = 127.0.0.1:%d\n", port);
    fclose(fp);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    pid_t sp = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(scheduler_leads(t, sp), 10000, "the scheduler leads");
    const char *ticks = "jobfleet_scheduler_tick_duration_seconds_count";
    WAIT_UNTIL(t_metric(url, ticks) > 0, 10000, "the scheduler ticks");
    pid_t rp = tsrv_pid(&srv, "redis.pid.launch");
    t_hang(rp);
    /* A job due now: the pickup pushes its ID and runs into the timeout. */
    t_enqueue(t, "System/Noop", NULL, (const char *const[]){"--in", "1s", NULL});
    double before = t_metric(url, ticks);
    int64_t t0 = now_mono_ms();
    WAIT_UNTIL(t_metric(url, ticks) >= before + 20, 30000, "ticks during the stall: %g",
               t_metric(url, ticks) - before);
    fprintf(stderr, "FIGURES 20 ticks in %lld ms of a Redis hang\n",
            (long long)(now_mono_ms() - t0));
    CHECK(kill(rp, SIGCONT) == 0, "SIGCONT Redis: %s", strerror(errno));
    tsrv_stop(t, &srv);
}

/* A service without a rate budget asks Redis only whether the fleet pauses it (after a 429):
 * advice it can do without. Its requests go on at once while Redis hangs; before, each request
 * that asked waited out the 10 s command timeout, one in every 15 s. */
static void
test_stall_unbudgeted_requests(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    struct httpc_conf conf;
    char err[256];
    CHECK(httpc_conf_from_cfg(&t->cfg, "fake", &conf, err, sizeof(err)) == 0, "%s", err);
    conf.base_url = f.base_url;
    struct httpc *h = httpc_new(&conf, t->rq);
    pid_t rp = tsrv_pid(&srv, "redis.pid.launch");
    t_hang(rp);
    int64_t t0 = now_mono_ms(), slowest = 0;
    int n = 0;
    /* Past HTTPC_PAUSE_SKIP_MS, so that the pause is asked for again during the hang. */
    while (now_mono_ms() - t0 < 7000) {
        struct httpc_req req = {.path = "/stalled"};
        struct httpc_resp r;
        int64_t s0 = now_mono_ms();
        int rc = httpc_request(h, &req, &r);
        int64_t took = now_mono_ms() - s0;
        CHECK(rc == 0 && r.status == 200, "request %d: %s", n, rc == 0 ? "not 200" : r.err);
        httpc_resp_release(&r);
        slowest = took > slowest ? took : slowest;
        /* Far below the 10 s command timeout, with room for a loaded machine. */
        CHECK(took < 3000, "request %d took %lld ms while Redis hung", n, (long long)took);
        n++;
    }
    fprintf(stderr, "FIGURES %d requests in 7 s of a Redis hang, the slowest %lld ms\n", n,
            (long long)slowest);
    CHECK(kill(rp, SIGCONT) == 0, "SIGCONT Redis: %s", strerror(errno));
    httpc_free(h);
    tfake_stop(&f);
    tsrv_stop(t, &srv);
}

/* Webhooks while Redis hangs (FAULTS #8: answered within budget, the push deferred). The
 * producer's finisher pushed each committed batch before answering it, and waited Redis's 10 s
 * command timeout: every webhook waited the writer's db_timeout_ms (2 s) and was spooled,
 * though MariaDB was up and had committed it. */
static void
test_stall_producer_answers(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    CHECK(tprod_post(t, "/webhook/system/echo", "{\"n\":0}", 7, NULL, NULL) == 202,
          "a webhook before the hang");
    pid_t rp = tsrv_pid(&srv, "redis.pid.launch");
    t_hang(rp);
    int64_t worst = 0;
    int spooled = 0;
    for (int i = 1; i <= 10; i++) {
        char body[32], *out = NULL;
        int len = snprintf(body, sizeof(body), "{\"n\":%d}", i);
        int64_t t0 = now_mono_ms();
        long st = tprod_post(t, "/webhook/system/echo", body, (size_t)len, NULL, &out);
        int64_t took = now_mono_ms() - t0;
        worst = took > worst ? took : worst;
        spooled += out && strstr(out, "\"spooled\":true") != NULL;
        CHECK(st == 202, "webhook %d while Redis hung: %ld %s", i, st, out ? out : "");
        free(out);
    }
    CHECK(kill(rp, SIGCONT) == 0, "SIGCONT Redis: %s", strerror(errno));
    CHECK(worst < 1500 && spooled == 0,
          "10 webhooks while Redis hung: the slowest answered in %lld ms, %d of them spooled",
          (long long)worst, spooled);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == 11, 15000,
               "%lld of the 11 webhooks' jobs stored",
               (long long)t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP));
    char *queue = t_sql_str(t, "SELECT MIN(queue) FROM jobs", DB_NOP);
    WAIT_UNTIL(rq_depth(t->rq, queue) == 11, 15000, "%lld of the 11 IDs pushed once Redis was back",
               (long long)rq_depth(t->rq, queue));
    free(queue);
    CHECK(tsrv_stop(t, &srv) == 0, "stop the private servers");
}

static const struct test_case cases[] = {
    {"e2e_redis_stall_keeps_heartbeat", test_stall_keeps_heartbeat,
     "[worker]\nconcurrency = 4\nlease_s = 30\n"},
    {"e2e_redis_stall_scheduler_ticks", test_stall_scheduler_ticks, NULL},
    {"e2e_redis_stall_unbudgeted_requests", test_stall_unbudgeted_requests,
     "[service.fake]\nbase_url = http://127.0.0.1:1\napi_key = k\nrate_per_minute = 0\n"
     "timeout_ms = 5000\n"},
    {"e2e_redis_stall_producer_answers", test_stall_producer_answers,
     "[webhook.system]\nauth = none\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
