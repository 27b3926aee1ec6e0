/* Tests of common/db.c against the real MariaDB: what a caller sees when its connection is
 * killed in the middle of a transaction, and bulk executions. */
#include "db.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t
probe_rows(struct tenv *t)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM tx_probe", DB_NOP);
}

static void
test_reconnect_inside_transaction_fails(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "CREATE TABLE tx_probe (id INT PRIMARY KEY)") == 0, "create: %s",
          db_errstr(t->db));
    struct db *db = db_new(&t->cfg.mysql);
    CHECK(db_connect(db) == 0, "connect: %s", db_errstr(db));
    struct db_rows *r = db_query(db, "SELECT CONNECTION_ID()", DB_NOP);
    CHECK(r && r->n_rows == 1, "CONNECTION_ID: %s", db_errstr(db));
    int64_t conn = db_rows_int(r, 0, 0, 0);
    db_rows_free(r);

    CHECK(db_begin(db) == 0, "begin: %s", db_errstr(db));
    CHECK(db_exec(db, "INSERT INTO tx_probe VALUES (1)", DB_NOP, NULL, NULL) == 0, "insert 1: %s",
          db_errstr(db));
    /* A number the server gave us, not input: safe as SQL text. */
    char *kill = xasprintf("KILL CONNECTION %lld", (long long)conn);
    CHECK(db_exec_static(t->db, kill) == 0, "%s: %s", kill, db_errstr(t->db));
    free(kill);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
                         DB_P(DBI(conn))) == 0,
               10000, "connection %lld never went away", (long long)conn);

    /* The first statement finds the connection gone. */
    CHECK(db_exec(db, "INSERT INTO tx_probe VALUES (2)", DB_NOP, NULL, NULL) < 0,
          "insert 2 should fail on a killed connection");
    CHECK(db_lost(db), "the error should say the connection is lost: %s", db_errstr(db));
    /* The next one must not reconnect in autocommit and store a third of a transaction. */
    int rc = db_exec(db, "INSERT INTO tx_probe VALUES (3)", DB_NOP, NULL, NULL);
    CHECK(rc < 0, "insert 3 inside the lost transaction succeeded (autocommit after reconnect)");
    CHECK(db_lost(db), "a lost transaction should read as a lost connection: %s", db_errstr(db));
    CHECK(db_commit(db) < 0, "commit of a lost transaction succeeded");
    CHECK(probe_rows(t) == 0, "rows of the lost transaction were stored");

    /* Once the caller has rolled back, the handle reconnects and works again. */
    db_rollback(db);
    CHECK(db_exec(db, "INSERT INTO tx_probe VALUES (4)", DB_NOP, NULL, NULL) == 0,
          "insert after rollback: %s", db_errstr(db));
    CHECK(probe_rows(t) == 1, "the statement after the rollback autocommits");
    /* So does a new transaction begun without a rollback of the lost one. */
    r = db_query(db, "SELECT CONNECTION_ID()", DB_NOP);
    CHECK(r && r->n_rows == 1, "CONNECTION_ID: %s", db_errstr(db));
    conn = db_rows_int(r, 0, 0, 0);
    db_rows_free(r);
    CHECK(db_begin(db) == 0, "begin: %s", db_errstr(db));
    kill = xasprintf("KILL CONNECTION %lld", (long long)conn);
    CHECK(db_exec_static(t->db, kill) == 0, "%s: %s", kill, db_errstr(t->db));
    free(kill);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?",
                         DB_P(DBI(conn))) == 0,
               10000, "connection %lld never went away", (long long)conn);
    CHECK(db_exec(db, "INSERT INTO tx_probe VALUES (5)", DB_NOP, NULL, NULL) < 0,
          "insert 5 should fail on a killed connection");
    CHECK(db_begin(db) == 0, "a new transaction after a lost one: %s", db_errstr(db));
    CHECK(db_exec(db, "INSERT INTO tx_probe VALUES (6)", DB_NOP, NULL, NULL) == 0, "insert 6: %s",
          db_errstr(db));
    CHECK(db_commit(db) == 0, "commit: %s", db_errstr(db));
    CHECK(probe_rows(t) == 2, "rows 4 and 6 are stored");
    db_free(db);
}

