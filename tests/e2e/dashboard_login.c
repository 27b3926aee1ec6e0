/* End-to-end tests of the dashboard's login: users and the API token, sessions and their
 * expiry, the failed-login limit per address and per user name, the producer's budget of
 * password checks under a flood of logins, the room kept for a user at an address they logged
 * in from before, and the client address behind a trusted proxy. */
#include "tdash.h"
#include "thttp.h"
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

/* The status of a login sent with an X-Forwarded-For header (the session is not kept). */
static long
dlogin_xff(struct tenv *t, const char *user, const char *pass, const char *xff)
{
    char body[256], origin[128], fwd[128];
    snprintf(body, sizeof(body), "user=%s&password=%s", user, pass);
    const char *url = tprod_url(t, "");
    snprintf(origin, sizeof(origin), "Origin: %.*s", (int)strlen(url), url);
    snprintf(fwd, sizeof(fwd), "X-Forwarded-For: %s", xff);
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", origin, fwd, NULL};
    struct t_http_resp r;
    CHECK(t_http("POST", tprod_url(t, "/login"), body, strlen(body), h, &r) == 0, "login: %s",
          r.err);
    long st = r.status;
    t_http_release(&r);
    return st;
}

/* The status of an admin login sent with the Host, Origin and X-Forwarded-Host (NULL: none)
 * a reverse proxy passes on. */
static long
dlogin_proxied(struct tenv *t, const char *host, const char *origin, const char *xfh)
{
    const char *body = "user=admin&password=adminpw";
    char hh[128], oh[128], xh[128];
    snprintf(hh, sizeof(hh), "Host: %s", host);
    snprintf(oh, sizeof(oh), "Origin: %s", origin);
    snprintf(xh, sizeof(xh), "X-Forwarded-Host: %s", xfh ? xfh : "");
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", hh, oh, xfh ? xh : NULL,
                       NULL};
    struct t_http_resp r;
    CHECK(t_http("POST", tprod_url(t, "/login"), body, strlen(body), h, &r) == 0, "login: %s",
          r.err);
    long st = r.status;
    t_http_release(&r);
    return st;
}

static void
test_login(struct tenv *t)
{
    /* A user made by `jobfleet passwd` (yescrypt) on top of the configured ones. */
    char *cmd = xasprintf("printf 'pass word\\n' | %s --config %s passwd carol --role read",
                          t_bin("jobfleet"), t->conf);
    FILE *p = popen(cmd, "r");
    free(cmd);
    char line[512] = "";
    CHECK(p && fgets(line, sizeof(line), p), "jobfleet passwd printed nothing");
    CHECK(pclose(p) == 0, "jobfleet passwd failed");
    line[strcspn(line, "\n")] = '\0';
    CHECK(strncmp(line, "carol:read:$y$", 14) == 0, "passwd line: %s", line);
    FILE *fp = fopen(t->conf, "a");
    fprintf(fp, "[dashboard]\nusers = %s\nlogin_max_failures = 3\n", line);
    fclose(fp);
    tprod_start(t);

    struct dclient c;
    CHECK(dstatus(t, "GET", "/", NULL, NULL, NULL) == 303, "no session: to the login page");
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, NULL, NULL) == 401, "JSON: 401");
    CHECK(dlogin(t, "carol", "wrong", &c) == 401, "wrong password");
    CHECK(dlogin(t, "carol", "pass+word", &c) == 303, "right password");
    char *page = dget(t, "/", &c);
    CHECK(strstr(page, "carol") && strstr(page, "(read-only)"), "%s", page);
    free(page);
    /* The API token logs in as admin, and works as a bearer token for scripts. */
    struct dclient tok;
    CHECK(dlogin(t, "", "test-token-0123456789", &tok) == 303, "API token login");
    CHECK(tprod_call(t, "GET", "/jobs?format=json", NULL, NULL, NULL) == 200, "bearer");
    CHECK(tprod_call(t, "GET", "/jobs?format=json", NULL, "Authorization: Bearer nope", NULL) ==
              401,
          "wrong bearer");
    /* Logout ends the session on the server, not only in the browser. */
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", c.csrf);
    CHECK(dstatus(t, "POST", "/logout", body, &c, NULL) == 303, "logout");
    CHECK(dstatus(t, "GET", "/", NULL, &c, NULL) == 303, "the old cookie no longer works");
    /* Three failures lock the address out, even for the right password then. */
    CHECK(dlogin(t, "carol", "x", &c) == 401 && dlogin(t, "carol", "y", &c) == 401, "fail");
    CHECK(dlogin(t, "carol", "pass+word", &c) == 429, "locked out after three failures");
    /* With no trusted_proxies, an X-Forwarded-For of the client's own does not get it out. */
    CHECK(dlogin_xff(t, "carol", "pass+word", "203.0.113.77") == 429,
          "X-Forwarded-For believed without trusted_proxies");
}

