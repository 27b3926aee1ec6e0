/* This file applies the SQL migrations under deploy/sql to the fleet's databases. */
#include "migrate.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

/* How long a migrate waits for another one on the same database. */
#define MIGRATE_LOCK_WAIT_S 600
/* The client's read timeout on a migrate's connection: above the lock's wait, and an ALTER of a
 * big table may take longer still. [mysql] read_timeout_s (30 s by default) is for the fleet's
 * statements: it cut both off client-side, the server going on with the statement. */
#define MIGRATE_READ_TIMEOUT_S 86400
/* How long a migration's DDL waits for a table another session holds. While it waits, every
 * later statement on that table queues behind it: the fleet's claims and check-outs would stall
 * behind one long transaction (a backup's, say) until the workers fence themselves. */
#define MIGRATE_MDL_WAIT_S 10

struct migration {
    int version;
    char *name;
    char *path;
};

const char *
migrate_sql_dir(void)
{
    const char *env = getenv("JOBFLEET_SQL_DIR");
    if (env && *env)
        return env;
    struct stat st;
    if (stat(JOBFLEET_SQL_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        return JOBFLEET_SQL_DIR;
    return JOBFLEET_SQL_INSTALL_DIR;
}

static int
migration_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return x->version != y->version ? x->version - y->version : strcmp(x->name, y->name);
}

/* Lists NNN_*.sql files in dir into *out (*n of them, the caller frees them), sorted by
 * version. Returns 0, or -1 with err set when dir cannot be read or two files share a version:
 * the second would be skipped for good once the first is applied (two branches that each added
 * the next number), so nothing is applied until one is renumbered. */
static int
migrate_list(const char *dir, struct migration **out, int *np, char *err, size_t errlen)
{
    *out = NULL;
    *np = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, errlen, "%s: cannot read the migrations directory", dir);
        return -1;
    }
    struct migration *m = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        size_t l = strlen(nm);
        if (l < 9 || !isdigit((unsigned char)nm[0]) || !isdigit((unsigned char)nm[1]) ||
            !isdigit((unsigned char)nm[2]) || nm[3] != '_' || strcmp(nm + l - 4, ".sql") != 0)
            continue;
        m = xrealloc(m, sizeof(*m) * (size_t)(n + 1));
        m[n].version = (nm[0] - '0') * 100 + (nm[1] - '0') * 10 + (nm[2] - '0');
        m[n].name = xstrndup(nm, l - 4);
        m[n].path = xasprintf("%s/%s", dir, nm);
        n++;
    }
    closedir(d);
    qsort(m, (size_t)n, sizeof(*m), migration_cmp);
    *out = m;
    *np = n;
    for (int i = 1; i < n; i++)
        if (m[i].version == m[i - 1].version) {
            snprintf(err, errlen,
                     "%s: %s.sql and %s.sql have the same version %03d: renumber one (nothing "
                     "was applied)",
                     dir, m[i - 1].name, m[i].name, m[i].version);
            return -1;
        }
    return 0;
}

/* Runs the statement of path that starts at line at; -1 with err set. */
static int
migrate_exec(struct db *db, const char *path, int at, const char *stmt, char *err, size_t errlen)
{
    if (db_exec_static(db, stmt) == 0)
        return 0;
    if (db_errno(db) == 1205) /* ER_LOCK_WAIT_TIMEOUT */
        snprintf(err, errlen,
                 "%s:%d: gave up waiting for a table or rows another session holds (a long "
                 "transaction, a backup?): %d s for a table, innodb_lock_wait_timeout for rows, "
                 "rather than stall the fleet behind it; nothing of this statement was applied: "
                 "run jobfleet migrate again (%s)",
                 path, at, MIGRATE_MDL_WAIT_S, db_errstr(db));
    else
        snprintf(err, errlen, "%s:%d: %s", path, at, db_errstr(db));
    return -1;
}

/* Runs each ";"-at-end-of-line separated statement of a file. Migration files are ours:
 * static text, no input. */
static int
migrate_apply_file(struct db *db, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    struct buf stmt;
    buf_init(&stmt, 0);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, no = 0, at = 0;
    while (rc == 0 && getline(&line, &cap, fp) >= 0) {
        no++;
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "--", 2) == 0 || *p == '\0')
            continue;
        if (stmt.len == 0)
            at = no;
        buf_appends(&stmt, line);
        size_t l = strlen(line);
        while (l && isspace((unsigned char)line[l - 1]))
            l--;
        if (l && line[l - 1] == ';') {
            rc = migrate_exec(db, path, at, stmt.data, err, errlen);
            buf_reset(&stmt);
        }
    }
    if (rc == 0 && stmt.len > 0) {
        /* Recorded as applied, a last statement without its ';' would never run. */
        snprintf(err, errlen, "%s:%d: the file ends inside a statement (no ';' at its end)", path,
                 at);
        rc = -1;
    }
    free(line);
    fclose(fp);
    buf_release(&stmt);
    return rc;
}

