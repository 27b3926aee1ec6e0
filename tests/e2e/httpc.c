/* End-to-end tests of common/httpc against the fake HTTP service (tests/fakes/fakehttp.py) and
 * the real Redis: the fleet-wide rate budget across processes and in credits, Retry-After in
 * both forms, retries, the response cap, concurrent batches and cancellation. */
#include "httpc.h"
#include "metrics.h"
#include "rq.h"
#include "tfake.h"
#include "tsupport.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The service the tests configure; base_url is replaced by the fake's. */
#define SERVICE_CONF                                                                               \
    "[service.fake]\nbase_url = http://127.0.0.1:1\napi_key = k\nrate_per_minute = 120\n"          \
    "timeout_ms = 5000\nmax_response_bytes = 100000\nbackoff_base_ms = 200\n"                      \
    "backoff_max_ms = 1000\n"

/* The fake stamps a request when its request line has been read, a little after the client
 * took its budget slot on Redis's clock; this much disorder between the two is allowed when
 * counting requests in a 1 s window. The limiter's own 25 ms guard covers most of it already,
 * so the strict 1000 ms figure is reported as well. */
#define TOLERANCE_MS 20.0

static struct httpc *
client(struct tenv *t, const struct tfake *f, struct rq *rq, int rate)
{
    struct httpc_conf conf;
    char err[256];
    CHECK(httpc_conf_from_cfg(&t->cfg, "fake", &conf, err, sizeof(err)) == 0, "%s", err);
    conf.base_url = f->base_url;
    conf.rate_per_minute = rate;
    return httpc_new(&conf, rq);
}

static int
get(struct httpc *h, const char *path, struct httpc_resp *r)
{
    struct httpc_req req = {.path = path};
    return httpc_request(h, &req, r);
}

/* A forked process's own Redis connection and client: connections are not shared across a
 * fork. */
static struct rq *
child_rq(struct tenv *t)
{
    struct rq *rq = rq_new(&t->cfg.redis);
    if (rq_connect(rq) < 0)
        _exit(3);
    return rq;
}

/* Requests GET <prefix>/<i> until deadline (monotonic ms); exits 0 when every one succeeded.
 * Never returns: a forked test helper must not run the test's exit handlers. */
static _Noreturn void
child_loop(struct tenv *t, const struct tfake *f, const char *prefix, int64_t deadline)
{
    struct rq *rq = child_rq(t);
    struct httpc *h = client(t, f, rq, 120);
    int bad = 0;
    for (int i = 0; now_mono_ms() < deadline; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s/%d", prefix, i);
        struct httpc_resp r;
        if (get(h, path, &r) < 0) {
            fprintf(stderr, "%s\n", r.err);
            bad++;
        }
        httpc_resp_release(&r);
    }
    httpc_free(h);
    rq_free(rq);
    _exit(bad ? 1 : 0);
}

static pid_t
fork_loop(struct tenv *t, const struct tfake *f, const char *prefix, int64_t deadline)
{
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0)
        child_loop(t, f, prefix, deadline);
    return pid;
}

static void
wait_ok(pid_t pid)
{
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "helper process %d: status %d", (int)pid, st);
}

/* Checks the budget on the fake's arrival times and prints the figures. */
static void
check_budget(struct tfake *f, const char *prefix, int min_requests)
{
    double *a = NULL;
    int n = tfake_arrivals(f, prefix, &a);
    CHECK(n >= min_requests, "only %d requests arrived", n);
    int strict = tfake_max_in_window(a, n, 1000.0);
    int tolerant = tfake_max_in_window(a, n, 1000.0 - TOLERANCE_MS);
    double span = a[n - 1] - a[0];
    double rate = (n - 1) * 60000.0 / span;
    double gap = 1e9;
    for (int i = 1; i < n; i++)
        gap = a[i] - a[i - 1] < gap ? a[i] - a[i - 1] : gap;
    fprintf(stderr,
            "FIGURES %s: %d requests in %.0f ms; max in any 1000 ms window %d, in any %.0f ms "
            "window %d; smallest gap %.1f ms; rate %.1f/min (budget 120, guard-limited "
            "ceiling %.1f)\n",
            prefix, n, span, strict, 1000.0 - TOLERANCE_MS, tolerant, gap, rate, 60000.0 / 525);
    CHECK(tolerant <= 2, "%d requests in one 1 s window", tolerant);
    CHECK(rate <= 120.0, "rate %.1f/min over the budget", rate);
    CHECK(rate >= 0.9 * 120, "rate %.1f/min far below the budget", rate);
    free(a);
}

