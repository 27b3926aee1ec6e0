/* End-to-end tests of the attachment copy between TOGA 2 (tests/fakes/toga.py) and the desk
 * (the test schema tests/fakes/desk/schema.sql and an uploads directory), with a real worker,
 * MariaDB and Redis. */
#include "db.h"
#include "tconf.h"
#include "tdesk.h"
#include "tfake.h"
#include "tsupport.h"
#include "ttoga.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct at {
    struct tenv *t;
    struct tfake toga;
    struct db *desk;
    char *uploads;
    int64_t reply;
};

/* Starts the TOGA 2 fake, makes the desk database with one ticket and reply, the uploads
 * directory, the config ([attachments] max_bytes = max_bytes), and a worker. */
static void
at_start_max(struct at *a, struct tenv *t, int64_t max_bytes)
{
    memset(a, 0, sizeof(*a));
    a->t = t;
    tfake_start(t, &a->toga, "toga.py", NULL);
    a->desk = tdesk_create(t);
    a->uploads = xasprintf("%s/uploads", t->dir);
    CHECK(mkdir(a->uploads, 0755) == 0, "mkdir %s", a->uploads);
    char *c = xasprintf("[service.toga]\nbase_url = %s/v2\napi_key = toga-key\n"
                        "api_secret = toga-secret\nbackoff_base_ms = 10\n\n"
                        "[db.desk]\ndatabase = %s_desk\n\n"
                        "[attachments]\nuploads_dir = %s\nmax_bytes = %lld\n",
                        a->toga.base_url, t->db_name, a->uploads, (long long)max_bytes);
    t_conf_append(t, c);
    free(c);
    uint64_t id;
    CHECK(db_exec(a->desk, "INSERT INTO tickets (clientid, subject) VALUES (1, 's')", DB_NOP, NULL,
                  &id) == 0,
          "desk ticket: %s", db_errstr(a->desk));
    CHECK(db_exec(a->desk, "INSERT INTO tickets_replies (ticketid, message) VALUES (?, 'r')",
                  DB_P(DBI(id)), NULL, &id) == 0,
          "desk reply: %s", db_errstr(a->desk));
    a->reply = (int64_t)id;
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
}

static void
at_start(struct at *a, struct tenv *t)
{
    at_start_max(a, t, 1000000);
}

static void
at_stop(struct at *a)
{
    tfake_stop(&a->toga);
    db_free(a->desk);
    free(a->uploads);
}

/* Runs an action to its end; checks its final state and returns its result or failure
 * reason (caller frees). */
static char *
at_run(struct at *a, const char *action, const char *params, const char *state)
{
    int64_t id = t_enqueue(a->t, action, params, NULL);
    WAIT_UNTIL(t_job_done(a->t, id), 60000, "%s finishes", action);
    char *st = t_job_state(a->t, id);
    char *reason = t_sql_str(a->t, "SELECT failure_reason FROM jobs WHERE id = ?", DB_P(DBI(id)));
    if (strcmp(st, state) != 0) {
        char ids[24], *show = NULL;
        snprintf(ids, sizeof(ids), "%lld", (long long)id);
        t_cli(a->t, &show, NULL, (const char *const[]){"show", ids, NULL});
        fprintf(stderr, "%s\n", show ? show : "");
        free(show);
    }
    CHECK(strcmp(st, state) == 0, "%s %s ended %s, expected %s: %s", action, params, st, state,
          reason ? reason : "");
    free(st);
    if (state[0] != 's')
        return reason;
    free(reason);
    return t_sql_str(a->t, "SELECT result FROM jobs WHERE id = ?", DB_P(DBI(id)));
}

static int
at_copied(const char *result)
{
    cJSON *r = cJSON_Parse(result ? result : "");
    const cJSON *c = cJSON_GetObjectItem(r, "copied");
    int n = cJSON_IsNumber(c) ? (int)c->valuedouble : -1;
    cJSON_Delete(r);
    return n;
}

static char *
at_to_desk_params(struct at *a, const char *note)
{
    return xasprintf("{\"note_uuid\":\"%s\",\"desk_reply_id\":%lld}", note, (long long)a->reply);
}

static int64_t
at_desk_int(struct at *a, const char *sql)
{
    struct db_rows *r = db_query(a->desk, sql, DB_NOP);
    CHECK(r, "%s: %s", sql, db_errstr(a->desk));
    int64_t v = db_rows_int(r, 0, 0, -1);
    db_rows_free(r);
    return v;
}

