/* Random identifiers: UUIDs and random bytes. */
#ifndef JOBFLEET_IDS_H
#define JOBFLEET_IDS_H

#include <stddef.h>

/* Fills buf with n cryptographically random bytes. */
void ids_random(void *buf, size_t n);
/* Writes a new random (version 4) UUID, lower-case, NUL-terminated, into out (37 bytes). */
void ids_uuid(char out[37]);

#endif
