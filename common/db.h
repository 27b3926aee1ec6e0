/* MariaDB access: one connection, prepared statements with bound parameters only, cached
 * per connection. The only file that includes <mysql.h>. */
#ifndef JOBFLEET_DB_H
#define JOBFLEET_DB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

struct db;

enum db_ptype { DBP_NULL, DBP_INT, DBP_STR, DBP_DOUBLE };

struct db_param {
    enum db_ptype t;
    int64_t i;
    const char *s;
    double d;
};

#define DBI(v) ((struct db_param){.t = DBP_INT, .i = (int64_t)(v)})
#define DBD(v) ((struct db_param){.t = DBP_DOUBLE, .d = (v)})
/* A string parameter; NULL binds SQL NULL. */
static inline struct db_param
DBS(const char *v) {
    struct db_param p = {.t = v ? DBP_STR : DBP_NULL, .s = v};
    return p;
}
#define DBNULL ((struct db_param){.t = DBP_NULL})
/* DB_P(DBI(1), DBS("x")) expands to the array and its length for db_exec/db_query. */
#define DB_P(...)                                                                                  \
    (struct db_param[]){__VA_ARGS__},                                                              \
        (int)(sizeof((struct db_param[]){__VA_ARGS__}) / sizeof(struct db_param))
#define DB_NOP NULL, 0

/* A fully fetched result set; every value is text (or NULL for SQL NULL). */
struct db_rows {
    int n_rows;
    int n_cols;
    char **cells;  /* n_rows * n_cols */
    char **names;  /* n_cols column names */
    bool *numeric; /* n_cols: the column holds numbers (for JSON output) */
};

/* Copies the settings; does not connect. */
struct db *db_new(const struct cfg_mysql *cfg);
/* Closes and frees; accepts NULL. */
void db_free(struct db *db);
/* Connects (closing any old connection); sets UTC, READ COMMITTED, autocommit on. */
int db_connect(struct db *db);
void db_close(struct db *db);
bool db_connected(const struct db *db);
/* Connects with exponential backoff until it succeeds or *stop becomes nonzero (stop may be
 * NULL; a signal handler's flag is obeyed within 50 ms). Returns 0 when connected, -1 when
 * stopped. */
int db_connect_retry(struct db *db, const volatile sig_atomic_t *stop);

/* Makes the session refuse writes (true) or take them again (false), now when connected and
 * after every reconnect, so a dry run cannot write through a connection that came back.
 * Returns 0 or -1 (the SET failed). */
int db_set_read_only(struct db *db, bool read_only);

/* The last error, kept on the handle as hiredis does. */
const char *db_errstr(const struct db *db);
unsigned db_errno(const struct db *db);
/* True when the last error means the connection is gone (server restarted, network, timeout):
 * the handle is closed and the next call reconnects. A commit failing this way is unknown. */
bool db_lost(const struct db *db);
/* True when the last statement was refused for being bigger than max_allowed_packet (1153 from
 * the server, which then closes the connection, so db_lost() is true as well; 2020 from the
 * client library): it was not run, and sending it again can never succeed. */
bool db_packet_too_large(const struct db *db);
/* True when the last statement failed for its values (NULL where none may be, out of range, too
 * long for its column, not UTF-8) or its size (db_packet_too_large): sending it again can never
 * succeed, unlike after a lost connection, a lock wait timeout or a deadlock. */
bool db_data_error(const struct db *db);
/* True when the last error was a duplicate key (1062). */
bool db_duplicate(const struct db *db);
/* True when the last statement gave up waiting for a row another session holds locked (1205):
 * only that statement was undone, and the same one may pass once the lock is gone. */
bool db_lock_timeout(const struct db *db);
/* Makes the session's statements wait at most seconds (1 or more) for a locked row
 * (innodb_lock_wait_timeout) before failing with db_lock_timeout(), now when connected and after
 * every reconnect (where a server that refuses it keeps its own wait). Returns 0 or -1 (the SET
 * failed now). */
int db_set_lock_wait_s(struct db *db, int seconds);

