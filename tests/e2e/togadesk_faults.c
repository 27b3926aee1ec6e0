/* End-to-end tests of the TOGA 2 <-> TOGaDesk sync's failures (Toga/Desk/Sync,
 * jobs/togadesk_*.c): a ticket that cannot be fetched, a record the desk refuses, refused
 * credentials, a watermark record without its value. The common part is
 * tests/support/ttogadesk.c. */
#include "runtime.h"
#include "tsupport.h"
#include "ttoga.h"
#include "ttogadesk.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seeds tickets a, b and c an hour apart, answers b's fetch with status (and body, a JSON text,
 * when not NULL) and syncs: b is counted failed, a and c are in the desk, and the watermark
 * stops before b. b's uuid goes into b. */
static void
sync_with_b_failing(struct td *d, int status, const char *body, char b[40])
{
    char a[40], c[40];
    ttd_seed(d, "tickets", "{\"subject\":\"a\",\"_updated\":\"2026-01-01 10:00:00\"}", a);
    ttd_seed(d, "tickets", "{\"subject\":\"b\",\"_updated\":\"2026-01-01 11:00:00\"}", b);
    ttd_seed(d, "tickets", "{\"subject\":\"c\",\"_updated\":\"2026-01-01 12:00:00\"}", c);
    char *fault = xasprintf("{\"path\":\"/v2/tickets/%s\",\"status\":%d,\"count\":100%s%s}", b,
                            status, body ? ",\"body\":" : "", body ? body : "");
    tfake_control(&d->fake, "faults", fault);
    free(fault);
    cJSON *r = ttd_sync_ok(d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "failed") == 1, "one failure counted");
    CHECK(ttd_num(r, "toga_to_desk", "tickets") == 2, "the other two synced");
    cJSON_Delete(r);
    CHECK(ttd_desk_int(d, "SELECT COUNT(*) FROM tickets WHERE referenceId IN (?, ?)",
                       DB_P(DBS(a), DBS(c))) == 2,
          "a and c are in the desk");
    CHECK(strcmp(ttd_param(d, TTD_WM_IN), "2026-01-01 10:59:59") == 0,
          "the watermark stops before the failed ticket: %s", ttd_param(d, TTD_WM_IN));
}

/* One ticket's fetch fails: counted, the others synced, the watermark held before it; the
 * next run syncs it and moves the watermark on. */
static void
test_ticket_fetch_fails(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    char b[40];
    sync_with_b_failing(&d, 500, NULL, b);
    tfake_control(&d.fake, "reset", "{}");
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "failed") == 0, "no failure now");
    cJSON_Delete(r);
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets WHERE referenceId = ?", DB_P(DBS(b))) == 1,
          "b is synced on the next run");
    CHECK(strcmp(ttd_param(&d, TTD_WM_IN), "2026-01-01 12:00:00") == 0,
          "the watermark moved on: %s", ttd_param(&d, TTD_WM_IN));
    ttd_stop(&d);
}

/* One ticket the API key may not read (403 with an authorisation code, EZ-*, API-FACTS §5) is
 * that ticket's failure, as §5b asks, not refused credentials: the run goes on with the
 * others and holds the watermark before it. */
static void
test_ticket_forbidden(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    char b[40];
    sync_with_b_failing(&d, 403,
                        "{\"isSuccess\":false,\"status\":403,\"messages\":[{\"code\":\"EZ-1\","
                        "\"message\":\"not authorised\"}]}",
                        b);
    ttd_stop(&d);
}

/* The desk refuses one record (a contact's email longer than its column): counted, the
 * others synced, the watermark held; a subject longer than its column is cut to fit. */
