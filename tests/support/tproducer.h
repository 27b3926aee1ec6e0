/* Helpers for end-to-end tests of jobfleet-producer: start the real binary and wait until it
 * answers, and send it requests with or without the API token of the test config. */
#ifndef JOBFLEET_TPRODUCER_H
#define JOBFLEET_TPRODUCER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tsupport.h"

/* The Authorization header carrying the API token that test_main writes into each test config. */
#define TPROD_AUTH "Authorization: Bearer test-token-0123456789"

/* "http://127.0.0.1:<port><path>" for the producer of this test; static storage per thread. */
const char *tprod_url(struct tenv *t, const char *path);

/* Spawns jobfleet-producer with the test config and waits up to 10 s until GET /health gets an
 * HTTP answer, failing the test otherwise. Returns the pid (the test env owns the process). */
pid_t tprod_start(struct tenv *t);

/* Sends method to path with body (NULL for none) and the header auth: TPROD_AUTH when auth is
 * NULL, no header when it is "". Fails the test on a transport error. Returns the HTTP status;
 * when out is not NULL, *out is a copy of the body that the caller frees. */
long tprod_call(struct tenv *t, const char *method, const char *path, const char *body,
                const char *auth, char **out);

/* POSTs len bytes of body to path with the extra header lines hdrs (NULL-terminated, may be
 * NULL; no API token unless given). Fails the test on a transport error. Returns the HTTP
 * status; when out is not NULL, *out is a copy of the body that the caller frees. */
long tprod_post(struct tenv *t, const char *path, const char *body, size_t len,
                const char *const *hdrs, char **out);

/* tprod_call that also copies the Allow header into allow (allow_len bytes, "" when absent)
 * when allow is not NULL. */
long tprod_call_allow(struct tenv *t, const char *method, const char *path, const char *body,
                      const char *auth, char **out, char *allow, size_t allow_len);

/* Checks that method on path refuses a missing, wrong, non-bearer and too-long token each with
 * 401 and an "error" body; fails the test otherwise. */
void tprod_check_401(struct tenv *t, const char *method, const char *path, const char *body);

/* The value of the metric line "<name> <value>" on GET /metrics, -1 when there is no such line.
 * Fails the test when /metrics does not answer 200. */
int64_t tprod_metric(struct tenv *t, const char *name);

/* The value of the series line "<series> <value>" (series with its labels, as rendered) in a
 * scrape of url (any process's /metrics), -1 when absent. Fails the test unless it answers
 * 200. */
double t_metric(const char *url, const char *series);

/* Writes a version 1 spool entry of action under key into <t->dir>/spool/failed/<id>.json, as
 * the replay leaves one it can never store, its parameters pad bytes of 'x' (0: "{}"). */
void tprod_spool_failed(struct tenv *t, const char *id, const char *action, const char *key,
                        size_t pad);

#endif
