/* This file holds the table of job functions, made from actions.def. */
#include "registry.h"
#include "action.h"
#include "attach.h"
#include "cleanup.h"
#include "cloud.h"
#include "dispatch.h"
#include "effect.h"
#include "probe.h"
#include "system.h"
#include "tickets.h"
#include "togadesk.h"

#include <string.h>

struct registry_row {
    const char *action;
    job_fn *fn;
};

#define ACTION(name, fn, ...) {name, fn},

static const struct registry_row registry_table[] = {
#include "actions.def"
};

#define N_ROWS ((int)(sizeof(registry_table) / sizeof(registry_table[0])))

job_fn *
registry_find(const char *action, bool test_actions)
{
    if (action_find(action, test_actions) == NULL)
        return NULL;
    for (int i = 0; i < N_ROWS; i++)
        if (strcmp(registry_table[i].action, action) == 0)
            return registry_table[i].fn;
    return NULL;
}