static void
test_desk_refuses_one(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    char rec[1024], good[40], tk[40];
    char *long_email = xasprintf("%0300d@example.com", 0);
    snprintf(rec, sizeof(rec),
             "{\"name\":\"Bad\",\"email\":\"%s\",\"_updated\":"
             "\"2026-01-01 10:00:00\"}",
             long_email);
    free(long_email);
    ttd_seed(&d, "contacts", rec, NULL);
    ttd_seed(&d, "contacts", "{\"name\":\"Good\",\"_updated\":\"2026-01-01 10:00:00\"}", good);
    char subject[700];
    memset(subject, 's', 600);
    subject[600] = '\0';
    snprintf(rec, sizeof(rec), "{\"subject\":\"%s\",\"_updated\":\"2026-01-01 12:00:00\"}",
             subject);
    ttd_seed(&d, "tickets", rec, tk);
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    const cJSON *contacts = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "entities"), "contacts");
    CHECK(ttd_num(contacts, NULL, "failed") == 1 && ttd_num(contacts, NULL, "inserted") == 1,
          "one contact refused, the other inserted");
    cJSON_Delete(r);
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM people WHERE referenceId = ?", DB_P(DBS(good))) ==
              1,
          "the good contact is in the desk");
    CHECK(ttd_desk_int(&d, "SELECT CHAR_LENGTH(subject) FROM tickets WHERE referenceId = ?",
                       DB_P(DBS(tk))) == 512,
          "the long subject is cut to the column");
    CHECK(strcmp(ttd_param(&d, TTD_WM_IN), "2026-01-01 09:59:59") == 0,
          "the watermark stops before the refused contact: %s", ttd_param(&d, TTD_WM_IN));
    ttd_stop(&d);
}

/* Wrong credentials fail the job permanently, naming the service. */
static void
test_auth_failure(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    cJSON *r = NULL;
    CHECK(ttd_run_sync(&d, "{\"client\":\"acme\"}", &r) == JOB_FAIL, "a refused login fails");
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    CHECK(why && strstr(why, "[service.toga]") && strstr(why, "EN-1"),
          "the reason names the service and the code: %s", why);
    cJSON_Delete(r);
    CHECK(ttd_run_sync(&d, "{\"client\":\"nobody\"}", &r) == JOB_FAIL, "an unknown client fails");
    why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    CHECK(why && strstr(why, "[toga_desk.nobody]"), "the reason names the section: %s", why);
    cJSON_Delete(r);
    ttd_stop(&d);
}

/* A watermark record whose value is missing (a misspelt key) is not "never ran": read as that,
 * every run would list and fetch everything again. The run fails naming the record (retried,
 * as every failure of TOGA 2 but refused credentials is); an empty value (a record made and
 * never written) is a first run. */
static void
test_watermark_without_value(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    ttd_seed(&d, "parameters", "{\"key\":\"" TTD_WM_IN "\",\"val\":\"2026-01-01 12:00:00\"}", NULL);
    cJSON *r = NULL;
    CHECK(ttd_run_sync(&d, "{\"client\":\"acme\"}", &r) == JOB_RETRY,
          "a watermark without its value fails the run");
    CHECK(ttoga_count(&d.fake, "GET /v2/tickets") == 0, "nothing listed from the year 2000");
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(r, "reason"));
    CHECK(why && strstr(why, TTD_WM_IN) && strstr(why, "no \"value\""),
          "the reason names the record: %s", why ? why : "(none)");
    cJSON_Delete(r);
    ttd_stop(&d);
}

/* A note added to a ticket after this run fetched the ticket (while the run fetched the
 * next one, slowly) is listed with the notes: the run fetches the ticket again rather than
 * take the note as synced. Before, the watermark moved past it and, the run being longer than
 * the overlap, no later run listed it again: lost for good. */
