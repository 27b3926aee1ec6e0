/* Helpers for end-to-end tests of the dashboard: its test users, a logged-in client, and
 * requests made as that client to the test's producer (tproducer.h). */
#ifndef JOBFLEET_TDASH_H
#define JOBFLEET_TDASH_H

#include <cjson/cJSON.h>

#include "thttp.h"
#include "tsupport.h"

/* admin / adminpw (bcrypt) and viewer / viewpw (yescrypt), made by `jobfleet passwd`. */
#define TDASH_USERS                                                                                \
    "[dashboard]\nusers = "                                                                        \
    "admin:admin:$2b$10$szgSb4bb9xW3eUGmRlzoDewXFTFhlt94AAYq27vlAY.0NVaD0nJcC,"                    \
    " viewer:read:$y$j9T$5sy5PC.yglQAHXMynQvnG0$JsPXVcsGM7TmPpj5KwZDx2R/IdI31cNQnZmQmH0UKL9\n"     \
    "cache_refresh_ms = 200\nlogin_max_failures = 3\nlogin_lockout_s = 60\n"

/* A logged-in client: the session cookie and the form token. */
struct dclient {
    char cookie[128];
    char csrf[65];
};

/* Sends method to path with body (NULL: none) as c (NULL: no cookie), with the header extra
 * (NULL: an Origin naming the producer) and a form Content-Type; fails the test on a transport
 * error. Returns the status; *out holds the answer (t_http_release it). */
long dreq(struct tenv *t, const char *method, const char *path, const char *body,
          const struct dclient *c, const char *extra, struct t_http_resp *out);
/* The status of a request as dreq sends it; the body is dropped. */
long dstatus(struct tenv *t, const char *method, const char *path, const char *body,
             const struct dclient *c, const char *extra);
/* GET path as c; fails unless 200. The caller frees the body. */
char *dget(struct tenv *t, const char *path, const struct dclient *c);
/* GET path as c, parsed as JSON; fails unless 200 and JSON. The caller deletes it. */
cJSON *dget_json(struct tenv *t, const char *path, const struct dclient *c);
/* The Max-Age dlogin expects of the session cookie ([dashboard] session_ttl_s). */
extern int dlogin_ttl_s;
/* Logs in from 127.0.0.1; returns the status, and fills c (cookie and form token) on
 * success, checking the cookie's attributes. */
long dlogin(struct tenv *t, const char *user, const char *pass, struct dclient *c);

#endif
