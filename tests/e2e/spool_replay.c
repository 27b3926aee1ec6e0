/* End-to-end tests of the spool replayer with entries it cannot store: one MariaDB refuses
 * (an idempotency key too long for its column), one that is not an entry, one that cannot be
 * read (a directory under an entry's name), with failed/ made unusable (a file in its place).
 * Before the replayer held such entries it spun on the refused one, re-running its round
 * without pause and never storing the good entries behind it; and an entry it could not read
 * for a passing reason (EMFILE) went to failed/ for good. Now each is left in place, logged
 * once, and tried again with backoff, while good entries are stored. */
#include "tproducer.h"
#include "tsupport.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Writes a spool file as spool.c does (a temporary name, then a rename), so the replayer never
 * sees half of it. */
static void
spool_put(struct tenv *t, const char *id, const char *text)
{
    char *tmp = xasprintf("%s/spool/tmp-%s", t->dir, id);
    char *path = xasprintf("%s/spool/%s.json", t->dir, id);
    FILE *fp = fopen(tmp, "w");
    CHECK(fp != NULL, "%s", tmp);
    fputs(text, fp);
    CHECK(fclose(fp) == 0 && rename(tmp, path) == 0, "%s", path);
    free(tmp);
    free(path);
}

/* A version 1 entry of System/Noop under idempotency key key. */
static void
spool_put_job(struct tenv *t, const char *id, const char *key)
{
    char *text = xasprintf("{\"v\":1,\"source\":\"system\",\"path\":\"/webhook/system/noop\","
                           "\"action\":\"System/Noop\",\"parameters\":\"{}\","
                           "\"idempotency_key\":\"%s\",\"received_ms\":1}",
                           key);
    spool_put(t, id, text);
    free(text);
}

static bool
spooled_file(struct tenv *t, const char *id)
{
    char *path = xasprintf("%s/spool/%s.json", t->dir, id);
    struct stat st;
    bool there = stat(path, &st) == 0;
    free(path);
    return there;
}

static int64_t
jobs_with_key(struct tenv *t, const char *key)
{
    return t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = ?", DB_P(DBS(key)));
}

static void
test_held_entries(struct tenv *t)
{
    char *dir = xasprintf("%s/spool", t->dir), *failed = xasprintf("%s/spool/failed", t->dir);
    CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    FILE *fp = fopen(failed, "w");
    CHECK(fp != NULL && fclose(fp) == 0, "a file where failed/ should be");
    char longkey[301];
    memset(longkey, 'k', 300);
    longkey[300] = '\0';
    /* Oldest first: the refused entry comes before the good one in the same round. */
    static const char *const bad[] = {"1000000000000-000001-refused", "1000000000000-000002-junk",
                                      "1000000000000-000003-unreadable"};
    spool_put_job(t, bad[0], longkey);
    spool_put(t, bad[1], "this is not a spool entry");
    char *unreadable = xasprintf("%s/%s.json", dir, bad[2]);
    CHECK(mkdir(unreadable, 0700) == 0, "mkdir %s", unreadable);
    spool_put_job(t, "1000000000000-000004-good", "system:key:good-1");
    pid_t p = tprod_start(t);
    WAIT_UNTIL(jobs_with_key(t, "system:key:good-1") == 1, 15000,
               "the good entry behind the refused one was never stored");
    /* A later round, past the first backoff of the held entries, stores a new entry too. */
    spool_put_job(t, "1000000000000-000005-later", "system:key:good-2");
    WAIT_UNTIL(jobs_with_key(t, "system:key:good-2") == 1, 15000,
               "an entry written later was never stored");
    CHECK(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == 2, "two jobs");
    char *log = t_log(t, p);
    for (int i = 0; i < 3; i++) {
        CHECK(spooled_file(t, bad[i]), "%s left the spool", bad[i]);
        char needle[96];
        snprintf(needle, sizeof(needle), "spool: %s: ", bad[i]);
        int n = t_count(log, needle);
        CHECK(n == 1, "%s is logged %d times, want once:\n%.4000s", bad[i], n, log);
    }
    CHECK(strstr(log, "Is a directory") && strstr(log, "Data too long"), "reasons logged: %.4000s",
          log);
    /* A file is removed just after its job's commit, so the job can be seen first. */
    WAIT_UNTIL(!spooled_file(t, "1000000000000-000004-good") &&
                   !spooled_file(t, "1000000000000-000005-later"),
               10000, "stored entries are not removed");
    free(log);
    free(unreadable);
    free(failed);
    free(dir);
}