static void
test_rate_two_processes(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    int64_t deadline = now_mono_ms() + 6000;
    pid_t a = fork_loop(t, &f, "/rate/a", deadline);
    pid_t b = fork_loop(t, &f, "/rate/b", deadline);
    wait_ok(a);
    wait_ok(b);
    cJSON *log = tfake_log(&f);
    cJSON *counts = cJSON_GetObjectItem(log, "counts");
    int na = 0, nb = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, counts)
    {
        na += strncmp(c->string, "GET /rate/a/", 12) == 0;
        nb += strncmp(c->string, "GET /rate/b/", 12) == 0;
    }
    cJSON_Delete(log);
    fprintf(stderr, "FIGURES process a made %d requests, process b %d\n", na, nb);
    CHECK(na >= 3 && nb >= 3, "both processes share the budget: %d and %d", na, nb);
    check_budget(&f, "/rate/", 10);
    tfake_stop(&f);
}

/* In a forked helper: waits until the fleet pauses the fake service (its pause key has a time
 * to live), so what it sends next is sent during the pause. Exits 4 after 10 s. */
static void
wait_paused(struct tenv *t)
{
    struct rq *rq = child_rq(t);
    char *key = xasprintf("%s:s:fake:until", t->prefix);
    const char *argv[] = {"PTTL", key};
    int64_t deadline = now_mono_ms() + 10000;
    while (rq_command(rq, 2, argv) <= 0) {
        if (now_mono_ms() > deadline)
            _exit(4);
        sleep_ms(20);
    }
    free(key);
    rq_free(rq);
}

static double
arrival_gap(struct tfake *f, const char *prefix)
{
    double *a = NULL;
    int n = tfake_arrivals(f, prefix, &a);
    CHECK(n == 2, "%d requests to %s", n, prefix);
    double gap = a[1] - a[0];
    free(a);
    return gap;
}

