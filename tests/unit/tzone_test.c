/* Unit tests for the TZif reader (common/tzone.c): every zone of zone1970.tab agrees with
 * glibc's localtime_r over the transition table, random instants from 1800 to 2200 and the
 * footer-rule years; POSIX rules of every shape; names that could leave the zone directory are
 * refused; and truncated or corrupt files are refused without reading past their end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tzone.h"

#define ZONE1970 TZONE_DIR "/zone1970.tab"

/* glibc's offset for zone name at t; the test is single-threaded, so switching TZ is fine. */
static long
glibc_offset(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    assert_non_null(localtime_r(&tt, &tm));
    return tm.tm_gmtoff;
}

static int
compare_at(const char *name, const struct tzone *z, int64_t t)
{
    long want = glibc_offset(t);
    int32_t got = tzone_offset(z, t);
    if (got == want)
        return 0;
    print_error("%s at %lld: glibc %ld, tzone %d\n", name, (long long)t, want, (int)got);
    return 1;
}

/* Compares one zone at random instants, around every whole hour of the footer years and at
 * instants spread over 1800-2200 densely enough to straddle each transition. */
static int
compare_zone(const char *name, unsigned *seed)
{
    char tz[128];
    snprintf(tz, sizeof(tz), ":%s/%s", TZONE_DIR, name);
    setenv("TZ", tz, 1);
    tzset();
    char err[256] = "";
    const struct tzone *z = tzone_get(name, err, sizeof(err));
    if (z == NULL) {
        print_error("%s: %s\n", name, err);
        return 1;
    }
    int bad = 0;
    const int64_t from = INT64_C(-5364662400), to = INT64_C(7258118400); /* 1800 .. 2200 */
    for (int i = 0; i < 3000 && bad < 5; i++) {
        int64_t r = ((int64_t)rand_r(seed) << 31 | rand_r(seed)) % (to - from);
        bad += compare_at(name, z, from + r);
    }
    /* Every 6 hours of 2030-2045 (table end and footer start) and of 2090. */
    for (int64_t t = INT64_C(1893456000); t < INT64_C(2366841600) && bad < 5; t += 6 * 3600 + 1)
        bad += compare_at(name, z, t);
    for (int64_t t = INT64_C(3786825600); t < INT64_C(3818361600) && bad < 5; t += 3 * 3600 + 7)
        bad += compare_at(name, z, t);
    return bad;
}

static void
tzone_agrees_with_glibc(void **state)
{
    (void)state;
    FILE *fp = fopen(ZONE1970, "r");
    assert_non_null(fp);
    char line[512];
    int zones = 0, bad = 0;
    unsigned seed = 12345;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (line[0] == '#')
            continue;
        /* Columns: codes, coordinates, zone name, comments. */
        char *save = NULL, *f = strtok_r(line, "\t\n", &save);
        f = f ? strtok_r(NULL, "\t\n", &save) : NULL;
        f = f ? strtok_r(NULL, "\t\n", &save) : NULL;
        if (f == NULL)
            continue;
        zones++;
        bad += compare_zone(f, &seed) != 0;
    }
    fclose(fp);
    const char *extra[] = {"UTC", "Etc/GMT+5", "Etc/GMT-14", "EST5EDT", "Asia/Kolkata"};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        bad += compare_zone(extra[i], &seed) != 0;
    unsetenv("TZ");
    tzset();
    assert_true(zones > 300);
    assert_int_equal(bad, 0);
}

static void
tzone_names(void **state)
{
    (void)state;
    const char *good[] = {"Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC",
                          "America/Port-au-Prince"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(tzone_name_ok(good[i]));
        assert_non_null(tzone_get(good[i], NULL, 0));
    }
    const char *bad[] = {
        "../../etc/passwd",
        "Europe/../../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "./UTC",
        "Europe//Paris",
        "Europe/",
        "Europe/.hidden",
        "Europe/Paris ",
        "Europe/Paris\n",
        "",
        "a;b",
        "Europe\\Paris",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        if (tzone_name_ok(bad[i]))
            print_error("accepted \"%s\"\n", bad[i]);
        assert_false(tzone_name_ok(bad[i]));
        assert_null(tzone_get(bad[i], err, sizeof(err)));
        assert_non_null(strstr(err, "is not a time zone name"));
    }
    assert_false(tzone_name_ok(NULL));
    assert_null(tzone_get(NULL, NULL, 0));
}

/* Names of the right shape that are not usable zones say why. */
static void
tzone_unusable_files(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"Mars/Olympus", "No such file"},
        {"America", "not a zone file"},
        {"zone.tab", "not a TZif file"},
        {"right/UTC", "leap seconds"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        assert_null(tzone_get(cases[i][0], err, sizeof(err)));
        if (strstr(err, cases[i][1]) == NULL)
            print_error("%s: \"%s\"\n", cases[i][0], err);
        assert_non_null(strstr(err, cases[i][1]));
    }
    /* The same name twice gives the same shared zone. */
    assert_ptr_equal(tzone_get("Europe/Paris", NULL, 0), tzone_get("Europe/Paris", NULL, 0));
}

static unsigned char *
read_zone(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", TZONE_DIR, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *buf = malloc(65536);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, fp);
    fclose(fp);
    return buf;
}

/* Every prefix of a real file is refused (ASan checks nothing past the end is read), and so
 * are single corrupted bytes that make the data inconsistent. */
