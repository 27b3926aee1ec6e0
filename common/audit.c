/* This file holds the audit_log table's SQL (audit.h). */
#include "audit.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
audit_add(struct db *db, const char *actor, const char *action, const char *kind, const char *id,
          const char *detail)
{
    return db_exec(db,
                   "INSERT INTO audit_log (dt_created, actor, action, object_kind, object_id, "
                   "detail) VALUES (NOW(6), LEFT(?, 64), LEFT(?, 32), LEFT(?, 16), LEFT(?, 191), "
                   "LEFT(?, 512))",
                   DB_P(DBS(actor), DBS(action), DBS(kind), DBS(id), DBS(detail)), NULL, NULL);
}

int
audit_commit(struct db *db, const char *actor, const char *action, const char *kind, const char *id,
             const char *detail, bool *lost, char *err, size_t errlen)
{
    if (audit_add(db, actor, action, kind, id, detail) == 0 && db_commit(db) == 0)
        return 0;
    snprintf(err, errlen, "%s", db_errstr(db));
    if (lost)
        *lost = db_lost(db);
    db_rollback(db);
    return -1;
}

int
audit_add_ids(struct db *db, const char *actor, const char *action, const char *kind,
              const int64_t *ids, int n, const char *detail)
{
    if (n <= 0)
        return 0;
    struct buf sql;
    buf_init(&sql, 0);
    buf_appends(&sql, "INSERT INTO audit_log (dt_created, actor, action, object_kind, object_id, "
                      "detail) VALUES ");
    struct db_param *p = xcalloc((size_t)n * 5, sizeof(*p));
    for (int i = 0; i < n; i++) {
        buf_appends(&sql, i ? ",(NOW(6), LEFT(?, 64), LEFT(?, 32), LEFT(?, 16), ?, LEFT(?, 512))"
                            : "(NOW(6), LEFT(?, 64), LEFT(?, 32), LEFT(?, 16), ?, LEFT(?, 512))");
        struct db_param *q = p + (size_t)i * 5;
        q[0] = DBS(actor);
        q[1] = DBS(action);
        q[2] = DBS(kind);
        q[3] = DBI(ids[i]);
        q[4] = DBS(detail);
    }
    int rc = db_exec(db, sql.data, p, n * 5, NULL, NULL);
    buf_release(&sql);
    free(p);
    return rc;
}

/* Rows r (freed) as a JSON array; NULL when r is (a failed query). */
static cJSON *
audit_json(struct db_rows *r)
{
    if (r == NULL)
        return NULL;
    cJSON *a = json_from_rows(r);
    db_rows_free(r);
    return a;
}

cJSON *
audit_list(struct db *db, const char *kind, const char *id, int limit)
{
    return audit_json(db_query(db,
                               "SELECT id, dt_created, actor, action, detail FROM audit_log "
                               "WHERE object_kind = ? AND object_id = ? ORDER BY id DESC "
                               "LIMIT ?",
                               DB_P(DBS(kind), DBS(id), DBI(limit))));
}

bool
audit_kind_ok(const char *kind)
{
    static const char *const kinds[] = {"job", "queue", "cron", "action"};
    for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

cJSON *
audit_recent(struct db *db, const char *timeout_prefix, const char *actor, const char *kind,
             int64_t before_id, int limit)
{
    /* Only the filters given, so the optimizer sees which index serves the statement. */
    struct buf sql;
    buf_init(&sql, 0);
    buf_printf(&sql,
               "%sSELECT id, dt_created, actor, action, object_kind, object_id, detail "
               "FROM audit_log WHERE id < ?",
               timeout_prefix);
    struct db_param p[4];
    int n = 0;
    p[n++] = DBI(before_id > 0 ? before_id : INT64_MAX);
    if (actor) {
        buf_appends(&sql, " AND actor = ?");
        p[n++] = DBS(actor);
    }
    if (kind) {
        buf_appends(&sql, " AND object_kind = ?");
        p[n++] = DBS(kind);
    }
    buf_appends(&sql, " ORDER BY id DESC LIMIT ?");
    p[n++] = DBI(limit);
    cJSON *a = audit_json(db_query(db, sql.data, p, n));
    buf_release(&sql);
    return a;
}

int
audit_delete_batch(struct db *db, const char *cutoff, int batch)
{
    /* Ids grow with dt_created: the oldest rows by id are the ones to look at. Rows are never
     * changed once written, so the read needs no lock before the delete. */
    struct db_rows *r = db_query(db,
                                 "SELECT id FROM (SELECT id, dt_created FROM audit_log ORDER BY "
                                 "id LIMIT ?) o WHERE dt_created < ?",
                                 DB_P(DBI(batch), DBS(cutoff)));
    if (r == NULL)
        return -1;
    int n = r->n_rows, rc = 0;
    struct db_param *p = xcalloc((size_t)n + 1, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(db_rows_int(r, i, 0, 0));
    db_rows_free(r);
    if (n > 0)
        rc = db_exec_in(db, "DELETE FROM audit_log WHERE id IN ", p, n);
    free(p);
    return rc < 0 ? -1 : n;
}
