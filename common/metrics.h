/* A process's Prometheus metrics (text exposition 0.0.4): counters, gauges and histograms
 * with up to two label values each, kept in one registry with one lock, rendered on demand,
 * and served on [worker]/[scheduler] metrics_listen by metrics_server_start.
 *
 * Label values must have bounded cardinality (queue, action, outcome, step: never a job id);
 * past METRICS_MAX_SERIES series of a metric, updates of new label values go to one more
 * series whose labels are "(other)", each counted in jobfleet_metrics_series_dropped_total. */
#ifndef JOBFLEET_METRICS_H
#define JOBFLEET_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define METRICS_MAX_SERIES 512

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* A metric as declared: name (jobfleet_*, base units), help, type, the label names (NULL
 * for none) and, for a histogram, its upper bounds (ascending, without +Inf). Declared as
 * static const data by the program that owns it. */
struct metric_def {
    const char *name;
    const char *help;
    enum metric_type type;
    const char *labels[2];
    const double *buckets;
    int n_buckets;
};

/* Adds v to a counter (or a gauge) series; l1 and l2 are the label values (NULL when the
 * metric has fewer labels). Thread-safe. */
void metrics_add(const struct metric_def *m, const char *l1, const char *l2, double v);
/* Sets a gauge series. */
void metrics_set(const struct metric_def *m, const char *l1, const char *l2, double v);
/* Records one observation of a histogram series. */
void metrics_observe(const struct metric_def *m, const char *l1, const char *l2, double v);

/* Appends name="v" (after a comma when comma) to b, with the exposition format's escapes
 * (backslash, quote, newline): for series written outside the registry. */
void metrics_label(struct buf *b, const char *name, const char *v, bool comma);
/* Appends every registered series to b in the text exposition format. */
void metrics_render(struct buf *b);
/* Forgets every series (tests). */
void metrics_reset(void);
/* In a child just forked from a process with threads: a fresh lock and no series, so the
 * child counts only its own events (which metrics_drain hands to its parent). */
void metrics_fork_child(void);

/* Appends the counters' series to b as lines "name<TAB>=l1<TAB>=l2<TAB>value" (an empty field
 * for a missing label) and sets them to 0: what a prefork child counted since its last drain,
 * for the parent's metrics_merge. Histograms and gauges are not drained. */
void metrics_drain(struct buf *b);
/* Adds the drained lines of text (NULL: none) to this process's counters; a line whose metric
 * is not one of the n defs, or that does not parse, is ignored. */
void metrics_merge(const char *text, const struct metric_def *const *defs, int n);

struct metrics_server;
/* Serves GET /metrics (metrics_render, then extra(arg, b) when extra is not NULL) on listen
 * ("host:port") from a thread of its own. NULL with a message in err when the address is bad
 * or cannot be bound. */
struct metrics_server *metrics_server_start(const char *listen, void (*extra)(void *, struct buf *),
                                            void *arg, char *err, size_t errlen);
/* Stops and frees; accepts NULL. */
void metrics_server_stop(struct metrics_server *s);

#endif
