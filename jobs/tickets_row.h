/* A ticket_details row made from what Freshservice returned for one ticket. */
#ifndef JOBFLEET_TICKETS_ROW_H
#define JOBFLEET_TICKETS_ROW_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "ticket_store.h"

/* The strings a row may own: its own nine, four fitted copies, and two its maker adds. */
#define TICKETS_ROW_STRINGS 15

/* The row and the strings it points to. */
struct tickets_row {
    struct ticket_row row;
    char *strings[TICKETS_ROW_STRINGS]; /* owned: freed by tickets_row_release */
    int n_strings;
    bool stored_before; /* the store held the ticket before this run (set by the caller) */
    char fitted[96];    /* the columns whose values were changed to fit, "" when none */
};

/* Makes the row of ticket (a Freshservice ticket object, with "stats" when listed with
 * include=stats) of company, from its conversations and time entries (arrays; conversation
 * bodies turned into text, public ones into "conversations", private ones into "notes", oldest
 * first) and its requester's name and email (may be NULL). Borrows ticket, company, name and
 * email for the row's life.
 *
 * Values are made to fit their columns (ticket_store.h), as the store refuses a whole row for
 * one that does not: bytes that are not UTF-8 become '?' in every text; subject, requester
 * name and the texts are cut at a character boundary to their column; an email that is not
 * UTF-8 or longer than its column is left out (NULL: a cut address is a wrong one). Their
 * columns are named in tr->fitted. Returns 0, or -1 with err written and no row (release it
 * all the same) when a value cannot be made to fit: total hours past TICKET_HOURS_MAX, which
 * neither the column nor a bill should take cut. */
int tickets_row_make(struct tickets_row *tr, const cJSON *ticket, const char *company,
                     const cJSON *conversations, const cJSON *time_entries, const char *name,
                     const char *email, char *err, size_t len);
void tickets_row_release(struct tickets_row *tr);

/* The integer member key of a Freshservice object; 0 when absent, not a whole number, or past
 * ±2^53 (a service's answer is checked like any input from outside). */
int64_t tickets_int(const cJSON *o, const char *key);
/* A Freshservice time ("2015-01-19T02:00:00Z") as UTC seconds, > 0; -1 when absent, unreadable
 * or not after 1970-01-01T00:00:00Z. */
int64_t tickets_time(const cJSON *v);

#endif