#define FLOOD_CLIENTS 64

/* Sends a login POST for user with pass from 127.0.0.<host>: a socket bound there (all of
 * 127/8 is this machine), so each host is an address of its own, as a botnet's would be.
 * Returns the socket; the answer is read later (t_http_raw_status). */
static int
login_from(int host, int port, const char *user, const char *pass)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)host);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.%d", host);
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect from 127.0.0.%d", host);
    char body[128], req[512];
    int bl = snprintf(body, sizeof(body), "user=%s&password=%s", user, pass);
    int rl =
        snprintf(req, sizeof(req),
                 "POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1:%d\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n"
                 "Connection: close\r\n\r\n%s",
                 port, port, bl, body);
    CHECK(write(fd, req, (size_t)rl) == rl, "send the login from 127.0.0.%d", host);
    return fd;
}

/* A login for a user that does not exist from 127.0.0.<host>, so that no address is locked
 * out; returns the socket. */
static int
flood_login(struct tenv *t, int host, int port)
{
    char user[32], pass[32];
    snprintf(user, sizeof(user), "nobody%d", host);
    snprintf(pass, sizeof(pass), "guess%d", host);
    (void)t;
    return login_from(host, port, user, pass);
}

/* The status of a login from 127.0.0.<host>, waited for. */
static int
login_status(struct tenv *t, int host, const char *user, const char *pass)
{
    int port = atoi(strrchr(tprod_url(t, ""), ':') + 1);
    int fd = login_from(host, port, user, pass);
    int st = t_http_raw_status(fd, 30);
    close(fd);
    return st;
}

/* A configured user may not be named api-token, the API token's login (and its audit name):
 * the producer refuses to start and says why. Before, the check compared the whole
 * "name:role:hash" entry with "api-token" and never matched. */
static void
test_user_named_api_token(struct tenv *t)
{
    FILE *fp = fopen(t->conf, "a");
    CHECK(fp, "append to %s", t->conf);
    fprintf(fp, "[dashboard]\nusers = "
                "api-token:admin:$2b$10$szgSb4bb9xW3eUGmRlzoDewXFTFhlt94AAYq27vlAY.0NVaD0nJcC\n");
    fclose(fp);
    pid_t p = t_spawn(t, t_bin("jobfleet-producer"), NULL);
    char *log_path = xstrdup(t->procs[t->n_procs - 1].log_path); /* a reaped pid has no log */
    int st = t_wait_exit(t, p, 20000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "the producer started: %d", st);
    char *log = t_read_file(log_path);
    CHECK(log && strstr(log, "\"api-token\" is the name of the API token's login"), "%s",
          log ? log : "(no log)");
    free(log);
    free(log_path);
}

/* Every password check is a crypt(3) of the configured cost (yescrypt's default: some 60 ms of
 * CPU on this machine), run on an HTTP thread. Logins from many addresses, none locked out,
 * must not take the threads and CPU that webhooks and the API need: while 64 wrong logins from
 * 64 addresses are in, an API enqueue is still answered promptly; the logins beyond the
 * producer's few checks a second are answered 429 at once; the right password works again a
 * moment later. */
static void
test_login_flood(struct tenv *t)
{
    tprod_start(t);
    int port = atoi(strrchr(tprod_url(t, ""), ':') + 1);
    int fds[FLOOD_CLIENTS];
    for (int i = 0; i < FLOOD_CLIENTS; i++)
        fds[i] = flood_login(t, 10 + i, port);
    int64_t worst = 0;
    for (int i = 0; i < 3; i++) {
        int64_t t0 = now_mono_ms();
        CHECK(tprod_call(t, "POST", "/api/jobs", "{\"action\":\"System/Noop\"}", NULL, NULL) == 201,
              "enqueue %d during the login flood", i);
        int64_t took = now_mono_ms() - t0;
        worst = took > worst ? took : worst;
    }
    int refused = 0, checked = 0;
    for (int i = 0; i < FLOOD_CLIENTS; i++) {
        int st = t_http_raw_status(fds[i], 30);
        refused += st == 429;
        checked += st == 401;
    }
    CHECK(checked + refused == FLOOD_CLIENTS, "%d of %d logins answered 401 or 429",
          checked + refused, FLOOD_CLIENTS);
    CHECK(worst < 500, "an API enqueue took %lld ms during the login flood", (long long)worst);
    CHECK(refused > 0 && checked <= FLOOD_CLIENTS / 4, "%d of %d logins were checked, %d refused",
          checked, FLOOD_CLIENTS, refused);
    CHECK(tprod_metric(t, "jobfleet_dashboard_logins_total{outcome=\"busy\"}") == refused &&
              tprod_metric(t, "jobfleet_dashboard_logins_total{outcome=\"wrong\"}") == checked,
          "jobfleet_dashboard_logins_total does not count %d busy and %d wrong", refused, checked);
    struct dclient c;
    long st = 0;
    WAIT_UNTIL((st = dlogin(t, "admin", "adminpw", &c)) == 303, 10000,
               "the right password after the flood: %ld", st);
    CHECK(tprod_metric(t, "jobfleet_dashboard_logins_total{outcome=\"ok\"}") == 1,
          "jobfleet_dashboard_logins_total{outcome=\"ok\"} is not 1");
}

