/* Unit tests of common/rq.c against a fake Redis on a loopback socket:
 * - rq_version_check, which the scheduler runs after it connects: a server older than 6.2 (no
 *   ZMSCORE, which reconcile needs) is refused with a message naming its version;
 * - a server that answers READONLY (a master demoted by hand, without Sentinel) is left: the
 *   next command connects anew, where a moved address or DNS name leads to the new master. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "rq.h"

struct fake {
    int fd;
    int port;
    const char *version;
    bool readonly;          /* answer every command but INFO with READONLY */
    atomic_int connections; /* accepted so far */
    int max_connections;
    pthread_t th;
};

static ssize_t
fake_reply(const struct fake *f, const char *cmd, char *reply, size_t len)
{
    char info[256];
    if (strstr(cmd, "INFO")) {
        int n = snprintf(info, sizeof(info), "# Server\r\nredis_version:%s\r\n", f->version);
        return snprintf(reply, len, "$%d\r\n%s\r\n", n, info);
    }
    if (f->readonly)
        return snprintf(reply, len, "-READONLY You can't write against a read only replica.\r\n");
    return snprintf(reply, len, "+OK\r\n");
}

/* Answers max_connections connections in turn, each until it closes. */
static void *
fake_serve(void *arg)
{
    struct fake *f = arg;
    char buf[4096], reply[320];
    while (f->connections < f->max_connections) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            break;
        f->connections++;
        ssize_t n;
        while ((n = read(c, buf, sizeof(buf) - 1)) > 0) {
            buf[n] = '\0';
            n = fake_reply(f, buf, reply, sizeof(reply));
            if (write(c, reply, (size_t)n) != n)
                break;
        }
        close(c);
    }
    return NULL;
}

/* Starts the fake and returns a client of it, not yet connected. */
static struct rq *
fake_start(struct fake *f)
{
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->fd, 4), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(pthread_create(&f->th, NULL, fake_serve, f), 0);
    char host[] = "127.0.0.1", prefix[] = "t";
    struct cfg_redis c = {.host = host, .port = ntohs(a.sin_port), .prefix = prefix};
    return rq_new(&c);
}

static void
fake_stop(struct fake *f, struct rq *rq)
{
    rq_free(rq);
    if (f->connections < f->max_connections)
        shutdown(f->fd, SHUT_RDWR); /* ends the accept */
    pthread_join(f->th, NULL);
    close(f->fd);
}

static int
connect_to(const char *version, char *err, size_t errlen)
{
    struct fake f = {.version = version, .max_connections = 1};
    struct rq *rq = fake_start(&f);
    int rc = rq_connect(rq);
    if (rc == 0)
        rc = rq_version_check(rq);
    snprintf(err, errlen, "%s", rc < 0 ? rq_errstr(rq) : "");
    fake_stop(&f, rq);
    return rc;
}

static void
test_old_redis_refused(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(connect_to("6.0.16", err, sizeof(err)), -1);
    if (strstr(err, "is version 6.0: jobfleet needs 6.2 or later") == NULL)
        fail_msg("message: %s", err);
    assert_int_equal(connect_to("6.2.0", err, sizeof(err)), 0);
    assert_int_equal(connect_to("7.0.15", err, sizeof(err)), 0);
}

static void
test_readonly_connects_anew(void **state)
{
    (void)state;
    struct fake f = {.version = "7.0.15", .readonly = true, .max_connections = 3};
    struct rq *rq = fake_start(&f);
    int64_t id = 1;
    assert_int_equal(rq_connect(rq), 0);
    assert_int_equal(rq_push(rq, "q", &id, NULL, 1), -1);
    if (strstr(rq_errstr(rq), "READONLY") == NULL)
        fail_msg("error: %s", rq_errstr(rq));
    assert_int_equal(rq_push(rq, "q", &id, NULL, 1), -1);
    if (f.connections != 2)
        fail_msg("after a READONLY answer the next push used connection %d of the server, "
                 "want a new one (2)",
                 f.connections);
    assert_false(rq_connected(rq));
    fake_stop(&f, rq);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_old_redis_refused),
                                       cmocka_unit_test(test_readonly_connects_anew)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