static void
test_retry_after_seconds(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults", "{\"path\": \"/ra\", \"status\": 429, \"retry_after\": 2}");
    /* Another process asks for the same service while this one waits out the 429: the pause
     * is fleet-wide, so it waits too. */
    pid_t other = fork();
    CHECK(other >= 0, "fork");
    if (other == 0) {
        wait_paused(t);
        child_loop(t, &f, "/other", now_mono_ms() + 200);
    }
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/ra", &r) == 0, "%s", r.err);
    CHECK(r.attempts == 2 && r.status == 200, "attempts %d status %ld", r.attempts, r.status);
    wait_ok(other);
    double gap = arrival_gap(&f, "/ra");
    double *a = NULL, *o = NULL;
    tfake_arrivals(&f, "/ra", &a);
    CHECK(tfake_arrivals(&f, "/other", &o) == 1, "the other process's request");
    fprintf(stderr,
            "FIGURES 429 Retry-After 2: retry %.0f ms after the 429; the other process's "
            "request %.0f ms after it; client waited %lld ms\n",
            gap, o[0] - a[0], (long long)r.waited_ms);
    CHECK(gap >= 2000, "retried after %.0f ms", gap);
    CHECK(o[0] - a[0] >= 2000 - TOLERANCE_MS, "the other process went after %.0f ms", o[0] - a[0]);
    free(a);
    free(o);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

/* A 429 on a request's last attempt (here its only one, as the cloud update makes them) still
 * speaks for the whole account: the fleet's other requests wait its Retry-After. The client
 * returned before setting the pause. */
static void
test_retry_after_last_attempt(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"path\": \"/once\", \"status\": 429, \"retry_after\": 3, \"count\": 1}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_req req = {.path = "/once", .max_attempts = 1};
    struct httpc_resp r;
    CHECK(httpc_request(h, &req, &r) < 0 && r.status == 429, "the 429: %ld %s", r.status, r.err);
    char *key = xasprintf("%s:s:fake:until", t->prefix);
    const char *argv[] = {"PTTL", key};
    int64_t pttl = rq_command(t->rq, 2, argv);
    CHECK(pttl > 2000, "the fleet's requests to the service are paused: PTTL %lld",
          (long long)pttl);
    free(key);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

/* What is left of the fleet-wide pause of the fake service, in ms (<= 0: none). */
static int64_t
pause_left(struct tenv *t)
{
    char *key = xasprintf("%s:s:fake:until", t->prefix);
    const char *argv[] = {"PTTL", key};
    int64_t pttl = rq_command(t->rq, 2, argv);
    free(key);
    return pttl;
}

/* A 503 with Retry-After (down for maintenance) speaks for the whole service as a 429 does: the
 * fleet's requests wait it out, on a request's last attempt and past retry_after_max_ms too. A
 * 503 without one pauses nothing. Before, only a 429 set the pause. */
static void
test_retry_after_503_pauses(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"faults\": [{\"path\": \"/plain\", \"status\": 503, \"count\": 1},"
                  " {\"path\": \"/once\", \"status\": 503, \"retry_after\": 3, \"count\": 1},"
                  " {\"path\": \"/long\", \"status\": 503, \"retry_after\": 3600}]}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_req req = {.path = "/plain", .max_attempts = 1};
    struct httpc_resp r;
    CHECK(httpc_request(h, &req, &r) < 0 && r.status == 503, "the 503: %ld %s", r.status, r.err);
    httpc_resp_release(&r);
    int64_t plain = pause_left(t);
    req.path = "/once";
    CHECK(httpc_request(h, &req, &r) < 0 && r.status == 503, "the 503: %ld %s", r.status, r.err);
    httpc_resp_release(&r);
    int64_t once = pause_left(t);
    req = (struct httpc_req){.path = "/long"};
    CHECK(httpc_request(h, &req, &r) < 0 && r.status == 503 && r.attempts == 1 &&
              r.retry_after_ms == 3600 * 1000,
          "the long 503 ends the request: %d attempts, %s", r.attempts, r.err);
    httpc_resp_release(&r);
    int64_t lng = pause_left(t);
    fprintf(stderr,
            "FIGURES fleet pause after a 503: without Retry-After %lld ms, with 3 s on the last "
            "attempt %lld ms, with 3600 s %lld ms\n",
            (long long)plain, (long long)once, (long long)lng);
    CHECK(plain <= 0, "a 503 without Retry-After pauses nothing: PTTL %lld", (long long)plain);
    CHECK(once > 2000, "Retry-After 3 pauses the fleet: PTTL %lld", (long long)once);
    CHECK(lng > 3500 * 1000, "Retry-After 3600 pauses the fleet: PTTL %lld", (long long)lng);
    httpc_free(h);
    tfake_stop(&f);
}

/* An answer saying the account's budget is spent (X-RateLimit-Remaining: 0 of a total of 20 a
 * minute) holds the service's next request, from any client of the fleet, about 60 s / 20 =
 * 3 s, instead of letting it collect a 429. */
static void
test_rate_remaining_zero(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"path\": \"/spent\", \"status\": 200, \"headers\": "
                  "{\"X-RateLimit-Remaining\": \"0\", \"X-RateLimit-Total\": \"20\"}}");
    struct httpc *a = client(t, &f, t->rq, 0), *b = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(a, "/spent", &r) == 0 && r.rate_remaining == 0 && r.rate_total == 20,
          "remaining %lld of %lld", (long long)r.rate_remaining, (long long)r.rate_total);
    httpc_resp_release(&r);
    CHECK(get(b, "/next", &r) == 0, "%s", r.err);
    httpc_resp_release(&r);
    double *s = NULL, *n = NULL;
    CHECK(tfake_arrivals(&f, "/spent", &s) == 1 && tfake_arrivals(&f, "/next", &n) == 1,
          "one request each");
    fprintf(stderr, "FIGURES remaining 0 of 20: the next request %.0f ms later\n", n[0] - s[0]);
    CHECK(n[0] - s[0] >= 3000 - TOLERANCE_MS, "the next request went after %.0f ms", n[0] - s[0]);
    free(s);
    free(n);
    httpc_free(a);
    httpc_free(b);
    tfake_stop(&f);
}

static void
test_retry_after_date(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults", "{\"path\": \"/date\", \"status\": 503, \"retry_after_date\": 2}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/date", &r) == 0, "%s", r.err);
    CHECK(r.attempts == 2, "attempts %d", r.attempts);
    /* The date is whole seconds, rounded up by the fake: the wait is 2 to 3 s. */
    double gap = arrival_gap(&f, "/date");
    fprintf(stderr, "FIGURES Retry-After as an HTTP date 2 s ahead: retry after %.0f ms\n", gap);
    CHECK(gap >= 2000 - TOLERANCE_MS && gap < 3500, "retried after %.0f ms", gap);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

