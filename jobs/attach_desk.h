/* The TOGaDesk `files` table as the attachment copy reads and writes it ([db.desk]; API-FACTS
 * §6): a reply's attachments, inserted first with an empty `file`, completed with `file`,
 * `filetype` and `filesize` once the bytes are on disk. A row whose `file` is still empty is a
 * copy that stopped half-way. */
#ifndef JOBFLEET_ATTACH_DESK_H
#define JOBFLEET_ATTACH_DESK_H

#include <stdint.h>

struct db;

struct attach_desk_file {
    int64_t id;
    char *name;
    char *file; /* the stored name "{id}-{name}", "" while incomplete */
    int64_t size;
};

/* 1 when tickets_replies has the reply, 0 when not, -1 on a database error (db_errstr). */
int attach_desk_reply_exists(struct db *db, int64_t reply_id);
/* The reply's files in id order into *out (release with attach_desk_files_free). 0 or -1. */
int attach_desk_files(struct db *db, int64_t reply_id, struct attach_desk_file **out, int *n);
void attach_desk_files_free(struct attach_desk_file *f, int n);
/* Inserts the row of a file being copied (file empty); its id into *id. 0 or -1. */
int attach_desk_insert(struct db *db, int64_t reply_id, const char *name, int64_t *id);
/* Completes a row once its bytes are on disk. 0 or -1. */
int attach_desk_complete(struct db *db, int64_t id, const char *file, const char *filetype,
                         int64_t size);
/* Deletes a row a crashed copy left incomplete (only while its file is still empty). 0 or -1. */
int attach_desk_drop_partial(struct db *db, int64_t id);

/* The MIME type the desk shows for a file name, by its extension; application/octet-stream
 * when unknown. Static storage. */
const char *attach_mime_type(const char *name);

#endif
