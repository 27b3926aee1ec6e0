/* End-to-end tests of the TOGA 2 <-> TOGaDesk sync (Toga/Desk/Sync, jobs/togadesk_*.c) against
 * the TOGA 2 fake (tests/fakes/toga.py) and the desk test schema (tests/fakes/desk/schema.sql)
 * on the real MariaDB: runs in the foreground runtime (as `jobfleet run` does) and, where the
 * file copies or a crash matter, on a real worker. */
#include "caltime.h"
#include "runtime.h"
#include "tdesk.h"
#include "tfake.h"
#include "thttp.h"
#include "togadesk.h"
#include "tsupport.h"
#include "ttoga.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WM_IN "TOGADESK_LAST_TICKET_INTEGRATION_DATETIME"
#define WM_OUT "TOGA_LAST_TICKET_INTEGRATION_DATETIME"

struct td {
    struct tenv *t;
    struct tfake fake;
    struct db *desk;
    char uploads[512];
};

/* The fixture of the full test: TOGA 2 records and desk rows (uuids and ids). */
struct fx {
    char contact[40], unit[40], team[40], pr[40], top[40], mid[40], leaf[40];
    char t1[40], t2[40], n_ext[40], n_int[40];
    int64_t d2, r1;
};

/* --- the fake --- */

/* Seeds one record (JSON text) into coll; its uuid into out (40 bytes) when not NULL. */
static void
seed(struct td *d, const char *coll, const char *record, char *out)
{
    cJSON *rec = cJSON_Parse(record);
    CHECK(rec, "a record to seed: %s", record);
    char *u = ttoga_seed(&d->fake, coll, rec);
    if (out)
        snprintf(out, 40, "%s", u);
    free(u);
}

/* Sets a mode of the fake (JSON text). */
static void
fake_mode(struct td *d, const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON_Delete(ttoga_control(&d->fake, "mode", doc));
    cJSON_Delete(doc);
}

/* The records of a collection (the caller deletes them). */
static cJSON *
store_of(struct td *d, const char *coll)
{
    char url[200];
    snprintf(url, sizeof(url), "%s/_control/store/%s", d->fake.base_url, coll);
    struct t_http_resp r;
    CHECK(t_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200, "store %s", coll);
    cJSON *j = cJSON_Parse(r.body);
    t_http_release(&r);
    cJSON *recs = cJSON_DetachItemFromObject(j, "records");
    cJSON_Delete(j);
    return recs;
}

/* The writes the fake received since its last reset (logins aside). */
static int
fake_writes(struct td *d)
{
    cJSON *log = tfake_log(&d->fake);
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(log, "endpoint_counts"))
    {
        if (strncmp(c->string, "GET ", 4) != 0 && strstr(c->string, "/auth/") == NULL)
            n += (int)c->valuedouble;
    }
    cJSON_Delete(log);
    return n;
}

/* The value of a /parameters record, "" when none; static storage. */
static const char *
param(struct td *d, const char *key)
{
    static char v[64];
    v[0] = '\0';
    cJSON *recs = store_of(d, "parameters");
    const cJSON *r;
    cJSON_ArrayForEach(r, recs)
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "key")), key) == 0)
            snprintf(v, sizeof(v), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "value")));
    }
    cJSON_Delete(recs);
    return v;
}

/* How many ticket-notes have the conversation field value conv. */
static int
notes_with_conv(struct td *d, int64_t conv)
{
    char want[24];
    snprintf(want, sizeof(want), "%lld", (long long)conv);
    cJSON *recs = store_of(d, "ticket-notes");
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, recs)
    {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(r, "c_eliteConversationId"));
        n += v && strcmp(v, want) == 0;
    }
    cJSON_Delete(recs);
    return n;
}

/* --- the desk --- */

static int64_t
desk_int(struct td *d, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(d->desk, sql, p, n);
    CHECK(r, "%s: %s", sql, db_errstr(d->desk));
    int64_t v = r->n_rows ? db_rows_int(r, 0, 0, -1) : -1;
    db_rows_free(r);
    return v;
}

static char *
desk_str(struct td *d, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(d->desk, sql, p, n);
    CHECK(r, "%s: %s", sql, db_errstr(d->desk));
    const char *v = r->n_rows ? db_rows_get(r, 0, 0) : NULL;
    char *out = v ? xstrdup(v) : NULL;
    db_rows_free(r);
    return out;
}

static int64_t
desk_insert(struct td *d, const char *sql, const struct db_param *p, int n)
{
    uint64_t id = 0;
    CHECK(db_exec(d->desk, sql, p, n, NULL, &id) == 0, "%s: %s", sql, db_errstr(d->desk));
    return (int64_t)id;
}

/* Every row of the tables the sync writes, as one number per table in text, to compare. */
static char *
desk_counts(struct td *d)
{
    static const char *const tables[] = {
        "tickets", "tickets_replies", "comments",   "tickets_history", "files",
        "people",  "assets",          "tickets_pr", "`groups`",        "tickets_customfields"};
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char *sql = xasprintf("SELECT COUNT(*) FROM %s", tables[i]);
        buf_printf(&b, "%s=%lld ", tables[i], (long long)desk_int(d, sql, DB_NOP));
        free(sql);
    }
    return buf_detach(&b);
}

