/* End-to-end tests of the producer's front door under attack (issue 16): what an
 * unauthenticated sender can do must neither stall intake nor lose a webhook. Each test
 * reproduces one way it failed: blocking server calls on HTTP threads, connection exhaustion
 * and slow senders, bodies buffered before any check, replays, keys that are not UTF-8, rows
 * too large for one packet, a webhook_log row that cost its neighbours, and the smaller leaks. */
#include "hmac.h"
#include "log_limit.h"
#include "thttp.h"
#include "tmyproxy.h"
#include "tproducer.h"
#include "tservers.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ECHO_SOURCE "[webhook.system]\nauth = none\n"
#define SIGNED_SECRET "frontdoor-secret-0123456789"
#define SIGNED_SOURCE                                                                              \
    "[webhook.signed]\npath_prefix = system/echo\nauth = hmac-sha256\n"                            \
    "secret = " SIGNED_SECRET "\ntimestamp_header = X-Timestamp\ntolerance_s = 300\n"

/* ---- helpers ---- */

/* A connection to the producer from 127.0.0.<from>: all of 127/8 is this machine, so each is
 * an address of its own to the producer, as a botnet's would be. 0 lets the kernel choose. */
static int
raw_connect_from(struct tenv *t, int from)
{
    char host[64];
    int port = 0;
    CHECK(sscanf(t->cfg.producer.listen, "%63[^:]:%d", host, &port) == 2, "listen");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (from) {
        a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)from);
        CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.%d: %s", from,
              strerror(errno));
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a.sin_addr);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
    return fd;
}

static int
raw_connect(struct tenv *t)
{
    return raw_connect_from(t, 0);
}

/* A /proc/<pid>/status field in KiB ("VmRSS", "VmHWM"). */
static long
proc_kib(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *s = t_read_file(path);
    CHECK(s != NULL, "read %s", path);
    char key[32];
    snprintf(key, sizeof(key), "\n%s:", field);
    const char *p = strstr(s, key);
    long v = p ? strtol(p + strlen(key), NULL, 10) : -1;
    free(s);
    return v;
}

/* True when the peer closed fd (EOF or reset), waiting up to ms. */
static bool
peer_closed(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char b[512];
    ssize_t n;
    while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
        ;
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static void
raise_nofile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void
sign(const char *ts, const char *body, char hex[65])
{
    const void *parts[3] = {ts, ".", body};
    size_t lens[3] = {strlen(ts), 1, strlen(body)};
    uint8_t mac[HMAC_SHA256_LEN];
    hmac_sha256(SIGNED_SECRET, strlen(SIGNED_SECRET), parts, lens, 3, mac);
    hmac_hex(mac, sizeof(mac), hex);
}

/* POSTs a signed delivery of body with its own timestamp ts (NULL: now) and an optional
 * extra header; returns the status, the reply in *out when out is not NULL. */
static long
post_signed(struct tenv *t, const char *body, const char *ts, const char *extra, char **out)
{
    char now[32], hex[65], sig[128], tsh[64];
    if (ts == NULL) {
        snprintf(now, sizeof(now), "%lld", (long long)(now_wall_ms() / 1000));
        ts = now;
    }
    sign(ts, body, hex);
    snprintf(sig, sizeof(sig), "X-Signature: sha256=%s", hex);
    snprintf(tsh, sizeof(tsh), "X-Timestamp: %s", ts);
    const char *h[] = {sig, tsh, extra, NULL};
    struct t_http_resp r;
    t_http("POST", tprod_url(t, "/webhook/system/echo"), body, strlen(body), h, &r);
    CHECK(r.status != 0, "POST: %s", r.err);
    if (out)
        *out = xstrdup(r.body);
    long st = r.status;
    t_http_release(&r);
    return st;
}

static int64_t
jobs_count(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP);
}

/* ---- 1. blocking work on HTTP threads ---- */

struct health_call {
    struct tenv *t;
    long status;
    int64_t took_ms;
};

static void *
health_call_main(void *arg)
{
    struct health_call *c = arg;
    struct t_http_resp r;
    int64_t t0 = now_mono_ms();
    t_http("GET", tprod_url(c->t, "/health"), NULL, 0, NULL, &r);
    c->took_ms = now_mono_ms() - t0;
    c->status = r.status;
    t_http_release(&r);
    return NULL;
}

/* MariaDB hung (SIGSTOP) with 16 /health requests in flight: a signed webhook is still
 * answered (spooled) within db_timeout_ms + 1 s, and /health answers at once. */
static void
test_health_hung_mysql(struct tenv *t)
{
    struct tsrv srv;
    tsrv_start(t, &srv);
    tsrv_use(t, &srv);
    tprod_start(t);
    CHECK(post_signed(t, "{\"before\":1}", NULL, NULL, NULL) == 202, "before the hang");
    pid_t my = tsrv_pid(&srv, "mariadb.pid");
    t_hang(my);
    struct health_call hc[16];
    pthread_t th[16];
    for (int i = 0; i < 16; i++) {
        hc[i] = (struct health_call){.t = t};
        pthread_create(&th[i], NULL, health_call_main, &hc[i]);
    }
    /* The webhook goes while the /health requests are in flight (once they blocked the HTTP
     * threads it needed). */
    int64_t t0 = now_mono_ms();
    char *out = NULL;
    long st = post_signed(t, "{\"during\":1}", NULL, NULL, &out);
    int64_t took = now_mono_ms() - t0;
    kill(my, SIGCONT);
    CHECK(st == 202 && strstr(out, "\"spooled\":true"), "during the hang: %ld %s", st, out);
    CHECK(took <= t->cfg.producer.db_timeout_ms + 1000, "answered after %lld ms", (long long)took);
    free(out);
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        CHECK(hc[i].status == 200 || hc[i].status == 503, "/health %d: %ld", i, hc[i].status);
        CHECK(hc[i].took_ms <= 1000, "/health %d answered after %lld ms with MariaDB hung", i,
              (long long)hc[i].took_ms);
    }
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_spool_files") == 0, 30000, "spool replay");
    CHECK(jobs_count(t) == 2, "two jobs: %lld", (long long)jobs_count(t));
    CHECK(tsrv_stop(t, &srv) == 0, "stopping the private servers");
}