/* db_exec_bulk: every parameter set becomes a row, NULLs included; the first id is the
 * smallest; a column of mixed types is refused; and the cached statement runs once more as
 * an ordinary statement (one row, not a bulk of the last size). */
static void
test_bulk_exec(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "CREATE TABLE bulk_probe (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
                                "s VARCHAR(32) NULL, i BIGINT NULL, d DOUBLE NULL)") == 0,
          "create: %s", db_errstr(t->db));
    const char *sql = "INSERT INTO bulk_probe (s, i, d) VALUES (?, ?, ?)";
    struct db_param p[] = {DBS("a"),  DBI(1), DBD(0.5),  DBS(NULL), DBI(-2), DBNULL,
                           DBS("cc"), DBNULL, DBD(2.25), DBS(""),   DBI(4),  DBD(-1)};
    uint64_t affected = 0, first = 0;
    CHECK(db_exec_bulk(t->db, sql, p, 3, 4, &affected, &first) == 0, "bulk: %s", db_errstr(t->db));
    CHECK(affected == 4, "affected %llu, expected 4", (unsigned long long)affected);
    CHECK((int64_t)first == t_sql_int(t, -1, "SELECT MIN(id) FROM bulk_probe", DB_NOP),
          "first id %llu is not the smallest", (unsigned long long)first);
    struct db_rows *r = db_query(t->db, "SELECT s, i, d FROM bulk_probe ORDER BY id", DB_NOP);
    CHECK(r && r->n_rows == 4, "rows: %s", db_errstr(t->db));
    const char *want[4][3] = {
        {"a", "1", "0.5"}, {NULL, "-2", NULL}, {"cc", NULL, "2.25"}, {"", "4", "-1"}};
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) {
            const char *got = db_rows_get(r, i, c);
            CHECK((got == NULL) == (want[i][c] == NULL) &&
                      (got == NULL || strcmp(got, want[i][c]) == 0),
                  "row %d column %d: %s, expected %s", i, c, got ? got : "NULL",
                  want[i][c] ? want[i][c] : "NULL");
        }
    db_rows_free(r);
    struct db_param mixed[] = {DBS("x"), DBI(1), DBNULL, DBI(2), DBI(3), DBNULL};
    CHECK(db_exec_bulk(t->db, sql, mixed, 3, 2, NULL, NULL) < 0, "a mixed column was accepted");
    CHECK(strstr(db_errstr(t->db), "mixes") != NULL, "error: %s", db_errstr(t->db));
    CHECK(db_exec(t->db, sql, DB_P(DBS("once"), DBI(9), DBNULL), NULL, NULL) == 0, "plain run: %s",
          db_errstr(t->db));
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM bulk_probe", DB_NOP) == 5,
          "the plain run after a bulk wrote %lld rows in all, expected 5",
          (long long)t_sql_int(t, -1, "SELECT COUNT(*) FROM bulk_probe", DB_NOP));
}

/* Every connection runs in UTC, READ COMMITTED and autocommit, whatever the server's defaults
 * (the test server's isolation is REPEATABLE READ). */
static void
test_session_settings(struct tenv *t)
{
    struct db *db = db_new(&t->cfg.mysql);
    CHECK(db_connect(db) == 0, "connect: %s", db_errstr(db));
    struct db_rows *r = db_query(
        db, "SELECT @@session.time_zone, @@session.tx_isolation, @@session.autocommit", DB_NOP);
    CHECK(r && r->n_rows == 1, "session variables: %s", db_errstr(db));
    CHECK(strcmp(db_rows_get(r, 0, 0), "+00:00") == 0, "time_zone %s", db_rows_get(r, 0, 0));
    CHECK(strcmp(db_rows_get(r, 0, 1), "READ-COMMITTED") == 0, "isolation %s",
          db_rows_get(r, 0, 1));
    CHECK(db_rows_int(r, 0, 2, 0) == 1, "autocommit %s", db_rows_get(r, 0, 2));
    db_rows_free(r);
    db_free(db);
}

static const struct test_case cases[] = {
    {"e2e_db_session_settings", test_session_settings, NULL},
    {"e2e_db_reconnect_inside_transaction_fails", test_reconnect_inside_transaction_fails, NULL},
    {"e2e_db_bulk_exec", test_bulk_exec, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
