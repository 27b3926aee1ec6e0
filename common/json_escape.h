/* Writing a JSON string literal straight into a buffer, for hot paths that build JSON text
 * without a cJSON tree (the producer's webhook parameters). */
#ifndef JOBFLEET_JSON_ESCAPE_H
#define JOBFLEET_JSON_ESCAPE_H

#include <stddef.h>

#include "util.h"

/* Appends s[0..n) to b as a JSON string literal, quotes included, escaped exactly as cJSON
 * prints a string: '"' and '\\' with a backslash, \b \f \n \r \t by name, other bytes below
 * 0x20 as \u00xx (lower-case hex), every other byte as it is (bytes of 0x80 and up are not
 * checked: UTF-8 in gives UTF-8 out). Unlike cJSON, a NUL byte is written as \u0000 rather
 * than ending the string. b's maximum applies as buf_append's does: a literal that does not
 * fit is cut where the buffer refused. */
void json_escape_append(struct buf *b, const char *s, size_t n);

#endif
