/* End-to-end tests of the TOGA 2 <-> TOGaDesk sync (Toga/Desk/Sync, jobs/togadesk_*.c) against
 * the TOGA 2 fake (tests/fakes/toga.py) and the desk test schema (tests/fakes/desk/schema.sql)
 * on the real MariaDB: runs in the foreground runtime (as `jobfleet run` does) and, where the
 * file copies or a crash matter, on a real worker. */
#include "caltime.h"
#include "runtime.h"
#include "tconf.h"
#include "tfake.h"
#include "tsupport.h"
#include "ttoga.h"
#include "ttogadesk.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First run on empty watermarks: everything crosses both ways (files by the copy jobs); the
 * second run writes nothing at TOGA 2 or in the desk and enqueues nothing. */
static void
test_first_run_then_idle(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "tickets") == 2, "two TOGA 2 tickets synced");
    CHECK(ttd_num(r, "toga_to_desk", "replies") == 1 && ttd_num(r, "toga_to_desk", "comments") == 1,
          "one reply, one comment");
    CHECK(ttd_num(r, "desk_to_toga", "notes") == 1, "one desk reply posted");
    cJSON_Delete(r);
    /* TOGA 2 -> desk. */
    int64_t d1 = ttd_desk_int(&d, "SELECT id FROM tickets WHERE referenceId = ? AND clientid = 7",
                              DB_P(DBS(f.t1)));
    CHECK(d1 > 0, "T1 is a desk ticket");
    CHECK(ttd_desk_int(&d,
                       "SELECT COUNT(*) FROM tickets_replies WHERE ticketid = ? AND "
                       "referenceId = ? AND message = 'We are on it'",
                       DB_P(DBI(d1), DBS(f.n_ext))) == 1,
          "the external note is a reply");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM comments WHERE ticketid = ? AND referenceId = ?",
                       DB_P(DBI(d1), DBS(f.n_int))) == 1,
          "the internal note is a comment");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                       DB_P(DBS(f.n_int))) == 0,
          "the internal note is not a reply");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_history WHERE ticketid = ?",
                       DB_P(DBI(d1))) == 1,
          "the new reply has its history row");
    CHECK(ttd_desk_int(&d, "SELECT userid FROM tickets WHERE id = ?", DB_P(DBI(d1))) ==
              ttd_desk_int(&d, "SELECT id FROM people WHERE referenceId = ?", DB_P(DBS(f.contact))),
          "the ticket's requester is the synced contact");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM assets WHERE referenceId = ? AND serial = 'SN-1'",
                       DB_P(DBS(f.unit))) == 1,
          "the unit is an asset");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM `groups` WHERE referenceId = ?",
                       DB_P(DBS(f.team))) == 1,
          "the team is a group");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_pr WHERE referenceId = ?",
                       DB_P(DBS(f.pr))) == 1,
          "the predefined reply is in tickets_pr");
    char *path =
        ttd_desk_str(&d,
                     "SELECT value FROM tickets_customfields WHERE ticketid = ? AND name = "
                     "'Category'",
                     DB_P(DBI(d1)));
    CHECK(path && strcmp(path, "Hardware,Pumps,Leak") == 0, "the category path: %s", path);
    free(path);
    /* desk -> TOGA 2: one note carrying the reply's id, linked back. */
    CHECK(ttd_notes_with_conv(&d, f.r1) == 1, "R1 became one note");
    char *ref =
        ttd_desk_str(&d, "SELECT referenceId FROM tickets_replies WHERE id = ?", DB_P(DBI(f.r1)));
    CHECK(ref && strlen(ref) == 36, "R1's referenceId is the note's uuid: %s", ref);
    CHECK(*ttd_param(&d, TTD_WM_IN) && *ttd_param(&d, TTD_WM_OUT), "both watermarks written");
    /* The files, by the copy jobs. */
    pid_t w = 0;
    ttd_drain_jobs(&d, &w);
    CHECK(ttd_desk_int(&d,
                       "SELECT COUNT(*) FROM files f JOIN tickets_replies r ON r.id = "
                       "f.ticketreplyid WHERE r.referenceId = ? AND f.name = 'photo.txt' AND "
                       "f.filesize = 5",
                       DB_P(DBS(f.n_ext))) == 1,
          "the note's file is in the desk");
    cJSON *links = ttd_store(&d, "ticket-note-files");
    CHECK(cJSON_GetArraySize(links) == 2, "R1's file is linked to its note (%d links)",
          cJSON_GetArraySize(links));
    cJSON_Delete(links);
    free(ref);
    /* The second run: nothing. */
    char *before = ttd_desk_counts(&d);
    int64_t jobs = t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP);
    tfake_control(&d.fake, "reset", "{}");
    r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    cJSON_Delete(r);
    CHECK(ttd_fake_writes(&d) == 0, "the second run wrote %d times to TOGA 2", ttd_fake_writes(&d));
    char *after = ttd_desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "the desk changed: %s -> %s", before, after);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == jobs, "nothing enqueued");
    free(before);
    free(after);
    ttd_stop(&d);
}

