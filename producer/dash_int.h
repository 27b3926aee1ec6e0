/* The dashboard's parts as they see each other: authentication (dash_auth.c), the background
 * cache (dash_cache.c), HTML and form helpers (dash_html.c), the compiled-in assets
 * (dash_assets.c), the pages (dash_pages.c, dash_jobs.c, dash_fleet.c, dash_changes.c) and the
 * changes (dash_actions.c). */
#ifndef JOBFLEET_DASH_INT_H
#define JOBFLEET_DASH_INT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bgthread.h"
#include "dash.h"
#include "db.h"
#include "util.h"

/* ---- Authentication (dash_auth.c) ---- */

#define DASH_SESSIONS 1024
/* Live sessions one user may hold: past it, a login ends that user's oldest, not anyone
 * else's (1,024 logins of one read-only user would otherwise log every admin out). */
#define DASH_USER_SESSIONS 16
#define DASH_FAILS 1024
#define DASH_NAME_MAX 64
/* Password checks for the whole producer, whoever asks: each is a crypt(3) of the hash's cost
 * (yescrypt's default: some 60 ms of CPU) on an HTTP thread, so logins from many addresses,
 * none locked out, could otherwise take the threads and CPU that webhooks and the API need.
 * One at a time, at most this many a second after a burst of DASH_CHECKS_BURST (an operator
 * who mistypes a few times); beyond that a login is answered 429 unchecked. */
#define DASH_CHECKS_PER_S 4
#define DASH_CHECKS_BURST 8
/* A login of a user from an address where that user logged in before (within DASH_KNOWN_DAYS,
 * remembered for the last DASH_KNOWN such pairs, at most DASH_KNOWN_PER_USER of one user) may
 * also use a budget of that pair's own (DASH_KNOWN_PER_S after a burst of DASH_KNOWN_BURST, one
 * check at a time beside the other), and is not refused by its user name's lockout, only by its
 * address's: a flood of logins from elsewhere, or an attacker failing with the operator's name,
 * does not lock the operator out of the address they work from. Per pair and per user, so that
 * one user's own logins (a read-only credential in an attacker's hands) can neither spend the
 * operator's budget nor push the operator's address out of the table. */
#define DASH_KNOWN 256
#define DASH_KNOWN_PER_USER 8
#define DASH_KNOWN_DAYS 30
#define DASH_KNOWN_PER_S 0.5
#define DASH_KNOWN_BURST 3

struct dash_user {
    char *name;
    bool admin; /* role admin; false: role read (sees everything, changes nothing) */
    char *hash; /* crypt(3) hash: yescrypt ($y$) or bcrypt ($2b$) */
};

/* A logged-in browser: the cookie's id, the form token of its POSTs, who and until when. */
struct dash_session {
    char id[65];
    char csrf[65];
    char user[DASH_NAME_MAX + 1];
    bool admin;
    int64_t expires_ms; /* wall clock */
};

/* A budget of password checks: a token bucket, and whether a check of it runs now. */
struct dash_bucket {
    double tokens;
    int64_t refill_ms; /* monotonic */
    bool busy;
};

/* A user who logged in from an address: "name\naddress", when last (wall clock; 0: free), and
 * the pair's own budget of checks. */
struct dash_known {
    char key[DASH_NAME_MAX + 72];
    int64_t last_ms;
    struct dash_bucket checks;
};

struct dash_fail {
    char key[DASH_NAME_MAX + 16]; /* "ip:<addr>" or "user:<name>" */
    int count;
    int64_t first_ms;
};

struct dash_auth {
    const struct cfg *cfg;
    struct dash_user *users;
    int n_users;
    char dummy_hash[160];
    pthread_mutex_t mu;
    /* The password checks' budget (each known pair has its own too). */
    struct dash_bucket checks;
    struct dash_known known[DASH_KNOWN];
    struct dash_session sessions[DASH_SESSIONS];
    struct dash_fail fails[DASH_FAILS];
    /* Signs the ?done= message of the dashboard's own redirects (a fresh key per process). */
    char flash_key[65];
};

/* Parses [dashboard] users into *out (n entries; the caller frees with dash_users_free).
 * -1 with the entry and the problem in err. */
int dash_users_parse(const char *spec, struct dash_user **out, int *n, char *err, size_t errlen);
void dash_users_free(struct dash_user *u, int n);
int dash_auth_init(struct dash_auth *a, const struct cfg *c, char *err, size_t errlen);
void dash_auth_release(struct dash_auth *a);
/* The signature of a ?done= message msg into out (32 hex digits and a NUL): a page shows the
 * message only with it, so a link from elsewhere cannot put its own text in the success
 * banner. */
