/* End-to-end tests of `jobfleet passwd` at a terminal (producer/cli_passwd.c), through a
 * pseudo-terminal. */
#include "tsupport.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Runs `jobfleet passwd NAME` on a pseudo-terminal and types keys at its prompt. Returns
 * everything the terminal showed; *status gets the wait status, *echo whether the terminal
 * echoes once the command is gone. */
static char *
passwd_on_tty(const char *name, const char *keys, int *status, bool *echo)
{
    int master, slave;
    CHECK(openpty(&master, &slave, NULL, NULL, NULL) == 0, "openpty: %s", strerror(errno));
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        close(master);
        execl(t_bin("jobfleet"), "jobfleet", "passwd", name, (char *)NULL);
        _exit(127);
    }
    struct buf b;
    buf_init(&b, 0);
    bool typed = false, gone = false;
    char chunk[512];
    int64_t until = now_mono_ms() + 20000;
    while (!gone) {
        gone = waitpid(pid, status, WNOHANG) == pid;
        struct pollfd pf = {.fd = master, .events = POLLIN};
        ssize_t n;
        while (poll(&pf, 1, gone ? 0 : 50) > 0 && (n = read(master, chunk, sizeof(chunk))) > 0)
            buf_append(&b, chunk, (size_t)n);
        if (!typed && b.data && strstr(b.data, "password for")) {
            CHECK(write(master, keys, strlen(keys)) == (ssize_t)strlen(keys), "type");
            typed = true;
        }
        CHECK(now_mono_ms() < until, "jobfleet passwd on a terminal: %s", b.data ? b.data : "");
    }
    struct termios tio;
    CHECK(tcgetattr(slave, &tio) == 0, "tcgetattr");
    *echo = (tio.c_lflag & ECHO) != 0;
    close(slave);
    close(master);
    return b.data ? buf_detach(&b) : xstrdup("");
}

/* From a terminal, `jobfleet passwd` asks for the password and does not echo it: it stayed on
 * the screen, and in the scrollback (the secrets review). Ctrl-C at the prompt gives the
 * terminal its echo back (the final review: it stayed off). */
static void
test_passwd_no_echo(struct tenv *t)
{
    (void)t;
    int st;
    bool echo;
    char *screen = passwd_on_tty("ann", "Echo-Me-Not-77\n", &st, &echo);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "jobfleet passwd: %s", screen);
    CHECK(strstr(screen, "ann:admin:$y$"), "no user entry: %s", screen);
    CHECK(!strstr(screen, "Echo-Me-Not-77"), "the password was echoed: %s", screen);
    CHECK(echo, "the terminal does not echo after jobfleet passwd");
    free(screen);
    screen = passwd_on_tty("ann", "\x03", &st, &echo);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "Ctrl-C did not end it: %s", screen);
    CHECK(echo, "the terminal does not echo after Ctrl-C at the prompt");
    free(screen);
}

static const struct test_case cases[] = {
    {"e2e_passwd_no_echo", test_passwd_no_echo, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
