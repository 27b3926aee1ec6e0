/* End-to-end tests of [producer] max_connections_per_ip. On an IPv6 listener a client counts
 * by its prefix (ipv6_prefix_len, 64 by default), since one that holds a whole /64 could open
 * each connection from an address of its own. The producer listens on an address the test
 * gives lo, and the clients connect from addresses of their own /64s, added the same way.
 * Adding addresses needs CAP_NET_ADMIN: the suite runs as root, in CI too. The addresses are in
 * a prefix of this process's own, and are removed when it exits. On the IPv4 listener a client
 * counts by its address; every refusal of either kind shows in the metrics. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_IP 4 /* the tests' max_connections_per_ip */
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)
#define SUBNET_SERVER 0xf /* the producer's /64, which the tests' own requests come from */
#define SUBNET_CLIENT 1   /* the /64 of the PER_IP + 1 clients */
#define SUBNET_OTHER 2    /* one more client's /64 */
#define ANSWER_MS 10000   /* an answer or a close comes within this, under ASan on a busy machine */
#define ADDRS (PER_IP + 3) /* the producer's, the clients', the other one's */

static char added[ADDRS][INET6_ADDRSTRLEN];
static int n_added;
static pid_t added_by;

/* The /64 of subnet as inet_ntop writes it: in 2001:db8::/32 (documentation addresses, and
 * global ones: a local prefix counts per address), with 24 bits of this process's pid, so that
 * tests running at once on this machine never share an address. */
static void
v6_net(int subnet, char *out, size_t len)
{
    unsigned pid = (unsigned)getpid();
    snprintf(out, len, "2001:db8:%x:%x::", pid & 0xffff,
             ((pid >> 16) & 0xff) << 8 | (unsigned)subnet);
}

/* Runs `ip -6 addr add|del <addr>/128 dev lo`; returns whether it succeeded. */
static bool
ip_addr(const char *verb, const char *addr)
{
    char cidr[INET6_ADDRSTRLEN + 8];
    snprintf(cidr, sizeof(cidr), "%s/128", addr);
    pid_t pid = fork();
    if (pid == 0) {
        /* nodad: usable at once, without waiting for duplicate address detection. */
        if (strcmp(verb, "add") == 0)
            execlp("ip", "ip", "-6", "addr", "add", cidr, "dev", "lo", "nodad", (char *)NULL);
        else
            execlp("ip", "ip", "-6", "addr", "del", cidr, "dev", "lo", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* At exit, a failed check's too; only in the process that added them (not in a child that
 * exits after a fork). */
static void
addrs_remove(void)
{
    if (getpid() != added_by)
        return;
    while (n_added > 0)
        ip_addr("del", added[--n_added]);
}

/* Adds <subnet>::<host> to lo and writes it into out (INET6_ADDRSTRLEN bytes). */
static void
addr_add(int subnet, int host, char *out)
{
    if (added_by == 0) {
        added_by = getpid();
        atexit(addrs_remove);
    }
    char net[32];
    v6_net(subnet, net, sizeof(net));
    snprintf(out, INET6_ADDRSTRLEN, "%s%x", net, (unsigned)host);
    CHECK(n_added < ADDRS, "more than %d addresses", ADDRS);
    CHECK(ip_addr("add", out), "ip -6 addr add %s/128 dev lo (needs CAP_NET_ADMIN: run as root)",
          out);
    snprintf(added[n_added++], INET6_ADDRSTRLEN, "%s", out);
}

/* Gives lo the producer's address and has the producer listen there, on a free port, with
 * the test's own requests (tprod_*) sent there too. Returns the port. */
static int
listen_v6(struct tenv *t, char server[INET6_ADDRSTRLEN])
{
    addr_add(SUBNET_SERVER, 1, server);
    int port = t_free_port();
    char *listen = xasprintf("[%s]:%d", server, port);
    setenv("JOBFLEET_PRODUCER_LISTEN", listen, 1);
    free(t->cfg.producer.listen);
    t->cfg.producer.listen = listen;
    return port;
}

/* A connection to the producer at server:port from the address from. */
static int
connect_from(const char *from, const char *server, int port)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    CHECK(inet_pton(AF_INET6, from, &a.sin6_addr) == 1, "address %s", from);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", from, strerror(errno));
    CHECK(inet_pton(AF_INET6, server, &a.sin6_addr) == 1, "address %s", server);
    a.sin6_port = htons((uint16_t)port);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect from %s: %s", from,
          strerror(errno));
    return fd;
}

