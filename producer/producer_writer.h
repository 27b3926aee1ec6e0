/* The group-commit writer (producer_writer.c): requests hand it checked jobs, its threads
 * insert them in shared transactions, push the IDs to Redis after the commit, and wake each
 * request with its outcome. */
#ifndef JOBFLEET_PRODUCER_WRITER_H
#define JOBFLEET_PRODUCER_WRITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "rq.h"

struct producer;

/* PW_FAILED: nothing was stored. PW_REFUSED: nothing was stored and the job can never be (its
 * row is bigger than MariaDB takes); the request answers 413 with err. PW_UNKNOWN: the connection
 * was lost during the statement or commit that stores the job, so it may be stored (a repeat under
 * the same idempotency key is safe, a repeat without one may make a second job). PW_TIMEOUT: the
 * writer did not answer in time; the insert may still commit. */
enum producer_write_state { PW_PENDING, PW_DONE, PW_FAILED, PW_TIMEOUT, PW_UNKNOWN, PW_REFUSED };

/* The strings of a spec an item keeps copies of. */
#define PRODUCER_WRITE_STRINGS 7

/* One job waiting to be inserted by the writer. Created by the request, shared with the writer
 * through a reference count; state moves from PW_PENDING exactly once, under the writer's
 * lock, and wake is called once after that. */
struct producer_write {
    struct job_spec spec; /* checked; strings owned by the item */
    char *own[PRODUCER_WRITE_STRINGS];
    int64_t deadline_ms;
    void (*wake)(void *arg);
    void *wake_arg;
    /* Results, valid once state is no longer PW_PENDING. */
    int state;
    struct job_ref ref;
    char err[256];
    /* Links, under the writer's mutex. */
    struct producer_write *q_next;
    struct producer_write *o_prev, *o_next;
    bool in_queue, in_outstanding;
    atomic_int refs;
};

/* Makes an item from a checked spec (its strings are copied; origin, unique key and
 * idempotency key are kept as given). The caller holds one reference. */
struct producer_write *producer_write_new(const struct job_spec *checked);
/* Drops a reference; the last one frees the item. Accepts NULL. */
void producer_write_release(struct producer_write *w);
/* The item's state, read under the writer's lock. */
int producer_write_state(struct producer_writer *wr, struct producer_write *w);

/* Starts the writer threads and the deadline watchdog. */
struct producer_writer *producer_writer_start(struct producer *p);
/* Answers every item not yet answered with PW_UNKNOWN (its insert may be under way and is let
 * commit; webhooks spool them under their key) and refuses new ones: for a shutdown that
 * cannot wait. */
void producer_writer_abort(struct producer_writer *wr);
/* Finishes what is queued, stops the threads and frees the writer. Accepts NULL. */
void producer_writer_stop(struct producer_writer *wr);
/* Hands an item to the writer, which calls w->wake once it is committed (PW_DONE), failed
 * (PW_FAILED), refused for good (PW_REFUSED), of unknown outcome (PW_UNKNOWN) or past its
 * deadline (PW_TIMEOUT), whichever
 * comes first. Takes its own
 * reference. Returns -1 (nothing queued, no wake) while MariaDB is known to be down. */
int producer_writer_submit(struct producer_writer *wr, struct producer_write *w);
/* Pushes the IDs of the new queued jobs among refs to Redis on rq (after their commit); those
 * Redis does not take are kept and pushed again when it is back. */
void producer_writer_push(struct producer_writer *wr, struct rq *rq, const struct job_ref *refs,
                          int n);
/* The largest parameters a row may carry: MariaDB's max_allowed_packet (as last read, 16 MiB
 * before the first connect) less room for the rest of the statement. */
size_t producer_writer_row_max(const struct producer_writer *wr);
/* SELECT @@max_allowed_packet on db; -1 when it cannot be read. */
long long producer_writer_max_packet(struct db *db);
/* True while MariaDB answered the last attempt. */
bool producer_writer_db_up(const struct producer_writer *wr);
/* Whether the writer's last batch met a MariaDB that refuses every write (read-only, access
 * denied, full) and none has committed since: up, and of no use. */
bool producer_writer_refusing(const struct producer_writer *wr);
/* A write committed (the writer's, or the spool replay's on its connection): MariaDB takes
 * writes, whatever the writer's last batch met. */
void producer_writer_wrote(struct producer_writer *wr);

#endif