/* After a run, one note on each side (and an internal one) crosses on the next run, with its
 * files; nothing else does. */
static void
test_new_note_each_side(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    cJSON_Delete(ttd_sync_ok(&d, "{\"client\":\"acme\"}"));
    pid_t w = 0;
    ttd_drain_jobs(&d, &w);
    char rec[256], n3[40], n4[40], file[40];
    snprintf(rec, sizeof(rec), "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"Fixed\"}",
             f.t1);
    ttd_seed(&d, "ticket-notes", rec, n3);
    snprintf(rec, sizeof(rec), "{\"ticket\":\"%s\",\"isExternal\":false,\"content\":\"memo\"}",
             f.t1);
    ttd_seed(&d, "ticket-notes", rec, n4);
    ttd_seed(&d, "files", "{\"name\":\"report.txt\",\"data\":\"cmVwb3J0\"}", file);
    snprintf(rec, sizeof(rec), "{\"ticketNote\":\"%s\",\"file\":\"%s\"}", n3, file);
    ttd_seed(&d, "ticket-note-files", rec, NULL);
    int64_t r2 =
        ttd_desk_reply_with_file(&d, f.d2, now_wall_ms() / 1000, "Thanks!", "thanks.txt", "thx");
    int64_t replies = ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies", DB_NOP);
    int64_t comments = ttd_desk_int(&d, "SELECT COUNT(*) FROM comments", DB_NOP);
    tfake_control(&d.fake, "reset", "{}");
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "replies") == 1 && ttd_num(r, "toga_to_desk", "comments") == 1,
          "one reply and one comment crossed");
    CHECK(ttd_num(r, "desk_to_toga", "notes") == 1, "one note crossed");
    cJSON_Delete(r);
    CHECK(ttoga_count(&d.fake, "POST /v2/ticket-notes") == 1, "exactly one note posted");
    CHECK(ttd_notes_with_conv(&d, r2) == 1, "it is R2");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies", DB_NOP) == replies + 1,
          "one more reply");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM comments", DB_NOP) == comments + 1,
          "one more comment");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                       DB_P(DBS(n3))) == 1,
          "N3 is a reply");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM comments WHERE referenceId = ?", DB_P(DBS(n4))) ==
              1,
          "N4 is a comment");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_history", DB_NOP) == 2,
          "one history row per reply from TOGA 2");
    ttd_drain_jobs(&d, &w);
    CHECK(ttd_desk_int(&d,
                       "SELECT COUNT(*) FROM files f JOIN tickets_replies r ON r.id = "
                       "f.ticketreplyid WHERE r.referenceId = ? AND f.name = 'report.txt'",
                       DB_P(DBS(n3))) == 1,
          "N3's file is in the desk");
    CHECK(ttoga_count(&d.fake, "POST /v2/files") == 1, "R2's file uploaded once");
    ttd_stop(&d);
}