/* ---- 2. connection exhaustion and slowloris ---- */

#define HALF_OPEN 1100

/* 1,100 connections that never finish their headers: the producer's memory stays bounded, it
 * cuts them at the header deadline, and then answers a normal request at once. */
static void
test_half_open(struct tenv *t)
{
    raise_nofile();
    pid_t p = tprod_start(t);
    long rss0 = proc_kib(p, "VmRSS");
    int *fds = xcalloc(HALF_OPEN, sizeof(int));
    const char partial[] = "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nX-A: ";
    for (int i = 0; i < HALF_OPEN; i++) {
        fds[i] = raw_connect(t);
        send(fds[i], partial, sizeof(partial) - 1, MSG_NOSIGNAL);
    }
    /* header_timeout_s is 2: every one that was accepted is cut by 2 s + a tick; the rest wait
     * in the backlog and are cut in turn. */
    int64_t deadline = now_mono_ms() + 15000;
    int cut = 0;
    for (int i = 0; i < HALF_OPEN; i++) {
        int64_t left = deadline - now_mono_ms();
        if (peer_closed(fds[i], left > 0 ? (int)left : 0))
            cut++;
        close(fds[i]);
    }
    free(fds);
    CHECK(cut >= 1000, "only %d of %d half-open connections were cut", cut, HALF_OPEN);
    /* The peak, read once they are all cut, counts every connection the producer held at
     * once, whenever it took them. */
    long grew = proc_kib(p, "VmHWM") - rss0;
    CHECK(grew < 48 * 1024, "memory grew by %ld KiB with %d half-open connections", grew,
          HALF_OPEN);
    int64_t t0 = now_mono_ms();
    CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "a normal webhook");
    CHECK(now_mono_ms() - t0 < 2000, "answered after %lld ms", (long long)(now_mono_ms() - t0));
    CHECK(tprod_metric(t, "jobfleet_producer_connections_cut_total{reason=\"header\"}") >= 1,
          "metric");
}

/* A sender trickling its headers one byte every 5 s is cut at the header deadline, although
 * it is never idle long enough for an idle timeout. */
static void
test_slowloris(struct tenv *t)
{
    tprod_start(t);
    int fd = raw_connect(t);
    const char req[] = "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\n";
    int64_t t0 = now_mono_ms();
    bool closed = false;
    /* Bounded by 15 s: past that the sender has already outlived any sane deadline. */
    for (size_t i = 0; i < sizeof(req) - 1 && !closed && now_mono_ms() - t0 < 15000; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) < 0)
            break;
        closed = peer_closed(fd, 5000);
    }
    int64_t took = now_mono_ms() - t0;
    close(fd);
    CHECK(closed || took < 8000, "a trickling sender kept its connection %lld ms", (long long)took);
    CHECK(took <= (t->cfg.producer.header_timeout_s + 1) * 1000, "cut after %lld ms",
          (long long)took);
}

#define SLOW_HOSTS 4
#define SLOW_FIRST_HOST 2 /* 127.0.0.1 stays the test's own, for its scrapes */
#define SLOW_PER_HOST 256 /* 4 × 256: the default max_connections, when 256 was the default */
#define SLOW_DRIP_MS 2000
/* The default body_grace_s (5 s) and a sweep, with room for 1,024 sockets under ASan. */
#define SLOW_CUT_BY_MS 12000

/* Sends a byte every SLOW_DRIP_MS to each of the n connections the producer has not closed,
 * until it has closed them all or until_ms; returns how many it left open. */
static int
drip_until_closed(int *fds, int n, int64_t until_ms)
{
    struct pollfd *p = xcalloc((size_t)n, sizeof(*p));
    int open = n;
    int64_t next_drip = now_mono_ms() + SLOW_DRIP_MS;
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    while (open > 0 && now_mono_ms() < until_ms) {
        int64_t wait = (next_drip < until_ms ? next_drip : until_ms) - now_mono_ms();
        poll(p, (nfds_t)n, wait > 0 ? (int)wait : 0);
        for (int i = 0; i < n; i++) {
            if (p[i].fd >= 0 && p[i].revents && peer_closed(p[i].fd, 0)) {
                p[i].fd = -1; /* poll skips it from now on */
                open--;
            }
        }
        if (now_mono_ms() >= next_drip) {
            for (int i = 0; i < n; i++)
                if (p[i].fd >= 0)
                    send(p[i].fd, "x", 1, MSG_NOSIGNAL);
            next_drip += SLOW_DRIP_MS;
        }
    }
    free(p);
    return open;
}

/* 256 connections from each of 4 addresses, each declaring a 16,000-byte body and then
 * sending a byte every 2 s: a request from a fifth address is answered at once, and every
 * slow connection is cut for its rate (not at request_timeout_s) within the grace. Once the
 * 1,024 took every connection until request_timeout_s, 60 s, and the sender reconnected. */
