/* The mapping of the dispatch bridge: a legacy ticket row to the fields of its Dispatch Job
 * (the table of issue 14), and the [dispatch] settings it reads. Pure functions, no I/O. */
#ifndef JOBFLEET_DISPATCH_MAP_H
#define JOBFLEET_DISPATCH_MAP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct tzone;

#define DISPATCH_MAX_PAIRS 64

struct dispatch_pair {
    char key[64];
    char value[64];
};

/* [dispatch] parsed. */
struct dispatch_conf {
    int64_t staff_id;
    const struct tzone *tz;
    int64_t skip[DISPATCH_MAX_PAIRS];
    int n_skip;
    struct dispatch_pair job_types[DISPATCH_MAX_PAIRS]; /* dept id → job type */
    int n_job_types;
    char default_job_type[64];
    struct dispatch_pair durations[DISPATCH_MAX_PAIRS]; /* job type → hours */
    int n_durations;
    double default_duration_h;
};

/* Reads [dispatch] of cfg into dc. -1 with err set when a value is wrong (unknown zone, a
 * malformed list). */
int dispatch_conf_load(const struct cfg *cfg, struct dispatch_conf *dc, char *err, size_t errlen);
/* True when dept is one of skip_dept_ids. */
bool dispatch_conf_skips(const struct dispatch_conf *dc, int64_t dept);

/* A row of the legacy ticket table. Strings are borrowed (may be NULL). */
struct dispatch_ticket {
    int64_t id;
    const char *subject;
    const char *status;
    int64_t assign_to;
    const char *account_id;
    int64_t dept_id;
    int64_t due_date; /* epoch seconds, 0 when none */
    const char *due_time;
    int64_t priority;
    const char *address;
    const char *city;
};

/* The local date of instant t in zone tz as "YYYY-MM-DD" into out (at least 11 bytes). */
void dispatch_date(const struct tzone *tz, int64_t t, char *out, size_t len);
/* The start time of a due_time: "HH:MM" as is, "am" 08:00, "pm" 13:00; NULL for "day", empty
 * or anything else (static storage or due_time itself). */
const char *dispatch_start_time(const char *due_time);
/* "low" (1 and below), "medium" (2) or "high" (3 and above). */
const char *dispatch_priority(int64_t priority);
/* The job type of a department (static or dc storage). */
const char *dispatch_job_type(const struct dispatch_conf *dc, int64_t dept);
/* The duration in hours of a job type. */
double dispatch_duration(const struct dispatch_conf *dc, const char *job_type);
/* A city name folded for comparison: lower case, Latin-1 accents removed, surrounding blanks
 * trimmed, inner runs of blanks and hyphens as one space, into out (truncated). */
void dispatch_fold_city(const char *city, char *out, size_t len);

/* The Dispatch Job of a new ticket: every field of the mapping table with status "open".
 * customer and loc (a Service Location with name, latitude, longitude) may be NULL; without a
 * location the subject carries the address. Returns a new object. */
cJSON *dispatch_doc(const struct dispatch_conf *dc, const struct dispatch_ticket *tk,
                    const char *customer, const cJSON *loc);

#endif