/* A desk reply (on desk ticket ticket, time t) with one file of the given bytes. */
static int64_t
desk_reply_with_file(struct td *d, int64_t ticket, int64_t t, const char *msg, const char *name,
                     const char *bytes)
{
    int64_t r = desk_insert(d,
                            "INSERT INTO tickets_replies (ticketid, `timestamp`, message) "
                            "VALUES (?,?,?)",
                            DB_P(DBI(ticket), DBI(t), DBS(msg)));
    if (name == NULL)
        return r;
    int64_t f = desk_insert(d,
                            "INSERT INTO files (ticketreplyid, name, filetype, filesize) VALUES "
                            "(?,?,'text/plain',?)",
                            DB_P(DBI(r), DBS(name), DBI(strlen(bytes))));
    char *stored = xasprintf("%lld-%s", (long long)f, name);
    char *path = xasprintf("%s/%s", d->uploads, stored);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fputs(bytes, fp) >= 0 && fclose(fp) == 0, "write %s", path);
    CHECK(db_exec(d->desk, "UPDATE files SET file = ? WHERE id = ?", DB_P(DBS(stored), DBI(f)),
                  NULL, NULL) == 0,
          "complete the files row");
    free(path);
    free(stored);
    return r;
}

/* --- runs --- */

static void
td_start(struct td *d, struct tenv *t)
{
    memset(d, 0, sizeof(*d));
    d->t = t;
    tfake_start(t, &d->fake, "toga.py", NULL);
    char *url = xasprintf("%s/v2", d->fake.base_url);
    setenv("JOBFLEET_SERVICE_TOGA_BASE_URL", url, 1);
    free(url);
    snprintf(d->uploads, sizeof(d->uploads), "%s/uploads", t->dir);
    CHECK(mkdir(d->uploads, 0700) == 0, "mkdir %s", d->uploads);
    setenv("JOBFLEET_ATTACHMENTS_UPLOADS_DIR", d->uploads, 1);
    char err[512];
    cfg_release(&t->cfg);
    CHECK(cfg_load(&t->cfg, t->conf, err, sizeof(err)) == 0, "reload config: %s", err);
    d->desk = tdesk_create(t);
}

static void
td_stop(struct td *d)
{
    tfake_stop(&d->fake);
    db_free(d->desk);
}

/* Runs Toga/Desk/Sync once in the foreground with params; returns the status and, when
 * result is not NULL, the parsed result (or the reason as {"reason"}). */
static enum job_status
run_sync(struct td *d, const char *params, cJSON **result)
{
    struct job_env *env = job_env_new(&d->t->cfg, true);
    struct job_out out = {0};
    job_run(env, togadesk_sync, 0, 1, "Toga/Desk/Sync", params, NULL, &out);
    enum job_status st = out.status;
    if (result) {
        *result = out.result ? cJSON_Parse(out.result) : cJSON_CreateObject();
        if (out.reason)
            cJSON_AddStringToObject(*result, "reason", out.reason);
    }
    job_out_release(&out);
    job_env_free(env);
    return st;
}

static double
num(const cJSON *o, const char *group, const char *name)
{
    const cJSON *g = group ? cJSON_GetObjectItem(o, group) : o;
    return cJSON_GetNumberValue(cJSON_GetObjectItem(g, name));
}

/* Runs the sync and fails the test unless it succeeded; the result (caller deletes). */
static cJSON *
sync_ok(struct td *d, const char *params)
{
    cJSON *r = NULL;
    enum job_status st = run_sync(d, params, &r);
    char *text = cJSON_PrintUnformatted(r);
    CHECK(st == JOB_OK, "the sync failed: %s", text);
    free(text);
    return r;
}

