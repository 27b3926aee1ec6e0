/* Unit tests for jobs/tickets_row.c: a ticket's values are made to fit ticket_details' columns
 * (UTF-8, cut by characters at a character boundary, an email left out rather than cut), and
 * hours past DECIMAL(10,2) refuse the row. The store refused the whole row for any of these,
 * and with it the chunk it was written in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickets_row.h"
#include "utf8.h"
#include "util.h"

/* A closed ticket with subject and description (NULL: none). */
static cJSON *
ticket_with(const char *subject, const char *description)
{
    cJSON *t = cJSON_Parse("{\"id\":21000418007,\"status\":5,\"priority\":2,"
                           "\"type\":\"Incident\",\"created_at\":\"2026-01-02T03:04:05Z\","
                           "\"updated_at\":\"2026-01-03T03:04:05Z\"}");
    cJSON_AddStringToObject(t, "subject", subject);
    if (description)
        cJSON_AddStringToObject(t, "description", description);
    return t;
}

/* n copies of s, joined. */
static char *
repeat(const char *s, int n)
{
    size_t len = strlen(s);
    char *r = xmalloc(len * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(r + len * (size_t)i, s, len);
    r[len * (size_t)n] = '\0';
    return r;
}

/* The number of characters (code points) of valid UTF-8 s. */
static size_t
chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int
make(struct tickets_row *tr, const cJSON *t, const char *entries, const char *name,
     const char *email, char *err, size_t len)
{
    cJSON *convs = cJSON_CreateArray(), *te = cJSON_Parse(entries ? entries : "[]");
    int rc = tickets_row_make(tr, t, "ACME", convs, te, name, email, err, len);
    cJSON_Delete(convs);
    cJSON_Delete(te);
    return rc;
}

static void
test_fits_as_is(void **state)
{
    (void)state;
    cJSON *t = ticket_with("Printer on fire", "<p>caf\xc3\xa9</p>");
    struct tickets_row tr;
    char err[256];
    assert_int_equal(make(&tr, t, NULL, "Zo\xc3\xab", "zoe@example.com", err, sizeof(err)), 0);
    assert_string_equal(tr.fitted, "");
    assert_string_equal(tr.row.subject, "Printer on fire");
    assert_string_equal(tr.row.requester_name, "Zo\xc3\xab");
    assert_string_equal(tr.row.requester_email, "zoe@example.com");
    tickets_row_release(&tr);
    cJSON_Delete(t);
}

/* 600 two-byte characters: 512 characters (1024 bytes) are kept, not 512 bytes; a four-byte
 * character across the cut is not split. */
static void
test_cut_by_characters(void **state)
{
    (void)state;
    char *subject = repeat("\xc3\xa9", 600);
    char *name = repeat("\xf0\x9f\x98\x80", 300);
    cJSON *t = ticket_with(subject, NULL);
    struct tickets_row tr;
    char err[256];
    assert_int_equal(make(&tr, t, NULL, name, "x@example.com", err, sizeof(err)), 0);
    assert_int_equal(chars(tr.row.subject), TICKET_SUBJECT_MAX_CHARS);
    assert_int_equal(strlen(tr.row.subject), 2 * TICKET_SUBJECT_MAX_CHARS);
    assert_int_equal(chars(tr.row.requester_name), TICKET_PERSON_MAX_CHARS);
    assert_true(utf8_valid(tr.row.requester_name, strlen(tr.row.requester_name)));
    assert_string_equal(tr.fitted, "subject, requester_name");
    tickets_row_release(&tr);
    cJSON_Delete(t);
    free(subject);
    free(name);
}

/* Bytes that are not UTF-8 become '?' in the texts; such an email, or a longer one than its
 * column, is left out. */
static void
test_not_utf8(void **state)
{
    (void)state;
    cJSON *t = ticket_with("caf\xe9 \xff", "<p>bad \xc3</p>");
    struct tickets_row tr;
    char err[256];
    char *long_mail = repeat("a", 300);
    assert_int_equal(make(&tr, t, NULL, "J\xfcrgen", "j\xfc@example.com", err, sizeof(err)), 0);
    assert_string_equal(tr.row.subject, "caf? ?");
    assert_string_equal(tr.row.description, "<p>bad ?</p>");
    assert_string_equal(tr.row.requester_name, "J?rgen");
    assert_null(tr.row.requester_email);
    assert_true(utf8_valid(tr.row.description_text, strlen(tr.row.description_text)));
    assert_string_equal(tr.fitted,
                        "subject, description, requester_name, requester_email (left out)");
    tickets_row_release(&tr);
    assert_int_equal(make(&tr, t, NULL, NULL, long_mail, err, sizeof(err)), 0);
    assert_null(tr.row.requester_email);
    tickets_row_release(&tr);
    free(long_mail);
    cJSON_Delete(t);
}

/* Hours past DECIMAL(10,2): the row is refused with a reason, never clamped into a bill. */
static void
test_hours_past_column(void **state)
{
    (void)state;
    cJSON *t = ticket_with("ok", NULL);
    struct tickets_row tr;
    char err[256] = "";
    assert_int_equal(
        make(&tr, t, "[{\"id\":1,\"time_spent\":\"100000000:00\"}]", NULL, NULL, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "100000000.00 hours"));
    tickets_row_release(&tr);
    assert_int_equal(
        make(&tr, t, "[{\"id\":1,\"time_spent\":\"99999999:00\"}]", NULL, NULL, err, sizeof(err)),
        0);
    assert_true(tr.row.total_hours_spent == 99999999.0);
    tickets_row_release(&tr);
    cJSON_Delete(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits_as_is),
        cmocka_unit_test(test_cut_by_characters),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_hours_past_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