static void
test_slow_bodies(struct tenv *t)
{
    raise_nofile();
    tprod_start(t);
    int n = SLOW_HOSTS * SLOW_PER_HOST;
    int *fds = xcalloc((size_t)n, sizeof(int));
    const char head[] = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 16000\r\n\r\nx";
    for (int i = 0; i < n; i++) {
        fds[i] = raw_connect_from(t, SLOW_FIRST_HOST + i / SLOW_PER_HOST);
        /* Past the per-address limit the producer closes at once: that send may fail. */
        send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL);
    }
    int64_t t0 = now_mono_ms();
    /* libmicrohttpd accepts in order: the probe waits behind the attack for a free slot. */
    int probe = raw_connect_from(t, SLOW_FIRST_HOST + SLOW_HOSTS);
    const char get[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(send(probe, get, sizeof(get) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(get) - 1, "probe");
    int code = t_http_raw_status(probe, 3);
    CHECK(code == 200 || code == 503, "GET /health from a fifth address: %d after %lld ms", code,
          (long long)(now_mono_ms() - t0));
    int64_t answered = now_mono_ms() - t0;
    int left = drip_until_closed(fds, n, t0 + SLOW_CUT_BY_MS);
    int64_t took = now_mono_ms() - t0;
    fprintf(stderr,
            "FIGURES: /health answered in %lld ms; %d of %d slow bodies closed in %lld ms\n",
            (long long)answered, n - left, n, (long long)took);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    CHECK(left == 0, "%d of %d slow bodies still open after %lld ms (request_timeout_s %d)", left,
          n, (long long)took, t->cfg.producer.request_timeout_s);
    int per_ip = t->cfg.producer.max_connections_per_ip;
    int held = SLOW_HOSTS * (per_ip > 0 && per_ip < SLOW_PER_HOST ? per_ip : SLOW_PER_HOST);
    int64_t slow = tprod_metric(t, "jobfleet_producer_connections_cut_total{reason=\"slow_body\"}");
    fprintf(stderr, "FIGURES: %lld cut for a slow body (%d held)\n", (long long)slow, held);
    CHECK(slow >= held, "%lld cut for a slow body; %d were held", (long long)slow, held);
    CHECK(tprod_metric(t, "jobfleet_producer_connections_cut_total{reason=\"request\"}") == 0,
          "cut at the request deadline");
}

#define HONEST_BYTES 8192
#define HONEST_PIECE 512
#define HONEST_EVERY_MS 250 /* 2 KiB/s */
#define HONEST_STALL_MS 3000

/* A webhook over a bad mobile link: 3 s of silence after its headers, 4 KiB at 2 KiB/s, 3 s of
 * silence again, 4 KiB more. Slow, and below 1 KiB/s averaged from its headers at times, but
 * never behind the rate once its grace and the time its bytes bought count: stored, not cut. */
static void
test_slow_honest_body(struct tenv *t)
{
    tprod_start(t);
    char *body = xmalloc(HONEST_BYTES);
    memset(body, 'a', HONEST_BYTES);
    memcpy(body, "{\"pad\":\"", 8);
    memcpy(body + HONEST_BYTES - 2, "\"}", 2);
    int fd = raw_connect(t);
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
                      HONEST_BYTES);
    CHECK(send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn, "head");
    int64_t t0 = now_mono_ms();
    for (int sent = 0; sent < HONEST_BYTES; sent += HONEST_PIECE) {
        int pause = sent % (HONEST_BYTES / 2) == 0 ? HONEST_STALL_MS : HONEST_EVERY_MS;
        /* The pause is the client's pace; the producer closing meanwhile is the failure. */
        CHECK(!peer_closed(fd, pause), "cut after %lld ms with %d of %d bytes sent",
              (long long)(now_mono_ms() - t0), sent, HONEST_BYTES);
        CHECK(send(fd, body + sent, HONEST_PIECE, MSG_NOSIGNAL) == HONEST_PIECE, "piece at %d",
              sent);
    }
    free(body);
    int code = t_http_raw_status(fd, 10);
    CHECK(code == 202, "a slow but steady webhook: %d after %lld ms", code,
          (long long)(now_mono_ms() - t0));
}

/* ---- 3. bodies buffered before any check ---- */

#define NOPE_N 100
#define NOPE_BYTES (1024 * 1024)

/* 100 connections each sending a 1 MB body to an unknown path: refused before the body is
 * read, so the producer's memory does not grow by the bodies. */
static void
test_nope_bodies(struct tenv *t)
{
    pid_t p = tprod_start(t);
    long rss0 = proc_kib(p, "VmRSS");
    int fds[NOPE_N];
    size_t sent[NOPE_N];
    char *body = xmalloc(NOPE_BYTES);
    memset(body, 'a', NOPE_BYTES);
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", NOPE_BYTES);
    for (int i = 0; i < NOPE_N; i++) {
        fds[i] = raw_connect(t);
        CHECK(send(fds[i], head, (size_t)hn, MSG_NOSIGNAL) == hn, "head");
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        sent[i] = 0;
    }
    /* Push the bodies as far as the producer takes them, for a few seconds. */
    int64_t until = now_mono_ms() + 3000;
    while (now_mono_ms() < until) {
        bool any = false;
        for (int i = 0; i < NOPE_N; i++) {
            if (sent[i] >= NOPE_BYTES)
                continue;
            ssize_t n = send(fds[i], body + sent[i], NOPE_BYTES - sent[i], MSG_NOSIGNAL);
            if (n > 0) {
                sent[i] += (size_t)n;
                any = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                sent[i] = NOPE_BYTES; /* refused and closed */
            }
        }
        if (!any)
            sleep_ms(20);
    }
    long grew = proc_kib(p, "VmHWM") - rss0;
    for (int i = 0; i < NOPE_N; i++)
        close(fds[i]);
    free(body);
    CHECK(grew < 32 * 1024, "the producer grew by %ld KiB for %d bodies to /nope", grew, NOPE_N);
    struct t_http_resp r;
    t_http("POST", tprod_url(t, "/nope"), "x", 1, NULL, &r);
    CHECK(r.status == 413 || r.status == 404, "/nope: %ld", r.status);
    t_http_release(&r);
}

