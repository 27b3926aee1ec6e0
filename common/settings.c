/* This file holds the SQL of queue_settings and action_settings. */
#include "settings.h"
#include "log.h"
#include "util.h"

#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
settings_limits_from(const struct db_rows *r, int row, int col, struct limits *l)
{
    l->concurrency = (int)db_rows_int(r, row, col, 0);
    l->rate = (int)db_rows_int(r, row, col + 1, 0);
    l->rate_interval_ms = db_rows_int(r, row, col + 2, 1000);
    if (l->rate_interval_ms <= 0)
        l->rate_interval_ms = 1000;
}

/* Past this many rows of either table, the rest are left out (and said once a minute). */
#define SETTINGS_MAX 10000

static void
settings_warn_cut(const char *table)
{
    static _Atomic int64_t last_ms;
    int64_t now = now_mono_ms(), last = atomic_load(&last_ms);
    if (last == 0 || now - last >= 60000) {
        atomic_store(&last_ms, now);
        log_warnx("%s: more than %d rows set something: the later ones (by name) are ignored",
                  table, SETTINGS_MAX);
    }
}

int
settings_load(struct db *db, struct settings *out)
{
    memset(out, 0, sizeof(*out));
    /* Stamped before the rows are read: a change committed after the stamp may be in the
     * snapshot or not, and is taken for not (settings.h). */
    struct db_rows *now = db_query(db, "SELECT NOW(6)", DB_NOP);
    if (now == NULL)
        return -1;
    snprintf(out->read_at, sizeof(out->read_at), "%s",
             now->n_rows && db_rows_get(now, 0, 0) ? db_rows_get(now, 0, 0) : "");
    db_rows_free(now);
    /* Only rows that set something: a cleared row (every limit "none") limits nothing, and
     * rows made for names no worker runs would otherwise push real ones out past the cap. */
    struct db_rows *q = db_query(db,
                                 "SELECT queue, is_paused, concurrency_limit, rate_limit, "
                                 "rate_interval_ms FROM queue_settings WHERE is_paused = 1 OR "
                                 "concurrency_limit IS NOT NULL OR rate_limit IS NOT NULL ORDER "
                                 "BY queue LIMIT ?",
                                 DB_P(DBI(SETTINGS_MAX + 1)));
    if (q == NULL)
        return -1;
    struct db_rows *a = db_query(db,
                                 "SELECT action, concurrency_limit, rate_limit, rate_interval_ms, "
                                 "backoff_base_ms, backoff_cap_ms FROM action_settings WHERE "
                                 "concurrency_limit IS NOT NULL OR rate_limit IS NOT NULL OR "
                                 "backoff_base_ms IS NOT NULL OR backoff_cap_ms IS NOT NULL "
                                 "ORDER BY action LIMIT ?",
                                 DB_P(DBI(SETTINGS_MAX + 1)));
    if (a == NULL) {
        db_rows_free(q);
        return -1;
    }
    int nq = q->n_rows > SETTINGS_MAX ? SETTINGS_MAX : q->n_rows;
    int na = a->n_rows > SETTINGS_MAX ? SETTINGS_MAX : a->n_rows;
    if (nq < q->n_rows)
        settings_warn_cut("queue_settings");
    if (na < a->n_rows)
        settings_warn_cut("action_settings");
    out->n_queues = nq;
    out->queues = xcalloc((size_t)(nq ? nq : 1), sizeof(*out->queues));
    for (int i = 0; i < nq; i++) {
        snprintf(out->queues[i].name, sizeof(out->queues[i].name), "%s", db_rows_get(q, i, 0));
        out->queues[i].paused = db_rows_int(q, i, 1, 0) != 0;
        settings_limits_from(q, i, 2, &out->queues[i].lim);
    }
    out->n_actions = na;
    out->actions = xcalloc((size_t)(na ? na : 1), sizeof(*out->actions));
    for (int i = 0; i < na; i++) {
        snprintf(out->actions[i].name, sizeof(out->actions[i].name), "%s", db_rows_get(a, i, 0));
        settings_limits_from(a, i, 1, &out->actions[i].lim);
        out->actions[i].backoff_base_ms = db_rows_int(a, i, 4, 0);
        out->actions[i].backoff_cap_ms = db_rows_int(a, i, 5, 0);
    }
    db_rows_free(q);
    db_rows_free(a);
    return 0;
}

void
settings_release(struct settings *s)
{
    free(s->queues);
    free(s->actions);
    memset(s, 0, sizeof(*s));
}