/* Checks that every complete files row of the reply has its bytes on disk as {id}-{name} with
 * filesize bytes, and returns the rows (name, file, filesize) for more checks. */
static struct db_rows *
at_desk_check(struct at *a)
{
    struct db_rows *r = db_query(a->desk,
                                 "SELECT name, file, filesize, id FROM files "
                                 "WHERE ticketreplyid = ? ORDER BY id",
                                 DB_P(DBI(a->reply)));
    CHECK(r, "files: %s", db_errstr(a->desk));
    for (int i = 0; i < r->n_rows; i++) {
        char want[512];
        snprintf(want, sizeof(want), "%s-%s", db_rows_get(r, i, 3), db_rows_get(r, i, 0));
        CHECK(strcmp(db_rows_get(r, i, 1), want) == 0, "file is {id}-{name}: %s vs %s",
              db_rows_get(r, i, 1), want);
        char *path = xasprintf("%s/%s", a->uploads, db_rows_get(r, i, 1));
        struct stat st;
        CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "%s is a regular file", path);
        CHECK(st.st_size == db_rows_int(r, i, 2, -1), "%s has filesize bytes", path);
        free(path);
    }
    return r;
}

/* Seeds a desk file row with its bytes on disk (as the desk application does). */
static void
at_desk_file(struct at *a, const char *name, const char *bytes)
{
    uint64_t id;
    CHECK(db_exec(a->desk, "INSERT INTO files (ticketreplyid, name) VALUES (?, ?)",
                  DB_P(DBI(a->reply), DBS(name)), NULL, &id) == 0,
          "desk file: %s", db_errstr(a->desk));
    char *file = xasprintf("%llu-%s", (unsigned long long)id, name);
    char *path = xasprintf("%s/%s", a->uploads, file);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fwrite(bytes, 1, strlen(bytes), fp) == strlen(bytes), "write %s", path);
    fclose(fp);
    CHECK(db_exec(a->desk, "UPDATE files SET file = ?, filesize = ? WHERE id = ?",
                  DB_P(DBS(file), DBI(strlen(bytes)), DBI(id)), NULL, NULL) == 0,
          "desk file: %s", db_errstr(a->desk));
    free(file);
    free(path);
}

static void
test_toga_to_desk_twice(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "report.pdf", "%PDF-1.4 one", 12));
    free(ttoga_note_file(&a.toga, note, "photo.png", "png bytes", 9));
    char *p = at_to_desk_params(&a, note);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 2, "the first run copies both: %s", res);
    free(res);
    db_rows_free(at_desk_check(&a));
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files") == 2, "two rows");
    res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 0, "the second run copies none: %s", res);
    free(res);
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files") == 2, "still two rows");
    CHECK(ttoga_count(&a.toga, "GET /v2/ticket-notes/{uuid}/ticket-note-files") == 0,
          "the nested route is never used");
    free(p);
    free(note);
    at_stop(&a);
}

static void
test_desk_to_toga_twice(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *note = ttoga_note(&a.toga);
    at_desk_file(&a, "invoice.pdf", "invoice bytes");
    at_desk_file(&a, "log.txt", "a log");
    char *p = xasprintf("{\"desk_reply_id\":%lld,\"note_uuid\":\"%s\"}", (long long)a.reply, note);
    char *res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    CHECK(at_copied(res) == 2, "the first run copies both: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 2, "two uploads");
    CHECK(ttoga_count(&a.toga, "POST /v2/ticket-notes/{uuid}/ticket-note-files") == 2, "two links");
    cJSON *files = ttoga_note_files(&a.toga, note);
    CHECK(cJSON_GetArraySize(files) == 2, "the note has two files");
    CHECK(strcmp(cJSON_GetArrayItem(files, 0)->child->valuestring, "invoice.pdf") == 0 &&
              strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 0), "bytes")->valuestring,
                     "invoice bytes") == 0,
          "the bytes arrived");
    cJSON_Delete(files);
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    CHECK(at_copied(res) == 0, "the second run copies none: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 2, "no upload on the second run");
    CHECK(ttoga_count(&a.toga, "GET /v2/ticket-notes/{uuid}/ticket-note-files") == 0,
          "the nested route is never used");
    free(p);
    free(note);
    at_stop(&a);
}

/* A note with none and one with two files, read without the nested route; and the misspelt key
 * of the fake's answer fails the job instead of uploading duplicates. */
