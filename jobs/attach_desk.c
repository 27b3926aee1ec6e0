/* This file holds the SQL of the desk's files table for the attachment copy. */
#include "attach_desk.h"
#include "db.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
attach_desk_reply_exists(struct db *db, int64_t reply_id)
{
    struct db_rows *r =
        db_query(db, "SELECT id FROM tickets_replies WHERE id = ?", DB_P(DBI(reply_id)));
    if (r == NULL)
        return -1;
    int found = r->n_rows > 0;
    db_rows_free(r);
    return found;
}

int
attach_desk_files(struct db *db, int64_t reply_id, struct attach_desk_file **out, int *n)
{
    *out = NULL;
    *n = 0;
    struct db_rows *r = db_query(db,
                                 "SELECT id, name, file, filesize FROM files "
                                 "WHERE ticketreplyid = ? ORDER BY id",
                                 DB_P(DBI(reply_id)));
    if (r == NULL)
        return -1;
    *out = xcalloc((size_t)r->n_rows + 1, sizeof(**out));
    for (int i = 0; i < r->n_rows; i++) {
        struct attach_desk_file *f = &(*out)[i];
        f->id = db_rows_int(r, i, 0, 0);
        f->name = xstrdup(db_rows_get(r, i, 1) ? db_rows_get(r, i, 1) : "");
        f->file = xstrdup(db_rows_get(r, i, 2) ? db_rows_get(r, i, 2) : "");
        f->size = db_rows_int(r, i, 3, 0);
    }
    *n = r->n_rows;
    db_rows_free(r);
    return 0;
}

void
attach_desk_files_free(struct attach_desk_file *f, int n)
{
    for (int i = 0; f && i < n; i++) {
        free(f[i].name);
        free(f[i].file);
    }
    free(f);
}

int
attach_desk_insert(struct db *db, int64_t reply_id, const char *name, int64_t *id)
{
    uint64_t iid = 0;
    int rc = db_exec(db,
                     "INSERT INTO files (ticketreplyid, name, file, filetype, filesize) "
                     "VALUES (?, ?, '', '', 0)",
                     DB_P(DBI(reply_id), DBS(name)), NULL, &iid);
    *id = (int64_t)iid;
    return rc;
}

int
attach_desk_complete(struct db *db, int64_t id, const char *file, const char *filetype,
                     int64_t size)
{
    return db_exec(db, "UPDATE files SET file = ?, filetype = ?, filesize = ? WHERE id = ?",
                   DB_P(DBS(file), DBS(filetype), DBI(size), DBI(id)), NULL, NULL);
}

int
attach_desk_drop_partial(struct db *db, int64_t id)
{
    return db_exec(db, "DELETE FROM files WHERE id = ? AND file = ''", DB_P(DBI(id)), NULL, NULL);
}

const char *
attach_mime_type(const char *name)
{
    static const char *const map[][2] = {
        {"pdf", "application/pdf"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"txt", "text/plain"},
        {"csv", "text/csv"},
        {"html", "text/html"},
        {"zip", "application/zip"},
        {"doc", "application/msword"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xls", "application/vnd.ms-excel"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"eml", "message/rfc822"},
        {"mp3", "audio/mpeg"},
        {"wav", "audio/wav"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(dot + 1, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}
