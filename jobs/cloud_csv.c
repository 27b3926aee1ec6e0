/* This file holds Cloud/Recording/LinkCsv: a CSV of recording file name -> ticket fields,
 * parsed with libcsv (quoted fields with commas and newlines, UTF-8 with or without BOM). */
#include "cloud.h"
#include "db.h"
#include "json.h"
#include "recording_store.h"
#include "util.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_MAX_BYTES (64 * 1024 * 1024)
#define CSV_MAX_FIELD 1024
#define CSV_MAX_COLS 64
#define CSV_MAX_REPORTED 200

struct csv_run {
    struct job_ctx *ctx;
    struct db *db;
    char *fields[CSV_MAX_COLS]; /* the record being read */
    int nf;
    bool too_many;
    int line;         /* the physical line being fed */
    int record_start; /* the line the record being read began on */
    int cols;         /* header columns; 0 until the header is read */
    int col_of[REC_N_TICKET - 1];
    int col_filename;
    int rows, linked;
    cJSON *bad, *folders;
    int nbad;
    char fatal[256];
    bool fatal_transient; /* fatal is the database's failure, which may pass */
};

static void csv_run_bad(struct csv_run *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
csv_run_bad(struct csv_run *c, const char *fmt, ...)
{
    c->nbad++;
    if (cJSON_GetArraySize(c->bad) >= CSV_MAX_REPORTED)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "line", c->record_start);
    cJSON_AddStringToObject(b, "error", msg);
    cJSON_AddItemToArray(c->bad, b);
    job_warn(c->ctx, "CSV line %d: %s", c->record_start, msg);
    free(msg);
}

static bool
csv_utf8_ok(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80                           ? 1
                : (*s & 0xE0) == 0xC0 && *s >= 0xC2 ? 2
                : (*s & 0xF0) == 0xE0               ? 3
                : (*s & 0xF8) == 0xF0 && *s <= 0xF4 ? 4
                                                    : 0;
        if (n == 0)
            return false;
        for (int i = 1; i < n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return false;
        s += n;
    }
    return true;
}

static void
csv_on_field(void *s, size_t len, void *data)
{
    struct csv_run *c = data;
    if (c->nf >= CSV_MAX_COLS) {
        c->too_many = true;
        return;
    }
    /* CSV_APPEND_NULL terminates the field; trim the spaces of hand-made files. */
    char *v = xstrndup(s ? s : "", len);
    c->fields[c->nf++] = v;
}

static void
csv_header(struct csv_run *c)
{
    c->col_filename = -1;
    for (int k = 0; k < REC_N_TICKET - 1; k++)
        c->col_of[k] = -1;
    for (int i = 0; i < c->nf; i++) {
        if (strcasecmp(c->fields[i], "filename") == 0)
            c->col_filename = i;
        for (int k = 0; k < REC_N_TICKET - 1; k++)
            if (strcasecmp(c->fields[i], rec_ticket_fields[k]) == 0)
                c->col_of[k] = i;
    }
    c->cols = c->nf;
    if (c->col_filename < 0 || c->col_of[REC_F_TICKET_ID] < 0)
        snprintf(c->fatal, sizeof(c->fatal),
                 "the header row (line %d) must name the columns filename and ticket_id",
                 c->record_start);
}

/* Links one data row; reports it when bad. */
static void
csv_row(struct csv_run *c)
{
    c->rows++;
    if (c->too_many || c->nf != c->cols) {
        csv_run_bad(c, "%d fields, the header has %d", c->too_many ? CSV_MAX_COLS : c->nf, c->cols);
        return;
    }
    for (int i = 0; i < c->nf; i++) {
        if (strlen(c->fields[i]) > CSV_MAX_FIELD || !csv_utf8_ok((unsigned char *)c->fields[i])) {
            csv_run_bad(c, "field %d is longer than %d bytes or not UTF-8", i + 1, CSV_MAX_FIELD);
            return;
        }
    }
    const char *fn = c->fields[c->col_filename];
    const char *v[REC_N_TICKET - 1];
    for (int k = 0; k < REC_N_TICKET - 1; k++)
        v[k] = c->col_of[k] >= 0 && c->fields[c->col_of[k]][0] ? c->fields[c->col_of[k]] : NULL;
    if (!fn[0] || v[REC_F_TICKET_ID] == NULL) {
        csv_run_bad(c, "filename and ticket_id must not be empty");
        return;
    }
    bool in_cloud = false;
    char folder[65] = "";
    int rc = 1;
    if (c->ctx->dry_run) {
        cJSON *step = cJSON_CreateObject();
        cJSON_AddStringToObject(step, "link", fn);
        cJSON_AddStringToObject(step, "ticket_id", v[REC_F_TICKET_ID]);
        job_plan(c->ctx, step);
    } else {
        rc = rec_link(c->db, 0, fn, v, &in_cloud, folder);
    }
    if (rc < 0 && !db_lost(c->db) && db_data_error(c->db)) {
        /* The row's values, not the store: a bad row like any other. */
        csv_run_bad(c, "%s", db_errstr(c->db));
    } else if (rc < 0) {
        snprintf(c->fatal, sizeof(c->fatal), "link %s: %s", fn, db_errstr(c->db));
        /* The store's failure, not the file's: the next attempt reads the file again, and
         * linking a row twice writes the same values. */
        c->fatal_transient = true;
    } else if (rc == 0)
        csv_run_bad(c, "no recording named \"%s\"", fn);
    else {
        c->linked++;
        if (in_cloud && !cJSON_GetObjectItemCaseSensitive(c->folders, folder))
            cJSON_AddTrueToObject(c->folders, folder);
    }
}

