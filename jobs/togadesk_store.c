/* This file holds the helpdesk sync's SQL on the TOGaDesk database (tickets, replies,
 * comments, history, the entity tables and the Category custom field). */
#include "togadesk_store.h"
#include "db.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one column of the first row as an integer: dflt when no row, -1 on error. */
static int64_t
store_int(struct db *db, const char *sql, const struct db_param *p, int n, int64_t dflt)
{
    struct db_rows *r = db_query(db, sql, p, n);
    if (r == NULL)
        return -1;
    int64_t v = r->n_rows ? db_rows_int(r, 0, 0, dflt) : dflt;
    db_rows_free(r);
    return v;
}

int
togadesk_store_ticket(struct db *db, const struct togadesk_ticket_row *r, int64_t *id, int *changed)
{
    *changed = 0;
    *id = store_int(db, "SELECT id FROM tickets WHERE referenceId = ? AND clientid = ? LIMIT 1",
                    DB_P(DBS(r->uuid), DBI(r->client_id)), 0);
    if (*id < 0)
        return -1;
    uint64_t n = 0, newid = 0;
    if (*id == 0) {
        if (db_exec(db,
                    "INSERT INTO tickets (clientid, departmentId, `timestamp`, referenceId, "
                    "ticketNumber, subject, status, priority, userid, assetid, lastupdated) "
                    "VALUES (?,?,?,?,LEFT(?, 64),LEFT(?, 512),LEFT(?, 32),LEFT(?, 32),?,?,?)",
                    DB_P(DBI(r->client_id), DBI(r->department_id), DBI(r->created), DBS(r->uuid),
                         DBS(r->number), DBS(r->subject), DBS(r->status), DBS(r->priority),
                         DBI(r->userid), DBI(r->assetid), DBI(r->updated)),
                    NULL, &newid) < 0)
            return -1;
        *id = (int64_t)newid;
        *changed = 1;
        return 0;
    }
    /* Only a real change is written (and counted): a re-run over the overlap changes nothing.
     * The department is the desk's to move, so it is left alone. Texts longer than the desk's
     * columns are cut to fit rather than failing the ticket on every run. */
    if (db_exec(db,
                "UPDATE tickets SET ticketNumber = LEFT(?, 64), subject = LEFT(?, 512), status = "
                "LEFT(?, 32), priority = LEFT(?, 32), userid = ?, assetid = ?, lastupdated = ? "
                "WHERE id = ? AND NOT (ticketNumber <=> LEFT(?, 64) AND subject <=> LEFT(?, 512) "
                "AND status <=> LEFT(?, 32) AND priority <=> LEFT(?, 32) AND userid <=> ? AND "
                "assetid <=> ? AND lastupdated <=> ?)",
                DB_P(DBS(r->number), DBS(r->subject), DBS(r->status), DBS(r->priority),
                     DBI(r->userid), DBI(r->assetid), DBI(r->updated), DBI(*id), DBS(r->number),
                     DBS(r->subject), DBS(r->status), DBS(r->priority), DBI(r->userid),
                     DBI(r->assetid), DBI(r->updated)),
                &n, NULL) < 0)
        return -1;
    *changed = n > 0;
    return 0;
}

int64_t
togadesk_store_ref_id(struct db *db, const char *table, const char *uuid)
{
    if (uuid == NULL)
        return 0;
    const char *sql = strcmp(table, "people") == 0 ? "SELECT id FROM people WHERE referenceId = ?"
                                                   : "SELECT id FROM assets WHERE referenceId = ?";
    return store_int(db, sql, DB_P(DBS(uuid)), 0);
}

int
togadesk_store_note_known(struct db *db, const char *note_uuid)
{
    int64_t n = store_int(db,
                          "SELECT (SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?) + "
                          "(SELECT COUNT(*) FROM comments WHERE referenceId = ?)",
                          DB_P(DBS(note_uuid), DBS(note_uuid)), 0);
    return n < 0 ? -1 : n > 0;
}

int
togadesk_store_reply_unlinked(struct db *db, int64_t desk_ticket, int64_t reply_id)
{
    int64_t n = store_int(db,
                          "SELECT COUNT(*) FROM tickets_replies WHERE id = ? AND ticketid = ? "
                          "AND referenceId IS NULL",
                          DB_P(DBI(reply_id), DBI(desk_ticket)), 0);
    return n < 0 ? -1 : n > 0;
}

