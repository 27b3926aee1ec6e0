/* The files a reply or note already has, for the attachment copy's dedup: by name, as the
 * desks' users expect, but never dropping a different file that shares a name. A file counts
 * as present when one of its name's family ("report.pdf", "report (2).pdf", ...) has the same
 * size and, where both sides give bytes, the same SHA-256; a different file with a taken name
 * is stored under the family's next free name. */
#ifndef JOBFLEET_ATTACH_SET_H
#define JOBFLEET_ATTACH_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct attach_item {
    char *name;
    int64_t size; /* -1 when unknown */
    bool hashed;  /* sha holds the content's SHA-256 */
    unsigned char sha[32];
    char *ref; /* the side's own handle: a TOGA 2 file uuid, a desk files.file */
};

struct attach_set {
    struct attach_item *items;
    int n;
};

/* Fills an item's hash (reading its bytes); 0, or -1 with err set. */
typedef int attach_hash_fn(void *arg, struct attach_item *it, char *err, size_t errlen);

void attach_set_init(struct attach_set *s);
void attach_set_release(struct attach_set *s);
/* Adds a file (strings copied; sha may be NULL). */
void attach_set_add(struct attach_set *s, const char *name, int64_t size, const unsigned char *sha,
                    const char *ref);

/* True when have is name or one of its suffixed forms ("stem (k).ext", k >= 2). */
bool attach_name_in_family(const char *have, const char *name);
/* True when a member of name's family may hold the same file: it has this size, or either
 * size is unknown. False means the file is certainly new. */
bool attach_set_maybe_has(const struct attach_set *s, const char *name, int64_t size);
/* The member of name's family with this size and content (sha of the source's bytes), hashing
 * members through hash as needed: its index, -1 when none, -2 when a hash failed (err set: a
 * failed read must never pass for "not there"). */
int attach_set_find(struct attach_set *s, const char *name, int64_t size, const unsigned char *sha,
                    attach_hash_fn *hash, void *arg, char *err, size_t errlen);
/* name when no member has it, else the family's first free suffixed form; caller frees. */
char *attach_set_free_name(const struct attach_set *s, const char *name);

#endif