/* overlap_s = 0: a note and a desk reply stamped exactly at the watermarks still cross. */
static void
test_same_second(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    cJSON_Delete(ttd_sync_ok(&d, "{\"client\":\"acme\"}"));
    char win[64], wout[64], rec[256], n[40];
    snprintf(win, sizeof(win), "%s", ttd_param(&d, TTD_WM_IN));
    snprintf(wout, sizeof(wout), "%s", ttd_param(&d, TTD_WM_OUT));
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"same second\","
             "\"_created\":\"%s\",\"_updated\":\"%s\"}",
             f.t1, win, win);
    ttd_seed(&d, "ticket-notes", rec, n);
    int64_t tout;
    CHECK(caltime_parse_dt(wout, &tout) == 0, "the desk watermark %s parses", wout);
    int64_t r2 = ttd_desk_reply_with_file(&d, f.d2, tout, "same second too", NULL, NULL);
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    cJSON_Delete(r);
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                       DB_P(DBS(n))) == 1,
          "the note updated at the watermark's second (%s) crossed", win);
    CHECK(ttd_notes_with_conv(&d, r2) == 1, "the reply stamped at the watermark's second crossed");
    ttd_stop(&d);
}

/* More tickets than a page (200), 250 of them in one second: every one is synced, by pages of
 * 200, and the watermark is their newest _updated. */
static void
test_paging(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
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
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "tickets") == 450, "450 tickets synced, not %g",
          ttd_num(r, "toga_to_desk", "tickets"));
    cJSON_Delete(r);
    CHECK(ttd_desk_int(&d, "SELECT COUNT(DISTINCT referenceId) FROM tickets", DB_NOP) == 450,
          "450 desk tickets");
    CHECK(strcmp(ttd_param(&d, TTD_WM_IN), "2026-04-01 10:00:01") == 0, "the watermark: %s",
          ttd_param(&d, TTD_WM_IN));
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
    ttd_stop(&d);
}

/* Dry run: a full first run planned, nothing written at TOGA 2, in the desk or the queue. */
static void
test_dry_run(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    char *before = ttd_desk_counts(&d);
    tfake_control(&d.fake, "reset", "{}");
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\",\"dry_run\":true}");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r, "plan")) > 0, "the run planned its steps");
    CHECK(ttd_num(r, "desk_to_toga", "notes") == 1 && ttd_num(r, "toga_to_desk", "replies") == 1,
          "the plan counts what a run would cross");
    cJSON_Delete(r);
    CHECK(ttd_fake_writes(&d) == 0, "a dry run wrote %d times to TOGA 2", ttd_fake_writes(&d));
    char *after = ttd_desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "a dry run changed the desk: %s -> %s", before, after);
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs", DB_NOP) == 0, "nothing enqueued");
    CHECK(*ttd_param(&d, TTD_WM_IN) == '\0', "no watermark written");
    free(before);
    free(after);
    ttd_stop(&d);
}

/* Every switch off: the sync touches neither direction nor any entity. */
static void
test_switches_off(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    char *before = ttd_desk_counts(&d);
    cJSON_Delete(ttd_sync_ok(&d, "{\"client\":\"acme\"}"));
    char *after = ttd_desk_counts(&d);
    CHECK(strcmp(before, after) == 0, "the desk changed: %s -> %s", before, after);
    CHECK(ttoga_count(&d.fake, "POST /v2/ticket-notes") == 0, "no note posted");
    static const char *const lists[] = {"GET /v2/contacts",           "GET /v2/units",
                                        "GET /v2/predefined-replies", "GET /v2/ticket-teams",
                                        "GET /v2/ticket-categories",  "GET /v2/tickets"};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        CHECK(ttoga_count(&d.fake, lists[i]) == 0, "%s was called", lists[i]);
    free(before);
    free(after);
    ttd_stop(&d);
}

/* Only the entity switches on, one at a time: each fills its own table only. */
static void
test_entity_switches(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
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
        cJSON_Delete(ttd_sync_ok(&d, "{\"client\":\"acme\"}"));
        for (size_t j = 0; j < sizeof(sw) / sizeof(sw[0]); j++) {
            char *sql = xasprintf("SELECT COUNT(*) FROM %s", sw[j].table);
            int64_t n = ttd_desk_int(&d, sql, DB_NOP);
            CHECK(n == (j <= i), "with %s on, %s has %lld rows", sw[i].key, sw[j].table,
                  (long long)n);
            free(sql);
        }
        CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_customfields", DB_NOP) == 0,
              "categories stay off");
    }
    ttd_stop(&d);
}

