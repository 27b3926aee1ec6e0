/* The ticket store's SQL ([db.tickets], deploy/sql/tickets/): the department → company map,
 * the ticket_details rows the sync upserts and the read API returns, and the sync watermarks. */
#ifndef JOBFLEET_TICKET_STORE_H
#define JOBFLEET_TICKET_STORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* What ticket_details' columns hold (deploy/sql/tickets/001_init.sql, all utf8mb4): a
 * migration that changes one of them changes its limit here. Characters are code points. */
#define TICKET_SUBJECT_MAX_CHARS 512         /* subject VARCHAR(512) */
#define TICKET_PERSON_MAX_CHARS 255          /* requester_name, requester_email VARCHAR(255) */
#define TICKET_MEDIUMTEXT_MAX_BYTES 16777215 /* description, description_text MEDIUMTEXT */
#define TICKET_HOURS_MAX 99999999.99         /* total_hours_spent DECIMAL(10,2) */

/* One ticket_details row. Strings are borrowed; times are "YYYY-MM-DD HH:MM:SS" UTC or NULL;
 * conversations and notes are JSON array texts. */
struct ticket_row {
    int64_t ticket_id;
    const char *company_account_number;
    const char *ticket_number;
    const char *subject;
    const char *description;
    const char *description_text;
    const char *status;
    const char *priority;
    const char *requester_email;
    const char *requester_name;
    const char *created_at;
    const char *last_updated_at;
    const char *closed_at;
    double total_hours_spent;
    const char *conversations;
    const char *notes;
};

/* A department's company, from department_companies. */
struct ticket_dept {
    int64_t department_id;
    char *account_number;
};

/* Reads the whole department → company map (small: one row per department). Returns the
 * count and an array in *out (free with ticket_depts_free), or -1. */
int ticket_store_depts(struct db *db, struct ticket_dept **out);
void ticket_depts_free(struct ticket_dept *d, int n);
/* The account number of a department, or NULL when it is unmapped. */
const char *ticket_dept_company(const struct ticket_dept *d, int n, int64_t department_id);

/* Inserts or updates one row. stored_before tells whether the store held the ticket (the
 * caller read it with ticket_store_stamps): the fleet's connections count found rows
 * (CLIENT_FOUND_ROWS), so an update that changes nothing and an insert both report one row.
 * *changed is 1 when the row was inserted or a column changed, 0 when the stored row already
 * equalled it. Returns 0 or -1. */
int ticket_store_upsert(struct db *db, const struct ticket_row *r, bool stored_before,
                        int *changed);

/* What ticket_store_upsert_kept did with a row. */
enum ticket_kept {
    TICKET_KEPT_OK = 0,    /* written */
    TICKET_KEPT_REFUSED,   /* refused for its values; nothing of it written, the transaction
                              goes on */
    TICKET_KEPT_TX_GONE,   /* refused, and the server closed the connection over it (a packet
                              over max_allowed_packet), taking the transaction with it: roll
                              back, and run it again without this row */
    TICKET_KEPT_ERROR = -1 /* any other error (db_errstr): roll the transaction back */
};

/* As ticket_store_upsert, inside the caller's transaction (one is open), under a savepoint, so
 * that a row the store refuses for its values (db_data_error: too long, out of range, not
 * UTF-8, too large a packet) costs only itself. The reason of a refusal goes into why (len
 * bytes). */
enum ticket_kept ticket_store_upsert_kept(struct db *db, const struct ticket_row *r,
                                          bool stored_before, int *changed, char *why, size_t len);

/* The stored last_updated_at ("YYYY-MM-DD HH:MM:SS") of each of ids into stamps[i] (21 bytes
 * each; "" for a ticket not stored). Returns 0 or -1. */
int ticket_store_stamps(struct db *db, const int64_t *ids, int n, char (*stamps)[21]);

/* The watermark of a sync as UTC seconds into *t: 0 when it has none, -1 when the stored one
 * is not a time after 1970 (unreadable, a zero date, 1969-12-31 23:59:59). Returns 0, or -1
 * on a database error (db_errstr). */
int ticket_store_watermark(struct db *db, const char *name, int64_t *t);
/* Sets the watermark of a sync (UTC seconds, > 0: the caller never passes another), in the
 * caller's transaction if one is open. */
int ticket_store_set_watermark(struct db *db, const char *name, int64_t t);

/* One company's tickets, newest first, as the read API returns them: ticket objects with
 * conversations and notes as arrays. year 0: every year; else those created in that year
 * (UTC). At most limit rows. NULL on error. */
cJSON *ticket_store_company_tickets(struct db *db, const char *account_number, int year, int limit);

#endif
