/* This file loads and checks the configuration against one table of keys. */
#include "cfg.h"
#include "log.h"
#include "cfg_lines.h"
#include "cfg_local.h"
#include "cfg_sections.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_I64, CFG_BOOL, CFG_SECRET };

struct cfg_key {
    const char *section;
    const char *key;
    enum cfg_type type;
    size_t off;
    const char *def;
    int64_t min, max;
    const char *help;
};

#define K(sec, field, type, def, min, max, help)                                                   \
    {                                                                                              \
#sec, #field, type, offsetof(struct cfg, sec.field), def, min, max, help                   \
    }

/* How to add a key: add a field to the struct in cfg.h and a row here; the example file
 * (deploy/jobfleet.conf.example) is regenerated with `jobfleet config-example`. */
static const struct cfg_key cfg_keys[] = {
    K(mysql, host, CFG_STR, "127.0.0.1", 0, 0, "MariaDB host (ignored when socket is set)"),
    K(mysql, port, CFG_INT, "3306", 1, 65535, "MariaDB TCP port"),
    K(mysql, socket, CFG_STR, "", 0, 0, "Unix socket path; empty means TCP"),
    K(mysql, user, CFG_STR, "jobfleet", 0, 0, "MariaDB user"),
    K(mysql, password, CFG_SECRET, "", 0, 0, "MariaDB password (or password_file)"),
    K(mysql, database, CFG_STR, "jobfleet", 0, 0, "database holding the jobs table"),
    K(mysql, connect_timeout_s, CFG_INT, "5", 1, 3600, "connect timeout in seconds"),
    K(mysql, read_timeout_s, CFG_INT, "30", 1, 86400,
      "read/write timeout in seconds; a query past it counts as a lost connection"),
    K(mysql, tls, CFG_STR, "off", 0, 0,
      "TLS to MariaDB over TCP: off, required (encrypted, the server unchecked) or verify (its "
      "certificate must chain to tls_ca_file and name host)"),
    K(mysql, tls_ca_file, CFG_STR, "", 0, 0,
      "PEM CA certificates for tls = verify; empty: the system's"),
    K(mysql, tls_cert_file, CFG_STR, "", 0, 0,
      "PEM client certificate, for an account created REQUIRE X509 (with tls_key_file)"),
    K(mysql, tls_key_file, CFG_STR, "", 0, 0,
      "PEM private key of tls_cert_file (mode 0600 or stricter)"),
    K(redis, host, CFG_STR, "127.0.0.1", 0, 0, "Redis host"),
    K(redis, port, CFG_INT, "6379", 1, 65535, "Redis port"),
    K(redis, password, CFG_SECRET, "", 0, 0, "Redis password (or password_file)"),
    K(redis, db, CFG_INT, "0", 0, 1023, "Redis database number"),
    K(redis, prefix, CFG_STR, "jobfleet", 0, 0, "prefix of every Redis key"),
    K(worker, concurrency, CFG_INT, "16", 1, 1024,
      "child processes, one job at a time each (jobs mostly wait on HTTP and databases; a "
      "child costs about 1 MB, and idle children let the supervisor claim in batches)"),
    K(worker, queues, CFG_STR, "default:1", 0, 0,
      "queues to pop with weights, e.g. \"critical:3,default:1\""),
    K(worker, heartbeat_s, CFG_INT, "5", 1, 3600,
      "seconds between heartbeats (at most half of lease_s)"),
    K(worker, lease_s, CFG_INT, "30", 2, 86400,
      "a worker silent this long is dead; its running jobs end \"worker lost\" (the scheduler "
      "reads each worker's own from its row)"),
    K(worker, drain_timeout_s, CFG_INT, "60", 0, 86400,
      "on SIGTERM, seconds to let running jobs finish before killing them"),
    K(worker, kill_grace_s, CFG_INT, "5", 0, 3600,
      "seconds between SIGTERM and SIGKILL for a job past its timeout, cancelled or still "
      "running at a drain's end; in them its child saves its last log lines"),
    K(worker, prefetch, CFG_INT, "-1", -1, 4096,
      "jobs claimed ahead of idle children under load, so claims and check-outs cover many "
      "jobs per statement (-1: 1 per child, up to 64 for jobs short enough to start within 20 ms; "
      "0: none)"),
    K(worker, prefetch_wait_ms, CFG_INT, "1000", 1, 60000,
      "a job claimed ahead waits at most this long for a child before it is handed back to "
      "the queue for other workers; the window is also kept to what the children finish in "
      "about half of it"),
    K(worker, hand_ahead, CFG_INT, "8", 0, CFG_HAND_AHEAD_MAX,
      "short jobs handed to each busy child under load, to start when its job ends (no sleep "
      "and wake-up between); taken back if that job runs past 20 ms (0: none)"),
    K(worker, hand_ahead_run_ms, CFG_INT, "2", 0, 3600000,
      "jobs are handed ahead only while the children's jobs average at most this many ms"),
    K(worker, sched_batch, CFG_BOOL, "true", 0, 0,
      "children run as SCHED_BATCH: one woken by a job does not preempt the supervisor "
      "handing out the next (false: SCHED_OTHER)"),
    K(worker, test_actions, CFG_BOOL, "false", 0, 0,
      "register System/Crash and System/Echo/Webhook (tests only)"),
    K(worker, metrics_listen, CFG_STR, "", 0, 0,
      "host:port where the worker serves GET /metrics (Prometheus text); empty: not served"),
    K(scheduler, tick_ms, CFG_INT, "1000", 10, 30000,
      "milliseconds between ticks (at most 30000: an every-minute cron schedule needs a tick "
      "within each minute)"),
    K(scheduler, timezone, CFG_STR, "America/Chicago", 0, 0, "default IANA zone of cron jobs"),
    K(scheduler, requeue_after_s, CFG_INT, "30", 1, 86400,
      "a queued job missing from Redis this long is pushed again"),
    K(scheduler, cron_catchup_s, CFG_INT, "3600", 0, 31536000,
      "after downtime, fire one catch-up run for a miss at most this old"),
    K(scheduler, retention_days, CFG_INT, "14", 1, 36500,
      "succeeded jobs and webhook log rows older than this are deleted"),
    K(scheduler, audit_retention_days, CFG_INT, "365", 0, 36500,
      "audit_log rows (who changed what) older than this are deleted; 0 keeps them for good"),
    K(scheduler, batch_size, CFG_INT, "1000", 1, 5000,
      "rows per batch in each tick step (one statement each: MariaDB takes 65,535 values)"),
    K(scheduler, timeout_grace_s, CFG_INT, "30", 0, 86400,
      "the watchdog fails a running job this long after its timeout (at least [worker] "
      "kill_grace_s + prefetch_wait_ms + 1 s, by when the worker has stopped it itself)"),
    K(scheduler, test_clock_file, CFG_STR, "", 0, 0,
      "tests only: a file holding the unix time cron uses as now; empty means the clock"),
    K(scheduler, metrics_listen, CFG_STR, "", 0, 0,
      "host:port where the scheduler serves GET /metrics (Prometheus text); empty: not served"),
    K(producer, listen, CFG_STR, "127.0.0.1:8080", 0, 0, "host:port of the HTTP server"),
    K(producer, max_body_bytes, CFG_I64, "1048576", 1, INT64_C(1) << 34,
      "largest request body accepted"),
    K(producer, spool_dir, CFG_STR, "/var/spool/jobfleet", 0, 0,
      "where webhooks wait while MariaDB is unavailable"),
    K(producer, spool_max_bytes, CFG_I64, "1073741824", 0, INT64_C(1) << 50,
      "spool quota; past it webhooks get 503"),
    K(producer, db_timeout_ms, CFG_INT, "2000", 10, 600000,
      "a MariaDB write slower than this spools the webhook instead"),
    K(producer, api_token, CFG_SECRET, "", 0, 0,
      "bearer token of the JSON API (or api_token_file); empty disables the API"),
    K(producer, threads, CFG_INT, "8", 1, 256, "HTTP worker threads"),
    K(producer, max_connections, CFG_INT, "1024", 16, 1000000,
      "open connections at most; more wait in the listen backlog (raise LimitNOFILE with it)"),
    K(producer, max_connections_per_ip, CFG_INT, "64", 0, 1000000,
      "open connections per client address at most, so that a few addresses cannot take all "
      "max_connections (64: 16 addresses to fill 1024); an IPv6 client counts by its prefix "
      "(ipv6_prefix_len). 0 for no limit (behind a reverse proxy, every client is the proxy's "
      "address)"),
    K(producer, ipv6_prefix_len, CFG_INT, "64", 32, 128,
      "an IPv6 client counts against max_connections_per_ip together with every address that "
      "shares this many leading bits with its own: one host usually holds a whole /64, and "
      "could open each connection from an address of its own. Shorter (56, 48) also holds back "
      "a customer whose ISP hands out that much, and counts more strangers together; 128 counts "
      "each address alone. IPv4 clients (also inside IPv6: ::ffff:0:0/96, the NAT64 "
      "64:ff9b::/96) and local ones (fc00::/7, fe80::/10: a LAN, a cluster's pods) count per "
      "address"),
    K(producer, trusted_proxies, CFG_STR, "", 0, 0,
      "reverse proxies (addresses or address/bits blocks, separated by commas) whose "
      "X-Forwarded-For names the client of a request they pass on; the dashboard's login "
      "lockout and its log use that address. Empty: the connection's address is the client, "
      "whatever the header says"),
    K(producer, header_timeout_s, CFG_INT, "10", 1, 3600,
      "a request's headers must be in within this many seconds of its start (also the idle "
      "time allowed between keep-alive requests)"),
    K(producer, request_timeout_s, CFG_INT, "60", 2, 86400,
      "a request must be done (body read, answer sent) within this many seconds of its start"),
    K(producer, body_grace_s, CFG_INT, "5", 1, 3600,
      "seconds after its headers a request body may take before body_min_bytes_per_s applies"),
    K(producer, body_min_bytes_per_s, CFG_INT, "1024", 0, 1073741824,
      "a request body must arrive at this many bytes/s on average: it is cut once it has taken "
      "longer than body_grace_s plus 1 s per this many bytes received (8 kbit/s, a fifth of "
      "GPRS: no real client is that slow; a sender trickling bytes to hold a connection is). "
      "0: only request_timeout_s bounds a body"),
    K(producer, tls_cert_file, CFG_STR, "", 0, 0,
      "PEM certificate (chain) for HTTPS on listen; empty serves plain HTTP"),
    K(producer, tls_key_file, CFG_STR, "", 0, 0,
      "PEM private key for tls_cert_file (mode 0600 or stricter)"),
    K(dashboard, users, CFG_SECRET, "", 0, 0,
      "dashboard users, \"name:role:hash\" separated by spaces, commas or newlines (indented "
      "continuation lines, or users_file); role is admin or read; make a hash with `jobfleet "
      "passwd`. The API token "
      "also logs in, as admin"),
    K(dashboard, session_ttl_s, CFG_INT, "28800", 1, 604800,
      "a dashboard session ends this many seconds after login (the cookie's Max-Age too)"),
    K(dashboard, cookie_secure, CFG_BOOL, "true", 0, 0,
      "mark the session cookie Secure (browsers still send it to http://localhost)"),
    K(dashboard, login_max_failures, CFG_INT, "5", 1, 1000,
      "failed logins from one address or for one user before logins are refused"),
    K(dashboard, login_lockout_s, CFG_INT, "300", 1, 86400,
      "how long refused logins last, and the window failures are counted in"),
    K(dashboard, cache_refresh_ms, CFG_INT, "5000", 200, 600000,
      "how often the background thread refreshes the dashboard's counts and charts"),
    K(dashboard, query_timeout_ms, CFG_INT, "2000", 50, 60000,
      "time bound of each dashboard query run for a request (max_statement_time)"),
    K(dashboard, scan_max, CFG_INT, "10000", 100, 1000000,
      "index entries one page of the Jobs listing examines when filters the index does not "
      "serve apply (queue, origin, a state and an action together)"),
    K(dashboard, text_scan_max, CFG_INT, "2000", 100, 1000000,
      "the same window when the text filter applies (each entry then costs a row read and a "
      "substring search)"),
    K(log, level, CFG_STR, "info", 0, 0, "debug, info, warn or error"),
    K(dispatch, legacy_staff_id, CFG_INT, "3301", 0, INT32_MAX,
      "Dispatch/Legacy/Sync: the staff id of the generic account holding the field tickets"),
    K(dispatch, timezone, CFG_STR, "America/Toronto", 0, 0,
      "IANA zone the tickets' due dates are dates of"),
    K(dispatch, skip_dept_ids, CFG_STR, "", 0, 0,
      "departments that are not field work, e.g. \"12,14\"; their tickets are skipped"),
    K(dispatch, every_min, CFG_INT, "0", 0, 60,
      "run Dispatch/Legacy/Sync every N minutes: the scheduler keeps a cron job of that name "
      "at \"*/N * * * *\" (N divides 60; 60: hourly); 0 = none: a cron job of that name, made "
      "by hand or by an earlier setting, is left alone (jobfleet cron remove stops it)"),
    K(dispatch, job_types, CFG_STR, "1:Installation,2:Réparation,3:Retrait", 0, 0,
      "department id to Dispatch Job job_type, \"dept:type\" separated by commas"),
    K(dispatch, default_job_type, CFG_STR, "Autre", 0, 0,
      "job_type of a department job_types does not name"),
    K(dispatch, durations, CFG_STR, "Installation:2,Réparation:1.5", 0, 0,
      "duration_h per job type, \"type:hours\" separated by commas"),
    K(dispatch, default_duration_h, CFG_STR, "1", 0, 0,
      "duration_h of a job type durations does not name"),
};
/* libinih's line buffer, its terminating NUL included: longer lines are refused. */
#define CFG_LINE_MAX INI_MAX_LINE

