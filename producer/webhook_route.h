/* Webhook sources and routing (webhook_route.c): the checked [webhook.<source>] sections and
 * the mapping of a webhook path to its source and action. */
#ifndef JOBFLEET_WEBHOOK_ROUTE_H
#define JOBFLEET_WEBHOOK_ROUTE_H

#include <stddef.h>

#include "cfg.h"

enum webhook_auth_kind {
    WEBHOOK_AUTH_NONE,
    WEBHOOK_AUTH_HMAC,
    WEBHOOK_AUTH_TOKEN,
    WEBHOOK_AUTH_BASIC
};

#define WEBHOOK_MAX_SEGMENTS 6
#define WEBHOOK_MAX_IDEM_FIELDS 8

/* One [webhook.<source>] section, checked. Strings are owned. */
struct webhook_source {
    char *name;   /* the <source> label */
    char *prefix; /* path_prefix, e.g. "clickup" or "desk/tickets" */
    int n_prefix; /* segments in prefix */
    enum webhook_auth_kind auth;
    char *secret;           /* hmac-sha256 key */
    char *signature_header; /* lower-case */
    char *timestamp_header; /* lower-case, NULL when none */
    int tolerance_s;
    char *token_header; /* lower-case */
    char *token;
    char *username;
    char *password;
    int n_idem;
    char *idem_fields[WEBHOOK_MAX_IDEM_FIELDS]; /* JSON pointers */
};

/* Reads every [webhook.<source>] section. On a missing or bad key writes one line naming the
 * file and line, section and key to err and returns -1 (nothing to free then). */
int webhook_sources_load(const struct cfg *c, struct webhook_source **out, int *n, char *err,
                         size_t errlen);
/* Logs a warning for each key of a [webhook.<source>] section that its auth does not read (a
 * secret beside auth = none, a token_header beside hmac-sha256): the operator believes it in
 * force. Sections whose auth is missing or unknown are webhook_sources_load's to refuse. */
void webhook_sources_warn_unused(const struct cfg *c);
/* Frees the n sources of s (from webhook_sources_load) and the array; accepts NULL. */
void webhook_sources_free(struct webhook_source *s, int n);

/* Maps the part of a path after "/webhook/" to its action: 1-6 segments of [a-z0-9-] (no
 * leading, trailing or doubled hyphen), each kebab->Pascal, joined by "/", then "/Webhook"
 * appended ("clickup/task-update" -> "Clickup/TaskUpdate/Webhook"). Returns the number of
 * segments, or -1 when the path is malformed, with the reason in err. */
int webhook_route_action(const char *rest, char *action_out, size_t len, char *err, size_t errlen);

/* The source whose path_prefix covers the path (the longest one), or NULL. */
const struct webhook_source *webhook_route_source(const struct webhook_source *s, int n,
                                                  const char *rest);

#endif