static void
test_note_zero_two_misspelt(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *empty = ttoga_note(&a.toga);
    char *p = at_to_desk_params(&a, empty);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 0, "a note without files copies nothing: %s", res);
    free(res);
    free(p);
    char *note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "a.txt", "aaa", 3));
    free(ttoga_note_file(&a.toga, note, "b.txt", "bbb", 3));
    at_desk_file(&a, "a.txt", "aaa");
    at_desk_file(&a, "c.txt", "ccc");
    p = xasprintf("{\"desk_reply_id\":%lld,\"note_uuid\":\"%s\"}", (long long)a.reply, note);
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    CHECK(at_copied(res) == 1, "only c.txt is new to the note: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "GET /v2/ticket-notes/{uuid}/ticket-note-files") == 0,
          "the nested route is never used");
    /* The misspelt key: the fake now answers ticketNotesFiles only. */
    cJSON *mode = cJSON_CreateObject();
    cJSON_AddStringToObject(mode, "note_files_key", "ticketNotesFiles");
    cJSON_Delete(ttoga_control(&a.toga, "mode", mode));
    cJSON_Delete(mode);
    int uploads = ttoga_count(&a.toga, "POST /v2/files");
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "failed");
    CHECK(res && strstr(res, "ticketNoteFiles"), "the failure names the missing key: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == uploads, "nothing uploaded again");
    free(p);
    free(note);
    free(empty);
    at_stop(&a);
}

/* Counts the entries of a directory (without . and ..). */
static int
at_dir_count(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL, "opendir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void
test_hostile_names(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    /* A file outside the uploads directory that a symlink inside points at. */
    char *outside = xasprintf("%s/outside.txt", t->dir);
    FILE *fp = fopen(outside, "w");
    CHECK(fp && fputs("untouched", fp) >= 0, "write %s", outside);
    fclose(fp);
    /* The first files row gets id 1 in the fresh desk: 1-link.txt is its final name. */
    char *link = xasprintf("%s/1-link.txt", a.uploads);
    CHECK(symlink(outside, link) == 0, "symlink %s", link);
    char *note = ttoga_note(&a.toga);
    char longname[301];
    memset(longname, 'n', 296);
    memcpy(longname + 296, ".txt", 5);
    const char *names[] = {"link.txt", "../../etc/passwd", "/abs",  "a/b",
                           "..",       "x\x01y\x1f.txt",   longname};
    int n = (int)(sizeof(names) / sizeof(names[0]));
    for (int i = 0; i < n; i++)
        free(ttoga_note_file(&a.toga, note, names[i], names[i], strlen(names[i])));
    char *p = at_to_desk_params(&a, note);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == n, "every hostile name is copied under a safe name: %s", res);
    free(res);
    struct db_rows *r = at_desk_check(&a);
    CHECK(r->n_rows == n, "one row each");
    for (int i = 0; i < r->n_rows; i++) {
        const char *file = db_rows_get(r, i, 1);
        CHECK(strchr(file, '/') == NULL && strlen(file) < 200 && file[0] != '.',
              "a safe stored name: %s", file);
        for (const char *c = file; *c; c++)
            CHECK((unsigned char)*c >= 0x20, "no control characters: %s", file);
    }
    db_rows_free(r);
    char *got = t_read_file(outside);
    CHECK(got && strcmp(got, "untouched") == 0, "the symlink's target is untouched: %s", got);
    free(got);
    struct stat st;
    CHECK(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "1-link.txt is now a regular file");
    CHECK(at_dir_count(a.uploads) == n, "nothing else in the uploads directory");
    char *etc = xasprintf("%s/etc", t->dir);
    CHECK(access(etc, F_OK) != 0 && access("/abs", F_OK) != 0, "nothing written outside");
    free(etc);
    free(p);
    free(note);
    free(link);
    free(outside);
    at_stop(&a);
}