#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

struct cfg_family {
    const char *kind;
    const char *keys[24];
};

static const struct cfg_family cfg_families[] = {
    {"webhook",
     {"path_prefix", "auth", "secret", "secret_file", "signature_header", "timestamp_header",
      "tolerance_s", "token_header", "token", "token_file", "username", "password", "password_file",
      "idempotency_field", NULL}},
    {"db",
     {"host", "port", "socket", "user", "password", "password_file", "database",
      "connect_timeout_s", "read_timeout_s", "tls", "tls_ca_file", "tls_cert_file", "tls_key_file",
      NULL}},
    {"service",
     {"base_url", "api_key", "api_key_file", "rate_per_minute", "timeout_ms", "client_uuid",
      "api_secret", "api_secret_file", "token", "token_file", "auth", "connect_timeout_ms",
      "max_response_bytes", "max_attempts", "backoff_base_ms", "backoff_max_ms",
      "retry_after_max_ms", "ca_file", NULL}},
    {"attachments",
     {"uploads_dir", "allowed_hosts", "max_bytes", "timeout_ms", "ca_file", "test_resolve",
      "test_private_hosts", NULL}},
    /* One TOGA 2 <-> TOGaDesk client (Toga/Desk/Sync {"client": "<label>"}, jobs/togadesk.h). */
    {"toga_desk",
     {"service", "desk_db", "desk_client_id", "desk_department_id", "monitor_department_ids",
      "integration_type", "conversation_field", "toga_to_desk", "desk_to_toga", "contacts", "units",
      "predefined_replies", "ticket_teams", "ticket_categories", "overlap_s", "schedule",
      "timezone", NULL}},
};

