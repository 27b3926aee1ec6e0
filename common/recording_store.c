/* This file holds the SQL of the recordings store. */
#include "recording_store.h"
#include "db.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rec_ticket_fields[REC_N_TICKET] = {"ticket_id",    "ticket_url",  "customer_name",
                                                     "agent_name",   "call_intent", "call_outcome",
                                                     "display_name", "linked_at"};

#define REC_COLS                                                                                   \
    "id, folder_uuid, filename, size, token, transcribe, clouds_uuid, transfer_cloud, "            \
    "ticket_id, ticket_url, customer_name, agent_name, call_intent, call_outcome, "                \
    "display_name, DATE_FORMAT(linked_at, '%Y-%m-%dT%H:%i:%sZ'), ticket_info_hash"

static char *
rec_dup(const struct db_rows *r, int row, int col)
{
    const char *v = db_rows_get(r, row, col);
    return v ? xstrdup(v) : NULL;
}

int
rec_folder_rows(struct db *db, const char *folder_uuid, int which, struct rec_row **out, int *n)
{
    static const char *const sql[] = {
        "SELECT " REC_COLS " FROM recordings WHERE folder_uuid = ? ORDER BY id",
        "SELECT " REC_COLS " FROM recordings WHERE folder_uuid = ? AND transfer_cloud = 0 "
        "ORDER BY id",
        "SELECT " REC_COLS " FROM recordings WHERE folder_uuid = ? AND transfer_cloud = 1 "
        "AND clouds_uuid IS NOT NULL ORDER BY id"};
    *out = NULL;
    *n = 0;
    struct db_rows *r = db_query(db,
                                 sql[which < 0    ? 0
                                     : which == 0 ? 1
                                                  : 2],
                                 DB_P(DBS(folder_uuid)));
    if (r == NULL)
        return -1;
    *out = xcalloc((size_t)r->n_rows + 1, sizeof(**out));
    for (int i = 0; i < r->n_rows; i++) {
        struct rec_row *x = &(*out)[i];
        x->id = db_rows_int(r, i, 0, 0);
        x->folder_uuid = rec_dup(r, i, 1);
        x->filename = rec_dup(r, i, 2);
        x->size = rec_dup(r, i, 3);
        x->token = rec_dup(r, i, 4);
        x->transcribe = rec_dup(r, i, 5);
        x->clouds_uuid = rec_dup(r, i, 6);
        x->transfer_cloud = (int)db_rows_int(r, i, 7, 0);
        for (int k = 0; k < REC_N_TICKET; k++)
            x->ticket[k] = rec_dup(r, i, 8 + k);
        x->info_hash = rec_dup(r, i, 16);
    }
    *n = r->n_rows;
    db_rows_free(r);
    return 0;
}

void
rec_rows_free(struct rec_row *r, int n)
{
    for (int i = 0; r && i < n; i++) {
        free(r[i].folder_uuid);
        free(r[i].filename);
        free(r[i].size);
        free(r[i].token);
        free(r[i].transcribe);
        free(r[i].clouds_uuid);
        free(r[i].info_hash);
        for (int k = 0; k < REC_N_TICKET; k++)
            free(r[i].ticket[k]);
    }
    free(r);
}

int
rec_folder_of(struct db *db, int64_t recording_id, char *out)
{
    struct db_rows *r =
        db_query(db, "SELECT folder_uuid FROM recordings WHERE id = ?", DB_P(DBI(recording_id)));
    if (r == NULL)
        return -1;
    int found = r->n_rows > 0;
    if (found)
        snprintf(out, 65, "%s", db_rows_get(r, 0, 0));
    db_rows_free(r);
    return found;
}

int
rec_mark_synced(struct db *db, int64_t id, const char *hash)
{
    return db_exec(db,
                   "UPDATE recordings SET ticket_hash = ?, ticket_synced_at = UTC_TIMESTAMP(6) "
                   "WHERE id = ?",
                   DB_P(DBS(hash), DBI(id)), NULL, NULL);
}