static bool
migrate_name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* Takes the database's migration lock for the connection's life: two migrates at once (an
 * init container per replica) would each apply every file not yet recorded. Waits up to
 * MIGRATE_LOCK_WAIT_S for the other to finish. -1 with err set. */
static int
migrate_lock(struct db *db, const char *database, char *err, size_t errlen)
{
    char name[64];
    snprintf(name, sizeof(name), "jobfleet:migrate:%.40s", database);
    struct db_rows *r =
        db_query(db, "SELECT GET_LOCK(?, ?)", DB_P(DBS(name), DBI(MIGRATE_LOCK_WAIT_S)));
    int got = r ? (int)db_rows_int(r, 0, 0, 0) : -1;
    if (r == NULL)
        snprintf(err, errlen, "database %s: the migration lock: %s", database, db_errstr(db));
    else if (got != 1)
        snprintf(err, errlen,
                 "database %s: another jobfleet migrate has held the migration lock for %d s",
                 database, MIGRATE_LOCK_WAIT_S);
    db_rows_free(r);
    return got == 1 ? 0 : -1;
}

int
migrate_run(const struct cfg_mysql *m, const char *dir, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    if (!migrate_name_ok(m->database)) {
        snprintf(err, errlen, "[mysql] database: \"%s\" must be 1-64 of [A-Za-z0-9_]", m->database);
        return -1;
    }
    struct cfg_mysql admin = *m;
    static char none[] = "";
    admin.database = none;
    admin.read_timeout_s = MIGRATE_READ_TIMEOUT_S;
    struct db *db = db_new(&admin);
    struct migration *list = NULL;
    int n = -1, rc = -1;
    if (db_connect(db) < 0) {
        snprintf(err, errlen, "%s", db_errstr(db));
        goto out;
    }
    /* An identifier cannot be bound; the name was checked to be [A-Za-z0-9_] above. */
    char *sql = xasprintf("CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4", m->database);
    int crc = db_exec_static(db, sql);
    free(sql);
    sql = xasprintf("USE `%s`", m->database);
    if (crc == 0)
        crc = db_exec_static(db, sql);
    free(sql);
    if (crc == 0)
        crc = db_exec(db, "SET SESSION lock_wait_timeout = ?", DB_P(DBI(MIGRATE_MDL_WAIT_S)), NULL,
                      NULL);
    if (crc < 0) {
        snprintf(err, errlen, "database %s: %s", m->database, db_errstr(db));
        goto out;
    }
    if (migrate_lock(db, m->database, err, errlen) < 0)
        goto out;
    if (db_exec_static(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version INT NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL, "
                           "dt_applied DATETIME(6) NOT NULL) ENGINE=InnoDB") < 0) {
        snprintf(err, errlen, "schema_migrations: %s", db_errstr(db));
        goto out;
    }
    if (migrate_list(dir, &list, &n, err, errlen) < 0)
        goto out;
    int known = n ? list[n - 1].version : 0;
    struct db_rows *r =
        db_query(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", DB_NOP);
    if (r == NULL) {
        snprintf(err, errlen, "schema_migrations: %s", db_errstr(db));
        goto out;
    }
    int current = (int)db_rows_int(r, 0, 0, 0);
    db_rows_free(r);
    if (current > known) {
        snprintf(err, errlen,
                 "database %s is at schema version %d, newer than this jobfleet knows (%d); "
                 "upgrade jobfleet before migrating",
                 m->database, current, known);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        r = db_query(db, "SELECT 1 FROM schema_migrations WHERE version = ?",
                     DB_P(DBI(list[i].version)));
        if (r == NULL) {
            snprintf(err, errlen, "schema_migrations: %s", db_errstr(db));
            goto out;
        }
        bool done = r->n_rows > 0;
        db_rows_free(r);
        if (done)
            continue;
        if (migrate_apply_file(db, list[i].path, err, errlen) < 0)
            goto out;
        if (db_exec(db,
                    "INSERT INTO schema_migrations (version, name, dt_applied) "
                    "VALUES (?, ?, NOW(6))",
                    DB_P(DBI(list[i].version), DBS(list[i].name)), NULL, NULL) < 0) {
            snprintf(err, errlen, "schema_migrations: %s", db_errstr(db));
            goto out;
        }
        log_info("applied migration %s to %s", list[i].name, m->database);
        (*applied)++;
    }
    rc = 0;
out:
    for (int i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].path);
    }
    free(list);
    db_free(db);
    return rc;
}