/* Starts a worker and waits until every job is finished; fails unless all succeeded. */
static void
drain_jobs(struct td *d, pid_t *worker)
{
    if (*worker == 0)
        *worker = t_spawn(d->t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(t_sql_int(d->t, -1,
                         "SELECT COUNT(*) FROM jobs WHERE state NOT IN "
                         "('succeeded','failed','cancelled')",
                         DB_NOP) == 0,
               30000, "the file jobs never finished");
    char *bad = t_sql_str(d->t,
                          "SELECT CONCAT(j.action, ': ', COALESCE(j.failure_reason, ''), ' ', "
                          "COALESCE(l.log, ''), ' ', COALESCE(a.reason, '')) FROM jobs j LEFT JOIN "
                          "job_logs l ON l.job_id = j.id LEFT JOIN job_attempts a ON a.job_id = "
                          "j.id WHERE j.state <> 'succeeded' LIMIT 1",
                          DB_NOP);
    CHECK(bad == NULL, "a file job failed: %s", bad);
}

/* The fixture: entities, a three-level category, T1 with an external note (one file) and an
 * internal one, T2 linked to desk ticket D2 whose reply R1 has a file. */
static void
fx_seed(struct td *d, struct fx *f)
{
    char rec[512], tmp[40];
    seed(d, "contacts", "{\"name\":\"Ada\",\"email\":\"ada@example.com\",\"phone\":\"1\"}",
         f->contact);
    seed(d, "units", "{\"name\":\"Pump\",\"serialNumber\":\"SN-1\"}", f->unit);
    seed(d, "ticket-teams", "{\"name\":\"Field\"}", f->team);
    seed(d, "predefined-replies", "{\"name\":\"Thanks\",\"content\":\"Thank you\"}", f->pr);
    seed(d, "ticket-categories", "{\"name\":\"Hardware\",\"parentTicketCategory\":null}", f->top);
    snprintf(rec, sizeof(rec), "{\"name\":\"Pumps\",\"parentTicketCategory\":\"%s\"}", f->top);
    seed(d, "ticket-categories", rec, f->mid);
    snprintf(rec, sizeof(rec), "{\"name\":\"Leak\",\"parentTicketCategory\":\"%s\"}", f->mid);
    seed(d, "ticket-categories", rec, f->leaf);
    snprintf(rec, sizeof(rec),
             "{\"subject\":\"Leaking pump\",\"status\":\"Open\",\"priority\":\"High\","
             "\"ticketNumber\":\"T-1\",\"contact\":\"%s\",\"unit\":\"%s\",\"ticketTeam\":\"%s\","
             "\"ticketCategory\":\"%s\"}",
             f->contact, f->unit, f->team, f->leaf);
    seed(d, "tickets", rec, f->t1);
    seed(d, "tickets", "{\"subject\":\"From the desk\",\"ticketNumber\":\"T-2\"}", f->t2);
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"We are on it\"}", f->t1);
    seed(d, "ticket-notes", rec, f->n_ext);
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":false,\"content\":\"internal only\"}", f->t1);
    seed(d, "ticket-notes", rec, f->n_int);
    seed(d, "files", "{\"name\":\"photo.txt\",\"data\":\"cGhvdG8=\"}", tmp);
    snprintf(rec, sizeof(rec), "{\"ticketNote\":\"%s\",\"file\":\"%s\"}", f->n_ext, tmp);
    seed(d, "ticket-note-files", rec, NULL);
    int64_t now = now_wall_ms() / 1000;
    f->d2 = desk_insert(d,
                        "INSERT INTO tickets (clientid, departmentId, `timestamp`, referenceId, "
                        "subject) VALUES (7, 4, ?, ?, 'From the desk')",
                        DB_P(DBI(now - 100), DBS(f->t2)));
    f->r1 = desk_reply_with_file(d, f->d2, now - 50, "Customer says hi", "log.txt", "log bytes");
}

/* --- the tests --- */

/* First run on empty watermarks: everything crosses both ways (files by the copy jobs); the
 * second run writes nothing at TOGA 2 or in the desk and enqueues nothing. */
