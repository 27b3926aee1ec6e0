/* This file downloads attachment URLs under the safety policy of [attachments]. */
#include "attach_fetch.h"
#include "caltime.h"
#include "cfg.h"
#include "httpc.h"
#include "netaddr.h"
#include "util.h"

#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ATTACH_MAX_REDIRECTS 3

static int
attach_conf_int(const struct cfg_section *s, const char *key, int64_t lo, int64_t hi, int64_t *v,
                char *err, size_t errlen)
{
    const char *t = s ? cfg_section_get(s, key) : NULL;
    if (t && parse_int64(t, lo, hi, v) < 0) {
        snprintf(err, errlen, "[attachments] %s: expected a number from %lld to %lld, got \"%s\"",
                 key, (long long)lo, (long long)hi, t);
        return -1;
    }
    return 0;
}

int
attach_conf_load(const struct cfg *cfg, struct attach_conf *c, int need_dir, char *err,
                 size_t errlen)
{
    memset(c, 0, sizeof(*c));
    const struct cfg_section *s = cfg ? cfg_find_section(cfg, "attachments") : NULL;
    int64_t max = 25 * 1024 * 1024, to = 60000;
    if (attach_conf_int(s, "max_bytes", 1, INT64_C(1) << 30, &max, err, errlen) < 0 ||
        attach_conf_int(s, "timeout_ms", 100, 3600000, &to, err, errlen) < 0)
        return -1;
    c->max_bytes = max;
    c->timeout_ms = (int)to;
    if (s) {
        c->uploads_dir = cfg_section_get(s, "uploads_dir");
        c->allowed_hosts = cfg_section_get(s, "allowed_hosts");
        c->ca_file = cfg_section_get(s, "ca_file");
        c->test_resolve = cfg_section_get(s, "test_resolve");
        c->test_private_hosts = cfg_section_get(s, "test_private_hosts");
    }
    if (need_dir && (c->uploads_dir == NULL || c->uploads_dir[0] != '/')) {
        snprintf(err, errlen, "[attachments] uploads_dir: an absolute directory is required");
        return -1;
    }
    return 0;
}

int
attach_url_split(const char *url, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
    if (strncasecmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "only https URLs are fetched");
        return -1;
    }
    const char *a = url + 8;
    size_t alen = strcspn(a, "/?#");
    const char *hs = a, *he;
    if (memchr(a, '@', alen) || memchr(a, '\\', alen) || memchr(a, '%', alen) || strchr(a, '\\')) {
        snprintf(err, errlen, "the URL's host part is not a plain host name");
        return -1;
    }
    const char *pstart;
    if (*a == '[') {
        hs = a + 1;
        he = memchr(hs, ']', alen);
        if (he == NULL) {
            snprintf(err, errlen, "the URL's IPv6 host has no ']'");
            return -1;
        }
        pstart = he + 1;
    } else {
        he = memchr(a, ':', alen);
        he = he ? he : a + alen;
        pstart = he;
    }
    *port = 443;
    if (pstart < a + alen) {
        char pbuf[8];
        int64_t p;
        size_t pl = (size_t)(a + alen - pstart - 1);
        if (*pstart != ':' || pl == 0 || pl >= sizeof(pbuf)) {
            snprintf(err, errlen, "the URL's port is not a number");
            return -1;
        }
        memcpy(pbuf, pstart + 1, pl);
        pbuf[pl] = '\0';
        if (parse_int64(pbuf, 1, 65535, &p) < 0) {
            snprintf(err, errlen, "the URL's port is not a number from 1 to 65535");
            return -1;
        }
        *port = (int)p;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl >= hostlen) {
        snprintf(err, errlen, "the URL has no usable host");
        return -1;
    }
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)hs[i]);
    host[hl] = '\0';
    /* A trailing dot names the same host and would slip past a suffix check. */
    if (host[hl - 1] == '.') {
        snprintf(err, errlen, "the URL's host ends with a dot");
        return -1;
    }
    return 0;
}