const struct queue_setting *
settings_queue(const struct settings *s, const char *queue)
{
    for (int i = 0; i < s->n_queues; i++)
        if (strcmp(s->queues[i].name, queue) == 0)
            return &s->queues[i];
    return NULL;
}

const struct action_setting *
settings_action(const struct settings *s, const char *action)
{
    for (int i = 0; i < s->n_actions; i++)
        if (strcmp(s->actions[i].name, action) == 0)
            return &s->actions[i];
    return NULL;
}

bool
settings_has_limits(const struct settings *s)
{
    for (int i = 0; i < s->n_queues; i++)
        if (s->queues[i].lim.concurrency > 0 || s->queues[i].lim.rate > 0)
            return true;
    for (int i = 0; i < s->n_actions; i++)
        if (s->actions[i].lim.concurrency > 0 || s->actions[i].lim.rate > 0)
            return true;
    return false;
}

int
settings_queue_pause(struct db *db, const char *queue, bool paused)
{
    return db_exec(
        db,
        "INSERT INTO queue_settings (queue, is_paused, dt_updated) VALUES (?, ?, NOW(6)) "
        "ON DUPLICATE KEY UPDATE is_paused = VALUES(is_paused), dt_updated = NOW(6)",
        DB_P(DBS(queue), DBI(paused ? 1 : 0)), NULL, NULL);
}

/* A limit field as a parameter: negative keeps the column (NULL in, COALESCE keeps), 0 clears. */
static struct db_param
settings_field(int64_t v)
{
    return v < 0 ? DBNULL : DBI(v);
}

int
settings_touch(struct db *db, bool queue, const char *name)
{
    char *sql = xasprintf("UPDATE %s SET dt_updated = NOW(6) WHERE %s = ?",
                          queue ? "queue_settings" : "action_settings", queue ? "queue" : "action");
    int rc = db_exec(db, sql, DB_P(DBS(name)), NULL, NULL);
    free(sql);
    return rc;
}

int64_t
settings_release_deferred(struct db *db, bool queue, const char *name)
{
    char *sql = xasprintf("UPDATE jobs SET run_at = NOW(6) + INTERVAL ? MICROSECOND, "
                          "limit_deferred = 0 WHERE state = 'pending' AND limit_deferred = 1 "
                          "AND %s COLLATE utf8mb4_bin = ? "
                          "AND run_at > NOW(6) + INTERVAL ? MICROSECOND LIMIT %d",
                          queue ? "queue" : "action", SETTINGS_RELEASE_BATCH);
    int64_t delay_us = (int64_t)SETTINGS_RELEASE_MS * 1000, total = 0;
    uint64_t n;
    do {
        n = 0;
        if (db_exec(db, sql, DB_P(DBI(delay_us), DBS(name), DBI(delay_us)), &n, NULL) < 0) {
            free(sql);
            return -1;
        }
        total += (int64_t)n;
    } while (n == SETTINGS_RELEASE_BATCH);
    free(sql);
    return total;
}

/* The scope's limits as its row has them (all 0 without a row) into *old; -1 on error. */
static int
settings_old_limits(struct db *db, bool queue, const char *name, struct limits *old)
{
    char *sql = xasprintf("SELECT COALESCE(concurrency_limit, 0), COALESCE(rate_limit, 0), "
                          "COALESCE(rate_interval_ms, 0) FROM %s WHERE %s = ?",
                          queue ? "queue_settings" : "action_settings", queue ? "queue" : "action");
    struct db_rows *r = db_query(db, sql, DB_P(DBS(name)));
    free(sql);
    if (r == NULL)
        return -1;
    *old = (struct limits){0};
    if (r->n_rows > 0)
        *old = (struct limits){.concurrency = (int)db_rows_int(r, 0, 0, 0),
                               .rate = (int)db_rows_int(r, 0, 1, 0),
                               .rate_interval_ms = db_rows_int(r, 0, 2, 0)};
    db_rows_free(r);
    return 0;
}

/* Whether setting the given fields of l (negative: kept) over old lets a job that waits for
 * old run sooner: a concurrency lifted or raised, a rate lifted, faster, or over a shorter
 * window. A tightened limit, or one the scope did not have, held no job back. */