/* For a connection kept between uses: when its last statement was sent idle_ms ago or more
 * (and no transaction is open), pings it, so that one the server closed meanwhile (its
 * wait_timeout, a restart) reconnects at the next statement instead of failing it. */
void db_check_idle(struct db *db, int64_t idle_ms);
/* The idle time after which the fleet's kept connections are checked: a burst's back-to-back
 * statements never pay for the ping. */
#define DB_IDLE_CHECK_MS 1000

/* The monotonic time (now_mono_us) at which the last statement was sent to run: after its
 * prepare and any reconnect, so a NOW() it reads is no earlier than this. */
int64_t db_exec_sent_us(const struct db *db);

/* Runs a statement; affected rows and the insert id are optional outputs. -1 on error. */
int db_exec(struct db *db, const char *sql, const struct db_param *p, int n, uint64_t *affected,
            uint64_t *insert_id);
/* Runs sql, a statement with cols placeholders and no result set, once for each of rows
 * parameter sets (set r is p[r * cols .. r * cols + cols)) in one round trip: MariaDB's bulk
 * execution, which costs the server far less per row than a multi-row statement of as many
 * placeholders. The parameters of a column are all of one type, or NULL. Sets *affected (rows
 * written by all sets) and *first_id (the AUTO_INCREMENT value of the first row written; the
 * others' are larger, not necessarily consecutive), both optional. -1 on error. */
int db_exec_bulk(struct db *db, const char *sql, const struct db_param *p, int cols, int rows,
                 uint64_t *affected, uint64_t *first_id);
/* Runs a query and fetches all rows; NULL on error. The caller frees with db_rows_free. */
struct db_rows *db_query(struct db *db, const char *sql, const struct db_param *p, int n);
void db_rows_free(struct db_rows *r);
/* Cell access: NULL for SQL NULL; db_rows_int returns dflt for NULL. */
const char *db_rows_get(const struct db_rows *r, int row, int col);
int64_t db_rows_int(const struct db_rows *r, int row, int col, int64_t dflt);

/* Transactions. db_commit failing with db_lost() true means the outcome is unknown. When the
 * connection is lost between db_begin and db_commit/db_rollback, every later statement fails
 * with db_lost() true (no silent reconnect in autocommit) until the caller calls db_rollback,
 * db_begin or db_connect; db_commit then fails as well. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* The server's clock: sets *t to MariaDB's UNIX_TIMESTAMP() (UTC seconds). Returns 0, or -1
 * (the query failed; *t untouched). The fleet's one clock: leases, deadlines, run_at and cron
 * read it, so a host whose clock is off changes nothing (docs/chaos.md, clock skew). */
int db_now_s(struct db *db, int64_t *t);

/* Runs SQL text that carries no input (DDL of migrations, test setup). Never pass data here. */
int db_exec_static(struct db *db, const char *sql);

/* Builds "?,?,?" for n placeholders into out (at least 2*n bytes). */
void db_placeholders(char *out, int n);

/* Runs head followed by "(?,?,...)" bound to p[0..n-1] (n > 0) as db_exec does, for a
 * statement over a list ("DELETE FROM t WHERE id IN "). Returns 0 or -1 (db_errstr). */
int db_exec_in(struct db *db, const char *head, const struct db_param *p, int n);

/* Runs the query head followed by "(?,?,...)" bound to p[0..n-1] (n > 0), as db_query does
 * ("SELECT ... WHERE key IN "). The rows, or NULL (db_errstr). */
struct db_rows *db_query_in(struct db *db, const char *head, const struct db_param *p, int n);

/* Keeps the rows of r whose keep[row] is set, in their order, and frees the others. */
void db_rows_keep(struct db_rows *r, const bool *keep);

/* Runs the query head "(?,?,...)" tail with the list bound to ids[0..n-1] (n > 0), as db_query
 * does ("SELECT ... WHERE id IN ", " ORDER BY id"). The rows, or NULL (db_errstr). */
struct db_rows *db_query_ids(struct db *db, const char *head, const char *tail, const int64_t *ids,
                             int n);

#endif
