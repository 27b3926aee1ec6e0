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
/* Prints compactly; the caller frees the string. */
char *json_print(const cJSON *j);
/* The string member key of o, or dflt when o has none (or it is not a string). */
const char *json_str(const cJSON *o, const char *key, const char *dflt);
/* True when text parses as JSON; on failure writes where it broke into err. */
bool json_valid(const char *text, char *err, size_t errlen);

#endif