/* A server whose clock runs an hour ahead sends its Retry-After date by that clock: the wait is
 * read against the answer's Date, 2 s, not an hour (which would end the request past
 * retry_after_max_ms). */
static void
test_retry_after_date_skew(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"path\": \"/skew\", \"status\": 503, \"retry_after_date\": 2, "
                  "\"clock_ahead\": 3600}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/skew", &r) == 0, "retried after the server's 2 s: %s", r.err);
    double gap = arrival_gap(&f, "/skew");
    fprintf(stderr, "FIGURES Retry-After date 2 s ahead of a Date 1 h ahead: retry after %.0f ms\n",
            gap);
    CHECK(gap >= 1000 - TOLERANCE_MS && gap < 3500, "retried after %.0f ms", gap);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

/* "Retry-After: 0" on a 503 is no licence to hammer: the retries still back off (base 200 ms:
 * the first after 100 ms or more, the second after 200 ms or more). */
static void
test_retry_after_zero_backs_off(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"path\": \"/zero\", \"status\": 503, \"retry_after\": 0, \"count\": 2}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/zero", &r) == 0 && r.attempts == 3, "attempts %d: %s", r.attempts, r.err);
    double *a = NULL;
    CHECK(tfake_arrivals(&f, "/zero", &a) == 3, "three requests");
    fprintf(stderr, "FIGURES Retry-After 0: retries after %.0f and %.0f ms\n", a[1] - a[0],
            a[2] - a[1]);
    CHECK(a[1] - a[0] >= 100 - TOLERANCE_MS && a[2] - a[1] >= 200 - TOLERANCE_MS,
          "retried after %.0f and %.0f ms", a[1] - a[0], a[2] - a[1]);
    free(a);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

static void
test_retry_5xx(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults",
                  "{\"faults\": [{\"path\": \"/flaky\", \"status\": 503},"
                  " {\"path\": \"/reset\", \"reset\": true},"
                  " {\"path\": \"/post\", \"status\": 500},"
                  " {\"path\": \"/gone\", \"status\": 404, \"count\": 5}]}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/flaky", &r) == 0 && r.attempts == 2, "503 then 200: %s", r.err);
    CHECK(r.json && cJSON_IsTrue(cJSON_GetObjectItem(r.json, "ok")), "JSON body parsed");
    httpc_resp_release(&r);
    CHECK(get(h, "/reset", &r) == 0 && r.attempts == 2, "reset then 200: %s", r.err);
    httpc_resp_release(&r);
    CHECK(get(h, "/gone", &r) < 0 && r.attempts == 1 && r.error == HTTPC_ESTATUS, "404");
    CHECK(strstr(r.err, "fake: GET /gone: HTTP 404") != NULL, "error text: %s", r.err);
    CHECK(!httpc_resp_transient(&r), "a 404 is permanent");
    httpc_resp_release(&r);
    /* A POST that got a 500 may have been applied: not retried. */
    cJSON *body = cJSON_Parse("{\"a\": 1}");
    struct httpc_req post = {.method = "POST", .path = "/post", .json = body};
    CHECK(httpc_request(h, &post, &r) < 0 && r.attempts == 1 && r.status == 500, "POST 500");
    CHECK(strstr(r.err, "fake: POST /post: HTTP 500") && httpc_resp_transient(&r), "%s", r.err);
    httpc_resp_release(&r);
    cJSON_Delete(body);
    cJSON *log = tfake_log(&f);
    cJSON *counts = cJSON_GetObjectItem(log, "counts");
    int flaky = cJSON_GetObjectItem(counts, "GET /flaky")->valueint;
    int posts = cJSON_GetObjectItem(counts, "POST /post")->valueint;
    fprintf(stderr, "FIGURES GET /flaky reached the fake %d times, POST /post %d\n", flaky, posts);
    CHECK(flaky == 2 && posts == 1, "flaky %d post %d", flaky, posts);
    /* The Basic credentials went along: api_key "k", password "X". */
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(log, "requests"), 0);
    const char *auth = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(first, "headers"), "authorization"));
    CHECK(auth && strcmp(auth, "Basic azpY") == 0, "authorization %s", auth ? auth : "(none)");
    cJSON_Delete(log);
    httpc_free(h);
    tfake_stop(&f);
}

