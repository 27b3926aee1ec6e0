/* A ticket_details row made from what Freshservice returned for one ticket. */
#ifndef JOBFLEET_TICKETS_ROW_H
#define JOBFLEET_TICKETS_ROW_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "ticket_store.h"

/* The row and the strings it points to. */
struct tickets_row {
    struct ticket_row row;
    char *strings[12]; /* owned: freed by tickets_row_release */
    int n_strings;
    bool stored_before; /* the store held the ticket before this run (set by the caller) */
};

/* Makes the row of ticket (a Freshservice ticket object, with "stats" when listed with
 * include=stats) of company, from its conversations and time entries (arrays; conversation
 * bodies turned into text, public ones into "conversations", private ones into "notes", oldest
 * first) and its requester's name and email (may be NULL). Borrows ticket and company for the
 * row's life. */
void tickets_row_make(struct tickets_row *tr, const cJSON *ticket, const char *company,
                      const cJSON *conversations, const cJSON *time_entries, const char *name,
                      const char *email);
void tickets_row_release(struct tickets_row *tr);

/* The integer member key of a Freshservice object; 0 when absent, not a whole number, or past
 * ±2^53 (a service's answer is checked like any input from outside). */
int64_t tickets_int(const cJSON *o, const char *key);
/* A Freshservice time ("2015-01-19T02:00:00Z") as UTC seconds, > 0; -1 when absent, unreadable
 * or not after 1970-01-01T00:00:00Z. */
int64_t tickets_time(const cJSON *v);

#endif