int
rec_mark_uploaded(struct db *db, int64_t id, const char *clouds_uuid, const char *hash)
{
    if (hash)
        return db_exec(
            db,
            "UPDATE recordings SET transfer_cloud = 1, clouds_uuid = ?, ticket_hash = ?, "
            "ticket_synced_at = UTC_TIMESTAMP(6) WHERE id = ?",
            DB_P(DBS(clouds_uuid), DBS(hash), DBI(id)), NULL, NULL);
    return db_exec(db, "UPDATE recordings SET transfer_cloud = 1, clouds_uuid = ? WHERE id = ?",
                   DB_P(DBS(clouds_uuid), DBI(id)), NULL, NULL);
}

int
rec_link(struct db *db, int64_t id, const char *filename, const char *const *v, bool *in_cloud,
         char *folder)
{
    const char *set = "UPDATE recordings SET ticket_id = ?, ticket_url = ?, customer_name = ?, "
                      "agent_name = ?, call_intent = ?, call_outcome = ?, display_name = ?, "
                      "linked_at = UTC_TIMESTAMP() WHERE ";
    char *sql = xasprintf("%s%s", set, filename ? "filename = ?" : "id = ?");
    struct db_param p[8] = {DBS(v[0]), DBS(v[1]), DBS(v[2]), DBS(v[3]),
                            DBS(v[4]), DBS(v[5]), DBS(v[6]), filename ? DBS(filename) : DBI(id)};
    int rc = db_exec(db, sql, p, 8, NULL, NULL);
    free(sql);
    if (rc < 0)
        return -1;
    struct db_rows *r =
        filename ? db_query(db,
                            "SELECT folder_uuid, transfer_cloud = 1 AND clouds_uuid IS NOT NULL "
                            "FROM recordings WHERE filename = ?",
                            DB_P(DBS(filename)))
                 : db_query(db,
                            "SELECT folder_uuid, transfer_cloud = 1 AND clouds_uuid IS NOT NULL "
                            "FROM recordings WHERE id = ?",
                            DB_P(DBI(id)));
    if (r == NULL)
        return -1;
    int found = r->n_rows > 0;
    if (found) {
        snprintf(folder, 65, "%s", db_rows_get(r, 0, 0));
        *in_cloud = db_rows_int(r, 0, 1, 0) == 1;
    }
    db_rows_free(r);
    return found;
}

/* A recording whose ticket info the cloud has not taken yet. */
#define REC_STALE                                                                                  \
    "transfer_cloud = 1 AND ticket_id IS NOT NULL AND clouds_uuid IS NOT NULL "                    \
    "AND (ticket_hash IS NULL OR ticket_hash <> ticket_info_hash)"

struct db_rows *
rec_folders_to_update(struct db *db)
{
    return db_query(
        db, "SELECT DISTINCT folder_uuid FROM recordings WHERE " REC_STALE " ORDER BY folder_uuid",
        DB_NOP);
}

int64_t
rec_folder_stale(struct db *db, const char *folder_uuid)
{
    struct db_rows *r =
        db_query(db, "SELECT COUNT(*) FROM recordings WHERE folder_uuid = ? AND " REC_STALE,
                 DB_P(DBS(folder_uuid)));
    int64_t n = r && r->n_rows ? db_rows_int(r, 0, 0, 0) : -1;
    db_rows_free(r);
    return n;
}

int
rec_csv_store(struct db *db, const char *body, int64_t *id)
{
    uint64_t iid = 0;
    int rc = db_exec(db, "INSERT INTO recording_csv_uploads (body) VALUES (?)", DB_P(DBS(body)),
                     NULL, &iid);
    *id = (int64_t)iid;
    return rc;
}

int64_t
rec_csv_prune(struct db *db, int days)
{
    uint64_t n = 0;
    if (db_exec(db,
                "DELETE FROM recording_csv_uploads WHERE received_at < UTC_TIMESTAMP(6) - "
                "INTERVAL ? DAY ORDER BY id LIMIT 1000",
                DB_P(DBI(days)), &n, NULL) < 0)
        return -1;
    return (int64_t)n;
}

char *
rec_csv_load(struct db *db, int64_t id, int *found)
{
    *found = 0;
    struct db_rows *r =
        db_query(db, "SELECT body FROM recording_csv_uploads WHERE id = ?", DB_P(DBI(id)));
    if (r == NULL)
        return NULL;
    char *s = NULL;
    if (r->n_rows > 0) {
        *found = 1;
        s = rec_dup(r, 0, 0);
    }
    db_rows_free(r);
    return s;
}