static void
test_oversized_refused(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    struct httpc *h = client(t, &f, t->rq, 0);
    struct httpc_resp r;
    CHECK(get(h, "/bytes/1000", &r) == 0 && r.body_len == 1000, "1000 bytes: %s", r.err);
    httpc_resp_release(&r);
    /* Announced by Content-Length, and streamed in chunks with no length up front. */
    const char *big[] = {"/bytes/200000", "/bytes/200000?chunked=1"};
    for (int i = 0; i < 2; i++) {
        CHECK(get(h, big[i], &r) < 0 && r.error == HTTPC_ETOOBIG && r.attempts == 1, "%s: %s",
              big[i], r.err);
        CHECK(strstr(r.err, "fake: GET /bytes/200000: response larger than max_response_bytes"),
              "error text: %s", r.err);
        fprintf(stderr, "FIGURES %s refused: %s\n", big[i], r.err);
        httpc_resp_release(&r);
    }
    httpc_free(h);
    tfake_stop(&f);
}

static void
test_batch_within_budget(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    /* Slow answers, so that several of the batch's requests are in flight at once. */
    tfake_control(&f, "faults", "{\"path\": \"/b/batch\", \"latency_ms\": 800, \"count\": 100}");
    int64_t start = now_mono_ms();
    /* A sequential client in another process draws from the same budget meanwhile, and goes on
     * past the batch (about 4 s of slots at 2 a second), so that the budget's figures rest on
     * enough requests whichever of the two took the slots during it. */
    pid_t other = fork_loop(t, &f, "/b/seq", start + 6000);
    struct httpc *h = client(t, &f, t->rq, 120);
    enum { N = 8 };
    struct httpc_req reqs[N];
    struct httpc_resp resps[N];
    char paths[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "/b/batch/%d", i);
        reqs[i] = (struct httpc_req){.path = paths[i]};
    }
    CHECK(httpc_batch(h, reqs, resps, N, 4) == 0, "batch: %s", resps[0].err);
    int64_t took = now_mono_ms() - start;
    wait_ok(other);
    for (int i = 0; i < N; i++) {
        CHECK(resps[i].json && cJSON_GetObjectItem(resps[i].json, "path"), "response %d", i);
        httpc_resp_release(&resps[i]);
    }
    double *a = NULL;
    int nb = tfake_arrivals(&f, "/b/batch", &a);
    free(a);
    fprintf(stderr, "FIGURES batch of %d GETs (4 in flight, 800 ms each) took %lld ms\n", nb,
            (long long)took);
    check_budget(&f, "/b/", N + 2);
    httpc_free(h);
    tfake_stop(&f);
}

/* Sends n GETs of 3 credits each under prefix; returns the smallest gap between arrivals. */
static double
weighted_gap(struct tfake *f, struct httpc *h, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s/%d", prefix, i);
        struct httpc_req req = {.path = path, .credits = 3};
        struct httpc_resp r;
        CHECK(httpc_request(h, &req, &r) == 0, "%s", r.err);
        httpc_resp_release(&r);
    }
    double *a = NULL;
    CHECK(tfake_arrivals(f, prefix, &a) == n, "%d requests", n);
    double gap = 1e9;
    for (int i = 1; i < n; i++)
        gap = a[i] - a[i - 1] < gap ? a[i] - a[i - 1] : gap;
    free(a);
    return gap;
}

/* A request of 3 credits takes 3 from the budget: at 120 a minute the next start comes 1.5 s
 * later, fleet-wide and in a process without Redis alike. Before, every request took one, so
 * an API that charges more for some requests (Freshservice's include) was sent three times the
 * budget. */
static void
test_rate_counts_credits(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    struct httpc *fleet = client(t, &f, t->rq, 120), *alone = client(t, &f, NULL, 120);
    double g1 = weighted_gap(&f, fleet, "/w/fleet", 4);
    double g2 = weighted_gap(&f, alone, "/w/alone", 3);
    fprintf(stderr,
            "FIGURES requests of 3 credits at 120 a minute: smallest gap %.0f ms fleet-wide, "
            "%.0f ms without Redis (1500 due)\n",
            g1, g2);
    CHECK(g1 >= 1500 - TOLERANCE_MS && g1 < 2500, "fleet-wide: a gap of %.0f ms", g1);
    CHECK(g2 >= 1500 - TOLERANCE_MS && g2 < 2500, "without Redis: a gap of %.0f ms", g2);
    httpc_free(fleet);
    httpc_free(alone);
    tfake_stop(&f);
}

/* Two clients of one service whose processes have the same pid and count their requests
 * from 1 (worker children on two hosts, or in two containers): each credit they take is its
 * own in Redis. The names were pid.count, so the second client's ZADD moved the first one's
 * credits instead of adding its own, and the fleet could send twice its budget. */
