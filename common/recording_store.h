/* The recordings store ([db.recordings], deploy/sql/recordings/): call recordings, their ticket
 * link and its cloud sync state, and the CSV uploads of POST /api/recordings/link-csv. The one
 * home of that SQL. */
#ifndef JOBFLEET_RECORDING_STORE_H
#define JOBFLEET_RECORDING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_rows;

/* The ticket fields of a recording, in the order of REC_F_* (linked_at last: set by a link). */
#define REC_N_TICKET 8
extern const char *const rec_ticket_fields[REC_N_TICKET];
enum { REC_F_TICKET_ID = 0, REC_F_LINKED_AT = 7 };

struct rec_row {
    int64_t id;
    char *folder_uuid, *filename, *size, *token, *transcribe, *clouds_uuid;
    int transfer_cloud;
    char *ticket[REC_N_TICKET]; /* NULL when unset */
    char *info_hash;            /* ticket_info_hash: what marking it synced records */
};

/* The folder's recordings in id order: all of them (which < 0), only those not yet in the
 * cloud (which == 0) or only those in it (which == 1). Release with rec_rows_free. 0 or -1. */
int rec_folder_rows(struct db *db, const char *folder_uuid, int which, struct rec_row **out,
                    int *n);
void rec_rows_free(struct rec_row *r, int n);
/* The folder of a recording into out (65 bytes). 1 found, 0 no such recording, -1 error. */
int rec_folder_of(struct db *db, int64_t recording_id, char *out);

/* Records a 2xx update: ticket_hash = hash, ticket_synced_at = now. 0 or -1. */
int rec_mark_synced(struct db *db, int64_t id, const char *hash);
/* Records a 2xx first upload: transfer_cloud = 1, clouds_uuid, and when hash is not NULL (the
 * ticket info went with it) ticket_hash and ticket_synced_at. 0 or -1. */
int rec_mark_uploaded(struct db *db, int64_t id, const char *clouds_uuid, const char *hash);

/* Links a recording, by id (filename NULL) or by filename, to a ticket: sets the seven ticket
 * fields given (values[0..6], NULL clears) and linked_at = now. Reports whether it is in the
 * cloud and its folder (65 bytes). 1 linked, 0 no such recording, -1 error. */
int rec_link(struct db *db, int64_t id, const char *filename, const char *const *values,
             bool *in_cloud, char *folder);

/* The folders with a recording in the cloud, linked to a ticket, whose ticket info changed
 * since its last 2xx update (or was never sent): one text column, folder_uuid. NULL on error. */
struct db_rows *rec_folders_to_update(struct db *db);
/* How many of one folder's recordings rec_folders_to_update would send: in the cloud, linked,
 * their ticket info changed since its last 2xx update. The count, or -1 on error. */
int64_t rec_folder_stale(struct db *db, const char *folder_uuid);

/* Stores a CSV upload; its id into *id. 0 or -1. */
int rec_csv_store(struct db *db, const char *body, int64_t *id);
/* A stored CSV upload's text (the caller frees); NULL when absent (*found 0) or on error. */
char *rec_csv_load(struct db *db, int64_t id, int *found);
/* Deletes CSV uploads received more than days ago, at most 1,000 at a time; how many, or -1.
 * Nothing else deletes them, and each holds a whole upload (up to max_body_bytes). */
int64_t rec_csv_prune(struct db *db, int days);

#endif
