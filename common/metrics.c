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
        metrics_dropped++;
        return NULL;
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

/* A label value with the exposition format's escapes (backslash, quote, newline). */
static void
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
               "# HELP jobfleet_metrics_series_dropped_total Series refused past the per-metric "
               "cap.\n# TYPE jobfleet_metrics_series_dropped_total counter\n"
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
