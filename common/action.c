/* This file holds the installed action catalogue and its lookups. */
#include "action.h"

#include <string.h>

static const struct action_info *catalogue;
static int catalogue_n;

void
action_catalogue_set(const struct action_info *table, int n)
{
    catalogue = table;
    catalogue_n = n;
}

const struct action_info *
action_find(const char *action, bool test_actions)
{
    for (int i = 0; action && i < catalogue_n; i++) {
        const struct action_info *a = &catalogue[i];
        if ((!a->test_only || test_actions) && strcmp(a->action, action) == 0)
            return a;
    }
    return NULL;
}

const struct action_info *
action_at(int i, bool test_actions)
{
    for (int j = 0; j < catalogue_n; j++) {
        const struct action_info *a = &catalogue[j];
        if (a->test_only && !test_actions)
            continue;
        if (i-- == 0)
            return a;
    }
    return NULL;
}

bool
action_is_webhook(const struct action_info *a)
{
    size_t n = strlen(a->action);
    return n > 8 && strcmp(a->action + n - 8, "/Webhook") == 0;
}
