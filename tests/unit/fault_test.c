/* Unit test of the test-only fault points (common/fault.c) that the fault suite's checker
 * reads: a point fired with JOBFLEET_FAULT_ACTION=stop is logged as a "stop", not as a kill.
 * Logged as a kill ("point"), the checker took every attempt of the frozen group to have ended
 * at the freeze, and could not see one running again after the SIGCONT beside its rerun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "util.h"

#ifdef JOBFLEET_FAULT_POINTS
/* Fires point in a child of its own process group with action; returns the line it logged. */
static char *
fire(const char *action, int *status)
{
    char log[] = "/tmp/fault_test-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        setenv("JOBFLEET_FAULT_POINT", "checkout.before@1", 1);
        setenv("JOBFLEET_FAULT_ACTION", action, 1);
        setenv("JOBFLEET_FAULT_LOG", log, 1);
        fault_point("checkout.before");
        _exit(0);
    }
    assert_int_equal(waitpid(pid, status, WUNTRACED), pid);
    if (WIFSTOPPED(*status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    FILE *fp = fopen(log, "r");
    char line[512] = "";
    assert_non_null(fp);
    if (fgets(line, sizeof(line), fp) == NULL)
        line[0] = '\0';
    fclose(fp);
    unlink(log);
    return xstrdup(line);
}

static void
test_stop_logged_as_stop(void **state)
{
    (void)state;
    int status = 0;
    char *line = fire("stop", &status);
    assert_true(WIFSTOPPED(status));
    if (strstr(line, "\"what\":\"stop\"") == NULL ||
        strstr(line, "\"point\":\"checkout.before\"") == NULL)
        fail_msg("a point that froze its group logged: %s", line);
    free(line);
    line = fire("kill", &status);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (strstr(line, "\"what\":\"point\"") == NULL)
        fail_msg("a point that killed its group logged: %s", line);
    free(line);
}
#else
/* Without the points compiled in, naming one fires nothing: production binaries carry none. */
static void
test_stop_logged_as_stop(void **state)
{
    (void)state;
    setenv("JOBFLEET_FAULT_POINT", "checkout.before@1", 1);
    setenv("JOBFLEET_FAULT_ACTION", "kill", 1);
    FAULT_POINT("checkout.before");
    unsetenv("JOBFLEET_FAULT_POINT");
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stop_logged_as_stop)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