/* The producer's peak resident memory (VmHWM) in KiB. */
static long
peak_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long kib = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = atol(line + 6);
    if (fp)
        fclose(fp);
    CHECK(kib > 0, "VmHWM of %d", (int)pid);
    return kib;
}

/* 24 spooled webhooks of 4 MB each are replayed a few at a time: a replay transaction held
 * up to 100 entries in memory, so a sender's large bodies spooled during an outage could take
 * gigabytes at the replay, and the producer with them. */
static void
test_replay_bounded_memory(struct tenv *t)
{
    /* Freed memory is reused at once, as without the sanitizer, so the peak is what is held. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *opts = xasprintf("%s:quarantine_size_mb=0", asan ? asan : "");
    setenv("ASAN_OPTIONS", opts, 1);
    pid_t p = tprod_start(t);
    long base = peak_kib(p);
    t_signal(t, p, SIGTERM);
    t_wait_exit_ok(t, p, 20000, "the producer");
    enum { N = 24, MB = 4 };
    char *big = xmalloc((size_t)MB << 20);
    memset(big, 'x', ((size_t)MB << 20) - 1);
    big[((size_t)MB << 20) - 1] = '\0';
    for (int i = 0; i < N; i++) {
        char id[64], key[32];
        snprintf(id, sizeof(id), "1000000000000-%06d-big", i);
        snprintf(key, sizeof(key), "system:key:big-%d", i);
        char *text = xasprintf("{\"v\":1,\"source\":\"system\",\"path\":\"/webhook/system/noop\","
                               "\"action\":\"System/Noop\",\"parameters\":\"{\\\"b\\\":"
                               "\\\"%s\\\"}\",\"idempotency_key\":\"%s\",\"received_ms\":1}",
                               big, key);
        spool_put(t, id, text);
        free(text);
    }
    free(big);
    p = tprod_start(t);
    WAIT_UNTIL(t_sql_int(t, -1, "SELECT COUNT(*) FROM jobs", DB_NOP) == N, 60000,
               "the big entries were not all stored");
    long grew = peak_kib(p) - base;
    fprintf(stderr, "FIGURES replay of %d entries of %d MB: peak grew %ld MiB (from %ld MiB)\n", N,
            MB, grew / 1024, base / 1024);
    CHECK(grew < 64 * 1024, "the replay's peak grew %ld MiB for %d MB of entries", grew / 1024,
          N * MB);
    setenv("ASAN_OPTIONS", asan ? asan : "", 1);
    free(opts);
}

/* A second producer on the same spool directory would delete the first's half-written files
 * (failing its writes), replay the same entries, and keep wrong counts of the quota: it
 * refuses to start, saying why, while the first serves on. */
static void
test_spool_dir_shared(struct tenv *t)
{
    pid_t first = tprod_start(t);
    pid_t p = t_spawn(t, t_bin("jobfleet-producer"), NULL);
    char *log_path = xstrdup(t->procs[t->n_procs - 1].log_path);
    int st = t_wait_exit(t, p, 20000);
    char *log = t_read_file(log_path);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0 && log &&
              strstr(log, "is in use by another producer"),
          "the second producer: status %d, log: %s", st, log ? log : "(none)");
    CHECK(t_alive(first) && tprod_call(t, "GET", "/health", NULL, "", NULL) == 200,
          "the first producer serves on");
    free(log);
    free(log_path);
}

static const struct test_case cases[] = {
    {"e2e_spool_replay_held_entries", test_held_entries, NULL},
    {"e2e_spool_dir_shared", test_spool_dir_shared, NULL},
    {"e2e_spool_replay_bounded_memory", test_replay_bounded_memory, NULL},
};

int
main(int argc, char **argv)
{
    return test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