/* Sends GET /health on fd, which stays open, and returns its answer's status code: 0 when the
 * producer closed fd without one, -1 when neither came within ANSWER_MS. */
static int
ask_health(int fd)
{
    const char get[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    /* A refused connection is closed at once: the send may fail, the answer tells. */
    send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL);
    char b[64];
    size_t n = 0;
    int64_t deadline = now_mono_ms() + ANSWER_MS;
    while (n < 12) { /* "HTTP/1.1 200" */
        int64_t left = deadline - now_mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t r = recv(fd, b + n, sizeof(b) - 1 - n, 0);
        if (r <= 0)
            return 0;
        n += (size_t)r;
    }
    b[n] = '\0';
    int code = 0;
    return sscanf(b, "HTTP/1.%*c %d", &code) == 1 ? code : 0;
}

/* Whether a new connection from from is served. */
static bool
served_from(const char *from, const char *server, int port)
{
    int fd = connect_from(from, server, port);
    int code = ask_health(fd);
    close(fd);
    return code > 0;
}

/* PER_IP connections from PER_IP addresses of one /64, each open and answered: one more from
 * a fifth address of that /64 is closed unanswered, one from another /64 is served, and the
 * refusal is counted and logged. Once one of the PER_IP closes, the /64 is served again. */
static void
test_group(struct tenv *t)
{
    char server[INET6_ADDRSTRLEN], from[PER_IP + 1][INET6_ADDRSTRLEN], other[INET6_ADDRSTRLEN];
    int port = listen_v6(t, server);
    for (int i = 0; i <= PER_IP; i++)
        addr_add(SUBNET_CLIENT, 2 + i, from[i]);
    addr_add(SUBNET_OTHER, 2, other);
    pid_t p = tprod_start(t);
    int fds[PER_IP];
    /* Each one answered before the next is opened: the producer has counted it. */
    for (int i = 0; i < PER_IP; i++) {
        fds[i] = connect_from(from[i], server, port);
        int code = ask_health(fds[i]);
        CHECK(code > 0, "connection %d, from %s: %s", i + 1, from[i],
              code == 0 ? "closed unanswered" : "no answer");
    }
    int fd = connect_from(from[PER_IP], server, port);
    int code = ask_health(fd);
    close(fd);
    CHECK(code == 0, "connection %d, from %s, in the /64 of %d open ones: %s (%d)", PER_IP + 1,
          from[PER_IP], PER_IP, code > 0 ? "served" : "neither served nor closed", code);
    CHECK(served_from(other, server, port), "a connection from another /64 (%s)", other);
    int64_t refused =
        tprod_metric(t, "jobfleet_producer_connections_refused_total{reason=\"ipv6_prefix\"}");
    CHECK(refused == 1, "jobfleet_producer_connections_refused_total: %lld", (long long)refused);
    char line[128], net[32];
    v6_net(SUBNET_CLIENT, net, sizeof(net));
    snprintf(line, sizeof(line), "refused a connection from %s/64", net);
    CHECK(t_log_has(t, p, line), "no \"%s\" in the log", line);
    /* The producer sees the close when it next polls the connection: wait for it. */
    close(fds[0]);
    WAIT_UNTIL(served_from(from[PER_IP], server, port), ANSWER_MS,
               "%s still refused after one of the %d closed", from[PER_IP], PER_IP);
    for (int i = 1; i < PER_IP; i++)
        close(fds[i]);
    addrs_remove();
}

/* ipv6_prefix_len = 128: every address counts alone again, so PER_IP + 1 connections from one
 * /64 are all served; PER_IP + 1 from one address are not, and that refusal counts per
 * address. */
