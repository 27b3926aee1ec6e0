/* The spool: webhooks kept on local disk, one fsync'ed file each, while MariaDB cannot take
 * them (spool.c), until the replayer (spool_replay.c) stores them. */
#ifndef JOBFLEET_SPOOL_H
#define JOBFLEET_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

/* A webhook kept on disk while MariaDB is unavailable. Strings are owned by the entry. */
struct spool_entry {
    char *source;
    char *path;
    char *action;
    char *parameters;
    char *idempotency_key;
    int64_t received_ms;
};

/* Frees the entry's strings. */
void spool_entry_release(struct spool_entry *e);

/* Opens (creating) the spool directory, removes half-written files left by a crash and counts
 * what is there, failed/ included, and holds the directory's lock until spool_close. NULL
 * with a message in err when the directory is unusable, not owned by this process's user, open
 * to group or others, or opened by another producer. */
struct spool *spool_open(const char *dir, int64_t max_bytes, char *err, size_t errlen);
/* Opens an existing spool directory for an operator's tools (`jobfleet spool`): nothing is
 * created, checked, cleaned or counted, so it is safe beside a running producer. Use it for
 * spool_list, spool_read and spool_remove only. NULL with a message in err. */
struct spool *spool_attach(const char *dir, char *err, size_t errlen);
/* Counts the bytes in failed/ again (an operator may have retried or dropped entries), and
 * lets writes through again when that made room. */
void spool_recount_failed(struct spool *s);
/* Whether failed/ should be counted again: the spool is full (spool_full), or a write was
 * refused for the quota while failed/ held entries (room an operator makes there must let a
 * big webhook through too, not only end a full spool). */
bool spool_recount_due(struct spool *s);
/* Closes the spool (the files stay); accepts NULL. */
void spool_close(struct spool *s);
/* Writes an entry durably (temp file, fsync, rename, fsync of the directory) and puts its id
 * (at most 63 characters) in id. Returns 0, or -1 with the reason in err when the quota (the
 * entries waiting and those in failed/) would be passed or the disk refused. */
int spool_write(struct spool *s, const struct spool_entry *e, char *id, size_t idlen, char *err,
                size_t errlen);
/* The ids on disk, oldest first (ids sort by time). The caller frees each and the array. */
int spool_list(struct spool *s, char ***ids, int *n);
/* Reads an entry into e (released by the caller with spool_entry_release). Returns 0; -1
 * when the file was read whole and is not a version 1 entry: it never will be one, so it can
 * be put aside; or -2 when the file could not be opened or read (too many open files, out of
 * memory, an I/O error, the file gone): the entry may be good, and must stay for a later try.
 * On error the reason is in err and e holds nothing. */
int spool_read(struct spool *s, const char *id, struct spool_entry *e, char *err, size_t errlen);
/* Deletes a replayed entry. */
int spool_remove(struct spool *s, const char *id);
/* Moves an entry that can never be replayed to <dir>/failed/ (created if missing). Returns 0,
 * or -1 with the reason in err when it cannot (failed/ not a writable directory, a full
 * disk): the entry then stays where it is. Logs nothing: the caller decides how often. */
int spool_quarantine(struct spool *s, const char *id, char *err, size_t errlen);
/* After a write the disk refused, writes and removes a small file of its own: when the disk
 * takes it, the spool takes webhooks again. Before, only the next webhook could tell, and a load
 * balancer that ejects a producer on /health's 503 never sent one. A no-op otherwise. */
void spool_probe(struct spool *s);
/* The space (each file rounded up to a 4 KiB block, as the quota counts it) and the entries
 * waiting in the spool now, counting writes in progress. */
int64_t spool_bytes(struct spool *s);
int64_t spool_files(struct spool *s);
/* The entries in failed/ and their space, as last counted: they take quota until an operator
 * retries or drops them. */
void spool_failed(struct spool *s, int64_t *files, int64_t *bytes);
/* True while the spool refuses writes: the last one failed on the disk and nothing was removed
 * or written since, or the quota leaves no room for a typical webhook (the size of the last
 * entry written, else of the last one refused; 64 KiB at most). One entry refused for its size
 * alone, bigger than the webhooks before it, does not make it full. */
bool spool_full(struct spool *s);

#endif