void dash_auth_flash_sig(const struct dash_auth *a, const char *msg, char out[33]);

enum dash_login { DASH_LOGIN_OK, DASH_LOGIN_BAD, DASH_LOGIN_LOCKED, DASH_LOGIN_BUSY };
/* Checks a login from address ip: a configured user's password, or the API token as the
 * password (user "api-token", admin). On success opens a session copied into *out. Refuses
 * without checking while ip or user has login_max_failures failures within login_lockout_s
 * (DASH_LOGIN_LOCKED), or while another check runs or the producer's budget of checks
 * (DASH_CHECKS_PER_S, after a burst of DASH_CHECKS_BURST) is spent (DASH_LOGIN_BUSY); *retry_s
 * says how long to wait. */
enum dash_login dash_auth_login(struct dash_auth *a, const char *ip, const char *user,
                                const char *pass, struct dash_session *out, int64_t *retry_s);
/* The live session of a cookie id, copied into *out; false when there is none. */
bool dash_auth_lookup(struct dash_auth *a, const char *id, struct dash_session *out);
/* Ends a session; unknown ids are ignored. */
void dash_auth_logout(struct dash_auth *a, const char *id);
/* True when token is the configured API token (constant time). */
bool dash_auth_token(struct dash_auth *a, const char *token);

/* ---- The background cache (dash_cache.c) ---- */

#define DASH_SERIES 3                 /* succeeded, failed, webhooks per minute */
#define DASH_CACHE_READ_TIMEOUT_S 600 /* the cache connection's read timeout, at least */

struct dash_cache {
    struct bgthread t;
    const struct cfg *cfg;
    struct db *db;
    cJSON *snap; /* guarded by t's lock */
    /* The cache thread's own: the per-minute series, the minute of their first element, and
     * when the whole 24 h was last read (monotonic ms). */
    double *pm[DASH_SERIES];
    int64_t pm_start;
    int64_t pm_full_ms;
    /* The finished states' counts as last read whole, when (monotonic ms; 0: never), and
     * MariaDB's clock just before that read: between reads, what finished since is added. */
    int64_t finished[3];
    int64_t finished_ms;
    char finished_since[32];
};

int dash_cache_start(struct dash_cache *c, const struct cfg *cfg);
void dash_cache_stop(struct dash_cache *c);
/* A copy of the newest snapshot; the caller deletes it. */
cJSON *dash_cache_get(struct dash_cache *c);

/* ---- The dashboard ---- */

struct dash {
    struct producer *p;
    struct dash_auth auth;
    struct dash_cache cache;
};

/* Who is asking, for the page and the audit. */
struct dash_who {
    char user[DASH_NAME_MAX + 1];
    bool admin;
    bool bearer;   /* the API token in Authorization: no cookie, no CSRF exposure */
    char csrf[65]; /* the session's form token ("" for bearer) */
};

/* ---- HTML (dash_html.c) ---- */

/* Appends s with the HTML metacharacters escaped. */
void html_esc(struct buf *b, const char *s);
/* Appends s percent-encoded for a URL's query or path segment. */
void html_url(struct buf *b, const char *s);
/* The page's head, header and navigation; `nav` names the active item. */
void html_begin(struct buf *b, const struct dash_who *w, const char *title, const char *nav);
void html_end(struct buf *b);
/* A POST form's opening tag and its CSRF field. */
void html_form(struct buf *b, const struct dash_who *w, const char *action, const char *cls);
/* The success banner of r's ?done= message, when its ?ds= signature is the dashboard's own
 * (dash_auth_flash_sig); nothing otherwise. */
void html_flash(struct buf *b, struct http_req *r);
/* The same for a change worth a second thought: the page's script asks question (escaped here)
 * before the form is sent. */
void html_form_confirm(struct buf *b, const struct dash_who *w, const char *action, const char *cls,
                       const char *question);
/* One row of a table: appends the row's <tr>...</tr>. */
typedef void html_row_fn(struct buf *b, const struct dash_who *w, const cJSON *row);
/* A table with the given id and header cells (<th>...</th> markup), a row per element of
 * rows, and then a link to the same data as JSON at json_path. */
void html_table(struct buf *b, const struct dash_who *w, const char *id, const char *head,
                const cJSON *rows, html_row_fn *row, const char *json_path);
/* A JSON value as text: strings as they are, numbers without exponent, null as "". */
const char *html_val(const cJSON *o, const char *name, char *tmp, size_t len);
/* "3 s", "4 min", "2 h 5 min" for a duration in ms. */
void html_age(struct buf *b, int64_t ms);
/* Percent-decodes n bytes of a form field at s ('+' is a space) into out, NUL-terminated;
 * returns the decoded length (a %00 decodes to a NUL byte inside it), or (size_t)-1 when it
 * needs more than len bytes. Decoding never lengthens: n + 1 bytes always suffice. */