static void
test_first_run_then_idle(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "toga_to_desk", "tickets") == 2, "two TOGA 2 tickets synced");
    CHECK(num(r, "toga_to_desk", "replies") == 1 && num(r, "toga_to_desk", "comments") == 1,
          "one reply, one comment");
    CHECK(num(r, "desk_to_toga", "notes") == 1, "one desk reply posted");
    cJSON_Delete(r);
    /* TOGA 2 -> desk. */
    int64_t d1 = desk_int(&d, "SELECT id FROM tickets WHERE referenceId = ? AND clientid = 7",
                          DB_P(DBS(f.t1)));
    CHECK(d1 > 0, "T1 is a desk ticket");
    CHECK(desk_int(&d,
                   "SELECT COUNT(*) FROM tickets_replies WHERE ticketid = ? AND "
                   "referenceId = ? AND message = 'We are on it'",
                   DB_P(DBI(d1), DBS(f.n_ext))) == 1,
          "the external note is a reply");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM comments WHERE ticketid = ? AND referenceId = ?",
                   DB_P(DBI(d1), DBS(f.n_int))) == 1,
          "the internal note is a comment");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                   DB_P(DBS(f.n_int))) == 0,
          "the internal note is not a reply");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_history WHERE ticketid = ?", DB_P(DBI(d1))) ==
              1,
          "the new reply has its history row");
    CHECK(desk_int(&d, "SELECT userid FROM tickets WHERE id = ?", DB_P(DBI(d1))) ==
              desk_int(&d, "SELECT id FROM people WHERE referenceId = ?", DB_P(DBS(f.contact))),
          "the ticket's requester is the synced contact");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM assets WHERE referenceId = ? AND serial = 'SN-1'",
                   DB_P(DBS(f.unit))) == 1,
          "the unit is an asset");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM `groups` WHERE referenceId = ?", DB_P(DBS(f.team))) ==
              1,
          "the team is a group");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_pr WHERE referenceId = ?", DB_P(DBS(f.pr))) ==
              1,
          "the predefined reply is in tickets_pr");
    char *path = desk_str(&d,
                          "SELECT value FROM tickets_customfields WHERE ticketid = ? AND name = "
                          "'Category'",
                          DB_P(DBI(d1)));
    CHECK(path && strcmp(path, "Hardware,Pumps,Leak") == 0, "the category path: %s", path);
    free(path);
    /* desk -> TOGA 2: one note carrying the reply's id, linked back. */
    CHECK(notes_with_conv(&d, f.r1) == 1, "R1 became one note");
    char *ref =
        desk_str(&d, "SELECT referenceId FROM tickets_replies WHERE id = ?", DB_P(DBI(f.r1)));
    CHECK(ref && strlen(ref) == 36, "R1's referenceId is the note's uuid: %s", ref);
    CHECK(*param(&d, WM_IN) && *param(&d, WM_OUT), "both watermarks written");
    /* The files, by the copy jobs. */
    pid_t w = 0;
    drain_jobs(&d, &w);
    CHECK(desk_int(&d,
                   "SELECT COUNT(*) FROM files f JOIN tickets_replies r ON r.id = "
                   "f.ticketreplyid WHERE r.referenceId = ? AND f.name = 'photo.txt' AND "
                   "f.filesize = 5",
                   DB_P(DBS(f.n_ext))) == 1,
          "the note's file is in the desk");
    cJSON *links = store_of(&d, "ticket-note-files");
    CHECK(cJSON_GetArraySize(links) == 2, "R1's file is linked to its note (%d links)",
          cJSON_GetArraySize(links));
    cJSON_Delete(links);
    free(ref);
    /* The second run: nothing. */
    char *before = desk_counts(&d);
    int64_t jobs = t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP);
    tfake_control(&d.fake, "reset", "{}");
    r = sync_ok(&d, "{\"client\":\"acme\"}");
    cJSON_Delete(r);
    CHECK(fake_writes(&d) == 0, "the second run wrote %d times to TOGA 2", fake_writes(&d));
    char *after = desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "the desk changed: %s -> %s", before, after);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == jobs, "nothing enqueued");
    free(before);
    free(after);
    td_stop(&d);
}

/* After a run, one note on each side (and an internal one) crosses on the next run, with its
 * files; nothing else does. */
static void
test_new_note_each_side(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    cJSON_Delete(sync_ok(&d, "{\"client\":\"acme\"}"));
    pid_t w = 0;
    drain_jobs(&d, &w);
    char rec[256], n3[40], n4[40], file[40];
    snprintf(rec, sizeof(rec), "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"Fixed\"}",
             f.t1);
    seed(&d, "ticket-notes", rec, n3);
    snprintf(rec, sizeof(rec), "{\"ticket\":\"%s\",\"isExternal\":false,\"content\":\"memo\"}",
             f.t1);
    seed(&d, "ticket-notes", rec, n4);
    seed(&d, "files", "{\"name\":\"report.txt\",\"data\":\"cmVwb3J0\"}", file);
    snprintf(rec, sizeof(rec), "{\"ticketNote\":\"%s\",\"file\":\"%s\"}", n3, file);
    seed(&d, "ticket-note-files", rec, NULL);
    int64_t r2 =
        desk_reply_with_file(&d, f.d2, now_wall_ms() / 1000, "Thanks!", "thanks.txt", "thx");
    int64_t replies = desk_int(&d, "SELECT COUNT(*) FROM tickets_replies", DB_NOP);
    int64_t comments = desk_int(&d, "SELECT COUNT(*) FROM comments", DB_NOP);
    tfake_control(&d.fake, "reset", "{}");
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "toga_to_desk", "replies") == 1 && num(r, "toga_to_desk", "comments") == 1,
          "one reply and one comment crossed");
    CHECK(num(r, "desk_to_toga", "notes") == 1, "one note crossed");
    cJSON_Delete(r);
    CHECK(ttoga_count(&d.fake, "POST /v2/ticket-notes") == 1, "exactly one note posted");
    CHECK(notes_with_conv(&d, r2) == 1, "it is R2");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_replies", DB_NOP) == replies + 1,
          "one more reply");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM comments", DB_NOP) == comments + 1,
          "one more comment");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                   DB_P(DBS(n3))) == 1,
          "N3 is a reply");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM comments WHERE referenceId = ?", DB_P(DBS(n4))) == 1,
          "N4 is a comment");
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_history", DB_NOP) == 2,
          "one history row per reply from TOGA 2");
    drain_jobs(&d, &w);
    CHECK(desk_int(&d,
                   "SELECT COUNT(*) FROM files f JOIN tickets_replies r ON r.id = "
                   "f.ticketreplyid WHERE r.referenceId = ? AND f.name = 'report.txt'",
                   DB_P(DBS(n3))) == 1,
          "N3's file is in the desk");
    CHECK(ttoga_count(&d.fake, "POST /v2/files") == 1, "R2's file uploaded once");
    td_stop(&d);
}

