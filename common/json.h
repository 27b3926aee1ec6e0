/* Small cJSON helpers shared by the CLI, the API and the job functions. */
#ifndef JOBFLEET_JSON_H
#define JOBFLEET_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Row r of a result as a JSON object keyed by column name; numeric columns become numbers,
 * NULL becomes null, DATETIME text stays text. The caller owns the object. */
cJSON *json_from_row(const struct db_rows *rows, int r);
/* Every row as a JSON array of objects. */
cJSON *json_from_rows(const struct db_rows *rows);
/* Prints compactly, whole numbers with all their digits; the caller frees the string. */
char *json_print(const cJSON *j);
/* The first number in j (itself or nested in it) that its double does not hold
 * exactly as sent, or NULL: one not finite (1e400), or a whole number of 2^53 or more in
 * magnitude (past it, neighbouring integers read as one double). */
const cJSON *json_inexact_number(const cJSON *j);
/* True when the JSON text (len bytes) holds a NUL character: a raw NUL byte or the escape
 * \u0000. cJSON ends a string at it, so what follows would be dropped without a word, and two
 * strings that differ only past it would compare equal. */
bool json_text_has_nul(const char *text, size_t len);
/* What a refusal of such text says after naming it: "parameters hold " JSON_NUL_REFUSED. */
#define JSON_NUL_REFUSED                                                                           \
    "a NUL character (\\u0000), which jobfleet cannot keep in a string: leave it out"
/* True, with err naming it ("parameters: \"id\" is a number ..."), when a job's parameters
 * (NULL: none) hold such a number: a client's input is refused for it rather than stored
 * rounded. */
bool json_params_inexact(const cJSON *params, char *err, size_t errlen);
/* The same for parameters given as JSON text (NULL: none); text that does not parse holds no
 * such number (its parse is checked elsewhere). */
bool json_text_params_inexact(const char *text, char *err, size_t errlen);
/* True when a and b hold the same value: numbers compared exactly (cJSON_Compare lets two
 * neighbouring ids past 2^52 pass for one), objects whatever their members' order, a name sent
 * twice matched occurrence by occurrence. */
bool json_equal(const cJSON *a, const cJSON *b);
/* The string member key of o, or dflt when o has none (or it is not a string). */
const char *json_str(const cJSON *o, const char *key, const char *dflt);
/* Largest magnitude a JSON number carries as an exact integer (2^53). */
#define JSON_INT_MAX 9007199254740992LL
/* True, with *out set, when v is a whole number in [lo, hi]; false for anything else (NULL, not
 * a number, a fraction, out of range), *out untouched. The range is checked before the
 * conversion: a double past the integer's range converts with undefined behaviour, and every
 * JSON number from outside (a request, a service's answer) may be one. */
bool json_int_of(const cJSON *v, int64_t lo, int64_t hi, int64_t *out);
/* The whole number at member key of o when it is in [lo, hi], dflt otherwise (as json_int_of). */
int64_t json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t dflt);
/* True when text parses as JSON; on failure writes where it broke into err. */
bool json_valid(const char *text, char *err, size_t errlen);

#endif
