/* This file holds the audit_log table's SQL (audit.h). */
#include "audit.h"
#include "json.h"

#include <stdio.h>

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

cJSON *
audit_list(struct db *db, const char *kind, const char *id, int limit)
{
    struct db_rows *r = db_query(db,
                                 "SELECT id, dt_created, actor, action, detail FROM audit_log "
                                 "WHERE object_kind = ? AND object_id = ? ORDER BY id DESC "
                                 "LIMIT ?",
                                 DB_P(DBS(kind), DBS(id), DBI(limit)));
    if (r == NULL)
        return NULL;
    cJSON *a = json_from_rows(r);
    db_rows_free(r);
    return a;
}
