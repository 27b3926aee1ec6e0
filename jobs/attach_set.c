/* This file holds the attachment copy's dedup by name, size and content. */
#include "attach_set.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
attach_set_init(struct attach_set *s)
{
    memset(s, 0, sizeof(*s));
}

void
attach_set_release(struct attach_set *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->items[i].name);
        free(s->items[i].ref);
    }
    free(s->items);
    memset(s, 0, sizeof(*s));
}

void
attach_set_add(struct attach_set *s, const char *name, int64_t size, const unsigned char *sha,
               const char *ref)
{
    s->items = xrealloc(s->items, sizeof(*s->items) * (size_t)(s->n + 1));
    struct attach_item *it = &s->items[s->n++];
    memset(it, 0, sizeof(*it));
    it->name = xstrdup(name);
    it->size = size;
    it->ref = ref ? xstrdup(ref) : NULL;
    if (sha) {
        memcpy(it->sha, sha, sizeof(it->sha));
        it->hashed = true;
    }
}

/* The length of name's stem: up to its last '.', unless that is the first character. */
static size_t
attach_stem_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

bool
attach_name_in_family(const char *have, const char *name)
{
    if (strcmp(have, name) == 0)
        return true;
    size_t stem = attach_stem_len(name);
    const char *ext = name + stem;
    size_t hl = strlen(have), el = strlen(ext);
    if (hl < stem + 4 + el || strncmp(have, name, stem) != 0 || strcmp(have + hl - el, ext) != 0)
        return false;
    /* Between stem and ext: " (k)" with k >= 2 and no leading zero. */
    const char *p = have + stem, *end = have + hl - el;
    if (end - p < 4 || p[0] != ' ' || p[1] != '(' || end[-1] != ')' || p[2] == '0')
        return false;
    for (const char *q = p + 2; q < end - 1; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    return !(end - p == 4 && p[2] == '1');
}

bool
attach_set_maybe_has(const struct attach_set *s, const char *name, int64_t size)
{
    for (int i = 0; i < s->n; i++)
        if (attach_name_in_family(s->items[i].name, name) &&
            (size < 0 || s->items[i].size < 0 || s->items[i].size == size))
            return true;
    return false;
}

int
attach_set_find(struct attach_set *s, const char *name, int64_t size, const unsigned char *sha,
                attach_hash_fn *hash, void *arg, char *err, size_t errlen)
{
    for (int i = 0; i < s->n; i++) {
        struct attach_item *it = &s->items[i];
        if (!attach_name_in_family(it->name, name))
            continue;
        if (size >= 0 && it->size >= 0 && it->size != size)
            continue;
        if (!it->hashed && hash(arg, it, err, errlen) < 0)
            return -2;
        if (memcmp(it->sha, sha, sizeof(it->sha)) == 0)
            return i;
    }
    return -1;
}

static bool
attach_set_taken(const struct attach_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return true;
    return false;
}

char *
attach_set_free_name(const struct attach_set *s, const char *name)
{
    if (!attach_set_taken(s, name))
        return xstrdup(name);
    int stem = (int)attach_stem_len(name);
    for (int k = 2;; k++) {
        char *c = xasprintf("%.*s (%d)%s", stem, name, k, name + stem);
        if (!attach_set_taken(s, c))
            return c;
        free(c);
    }
}
