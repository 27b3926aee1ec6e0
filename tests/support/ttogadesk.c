/* The TOGA 2 <-> TOGaDesk sync tests' common part (ttogadesk.h). */
#include "ttogadesk.h"
#include "caltime.h"
#include "tdesk.h"
#include "thttp.h"
#include "togadesk.h"
#include "ttoga.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --- the fake --- */

/* Seeds one record (JSON text) into coll; its uuid into out (40 bytes) when not NULL. */
void
ttd_seed(struct td *d, const char *coll, const char *record, char *out)
{
    cJSON *rec = cJSON_Parse(record);
    CHECK(rec, "a record to seed: %s", record);
    char *u = ttoga_seed(&d->fake, coll, rec);
    if (out)
        snprintf(out, 40, "%s", u);
    free(u);
}

/* Sets a mode of the fake (JSON text). */
void
ttd_fake_mode(struct td *d, const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON_Delete(ttoga_control(&d->fake, "mode", doc));
    cJSON_Delete(doc);
}

/* The records of a collection (the caller deletes them). */
cJSON *
ttd_store(struct td *d, const char *coll)
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
int
ttd_fake_writes(struct td *d)
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
const char *
ttd_param(struct td *d, const char *key)
{
    static char v[64];
    v[0] = '\0';
    cJSON *recs = ttd_store(d, "parameters");
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
int
ttd_notes_with_conv(struct td *d, int64_t conv)
{
    char want[24];
    snprintf(want, sizeof(want), "%lld", (long long)conv);
    cJSON *recs = ttd_store(d, "ticket-notes");
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

int64_t
ttd_desk_int(struct td *d, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(d->desk, sql, p, n);
    CHECK(r, "%s: %s", sql, db_errstr(d->desk));
    int64_t v = r->n_rows ? db_rows_int(r, 0, 0, -1) : -1;
    db_rows_free(r);
    return v;
}

char *
ttd_desk_str(struct td *d, const char *sql, const struct db_param *p, int n)
{
    struct db_rows *r = db_query(d->desk, sql, p, n);
    CHECK(r, "%s: %s", sql, db_errstr(d->desk));
    const char *v = r->n_rows ? db_rows_get(r, 0, 0) : NULL;
    char *out = v ? xstrdup(v) : NULL;
    db_rows_free(r);
    return out;
}

int64_t
ttd_desk_insert(struct td *d, const char *sql, const struct db_param *p, int n)
{
    uint64_t id = 0;
    CHECK(db_exec(d->desk, sql, p, n, NULL, &id) == 0, "%s: %s", sql, db_errstr(d->desk));
    return (int64_t)id;
}

/* Every row of the tables the sync writes, as one number per table in text, to compare. */
char *
ttd_desk_counts(struct td *d)
{
    static const char *const tables[] = {
        "tickets", "tickets_replies", "comments",   "tickets_history", "files",
        "people",  "assets",          "tickets_pr", "`groups`",        "tickets_customfields"};
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char *sql = xasprintf("SELECT COUNT(*) FROM %s", tables[i]);
        buf_printf(&b, "%s=%lld ", tables[i], (long long)ttd_desk_int(d, sql, DB_NOP));
        free(sql);
    }
    return buf_detach(&b);
}

/* A desk reply (on desk ticket ticket, time t) with one file of the given bytes. */
int64_t
ttd_desk_reply_with_file(struct td *d, int64_t ticket, int64_t t, const char *msg, const char *name,
                         const char *bytes)
{
    int64_t r = ttd_desk_insert(d,
                                "INSERT INTO tickets_replies (ticketid, `timestamp`, message) "
                                "VALUES (?,?,?)",
                                DB_P(DBI(ticket), DBI(t), DBS(msg)));
    if (name == NULL)
        return r;
    int64_t f =
        ttd_desk_insert(d,
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

void
ttd_start(struct td *d, struct tenv *t)
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

void
ttd_stop(struct td *d)
{
    tfake_stop(&d->fake);
    db_free(d->desk);
}

/* Runs Toga/Desk/Sync once in the foreground with params; returns the status and, when
 * result is not NULL, the parsed result (or the reason as {"reason"}). */
enum job_status
ttd_run_sync(struct td *d, const char *params, cJSON **result)
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

double
ttd_num(const cJSON *o, const char *group, const char *name)
{
    const cJSON *g = group ? cJSON_GetObjectItem(o, group) : o;
    return cJSON_GetNumberValue(cJSON_GetObjectItem(g, name));
}

/* Runs the sync and fails the test unless it succeeded; the result (caller deletes). */
cJSON *
ttd_sync_ok(struct td *d, const char *params)
{
    cJSON *r = NULL;
    enum job_status st = ttd_run_sync(d, params, &r);
    char *text = cJSON_PrintUnformatted(r);
    CHECK(st == JOB_OK, "the sync failed: %s", text);
    free(text);
    return r;
}

/* Starts a worker and waits until every job is finished; fails unless all succeeded. */
void
ttd_drain_jobs(struct td *d, pid_t *worker)
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
void
ttd_fx_seed(struct td *d, struct fx *f)
{
    char rec[512], tmp[40];
    ttd_seed(d, "contacts", "{\"name\":\"Ada\",\"email\":\"ada@example.com\",\"phone\":\"1\"}",
             f->contact);
    ttd_seed(d, "units", "{\"name\":\"Pump\",\"serialNumber\":\"SN-1\"}", f->unit);
    ttd_seed(d, "ticket-teams", "{\"name\":\"Field\"}", f->team);
    ttd_seed(d, "predefined-replies", "{\"name\":\"Thanks\",\"content\":\"Thank you\"}", f->pr);
    ttd_seed(d, "ticket-categories", "{\"name\":\"Hardware\",\"parentTicketCategory\":null}",
             f->top);
    snprintf(rec, sizeof(rec), "{\"name\":\"Pumps\",\"parentTicketCategory\":\"%s\"}", f->top);
    ttd_seed(d, "ticket-categories", rec, f->mid);
    snprintf(rec, sizeof(rec), "{\"name\":\"Leak\",\"parentTicketCategory\":\"%s\"}", f->mid);
    ttd_seed(d, "ticket-categories", rec, f->leaf);
    snprintf(rec, sizeof(rec),
             "{\"subject\":\"Leaking pump\",\"status\":\"Open\",\"priority\":\"High\","
             "\"ticketNumber\":\"T-1\",\"contact\":\"%s\",\"unit\":\"%s\",\"ticketTeam\":\"%s\","
             "\"ticketCategory\":\"%s\"}",
             f->contact, f->unit, f->team, f->leaf);
    ttd_seed(d, "tickets", rec, f->t1);
    ttd_seed(d, "tickets", "{\"subject\":\"From the desk\",\"ticketNumber\":\"T-2\"}", f->t2);
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"We are on it\"}", f->t1);
    ttd_seed(d, "ticket-notes", rec, f->n_ext);
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":false,\"content\":\"internal only\"}", f->t1);
    ttd_seed(d, "ticket-notes", rec, f->n_int);
    ttd_seed(d, "files", "{\"name\":\"photo.txt\",\"data\":\"cGhvdG8=\"}", tmp);
    snprintf(rec, sizeof(rec), "{\"ticketNote\":\"%s\",\"file\":\"%s\"}", f->n_ext, tmp);
    ttd_seed(d, "ticket-note-files", rec, NULL);
    int64_t now = now_wall_ms() / 1000;
    f->d2 =
        ttd_desk_insert(d,
                        "INSERT INTO tickets (clientid, departmentId, `timestamp`, referenceId, "
                        "subject) VALUES (7, 4, ?, ?, 'From the desk')",
                        DB_P(DBI(now - 100), DBS(f->t2)));
    f->r1 =
        ttd_desk_reply_with_file(d, f->d2, now - 50, "Customer says hi", "log.txt", "log bytes");
}
