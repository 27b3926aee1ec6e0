/* This file holds the statements over a list of values (db.h): "... IN (?,?,?)" with as many
 * placeholders as values, built on db_exec and db_query. */
#include "db.h"
#include "util.h"

#include <stdlib.h>

void
db_placeholders(char *out, int n)
{
    char *p = out;
    for (int i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '?';
    }
    *p = '\0';
}

int
db_exec_in(struct db *db, const char *head, const struct db_param *p, int n)
{
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *sql = xasprintf("%s(%s)", head, ph);
    int rc = db_exec(db, sql, p, n, NULL, NULL);
    free(sql);
    free(ph);
    return rc;
}

struct db_rows *
db_query_in(struct db *db, const char *head, const struct db_param *p, int n)
{
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *sql = xasprintf("%s(%s)", head, ph);
    struct db_rows *r = db_query(db, sql, p, n);
    free(sql);
    free(ph);
    return r;
}

struct db_rows *
db_query_ids(struct db *db, const char *head, const char *tail, const int64_t *ids, int n)
{
    struct db_param *p = xcalloc((size_t)n, sizeof(*p));
    for (int i = 0; i < n; i++)
        p[i] = DBI(ids[i]);
    char *ph = xmalloc((size_t)n * 2 + 1);
    db_placeholders(ph, n);
    char *sql = xasprintf("%s(%s)%s", head, ph, tail);
    struct db_rows *r = db_query(db, sql, p, n);
    free(sql);
    free(ph);
    free(p);
    return r;
}
