/* This file holds the rows a query returns (struct db_rows, db.h): reading a cell, keeping some
 * rows, freeing them. */
#include "db.h"

#include <stdlib.h>
#include <string.h>

void
db_rows_free(struct db_rows *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->n_rows * r->n_cols; i++)
        free(r->cells[i]);
    for (int i = 0; i < r->n_cols; i++)
        free(r->names[i]);
    free(r->cells);
    free(r->names);
    free(r->numeric);
    free(r);
}

const char *
db_rows_get(const struct db_rows *r, int row, int col)
{
    if (row < 0 || row >= r->n_rows || col < 0 || col >= r->n_cols)
        return NULL;
    return r->cells[(size_t)row * (size_t)r->n_cols + (size_t)col];
}

int64_t
db_rows_int(const struct db_rows *r, int row, int col, int64_t dflt)
{
    const char *s = db_rows_get(r, row, col);
    if (s == NULL)
        return dflt;
    return strtoll(s, NULL, 10);
}

void
db_rows_keep(struct db_rows *r, const bool *keep)
{
    int out = 0;
    for (int i = 0; i < r->n_rows; i++) {
        char **row = r->cells + (size_t)i * (size_t)r->n_cols;
        if (!keep[i]) {
            for (int c = 0; c < r->n_cols; c++)
                free(row[c]);
            continue;
        }
        if (out != i)
            memmove(r->cells + (size_t)out * (size_t)r->n_cols, row,
                    (size_t)r->n_cols * sizeof(*row));
        out++;
    }
    r->n_rows = out;
}