/* ---- 4. replays ---- */

/* A captured signed delivery replayed with fresh Idempotency-Keys makes one job; the
 * signature and timestamp headers are not kept in the job's parameters. */
static void
test_replay(struct tenv *t)
{
    tprod_start(t);
    char ts[32];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_wall_ms() / 1000));
    const char *body = "{\"event\":\"paid\",\"amount\":100}";
    char *first = NULL;
    CHECK(post_signed(t, body, ts, "Idempotency-Key: original", &first) == 202, "first: %s", first);
    for (int i = 0; i < 5; i++) {
        char h[64], *out = NULL;
        snprintf(h, sizeof(h), "Idempotency-Key: replay-%d", i);
        long st = post_signed(t, body, ts, h, &out);
        CHECK(st == 200 && strstr(out, "\"existing\":true"), "replay %d: %ld %s", i, st, out);
        free(out);
    }
    free(first);
    CHECK(jobs_count(t) == 1, "%lld jobs for one signed delivery", (long long)jobs_count(t));
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE parameters LIKE '%x-signature%' OR "
                    "parameters LIKE '%x-timestamp%'",
                    DB_NOP) == 0,
          "signature or timestamp stored in the parameters");
    /* Nor in the key, which API and dashboard readers see: its SHA-256 is. */
    char hex[65], want[80];
    uint8_t d[HMAC_SHA256_LEN];
    sign(ts, body, hex);
    hmac_digest(hex, strlen(hex), d);
    hmac_hex(d, sizeof(d), want + snprintf(want, sizeof(want), "signed:sighash:"));
    char *key = t_sql_str(t, "SELECT idempotency_key FROM jobs", DB_NOP);
    CHECK(key && strcmp(key, want) == 0 && !strstr(key, hex), "the key: %s, expected %s", key,
          want);
    free(key);
    /* A later, freshly signed delivery of another body is a job of its own. */
    CHECK(post_signed(t, "{\"event\":\"refund\"}", NULL, NULL, NULL) == 202, "another");
    CHECK(jobs_count(t) == 2, "two deliveries, two jobs");
}

/* Migration 008 rewrites a key stored with the signature before: a redelivery after the
 * upgrade finds the job the delivery made then. */
static void
test_replay_after_upgrade(struct tenv *t)
{
    tprod_start(t);
    char ts[32], hex[65];
    snprintf(ts, sizeof(ts), "%lld", (long long)(now_wall_ms() / 1000));
    const char *body = "{\"event\":\"before the upgrade\"}";
    CHECK(post_signed(t, body, ts, NULL, NULL) == 202, "the delivery");
    sign(ts, body, hex);
    char *old = xasprintf("signed:sig:%s", hex);
    CHECK(db_exec(t->db, "UPDATE jobs SET idempotency_key = ?", DB_P(DBS(old)), NULL, NULL) == 0 &&
              db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = 8") == 0,
          "as stored before 008: %s", db_errstr(t->db));
    CHECK(t_cli(t, NULL, NULL, (const char *const[]){"migrate", NULL}) == 0, "migrate 008");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE '%:sig:%'",
                    DB_NOP) == 0,
          "no signature left in a key");
    char *out = NULL;
    long st = post_signed(t, body, ts, NULL, &out);
    CHECK(st == 200 && strstr(out, "\"existing\":true"), "the redelivery: %ld %s", st, out);
    free(out);
    CHECK(jobs_count(t) == 1, "one job");
    free(old);
}

/* With idempotency_field set, the Idempotency-Key header does not override the body. */
static void
test_replay_field(struct tenv *t)
{
    tprod_start(t);
    const char *body = "{\"id\":\"evt-1\"}";
    const char *h1[] = {"Idempotency-Key: a", NULL}, *h2[] = {"Idempotency-Key: b", NULL};
    CHECK(tprod_post(t, "/webhook/system/echo", body, strlen(body), h1, NULL) == 202, "first");
    CHECK(tprod_post(t, "/webhook/system/echo", body, strlen(body), h2, NULL) == 200, "replay");
    CHECK(jobs_count(t) == 1, "%lld jobs", (long long)jobs_count(t));
    /* Two 64-bit ids past 2^53 are one double: the second was a 200 "existing", its delivery
     * dropped. Such a number cannot make a key: a 400 that says to send it as a string. */
    const char *big[] = {"{\"id\":18014398509481985}", "{\"id\":18014398509481984}"};
    for (int i = 0; i < 2; i++) {
        char *out = NULL;
        long st = tprod_post(t, "/webhook/system/echo", big[i], strlen(big[i]), NULL, &out);
        CHECK(st == 400 && out && strstr(out, "/id") && strstr(out, "as a string"), "%s: %ld %s",
              big[i], st, out ? out : "");
        free(out);
    }
    CHECK(jobs_count(t) == 1, "%lld jobs", (long long)jobs_count(t));
}

/* ---- 5. a 2xx without a job ---- */