static void
test_note_added_during_run(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    char a[40], b[40], rec[256];
    ttd_seed(&d, "tickets",
             "{\"subject\":\"A\",\"ticketNumber\":\"T-A\",\"_created\":\"2026-01-01 "
             "10:00:00\",\"_updated\":\"2026-01-01 10:00:00\"}",
             a);
    ttd_seed(&d, "tickets",
             "{\"subject\":\"B\",\"ticketNumber\":\"T-B\",\"_created\":\"2026-01-01 "
             "10:00:05\",\"_updated\":\"2026-01-01 10:00:05\"}",
             b);
    snprintf(rec, sizeof(rec),
             "{\"path\":\"/v2/tickets/%s\",\"method\":\"GET\",\"latency_ms\":2000}", b);
    cJSON *fault = cJSON_Parse(rec);
    cJSON_Delete(ttoga_control(&d.fake, "faults", fault));
    cJSON_Delete(fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    WAIT_UNTIL(ttoga_count(&d.fake, "GET /v2/tickets/{uuid}") == 2, 30000,
               "the run fetches A, then B (slowly)");
    char n[40];
    snprintf(rec, sizeof(rec),
             "{\"ticket\":\"%s\",\"isExternal\":true,\"content\":\"late note\","
             "\"_created\":\"2026-01-01 10:00:02\",\"_updated\":\"2026-01-01 10:00:02\"}",
             a);
    ttd_seed(&d, "ticket-notes", rec, n);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the run ends");
    CHECK(t_job_in_state(t, id, "succeeded"), "the run succeeds");
    CHECK(ttd_desk_int(&d, "SELECT COUNT(*) FROM tickets_replies WHERE referenceId = ?",
                       DB_P(DBS(n))) == 1,
          "the note added during the run reached the desk");
    ttd_stop(&d);
}

/* Seeds 250 tickets (more than a page), a second apart from 2026-04-01 10:00:00; returns the
 * uuids (the caller deletes the array). */
static cJSON *
seed_250(struct td *d)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "collection", "tickets");
    cJSON *recs = cJSON_AddArrayToObject(doc, "records");
    for (int i = 0; i < 250; i++) {
        char when[32], subj[32];
        snprintf(when, sizeof(when), "2026-04-01 10:%02d:%02d", i / 60, i % 60);
        snprintf(subj, sizeof(subj), "ticket %d", i);
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "subject", subj);
        cJSON_AddStringToObject(r, "_updated", when);
        cJSON_AddItemToArray(recs, r);
    }
    cJSON *ans = ttoga_control(&d->fake, "seed", doc);
    cJSON_Delete(doc);
    cJSON *uuids = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(ans, "records")) cJSON_AddItemToArray(
        uuids, cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItem(r, "uuid"))));
    cJSON_Delete(ans);
    return uuids;
}

/* A ticket synced on the first page and changed while the run reads it is listed again on a
 * later page: it is synced again. Before, it was skipped as seen, and a newer ticket synced
 * after it moved the watermark past its change: the change never reached the desk. */