/* overlap_s = 0: a note and a desk reply stamped exactly at the watermarks still cross. */
static void
test_same_second(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    cJSON_Delete(sync_ok(&d, "{\"client\":\"acme\"}"));
    char win[64], wout[64], rec[256], n[40];
    snprintf(win, sizeof(win), "%s", param(&d, WM_IN));
    snprintf(wout, sizeof(wout), "%s", param(&d, WM_OUT));
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"same second\","
             "\"_created\":\"%s\",\"_updated\":\"%s\"}",
             f.t1, win, win);
    seed(&d, "ticket-notes", rec, n);
    int64_t tout;
    CHECK(caltime_parse_dt(wout, &tout) == 0, "the desk watermark %s parses", wout);
    int64_t r2 = desk_reply_with_file(&d, f.d2, tout, "same second too", NULL, NULL);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    cJSON_Delete(r);
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                   DB_P(DBS(n))) == 1,
          "the note updated at the watermark's second (%s) crossed", win);
    CHECK(notes_with_conv(&d, r2) == 1, "the reply stamped at the watermark's second crossed");
    td_stop(&d);
}

/* One ticket's fetch fails: counted, the others synced, the watermark held before it; the
 * next run syncs it and moves the watermark on. */
static void
test_ticket_fetch_fails(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    char a[40], b[40], c[40];
    seed(&d, "tickets", "{\"subject\":\"a\",\"_updated\":\"2026-01-01 10:00:00\"}", a);
    seed(&d, "tickets", "{\"subject\":\"b\",\"_updated\":\"2026-01-01 11:00:00\"}", b);
    seed(&d, "tickets", "{\"subject\":\"c\",\"_updated\":\"2026-01-01 12:00:00\"}", c);
    char *fault = xasprintf("{\"path\":\"/v2/tickets/%s\",\"status\":500,\"count\":100}", b);
    tfake_control(&d.fake, "faults", fault);
    free(fault);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "toga_to_desk", "failed") == 1, "one failure counted");
    CHECK(num(r, "toga_to_desk", "tickets") == 2, "the other two synced");
    cJSON_Delete(r);
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets WHERE referenceId IN (?, ?)",
                   DB_P(DBS(a), DBS(c))) == 2,
          "a and c are in the desk");
    CHECK(strcmp(param(&d, WM_IN), "2026-01-01 10:59:59") == 0,
          "the watermark stops before the failed ticket: %s", param(&d, WM_IN));
    tfake_control(&d.fake, "reset", "{}");
    r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "toga_to_desk", "failed") == 0, "no failure now");
    cJSON_Delete(r);
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets WHERE referenceId = ?", DB_P(DBS(b))) == 1,
          "b is synced on the next run");
    CHECK(strcmp(param(&d, WM_IN), "2026-01-01 12:00:00") == 0, "the watermark moved on: %s",
          param(&d, WM_IN));
    td_stop(&d);
}

/* More tickets than a page (200), 250 of them in one second: every one is synced, by pages of
 * 200, and the watermark is their newest _updated. */
static void
test_paging(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "collection", "tickets");
    cJSON *recs = cJSON_AddArrayToObject(doc, "records");
    for (int i = 0; i < 450; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "n", i);
        cJSON_AddStringToObject(r, "_updated",
                                i < 250 ? "2026-04-01 10:00:00" : "2026-04-01 10:00:01");
        cJSON_AddItemToArray(recs, r);
    }
    cJSON_Delete(ttoga_control(&d.fake, "seed", doc));
    cJSON_Delete(doc);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "toga_to_desk", "tickets") == 450, "450 tickets synced, not %g",
          num(r, "toga_to_desk", "tickets"));
    cJSON_Delete(r);
    CHECK(desk_int(&d, "SELECT COUNT(DISTINCT referenceId) FROM tickets", DB_NOP) == 450,
          "450 desk tickets");
    CHECK(strcmp(param(&d, WM_IN), "2026-04-01 10:00:01") == 0, "the watermark: %s",
          param(&d, WM_IN));
    cJSON *log = tfake_log(&d.fake);
    const cJSON *e;
    int lists = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(log, "requests"))
    {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
        const cJSON *per = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "query"), "recordsPerPage");
        if (path && strcmp(path, "/v2/tickets") == 0) {
            lists++;
            CHECK(strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(per, 0)), "200") == 0,
                  "pages of 200");
        }
    }
    CHECK(lists >= 3, "at least three pages listed (%d)", lists);
    cJSON_Delete(log);
    td_stop(&d);
}

/* The desk refuses one record (a contact's email longer than its column): counted, the
 * others synced, the watermark held; a subject longer than its column is cut to fit. */
