/* This file holds Tickets/Export/Markdown: one Markdown document per stored ticket of a
 * company, for a knowledge base to index. */
#include "tickets.h"
#include "fault.h"
#include "json.h"
#include "ticket_store.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every ticket of a company, whatever its number: the export is not paged. */
#define EXPORT_MAX_TICKETS 1000000

/* "<ticket_number>-<subject as [a-z0-9-], at most 60>.md": no path separators, no dot files,
 * the same name on every run so a re-export replaces the file. */
static char *
ex_file_name(const cJSON *t)
{
    struct buf b;
    buf_init(&b, 0);
    for (const char *p = json_str(t, "ticket_number", "ticket"); *p; p++)
        buf_printf(&b, "%c", isalnum((unsigned char)*p) || *p == '-' ? *p : '_');
    buf_appends(&b, "-");
    size_t start = b.len;
    bool dash = true;
    for (const char *p = json_str(t, "subject", ""); *p && b.len - start < 60; p++) {
        if (isalnum((unsigned char)*p)) {
            buf_printf(&b, "%c", tolower((unsigned char)*p));
            dash = false;
        } else if (!dash) {
            buf_appends(&b, "-");
            dash = true;
        }
    }
    while (b.len > start && b.data[b.len - 1] == '-')
        b.data[--b.len] = '\0';
    buf_appends(&b, ".md");
    return buf_detach(&b);
}

static void
ex_messages(struct buf *b, const cJSON *list, bool notes)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, list)
    {
        if (notes) {
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "user_id");
            buf_printf(b, "### %s, agent %.0f\n\n", json_str(m, "created_at", ""),
                       cJSON_IsNumber(u) ? u->valuedouble : 0);
        } else {
            bool in = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "incoming"));
            buf_printf(b, "### %s, %s %s\n\n", json_str(m, "created_at", ""),
                       in ? "from the requester" : "agent reply", json_str(m, "from_email", ""));
        }
        buf_printf(b, "%s\n\n", json_str(m, "body_text", ""));
    }
}

/* The document of one ticket row (as ticket_store_company_tickets returns it). */
static char *
ex_document(const cJSON *t)
{
    struct buf b;
    buf_init(&b, 0);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(t, "total_hours_spent");
    buf_printf(&b, "# %s: %s\n\n", json_str(t, "ticket_number", ""), json_str(t, "subject", ""));
    buf_printf(&b,
               "- Requester: %s <%s>\n- Status: %s\n- Priority: %s\n- Created: %s\n"
               "- Closed: %s\n- Hours: %.2f\n\n",
               json_str(t, "requester_name", ""), json_str(t, "requester_email", ""),
               json_str(t, "status", ""), json_str(t, "priority", ""),
               json_str(t, "created_at", ""), json_str(t, "closed_at", "-"),
               cJSON_IsNumber(h)   ? h->valuedouble
               : cJSON_IsString(h) ? atof(h->valuestring)
                                   : 0);
    buf_printf(&b, "## Description\n\n%s\n\n", json_str(t, "description_text", ""));
    buf_appends(&b, "## Conversation\n\n");
    ex_messages(&b, cJSON_GetObjectItemCaseSensitive(t, "conversations"), false);
    buf_appends(&b, "## Internal notes\n\n");
    ex_messages(&b, cJSON_GetObjectItemCaseSensitive(t, "notes"), true);
    return buf_detach(&b);
}

/* Writes len bytes of text to fd; 0, or -1 with errno set (ENOSPC for a short write). */
static int
ex_write_all(int fd, const char *text, size_t len)
{
    if (FAULT_FAIL("export.write")) {
        errno = ENOSPC;
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to dir/name through a temporary file and a rename, so a reader never sees half a
 * document. Returns 0 or -1 with err set; the temporary file is closed and removed on failure
 * (the worker's child lives on: a descriptor left open per failure would run it out). */
static int
ex_write(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
    char *tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
    char *path = xasprintf("%s/%s", dir, name);
    int fd = mkstemp(tmp), rc = -1;
    bool ok = fd >= 0 && ex_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 &&
              fchmod(fd, 0644) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) < 0) {
        ok = false;
        saved = errno;
    }
    if (ok) {
        rc = 0;
    } else {
        snprintf(err, errlen, "write %s: %s", path, strerror(saved));
        if (fd >= 0)
            unlink(tmp);
    }
    free(tmp);
    free(path);
    return rc;
}

/* Checks the parameters: an existing directory (absolute path) and an account. */
static int
ex_params(const cJSON *params, const char **dir, const char **account, char *err, size_t len)
{
    *dir = json_str(params, "dir", NULL);
    *account = json_str(params, "account", NULL);
    struct stat st;
    if (*dir == NULL || (*dir)[0] != '/' || stat(*dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, len,
                 "parameters: \"dir\" must be an existing directory, as an absolute "
                 "path");
        return -1;
    }
    if (*account == NULL || (*account)[0] == '\0') {
        snprintf(err, len, "parameters: \"account\" (a company account number) is required");
        return -1;
    }
    return 0;
}

void
tickets_export_markdown(struct job_ctx *ctx, const cJSON *params, struct job_out *out)
{
    const char *dir, *account;
    char err[512];
    if (ex_params(params, &dir, &account, err, sizeof(err)) < 0) {
        job_out_fail(out, JOB_FAIL, "%s", err);
        return;
    }
    struct db *db = job_db(ctx, "tickets", err, sizeof(err));
    cJSON *rows = db ? ticket_store_company_tickets(db, account, 0, EXPORT_MAX_TICKETS) : NULL;
    if (rows == NULL) {
        job_out_fail(out, JOB_RETRY, "%s", db ? db_errstr(db) : err);
        return;
    }
    int n = cJSON_GetArraySize(rows), written = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, rows)
    {
        char *name = ex_file_name(t), *doc = ex_document(t);
        int rc = 0;
        if (ctx->dry_run)
            job_plan(ctx, cJSON_CreateString(name));
        else
            rc = ex_write(dir, name, doc, err, sizeof(err));
        free(name);
        free(doc);
        if (rc < 0) {
            job_out_fail(out, JOB_RETRY, "%s (%d of %d written)", err, written, n);
            cJSON_Delete(rows);
            return;
        }
        written++;
        job_progress(ctx, written, n, "documents");
    }
    cJSON_Delete(rows);
    job_info(ctx, "%d documents for account %s in %s", written, account, dir);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "account", account);
    cJSON_AddNumberToObject(r, "documents", written);
    job_out_ok(out, cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
}