size_t form_decode(const char *s, size_t n, char *out, size_t len);
/* The value of field name in an application/x-www-form-urlencoded body, decoded, into out;
 * false when absent or longer than len - 1. */
bool form_get(const char *body, const char *name, char *out, size_t len);

/* Replies a page (HTML) with the dashboard's security headers; status 200 unless given. */
void dash_reply_html(struct http_req *r, int status, struct buf *b);
/* Replies j as JSON. */
void dash_reply_json(struct http_req *r, int status, const cJSON *j);
/* Replies 303 to location, with an optional Set-Cookie. */
void dash_redirect(struct http_req *r, const char *location, const char *cookie);
/* An error page (or JSON when the request asked for JSON). */
void dash_error(struct http_req *r, const struct dash_who *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Renders a page's data (the same object its JSON gives) as HTML inside the page frame. */
typedef void dash_render_fn(struct buf *b, const struct dash_who *w, const cJSON *data);
/* Replies data as JSON when the request asked for it, else as the page title (under the
 * navigation item nav): the frame, the "done" message of a change just made, and render's
 * HTML. data stays the caller's. */
void dash_show(struct http_req *r, const struct dash_who *w, const cJSON *data, const char *title,
               const char *nav, dash_render_fn *render);
/* True when the request asked for JSON (?format=json). */
bool dash_wants_json(struct http_req *r);

/* ---- Assets (dash_assets.c) ---- */

/* The stylesheet and the script served at /assets/app.css and /assets/app.js. */
extern const char dash_css[];
extern const char dash_js[];

/* ---- Pages ---- */

struct dash *dash_of(struct http_req *r);
/* Longest decoded path segment plus its NUL: a cron job's name is 191 characters of up to 4
 * bytes of UTF-8. */
#define DASH_SEG_MAX (191 * 4 + 1)
/* The request's path split into at most max percent-decoded segments; the count, or -1 when
 * there are more, one is too long or holds a NUL. */
int dash_path(struct http_req *r, char segs[][DASH_SEG_MAX], int max);
/* The statement time bound of a request's queries, as job_query_timeout_prefix makes it. */
void dash_timeout_prefix(struct http_req *r, char *out, size_t len);

struct job_query;
struct job_page;
/* Checks the state and origin filters of *q against the values the jobs table holds, since
 * another would match nothing and say nothing. -1 with the field and its values in err. */
int dash_jobs_check(const struct job_query *q, char *err, size_t errlen);
/* Reads the Jobs filters of the query string into *q (strings borrowed from the request), the
 * text filter kept to failure reasons unless admin. -1 with the field and problem in err. */
int dash_jobs_filter(struct http_req *r, bool admin, struct job_query *q, char *err, size_t errlen);
/* Runs the listing of the request's filters into *page (the caller releases it). Returns 0, or
 * the HTTP status of the error page it replied. */
int dash_jobs_run(struct http_req *r, const struct dash_who *w, struct job_query *q,
                  struct job_page *page);
/* The "Changes" section: an audit_list array as a table. */
void dash_audit_html(struct buf *b, const cJSON *audit);

void dash_overview(struct http_req *r, const struct dash_who *w);
void dash_jobs(struct http_req *r, const struct dash_who *w);
void dash_job(struct http_req *r, const struct dash_who *w, int64_t id);
void dash_queues(struct http_req *r, const struct dash_who *w);
void dash_queue(struct http_req *r, const struct dash_who *w, const char *name);
void dash_cron(struct http_req *r, const struct dash_who *w);
void dash_cron_one(struct http_req *r, const struct dash_who *w, const char *name);
void dash_workers(struct http_req *r, const struct dash_who *w);
void dash_webhooks(struct http_req *r, const struct dash_who *w);
/* GET /changes (dash_changes.c): audit_log newest first, by who and kind of object. */
void dash_changes(struct http_req *r, const struct dash_who *w);

/* POST /jobs/{id}/retry|cancel, /jobs/bulk, /queues/{q}/pause|resume,
 * /cron/{name}/enable|disable|run (dash_actions.c): checked by the caller for role and CSRF. */
void dash_action(struct http_req *r, const struct dash_who *w);

/* Redacts (dash_redact.c), in place, the values of parameters whose keys look secret (token,
 * password, secret, authorization, api_key, ...) at any depth, and inside strings that hold a
 * webhook's raw body: one JSON document, a form, or else any text, where each key=value or
 * "key": value pair with such a key is redacted where it stands. True when it redacted
 * something. */
bool dash_redact(cJSON *params);

#endif