static void
test_desk_refuses_one(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    char rec[1024], good[40], tk[40];
    char *long_email = xasprintf("%0300d@example.com", 0);
    snprintf(rec, sizeof(rec),
             "{\"name\":\"Bad\",\"email\":\"%s\",\"_updated\":"
             "\"2026-01-01 10:00:00\"}",
             long_email);
    free(long_email);
    seed(&d, "contacts", rec, NULL);
    seed(&d, "contacts", "{\"name\":\"Good\",\"_updated\":\"2026-01-01 10:00:00\"}", good);
    char subject[700];
    memset(subject, 's', 600);
    subject[600] = '\0';
    snprintf(rec, sizeof(rec), "{\"subject\":\"%s\",\"_updated\":\"2026-01-01 12:00:00\"}",
             subject);
    seed(&d, "tickets", rec, tk);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    const cJSON *contacts = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "entities"), "contacts");
    CHECK(num(contacts, NULL, "failed") == 1 && num(contacts, NULL, "inserted") == 1,
          "one contact refused, the other inserted");
    cJSON_Delete(r);
    CHECK(desk_int(&d, "SELECT COUNT(*) FROM people WHERE referenceId = ?", DB_P(DBS(good))) == 1,
          "the good contact is in the desk");
    CHECK(desk_int(&d, "SELECT CHAR_LENGTH(subject) FROM tickets WHERE referenceId = ?",
                   DB_P(DBS(tk))) == 512,
          "the long subject is cut to the column");
    CHECK(strcmp(param(&d, WM_IN), "2026-01-01 09:59:59") == 0,
          "the watermark stops before the refused contact: %s", param(&d, WM_IN));
    td_stop(&d);
}

/* Dry run: a full first run planned, nothing written at TOGA 2, in the desk or the queue. */
static void
test_dry_run(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    char *before = desk_counts(&d);
    tfake_control(&d.fake, "reset", "{}");
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\",\"dry_run\":true}");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "plan")) > 0, "the run planned its steps");
    CHECK(num(r, "desk_to_toga", "notes") == 1 && num(r, "toga_to_desk", "replies") == 1,
          "the plan counts what a run would cross");
    cJSON_Delete(r);
    CHECK(fake_writes(&d) == 0, "a dry run wrote %d times to TOGA 2", fake_writes(&d));
    char *after = desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "a dry run changed the desk: %s -> %s", before, after);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == 0, "nothing enqueued");
    CHECK(*param(&d, WM_IN) == '\0', "no watermark written");
    free(before);
    free(after);
    td_stop(&d);
}

/* Every switch off: the sync touches neither direction nor any entity. */
static void
test_switches_off(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    char *before = desk_counts(&d);
    cJSON_Delete(sync_ok(&d, "{\"client\":\"acme\"}"));
    char *after = desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "the desk changed: %s -> %s", before, after);
    CHECK(ttoga_count(&d.fake, "POST /v2/ticket-notes") == 0, "no note posted");
    static const char *const lists[] = {"GET /v2/contacts",           "GET /v2/units",
                                        "GET /v2/predefined-replies", "GET /v2/ticket-teams",
                                        "GET /v2/ticket-categories",  "GET /v2/tickets"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        CHECK(ttoga_count(&d.fake, lists[i]) == 0, "%s was called", lists[i]);
    free(before);
    free(after);
    td_stop(&d);
}

/* Only the entity switches on, one at a time: each fills its own table only. */
static void
test_entity_switches(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    static const struct {
        const char *key, *table;
    } sw[] = {{"CONTACTS", "people"},
              {"UNITS", "assets"},
              {"PREDEFINED_REPLIES", "tickets_pr"},
              {"TICKET_TEAMS", "`groups`"}};
    char env[96];
    for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
        snprintf(env, sizeof(env), "JOBFLEET_TOGA_DESK_ACME_%s", sw[i].key);
        setenv(env, "true", 1);
        char err[512];
        cfg_release(&t->cfg);
        CHECK(cfg_load(&t->cfg, t->conf, err, sizeof(err)) == 0, "reload config: %s", err);
        cJSON_Delete(sync_ok(&d, "{\"client\":\"acme\"}"));
        for (size_t j = 0; j < sizeof(sw) / sizeof(sw[0]); j++) {
            char *sql = xasprintf("SELECT COUNT(*) FROM %s", sw[j].table);
            int64_t n = desk_int(&d, sql, DB_NOP);
            CHECK(n == (j <= i), "with %s on, %s has %lld rows", sw[i].key, sw[j].table,
                  (long long)n);
            free(sql);
        }
        CHECK(desk_int(&d, "SELECT COUNT(*) FROM tickets_customfields", DB_NOP) == 0,
              "categories stay off");
    }
    td_stop(&d);
}

/* kill -9 of the worker's child right after POST /ticket-notes stored the note and before
 * its answer (so before the referenceId write): the next run does not post it again. */
