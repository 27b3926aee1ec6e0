/* What every process may know about an action without running it: its defaults and limits.
 * The table itself lives in jobs/ (jobs/actions.def); a program installs it once at start with
 * action_catalogue_set, so common/ reads action metadata without knowing any job function. */
#ifndef JOBFLEET_ACTION_H
#define JOBFLEET_ACTION_H

#include <stdbool.h>
#include <stdint.h>

struct action_info {
    const char *action;
    const char *queue; /* default queue */
    int max_attempts;  /* default attempts */
    int timeout_s;     /* default timeout */
    int64_t backoff_base_ms;
    int64_t backoff_cap_ms;
    bool test_only; /* known only with [worker] test_actions = true */
    /* When set, a job enqueued without a unique_key gets "<action>:<value>" made from these
     * parameters (comma-separated names), so two jobs for the same thing never wait at once
     * (e.g. "ticket_id" for a ticket sync). */
    const char *unique_by;
    const char *summary; /* one line for `jobfleet actions` */
};

/* Installs the table of n actions (borrowed for the life of the process). Call once, before
 * any other thread starts. */
void action_catalogue_set(const struct action_info *table, int n);

/* Finds an action; test-only actions are found only when test_actions is true. NULL when the
 * action is unknown or no catalogue was installed. */
const struct action_info *action_find(const char *action, bool test_actions);

/* The i-th visible action (from 0), or NULL past the end. */
const struct action_info *action_at(int i, bool test_actions);

/* True for an action that webhooks create: its name ends in "/Webhook" (DESIGN.md). */
bool action_is_webhook(const struct action_info *a);

#endif