int
togadesk_store_reply_link(struct db *db, int64_t reply_id, const char *note_uuid)
{
    return db_exec(db,
                   "UPDATE tickets_replies SET referenceId = ? WHERE id = ? AND referenceId IS "
                   "NULL",
                   DB_P(DBS(note_uuid), DBI(reply_id)), NULL, NULL);
}

int
togadesk_store_note_insert(struct db *db, bool external, int64_t desk_ticket, int64_t t,
                           const char *note_uuid, const char *text, int64_t *id)
{
    uint64_t newid = 0;
    const char *sql = external ? "INSERT INTO tickets_replies (ticketid, `timestamp`, "
                                 "referenceId, message) VALUES (?,?,?,?)"
                               : "INSERT INTO comments (ticketid, `timestamp`, referenceId, "
                                 "message) VALUES (?,?,?,?)";
    if (db_exec(db, sql, DB_P(DBI(desk_ticket), DBI(t), DBS(note_uuid), DBS(text)), NULL, &newid) <
        0)
        return -1;
    *id = (int64_t)newid;
    if (!external)
        return 0;
    return db_exec(db, "INSERT INTO tickets_history (ticketid, `timestamp`, action) VALUES (?,?,?)",
                   DB_P(DBI(desk_ticket), DBI(t), DBS("Reply added from TOGA 2")), NULL, NULL);
}

int
togadesk_store_active(struct db *db, int64_t client_id, const int64_t *depts, int n_depts,
                      int64_t since, int64_t after_t, int64_t after_id, struct togadesk_active *out,
                      int max)
{
    char ph[2 * 64];
    db_placeholders(ph, n_depts);
    char *sql = xasprintf(
        "SELECT id, referenceId, activity FROM (SELECT t.id, t.referenceId, GREATEST("
        "COALESCE((SELECT MAX(r.`timestamp`) FROM tickets_replies r WHERE r.ticketid = t.id), "
        "t.`timestamp`), COALESCE((SELECT MAX(c.`timestamp`) FROM comments c WHERE "
        "c.ticketid = t.id), t.`timestamp`)) AS activity FROM tickets t WHERE t.clientid = ? "
        "AND t.departmentId IN (%s)) x WHERE activity >= ? AND (activity > ? OR (activity = ? "
        "AND id > ?)) ORDER BY activity, id LIMIT ?",
        ph);
    struct db_param p[64 + 6];
    int n = 0;
    p[n++] = DBI(client_id);
    for (int i = 0; i < n_depts; i++)
        p[n++] = DBI(depts[i]);
    p[n++] = DBI(since);
    p[n++] = DBI(after_t);
    p[n++] = DBI(after_t);
    p[n++] = DBI(after_id);
    p[n++] = DBI(max);
    struct db_rows *r = db_query(db, sql, p, n);
    free(sql);
    if (r == NULL)
        return -1;
    for (int i = 0; i < r->n_rows; i++) {
        out[i].id = db_rows_int(r, i, 0, 0);
        const char *u = db_rows_get(r, i, 1);
        snprintf(out[i].uuid, sizeof(out[i].uuid), "%s", u ? u : "");
        out[i].activity = db_rows_int(r, i, 2, 0);
    }
    int got = r->n_rows;
    db_rows_free(r);
    return got;
}

int
togadesk_store_unlinked(struct db *db, int64_t desk_ticket, struct togadesk_reply **out)
{
    *out = NULL;
    struct db_rows *r = db_query(db,
                                 "SELECT id, message FROM tickets_replies WHERE ticketid = ? AND "
                                 "referenceId IS NULL ORDER BY id",
                                 DB_P(DBI(desk_ticket)));
    if (r == NULL)
        return -1;
    int n = r->n_rows;
    *out = xcalloc((size_t)(n ? n : 1), sizeof(**out));
    for (int i = 0; i < n; i++) {
        (*out)[i].id = db_rows_int(r, i, 0, 0);
        const char *m = db_rows_get(r, i, 1);
        (*out)[i].message = xstrdup(m ? m : "");
    }
    db_rows_free(r);
    return n;
}

