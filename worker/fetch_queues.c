/* This file parses the worker's queue list ("critical:3,default:1") into names and weights. */
#include "fetch_queues.h"
#include "job.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cuts the blanks off both ends of s, in place. */
static char *
fq_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        s[--l] = '\0';
    return s;
}

int
fetch_parse_queues(const char *spec, struct fetch_queue **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    char *copy = xstrdup(spec);
    struct fetch_queue *q = NULL;
    int cnt = 0;
    for (char *next = copy; next;) {
        char *tok = next, *comma = strchr(next, ',');
        next = comma ? comma + 1 : NULL;
        if (comma)
            *comma = '\0';
        /* Empty items (",,", a trailing comma) are skipped, as they always were. */
        if (*tok == '\0')
            continue;
        char *colon = strchr(tok, ':');
        int64_t w = 1;
        if (colon) {
            *colon = '\0';
            char *wtext = fq_trim(colon + 1);
            if (parse_int64(wtext, 1, 1000, &w) < 0) {
                snprintf(err, errlen, "queue \"%s\": weight \"%s\" must be an integer in 1..1000",
                         fq_trim(tok), wtext);
                goto fail;
            }
        }
        tok = fq_trim(tok);
        if (!job_queue_name_ok(tok)) {
            snprintf(err, errlen, "queue name \"%s\" must be 1-64 of [A-Za-z0-9._-]", tok);
            goto fail;
        }
        for (int i = 0; i < cnt; i++) {
            if (strcmp(q[i].name, tok) == 0) {
                snprintf(err, errlen, "queue \"%s\" is listed twice", tok);
                goto fail;
            }
        }
        /* The fetch loop orders and pops at most this many: more would never be served. */
        if (cnt == FETCH_QUEUES_MAX) {
            snprintf(err, errlen, "at most %d queues can be given", FETCH_QUEUES_MAX);
            goto fail;
        }
        q = xrealloc(q, sizeof(*q) * (size_t)(cnt + 1));
        q[cnt].name = xstrdup(tok);
        q[cnt].weight = (int)w;
        cnt++;
    }
    free(copy);
    if (cnt == 0) {
        snprintf(err, errlen, "no queues given (expected e.g. \"default:1\")");
        return -1;
    }
    *out = q;
    *n = cnt;
    return 0;
fail:
    free(copy);
    fetch_queues_free(q, cnt);
    return -1;
}

void
fetch_queues_free(struct fetch_queue *q, int n)
{
    for (int i = 0; i < n; i++)
        free(q[i].name);
    free(q);
}
