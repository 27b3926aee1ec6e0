/* JSON Pointer (RFC 6901) lookup into cJSON documents, for webhook sources that name the
 * fields of a delivery that make it unique (e.g. "/ticket/id"). */
#ifndef JOBFLEET_JSONPTR_H
#define JOBFLEET_JSONPTR_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* True when ptr is a well-formed pointer: "" (the whole document) or "/"-separated reference
 * tokens whose "~" escapes are only "~0" and "~1". */
bool jsonptr_valid(const char *ptr);

/* The item ptr points at inside root (borrowed from root), or NULL when ptr is malformed or
 * names nothing. Array elements are addressed by decimal index without leading zeros. */
const cJSON *jsonptr_get(const cJSON *root, const char *ptr);

/* Writes a scalar item as text into out: strings as they are, numbers without a trailing
 * ".0", true/false, and other items (objects, arrays, null) as compact JSON. Returns -1 when
 * the text does not fit in len bytes, -2 for an integer of 2^53 or more in magnitude (parsed
 * as a double, two such integers may be one value: their texts would not tell them apart). */
int jsonptr_text(const cJSON *item, char *out, size_t len);

#endif