struct cfg_load_state {
    struct cfg *c;
    const char *file;
    char *raw[N_KEYS];
    char *raw_file[N_KEYS]; /* the *_file variant of a secret */
    char *where[N_KEYS];    /* where the value came from, for messages */
    char *err;
    size_t errlen;
    bool failed;
    char *inline_secret; /* "[section] key" of the first secret written in the file itself */
};

/* Keys of variable sections that hold a secret (their *_file variant does not). */
static bool
cfg_is_secret_key(const char *key)
{
    static const char *const keys[] = {"password", "secret", "token", "api_key", "api_secret"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/* Remembers the first secret given inline, for the config file's permission check. */
static void
cfg_note_inline_secret(struct cfg_load_state *st, const char *section, const char *key,
                       const char *value)
{
    if (st->inline_secret == NULL && value && value[0])
        st->inline_secret = xasprintf("[%s] %s", section, key);
}

static const struct cfg_key *
cfg_key_find(const char *section, const char *key, int *idx)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(cfg_keys[i].section, section) == 0 && strcmp(cfg_keys[i].key, key) == 0) {
            *idx = (int)i;
            return &cfg_keys[i];
        }
    }
    return NULL;
}

/* Where a fixed key's value came from: "file:line", "environment NAME" or "default". */
static const char *
cfg_where(const struct cfg_load_state *st, const char *section, const char *key)
{
    int idx = -1;
    if (cfg_key_find(section, key, &idx) == NULL || st->where[idx] == NULL)
        return "default";
    return st->where[idx];
}