static void
test_same_name(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "a.txt", "first", 5));
    free(ttoga_note_file(&a.toga, note, "a.txt", "other", 5)); /* same size, other bytes */
    free(ttoga_note_file(&a.toga, note, "b.txt", "same", 4));
    free(ttoga_note_file(&a.toga, note, "b.txt", "same", 4));
    char *p = at_to_desk_params(&a, note);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 3, "two a.txt kept, one b.txt: %s", res);
    free(res);
    struct db_rows *r = at_desk_check(&a);
    CHECK(r->n_rows == 3 && strcmp(db_rows_get(r, 0, 0), "a.txt") == 0 &&
              strcmp(db_rows_get(r, 1, 0), "a (2).txt") == 0 &&
              strcmp(db_rows_get(r, 2, 0), "b.txt") == 0,
          "a.txt, a (2).txt, b.txt");
    char *second = xasprintf("%s/%s", a.uploads, db_rows_get(r, 1, 1));
    char *got = t_read_file(second);
    CHECK(got && strcmp(got, "other") == 0, "the second a.txt holds its own bytes");
    free(got);
    free(second);
    db_rows_free(r);
    res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 0, "a re-run copies none: %s", res);
    free(res);
    free(p);
    /* The other way: two desk files named c.txt with different bytes reach the note as two. */
    char *note2 = ttoga_note(&a.toga);
    at_desk_file(&a, "c.txt", "one");
    at_desk_file(&a, "c.txt", "two");
    p = xasprintf("{\"desk_reply_id\":%lld,\"note_uuid\":\"%s\"}", (long long)a.reply, note2);
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    cJSON *files = ttoga_note_files(&a.toga, note2);
    int c1 = 0, c2 = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const char *nm = cJSON_GetObjectItem(f, "name")->valuestring;
        c1 += strcmp(nm, "c.txt") == 0;
        c2 += strcmp(nm, "c (2).txt") == 0;
    }
    CHECK(c1 == 1 && c2 == 1, "c.txt and c (2).txt on the note: %s", res);
    free(res);
    cJSON_Delete(files);
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    CHECK(at_copied(res) == 0, "a re-run uploads none: %s", res);
    free(res);
    free(p);
    free(note2);
    free(note);
    at_stop(&a);
}

/* Retries of the copy due a second later, and a scheduler to queue them when due. */
static void
at_fast_retries(struct at *a)
{
    char *out = NULL;
    const char *av[] = {"action",         "set", "Attachments/Toga/CopyToDesk",
                        "--backoff-base", "1s",  NULL};
    CHECK(t_cli(a->t, &out, NULL, av) == 0, "action set: %s", out ? out : "");
    free(out);
    t_spawn(a->t, t_bin("jobfleet-scheduler"), NULL);
}

/* at_start with fast retries and a note holding one file of n bytes; returns the note's uuid
 * (the caller frees it). */
static char *
at_start_one_file(struct at *a, struct tenv *t, const char *name, const char *bytes, size_t n)
{
    at_start(a, t);
    at_fast_retries(a);
    char *note = ttoga_note(&a->toga);
    free(ttoga_note_file(&a->toga, note, name, bytes, n));
    return note;
}

/* Enqueues the copy of note to desk reply reply, extra (",\"k\":v..." or "") added to its
 * parameters; returns the job's id. */
static int64_t
at_enqueue_copy(struct at *a, const char *note, int64_t reply, const char *extra)
{
    char *p =
        xasprintf("{\"note_uuid\":\"%s\",\"desk_reply_id\":%lld%s}", note, (long long)reply, extra);
    int64_t id = t_enqueue(a->t, "Attachments/Toga/CopyToDesk", p, NULL);
    free(p);
    return id;
}

/* The worker's child is killed (as kill -9 does) after the files row and before the bytes: the
 * retry repairs it, with one complete row per file and the bytes on disk. */
static void
test_crash_repair(struct tenv *t)
{
    struct at a;
    char *note = at_start_one_file(&a, t, "r.txt", "the bytes", 9);
    int64_t id = at_enqueue_copy(&a, note, a.reply, ",\"_test_crash_after_row\":1");
    WAIT_UNTIL(t_job_done(t, id), 60000, "the job finishes");
    char *st = t_job_state(t, id);
    CHECK(strcmp(st, "succeeded") == 0, "the job succeeded after the crash: %s", st);
    free(st);
    CHECK(t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(id))) == 2,
          "on its second attempt");
    char *r1 = t_sql_str(t, "SELECT reason FROM job_attempts WHERE job_id = ? AND attempt = 1",
                         DB_P(DBI(id)));
    CHECK(r1 && strstr(r1, "SIGKILL"), "the first attempt was killed: %s", r1 ? r1 : "");
    free(r1);
    struct db_rows *r = at_desk_check(&a);
    CHECK(r->n_rows == 1 && db_rows_int(r, 0, 2, 0) == 9, "one complete row: %d", r->n_rows);
    db_rows_free(r);
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files WHERE file = ''") == 0,
          "no row without its file");
    CHECK(at_dir_count(a.uploads) == 1, "one file, no temporary left");
    free(note);
    at_stop(&a);
}

