/* libFuzzer target: the idempotency pointer (common/jsonptr.c). The input is
 * "<pointer>\n<JSON document>"; any pointer on any document is looked up and printed without
 * reading or writing out of bounds. */
#include "jsonptr.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *nl = strchr(buf, '\n');
    const char *doc_text = "{}";
    if (nl) {
        *nl = '\0';
        doc_text = nl + 1;
    }
    cJSON *doc = cJSON_Parse(doc_text);
    if (doc) {
        const cJSON *it = jsonptr_get(doc, buf);
        char text[64];
        if (it)
            (void)jsonptr_text(it, text, sizeof(text));
        cJSON_Delete(doc);
    }
    free(buf);
    return 0;
}
