/* Time zones of the system tz database (/usr/share/zoneinfo), read from their TZif files
 * (RFC 8536: version 2+ 64-bit transitions, version 1 as a fallback, and the POSIX TZ footer
 * rule for instants past the table). Nothing here reads or changes TZ, calls tzset or
 * localtime: a zone is an immutable value any number of threads may use at once, and the
 * process's own local time stays what it was. */
#ifndef JOBFLEET_TZONE_H
#define JOBFLEET_TZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZONE_DIR "/usr/share/zoneinfo"
/* Longest zone name accepted; the longest in the database is about 30 characters. */
#define TZONE_NAME_MAX 64

struct tzone;

/* True when name has the shape of a zone name: 1-TZONE_NAME_MAX characters of
 * [A-Za-z0-9/_+-.], "/"-separated components that are neither empty nor start with ".", so it
 * can only name a file under TZONE_DIR ("../../etc/passwd" and "/etc/passwd" are refused).
 * Says nothing about whether the zone exists. */
bool tzone_name_ok(const char *name);

/* The zone called name, loaded from TZONE_DIR/name on first use and kept for the life of the
 * process (so a tzdata update takes effect at restart). Thread-safe. Returns the shared zone
 * (never freed: do not tzone_free it), or NULL with one line in err (err may be NULL) when the
 * name is refused by tzone_name_ok or is "localtime" (the host's own zone, not the same on every
 * host), the file is missing or is not a TZif file we can use (directories, zone.tab,
 * leap-second "right/" zones). */
const struct tzone *tzone_get(const char *name, char *err, size_t errlen);

/* Parses the TZif data buf[0..len) into a new zone the caller frees with tzone_free. Returns
 * NULL with one line in err (may be NULL) for data that is truncated, inconsistent, has leap
 * seconds, or whose footer rule cannot be read. */
struct tzone *tzone_parse(const unsigned char *buf, size_t len, char *err, size_t errlen);

/* Frees a zone from tzone_parse; NULL is allowed. */
void tzone_free(struct tzone *z);

/* The UTC offset in seconds (east positive) in zone z at instant t (UTC seconds since the
 * epoch): the transition table for instants it covers, the footer rule after its last
 * transition, the first local time type before its first. Local time there is t + offset. */
int32_t tzone_offset(const struct tzone *z, int64_t t);

#endif