static void
test_full_address(struct tenv *t)
{
    char server[INET6_ADDRSTRLEN], from[PER_IP + 1][INET6_ADDRSTRLEN];
    int port = listen_v6(t, server);
    for (int i = 0; i <= PER_IP; i++)
        addr_add(SUBNET_CLIENT, 2 + i, from[i]);
    tprod_start(t);
    int fds[2 * PER_IP];
    for (int i = 0; i < 2 * PER_IP; i++) {
        /* One from each address, then PER_IP - 1 more from the first. */
        const char *a = from[i <= PER_IP ? i : 0];
        fds[i] = connect_from(a, server, port);
        int code = ask_health(fds[i]);
        CHECK(code > 0, "connection %d, from %s: %s", i + 1, a,
              code == 0 ? "closed unanswered" : "no answer");
    }
    int fd = connect_from(from[0], server, port);
    int code = ask_health(fd);
    close(fd);
    CHECK(code == 0, "connection %d from %s, which holds %d: %s (%d)", PER_IP + 1, from[0], PER_IP,
          code > 0 ? "served" : "neither served nor closed", code);
    int64_t by_address =
        tprod_metric(t, "jobfleet_producer_connections_refused_total{reason=\"per_ip\"}");
    CHECK(by_address == 1, "refused per address: %lld", (long long)by_address);
    for (int i = 0; i < 2 * PER_IP; i++)
        close(fds[i]);
    addrs_remove();
}

/* A connection from 127.0.0.<host> to the producer's IPv4 listener. */
static int
connect_from_v4(struct tenv *t, int host)
{
    char ip[64];
    int port = 0;
    CHECK(sscanf(t->cfg.producer.listen, "%63[^:]:%d", ip, &port) == 2, "listen %s",
          t->cfg.producer.listen);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)host);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind 127.0.0.%d: %s", host,
          strerror(errno));
    CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1, "address %s", ip);
    a.sin_port = htons((uint16_t)port);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect from 127.0.0.%d: %s", host,
          strerror(errno));
    return fd;
}

/* An IPv4 client counts by its address: PER_IP connections from 127.0.0.2 are served, one
 * more is closed unanswered, and the refusal is counted and logged (libmicrohttpd refused it
 * before, and nothing showed it); 127.0.0.3 is served meanwhile. The test's own requests come
 * from 127.0.0.1. */
static void
test_ipv4(struct tenv *t)
{
    pid_t p = tprod_start(t);
    int fds[PER_IP];
    for (int i = 0; i < PER_IP; i++) {
        fds[i] = connect_from_v4(t, 2);
        int code = ask_health(fds[i]);
        CHECK(code > 0, "connection %d from 127.0.0.2: %s", i + 1,
              code == 0 ? "closed unanswered" : "no answer");
    }
    int fd = connect_from_v4(t, 2);
    int code = ask_health(fd);
    close(fd);
    CHECK(code == 0, "connection %d from 127.0.0.2, which holds %d: %s (%d)", PER_IP + 1, PER_IP,
          code > 0 ? "served" : "neither served nor closed", code);
    fd = connect_from_v4(t, 3);
    CHECK(ask_health(fd) > 0, "a connection from 127.0.0.3");
    close(fd);
    int64_t by_address =
        tprod_metric(t, "jobfleet_producer_connections_refused_total{reason=\"per_ip\"}");
    int64_t by_prefix =
        tprod_metric(t, "jobfleet_producer_connections_refused_total{reason=\"ipv6_prefix\"}");
    CHECK(by_address == 1 && by_prefix == 0, "refused per address: %lld, per IPv6 prefix: %lld",
          (long long)by_address, (long long)by_prefix);
    const char line[] = "refused a connection from 127.0.0.2: that address already holds " TEXT(
        PER_IP) " connections";
    CHECK(t_log_has(t, p, line), "no \"%s\" in the log", line);
    for (int i = 0; i < PER_IP; i++)
        close(fds[i]);
}

/* The held connections stay open, idle between requests, for the whole test. */
#define CONF_TIMEOUTS "[producer]\nheader_timeout_s = 120\nrequest_timeout_s = 180\n"
#define CONF CONF_TIMEOUTS "max_connections_per_ip = " TEXT(PER_IP) "\n"

static const struct test_case cases[] = {
    {"e2e_prefix_limit_group", test_group, CONF},
    {"e2e_prefix_limit_full_address", test_full_address, CONF "ipv6_prefix_len = 128\n"},
    {"e2e_prefix_limit_ipv4", test_ipv4, CONF},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
