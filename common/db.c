/* This file wraps libmariadb: connections, a per-connection statement cache, bound
 * parameters in, text cells out, and the classification of errors that lose the connection. */
#include "db.h"
#include "db_tls.h"
#include "log.h"
#include "retry.h"
#include "util.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_CACHE_SIZE 128

struct db_stmt_entry {
    char *sql;
    MYSQL_STMT *stmt;
};

struct db {
    char *host, *socket, *user, *password, *database;
    int port, connect_timeout_s, read_timeout_s;
    struct db_tls tls;
    MYSQL *conn;
    struct db_stmt_entry cache[DB_CACHE_SIZE];
    int cache_next;
    char errstr[512];
    unsigned err;
    bool lost;
    /* The server closed the connection after refusing a statement (1153): the next call
     * reconnects, but the statement was not run, so the outcome is known (db_lost() false). */
    bool stale;
    /* Between db_begin and db_commit/db_rollback: a reconnect then would silently run the
     * rest of the caller's transaction in autocommit, so db_ensure refuses it. */
    bool in_tx;
    /* The session refuses writes (db_set_read_only); applied again on every reconnect. */
    bool read_only;
    int lock_wait_s;      /* db_set_lock_wait_s; 0: the server's */
    int64_t exec_sent_us; /* db_exec_sent_us */
};

struct db *
db_new(const struct cfg_mysql *cfg)
{
    struct db *db = xcalloc(1, sizeof(*db));
    db->host = xstrdup(cfg->host ? cfg->host : "127.0.0.1");
    db->socket = xstrdup(cfg->socket ? cfg->socket : "");
    db->user = xstrdup(cfg->user ? cfg->user : "");
    db->password = xstrdup(cfg->password ? cfg->password : "");
    db->database = xstrdup(cfg->database ? cfg->database : "");
    db->port = cfg->port;
    db->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 5;
    db->read_timeout_s = cfg->read_timeout_s > 0 ? cfg->read_timeout_s : 30;
    db_tls_copy(&db->tls, cfg);
    return db;
}

static void
db_cache_clear(struct db *db)
{
    for (int i = 0; i < DB_CACHE_SIZE; i++) {
        if (db->cache[i].stmt)
            mysql_stmt_close(db->cache[i].stmt);
        free(db->cache[i].sql);
        db->cache[i].stmt = NULL;
        db->cache[i].sql = NULL;
    }
    db->cache_next = 0;
}

void
db_close(struct db *db)
{
    if (db == NULL)
        return;
    db_cache_clear(db);
    if (db->conn)
        mysql_close(db->conn);
    db->conn = NULL;
}

void
db_free(struct db *db)
{
    if (db == NULL)
        return;
    db_close(db);
    free(db->host);
    free(db->socket);
    free(db->user);
    free(db->password);
    free(db->database);
    db_tls_free(&db->tls);
    free(db);
}

static bool
db_errno_is_lost(unsigned e)
{
    switch (e) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_LOST_EXTENDED:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case ER_QUERY_INTERRUPTED:
    case 4031: /* the server closed an idle connection */
        return true;
    default:
        return false;
    }
}

static void
db_set_err(struct db *db, unsigned e, const char *msg)
{
    db->err = e;
    snprintf(db->errstr, sizeof(db->errstr), "%s (%u)", msg ? msg : "unknown error", e);
    /* The handle is closed lazily, by the next call, so that statements still in use by the
     * caller stay valid until it returns. */
    db->lost = db_errno_is_lost(e);
    if (e == ER_NET_PACKET_TOO_LARGE)
        db->stale = true;
}

/* True when the connection cannot be used as it is: the next call must reconnect. */
static bool
db_gone(const struct db *db)
{
    return db->conn == NULL || db->lost || db->stale;
}

static void
db_conn_err(struct db *db)
{
    db_set_err(db, mysql_errno(db->conn), mysql_error(db->conn));
}

