/* An HTTP client for end-to-end tests, over common/httpc: one call per request, the status, body
 * and response headers captured. Tests talk to the producer through it. */
#ifndef JOBFLEET_THTTP_H
#define JOBFLEET_THTTP_H

#include <stddef.h>

struct t_http_resp {
    long status; /* 0 when the request failed at the transport level */
    char *body;
    char *headers; /* raw response header block, lower-cased names */
    char err[256]; /* transport error, when status is 0 */
};

/* The whole-request timeout of t_http, when positive (else httpc's default, 30 s); set it
 * before starting threads that call t_http. */
extern int t_http_timeout_ms;
/* The PEM CA bundle https URLs are verified against, when not NULL (else the system's); set it
 * before starting threads that call t_http. */
extern const char *t_http_ca_file;

/* Sends method to url with body (len bytes, may be NULL) and the extra header lines in hdrs
 * (NULL-terminated, "Name: value"). Fills out; returns 0, or -1 on a transport error (with
 * out->err set). The caller releases out. Safe to call from several threads at once. */
int t_http(const char *method, const char *url, const char *body, size_t len,
           const char *const *hdrs, struct t_http_resp *out);
void t_http_release(struct t_http_resp *r);

/* The value of a response header (name lower-case), copied into out; -1 when absent. */
int t_http_header(const struct t_http_resp *r, const char *name, char *out, size_t len);

/* Waits up to timeout_s for the answer on a raw socket and returns its status line's code (0
 * when there is none), closing fd: for requests a test writes byte by byte. */
int t_http_raw_status(int fd, int timeout_s);

/* "http://127.0.0.1:<port><path>" for the producer of a test config; static storage per
 * thread. */
const char *t_http_url(const char *listen, const char *path);

#endif
