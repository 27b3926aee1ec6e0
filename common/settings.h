/* Run-time settings of queues and actions: pause, fleet-wide concurrency and rate limits,
 * and retry backoff. The SQL of queue_settings and action_settings lives here. */
#ifndef JOBFLEET_SETTINGS_H
#define JOBFLEET_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Limits of one scope (a queue or an action); 0 means no limit. */
struct limits {
    int concurrency;
    int rate;
    int64_t rate_interval_ms;
};

struct queue_setting {
    char name[65];
    bool paused;
    struct limits lim;
};

struct action_setting {
    char name[192];
    struct limits lim;
    int64_t backoff_base_ms; /* 0: the action's registered default */
    int64_t backoff_cap_ms;
};

/* A snapshot of every setting row. */
struct settings {
    /* MariaDB's NOW(6) just before the rows were read: a row changed later (its dt_updated)
     * may not be in the snapshot. */
    char read_at[32];
    struct queue_setting *queues;
    int n_queues;
    struct action_setting *actions;
    int n_actions;
};

/* Reads every row; -1 on error (the old snapshot is kept by the caller). */
int settings_load(struct db *db, struct settings *out);
void settings_release(struct settings *s);
/* Lookups in a snapshot; NULL when the scope has no row. */
const struct queue_setting *settings_queue(const struct settings *s, const char *queue);
const struct action_setting *settings_action(const struct settings *s, const char *action);
/* True when any queue or action has a concurrency or rate limit. */
bool settings_has_limits(const struct settings *s);

/* Pauses or resumes a queue (creating its row). */
int settings_queue_pause(struct db *db, const char *queue, bool paused);
/* How often a worker reads the settings (worker/claim.c). */
#define SETTINGS_REFRESH_MS 500
/* The oldest settings a worker's claim goes by: read at most SETTINGS_REFRESH_MS before a pop
 * that waits up to a second for a job (worker/fetch.c), and read again before the claim when
 * older than this. A change reaches every claim within this long. */
#define SETTINGS_AGE_MAX_MS 1500
/* How far ahead a limit change puts the jobs it releases: past SETTINGS_AGE_MAX_MS, so that no
 * claim judges them by the old limit and sends them back for its whole window. */
#define SETTINGS_RELEASE_MS (SETTINGS_AGE_MAX_MS + 500)

/* Sets a queue's or an action's limits; a negative field leaves it unchanged, 0 clears it.
 * Returns 1 when the change loosens a limit the scope had (lifted, raised, a faster rate or a
 * shorter window): jobs that wait for the old one should be released
 * (settings_release_deferred). 0 when not, -1 on error. */
int settings_queue_limit(struct db *db, const char *queue, const struct limits *lim);
int settings_action_set(struct db *db, const char *action, const struct limits *lim,
                        int64_t backoff_base_ms, int64_t backoff_cap_ms);

/* Marks the scope's settings row changed now (db in autocommit): run after a change committed,
 * so that every snapshot read before the commit is older than the row, and a worker judging
 * by one defers no job of the scope (lifecycle_defer). The change's own dt_updated is from
 * before its commit, and a snapshot may be stamped between the two. */
int settings_touch(struct db *db, bool queue, const char *name);

/* Rows per statement of settings_release_deferred: each commits on its own, so that no lock
 * is held long over a big backlog. */
#define SETTINGS_RELEASE_BATCH 1000
/* Releases the jobs of a queue (queue true) or an action named name that wait in pending for
 * a full limit (lifecycle_defer), which would otherwise wait out the old limit (a rate's
 * window: up to 24 days): due SETTINGS_RELEASE_MS from each statement, in batches (db in
 * autocommit). Run it after the change committed, and once more SETTINGS_AGE_MAX_MS after
 * that commit: until then a worker may still defer a job by the old limit. Jobs of the scope
 * held by another limit are released too (the row does not say which limit held it) and wait
 * again. Returns how many, or -1 on error. */
int64_t settings_release_deferred(struct db *db, bool queue, const char *name);

/* The longest rate window: rate_interval_ms is an INT column (24 days and 20 hours). */
#define SETTINGS_RATE_WINDOW_MAX_S (INT32_MAX / 1000)

/* Parses a rate "N/DURATION" ("5/1s", "100/1m", "5/s"; N up to 1,000,000, DURATION up to
 * SETTINGS_RATE_WINDOW_MAX_S); "none" clears. -1 on error. */
int settings_parse_rate(const char *s, int *rate, int64_t *interval_ms);

#endif