/* kill -9 of the worker's child right after POST /ticket-notes stored the note and before
 * its answer (so before the referenceId write): the next run does not post it again. */
static void
test_kill9_after_post(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    struct fx f;
    ttd_fx_seed(&d, &f);
    ttd_fake_mode(&d, "{\"stall_after_create\":{\"collection\":\"ticket-notes\",\"seconds\":60}}");
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    WAIT_UNTIL(ttd_notes_with_conv(&d, f.r1) == 1, 20000, "the note was never posted");
    /* The child running the job: the worker's child whose job it is. */
    pid_t child = 0;
    CHECK(t_worker_children(w, &child, 1) == 1, "the worker has children");
    CHECK(t_sql_int(t, 0, "SELECT COUNT(*) FROM jobs WHERE id = ? AND state = 'running'",
                    DB_P(DBI(id))) == 1,
          "the sync is running");
    /* One child (concurrency 1): it is the one stuck in the POST. */
    CHECK(kill(child, SIGKILL) == 0, "kill -9 the child %d", (int)child);
    WAIT_UNTIL(!t_job_in_state(t, id, "running"), 15000, "the killed job stayed running");
    CHECK(ttd_desk_int(&d,
                       "SELECT COUNT(*) FROM tickets_replies WHERE id = ? AND referenceId IS "
                       "NULL",
                       DB_P(DBI(f.r1))) == 1,
          "the crash left R1 without its referenceId");
    t_signal(t, w, SIGTERM);
    t_wait_exit_ok(t, w, 10000, "the worker");
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "desk_to_toga", "repaired") == 1, "the next run found the posted note");
    cJSON_Delete(r);
    CHECK(ttd_notes_with_conv(&d, f.r1) == 1, "R1 was posted once, not twice");
    char *ref =
        ttd_desk_str(&d, "SELECT referenceId FROM tickets_replies WHERE id = ?", DB_P(DBI(f.r1)));
    cJSON *notes = ttd_store(&d, "ticket-notes");
    bool linked = false;
    const cJSON *n;
    cJSON_ArrayForEach(n, notes) linked |=
        ref && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "uuid")), ref) == 0;
    CHECK(linked, "R1's referenceId is the posted note: %s", ref);
    cJSON_Delete(notes);
    free(ref);
    ttd_stop(&d);
}

/* Two clients, two TOGA 2 tenants: two independent jobs, and one client's watermark is not
 * touched by the other's runs. */
