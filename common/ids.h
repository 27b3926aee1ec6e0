/* Random identifiers: UUIDs and random bytes. */
#ifndef JOBFLEET_IDS_H
#define JOBFLEET_IDS_H

#include <stdbool.h>
#include <stddef.h>

/* Fills buf with n cryptographically random bytes. */
void ids_random(void *buf, size_t n);
/* Writes a new random (version 4) UUID, lower-case, NUL-terminated, into out (37 bytes). */
void ids_uuid(char out[37]);
/* Whether s may stand for a uuid another service gave us wherever it goes into a URL path or
 * JSON text: 1 to 64 characters, each a hex digit or '-'. Such answers are hostile until
 * checked: "../x?y" would send a later request to another route. */
bool ids_uuid_like(const char *s);

#endif