int
db_connect(struct db *db)
{
    db_close(db);
    /* An explicit connect is a fresh session: whatever transaction there was is gone. */
    db->in_tx = false;
    db->conn = mysql_init(NULL);
    if (db->conn == NULL)
        fatalx("mysql_init: out of memory");
    unsigned int ct = (unsigned)db->connect_timeout_s, rt = (unsigned)db->read_timeout_s;
    my_bool off = 0;
    mysql_optionsv(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(db->conn, MYSQL_OPT_READ_TIMEOUT, &rt);
    mysql_optionsv(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &rt);
    mysql_optionsv(db->conn, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* UTC everywhere: every DATETIME the fleet writes and compares is UTC. Autocommit on
     * whatever the server's default: a single statement outside a transaction must be
     * committed when it returns (a webhook's insert is answered 202 on it). */
    mysql_optionsv(db->conn, MYSQL_INIT_COMMAND, "SET time_zone='+00:00', autocommit=1");
    /* The statement, not the variable: MySQL 8 (a legacy desk's [db.<name>]) has no
     * tx_isolation, and MariaDB before 11.1 no transaction_isolation. */
    mysql_optionsv(db->conn, MYSQL_INIT_COMMAND,
                   "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    const char *sock = db->socket[0] ? db->socket : NULL;
    /* libmariadb reaches "localhost" (or no host) through the default socket, as mysql(1). */
    bool local = sock || db->host[0] == '\0' || strcmp(db->host, "localhost") == 0;
    db_tls_options(db->conn, &db->tls, local);
    bool up = mysql_real_connect(db->conn, sock ? NULL : db->host, db->user, db->password,
                                 db->database[0] ? db->database : NULL, (unsigned)db->port, sock,
                                 CLIENT_FOUND_ROWS) != NULL;
    if (!up || !db_tls_encrypted(db->conn, &db->tls, local)) {
        unsigned e = up ? CR_SSL_CONNECTION_ERROR : mysql_errno(db->conn);
        char msg[480];
        snprintf(msg, sizeof(msg), "connect to MariaDB at %s:%d: %s%s", sock ? sock : db->host,
                 db->port, up ? "the session is not encrypted" : mysql_error(db->conn),
                 db_tls_hint(&db->tls, e));
        mysql_close(db->conn);
        db->conn = NULL;
        db_set_err(db, e, msg);
        db->lost = true;
        return -1;
    }
    db_tls_log_session(db->conn, &db->tls, sock ? sock : db->host, db->port, db->user, local);
    db->lost = false;
    db->stale = false;
    db->err = 0;
    db->errstr[0] = '\0';
    if (db->read_only && mysql_query(db->conn, "SET SESSION TRANSACTION READ ONLY") != 0) {
        db_conn_err(db);
        db_close(db);
        return -1;
    }
    /* Not an init command: a server that refuses it would fail every connect. It keeps its own
     * wait then. */
    char wait[64];
    snprintf(wait, sizeof(wait), "SET SESSION innodb_lock_wait_timeout = %d", db->lock_wait_s);
    if (db->lock_wait_s > 0)
        (void)mysql_query(db->conn, wait);
    return 0;
}

int
db_set_read_only(struct db *db, bool read_only)
{
    if (db->read_only == read_only)
        return 0;
    db->read_only = read_only;
    if (db_gone(db))
        return 0; /* the next connect applies it */
    return db_exec_static(db, read_only ? "SET SESSION TRANSACTION READ ONLY"
                                        : "SET SESSION TRANSACTION READ WRITE");
}

bool
db_connected(const struct db *db)
{
    return !db_gone(db);
}

int
db_connect_retry(struct db *db, const volatile sig_atomic_t *stop)
{
    struct retry r;
    retry_init(&r, 100, 5000);
    int64_t last_log = 0;
    while (stop == NULL || !*stop) {
        if (db_connect(db) == 0)
            return 0;
        if (now_mono_ms() - last_log > 10000) {
            log_warnx("%s; retrying", db_errstr(db));
            last_log = now_mono_ms();
        }
        if (retry_sleep(retry_fail(&r), stop))
            break;
    }
    return -1;
}

const char *
db_errstr(const struct db *db)
{
    return db->errstr;
}

unsigned
db_errno(const struct db *db)
{
    return db->err;
}

bool
db_lost(const struct db *db)
{
    return db->lost;
}

bool
db_packet_too_large(const struct db *db)
{
    return db->err == ER_NET_PACKET_TOO_LARGE || db->err == CR_NET_PACKET_TOO_LARGE;
}

bool
db_data_error(const struct db *db)
{
    switch (db->err) {
    case ER_BAD_NULL_ERROR:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case WARN_DATA_TRUNCATED:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: /* not UTF-8 */
    case ER_DATA_TOO_LONG:
        return true;
    default:
        return db_packet_too_large(db);
    }
}

bool
db_duplicate(const struct db *db)
{
    return db->err == ER_DUP_ENTRY;
}

bool
db_lock_timeout(const struct db *db)
{
    return db->err == ER_LOCK_WAIT_TIMEOUT;
}

int
db_set_lock_wait_s(struct db *db, int seconds)
{
    db->lock_wait_s = seconds;
    return db_gone(db) ? 0
                       : db_exec(db, "SET SESSION innodb_lock_wait_timeout = ?", DB_P(DBI(seconds)),
                                 NULL, NULL);
}

static int
db_ensure(struct db *db)
{
    if (!db_gone(db))
        return 0;
    if (db->in_tx) {
        /* The server rolled the transaction back when the connection went. Going on in a new
         * session would commit the caller's remaining statements one by one. */
        db_set_err(db, CR_SERVER_LOST,
                   "connection lost inside a transaction: it was rolled back; roll back and "
                   "start again");
        return -1;
    }
    return db_connect(db);
}

/* Returns a prepared statement for sql from the cache, preparing it on a miss. */
static MYSQL_STMT *
db_prepare(struct db *db, const char *sql)
{
    for (int i = 0; i < DB_CACHE_SIZE; i++)
        if (db->cache[i].sql && strcmp(db->cache[i].sql, sql) == 0)
            return db->cache[i].stmt;
    MYSQL_STMT *st = mysql_stmt_init(db->conn);
    if (st == NULL)
        fatalx("mysql_stmt_init: out of memory");
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        db_set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
        mysql_stmt_close(st);
        return NULL;
    }
    struct db_stmt_entry *e = &db->cache[db->cache_next];
    db->cache_next = (db->cache_next + 1) % DB_CACHE_SIZE;
    if (e->stmt)
        mysql_stmt_close(e->stmt);
    free(e->sql);
    e->sql = xstrdup(sql);
    e->stmt = st;
    return st;
}

/* Closes a cached statement and forgets it; the next use prepares it again. */
static void
db_cache_drop(struct db *db, MYSQL_STMT *st)
{
    for (int i = 0; i < DB_CACHE_SIZE; i++) {
        if (db->cache[i].stmt == st) {
            mysql_stmt_close(st);
            free(db->cache[i].sql);
            db->cache[i].stmt = NULL;
            db->cache[i].sql = NULL;
            return;
        }
    }
}

static void
db_stmt_err(struct db *db, MYSQL_STMT *st)
{
    db_set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
}

/* Prepares and executes; returns the statement or NULL with the error set. */
static MYSQL_STMT *
db_run(struct db *db, const char *sql, const struct db_param *p, int n)
{
    if (db_ensure(db) < 0)
        return NULL;
    MYSQL_STMT *st = db_prepare(db, sql);
    if (st == NULL)
        return NULL;
    if ((int)mysql_stmt_param_count(st) != n) {
        db_set_err(db, 0, "parameter count does not match the statement");
        log_error("db: %d parameters given for: %s", n, sql);
        return NULL;
    }
    MYSQL_BIND *b = n ? xcalloc((size_t)n, sizeof(*b)) : NULL;
    unsigned long *lens = n ? xcalloc((size_t)n, sizeof(*lens)) : NULL;
    my_bool is_null = 1;
    for (int i = 0; i < n; i++) {
        switch (p[i].t) {
        case DBP_NULL:
            b[i].buffer_type = MYSQL_TYPE_NULL;
            b[i].is_null = &is_null;
            break;
        case DBP_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)(uintptr_t)&p[i].i;
            break;
        case DBP_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = (void *)(uintptr_t)&p[i].d;
            break;
        case DBP_STR:
            lens[i] = strlen(p[i].s);
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)(uintptr_t)p[i].s;
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
            break;
        }
    }
    int rc = 0;
    if (n && mysql_stmt_bind_param(st, b) != 0)
        rc = -1;
    db->exec_sent_us = now_mono_us();
    if (rc == 0 && mysql_stmt_execute(st) != 0)
        rc = -1;
    free(b);
    free(lens);
    if (rc < 0) {
        db_stmt_err(db, st);
        return NULL;
    }
    return st;
}

void
db_check_idle(struct db *db, int64_t idle_ms)
{
    if (db_gone(db) || db->in_tx || now_mono_us() - db->exec_sent_us < idle_ms * 1000)
        return;
    db->exec_sent_us = now_mono_us();
    if (mysql_ping(db->conn) != 0)
        db_conn_err(db);
}

int64_t
db_exec_sent_us(const struct db *db)
{
    return db->exec_sent_us;
}

int
db_exec(struct db *db, const char *sql, const struct db_param *p, int n, uint64_t *affected,
        uint64_t *insert_id)
{
    MYSQL_STMT *st = db_run(db, sql, p, n);
    if (st == NULL)
        return -1;
    if (affected)
        *affected = mysql_stmt_affected_rows(st);
    if (insert_id)
        *insert_id = mysql_stmt_insert_id(st);
    /* A statement that returns rows (CALL, SELECT by mistake) must be drained. */
    mysql_stmt_free_result(st);
    return 0;
}

/* The arrays of one column of a bulk execution (column-wise binding). */
struct db_bulk_col {
    char **str;
    unsigned long *len;
    int64_t *num;
    double *dbl;
    char *ind;
};

/* Binds column c of rows parameter sets (p[r * cols + c]) into b, filling col's arrays.
 * Returns -1 when the column mixes types. */
static int
db_bulk_bind(const struct db_param *p, int cols, int rows, int c, struct db_bulk_col *col,
             MYSQL_BIND *b)
{
    enum db_ptype t = DBP_NULL;
    for (int r = 0; r < rows && t == DBP_NULL; r++)
        t = p[r * cols + c].t;
    col->ind = xcalloc((size_t)rows, 1);
    b->u.indicator = col->ind;
    if (t == DBP_STR || t == DBP_NULL) {
        col->str = xcalloc((size_t)rows, sizeof(char *));
        col->len = xcalloc((size_t)rows, sizeof(unsigned long));
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = col->str;
        b->length = col->len;
    } else if (t == DBP_INT) {
        col->num = xcalloc((size_t)rows, sizeof(int64_t));
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = col->num;
    } else {
        col->dbl = xcalloc((size_t)rows, sizeof(double));
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = col->dbl;
    }
    for (int r = 0; r < rows; r++) {
        const struct db_param *q = &p[r * cols + c];
        if (q->t == DBP_NULL) {
            col->ind[r] = STMT_INDICATOR_NULL;
            continue;
        }
        if (q->t != t && t != DBP_NULL)
            return -1;
        col->ind[r] = STMT_INDICATOR_NONE;
        if (t == DBP_STR) {
            col->str[r] = (char *)(uintptr_t)q->s;
            col->len[r] = strlen(q->s);
        } else if (t == DBP_INT) {
            col->num[r] = q->i;
        } else {
            col->dbl[r] = q->d;
        }
    }
    return 0;
}

static void
db_bulk_cols_free(struct db_bulk_col *cols, int n)
{
    for (int c = 0; c < n; c++) {
        free(cols[c].str);
        free(cols[c].len);
        free(cols[c].num);
        free(cols[c].dbl);
        free(cols[c].ind);
    }
    free(cols);
}

int
db_exec_bulk(struct db *db, const char *sql, const struct db_param *p, int cols, int rows,
             uint64_t *affected, uint64_t *first_id)
{
    if (rows < 1 || cols < 1) {
        db_set_err(db, 0, "bulk execution without rows");
        return -1;
    }
    if (db_ensure(db) < 0)
        return -1;
    MYSQL_STMT *st = db_prepare(db, sql);
    if (st == NULL)
        return -1;
    if ((int)mysql_stmt_param_count(st) != cols) {
        db_set_err(db, 0, "parameter count does not match the statement");
        log_error("db: %d parameters given for: %s", cols, sql);
        return -1;
    }
    MYSQL_BIND *b = xcalloc((size_t)cols, sizeof(*b));
    struct db_bulk_col *col = xcalloc((size_t)cols, sizeof(*col));
    int rc = 0;
    for (int c = 0; c < cols && rc == 0; c++)
        if (db_bulk_bind(p, cols, rows, c, &col[c], &b[c]) < 0) {
            db_set_err(db, 0, "a bulk column mixes parameter types");
            log_error("db: column %d mixes types in: %s", c, sql);
            rc = -2;
        }
    unsigned int size = (unsigned int)rows;
    if (rc == 0 && (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) != 0 ||
                    mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0))
        rc = -1;
    if (rc == -1)
        db_stmt_err(db, st);
    if (rc == 0) {
        if (affected)
            *affected = mysql_stmt_affected_rows(st);
        if (first_id)
            *first_id = mysql_stmt_insert_id(st);
    }
    /* The attribute stays on the statement: a cached statement run once more by db_exec must
     * not go out as a bulk execution. */
    size = 0;
    mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size);
    free(b);
    db_bulk_cols_free(col, cols);
    return rc < 0 ? -1 : 0;
}