/* Behind a trusted proxy ([producer] trusted_proxies = 127.0.0.1 here), the lockout counts
 * each client by the address the proxy's X-Forwarded-For hop names, not by the proxy's: three
 * failures lock that client out, not every client of the proxy; a hop the client wrote itself,
 * before the proxy's, is not believed; and the log names the client. */
static void
test_login_behind_proxy(struct tenv *t)
{
    pid_t p = tprod_start(t);
    const char *far = "6.6.6.6, 203.0.113.5";
    CHECK(dlogin_xff(t, "nobody1", "x", far) == 401 && dlogin_xff(t, "nobody2", "x", far) == 401 &&
              dlogin_xff(t, "nobody3", "x", far) == 401,
          "three failures from 203.0.113.5");
    CHECK(dlogin_xff(t, "admin", "adminpw", "203.0.113.5") == 429, "203.0.113.5 is locked out");
    CHECK(dlogin_xff(t, "admin", "adminpw", "6.6.6.6") == 303,
          "6.6.6.6, written by the client before the proxy's hop, was not what got locked");
    CHECK(dlogin_xff(t, "admin", "adminpw", "203.0.113.6") == 303,
          "another client of the same proxy is not locked out");
    CHECK(dlogin_xff(t, "admin", "wrong", "203.0.113.7") == 401, "a wrong password");
    char *log = t_log(t, p);
    CHECK(log && strstr(log, "failed login for an unknown user (7 bytes) from 203.0.113.5") &&
              strstr(log, "failed login for \"admin\" from 203.0.113.7"),
          "the log names the client: %s", log ? log : "(none)");
    /* What was typed as an unknown user may be a password or the API token in the wrong
     * field (the secrets review found both in the log). */
    CHECK(!strstr(log, "nobody1"), "the log keeps what was typed as the user: %s", log);
    free(log);
    /* nginx's proxy_pass sends its upstream's name as the Host and the browser's host in
     * X-Forwarded-Host (Apache without ProxyPreserveHost does the same): the origin check
     * reads the latter from a trusted proxy, and a login works. */
    CHECK(dlogin_proxied(t, "jobfleet_producer", "https://hooks.example.com:8443",
                         "hooks.example.com:8443") == 303,
          "a login through the proxy");
    CHECK(dlogin_proxied(t, "jobfleet_producer", "https://evil.example", "hooks.example.com") ==
              403,
          "another origin is still refused");
    CHECK(dlogin_proxied(t, "jobfleet_producer", "https://hooks.example.com", NULL) == 403,
          "without X-Forwarded-Host the Host decides");
}

/* X-Forwarded-Host is believed from trusted proxies only. */
static void
test_forwarded_host_untrusted(struct tenv *t)
{
    tprod_start(t);
    CHECK(dlogin_proxied(t, "jobfleet_producer", "https://hooks.example.com",
                         "hooks.example.com") == 403,
          "X-Forwarded-Host from a client that is not a trusted proxy is not read");
}

/* One user holds at most 16 sessions: its 17th login ends its own oldest, never another
 * user's (1,024 logins of a read-only user evicted every admin's session). */
static void
test_sessions_per_user(struct tenv *t)
{
    tprod_start(t);
    struct dclient admin, first, c;
    CHECK(dlogin(t, "admin", "adminpw", &admin) == 303, "admin logs in");
    WAIT_UNTIL(dlogin(t, "viewer", "viewpw", &first) == 303, 10000, "viewer's first login");
    for (int i = 1; i < 17; i++)
        WAIT_UNTIL(dlogin(t, "viewer", "viewpw", &c) == 303, 10000, "viewer login %d", i + 1);
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &first, NULL) == 401,
          "the viewer's oldest session ended at its 17th login");
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &c, NULL) == 200, "its newest works");
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &admin, NULL) == 200,
          "the admin's session was not touched");
}