static bool
cfg_section_fixed(const char *section)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(cfg_keys[i].section, section) == 0)
            return true;
    return false;
}

static const struct cfg_family *
cfg_family_of(const char *section, const char **label)
{
    for (size_t i = 0; i < sizeof(cfg_families) / sizeof(cfg_families[0]); i++) {
        const char *kind = cfg_families[i].kind;
        size_t n = strlen(kind);
        if (strcmp(section, "attachments") == 0 && strcmp(kind, "attachments") == 0) {
            *label = "";
            return &cfg_families[i];
        }
        if (strncmp(section, kind, n) == 0 && section[n] == '.' && section[n + 1] != '\0') {
            *label = section + n + 1;
            return &cfg_families[i];
        }
    }
    return NULL;
}

static bool
cfg_family_has(const struct cfg_family *f, const char *key)
{
    for (int i = 0; f->keys[i]; i++)
        if (strcmp(f->keys[i], key) == 0)
            return true;
    return false;
}

static int cfg_fail(struct cfg_load_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cfg_fail(struct cfg_load_state *st, const char *fmt, ...)
{
    if (!st->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->err, st->errlen, fmt, ap);
        va_end(ap);
        st->failed = true;
    }
    return 0;
}

/* True for a key whose value is a list that may go on over several lines. */
static bool
cfg_is_line_list(const struct cfg_key *k)
{
    return strcmp(k->section, "dashboard") == 0 && strcmp(k->key, "users") == 0;
}

