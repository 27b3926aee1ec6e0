/* This file creates the TOGaDesk test database from tests/fakes/desk/schema.sql. */
#include "tdesk.h"
#include "db.h"
#include "tsupport.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Runs each statement of the schema: they end with ';' at the end of a line. */
static void
tdesk_load(struct db *db, char *schema)
{
    char *stmt = schema;
    for (char *p = schema; *p; p++) {
        if (p[0] != ';' || (p[1] != '\n' && p[1] != '\0'))
            continue;
        *p = '\0';
        /* Skip statements that are only comments and blank lines. */
        bool sql = false;
        for (char *line = stmt; line && *line;) {
            line += strspn(line, " \t\n");
            if (*line && strncmp(line, "--", 2) != 0)
                sql = true;
            line = strchr(line, '\n');
        }
        if (sql)
            CHECK(db_exec_static(db, stmt) == 0, "desk schema: %s", db_errstr(db));
        stmt = p + 1;
    }
}

struct db *
tdesk_create(struct tenv *t)
{
    char *name = xasprintf("%s_desk", t->db_name);
    char *sql = xasprintf("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4", name);
    CHECK(db_exec_static(t->db, sql) == 0, "%s: %s", sql, db_errstr(t->db));
    free(sql);
    struct cfg_mysql m = t->cfg.mysql;
    m.database = name;
    struct db *db = db_new(&m);
    CHECK(db_connect(db) == 0, "connect to the desk database: %s", db_errstr(db));
    char *path = xasprintf("%s/tests/fakes/desk/schema.sql", JOBFLEET_SOURCE_DIR);
    char *schema = t_read_file(path);
    CHECK(schema != NULL, "read %s", path);
    tdesk_load(db, schema);
    free(schema);
    free(path);
    free(name);
    return db;
}
