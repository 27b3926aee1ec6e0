/* libFuzzer target: the cron parser (common/cron.c), and the next fire time of whatever it
 * accepts, in UTC and in a zone with DST. */
#include "cron.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = malloc(size + 1);
    memcpy(expr, data, size);
    expr[size] = '\0';
    struct cron_expr e;
    char err[256];
    if (cron_parse(expr, &e, err, sizeof(err)) == 0) {
        int64_t next;
        (void)cron_next(&e, "UTC", 1764676800, &next);
        (void)cron_next(&e, "Europe/Berlin", 1774744200, &next);
    }
    free(expr);
    return 0;
}