/* Sets key idx's raw value (its *_file path when is_file). join: the file's reader giving a
 * line of a list again (the environment replaces a value, as for every key). */
static void
cfg_set_raw(struct cfg_load_state *st, int idx, bool is_file, const char *value, char *where,
            bool join)
{
    char **slot = is_file ? &st->raw_file[idx] : &st->raw[idx];
    if (join && !is_file && *slot && cfg_is_line_list(&cfg_keys[idx])) {
        /* libinih hands each continuation line of a value over as the key again: a list
         * written on several lines keeps them all. */
        char *joined = xasprintf("%s\n%s", *slot, value);
        free(*slot);
        *slot = joined;
    } else {
        free(*slot);
        *slot = xstrdup(value);
    }
    free(st->where[idx]);
    st->where[idx] = where;
    /* A value given directly overrides a *_file given earlier, and the other way round. */
    char **other = is_file ? &st->raw[idx] : &st->raw_file[idx];
    if (cfg_keys[idx].type == CFG_SECRET) {
        free(*other);
        *other = is_file ? xstrdup("") : NULL;
    }
}

static int
cfg_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_load_state *st = user;
    if (st->failed)
        return 0;
    if (name == NULL)
        return 1; /* a section header alone */
    char *where = xasprintf("%s:%d", st->file, cfg_find_line(st->file, section, name));
    if (cfg_section_fixed(section)) {
        int idx = -1;
        size_t n = strlen(name);
        bool is_file = false;
        const struct cfg_key *k = cfg_key_find(section, name, &idx);
        if (k == NULL && n > 5 && strcmp(name + n - 5, "_file") == 0) {
            char *base = xstrndup(name, n - 5);
            k = cfg_key_find(section, base, &idx);
            free(base);
            is_file = k != NULL && k->type == CFG_SECRET;
            if (!is_file)
                k = NULL;
        }
        if (k == NULL) {
            cfg_fail(st, "%s: [%s] %s: unknown key (see deploy/jobfleet.conf.example)", where,
                     section, name);
            free(where);
            return 0;
        }
        if (!is_file && k->type == CFG_SECRET)
            cfg_note_inline_secret(st, section, name, value);
        cfg_set_raw(st, idx, is_file, value, where, true);
        return 1;
    }
    const char *label = NULL;
    const struct cfg_family *f = cfg_family_of(section, &label);
    if (f == NULL) {
        cfg_fail(st,
                 "%s: [%s]: unknown section (expected mysql, redis, worker, scheduler, "
                 "producer, log, dashboard, dispatch, webhook.<source>, db.<name>, service.<name>, "
                 "attachments, toga_desk.<client>)",
                 where, section);
        free(where);
        return 0;
    }
    if (!cfg_family_has(f, name)) {
        cfg_fail(st, "%s: [%s] %s: unknown key for a %s section", where, section, name, f->kind);
        free(where);
        return 0;
    }
    if (cfg_is_secret_key(name))
        cfg_note_inline_secret(st, section, name, value);
    struct cfg_section *s = cfg_section_add(st->c, section, f->kind, label, where);
    cfg_section_set(s, name, value, where);
    free(where);
    return 1;
}