/* Keys that are not UTF-8 get a 4xx; never a 2xx without a job. */
static void
test_bad_key(struct tenv *t)
{
    tprod_start(t);
    const char *k1[] = {"Idempotency-Key: caf\xe9-1", NULL};
    const char *k2[] = {"Idempotency-Key: caf\xe8-1", NULL};
    long s1 = tprod_post(t, "/webhook/system/echo", "{}", 2, k1, NULL);
    long s2 = tprod_post(t, "/webhook/system/echo", "{}", 2, k2, NULL);
    int64_t twoxx = (s1 / 100 == 2) + (s2 / 100 == 2);
    CHECK(twoxx == jobs_count(t), "%lld 2xx answers (%ld, %ld) but %lld jobs", (long long)twoxx, s1,
          s2, (long long)jobs_count(t));
    CHECK(s1 == 400 && s2 == 400, "statuses %ld %ld", s1, s2);
    CHECK(tprod_metric(t, "jobfleet_producer_spool_files") == 0, "nothing spooled");
}

/* ---- 6. oversized batches ---- */

#define CTRL_N 64
#define CTRL_BYTES (1000 * 1000)

struct ctrl_post {
    struct tenv *t;
    const char *body;
    size_t len; /* 0: CTRL_BYTES */
    long status;
    bool spooled;
    char err[256];
    char body_out[512]; /* the start of the answer */
};

static void *
ctrl_post_main(void *arg)
{
    struct ctrl_post *c = arg;
    char *out = NULL;
    struct t_http_resp r;
    size_t len = c->len ? c->len : CTRL_BYTES;
    t_http("POST", tprod_url(c->t, "/webhook/system/echo"), c->body, len, NULL, &r);
    c->status = r.status;
    snprintf(c->err, sizeof(c->err), "%s", r.err);
    snprintf(c->body_out, sizeof(c->body_out), "%s", r.body ? r.body : "");
    out = r.body;
    c->spooled = out && strstr(out, "\"spooled\":true");
    t_http_release(&r);
    return NULL;
}

/* 64 concurrent 1 MB bodies of control characters (6 MB each once escaped): all stored
 * directly, none spooled. */
static void
test_control_chars(struct tenv *t)
{
    tprod_start(t);
    char *body = xmalloc(CTRL_BYTES + 1);
    memset(body, '\x01', CTRL_BYTES);
    body[CTRL_BYTES] = '\0';
    struct ctrl_post cp[CTRL_N];
    pthread_t th[CTRL_N];
    t_http_timeout_ms = 210000; /* 64 rows of 6 MB, one by one, on a loaded machine */
    for (int i = 0; i < CTRL_N; i++) {
        cp[i] = (struct ctrl_post){.t = t, .body = body};
        pthread_create(&th[i], NULL, ctrl_post_main, &cp[i]);
    }
    int stored = 0, spooled = 0;
    for (int i = 0; i < CTRL_N; i++) {
        pthread_join(th[i], NULL);
        stored += cp[i].status == 202 && !cp[i].spooled;
        spooled += cp[i].spooled;
        if (cp[i].status != 202)
            fprintf(stderr, "request %d: status %ld %s\n", i, cp[i].status, cp[i].err);
    }
    free(body);
    CHECK(stored == CTRL_N, "%d of %d stored directly, %d spooled", stored, CTRL_N, spooled);
    CHECK(jobs_count(t) == CTRL_N, "%lld jobs", (long long)jobs_count(t));
}

#define PKT_SMALL 8
#define PKT_BIG (1500 * 1000)

/* Between the producer and MariaDB a limit of 1 MiB that the producer cannot read (a proxy's):
 * a 1.5 MB delivery in one batch with small ones makes the batch's INSERT fail with error 1153
 * and the connection close. That row is a data error: refused with a 413 that says why; the
 * rest of its batch is stored, nothing is spooled, and MariaDB is not taken for down. The
 * batch is made deterministic by a table lock: the writer's first statement waits on it while
 * the others queue behind it. */