static void
tzone_truncated_and_corrupt(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = read_zone("Australia/Lord_Howe", &len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *copy = malloc(n ? n : 1);
        memcpy(copy, buf, n);
        struct tzone *z = tzone_parse(copy, n, NULL, 0);
        if (z != NULL)
            print_error("accepted a prefix of %zu of %zu bytes\n", n, len);
        assert_null(z);
        free(copy);
    }
    struct tzone *z = tzone_parse(buf, len, NULL, 0);
    assert_non_null(z);
    tzone_free(z);
    /* Flip every byte in turn: whatever is accepted must still answer without faults. */
    for (size_t i = 0; i < len; i++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[i] ^= 0xA5;
        z = tzone_parse(copy, len, NULL, 0);
        if (z != NULL) {
            (void)tzone_offset(z, INT64_C(-10000000000));
            (void)tzone_offset(z, INT64_C(1790000000));
            (void)tzone_offset(z, INT64_C(4000000000));
        }
        tzone_free(z);
        free(copy);
    }
    free(buf);
    tzone_free(NULL);
}

/* A version 2 file with no transitions, one type and the footer rule given. */
static struct tzone *
rule_zone(const char *rule, char *err, size_t errlen)
{
    unsigned char buf[512] = {0};
    size_t n = 0;
    /* A version 1 block with nothing but one type and one designation byte. */
    for (int part = 0; part < 2; part++) {
        memcpy(buf + n, "TZif2", 5);
        buf[n + 20 + 4 * 4 + 3] = 1; /* typecnt */
        buf[n + 20 + 5 * 4 + 3] = 1; /* charcnt */
        n += 44 + 6 + 1;
    }
    n += (size_t)snprintf((char *)buf + n, sizeof(buf) - n, "\n%s\n", rule);
    return tzone_parse(buf, n, err, errlen);
}

static void
tzone_posix_rules(void **state)
{
    (void)state;
    /* Rule, UTC instant, expected offset (values from Python's zoneinfo or by hand). */
    const struct {
        const char *rule;
        int64_t t;
        int32_t off;
    } cases[] = {
        {"CET-1CEST,M3.5.0,M10.5.0/3", INT64_C(3794173199), 3600},  /* 2090-03-26 00:59:59Z */
        {"CET-1CEST,M3.5.0,M10.5.0/3", INT64_C(3794173200), 7200},  /* 2090-03-26 01:00:00Z */
        {"EST5EDT,M3.2.0,M11.1.0", INT64_C(3792985200), -4 * 3600}, /* 2090-03-12 07:00Z */
        {"EST5EDT,M3.2.0,M11.1.0", INT64_C(3792985199), -5 * 3600},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", INT64_C(3810468600), 11 * 3600}, /* 09-30 */
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", INT64_C(3810468599), 37800},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", INT64_C(3794742000), 37800}, /* 04-01 15:00 */
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", INT64_C(3794741999), 11 * 3600},
        {"IST-5:30", INT64_C(3794173200), 19800},
        {"UTC0", INT64_C(-100000000000), 0},
        {"<-03>3", INT64_C(0), -3 * 3600},
        /* DST all year (RFC 8536 3.3.1): stays in DST across the new year. */
        {"EST5EDT,0/0,J365/25", INT64_C(3786912000), -4 * 3600}, /* 2090-01-01 00:00Z */
        {"EST5EDT,0/0,J365/25", INT64_C(3802550400), -4 * 3600}, /* 2090-07-01 */
        /* Julian days skip Feb 29, zero-based days count it; "/-1" and "/26" rule times. */
        {"XXX0YYY,J60/0,J300", INT64_C(3791145600), 0},    /* 2090-02-19: before Mar 1 */
        {"XXX0YYY,J60/0,J300", INT64_C(3792009600), 3600}, /* 2090-03-01 00:00Z */
        {"XXX0YYY,J60/0,J300", INT64_C(3792009599), 0},
        {"XXX0YYY,59/0,300", INT64_C(3792009600), 3600}, /* day 59 of 2090 is Mar 1 */
        {"XXX0YYY,59/0,300", INT64_C(3792009599), 0},
        {"XXX0YYY,M3.5.0/-1,M10.5.0/26", INT64_C(3794166000), 3600}, /* 03-25 23:00Z */
        {"XXX0YYY,M3.5.0/-1,M10.5.0/26", INT64_C(3794165999), 0},
        {"XXX0YYY-2,M3.5.0,M10.5.0", INT64_C(3802550400), 7200},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct tzone *z = rule_zone(cases[i].rule, err, sizeof(err));
        if (z == NULL)
            print_error("%s: %s\n", cases[i].rule, err);
        assert_non_null(z);
        int32_t got = tzone_offset(z, cases[i].t);
        if (got != cases[i].off)
            print_error("%s at %lld: want %d, got %d\n", cases[i].rule, (long long)cases[i].t,
                        (int)cases[i].off, (int)got);
        assert_int_equal(got, cases[i].off);
        tzone_free(z);
    }
    const char *bad[] = {"CET",
                         "CET-1CEST",
                         "CET-1CEST,M3.5.0",
                         "CET-1CEST,M13.5.0,M10.5.0",
                         "CET-1CEST,M3.6.0,M10.5.0",
                         "CET-1CEST,M3.5.7,M10.5.0",
                         "C-1",
                         "CET-25",
                         "<+03-3",
                         "CET-1CEST,J0,J365",
                         "CET-1CEST,366,1",
                         "CET-1CEST,M3.5.0/168,M10.5.0",
                         "CET-1 junk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct tzone *z = rule_zone(bad[i], err, sizeof(err));
        if (z != NULL)
            print_error("accepted \"%s\"\n", bad[i]);
        assert_null(z);
        assert_non_null(strstr(err, "footer"));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tzone_agrees_with_glibc), cmocka_unit_test(tzone_names),
        cmocka_unit_test(tzone_unusable_files),    cmocka_unit_test(tzone_truncated_and_corrupt),
        cmocka_unit_test(tzone_posix_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