static void
cfg_env_name(char *out, size_t len, const char *section, const char *key)
{
    size_t j = 0;
    const char *parts[] = {"JOBFLEET_", section, "_", key};
    for (int p = 0; p < 4; p++) {
        for (const char *s = parts[p]; *s && j + 1 < len; s++) {
            unsigned char ch = (unsigned char)*s;
            out[j++] = (ch == '.' || ch == '-') ? '_' : (char)toupper(ch);
        }
    }
    out[j] = '\0';
}

static void
cfg_apply_env(struct cfg_load_state *st)
{
    char name[256];
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        cfg_env_name(name, sizeof(name), k->section, k->key);
        const char *v = getenv(name);
        if (v)
            cfg_set_raw(st, (int)i, false, v, xasprintf("environment %s", name), false);
        if (k->type == CFG_SECRET) {
            strncat(name, "_FILE", sizeof(name) - strlen(name) - 1);
            v = getenv(name);
            if (v)
                cfg_set_raw(st, (int)i, true, v, xasprintf("environment %s", name), false);
        }
    }
    /* Variable sections can only be overridden once they exist in the file: the environment
     * variable name alone cannot tell "webhook.a_b" from "webhook.a" key "b_...". */
    struct cfg *c = st->c;
    for (int s = 0; s < c->n_sections; s++) {
        const char *label = NULL;
        const struct cfg_family *f = cfg_family_of(c->sections[s].name, &label);
        for (int i = 0; f && f->keys[i]; i++) {
            cfg_env_name(name, sizeof(name), c->sections[s].name, f->keys[i]);
            const char *v = getenv(name);
            if (v == NULL)
                continue;
            char *where = xasprintf("environment %s", name);
            cfg_section_set(&c->sections[s], f->keys[i], v, where);
            free(where);
            /* The file's path to the secret would be read later and win over the environment's
             * secret itself. */
            if (cfg_is_secret_key(f->keys[i])) {
                char *file_key = xasprintf("%s_file", f->keys[i]);
                cfg_section_drop(&c->sections[s], file_key);
                free(file_key);
            }
        }
    }
}

static int
cfg_read_secret(struct cfg_load_state *st, const char *where, const char *what, const char *path,
                char **out)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        cfg_fail(st, "%s: %s: cannot read secret file \"%s\": %s", where, what, path,
                 strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077)) {
        cfg_fail(st,
                 "%s: %s: secret file \"%s\" is open to group or others (mode %03o); chmod 600 it",
                 where, what, path, (unsigned)(sb.st_mode & 0777));
        fclose(fp);
        return -1;
    }
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (buf_append(&b, chunk, n) < 0)
            break;
    }
    fclose(fp);
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
        b.data[--b.len] = '\0';
    *out = buf_detach(&b);
    return 0;
}