/* A session ends session_ttl_s after its login: the cookie says so (Max-Age), and the server
 * refuses it afterwards even from a client that keeps sending it. */
static void
test_session_expires(struct tenv *t)
{
    dlogin_ttl_s = 2;
    tprod_start(t);
    struct dclient c;
    int64_t t0 = now_mono_ms();
    CHECK(dlogin(t, "admin", "adminpw", &c) == 303, "login");
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &c, NULL) == 200, "fresh session works");
    WAIT_UNTIL(dstatus(t, "GET", "/", NULL, &c, NULL) == 303, 10000,
               "the session outlived its 2 s");
    int64_t took = now_mono_ms() - t0;
    CHECK(took >= 1900, "the session ended after %lld ms, before its 2 s", (long long)took);
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &c, NULL) == 401, "JSON: 401 after expiry");
    char body[128];
    snprintf(body, sizeof(body), "csrf=%s", c.csrf);
    struct t_http_resp r;
    char where[128] = "";
    long st = dreq(t, "POST", "/queues/default/pause", body, &c, NULL, &r);
    t_http_header(&r, "location", where, sizeof(where));
    t_http_release(&r);
    CHECK(st == 303 && strncmp(where, "/login", 6) == 0, "an expired session's POST: %ld to %s", st,
          where);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM queue_settings WHERE is_paused = 1", DB_NOP) == 0,
          "nothing paused by an expired session");
    /* A new login gets a new session. */
    CHECK(dlogin(t, "admin", "adminpw", &c) == 303, "login again");
    CHECK(dstatus(t, "GET", "/jobs?format=json", NULL, &c, NULL) == 200, "the new session works");
}

/* A user who logged in from an address keeps a way in from there. Failures with that user's
 * name from elsewhere lock the name out for every other address, not for that one; during a
 * flood of logins from 64 other addresses, its right password is checked, not refused as busy;
 * and its own address's failures still lock it out. */
static void
test_login_known(struct tenv *t)
{
    tprod_start(t);
    int port = atoi(strrchr(tprod_url(t, ""), ':') + 1);
    struct dclient c;
    CHECK(dlogin(t, "admin", "adminpw", &c) == 303, "admin logs in from 127.0.0.1");
    for (int i = 0; i < 3; i++)
        CHECK(login_status(t, 5, "admin", "guess") == 401, "failure %d from 127.0.0.5", i);
    CHECK(login_status(t, 6, "admin", "adminpw") == 429 &&
              tprod_metric(t, "jobfleet_dashboard_logins_total{outcome=\"locked\"}") == 1,
          "the name is locked out for a new address");
    CHECK(dlogin(t, "admin", "adminpw", &c) == 303, "not for the address admin logged in from");

    int fds[FLOOD_CLIENTS];
    for (int i = 0; i < FLOOD_CLIENTS; i++)
        fds[i] = flood_login(t, 10 + i, port);
    long st = dlogin(t, "admin", "adminpw", &c);
    int busy = 0;
    for (int i = 0; i < FLOOD_CLIENTS; i++) {
        busy += t_http_raw_status(fds[i], 30) == 429;
        close(fds[i]);
    }
    CHECK(st == 303, "admin's login during the flood: %ld (%d of the flood refused)", st, busy);
    CHECK(busy > FLOOD_CLIENTS / 2, "the flood was refused: %d of %d", busy, FLOOD_CLIENTS);

    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(dlogin(t, "admin", "wrong", &c) == 401, 10000, "failure %d from 127.0.0.1", i);
    CHECK(dlogin(t, "admin", "adminpw", &c) == 429, "its own failures still lock it out");
}

int
main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"e2e_dashboard_login", test_login, NULL},
        {"e2e_dashboard_login_flood", test_login_flood, TDASH_USERS},
        {"e2e_dashboard_user_named_api_token", test_user_named_api_token, NULL},
        {"e2e_dashboard_login_behind_proxy", test_login_behind_proxy,
         TDASH_USERS "[producer]\ntrusted_proxies = 10.0.0.0/8, 127.0.0.1\n"},
        {"e2e_dashboard_forwarded_host_untrusted", test_forwarded_host_untrusted, TDASH_USERS},
        {"e2e_dashboard_sessions_per_user", test_sessions_per_user, TDASH_USERS},
        {"e2e_dashboard_session_expires", test_session_expires, TDASH_USERS "session_ttl_s = 2\n"},
        {"e2e_dashboard_login_known", test_login_known, TDASH_USERS},
    };
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