static void
test_packet_too_large(struct tenv *t)
{
    struct tmyproxy *px = tmyproxy_start_for(t);
    tmyproxy_max_packet(px, 1024 * 1024);
    tprod_start(t);
    char *big = xmalloc(PKT_BIG + 1);
    memset(big, 'a', PKT_BIG);
    big[0] = '"';
    big[PKT_BIG - 1] = '"';
    big[PKT_BIG] = '\0';
    char small[PKT_SMALL + 1][32];
    struct ctrl_post cp[PKT_SMALL + 2];
    pthread_t th[PKT_SMALL + 2];
    CHECK(db_exec_static(t->db, "LOCK TABLES jobs WRITE") == 0, "lock: %s", db_errstr(t->db));
    /* cp[0] holds the writer on the lock; the big one and the small ones queue behind it. */
    for (int i = 0; i < PKT_SMALL + 2; i++) {
        if (i <= PKT_SMALL)
            snprintf(small[i], sizeof(small[i]), "{\"n\":%d}", i);
        cp[i] = (struct ctrl_post){.t = t,
                                   .body = i <= PKT_SMALL ? small[i] : big,
                                   .len = i <= PKT_SMALL ? strlen(small[i]) : PKT_BIG};
        pthread_create(&th[i], NULL, ctrl_post_main, &cp[i]);
        /* The writer's statement must be waiting on the lock, its batch taken, before the
         * others come: a second delivery that came first shared the first's batch (CI saw a
         * batch of 8 where 9 were meant). */
        if (i == 0)
            WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_writer_waiting_requests") == 1 &&
                           t_sql_int(t, 0,
                                     "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                     "WHERE INFO LIKE 'INSERT%jobs%' AND ID <> CONNECTION_ID()",
                                     DB_NOP) >= 1,
                       5000, "the first delivery's insert waits on the lock");
    }
    WAIT_UNTIL(tprod_metric(t, "jobfleet_producer_writer_waiting_requests") == PKT_SMALL + 2, 10000,
               "every delivery waits for the writer");
    CHECK(db_exec_static(t->db, "UNLOCK TABLES") == 0, "unlock: %s", db_errstr(t->db));
    for (int i = 0; i < PKT_SMALL + 2; i++)
        pthread_join(th[i], NULL);
    CHECK(tmyproxy_too_large(px) >= 1, "MariaDB's limit was never reached");
    for (int i = 0; i <= PKT_SMALL; i++)
        CHECK(cp[i].status == 202 && !cp[i].spooled, "small delivery %d: %ld%s %s", i, cp[i].status,
              cp[i].spooled ? " spooled" : "", cp[i].err);
    const struct ctrl_post *b = &cp[PKT_SMALL + 1];
    CHECK(b->status == 413 && strstr(b->body_out, "max_allowed_packet"), "the big delivery: %ld %s",
          b->status, b->body_out);
    CHECK(jobs_count(t) == PKT_SMALL + 1, "%lld jobs", (long long)jobs_count(t));
    char *log = t_log(t, t->procs[t->n_procs - 1].pid);
    char want[64];
    snprintf(want, sizeof(want), "batch of %d jobs: insert jobs: Got a packet bigger",
             PKT_SMALL + 1);
    CHECK(log && strstr(log, want), "the big row shared its batch with the small ones: %s", log);
    free(log);
    CHECK(tprod_metric(t, "jobfleet_producer_spool_files") == 0, "nothing spooled");
    CHECK(tprod_metric(t, "jobfleet_producer_mariadb_up") == 1, "MariaDB not taken for down");
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 413", DB_NOP) == 1,
               5000, "the refusal is in webhook_log");
    /* The writer goes on as before. */
    CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "a later delivery");
    CHECK(jobs_count(t) == PKT_SMALL + 2, "stored");
    free(big);
    tmyproxy_stop_for(px);
}

/* A max_body_bytes whose escaped row cannot fit max_allowed_packet is refused at start. */
static void
test_packet_refused(struct tenv *t)
{
    pid_t p = t_spawn(t, t_bin("jobfleet-producer"), NULL);
    char *log_path = xstrdup(t->procs[t->n_procs - 1].log_path); /* a reaped pid has no log */
    int st = t_wait_exit(t, p, 20000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "the producer started: %d", st);
    char *log = t_read_file(log_path);
    free(log_path);
    CHECK(log != NULL, "no log");
    CHECK(strstr(log, "max_body_bytes = 67108864") && strstr(log, "max_allowed_packet"), "%s", log);
    free(log);
}

/* `jobfleet spool list|retry|drop`: an operator sees what failed/ holds, stores a fixed entry
 * as a job under its spooled key, and deletes one that can never be stored. */
static void
test_spool_cli(struct tenv *t)
{
    char *dir = xasprintf("%s/spool", t->dir);
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    free(dir);
    tprod_spool_failed(t, "0000000000001-000001-aaaaaaaa", "System/Noop", "system:key:cli-1", 0);
    tprod_spool_failed(t, "0000000000002-000002-bbbbbbbb", "No/Such", "system:key:cli-2", 0);
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err, (const char *const[]){"spool", "list", "--json", NULL}) == 0,
          "list: %s", err);
    CHECK(t_count(out, "\"state\":\"failed\"") == 2 && strstr(out, "No/Such"), "%s", out);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"spool", "retry", "0000000000001-000001-aaaaaaaa", NULL}) ==
              0,
          "retry: %s", err);
    free(out);
    free(err);
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = 'system:key:cli-1'",
                    DB_NOP) == 1,
          "the retried entry is a job");
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"spool", "retry", "0000000000002-000002-bbbbbbbb", NULL}) ==
              2,
          "retry of an unknown action");
    CHECK(strstr(err, "unknown action"), "%s", err);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, &err,
                (const char *const[]){"spool", "drop", "0000000000002-000002-bbbbbbbb", NULL}) == 0,
          "drop: %s", err);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, &err, (const char *const[]){"spool", "list", "--json", NULL}) == 0,
          "list: %s", err);
    CHECK(strcmp(out, "[]\n") == 0, "failed/ still holds: %s", out);
    free(out);
    free(err);
}

/* ---- 7. the audit trail ---- */

/* A path that is not UTF-8 beside valid deliveries: every valid delivery keeps its
 * webhook_log row (and so does the bad one, cleaned). */
static void
test_log_bad_path(struct tenv *t)
{
    tprod_start(t);
    int fd = raw_connect(t);
    const char bad[] = "POST /webhook/%ff HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    CHECK(send(fd, bad, sizeof(bad) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(bad) - 1), "send");
    for (int i = 0; i < 20; i++)
        CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "valid %d", i);
    char resp[512] = "";
    CHECK(recv(fd, resp, sizeof(resp) - 1, 0) > 0 && strstr(resp, " 400 "), "bad path: %s", resp);
    close(fd);
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 202", DB_NOP) == 20,
               5000, "the valid deliveries' rows");
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 400", DB_NOP) == 1,
               5000, "the bad path's row, cleaned");
}

/* Requests an attacker can send at will, each of which used to write a warning: the log
 * keeps the first LOG_LIMIT_BURST of each kind per window, so the disk does not fill at the
 * rate the producer answers. */
