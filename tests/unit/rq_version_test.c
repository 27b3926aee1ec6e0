/* Unit tests for rq_version_check (common/rq.c), which the scheduler runs after it connects,
 * against a fake Redis on a loopback socket that answers INFO with the version the test gives:
 * a server older than 6.2 (no ZMSCORE, which reconcile needs) is refused with a message naming
 * its version. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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
};

/* Answers one connection: INFO with the version, anything else +OK, until it closes. */
static void *
fake_serve(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->fd, NULL, NULL);
    char buf[4096], info[256], reply[320];
    ssize_t n;
    while (c >= 0 && (n = read(c, buf, sizeof(buf) - 1)) > 0) {
        buf[n] = '\0';
        if (strstr(buf, "INFO")) {
            int len = snprintf(info, sizeof(info), "# Server\r\nredis_version:%s\r\n", f->version);
            n = snprintf(reply, sizeof(reply), "$%d\r\n%s\r\n", len, info);
        } else {
            n = snprintf(reply, sizeof(reply), "+OK\r\n");
        }
        if (write(c, reply, (size_t)n) != n)
            break;
    }
    if (c >= 0)
        close(c);
    return NULL;
}

static int
connect_to(const char *version, char *err, size_t errlen)
{
    struct fake f = {.version = version};
    f.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(f.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f.fd, 1), 0);
    assert_int_equal(getsockname(f.fd, (struct sockaddr *)&a, &alen), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fake_serve, &f), 0);
    char host[] = "127.0.0.1", prefix[] = "t";
    struct cfg_redis c = {.host = host, .port = ntohs(a.sin_port), .prefix = prefix};
    struct rq *rq = rq_new(&c);
    int rc = rq_connect(rq);
    if (rc == 0)
        rc = rq_version_check(rq);
    snprintf(err, errlen, "%s", rc < 0 ? rq_errstr(rq) : "");
    rq_free(rq);
    pthread_join(th, NULL);
    close(f.fd);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_old_redis_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
