/* Unique identifiers from libuuid. */
#ifndef JOBFLEET_IDS_H
#define JOBFLEET_IDS_H

/* Writes a new random UUID, lower-case, NUL-terminated, into out (37 bytes). */
void ids_uuid(char out[37]);

#endif