/* Commits desk reply id, on the same ticket as the fixture's reply: the sync's transaction. */
static void
at_insert_reply(struct at *a, int64_t id)
{
    uint64_t got;
    CHECK(db_exec(a->desk,
                  "INSERT INTO tickets_replies (id, ticketid, message) SELECT ?, "
                  "ticketid, 'r2' FROM tickets_replies WHERE id = ?",
                  DB_P(DBI(id), DBI(a->reply)), NULL, &got) == 0,
          "desk reply: %s", db_errstr(a->desk));
}

/* The usual case of the race below: the sync's desk transaction commits a few hundred
 * milliseconds after the copy was enqueued. The copy waits for the reply a moment rather than
 * fail its first attempt (every such reply showed a failed attempt on the dashboard). */
static void
test_reply_committed_soon(struct tenv *t)
{
    struct at a;
    char *note = at_start_one_file(&a, t, "soon.txt", "soon bytes", 10);
    int64_t later = a.reply + 1;
    int64_t id = at_enqueue_copy(&a, note, later, "");
    WAIT_UNTIL(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running'",
                         DB_P(DBI(id))) == 1,
               30000, "the copy never started");
    sleep_ms(300); /* the transaction's commit, a moment after the job started */
    at_insert_reply(&a, later);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the job finishes");
    char *r1 = t_sql_str(t, "SELECT reason FROM job_attempts WHERE job_id = ? AND attempt = 1",
                         DB_P(DBI(id)));
    char *st = t_job_state(t, id);
    CHECK(strcmp(st, "succeeded") == 0 &&
              t_sql_int(t, 0, "SELECT attempt FROM jobs WHERE id = ?", DB_P(DBI(id))) == 1,
          "a reply committed 300 ms into the copy: the job is %s, its first attempt: %s", st,
          r1 ? r1 : "(none)");
    free(r1);
    free(st);
    free(note);
    at_stop(&a);
}

/* The helpdesk sync enqueues the copy inside the desk transaction that inserts the reply, so a
 * worker can run the copy before that transaction commits: the reply is not there yet. That is
 * a retry, not a failure for good; the copy succeeds once the reply is committed. */
static void
test_reply_committed_later(struct tenv *t)
{
    struct at a;
    char *note = at_start_one_file(&a, t, "late.txt", "late bytes", 10);
    int64_t later = a.reply + 1;
    int64_t id = at_enqueue_copy(&a, note, later, "");
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id))) >= 1,
        30000, "the first attempt never ended");
    char *r1 = t_sql_str(t, "SELECT reason FROM job_attempts WHERE job_id = ? AND attempt = 1",
                         DB_P(DBI(id)));
    CHECK(r1 && strstr(r1, "no such tickets_replies row"), "attempt 1 found no reply: %s",
          r1 ? r1 : "");
    free(r1);
    char *st = t_job_state(t, id);
    CHECK(strcmp(st, "failed") != 0 && !t_job_done(t, id),
          "a reply not there yet is retried, not failed for good: the job is %s", st);
    free(st);
    at_insert_reply(&a, later);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the job finishes");
    st = t_job_state(t, id);
    CHECK(strcmp(st, "succeeded") == 0, "the copy succeeded once the reply was there: %s", st);
    free(st);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM job_attempts WHERE job_id = ?", DB_P(DBI(id))) >= 2,
          "on a later attempt");
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files WHERE filesize = 10") == 1,
          "the file was copied");
    free(note);
    at_stop(&a);
}

static void
test_dry_run(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "d.txt", "dry", 3));
    char *p = xasprintf("{\"note_uuid\":\"%s\",\"desk_reply_id\":%lld,\"dry_run\":true}", note,
                        (long long)a.reply);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(res && strstr(res, "\"copy_to_desk\":\"d.txt\""), "the plan lists the copy: %s", res);
    free(res);
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files") == 0, "no row written");
    CHECK(at_dir_count(a.uploads) == 0, "no file written");
    free(p);
    at_desk_file(&a, "e.txt", "eee");
    p = xasprintf("{\"desk_reply_id\":%lld,\"note_uuid\":\"%s\",\"dry_run\":true}",
                  (long long)a.reply, note);
    res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    CHECK(res && strstr(res, "\"upload_to_note\":\"e.txt\""), "the plan lists the upload: %s", res);
    free(res);
    CHECK(ttoga_count(&a.toga, "POST /v2/files") == 0, "nothing uploaded");
    free(p);
    free(note);
    at_stop(&a);
}

