/* libFuzzer target: the JSON string escaper (common/json_escape.c). For UTF-8 input without
 * NUL the literal it writes must parse back, with cJSON, to the very same bytes. */
#include "json_escape.h"
#include "utf8.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf b;
    buf_init(&b, 0);
    json_escape_append(&b, (const char *)data, size);
    buf_append(&b, "", 0);
    if (utf8_valid((const char *)data, size)) {
        cJSON *j = cJSON_ParseWithLength(b.data, b.len);
        if (j == NULL || !cJSON_IsString(j) || strlen(j->valuestring) != size ||
            memcmp(j->valuestring, data, size) != 0)
            abort();
        cJSON_Delete(j);
    }
    buf_release(&b);
    return 0;
}