static void
test_credits_unique_across_hosts(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    struct httpc *a = client(t, &f, t->rq, 600), *b = client(t, &f, t->rq, 600);
    for (int i = 0; i < 2; i++) {
        struct httpc_req req = {.path = "/w/host", .credits = 3};
        struct httpc_resp r;
        CHECK(httpc_request(i ? b : a, &req, &r) == 0, "%s", r.err);
        httpc_resp_release(&r);
    }
    char *key = xasprintf("%s:s:fake:credits", t->cfg.redis.prefix);
    const char *argv[] = {"ZCARD", key};
    int64_t n = rq_command(t->rq, 2, argv);
    CHECK(n == 6, "%lld credits held for two requests of 3", (long long)n);
    free(key);
    httpc_free(a);
    httpc_free(b);
    tfake_stop(&f);
}

struct cancel_arg {
    volatile int flag;
    int64_t at_ms;
};

/* Cancels once the client has had its 503 (the process's own metric counts it), so the cancel
 * finds it waiting out the Retry-After, not sending. */
static void *
cancel_later(void *arg)
{
    struct cancel_arg *c = arg;
    int64_t deadline = now_mono_ms() + 10000;
    for (bool seen = false; !seen && now_mono_ms() < deadline;) {
        struct buf b;
        buf_init(&b, 0);
        metrics_render(&b);
        seen = b.data &&
               strstr(b.data, "jobfleet_http_requests_total{service=\"fake\",code=\"503\"} 1\n");
        buf_release(&b);
        if (!seen)
            sleep_ms(10);
    }
    c->at_ms = now_mono_ms();
    c->flag = 1;
    return NULL;
}

static void
test_cancel_stops_wait(struct tenv *t)
{
    struct tfake f;
    tfake_start(t, &f, "fakehttp.py", NULL);
    tfake_control(&f, "faults", "{\"path\": \"/slow\", \"status\": 503, \"retry_after\": 30}");
    struct httpc *h = client(t, &f, t->rq, 0);
    struct cancel_arg c = {0};
    httpc_set_cancel(h, &c.flag);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &c);
    struct httpc_resp r;
    CHECK(get(h, "/slow", &r) < 0 && r.error == HTTPC_ECANCELLED, "%s", r.err);
    int64_t end = now_mono_ms();
    pthread_join(th, NULL); /* at_ms is read once the thread that wrote it is joined */
    int64_t took = end - c.at_ms;
    CHECK(r.attempts == 1 && r.status == 503, "cancelled before the 503: %d attempts, status %ld",
          r.attempts, r.status);
    fprintf(stderr,
            "FIGURES cancelled during a 30 s Retry-After: returned %lld ms after the cancel\n",
            (long long)took);
    CHECK(took < 1000, "returned %lld ms after the cancel", (long long)took);
    httpc_resp_release(&r);
    httpc_free(h);
    tfake_stop(&f);
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_httpc_rate_two_processes", test_rate_two_processes, SERVICE_CONF},
        {"e2e_httpc_retry_after_seconds", test_retry_after_seconds, SERVICE_CONF},
        {"e2e_httpc_retry_after_date", test_retry_after_date, SERVICE_CONF},
        {"e2e_httpc_rate_remaining_zero", test_rate_remaining_zero, SERVICE_CONF},
        {"e2e_httpc_retry_5xx", test_retry_5xx, SERVICE_CONF},
        {"e2e_httpc_oversized_refused", test_oversized_refused, SERVICE_CONF},
        {"e2e_httpc_batch_within_budget", test_batch_within_budget, SERVICE_CONF},
        {"e2e_httpc_cancel_stops_wait", test_cancel_stops_wait, SERVICE_CONF},
        {"e2e_httpc_retry_after_last_attempt", test_retry_after_last_attempt, SERVICE_CONF},
        {"e2e_httpc_retry_after_date_skew", test_retry_after_date_skew, SERVICE_CONF},
        {"e2e_httpc_retry_after_zero_backs_off", test_retry_after_zero_backs_off, SERVICE_CONF},
        {"e2e_httpc_rate_counts_credits", test_rate_counts_credits, SERVICE_CONF},
        {"e2e_httpc_credits_unique_across_hosts", test_credits_unique_across_hosts, SERVICE_CONF},
        {"e2e_httpc_retry_after_503_pauses", test_retry_after_503_pauses, SERVICE_CONF},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