int
migrate_check_schema(const struct cfg_mysql *m, char *err, size_t errlen)
{
    struct cfg_mysql quick = *m;
    quick.connect_timeout_s = quick.read_timeout_s = 2; /* a start must not hang on a hung server */
    struct db *db = db_new(&quick);
    int version = -1;
    if (db_connect(db) == 0) {
        struct db_rows *r =
            db_query(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", DB_NOP);
        if (r)
            version = (int)db_rows_int(r, 0, 0, 0);
        else if (db_errno(db) == 1146) /* ER_NO_SUCH_TABLE: never migrated */
            version = 0;
        else
            log_warnx("cannot read the schema version (%s): not checked", db_errstr(db));
        db_rows_free(r);
    }
    db_free(db);
    if (version < 0 || version >= MIGRATE_SCHEMA_VERSION)
        return 0;
    snprintf(err, errlen,
             "database %s is at schema version %d; this jobfleet needs %d: run `jobfleet "
             "migrate` first",
             m->database, version, MIGRATE_SCHEMA_VERSION);
    return -1;
}

static bool
migrate_same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether a and b name one database on one server, as db_connect reaches it: by the socket
 * when one is set (host and port are then ignored), else by host and port. */
static bool
migrate_same_database(const struct cfg_mysql *a, const struct cfg_mysql *b)
{
    bool sa = a->socket && a->socket[0], sb = b->socket && b->socket[0];
    if (!migrate_same_str(a->database, b->database) || sa != sb)
        return false;
    return sa ? migrate_same_str(a->socket, b->socket)
              : migrate_same_str(a->host, b->host) && a->port == b->port;
}

/* Refuses a [db.<label>] with migrations of its own whose database is the fleet's or that of
 * an earlier set (seen[0..n)): schema_migrations counts versions, not sets, so the second set's
 * files would be taken for applied, or for a newer schema. */
static int
migrate_own_database(const struct cfg *c, const char *label, const struct cfg_mysql *m,
                     const struct cfg_mysql *seen, const char **seen_label, int n, char *err,
                     size_t errlen)
{
    const char *other = migrate_same_database(m, &c->mysql) ? "the fleet's ([mysql])" : NULL;
    char buf[96];
    for (int i = 0; other == NULL && i < n; i++)
        if (migrate_same_database(m, &seen[i])) {
            snprintf(buf, sizeof(buf), "[db.%s]'s", seen_label[i]);
            other = buf;
        }
    if (other == NULL)
        return 0;
    snprintf(err, errlen,
             "[db.%s]: database %s is %s as well: its migrations need a database of their own "
             "(set database = in [db.%s])",
             label, m->database, other, label);
    return -1;
}

/* The [db.<name>] sections that have migrations under dir/<name>/, their settings in m and
 * their names in label (room for c->n_sections); returns how many. */
static int
migrate_sets(const struct cfg *c, const char *dir, struct cfg_mysql *m, const char **label)
{
    int n = 0;
    for (int i = 0; i < c->n_sections; i++) {
        const struct cfg_section *s = &c->sections[i];
        if (strcmp(s->kind, "db") != 0)
            continue;
        char *sub = xasprintf("%s/%s", dir, s->label);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && cfg_db_section(c, s->label, &m[n]) == 0)
            label[n++] = s->label;
        free(sub);
    }
    return n;
}

/* Refuses a migrations directory older than this build (a copy left from the last version):
 * its migrate would say the schema is up to date, and every daemon then refuse to start on it. */
static int
migrate_dir_current(const char *dir, char *err, size_t errlen)
{
    struct migration *list = NULL;
    int n = 0;
    int rc = migrate_list(dir, &list, &n, err, errlen); /* the list is the caller's either way */
    int highest = n ? list[n - 1].version : 0;
    for (int i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].path);
    }
    free(list);
    if (rc < 0)
        return -1;
    if (highest >= MIGRATE_SCHEMA_VERSION)
        return 0;
    snprintf(err, errlen,
             "%s holds migrations up to version %d, and this jobfleet needs %d: it is an older "
             "copy; point JOBFLEET_SQL_DIR at this version's deploy/sql, or install it",
             dir, highest, MIGRATE_SCHEMA_VERSION);
    return -1;
}

int
migrate_all(const struct cfg *c, int *applied, char *err, size_t errlen)
{
    const char *dir = migrate_sql_dir();
    if (migrate_dir_current(dir, err, errlen) < 0)
        return -1;
    struct cfg_mysql *m = xcalloc((size_t)c->n_sections + 1, sizeof(*m));
    const char **label = xcalloc((size_t)c->n_sections + 1, sizeof(*label));
    int n = migrate_sets(c, dir, m, label), rc = 0, one = 0;
    *applied = 0;
    /* Every set's database is checked before any is migrated. */
    for (int i = 0; i < n && rc == 0; i++)
        rc = migrate_own_database(c, label[i], &m[i], m, label, i, err, errlen);
    if (rc == 0) {
        rc = migrate_run(&c->mysql, dir, &one, err, errlen);
        *applied += one;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        char *sub = xasprintf("%s/%s", dir, label[i]);
        rc = migrate_run(&m[i], sub, &one, err, errlen);
        *applied += one;
        free(sub);
    }
    free(m);
    free(label);
    return rc < 0 ? -1 : 0;
}