static void
csv_on_row(int term, void *data)
{
    (void)term;
    struct csv_run *c = data;
    if (c->nf > 0 && !c->fatal[0]) {
        if (c->cols == 0)
            csv_header(c);
        else
            csv_row(c);
    }
    for (int i = 0; i < c->nf; i++)
        free(c->fields[i]);
    c->nf = 0;
    c->too_many = false;
    /* Rows end at a line break of the line being fed: the next one starts on the next line. */
    c->record_start = c->line + 1;
}

/* Feeds the text line by line, so every record knows the line it began on. */
static int
csv_feed(struct csv_run *c, const char *text, size_t len)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
        snprintf(c->fatal, sizeof(c->fatal), "libcsv: cannot initialise");
        return -1;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    c->record_start = c->line = 1;
    for (size_t off = 0; off < len && !c->fatal[0]; c->line++) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - text - off) + 1 : len - off;
        if (csv_parse(&p, text + off, n, csv_on_field, csv_on_row, c) != n) {
            snprintf(c->fatal, sizeof(c->fatal), "line %d: %s", c->line,
                     csv_strerror(csv_error(&p)));
            break;
        }
        off += n;
    }
    c->line--;
    csv_fini(&p, csv_on_field, csv_on_row, c);
    csv_free(&p);
    return c->fatal[0] ? -1 : 0;
}

/* The CSV text the parameters name: {"path"} (a file) or {"upload_id"} (a stored upload). */
static char *
csv_text(struct db *db, const cJSON *params, size_t *len, struct job_out *out)
{
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(params, "path"));
    int64_t up = json_int(params, "upload_id", 1, JSON_INT_MAX, 0);
    if (path) {
        char *t = NULL;
        struct buf b;
        buf_init(&b, CSV_MAX_BYTES);
        FILE *fp = fopen(path, "rb");
        char chunk[65536];
        size_t n;
        int ok = fp != NULL;
        while (ok && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
            ok = buf_append(&b, chunk, n) == 0;
        if (fp)
            fclose(fp);
        if (ok) {
            *len = b.len;
            t = buf_detach(&b);
        } else {
            buf_release(&b);
            job_out_fail(out, JOB_FAIL, "%s: %s", path,
                         fp ? "larger than 64 MiB" : "cannot be read");
        }
        return t;
    }
    if (up > 0) {
        int found;
        char *t = rec_csv_load(db, up, &found);
        *len = t ? strlen(t) : 0;
        if (t == NULL)
            job_out_fail(out, found ? JOB_RETRY : JOB_FAIL, "CSV upload %lld: %s", (long long)up,
                         found ? db_errstr(db) : "no such upload");
        return t;
    }
    job_out_fail(
        out, JOB_FAIL,
        "parameters: need \"path\" (a CSV file) or \"upload_id\" (a positive whole number)");
    return NULL;
}

/* Deletes the uploads older than [scheduler] retention_days: every upload is followed by a run
 * of this job, and nothing else deletes them. Not in a dry run; a failure is only logged (the
 * link is done). */
static void
csv_prune(struct job_ctx *ctx, struct db *db)
{
    if (ctx->dry_run)
        return;
    int64_t n = rec_csv_prune(db, ctx->cfg->scheduler.retention_days);
    if (n < 0)
        job_warn(ctx, "deleting CSV uploads older than %d days: %s",
                 ctx->cfg->scheduler.retention_days, db_errstr(db));
    else if (n > 0)
        job_info(ctx, "deleted %lld CSV upload(s) older than %d days", (long long)n,
                 ctx->cfg->scheduler.retention_days);
}

/* Enqueues one UpdateTicket per folder the good rows touched in the cloud. */
static int
csv_enqueue(struct csv_run *c, struct job_out *out)
{
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, c->folders)
    {
        bool existing;
        char err[512];
        if (cloud_enqueue_update(c->ctx, f->string, &existing, err, sizeof(err)) < 0) {
            job_out_fail(out, JOB_RETRY, "%s", err);
            return -1;
        }
        n++;
    }
    return n;
}

void
cloud_link_csv(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    struct csv_run c = {.ctx = ctx};
    if ((c.db = cloud_db(ctx, out)) == NULL)
        return;
    size_t len = 0;
    char *text = csv_text(c.db, params, &len, out);
    if (text == NULL)
        return;
    c.bad = cJSON_CreateArray();
    c.folders = cJSON_CreateObject();
    int jobs = 0;
    if (memchr(text, '\0', len) != NULL)
        snprintf(c.fatal, sizeof(c.fatal), "the CSV holds a NUL byte: not a text file");
    if (c.fatal[0] || csv_feed(&c, text, len) < 0 || c.cols == 0)
        job_out_fail(out, c.fatal_transient ? JOB_RETRY : JOB_FAIL, "CSV: %s",
                     c.fatal[0] ? c.fatal : "no header row");
    else if ((jobs = csv_enqueue(&c, out)) >= 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "rows", c.rows);
        cJSON_AddNumberToObject(r, "linked", c.linked);
        cJSON_AddNumberToObject(r, "bad_count", c.nbad);
        cJSON_AddItemToObject(r, "bad", c.bad);
        c.bad = NULL;
        cJSON_AddNumberToObject(r, "update_jobs", jobs);
        csv_prune(ctx, c.db);
        job_out_ok(out, cJSON_PrintUnformatted(r));
        cJSON_Delete(r);
    }
    cJSON_Delete(c.bad);
    cJSON_Delete(c.folders);
    free(text);
}