void
togadesk_store_replies_free(struct togadesk_reply *r, int n)
{
    for (int i = 0; r && i < n; i++)
        free(r[i].message);
    free(r);
}

/* "a = ?, b = ?" or "a <=> ? AND b <=> ?" over the table's columns. */
static char *
store_cols(const struct togadesk_table *tb, const char *op, const char *sep)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < tb->n; i++)
        buf_printf(&b, "%s`%s` %s ?", i ? sep : "", tb->cols[i], op);
    return buf_detach(&b);
}

static int
store_entity_insert(struct db *db, const struct togadesk_table *tb, int64_t client_id,
                    const char *uuid, const char *const *values)
{
    struct buf cols;
    buf_init(&cols, 0);
    struct db_param p[8];
    int n = 0;
    p[n++] = DBS(uuid);
    if (tb->has_client) {
        buf_appends(&cols, ", clientid");
        p[n++] = DBI(client_id);
    }
    for (int i = 0; i < tb->n; i++) {
        buf_printf(&cols, ", `%s`", tb->cols[i]);
        p[n++] = DBS(values[i]);
    }
    char ph[32];
    db_placeholders(ph, n);
    char *sql = xasprintf("INSERT INTO `%s` (referenceId%s) VALUES (%s)", tb->table,
                          cols.data ? cols.data : "", ph);
    int rc = db_exec(db, sql, p, n, NULL, NULL);
    free(sql);
    buf_release(&cols);
    return rc;
}

int
togadesk_store_entity(struct db *db, const struct togadesk_table *tb, int64_t client_id,
                      const char *uuid, const char *const *values)
{
    char *sql = xasprintf("SELECT id FROM `%s` WHERE referenceId = ?", tb->table);
    int64_t id = store_int(db, sql, DB_P(DBS(uuid)), 0);
    free(sql);
    if (id < 0)
        return -1;
    if (id == 0)
        return store_entity_insert(db, tb, client_id, uuid, values);
    char *set = store_cols(tb, "=", ", "), *same = store_cols(tb, "<=>", " AND ");
    sql = xasprintf("UPDATE `%s` SET %s WHERE id = ? AND NOT (%s)", tb->table, set, same);
    free(set);
    free(same);
    struct db_param p[9];
    int n = 0;
    for (int i = 0; i < tb->n; i++)
        p[n++] = DBS(values[i]);
    p[n++] = DBI(id);
    for (int i = 0; i < tb->n; i++)
        p[n++] = DBS(values[i]);
    uint64_t changed = 0;
    int rc = db_exec(db, sql, p, n, &changed, NULL);
    free(sql);
    return rc < 0 ? -1 : changed ? 1 : 2;
}

int
togadesk_store_category(struct db *db, int64_t desk_ticket, const char *leaf_uuid, const char *path)
{
    int64_t id = store_int(db,
                           "SELECT id FROM tickets_customfields WHERE ticketid = ? AND name = "
                           "'Category'",
                           DB_P(DBI(desk_ticket)), 0);
    if (id < 0)
        return -1;
    if (id == 0)
        return db_exec(db,
                       "INSERT INTO tickets_customfields (ticketid, referenceId, name, value) "
                       "VALUES (?,?,'Category',?)",
                       DB_P(DBI(desk_ticket), DBS(leaf_uuid), DBS(path)), NULL, NULL);
    uint64_t n = 0;
    if (db_exec(db,
                "UPDATE tickets_customfields SET referenceId = ?, value = ? WHERE id = ? AND NOT "
                "(referenceId <=> ? AND value <=> ?)",
                DB_P(DBS(leaf_uuid), DBS(path), DBI(id), DBS(leaf_uuid), DBS(path)), &n, NULL) < 0)
        return -1;
    return n ? 1 : 2;
}

int
togadesk_store_category_rename(struct db *db, const char *leaf_uuid, const char *path, int64_t *n)
{
    uint64_t a = 0;
    int rc = db_exec(db,
                     "UPDATE tickets_customfields SET value = ? WHERE referenceId = ? AND name = "
                     "'Category' AND value <> ?",
                     DB_P(DBS(path), DBS(leaf_uuid), DBS(path)), &a, NULL);
    *n = (int64_t)a;
    return rc;
}