static void
test_two_clients(struct tenv *t)
{
    struct td a, b;
    ttd_start(&a, t);
    tfake_start(t, &b.fake, "toga.py", NULL);
    b.t = t;
    b.desk = a.desk;
    char *url = xasprintf("%s/v2", b.fake.base_url);
    setenv("JOBFLEET_SERVICE_TOGA_BETA_BASE_URL", url, 1);
    free(url);
    char err[512];
    cfg_release(&t->cfg);
    CHECK(cfg_load(&t->cfg, t->conf, err, sizeof(err)) == 0, "reload config: %s", err);
    ttd_seed(&a, "tickets", "{\"subject\":\"of acme\",\"_updated\":\"2026-02-01 08:00:00\"}", NULL);
    ttd_seed(&b, "tickets", "{\"subject\":\"of beta\",\"_updated\":\"2026-03-01 09:00:00\"}", NULL);
    pid_t w = t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t ja = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    int64_t jb = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"beta\"}", NULL);
    CHECK(ja != jb, "two jobs");
    WAIT_UNTIL(t_job_done(t, ja) && t_job_done(t, jb), 30000, "the two syncs never finished");
    CHECK(t_job_in_state(t, ja, "succeeded") && t_job_in_state(t, jb, "succeeded"),
          "both succeeded");
    CHECK(strcmp(ttd_param(&a, TTD_WM_IN), "2026-02-01 08:00:00") == 0, "acme's watermark: %s",
          ttd_param(&a, TTD_WM_IN));
    CHECK(strcmp(ttd_param(&b, TTD_WM_IN), "2026-03-01 09:00:00") == 0, "beta's watermark: %s",
          ttd_param(&b, TTD_WM_IN));
    CHECK(ttd_desk_int(&a, "SELECT COUNT(*) FROM tickets WHERE clientid = 7", DB_NOP) == 1 &&
              ttd_desk_int(&a, "SELECT COUNT(*) FROM tickets WHERE clientid = 8", DB_NOP) == 1,
          "each client's ticket under its desk client");
    /* A change at beta only: acme's next run writes nothing at acme's TOGA 2. */
    ttd_seed(&b, "tickets", "{\"subject\":\"more beta\",\"_updated\":\"2026-03-02 09:00:00\"}",
             NULL);
    tfake_control(&a.fake, "reset", "{}");
    int64_t ja2 = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    int64_t jb2 = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"beta\"}", NULL);
    WAIT_UNTIL(t_job_done(t, ja2) && t_job_done(t, jb2), 30000, "the second runs never ended");
    CHECK(ttd_fake_writes(&a) == 0, "acme's TOGA 2 got %d writes", ttd_fake_writes(&a));
    CHECK(strcmp(ttd_param(&a, TTD_WM_IN), "2026-02-01 08:00:00") == 0, "acme's watermark stayed");
    CHECK(strcmp(ttd_param(&b, TTD_WM_IN), "2026-03-02 09:00:00") == 0, "beta's moved: %s",
          ttd_param(&b, TTD_WM_IN));
    t_signal(t, w, SIGTERM);
    t_wait_exit_ok(t, w, 10000, "the worker");
    tfake_stop(&b.fake);
    ttd_stop(&a);
}

/* [toga_desk.<client>] schedule: the scheduler keeps one cron job per client, and each fire
 * is that client's own Toga/Desk/Sync job. */
static void
test_cron_per_client(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    int64_t t0 = 1777629600; /* 2026-05-01T10:00:00Z */
    t_set_clock(t, t0 - 30);
    pid_t sched = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
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
    /* A client's run is unique while live (unique_by "client"): acme's 10:10 fire, while its
     * 10:00 run still waits, makes no job, and says so. */
    t_set_clock(t, t0 + 601);
    WAIT_UNTIL(
        t_log_has(t, sched, "Toga/Desk/Sync/acme: fire at 2026-05-01T05:10:00-05:00 made no job"),
        20000, "the held fire is logged");
    CHECK(t_log_has(t, sched, "holds its unique key and does that work"), "the reason is logged");
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND state = "
                         "'succeeded'",
                         DB_NOP) == 2,
               30000, "the two fired syncs succeed");
    t_set_clock(t, t0 + 1201);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND "
                         "JSON_VALUE(parameters, '$.client') = 'acme'",
                         DB_NOP) == 2,
               20000, "acme fires again at 10:20");
    CHECK(t_sql_int(t, 0,
                    "SELECT COUNT(*) FROM jobs WHERE action = 'Toga/Desk/Sync' AND "
                    "JSON_VALUE(parameters, '$.client') = 'beta'",
                    DB_NOP) == 1,
          "beta, hourly, does not");
    /* A client's zone changed in the config (the schedule's text did not): the cron job
     * follows at the next start, as it does a changed schedule. */
    t_signal(t, sched, SIGTERM);
    t_wait_exit_ok(t, sched, 30000, "the scheduler");
    t_conf_append(t, "[toga_desk.acme]\ntimezone = America/Chicago\n");
    t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM cron_jobs WHERE name = 'Toga/Desk/Sync/acme' AND "
                         "timezone = 'America/Chicago'",
                         DB_NOP) == 1,
               20000, "acme's cron job takes the zone");
    ttd_stop(&d);
}

