/* This file holds the action metadata table, made from actions.def with no function pointers:
 * linking it pulls in no job function. */
#include "actions.h"

#include <stddef.h>

#define SEC(n) ((int64_t)(n)*1000)
#define ACTION(name, fn, queue, attempts, timeout, base, cap, test_only, unique_by, summary)       \
    {name, queue, attempts, timeout, base, cap, test_only, unique_by, summary},

static const struct action_info actions_table[] = {
#include "actions.def"
};

void
actions_install(void)
{
    action_catalogue_set(actions_table, (int)(sizeof(actions_table) / sizeof(actions_table[0])));
}