static void
test_log_flood(struct tenv *t)
{
    pid_t p = tprod_start(t);
    const char partial[] = "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 200; i++) {
        int fd = raw_connect(t);
        send(fd, partial, sizeof(partial) - 1, MSG_NOSIGNAL);
        close(fd);
    }
    for (int i = 0; i < 200; i++) {
        CHECK(tprod_post(t, "/api/jobs", "{}", 2, NULL, NULL) == 401, "API without a token");
        CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 401, "unsigned");
    }
    char *log = t_log(t, p);
    CHECK(log != NULL, "no log");
    int mhd = t_count(log, "libmicrohttpd: "), api = t_count(log, ": 401: "),
        hook = t_count(log, ": 401 for source ");
    CHECK(mhd >= 1 && mhd <= LOG_LIMIT_BURST, "%d libmicrohttpd lines", mhd);
    CHECK(api == LOG_LIMIT_BURST, "%d API 401 lines", api);
    CHECK(hook == LOG_LIMIT_BURST, "%d webhook 401 lines", hook);
    free(log);
}

/* Refused webhooks, which anyone can send, keep only a budget of webhook_log rows; a delivery
 * that made a job always gets its row. */
static void
test_webhook_log_flood(struct tenv *t)
{
    tprod_start(t);
    for (int i = 0; i < 200; i++)
        CHECK(tprod_post(t, "/webhook/nosuch/x", "{}", 2, NULL, NULL) == 404, "refused %d", i);
    CHECK(tprod_post(t, "/webhook/system/echo", "{}", 2, NULL, NULL) == 202, "a delivery");
    /* Rows are written in the order they came: the delivery's row comes last. */
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM webhook_log WHERE status = 202", DB_NOP) == 1,
               10000, "the delivery's row");
    int64_t refused =
        t_sql_int(t, -1, "SELECT COUNT(*) FROM webhook_log WHERE status = 404", DB_NOP);
    CHECK(refused >= 1 && refused <= LOG_LIMIT_BURST, "%lld rows of 200 refused requests",
          (long long)refused);
    CHECK(tprod_metric(t, "jobfleet_producer_webhook_log_left_out_total") == 200 - refused,
          "the rows left out are counted");
}

/* ---- 8. smaller ones ---- */

static void
check_security_headers(struct tenv *t, const char *method, const char *path)
{
    struct t_http_resp r;
    t_http(method, tprod_url(t, path), method[0] == 'P' ? "{}" : NULL, method[0] == 'P' ? 2 : 0,
           NULL, &r);
    char v[256];
    CHECK(t_http_header(&r, "x-content-type-options", v, sizeof(v)) == 0 &&
              strcmp(v, "nosniff") == 0,
          "%s %s: X-Content-Type-Options", method, path);
    CHECK(t_http_header(&r, "x-frame-options", v, sizeof(v)) == 0 && strcmp(v, "DENY") == 0,
          "%s %s: X-Frame-Options", method, path);
    CHECK(t_http_header(&r, "content-security-policy", v, sizeof(v)) == 0 &&
              strstr(v, "frame-ancestors 'none'"),
          "%s %s: CSP", method, path);
    /* The API's answers hold job parameters and results (the secrets review). */
    CHECK(t_http_header(&r, "cache-control", v, sizeof(v)) == 0 && strcmp(v, "no-store") == 0,
          "%s %s: Cache-Control", method, path);
    t_http_release(&r);
}

static void
test_small(struct tenv *t)
{
    pid_t p = tprod_start(t);
    /* Log injection: a decoded newline in a path is escaped in the log. */
    tprod_post(t, "/webhook/system/x%0aforged%20line", "{}", 2, NULL, NULL);
    tprod_post(t, "/api/jobs%0aforged%20api", "{}", 2, NULL, NULL);
    char *log = t_log(t, p);
    CHECK(strstr(log, "\\x0aforged api") && !strstr(log, "\nforged"), "a forged log line: %s", log);
    free(log);
    /* One 404 text: unknown source, unknown action and unknown page answer alike. */
    char *a = NULL, *b = NULL, *c = NULL;
    CHECK(tprod_post(t, "/webhook/nosource/x", "{}", 2, NULL, &a) == 404, "no source");
    CHECK(tprod_post(t, "/webhook/system/nope", "{}", 2, NULL, &b) == 404, "unknown action");
    CHECK(tprod_call(t, "GET", "/nope", NULL, "", &c) == 404, "unknown page");
    CHECK(strcmp(a, b) == 0 && strcmp(b, c) == 0, "404 texts differ: %s | %s | %s", a, b, c);
    free(a);
    free(b);
    free(c);
    /* A 401 says nothing about why. */
    CHECK(tprod_call(t, "GET", "/api/jobs", NULL, "Authorization: Bearer wrong", &a) == 401, "401");
    CHECK(!strstr(a, "wrong") && !strstr(a, "Bearer"), "401 body: %s", a);
    free(a);
    /* /health carries no error text. */
    CHECK(tprod_call(t, "GET", "/health", NULL, "", &a) == 200, "health");
    CHECK(strstr(a, "\"mysql\":\"ok\"") && strstr(a, "\"redis\":\"ok\""), "health: %s", a);
    free(a);
    /* Security headers on every reply. */
    check_security_headers(t, "GET", "/health");
    check_security_headers(t, "GET", "/metrics");
    check_security_headers(t, "GET", "/");
    check_security_headers(t, "GET", "/nope");
    check_security_headers(t, "GET", "/api/jobs");
    check_security_headers(t, "POST", "/webhook/system/echo");
    /* A JSON API body that is not UTF-8 is refused. */
    const char bad[] = "{\"action\":\"System/Noop\",\"parameters\":{\"x\":\"\xff\"}}";
    const char *h[] = {TPROD_AUTH, "Content-Type: application/json", NULL};
    CHECK(tprod_post(t, "/api/jobs", bad, strlen(bad), h, &a) == 400, "non-UTF-8 API body: %s", a);
    free(a);
    /* run_at far out of range is refused, not turned into 1970. */
    const char far[] = "{\"action\":\"System/Noop\",\"run_at\":1e300}";
    CHECK(tprod_post(t, "/api/jobs", far, strlen(far), h, &a) == 400, "run_at 1e300: %s", a);
    free(a);
}