static void
test_ticket_changed_during_run(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    cJSON *uuids = seed_250(&d);
    const char *a = cJSON_GetStringValue(cJSON_GetArrayItem(uuids, 5));
    const char *slow = cJSON_GetStringValue(cJSON_GetArrayItem(uuids, 100));
    char rec[256];
    snprintf(rec, sizeof(rec),
             "{\"path\":\"/v2/tickets/%s\",\"method\":\"GET\",\"latency_ms\":2000}", slow);
    cJSON *fault = cJSON_Parse(rec);
    cJSON_Delete(ttoga_control(&d.fake, "faults", fault));
    cJSON_Delete(fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    WAIT_UNTIL(ttoga_count(&d.fake, "GET /v2/tickets/{uuid}") >= 101, 30000,
               "the run reaches the slow ticket of its first page");
    /* Ticket 5 changes (after its fetch); then a new ticket, later still. */
    char seeded[40];
    snprintf(rec, sizeof(rec),
             "{\"uuid\":\"%s\",\"subject\":\"changed\",\"_updated\":\"2026-06-01 00:00:00\"}", a);
    ttd_seed(&d, "tickets", rec, seeded);
    ttd_seed(&d, "tickets", "{\"subject\":\"new\",\"_updated\":\"2026-07-01 00:00:00\"}", seeded);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the run ends");
    CHECK(t_job_in_state(t, id, "succeeded"), "the run succeeds");
    char *subj =
        ttd_desk_str(&d, "SELECT subject FROM tickets WHERE referenceId = ?", DB_P(DBS(a)));
    CHECK(subj && strcmp(subj, "changed") == 0, "the change reached the desk: %s",
          subj ? subj : "(none)");
    free(subj);
    cJSON_Delete(uuids);
    ttd_stop(&d);
}

/* TOGA 2's documentation does not say in what order its lists come: newest first, the
 * listing that moves its cursor to a page's newest _updated would skip everything older than
 * the first page. Every ticket is synced in either order. */
static void
test_list_newest_first(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    cJSON_Delete(seed_250(&d));
    cJSON *mode = cJSON_Parse("{\"list_order\":\"desc\"}");
    cJSON_Delete(ttoga_control(&d.fake, "mode", mode));
    cJSON_Delete(mode);
    cJSON *r = ttd_sync_ok(&d, "{\"client\":\"acme\"}");
    CHECK(ttd_num(r, "toga_to_desk", "tickets") == 250, "250 tickets synced, not %g",
          ttd_num(r, "toga_to_desk", "tickets"));
    cJSON_Delete(r);
    CHECK(ttd_desk_int(&d, "SELECT COUNT(DISTINCT referenceId) FROM tickets", DB_NOP) == 250,
          "250 desk tickets");
    CHECK(strcmp(ttd_param(&d, TTD_WM_IN), "2026-04-01 10:04:09") == 0, "the watermark: %s",
          ttd_param(&d, TTD_WM_IN));
    ttd_stop(&d);
}

/* A contact changed after the run listed the contacts, while it lists the units (slowly),
 * reaches the desk on the next run. Before, the tickets' newer changes moved the watermark,
 * which the entities share, past the contact's change: the next run listed contacts from
 * after it. */
static void
test_contact_changed_during_run(struct tenv *t)
{
    struct td d;
    ttd_start(&d, t);
    char p[40], seeded[40], rec[256];
    ttd_seed(&d, "contacts", "{\"name\":\"Old Name\",\"_updated\":\"2026-01-01 10:00:00\"}", p);
    ttd_seed(&d, "tickets", "{\"subject\":\"A\",\"_updated\":\"2026-01-01 10:00:00\"}", seeded);
    cJSON *fault = cJSON_Parse("{\"path\":\"/v2/units\",\"method\":\"GET\",\"latency_ms\":2000}");
    cJSON_Delete(ttoga_control(&d.fake, "faults", fault));
    cJSON_Delete(fault);
    t_spawn(t, t_bin("jobfleet-worker"), NULL);
    int64_t id = t_enqueue(t, "Toga/Desk/Sync", "{\"client\":\"acme\"}", NULL);
    WAIT_UNTIL(ttoga_count(&d.fake, "GET /v2/units") >= 1, 30000, "the run lists the units");
    /* The contact changes now (the fake's clock); a ticket changes a few seconds later. */
    snprintf(rec, sizeof(rec), "{\"uuid\":\"%s\",\"name\":\"New Name\"}", p);
    ttd_seed(&d, "contacts", rec, seeded);
    time_t later = time(NULL) + 5;
    struct tm tm;
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&later, &tm));
    snprintf(rec, sizeof(rec), "{\"subject\":\"C\",\"_updated\":\"%s\"}", when);
    ttd_seed(&d, "tickets", rec, seeded);
    WAIT_UNTIL(t_job_done(t, id), 60000, "the run ends");
    CHECK(t_job_in_state(t, id, "succeeded"), "the first run succeeds");
    cJSON_Delete(ttd_sync_ok(&d, "{\"client\":\"acme\"}"));
    char *name = ttd_desk_str(&d, "SELECT name FROM people WHERE referenceId = ?", DB_P(DBS(p)));
    CHECK(name && strcmp(name, "New Name") == 0, "the contact's change reached the desk: %s",
          name ? name : "(none)");
    free(name);
    ttd_stop(&d);
}

static const struct test_case cases[] = {
    {"e2e_togadesk_ticket_forbidden", test_ticket_forbidden, TTD_CONF},
    {"e2e_togadesk_ticket_fetch_fails", test_ticket_fetch_fails, TTD_CONF},
    {"e2e_togadesk_desk_refuses_one", test_desk_refuses_one, TTD_CONF},
    {"e2e_togadesk_watermark_without_value", test_watermark_without_value, TTD_CONF},
    {"e2e_togadesk_note_added_during_run", test_note_added_during_run, TTD_CONF "overlap_s = 0\n"},
    {"e2e_togadesk_ticket_changed_during_run", test_ticket_changed_during_run,
     TTD_CONF "overlap_s = 0\n"},
    {"e2e_togadesk_contact_changed_during_run", test_contact_changed_during_run,
     TTD_CONF "overlap_s = 0\n"},
    {"e2e_togadesk_list_newest_first", test_list_newest_first, TTD_CONF},
    {"e2e_togadesk_auth_failure", test_auth_failure,
     TTD_BASE_CONF "[service.toga]\napi_secret = wrong\n"},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