struct db_rows *
db_query(struct db *db, const char *sql, const struct db_param *p, int n)
{
    MYSQL_STMT *st = db_run(db, sql, p, n);
    if (st == NULL)
        return NULL;
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (meta == NULL) {
        db_set_err(db, 0, "query returned no result set");
        return NULL;
    }
    int nc = (int)mysql_num_fields(meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    struct db_rows *r = xcalloc(1, sizeof(*r));
    r->n_cols = nc;
    r->names = xcalloc((size_t)nc, sizeof(char *));
    r->numeric = xcalloc((size_t)nc, sizeof(bool));
    for (int i = 0; i < nc; i++) {
        r->names[i] = xstrdup(fields[i].name);
        switch (fields[i].type) {
        case MYSQL_TYPE_TINY:
        case MYSQL_TYPE_SHORT:
        case MYSQL_TYPE_LONG:
        case MYSQL_TYPE_LONGLONG:
        case MYSQL_TYPE_INT24:
        case MYSQL_TYPE_DECIMAL:
        case MYSQL_TYPE_NEWDECIMAL:
        case MYSQL_TYPE_FLOAT:
        case MYSQL_TYPE_DOUBLE:
            r->numeric[i] = true;
            break;
        default:
            break;
        }
    }
    mysql_free_result(meta);

    MYSQL_BIND *b = xcalloc((size_t)nc, sizeof(*b));
    unsigned long *lens = xcalloc((size_t)nc, sizeof(*lens));
    my_bool *nulls = xcalloc((size_t)nc, sizeof(*nulls));
    my_bool *errs = xcalloc((size_t)nc, sizeof(*errs));
    char **bufs = xcalloc((size_t)nc, sizeof(char *));
    const unsigned long cap = 256;
    for (int i = 0; i < nc; i++) {
        bufs[i] = xmalloc(cap);
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = bufs[i];
        b[i].buffer_length = cap;
        b[i].length = &lens[i];
        b[i].is_null = &nulls[i];
        b[i].error = &errs[i];
    }
    int failed = 0, rows_cap = 0;
    if (mysql_stmt_bind_result(st, b) != 0 || mysql_stmt_store_result(st) != 0) {
        db_stmt_err(db, st);
        failed = 1;
    }
    while (!failed) {
        int frc = mysql_stmt_fetch(st);
        if (frc == MYSQL_NO_DATA)
            break;
        if (frc == 1) {
            db_stmt_err(db, st);
            failed = 1;
            break;
        }
        if (r->n_rows == rows_cap) {
            rows_cap = rows_cap ? rows_cap * 2 : 16;
            r->cells = xrealloc(r->cells, sizeof(char *) * (size_t)rows_cap * (size_t)nc);
        }
        char **row = r->cells + (size_t)r->n_rows * (size_t)nc;
        for (int i = 0; i < nc; i++) {
            if (nulls[i]) {
                row[i] = NULL;
            } else if (lens[i] <= cap - 1 && !errs[i]) {
                row[i] = xstrndup(bufs[i], lens[i]);
            } else {
                /* Truncated: fetch the whole column into a buffer of its real length. */
                char *big = xmalloc(lens[i] + 1);
                MYSQL_BIND one = {0};
                unsigned long l2 = 0;
                one.buffer_type = MYSQL_TYPE_STRING;
                one.buffer = big;
                one.buffer_length = lens[i] + 1;
                one.length = &l2;
                if (mysql_stmt_fetch_column(st, &one, (unsigned)i, 0) != 0) {
                    free(big);
                    big = xstrdup("");
                    l2 = 0;
                }
                big[l2 < lens[i] ? l2 : lens[i]] = '\0';
                row[i] = big;
            }
        }
        r->n_rows++;
    }
    /* A statement whose result failed (an INSERT ... RETURNING meeting a duplicate key sends
     * its error in place of the rows) is dropped rather than freed: libmariadb's free_result
     * after such an error leaves the statement answering "Server has gone away" next time. */
    if (failed)
        db_cache_drop(db, st);
    else
        mysql_stmt_free_result(st);
    for (int i = 0; i < nc; i++)
        free(bufs[i]);
    free(bufs);
    free(b);
    free(lens);
    free(nulls);
    free(errs);
    if (failed) {
        db_rows_free(r);
        return NULL;
    }
    return r;
}

int
db_now_s(struct db *db, int64_t *t)
{
    struct db_rows *r = db_query(db, "SELECT UNIX_TIMESTAMP()", NULL, 0);
    if (r == NULL)
        return -1;
    int64_t v = r->n_rows == 1 ? db_rows_int(r, 0, 0, -1) : -1;
    db_rows_free(r);
    if (v < 0)
        return -1;
    *t = v;
    return 0;
}

int
db_exec_static(struct db *db, const char *sql)
{
    if (db_ensure(db) < 0)
        return -1;
    if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) {
        db_conn_err(db);
        return -1;
    }
    /* Drain any result so the connection stays usable. */
    do {
        MYSQL_RES *res = mysql_store_result(db->conn);
        if (res)
            mysql_free_result(res);
    } while (mysql_next_result(db->conn) == 0);
    if (mysql_errno(db->conn)) {
        db_conn_err(db);
        return -1;
    }
    return 0;
}

int
db_begin(struct db *db)
{
    /* A new transaction ends the caller's interest in a lost one. */
    db->in_tx = false;
    if (db_exec_static(db, "START TRANSACTION") < 0)
        return -1;
    db->in_tx = true;
    return 0;
}

int
db_commit(struct db *db)
{
    /* Committed, failed or unknown: the transaction is over either way. */
    db->in_tx = false;
    if (db_gone(db)) {
        db_set_err(db, CR_SERVER_GONE_ERROR, "not connected");
        return -1;
    }
    if (mysql_commit(db->conn) != 0) {
        db_conn_err(db);
        return -1;
    }
    return 0;
}

void
db_rollback(struct db *db)
{
    db->in_tx = false;
    if (!db_gone(db) && mysql_rollback(db->conn) != 0)
        db_conn_err(db);
}
