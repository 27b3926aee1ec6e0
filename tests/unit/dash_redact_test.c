/* Unit tests for producer/dash_redact.c: what a read-only dashboard user sees of a job's
 * parameters and result. The secrets review found secrets shown under keys the word list
 * missed (privateKey, pwd, passphrase, access_key, sig), in name/value pairs ({"name":
 * "Authorization", "value": ...}) and in values whatever their key (a URL's password, a
 * Slack webhook's path, "Bearer ..."); and the short words must not hide ordinary keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "dash_int.h"

#include <stdlib.h>
#include <string.h>

/* in redacted, then printed unformatted. */
static char *
redacted(const char *in)
{
    cJSON *j = cJSON_Parse(in);
    assert_non_null(j);
    dash_redact(j);
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

static void
expect(const char *in, const char *want)
{
    char *got = redacted(in);
    if (strcmp(got, want) != 0)
        fail_msg("redacting %s\n  got  %s\n  want %s", in, got, want);
    free(got);
}

static void
test_key_words(void **state)
{
    (void)state;
    expect("{\"privateKey\":\"k1\",\"private-key\":\"k2\",\"pwd\":\"p\",\"db_pass\":\"p2\","
           "\"passphrase\":\"pp\",\"access_key\":\"a\",\"jwt\":\"j\",\"sig\":\"s\","
           "\"auth\":\"Basic x\",\"userPwd\":\"u\"}",
           "{\"privateKey\":\"[redacted]\",\"private-key\":\"[redacted]\",\"pwd\":\"[redacted]\","
           "\"db_pass\":\"[redacted]\",\"passphrase\":\"[redacted]\",\"access_key\":\"[redacted]\","
           "\"jwt\":\"[redacted]\",\"sig\":\"[redacted]\",\"auth\":\"[redacted]\","
           "\"userPwd\":\"[redacted]\"}");
    /* The short words inside others are not secrets. */
    expect("{\"assignee\":\"bob\",\"compass\":\"n\",\"author\":\"ann\",\"signal\":1,"
           "\"passenger\":2,\"design\":\"x\"}",
           "{\"assignee\":\"bob\",\"compass\":\"n\",\"author\":\"ann\",\"signal\":1,"
           "\"passenger\":2,\"design\":\"x\"}");
}

/* What the rules must leave shown (the final review found each hidden by the first version). */
static void
test_ordinary_data(void **state)
{
    (void)state;
    const char *same[] = {
        "{\"subject\":\"Basic question about my invoice\"}",
        "{\"title\":\"Bearer bonds report\",\"plan\":\"basic tier\"}",
        "{\"log\":\"step 3 auth: ok\"}",
        "{\"text\":\"Exam result: pass\\nnext step\"}",
        "{\"text\":\"Lost my boarding pass\\nPlease help\"}",
        "[{\"name\":\"Session length\",\"value\":30}]",
        "{\"key\":\"pass_rate\",\"value\":0.93,\"pass_rate\":0.93}",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        expect(same[i], same[i]);
}

static void
test_name_value_pairs(void **state)
{
    (void)state;
    expect("{\"headers\":[{\"name\":\"Authorization\",\"value\":\"Bearer sk_live_abc\"},"
           "{\"name\":\"Accept\",\"value\":\"*/*\"}],\"fields\":[{\"field\":\"password\","
           "\"value\":\"hunter2\"}]}",
           "{\"headers\":[{\"name\":\"Authorization\",\"value\":\"[redacted]\"},"
           "{\"name\":\"Accept\",\"value\":\"*/*\"}],\"fields\":[{\"field\":\"password\","
           "\"value\":\"[redacted]\"}]}");
}

static void
test_carried_values(void **state)
{
    (void)state;
    expect("{\"dsn\":\"mysql://app:Pa55w0rd@db.internal/app\",\"note\":\"Bearer abc.def.ghi\","
           "\"hook\":\"https://hooks.slack.com/services/T000/B000/XXXX\",\"site\":"
           "\"https://example.com:8443/a?b=1\"}",
           "{\"dsn\":\"mysql://app:[redacted]@db.internal/app\",\"note\":\"[redacted]\","
           "\"hook\":\"https://hooks.slack.com/services/[redacted]\",\"site\":"
           "\"https://example.com:8443/a?b=1\"}");
    /* A token as a URL's user, and a password with an '@' in it. */
    expect("{\"repo\":\"https://ghp_abcdEFGH1234secret@github.com/org/repo.git\","
           "\"db\":\"mysql://app:p@ss@db/app\"}",
           "{\"repo\":\"https://[redacted]@github.com/org/repo.git\","
           "\"db\":\"mysql://app:[redacted]@db/app\"}");
    /* An Azure SAS signature in a URL's query: its key is sig. */
    expect("{\"url\":\"https://a.blob.core.windows.net/c/b?sp=r&sig=Xk3q%2Bw0\"}",
           "{\"url\":\"https://a.blob.core.windows.net/c/b?sp=r&sig=[redacted]\"}");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_words),
        cmocka_unit_test(test_ordinary_data),
        cmocka_unit_test(test_name_value_pairs),
        cmocka_unit_test(test_carried_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