/* Whether host is in the comma-separated list (exact names). */
static int
attach_host_listed(const char *host, const char *list)
{
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if (m && strlen(host) == m && strncasecmp(host, p, m) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int
attach_host_allowed(const char *host, const char *suffixes)
{
    size_t hl = strlen(host);
    for (const char *p = suffixes ? suffixes : ""; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        const char *s = p;
        if (m && *s == '.') {
            s++;
            m--;
        }
        /* host is s itself, or ends with "." + s. */
        if (m && (hl == m || (hl > m && host[hl - m - 1] == '.')) &&
            strncasecmp(host + hl - m, s, m) == 0 && !netaddr_is_literal(host))
            return 1;
        p += n;
    }
    return 0;
}

/* The test table's address for host ("host=addr,..."), copied into out; 0 when listed. */
static int
attach_test_lookup(const char *table, const char *host, char *out, size_t outlen)
{
    size_t hl = strlen(host);
    for (const char *p = table ? table : ""; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        if (eq && (size_t)(eq - p) == hl && strncasecmp(p, host, hl) == 0) {
            snprintf(out, outlen, "%.*s", (int)(n - (size_t)(eq - p) - 1), eq + 1);
            return 0;
        }
        p += n;
    }
    return -1;
}

/* Resolves and checks host; fills the CONNECT_TO pin. 0, or -1 with err set. */
static int
attach_pin(const struct attach_conf *c, const char *host, int port, char *pin, size_t pinlen,
           char *err, size_t errlen)
{
    char addrs[NETADDR_MAX][NETADDR_TEXT];
    int n;
    if (netaddr_is_literal(host)) {
        snprintf(addrs[0], NETADDR_TEXT, "%s", host);
        n = 1;
    } else if (attach_test_lookup(c->test_resolve, host, addrs[0], NETADDR_TEXT) == 0) {
        n = 1;
    } else if ((n = netaddr_resolve(host, addrs, NETADDR_MAX, err, errlen)) < 0) {
        return -1;
    }
    bool private_ok = attach_host_listed(host, c->test_private_hosts);
    for (int i = 0; i < n; i++) {
        const char *why = netaddr_blocked(addrs[i]);
        if (why && !private_ok) {
            /* A long host name may cut the message; what is left still names the refusal. */
            if (snprintf(err, errlen, "%s resolves to %s (%s): refused", host, addrs[i], why) < 0)
                snprintf(err, errlen, "an address of the host is refused (%s)", why);
            return -1;
        }
    }
    /* Every address passed; the connection goes to the first, whatever DNS says next. */
    bool v6 = strchr(addrs[0], ':') != NULL;
    snprintf(pin, pinlen, "%s:%d:%s%s%s:%d", host, port, v6 ? "[" : "", addrs[0], v6 ? "]" : "",
             port);
    return 0;
}

/* Checks url against the policy and fills the pin. */
static int
attach_check(const struct attach_conf *c, const char *url, char *pin, size_t pinlen, char *err,
             size_t errlen)
{
    char host[256];
    int port;
    if (attach_url_split(url, host, sizeof(host), &port, err, errlen) < 0)
        return -1;
    if (!attach_host_allowed(host, c->allowed_hosts)) {
        snprintf(err, errlen, "host %s is not in [attachments] allowed_hosts", host);
        return -1;
    }
    return attach_pin(c, host, port, pin, pinlen, err, errlen);
}

/* The text of the first child element of root named name, or NULL (caller xmlFree's). */
static xmlChar *
attach_xml_child(xmlNode *root, const char *name)
{
    for (xmlNode *n = root ? root->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0)
            return xmlNodeGetContent(n);
    return NULL;
}

int
attach_expired_403(const char *body, size_t len)
{
    bool other = false;
    xmlDoc *doc = body && len && len < (1 << 20)
                      ? xmlReadMemory(body, (int)len, "error.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                      : NULL;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root && xmlStrcmp(root->name, (const xmlChar *)"Error") == 0) {
        /* SignatureDoesNotMatch and the like name a cause no fresh URL mends. */
        xmlChar *code = attach_xml_child(root, "Code");
        other = code && xmlStrcmp(code, (const xmlChar *)"AccessDenied") != 0 &&
                xmlStrcmp(code, (const xmlChar *)"ExpiredRequest") != 0;
        xmlFree(code);
    }
    xmlFreeDoc(doc);
    return !other;
}

/* The response's Location made absolute against url; NULL when none. */
static char *
attach_location(const struct httpc_resp *r, const char *url)
{
    char loc[4096];
    if (httpc_resp_header(r, "location", loc, sizeof(loc)) < 0 || loc[0] == '\0')
        return NULL;
    if (loc[0] != '/' || loc[1] == '/')
        return xstrdup(loc);
    size_t origin = 8 + strcspn(url + 8, "/?#");
    return xasprintf("%.*s%s", (int)origin, url, loc);
}

/* The safe 403 text: "HTTP 403 <Code>" from the body when it has one. */
static void
attach_describe_403(const struct httpc_resp *r, char *err, size_t errlen)
{
    const char *c = r->body ? strstr(r->body, "<Code>") : NULL;
    const char *e = c ? strstr(c, "</Code>") : NULL;
    if (c && e && e - c < 80)
        snprintf(err, errlen, "HTTP 403 %.*s", (int)(e - c - 6), c + 6);
    else
        snprintf(err, errlen, "HTTP 403");
}

static struct httpc *
attach_client(const struct attach_conf *c)
{
    struct httpc_conf hc;
    httpc_conf_defaults(&hc);
    hc.name = "attachments";
    hc.base_url = "";
    hc.timeout_ms = c->timeout_ms;
    hc.connect_timeout_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000;
    hc.max_response_bytes = c->max_bytes;
    hc.max_attempts = 3;
    hc.backoff_base_ms = 500;
    hc.backoff_max_ms = 5000;
    hc.ca_file = c->ca_file;
    return httpc_new(&hc, NULL);
}

/* One hop: fetches url (already checked, pinned). Returns the result, or -1 for a redirect
 * with *next set. */
static int
attach_hop(struct httpc *h, const char *url, const char *pin, unsigned char **bytes, size_t *len,
           char **next, char *err, size_t errlen)
{
    static const char *const hdrs[] = {"Accept: */*", NULL};
    struct httpc_req req = {
        .method = "GET", .path = url, .headers = hdrs, .untrusted_url = true, .connect_to = pin};
    struct httpc_resp r;
    int rc = httpc_request(h, &req, &r);
    int res;
    if (rc == 0) {
        *len = r.body_len;
        *bytes = (unsigned char *)(r.body ? r.body : xstrdup(""));
        r.body = NULL;
        res = ATTACH_FETCH_OK;
    } else if (r.error == HTTPC_ESTATUS && r.status >= 300 && r.status < 400 &&
               (*next = attach_location(&r, url)) != NULL) {
        res = -1;
    } else if (r.error == HTTPC_ESTATUS && r.status == 403) {
        attach_describe_403(&r, err, errlen);
        res = attach_expired_403(r.body, r.body_len) ? ATTACH_FETCH_EXPIRED : ATTACH_FETCH_FAILED;
    } else if (r.error == HTTPC_ETOOBIG) {
        snprintf(err, errlen, "the attachment is larger than [attachments] max_bytes");
        res = ATTACH_FETCH_REFUSED;
    } else {
        snprintf(err, errlen, "%s", r.err);
        res = httpc_resp_transient(&r) || r.error == HTTPC_ECANCELLED ? ATTACH_FETCH_TRANSIENT
                                                                      : ATTACH_FETCH_FAILED;
    }
    httpc_resp_release(&r);
    return res;
}

enum attach_fetch_result
attach_fetch(const struct attach_conf *c, volatile int *cancel, const char *url,
             unsigned char **bytes, size_t *len, char *err, size_t errlen)
{
    *bytes = NULL;
    *len = 0;
    struct httpc *h = attach_client(c);
    httpc_set_cancel(h, cancel);
    char *cur = xstrdup(url);
    int res = ATTACH_FETCH_REFUSED;
    for (int hop = 0; hop <= ATTACH_MAX_REDIRECTS; hop++) {
        char pin[512], why[384];
        if (attach_check(c, cur, pin, sizeof(pin), why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s%s", hop ? "redirect refused: " : "download refused: ", why);
            res = ATTACH_FETCH_REFUSED;
            break;
        }
        char *next = NULL;
        res = attach_hop(h, cur, pin, bytes, len, &next, err, errlen);
        free(cur);
        cur = next;
        if (res != -1)
            break;
        if (hop == ATTACH_MAX_REDIRECTS) {
            snprintf(err, errlen, "more than %d redirects", ATTACH_MAX_REDIRECTS);
            res = ATTACH_FETCH_REFUSED;
        }
    }
    free(cur);
    httpc_free(h);
    return (enum attach_fetch_result)res;
}