/* A schedule the config keeps, disabled by an operator, stays as it is (the same row, disabled)
 * when the scheduler restarts. Each start removed and re-added it before (its check compared
 * columns the lookup never read): the disable was undone and the schedule fired again. */
static void
test_cron_kept_across_restart(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    int64_t t0 = 1777629600; /* 2026-05-01T10:00:00Z */
    t_set_clock(t, t0 - 30);
    pid_t s1 = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    const char *id_sql = "SELECT id FROM cron_jobs WHERE name = 'Toga/Desk/Sync/acme'";
    WAIT_UNTIL(t_sql_int(t, 0, id_sql, DB_NOP) > 0 &&
                   t_sql_int(t, 0, "SELECT COUNT(*) FROM cron_jobs WHERE action = 'Toga/Desk/Sync'",
                             DB_NOP) == 2,
               20000, "the scheduler makes the two clients' cron jobs");
    int64_t id = t_sql_int(t, 0, id_sql, DB_NOP);
    CHECK(t_cli(t, NULL, NULL,
                (const char *const[]){"cron", "disable", "Toga/Desk/Sync/acme", NULL}) == 0,
          "cron disable");
    t_signal(t, s1, SIGTERM);
    t_wait_exit_ok(t, s1, 15000, "the first scheduler");
    pid_t s2 = t_spawn(t, t_bin("jobfleet-scheduler"), NULL);
    WAIT_UNTIL(t_log_has(t, s2, "became leader"), 20000, "the new scheduler leads");
    /* beta's 10:00 fire shows the new scheduler has run its cron step, config first. */
    t_set_clock(t, t0 + 1);
    WAIT_UNTIL(t_sql_int(t, 0,
                         "SELECT COUNT(*) FROM jobs WHERE JSON_VALUE(parameters, '$.client') = "
                         "'beta'",
                         DB_NOP) == 1,
               20000, "beta fires at 10:00");
    CHECK(t_sql_int(t, 0, id_sql, DB_NOP) == id, "the row was replaced");
    CHECK(t_sql_int(t, -1, "SELECT is_active FROM cron_jobs WHERE id = ?", DB_P(DBI(id))) == 0,
          "the operator's disable was undone");
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE JSON_VALUE(parameters, '$.client') = 'acme'",
                    DB_NOP) == 0,
          "the disabled schedule fired");
    ttd_stop(&d);
}

static const struct test_case cases[] = {
    {"e2e_togadesk_first_run_then_idle", test_first_run_then_idle, TTD_CONF},
    {"e2e_togadesk_new_note_each_side", test_new_note_each_side, TTD_CONF},
    {"e2e_togadesk_same_second", test_same_second, TTD_CONF "overlap_s = 0\n"},
    {"e2e_togadesk_dry_run", test_dry_run, TTD_CONF},
    {"e2e_togadesk_paging", test_paging, TTD_CONF},
    {"e2e_togadesk_switches_off", test_switches_off, TTD_CONF TTD_OFF},
    {"e2e_togadesk_entity_switches", test_entity_switches, TTD_CONF TTD_OFF},
    {"e2e_togadesk_kill9_after_post", test_kill9_after_post, TTD_CONF "toga_to_desk = false\n"},
    {"e2e_togadesk_two_clients", test_two_clients,
     TTD_CONF
     "[service.toga_beta]\nbase_url = http://127.0.0.1:9/v2\napi_key = toga-key\n"
     "api_secret = toga-secret\n[toga_desk.beta]\nservice = toga_beta\ndesk_client_id = 8\n"
     "desk_department_id = 3\n"},
    {"e2e_togadesk_cron_per_client", test_cron_per_client,
     TTD_CONF "schedule = */10 * * * *\n[toga_desk.beta]\nservice = toga\ndesk_client_id = 8\n"
              "desk_department_id = 3\nschedule = 0 * * * *\n"},
    {"e2e_togadesk_cron_kept_across_restart", test_cron_kept_across_restart,
     TTD_CONF "schedule = */10 * * * *\n[toga_desk.beta]\nservice = toga\ndesk_client_id = 8\n"
              "desk_department_id = 3\nschedule = 0 * * * *\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
