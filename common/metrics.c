/* This file keeps the metrics registry (metrics.h): one list of series per declared metric,
 * under one lock, since updates are a few per job or tick and a scrape is rare. */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metric_series {
    char *l1, *l2;
    double value;   /* counter, gauge; a histogram's sum */
    uint64_t count; /* a histogram's observations */
    uint64_t *bucket;
    struct metric_series *next;
};

struct metric_entry {
    const struct metric_def *def;
    struct metric_series *series;
    int n_series;
    struct metric_entry *next;
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metric_entry *metrics_list;
static uint64_t metrics_dropped;

static bool
metrics_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* With the lock held: the series of m with these labels, made when new; NULL past the cap. */
static struct metric_series *
metrics_series(const struct metric_def *m, const char *l1, const char *l2)
{
    struct metric_entry *e = metrics_list, *last = NULL;
    for (; e && e->def != m; e = e->next)
        last = e;
    if (e == NULL) {
        e = xcalloc(1, sizeof(*e));
        e->def = m;
        /* Appended, so the exposition keeps the order of first use. */
        if (last)
            last->next = e;
        else
            metrics_list = e;
    }
    struct metric_series *s;
    for (s = e->series; s; s = s->next)
        if (metrics_eq(s->l1, l1) && metrics_eq(s->l2, l2))
            return s;
    if (e->n_series >= METRICS_MAX_SERIES) {
        /* Past the cap, updates go to one series whose labels read "(other)": the first 512
         * label pairs (a client's 1,000 queue names, say) would otherwise take every later one's
         * counts, the real queues' included, until a restart. */
        metrics_dropped++;
        static const char other[] = "(other)";
        l1 = l1 ? other : NULL;
        l2 = l2 ? other : NULL;
        for (s = e->series; s; s = s->next)
            if (metrics_eq(s->l1, l1) && metrics_eq(s->l2, l2))
                return s;
    }
    s = xcalloc(1, sizeof(*s));
    s->l1 = l1 ? xstrdup(l1) : NULL;
    s->l2 = l2 ? xstrdup(l2) : NULL;
    if (m->type == METRIC_HISTOGRAM)
        s->bucket = xcalloc((size_t)m->n_buckets, sizeof(uint64_t));
    s->next = e->series;
    e->series = s;
    e->n_series++;
    return s;
}

void
metrics_add(const struct metric_def *m, const char *l1, const char *l2, double v)
{
    pthread_mutex_lock(&metrics_mu);
    struct metric_series *s = metrics_series(m, l1, l2);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_set(const struct metric_def *m, const char *l1, const char *l2, double v)
{
    pthread_mutex_lock(&metrics_mu);
    struct metric_series *s = metrics_series(m, l1, l2);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_observe(const struct metric_def *m, const char *l1, const char *l2, double v)
{
    pthread_mutex_lock(&metrics_mu);
    struct metric_series *s = metrics_series(m, l1, l2);
    if (s) {
        s->value += v;
        s->count++;
        for (int i = 0; i < m->n_buckets; i++)
            if (v <= m->buckets[i])
                s->bucket[i]++;
    }
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_label(struct buf *b, const char *name, const char *v, bool comma)
{
    buf_printf(b, "%s%s=\"", comma ? "," : "", name);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            buf_appends(b, "\\n");
        else
            buf_append(b, v, 1);
    }
    buf_appends(b, "\"");
}

/* "{a="x",b="y"" without the closing brace, or "" without labels; le goes last. */
static void
metrics_labels(struct buf *b, const struct metric_def *m, const struct metric_series *s,
               const char *le)
{
    bool any = false;
    const char *vals[2] = {s->l1, s->l2};
    for (int i = 0; i < 2; i++) {
        if (m->labels[i] == NULL || vals[i] == NULL)
            continue;
        buf_appends(b, any ? "" : "{");
        metrics_label(b, m->labels[i], vals[i], any);
        any = true;
    }
    if (le) {
        buf_appends(b, any ? "" : "{");
        metrics_label(b, "le", le, any);
        any = true;
    }
    if (any)
        buf_appends(b, "}");
}

static void
metrics_render_series(struct buf *b, const struct metric_def *m, const struct metric_series *s)
{
    if (m->type != METRIC_HISTOGRAM) {
        buf_appends(b, m->name);
        metrics_labels(b, m, s, NULL);
        buf_printf(b, " %.17g\n", s->value);
        return;
    }
    for (int i = 0; i < m->n_buckets; i++) {
        char le[32];
        snprintf(le, sizeof(le), "%g", m->buckets[i]);
        buf_printf(b, "%s_bucket", m->name);
        metrics_labels(b, m, s, le);
        buf_printf(b, " %llu\n", (unsigned long long)s->bucket[i]);
    }
    buf_printf(b, "%s_bucket", m->name);
    metrics_labels(b, m, s, "+Inf");
    buf_printf(b, " %llu\n%s_sum", (unsigned long long)s->count, m->name);
    metrics_labels(b, m, s, NULL);
    buf_printf(b, " %.17g\n%s_count", s->value, m->name);
    metrics_labels(b, m, s, NULL);
    buf_printf(b, " %llu\n", (unsigned long long)s->count);
}

void
metrics_render(struct buf *b)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&metrics_mu);
    for (struct metric_entry *e = metrics_list; e; e = e->next) {
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", e->def->name, e->def->help, e->def->name,
                   types[e->def->type]);
        for (struct metric_series *s = e->series; s; s = s->next)
            metrics_render_series(b, e->def, s);
    }
    buf_printf(b,
               "# HELP jobfleet_metrics_series_dropped_total Updates of label values past the "
               "per-metric cap of series, counted under the labels \"(other)\" instead.\n# TYPE "
               "jobfleet_metrics_series_dropped_total counter\n"
               "jobfleet_metrics_series_dropped_total %llu\n",
               (unsigned long long)metrics_dropped);
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_reset(void)
{
    pthread_mutex_lock(&metrics_mu);
    while (metrics_list) {
        struct metric_entry *e = metrics_list;
        metrics_list = e->next;
        while (e->series) {
            struct metric_series *s = e->series;
            e->series = s->next;
            free(s->l1);
            free(s->l2);
            free(s->bucket);
            free(s);
        }
        free(e);
    }
    metrics_dropped = 0;
    pthread_mutex_unlock(&metrics_mu);
}

void
metrics_fork_child(void)
{
    /* The parent's other threads may have held the lock at fork; in the child they are gone,
     * so a fresh lock is the only safe one. */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    metrics_mu = fresh;
    metrics_reset();
}

/* True when v can travel in one field of metrics_drain's text. */
static bool
metrics_plain(const char *v)
{
    return v == NULL || strpbrk(v, "\t\n") == NULL;
}

static void
metrics_drain_label(struct buf *b, const char *v)
{
    buf_appends(b, "\t");
    if (v)
        buf_printf(b, "=%s", v);
}

void
metrics_drain(struct buf *b)
{
    pthread_mutex_lock(&metrics_mu);
    for (struct metric_entry *e = metrics_list; e; e = e->next) {
        if (e->def->type != METRIC_COUNTER)
            continue;
        for (struct metric_series *s = e->series; s; s = s->next) {
            if (s->value == 0 || !metrics_plain(s->l1) || !metrics_plain(s->l2))
                continue;
            buf_appends(b, e->def->name);
            metrics_drain_label(b, s->l1);
            metrics_drain_label(b, s->l2);
            buf_printf(b, "\t%.17g\n", s->value);
            s->value = 0;
        }
    }
    pthread_mutex_unlock(&metrics_mu);
}

/* One label of a drained line: NULL for an empty field, else the value after '='. */
static char *
metrics_merge_label(const char *f, size_t n)
{
    return n > 0 && f[0] == '=' ? xstrndup(f + 1, n - 1) : NULL;
}

/* Applies one drained line "name<TAB>l1<TAB>l2<TAB>value" when name is one of defs. */
static void
metrics_merge_line(const char *line, size_t len, const struct metric_def *const *defs, int n)
{
    const char *f[4];
    size_t fl[4];
    const char *p = line, *end = line + len;
    for (int i = 0; i < 4; i++) {
        const char *t = i < 3 ? memchr(p, '\t', (size_t)(end - p)) : end;
        if (t == NULL)
            return;
        f[i] = p;
        fl[i] = (size_t)(t - p);
        p = t + 1;
    }
    for (int i = 0; i < n; i++) {
        if (defs[i]->type != METRIC_COUNTER || strlen(defs[i]->name) != fl[0] ||
            memcmp(defs[i]->name, f[0], fl[0]) != 0)
            continue;
        char *l1 = metrics_merge_label(f[1], fl[1]), *l2 = metrics_merge_label(f[2], fl[2]);
        char *v = xstrndup(f[3], fl[3]), *vend;
        double d = strtod(v, &vend);
        if (vend != v && *vend == '\0' && d > 0)
            metrics_add(defs[i], l1, l2, d);
        free(l1);
        free(l2);
        free(v);
        return;
    }
}

void
metrics_merge(const char *text, const struct metric_def *const *defs, int n)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        metrics_merge_line(text, len, defs, n);
        text += len + (nl ? 1 : 0);
    }
}