static void
test_kill9_after_post(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    struct fx f;
    fx_seed(&d, &f);
    fake_mode(&d, "{\"stall_after_create\":{\"collection\":\"ticket-notes\",\"seconds\":60}}");
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    WAIT_UNTIL(notes_with_conv(&d, f.r1) == 1, 20000, "the note was never posted");
    /* The child running the job: the worker's child whose job it is. */
    pid_t child = 0;
    CHECK(t_worker_children(w, &child, 1) == 1, "the worker has children");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running'",
                    DB_P(DBI(id))) == 1,
          "the sync is running");
    /* One child (concurrency 1): it is the one stuck in the POST. */
    CHECK(kill(child, SIGKILL) == 0, "kill -9 the child %d", (int)child);
    WAIT_UNTIL(!t_job_in_state(t, id, "running"), 15000, "the killed job stayed running");
    CHECK(desk_int(&d,
                   "SELECT COUNT(*) FROM tickets_replies WHERE id = ? AND referenceId IS "
                   "NULL",
                   DB_P(DBI(f.r1))) == 1,
          "the crash left R1 without its referenceId");
    t_signal(t, w, SIGTERM);
    t_wait_exit(t, w, 10000);
    cJSON *r = sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(num(r, "desk_to_toga", "repaired") == 1, "the next run found the posted note");
    cJSON_Delete(r);
    CHECK(notes_with_conv(&d, f.r1) == 1, "R1 was posted once, not twice");
    char *ref =
        desk_str(&d, "SELECT referenceId FROM tickets_replies WHERE id = ?", DB_P(DBI(f.r1)));
    cJSON *notes = store_of(&d, "ticket-notes");
    bool linked = false;
    const cJSON *n;
    cJSON_ArrayForEach(n, notes) linked |=
        ref && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "uuid")), ref) == 0;
    CHECK(linked, "R1's referenceId is the posted note: %s", ref);
    cJSON_Delete(notes);
    free(ref);
    td_stop(&d);
}

/* Two clients, two TOGA 2 tenants: two independent jobs, and one client's watermark is not
 * touched by the other's runs. */
static void
test_two_clients(struct tenv *t)
{
    struct td a, b;
    td_start(&a, t);
    tfake_start(t, &b.fake, "toga.py", NULL);
    b.t = t;
    b.desk = a.desk;
    char *url = xasprintf("%s/v2", b.fake.base_url);
    setenv("JOBFLEET_SERVICE_TOGA_BETA_BASE_URL", url, 1);
    free(url);
    char err[512];
    cfg_release(&t->cfg);
    CHECK(cfg_load(&t->cfg, t->conf, err, sizeof(err)) == 0, "reload config: %s", err);
    seed(&a, "tickets", "{\"subject\":\"of acme\",\"_updated\":\"2026-02-01 08:00:00\"}", NULL);
    seed(&b, "tickets", "{\"subject\":\"of beta\",\"_updated\":\"2026-03-01 09:00:00\"}", NULL);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t ja = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    int64_t jb = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"beta\"}", NULL);
    CHECK(ja != jb, "two jobs");
    WAIT_UNTIL(t_job_done(t, ja) && t_job_done(t, jb), 30000, "the two syncs never finished");
    CHECK(t_job_in_state(t, ja, "succeeded") && t_job_in_state(t, jb, "succeeded"),
          "both succeeded");
    CHECK(strcmp(param(&a, WM_IN), "2026-02-01 08:00:00") == 0, "acme's watermark: %s",
          param(&a, WM_IN));
    CHECK(strcmp(param(&b, WM_IN), "2026-03-01 09:00:00") == 0, "beta's watermark: %s",
          param(&b, WM_IN));
    CHECK(desk_int(&a, "SELECT COUNT(*) FROM tickets WHERE clientid = 7", DB_NOP) == 1 &&
              desk_int(&a, "SELECT COUNT(*) FROM tickets WHERE clientid = 8", DB_NOP) == 1,
          "each client's ticket under its desk client");
    /* A change at beta only: acme's next run writes nothing at acme's TOGA 2. */
    seed(&b, "tickets", "{\"subject\":\"more beta\",\"_updated\":\"2026-03-02 09:00:00\"}", NULL);
    tfake_control(&a.fake, "reset", "{}");
    int64_t ja2 = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    int64_t jb2 = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"beta\"}", NULL);
    WAIT_UNTIL(t_job_done(t, ja2) && t_job_done(t, jb2), 30000, "the second runs never ended");
    CHECK(fake_writes(&a) == 0, "acme's TOGA 2 got %d writes", fake_writes(&a));
    CHECK(strcmp(param(&a, WM_IN), "2026-02-01 08:00:00") == 0, "acme's watermark stayed");
    CHECK(strcmp(param(&b, WM_IN), "2026-03-02 09:00:00") == 0, "beta's moved: %s",
          param(&b, WM_IN));
    t_signal(t, w, SIGTERM);
    t_wait_exit(t, w, 10000);
    tfake_stop(&b.fake);
    td_stop(&a);
}

/* [toga_desk.<client>] schedule: the scheduler keeps one cron job per client, and each fire
 * is that client's own Toga/Desk/Sync job. */