/* Sends req on a new connection and reads all it gets until the producer closes it (at most
 * 10 s); the caller frees the text. */
static char *
raw_exchange(struct tenv *t, const char *req)
{
    int fd = raw_connect(t);
    CHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req), "send");
    struct buf b;
    buf_init(&b, 0);
    int64_t until = now_mono_ms() + 10000;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char chunk[4096];
    ssize_t n = 1;
    while (n > 0 && now_mono_ms() < until && poll(&p, 1, 1000) >= 0) {
        n = p.revents ? recv(fd, chunk, sizeof(chunk), 0) : 1;
        if (n > 0 && p.revents)
            buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    buf_append(&b, "", 0);
    return buf_detach(&b);
}

/* A request framed two ways (Content-Length and Transfer-Encoding, or two Content-Lengths)
 * hides a second request for a proxy that frames it the other way (request smuggling). Before,
 * the producer stored the webhook and then answered the hidden GET /metrics on the same
 * connection. It refuses such a request with 400 and closes the connection. */
static void
test_ambiguous_framing(struct tenv *t)
{
    tprod_start(t);
    static const char smuggled[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    char req[512];
    snprintf(req, sizeof(req),
             "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s",
             smuggled);
    const char *const cases[] = {
        req,
        "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n"
        "Content-Length: 20\r\n\r\n{\"a\":1}GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        /* The final review: two Transfer-Encodings were still taken (202, then the hidden
         * request answered). */
        "POST /webhook/system/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: identity\r\n\r\n7\r\n{\"a\":1}\r\n0\r\n\r\nGET /metrics "
        "HTTP/1.1\r\nHost: x\r\n\r\n"};
    static const char *const what[] = {"Content-Length and Transfer-Encoding",
                                       "two Content-Lengths", "two Transfer-Encodings"};
    for (int i = 0; i < 3; i++) {
        char *got = raw_exchange(t, cases[i]);
        const char *second = strstr(got + 1, "HTTP/1.1 ");
        CHECK(strncmp(got, "HTTP/1.1 400", 12) == 0 && second == NULL,
              "%s: answered %.12s, then %s", what[i], got, second ? second : "(closed)");
        free(got);
    }
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 0,
          "a webhook framed two ways was stored");
}

static const struct test_case cases[] = {
    {"e2e_frontdoor_health_hung_mysql", test_health_hung_mysql,
     SIGNED_SOURCE "[producer]\ndb_timeout_ms = 500\n"},
    {"e2e_frontdoor_half_open", test_half_open,
     ECHO_SOURCE "[producer]\nheader_timeout_s = 2\nmax_connections = 512\n"
                 "max_connections_per_ip = 0\n"},
    {"e2e_frontdoor_slowloris", test_slowloris, ECHO_SOURCE "[producer]\nheader_timeout_s = 7\n"},
    /* The defaults: they must keep the front door open, and not cut a real slow client. */
    {"e2e_frontdoor_slow_bodies", test_slow_bodies, ECHO_SOURCE},
    {"e2e_frontdoor_slow_honest_body", test_slow_honest_body, ECHO_SOURCE},
    /* All 100 from 127.0.0.1 must reach the producer, past the per-address limit. */
    {"e2e_frontdoor_nope_bodies", test_nope_bodies,
     ECHO_SOURCE "[producer]\nmax_connections_per_ip = 0\n"},
    {"e2e_frontdoor_replay", test_replay, SIGNED_SOURCE},
    {"e2e_frontdoor_replay_after_upgrade", test_replay_after_upgrade, SIGNED_SOURCE},
    {"e2e_frontdoor_replay_field", test_replay_field,
     "[webhook.system]\nauth = none\nidempotency_field = /id\n"},
    {"e2e_frontdoor_bad_key", test_bad_key, ECHO_SOURCE},
    {"e2e_frontdoor_control_chars", test_control_chars,
     ECHO_SOURCE "[producer]\ndb_timeout_ms = 150000\nrequest_timeout_s = 200\n"
                 "max_connections_per_ip = 0\n"},
    {"e2e_frontdoor_packet_too_large", test_packet_too_large,
     ECHO_SOURCE "[producer]\nmax_body_bytes = 2097152\ndb_timeout_ms = 30000\n"},
    {"e2e_frontdoor_packet_refused", test_packet_refused,
     ECHO_SOURCE "[producer]\nmax_body_bytes = 67108864\n"},
    {"e2e_frontdoor_spool_cli", test_spool_cli, ECHO_SOURCE},
    {"e2e_frontdoor_log_bad_path", test_log_bad_path, ECHO_SOURCE},
    {"e2e_frontdoor_ambiguous_framing", test_ambiguous_framing, ECHO_SOURCE},
    /* Its 200 connections from 127.0.0.1, closed at once, may still count against the
     * per-address limit (64) when its requests come, until the producer has seen them close. */
    {"e2e_frontdoor_log_flood", test_log_flood,
     SIGNED_SOURCE "[producer]\nmax_connections_per_ip = 0\n"},
    {"e2e_frontdoor_webhook_log_flood", test_webhook_log_flood, ECHO_SOURCE},
    {"e2e_frontdoor_small", test_small, ECHO_SOURCE},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