/* A file below [attachments] max_bytes whose answer in base64 passes the TOGA client's
 * default max_response_bytes (16 MiB) is copied; one past max_bytes fails naming it. */
static void
test_big_file(struct tenv *t)
{
    struct at a;
    at_start_max(&a, t, 14000000);
    size_t big = 13000000, over = 14100000;
    char *bytes = xmalloc(over);
    for (size_t i = 0; i < over; i++)
        bytes[i] = (char)(i * 7 % 251);
    char *note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "big.bin", bytes, big));
    char *p = at_to_desk_params(&a, note);
    char *res = at_run(&a, "Attachments/Toga/CopyToDesk", p, "succeeded");
    CHECK(at_copied(res) == 1, "the 13 MB file is copied: %s", res);
    free(res);
    struct db_rows *r = at_desk_check(&a);
    CHECK(r->n_rows == 1 && db_rows_int(r, 0, 2, -1) == (int64_t)big, "its %zu bytes", big);
    db_rows_free(r);
    free(p);
    free(note);
    note = ttoga_note(&a.toga);
    free(ttoga_note_file(&a.toga, note, "over.bin", bytes, over));
    p = at_to_desk_params(&a, note);
    char *reason = at_run(&a, "Attachments/Toga/CopyToDesk", p, "failed");
    CHECK(reason && strstr(reason, "[attachments] max_bytes"), "the reason names max_bytes: %s",
          reason ? reason : "");
    free(reason);
    CHECK(at_desk_int(&a, "SELECT COUNT(*) FROM files") == 1, "nothing more stored");
    free(p);
    free(note);
    free(bytes);
    at_stop(&a);
}

/* The link of an uploaded file fails for a whole attempt (TOGA 2 answers 503 to it twelve
 * times): the retry must link the file it uploaded, not upload another. Before, each failed
 * attempt left one more copy of the file in TOGA 2, unlinked and unseen (3 uploads for 1
 * file here). */
static void
test_link_failure_uploads_once(struct tenv *t)
{
    struct at a;
    at_start(&a, t);
    char *out = NULL;
    const char *av[] = {"action",         "set", "Attachments/Desk/CopyToToga",
                        "--backoff-base", "1s",  NULL};
    CHECK(t_cli(a.t, &out, NULL, av) == 0, "action set: %s", out ? out : "");
    free(out);
    t_spawn(a.t, t_bin("jobfleet-scheduler"), NULL);
    char *note = ttoga_note(&a.toga);
    at_desk_file(&a, "invoice.pdf", "invoice bytes");
    tfake_control(&a.toga, "faults",
                  "{\"path\":\"/v2/ticket-notes/\",\"method\":\"POST\",\"status\":503,"
                  "\"count\":12}");
    char *p = xasprintf("{\"desk_reply_id\":%lld,\"note_uuid\":\"%s\"}", (long long)a.reply, note);
    char *res = at_run(&a, "Attachments/Desk/CopyToToga", p, "succeeded");
    cJSON *files = ttoga_note_files(&a.toga, note);
    int uploads = ttoga_count(&a.toga, "POST /v2/files");
    CHECK(cJSON_GetArraySize(files) == 1 && uploads == 1,
          "the note has %d file(s), and TOGA 2 got %d uploads of its one file (%s)",
          cJSON_GetArraySize(files), uploads, res);
    cJSON_Delete(files);
    free(res);
    free(p);
    free(note);
    at_stop(&a);
}

static const struct test_case cases[] = {
    {"e2e_attach_link_failure_uploads_once", test_link_failure_uploads_once, NULL},
    {"e2e_attach_toga_to_desk_twice", test_toga_to_desk_twice, NULL},
    {"e2e_attach_desk_to_toga_twice", test_desk_to_toga_twice, NULL},
    {"e2e_attach_note_zero_two_misspelt", test_note_zero_two_misspelt, NULL},
    {"e2e_attach_hostile_names", test_hostile_names, NULL},
    {"e2e_attach_same_name", test_same_name, NULL},
    {"e2e_attach_crash_repair", test_crash_repair, NULL},
    {"e2e_attach_reply_committed_later", test_reply_committed_later, NULL},
    {"e2e_attach_reply_committed_soon", test_reply_committed_soon, NULL},
    {"e2e_attach_dry_run", test_dry_run, NULL},
    {"e2e_attach_big_file", test_big_file, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
