/* Fake HTTP services (tests/fakes/) for end-to-end tests: started as child processes on a
 * free port, driven through their /_control API, stopped at the end (or at exit when a test
 * fails). */
#ifndef JOBFLEET_TFAKE_H
#define JOBFLEET_TFAKE_H

#include <cjson/cJSON.h>
#include <sys/types.h>

struct tenv;

struct tfake {
    pid_t pid;
    int port;
    char base_url[64]; /* "http://127.0.0.1:<port>" */
};

/* Starts tests/fakes/<script> (e.g. "fakehttp.py") with python3 ($JOBFLEET_TEST_PYTHON
 * overrides) and the extra arguments (NULL-terminated, may be NULL); its stderr goes to
 * <test dir>/<script>.log. Waits up to 30 s (a loaded machine starts Python slowly) for the port it
 * prints; fails the test otherwise. */
void tfake_start(struct tenv *t, struct tfake *f, const char *script, const char *const *args);
/* Stops the fake (SIGTERM, then SIGKILL after 2 s) and reaps it; accepts a stopped one. */
void tfake_stop(struct tfake *f);

/* POSTs a JSON document to /_control/<what> ("faults", "limit", "reset"); fails the test
 * unless the fake answers 200. */
void tfake_control(struct tfake *f, const char *what, const char *json);
/* The fake's request log (GET /_control/log) parsed; the caller deletes it. */
cJSON *tfake_log(struct tfake *f);
/* The arrival times (monotonic ms, the clock of now_mono_ms) of the logged requests whose
 * path starts with prefix (NULL: all), in arrival order; returns the count and an allocated
 * array in *out (the caller frees it). */
int tfake_arrivals(struct tfake *f, const char *prefix, double **out);
/* The most arrivals in any window of window_ms (closed at both ends) among sorted times. */
int tfake_max_in_window(const double *t, int n, double window_ms);

#endif