static int
cfg_convert(struct cfg_load_state *st)
{
    for (size_t i = 0; i < N_KEYS && !st->failed; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        char *field = (char *)st->c + k->off;
        const char *raw = st->raw[i] ? st->raw[i] : k->def;
        const char *where = st->where[i] ? st->where[i] : "default";
        int64_t v = 0;
        switch (k->type) {
        case CFG_STR:
            *(char **)field = xstrdup(raw);
            break;
        case CFG_SECRET:
            if (st->raw_file[i] && st->raw_file[i][0]) {
                char *what = xasprintf("[%s] %s_file", k->section, k->key);
                cfg_read_secret(st, where, what, st->raw_file[i], (char **)field);
                free(what);
            } else {
                *(char **)field = xstrdup(raw);
            }
            break;
        case CFG_INT:
        case CFG_I64:
            if (parse_int64(raw, k->min, k->max, &v) < 0) {
                cfg_fail(st, "%s: [%s] %s: expected an integer in %lld-%lld, got \"%s\"", where,
                         k->section, k->key, (long long)k->min, (long long)k->max, raw);
                break;
            }
            if (k->type == CFG_INT)
                *(int *)field = (int)v;
            else
                *(int64_t *)field = v;
            break;
        case CFG_BOOL:
            if (!strcmp(raw, "true") || !strcmp(raw, "yes") || !strcmp(raw, "on") ||
                !strcmp(raw, "1"))
                *(bool *)field = true;
            else if (!strcmp(raw, "false") || !strcmp(raw, "no") || !strcmp(raw, "off") ||
                     !strcmp(raw, "0"))
                *(bool *)field = false;
            else
                cfg_fail(st, "%s: [%s] %s: expected true or false, got \"%s\"", where, k->section,
                         k->key, raw);
            break;
        }
    }
    /* Resolve *_file keys of variable sections into their plain keys. */
    struct cfg *c = st->c;
    for (int s = 0; s < c->n_sections && !st->failed; s++) {
        struct cfg_section *sec = &c->sections[s];
        for (int i = 0; i < sec->n_kv; i++) {
            size_t n = strlen(sec->kv[i].key);
            if (n <= 5 || strcmp(sec->kv[i].key + n - 5, "_file") != 0)
                continue;
            char *base = xstrndup(sec->kv[i].key, n - 5);
            if (!cfg_is_secret_key(base)) {
                /* A path that is not a secret's (ca_file): the key's own value, not read. */
                free(base);
                continue;
            }
            char *what = xasprintf("[%s] %s", sec->name, sec->kv[i].key);
            char *secret = NULL;
            if (cfg_read_secret(st, sec->kv[i].where, what, sec->kv[i].value, &secret) == 0) {
                cfg_section_set(sec, base, secret, sec->kv[i].where);
                free(secret);
            }
            free(what);
            free(base);
        }
    }
    if (!st->failed) {
        const char *lv = c->log.level;
        if (strcmp(lv, "debug") && strcmp(lv, "info") && strcmp(lv, "warn") && strcmp(lv, "error"))
            cfg_fail(st, "[log] level: expected debug, info, warn or error, got \"%s\"", lv);
    }
    /* A minute step of 45 fires at :00 and :45, not every 45 minutes. */
    int em = c->dispatch.every_min;
    if (!st->failed && em > 0 && 60 % em != 0)
        cfg_fail(st,
                 "%s: [dispatch] every_min (%d) must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, "
                 "30 or 60): a cron minute step of %d fires at :00 and :%02d, not every %d "
                 "minutes",
                 cfg_where(st, "dispatch", "every_min"), em, em, em, em);
    /* A worker fences itself when no heartbeat has committed for most of the lease: with fewer
     * than two heartbeats per lease, one slow commit would stop its jobs and the scheduler
     * would take a live worker for dead. */
    if (!st->failed && c->worker.lease_s < 2 * c->worker.heartbeat_s)
        cfg_fail(st,
                 "%s: [worker] lease_s (%d) must be at least twice heartbeat_s (%d, %s): a "
                 "worker is taken for dead when its heartbeats stop for a lease",
                 cfg_where(st, "worker", "lease_s"), c->worker.lease_s, c->worker.heartbeat_s,
                 cfg_where(st, "worker", "heartbeat_s"));
    if (!st->failed && cfg_mysql_tls_check(&c->mysql, "mysql", cfg_where(st, "mysql", "tls"),
                                           st->err, st->errlen) < 0)
        st->failed = true;
    return st->failed ? -1 : 0;
}

