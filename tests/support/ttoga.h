/* Driving the TOGA 2 fake (tests/fakes/toga.py) from e2e tests: seeding tickets, notes and
 * files through its control API and reading its store and counters. */
#ifndef JOBFLEET_TTOGA_H
#define JOBFLEET_TTOGA_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct tfake;

/* POSTs doc to /_control/<what> (doc borrowed, NULL for {}); fails the test unless 200.
 * Returns the parsed answer (the caller deletes it). */
cJSON *ttoga_control(struct tfake *f, const char *what, const cJSON *doc);
/* Seeds one record (taken) into collection; returns its uuid (the caller frees). */
char *ttoga_seed(struct tfake *f, const char *collection, cJSON *record_take);
/* Seeds a ticket and a note on it (isExternal true); returns the note's uuid (caller frees). */
char *ttoga_note(struct tfake *f);
/* Seeds a file with these bytes and links it to the note; returns the file's uuid (caller
 * frees). */
char *ttoga_note_file(struct tfake *f, const char *note, const char *name, const void *bytes,
                      size_t len);
/* How many requests the fake counted for an endpoint ("POST /v2/files",
 * "GET /v2/ticket-notes/{uuid}/ticket-note-files"). */
int ttoga_count(struct tfake *f, const char *endpoint);
/* The files linked to the note, as {"name", "bytes" (decoded, as a string of that length in
 * "len")} objects in link order; the caller deletes the array. */
cJSON *ttoga_note_files(struct tfake *f, const char *note);

#endif