static bool
settings_loosens(const struct limits *old, const struct limits *l)
{
    struct limits n = *old;
    if (l->concurrency >= 0)
        n.concurrency = l->concurrency;
    if (l->rate >= 0) {
        n.rate = l->rate;
        n.rate_interval_ms = l->rate_interval_ms >= 0 ? l->rate_interval_ms : 0;
    }
    bool conc = old->concurrency > 0 && (n.concurrency == 0 || n.concurrency > old->concurrency);
    bool rate = old->rate > 0 && old->rate_interval_ms > 0 &&
                (n.rate == 0 || n.rate_interval_ms < old->rate_interval_ms ||
                 (double)n.rate * (double)old->rate_interval_ms >
                     (double)old->rate * (double)n.rate_interval_ms);
    return conc || rate;
}

/* The limits' part of a settings row's UPDATE, and its parameters for the limits l: a field of
 * l given (>= 0) replaces the column, 0 clearing it; one not given (NULL) keeps it. */
#define SETTINGS_LIMITS_SET                                                                        \
    "concurrency_limit = IF(? IS NULL, concurrency_limit, NULLIF(?, 0)), "                         \
    "rate_limit = IF(? IS NULL, rate_limit, NULLIF(?, 0)), "                                       \
    "rate_interval_ms = IF(? IS NULL, rate_interval_ms, NULLIF(?, 0)), "
#define SETTINGS_LIMITS_PARAMS(l)                                                                  \
    settings_field((l)->concurrency), settings_field((l)->concurrency), settings_field((l)->rate), \
        settings_field((l)->rate), settings_field((l)->rate_interval_ms),                          \
        settings_field((l)->rate_interval_ms)

int
settings_queue_limit(struct db *db, const char *queue, const struct limits *l)
{
    struct limits old;
    if (settings_old_limits(db, true, queue, &old) < 0)
        return -1;
    if (db_exec(db,
                "INSERT IGNORE INTO queue_settings (queue, is_paused, dt_updated) "
                "VALUES (?, 0, NOW(6))",
                DB_P(DBS(queue)), NULL, NULL) < 0)
        return -1;
    if (db_exec(db,
                "UPDATE queue_settings SET " SETTINGS_LIMITS_SET
                "dt_updated = NOW(6) WHERE queue = ?",
                DB_P(SETTINGS_LIMITS_PARAMS(l), DBS(queue)), NULL, NULL) < 0)
        return -1;
    return settings_loosens(&old, l) ? 1 : 0;
}

int
settings_action_set(struct db *db, const char *action, const struct limits *l,
                    int64_t backoff_base_ms, int64_t backoff_cap_ms)
{
    struct limits old;
    if (settings_old_limits(db, false, action, &old) < 0)
        return -1;
    if (db_exec(db, "INSERT IGNORE INTO action_settings (action, dt_updated) VALUES (?, NOW(6))",
                DB_P(DBS(action)), NULL, NULL) < 0)
        return -1;
    if (db_exec(db,
                "UPDATE action_settings SET " SETTINGS_LIMITS_SET
                "backoff_base_ms = IF(? IS NULL, backoff_base_ms, NULLIF(?, 0)), "
                "backoff_cap_ms = IF(? IS NULL, backoff_cap_ms, NULLIF(?, 0)), "
                "dt_updated = NOW(6) WHERE action = ?",
                DB_P(SETTINGS_LIMITS_PARAMS(l), settings_field(backoff_base_ms),
                     settings_field(backoff_base_ms), settings_field(backoff_cap_ms),
                     settings_field(backoff_cap_ms), DBS(action)),
                NULL, NULL) < 0)
        return -1;
    return settings_loosens(&old, l) ? 1 : 0;
}

int
settings_parse_rate(const char *s, int *rate, int64_t *interval_ms)
{
    if (strcmp(s, "none") == 0) {
        *rate = 0;
        *interval_ms = 0;
        return 0;
    }
    const char *slash = strchr(s, '/');
    if (slash == NULL)
        return -1;
    char *n = xstrndup(s, (size_t)(slash - s));
    int64_t r;
    int rc = parse_int64(n, 1, 1000000, &r);
    free(n);
    if (rc < 0)
        return -1;
    const char *d = slash + 1;
    int64_t secs;
    if (strcmp(d, "s") == 0 || strcmp(d, "m") == 0 || strcmp(d, "h") == 0) {
        char one[4] = {'1', d[0], '\0', '\0'};
        if (parse_duration_s(one, &secs) < 0)
            return -1;
    } else if (parse_duration_s(d, &secs) < 0 || secs <= 0 || secs > SETTINGS_RATE_WINDOW_MAX_S) {
        return -1;
    }
    *rate = (int)r;
    *interval_ms = secs * 1000;
    return 0;
}
