/* End-to-end tests of the migrations themselves on data written before them: each test puts
 * rows as an older version stored them, forgets the migration, and runs `jobfleet migrate`. */
#include "migrate.h"
#include "tsupport.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* A job row with idempotency key key. */
static void
job_with_key(struct tenv *t, const char *key)
{
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, dt_created, "
                  "idempotency_key) VALUES (UUID(), 'api', 'System/Noop', '{}', 'succeeded', "
                  "NOW(6), NOW(6), ?)",
                  DB_P(DBS(key)), NULL, NULL) == 0,
          "insert %s: %s", key, db_errstr(t->db));
}

static int64_t
keys_like(struct tenv *t, const char *pattern)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE ?",
                     DB_P(DBS(pattern)));
}

/* 008 rewrites the old signed-delivery keys "<source>:sig:<hex>" and nothing else. It matched
 * ':sig:' anywhere: an API client's key was rewritten (its retry then made a second job), and a
 * long one overflowed the column and failed the migration on every run. A redelivery stored
 * under the new key before the migration ran failed it on the unique key. */
static void
test_008_rewrites_only_signatures(struct tenv *t)
{
    char hex[65], other[65];
    memset(hex, 'a', 64);
    memset(other, 'b', 64);
    hex[64] = other[64] = '\0';
    char *sig = xasprintf("signed:sig:%s", hex);
    char *dup = xasprintf("signed:sig:%s", other);
    char *client = xasprintf("api:%s:sig:1", "order");
    char *long_client = xasprintf("api:%0120d:sig:1", 0);
    job_with_key(t, sig);
    job_with_key(t, dup);
    job_with_key(t, client);
    job_with_key(t, long_client);
    CHECK(db_exec(t->db,
                  "INSERT INTO jobs (uuid, origin, action, parameters, state, run_at, dt_created, "
                  "idempotency_key) VALUES (UUID(), 'webhook', 'System/Noop', '{}', 'succeeded', "
                  "NOW(6), NOW(6), CONCAT('signed:sighash:', SHA2(?, 256)))",
                  DB_P(DBS(other)), NULL, NULL) == 0,
          "the redelivery's job: %s", db_errstr(t->db));
    CHECK(db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version = 8") == 0,
          "forget 008: %s", db_errstr(t->db));
    char *err = NULL;
    CHECK(t_cli(t, NULL, &err, (const char *const[]){"migrate", NULL}) == 0, "migrate: %s", err);
    free(err);
    CHECK(t_sql_int(t, -1,
                    "SELECT COUNT(*) FROM jobs WHERE idempotency_key = CONCAT('signed:sighash:', "
                    "SHA2(?, 256))",
                    DB_P(DBS(hex))) == 1,
          "the old signed key was rewritten");
    CHECK(keys_like(t, "signed:sig:%") == 0, "a signature is left in a key");
    CHECK(keys_like(t, "signed:sighash:%") == 2, "both signed jobs keep a key");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key IS NULL", DB_NOP) == 1,
          "the older of the two keys of one delivery gave way");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key IN (?, ?)",
                    DB_P(DBS(client), DBS(long_client))) == 2,
          "an API client's keys were rewritten");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 5, "every job stays");
    free(sig);
    free(dup);
    free(client);
    free(long_client);
}

/* `jobfleet migrate` says how many migrations it applied. Before, it said "schema is up to
 * date" either way (the log lines naming them are below the CLI's level). */
static void
test_says_what_it_applied(struct tenv *t)
{
    CHECK(db_exec_static(t->db, "DELETE FROM schema_migrations WHERE version >= 10") == 0,
          "forget 010 and later: %s", db_errstr(t->db));
    int64_t n = MIGRATE_SCHEMA_VERSION - 9; /* 010 and every later file */
    char *out = NULL, *err = NULL;
    CHECK(t_cli(t, &out, &err, (const char *const[]){"migrate", NULL}) == 0, "migrate: %s", err);
    char *want = xasprintf("applied %lld migrations; schema is up to date\n", (long long)n);
    CHECK(strcmp(out, want) == 0, "migrate said: %s, want %s", out, want);
    free(want);
    free(out);
    free(err);
    CHECK(t_cli(t, &out, NULL, (const char *const[]){"--json", "migrate", NULL}) == 0,
          "migrate again");
    CHECK(strcmp(out, "{\"ok\":true,\"applied\":0}\n") == 0, "migrate --json said: %s", out);
    free(out);
}

static const struct test_case cases[] = {
    {"e2e_migrations_008_rewrites_only_signatures", test_008_rewrites_only_signatures, NULL},
    {"e2e_migrations_says_what_it_applied", test_says_what_it_applied, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