int
cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    struct cfg_load_state st = {.c = c, .err = err, .errlen = errlen};
    bool explicit_path = path != NULL;
    if (path == NULL)
        path = getenv("JOBFLEET_CONFIG");
    FILE *local = NULL;
    struct stat found;
    if (path && *path)
        explicit_path = true;
    else if (lstat(CFG_LOCAL_PATH, &found) == 0) {
        path = CFG_LOCAL_PATH; /* the stack deploy/local/up runs in this checkout */
        if ((local = cfg_local_open(err, errlen)) == NULL)
            return -1;
    } else
        path = "/etc/jobfleet/jobfleet.conf";
    if (local || explicit_path || access(path, F_OK) == 0) {
        c->path = xstrdup(path);
        st.file = c->path;
        FILE *fp = local ? local : fopen(path, "r");
        if (fp == NULL) {
            snprintf(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
            cfg_release(c);
            return -1;
        }
        int rc = ini_parse_file(fp, cfg_ini_handler, &st);
        struct stat sb;
        if (!st.failed && st.inline_secret && fstat(fileno(fp), &sb) == 0 && (sb.st_mode & 077))
            cfg_fail(&st,
                     "%s: holds %s and is open to group or others (mode %03o); chmod 600 it, "
                     "or give the secret as a *_file",
                     path, st.inline_secret, (unsigned)(sb.st_mode & 0777));
        fclose(fp);
        /* libinih reads a line in pieces of its buffer and fails on the piece after the
         * first: the line it names, or the one before it, is the long one. */
        int at = rc;
        long len = rc > 0 && !st.failed ? cfg_line_length(path, rc) : -1;
        if (len < CFG_LINE_MAX && rc > 1 && !st.failed) {
            at = rc - 1;
            len = cfg_line_length(path, at);
        }
        if (len >= CFG_LINE_MAX)
            cfg_fail(
                &st,
                "%s:%d: this line is %ld characters long; the config parser (libinih) "
                "reads at most %d: give a long secret as a *_file (dashboard users may also go "
                "on indented continuation lines)",
                path, at, len, CFG_LINE_MAX - 1);
        else if (rc > 0 && !st.failed)
            cfg_fail(&st, "%s:%d: cannot parse this line (expected [section] or key = value)", path,
                     rc);
    }
    if (!st.failed)
        cfg_apply_env(&st);
    int rc = st.failed ? -1 : cfg_convert(&st);
    rc = rc == 0 ? cfg_check_sections(c, err, errlen) : rc;
    free(st.inline_secret);
    for (size_t i = 0; i < N_KEYS; i++) {
        free(st.raw[i]);
        free(st.raw_file[i]);
        free(st.where[i]);
    }
    if (rc < 0)
        cfg_release(c);
    return rc;
}

void
cfg_release(struct cfg *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (cfg_keys[i].type == CFG_STR || cfg_keys[i].type == CFG_SECRET) {
            char **field = (char **)((char *)c + cfg_keys[i].off);
            free(*field);
            *field = NULL;
        }
    }
    cfg_sections_free(c);
    free(c->path);
    memset(c, 0, sizeof(*c));
}

/* Prints text as "# " comment lines of at most CFG_EXAMPLE_WIDTH columns, broken at spaces:
 * the example must load, and libinih refuses a line of CFG_LINE_MAX characters, comments too. */
static void
cfg_print_comment(const char *text)
{
    enum { CFG_EXAMPLE_WIDTH = 96 };
    while (*text) {
        size_t len = strlen(text), cut = len;
        if (len > CFG_EXAMPLE_WIDTH - 2) {
            cut = CFG_EXAMPLE_WIDTH - 2;
            while (cut > 0 && text[cut] != ' ')
                cut--;
            if (cut == 0) /* one word longer than the line: leave it whole */
                cut = strcspn(text, " ");
        }
        printf("# %.*s\n", (int)cut, text);
        text += cut;
        while (*text == ' ')
            text++;
    }
}

void
cfg_print_example(void)
{
    printf("# jobfleet configuration: every key with its default and meaning.\n"
           "# Generated by `jobfleet config-example` from the table that checks the config, so\n"
           "# it cannot drift (a unit test compares the two).\n"
           "#\n"
           "# The file is /etc/jobfleet/jobfleet.conf unless --config PATH or $JOBFLEET_CONFIG\n"
           "# names another. Every key can be overridden by an environment variable\n"
           "# JOBFLEET_<SECTION>_<KEY> (e.g. JOBFLEET_MYSQL_PORT=3307). A secret key (password,\n"
           "# api_token, secret, token, api_key, api_secret) may instead be given as <key>_file,\n"
           "# the path of a file holding it. An unknown key or a bad value stops the program\n"
           "# with one line naming the file, line, section and key.\n\n");
    const char *section = "";
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct cfg_key *k = &cfg_keys[i];
        if (strcmp(section, k->section) != 0) {
            section = k->section;
            printf("%s[%s]\n", i ? "\n" : "", section);
        }
        char range[64] = "";
        if (k->type == CFG_INT || k->type == CFG_I64)
            snprintf(range, sizeof(range), " (%lld-%lld)", (long long)k->min, (long long)k->max);
        char *text = xasprintf("%s%s", k->help, range);
        cfg_print_comment(text);
        free(text);
        printf("%s = %s\n", k->key, k->def);
    }
    cfg_print_example_sections();
}

void
cfg_log_source(const struct cfg *c)
{
    if (c->path)
        log_info("configuration: %s", c->path);
    else
        log_info("configuration: no file, the defaults and the environment");
}
