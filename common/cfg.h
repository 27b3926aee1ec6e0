/* The configuration: one INI file, environment overrides and *_file secrets, checked against
 * one table of keys (cfg.c) that also drives the example file and --help. */
#ifndef JOBFLEET_CFG_H
#define JOBFLEET_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shortest token or secret a sender or API client must prove (api_token, a webhook
 * source's secret, token or password): shorter ones are refused at start. */
#define CFG_SECRET_MIN_LEN 16

struct cfg_mysql {
    char *host;
    int port;
    char *socket;
    char *user;
    char *password;
    char *database;
    int connect_timeout_s;
    int read_timeout_s;
    char *tls;           /* "off", "required" or "verify" (cfg_mysql_tls_check) */
    char *tls_ca_file;   /* empty: the system's CAs */
    char *tls_cert_file; /* a client certificate, with tls_key_file; empty: none */
    char *tls_key_file;
};

struct cfg_redis {
    char *host;
    int port;
    char *password;
    int db;
    char *prefix;
};

/* The most [worker] hand_ahead allows: the worker keeps that many per child. */
#define CFG_HAND_AHEAD_MAX 16

struct cfg_worker {
    int concurrency;
    char *queues;
    int heartbeat_s;
    int lease_s;
    int drain_timeout_s;
    int kill_grace_s;
    int prefetch;          /* jobs claimed ahead of idle children; -1 means concurrency */
    int prefetch_wait_ms;  /* longest wait of a job claimed ahead before it is handed back */
    int hand_ahead;        /* jobs written to a busy child's socket, to start after its job */
    int hand_ahead_run_ms; /* ... only while the children's jobs average at most this */
    bool sched_batch;      /* children run as SCHED_BATCH */
    bool test_actions;
    char *metrics_listen; /* host:port of GET /metrics; empty: none */
};

struct cfg_scheduler {
    int tick_ms;
    char *timezone;
    int requeue_after_s;
    int cron_catchup_s;
    int retention_days;
    int audit_retention_days;
    int batch_size;
    int timeout_grace_s;
    char *test_clock_file;
    char *metrics_listen;
};

struct cfg_producer {
    char *listen;
    int64_t max_body_bytes;
    char *spool_dir;
    int64_t spool_max_bytes;
    int db_timeout_ms;
    char *api_token;
    int threads;
    int max_connections;
    int max_connections_per_ip;
    int ipv6_prefix_len;   /* an IPv6 client counts against max_connections_per_ip by this prefix */
    char *trusted_proxies; /* "10.0.0.5, 192.168.0.0/16": X-Forwarded-For believed from these */
    int header_timeout_s;
    int request_timeout_s;
    int body_grace_s;         /* a body's allowance before body_min_bytes_per_s counts */
    int body_min_bytes_per_s; /* 0: no rate rule */
    char *tls_cert_file;
    char *tls_key_file;
};

/* The dashboard (docs/dashboard.md): its users, sessions and the bounds of its queries. */
struct cfg_dashboard {
    char *users; /* "name:role:crypt-hash" entries separated by spaces, commas or newlines */
    int session_ttl_s;
    bool cookie_secure;
    int login_max_failures;
    int login_lockout_s;
    int cache_refresh_ms;
    int query_timeout_ms;
    int scan_max;
    int text_scan_max;
};

struct cfg_log {
    char *level;
};

/* The legacy dispatch bridge (Dispatch/Legacy/Sync). */
struct cfg_dispatch {
    int legacy_staff_id;
    char *timezone;
    char *skip_dept_ids; /* "12,14": departments that are not field work */
    int every_min;       /* 0: no recurring schedule */
    char *job_types;     /* "dept:Job Type,...": other departments get default_job_type */
    char *default_job_type;
    char *durations; /* "Job Type:hours,...": other job types get default_duration_h */
    char *default_duration_h;
};

/* A section whose name carries a variable part: [webhook.<source>], [db.<name>],
 * [service.<name>], [attachments]. Keys are checked against the family's table. */
struct cfg_kv {
    char *key;
    char *value;
    char *where; /* "file:line" or "environment NAME", for messages */
};

struct cfg_section {
    char *name;  /* full name, e.g. "webhook.github" */
    char *kind;  /* "webhook", "db", "service", "attachments" */
    char *label; /* the part after the dot, e.g. "github" ("" for attachments) */
    struct cfg_kv *kv;
    int n_kv;
    char *where; /* its first key's "file:line" */
};

struct cfg {
    char *path; /* the file read, or NULL when none was */
    struct cfg_mysql mysql;
    struct cfg_redis redis;
    struct cfg_worker worker;
    struct cfg_scheduler scheduler;
    struct cfg_producer producer;
    struct cfg_log log;
    struct cfg_dashboard dashboard;
    struct cfg_dispatch dispatch;
    struct cfg_section *sections;
    int n_sections;
};

/* Loads the configuration. path NULL means the JOBFLEET_CONFIG environment variable, else
 * .local/jobfleet.conf in the current directory (the stack deploy/local/up starts), else
 * /etc/jobfleet/jobfleet.conf if it exists, else defaults and environment alone. On error
 * writes one line to err (naming file, line, section, key and what was expected) and returns
 * -1; the struct is then released. */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen);
void cfg_release(struct cfg *c);
/* Logs (info) which file the configuration came from: a daemon started by hand in a checkout
 * reads .local/jobfleet.conf, which its operator should see. */
void cfg_log_source(const struct cfg *c);

/* Looks up a key of a variable section; returns NULL when absent. */
const char *cfg_section_get(const struct cfg_section *s, const char *key);
/* Where key of s was set ("file:line", "environment NAME"); where the section begins when
 * the key is not set; "config" when nothing is known. Never NULL. */
const char *cfg_section_where(const struct cfg_section *s, const char *key);
/* Finds a variable section by its full name ("db.tickets"); NULL when absent. */
const struct cfg_section *cfg_find_section(const struct cfg *c, const char *name);
/* Checks the values of the variable sections that are not read until used: a [db.<name>]
 * port or timeout that is not a number in [mysql]'s range (before, it was dropped for
 * [mysql]'s own, and the job connected to the fleet's database). Returns 0, or -1 with err set
 * to one line naming the file, section, key and value. */
int cfg_check_sections(const struct cfg *c, char *err, size_t errlen);
/* Fills a struct cfg_mysql from a [db.<name>] section, with [mysql]'s defaults. The strings
 * are borrowed from the config. Returns -1 when the section does not exist. */
int cfg_db_section(const struct cfg *c, const char *name, struct cfg_mysql *out);
/* Checks m's TLS settings: tls is off, required or verify; tls_cert_file and tls_key_file come
 * together; no file is set that the mode would ignore (any with off, tls_ca_file with
 * required); each file is readable and the key closed to group and others. section names the
 * section in the message, where says where tls was set. Returns 0, or -1 with one line in
 * err. */
int cfg_mysql_tls_check(const struct cfg_mysql *m, const char *section, const char *where,
                        char *err, size_t errlen);

/* Prints every key with its default and help, as the documented example file. */
void cfg_print_example(void);

/* Prints the help of the named sections ([webhook.<source>], [service.<name>], ...) to stdout;
 * called by cfg_print_example. */
void cfg_print_example_sections(void);

#endif