static void
test_cron_per_client(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    int64_t t0 = 1777629600; /* 2026-05-01T10:00:00Z */
    t_set_clock(t, t0 - 30);
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM cron_jobs WHERE action = 'Toga/Desk/Sync' AND ("
                         "(name = 'Toga/Desk/Sync/acme' AND schedule = '*/10 * * * *' AND "
                         "JSON_VALUE(parameters, '$.client') = 'acme') OR (name = "
                         "'Toga/Desk/Sync/beta' AND schedule = '0 * * * *' AND "
                         "JSON_VALUE(parameters, '$.client') = 'beta'))",
                         DB_NOP) == 2,
               20000, "the scheduler makes one cron job per client");
    t_set_clock(t, t0 + 1);
    WAIT_UNTIL(
        t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync'", DB_NOP) == 2,
        20000, "both clients fire at 10:00");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(DISTINCT JSON_VALUE(parameters, '$.client')) FROM jobs WHERE "
                    "action = 'Toga/Desk/Sync'",
                    DB_NOP) == 2,
          "one job per client");
    /* A client's run is unique while live (unique_by "client"): let these finish first. */
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND state = "
                         "'succeeded'",
                         DB_NOP) == 2,
               30000, "the two fired syncs succeed");
    t_set_clock(t, t0 + 601);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND "
                         "JSON_VALUE(parameters, '$.client') = 'acme'",
                         DB_NOP) == 2,
               20000, "acme fires again at 10:10");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND "
                    "JSON_VALUE(parameters, '$.client') = 'beta'",
                    DB_NOP) == 1,
          "beta, hourly, does not");
    td_stop(&d);
}

/* Wrong credentials fail the job permanently, naming the service. */
static void
test_auth_failure(struct tenv *t)
{
    struct td d;
    td_start(&d, t);
    cJSON *r = NULL;
    CHECK(run_sync(&d, "{\"client\":\"acme\"}", &r) == JOB_FAIL, "a refused login fails");
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    CHECK(why && strstr(why, "[service.toga]") && strstr(why, "EN-1"),
          "the reason names the service and the code: %s", why);
    cJSON_Delete(r);
    CHECK(run_sync(&d, "{\"client\":\"nobody\"}", &r) == JOB_FAIL, "an unknown client fails");
    why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    CHECK(why && strstr(why, "[toga_desk.nobody]"), "the reason names the section: %s", why);
    cJSON_Delete(r);
    td_stop(&d);
}

#define BASE_CONF                                                                                  \
    "[worker]\nconcurrency = 1\n"                                                                  \
    "[service.toga]\nbase_url = http://127.0.0.1:9/v2\napi_key = toga-key\n"                       \
    "backoff_base_ms = 10\nmax_attempts = 2\n"                                                     \
    "[db.desk]\ndatabase = {db}_desk\n"                                                            \
    "[attachments]\nuploads_dir = /nonexistent\nmax_bytes = 1000000\n"                             \
    "[toga_desk.acme]\nservice = toga\ndesk_client_id = 7\ndesk_department_id = 3\n"               \
    "monitor_department_ids = 4\n"
#define CONF BASE_CONF "[service.toga]\napi_secret = toga-secret\n[toga_desk.acme]\n"
#define OFF                                                                                        \
    "toga_to_desk = false\ndesk_to_toga = false\ncontacts = false\nunits = false\n"                \
    "predefined_replies = false\nticket_teams = false\nticket_categories = false\n"

static const struct test_case cases[] = {
    {"e2e_togadesk_first_run_then_idle", test_first_run_then_idle, CONF},
    {"e2e_togadesk_new_note_each_side", test_new_note_each_side, CONF},
    {"e2e_togadesk_same_second", test_same_second, CONF "overlap_s = 0\n"},
    {"e2e_togadesk_ticket_fetch_fails", test_ticket_fetch_fails, CONF},
    {"e2e_togadesk_dry_run", test_dry_run, CONF},
    {"e2e_togadesk_paging", test_paging, CONF},
    {"e2e_togadesk_desk_refuses_one", test_desk_refuses_one, CONF},
    {"e2e_togadesk_switches_off", test_switches_off, CONF OFF},
    {"e2e_togadesk_entity_switches", test_entity_switches, CONF OFF},
    {"e2e_togadesk_kill9_after_post", test_kill9_after_post, CONF "toga_to_desk = false\n"},
    {"e2e_togadesk_two_clients", test_two_clients,
     CONF "[service.toga_beta]\nbase_url = http://127.0.0.1:9/v2\napi_key = toga-key\n"
          "api_secret = toga-secret\n[toga_desk.beta]\nservice = toga_beta\ndesk_client_id = 8\n"
          "desk_department_id = 3\n"},
    {"e2e_togadesk_cron_per_client", test_cron_per_client,
     CONF "schedule = */10 * * * *\n[toga_desk.beta]\nservice = toga\ndesk_client_id = 8\n"
          "desk_department_id = 3\nschedule = 0 * * * *\n"},
    {"e2e_togadesk_auth_failure", test_auth_failure,
     BASE_CONF "[service.toga]\napi_secret = wrong\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
