/* libFuzzer target: the mapping of a webhook path to its action and source
 * (producer/webhook_route.c). Whatever the path, the action is either refused or made of
 * [A-Za-z0-9/] and ends in "/Webhook". */
#include "webhook_route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *rest = malloc(size + 1);
    memcpy(rest, data, size);
    rest[size] = '\0';
    char action[192], err[256];
    if (webhook_route_action(rest, action, sizeof(action), err, sizeof(err)) >= 0) {
        size_t n = strlen(action);
        if (n < 8 || strcmp(action + n - 8, "/Webhook") != 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!((action[i] >= 'a' && action[i] <= 'z') ||
                  (action[i] >= 'A' && action[i] <= 'Z') ||
                  (action[i] >= '0' && action[i] <= '9') || action[i] == '/'))
                abort();
    }
    static char a[] = "a", ab[] = "ab", a_b[] = "a/b";
    struct webhook_source src[2] = {{.name = a, .prefix = a, .n_prefix = 1},
                                    {.name = ab, .prefix = a_b, .n_prefix = 2}};
    (void)webhook_route_source(src, 2, rest);
    free(rest);
    return 0;
}
