/* This file holds a configuration's named sections ([db.<name>], [service.<name>], ...): their
 * making while the file loads, the lookups in a loaded one (a key of a section, a section by
 * name), and a [db.<name>] database's settings on top of [mysql]'s. */
#include "cfg.h"
#include "cfg_sections.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfg_section *
cfg_section_add(struct cfg *c, const char *name, const char *kind, const char *label,
                const char *where)
{
    for (int i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    c->sections = xrealloc(c->sections, sizeof(*c->sections) * (size_t)(c->n_sections + 1));
    struct cfg_section *s = &c->sections[c->n_sections++];
    s->name = xstrdup(name);
    s->kind = xstrdup(kind);
    s->label = xstrdup(label);
    s->kv = NULL;
    s->n_kv = 0;
    s->where = xstrdup(where);
    return s;
}

void
cfg_section_set(struct cfg_section *s, const char *key, const char *value, const char *where)
{
    for (int i = 0; i < s->n_kv; i++) {
        if (strcmp(s->kv[i].key, key) == 0) {
            free(s->kv[i].value);
            free(s->kv[i].where);
            s->kv[i].value = xstrdup(value);
            s->kv[i].where = xstrdup(where);
            return;
        }
    }
    s->kv = xrealloc(s->kv, sizeof(*s->kv) * (size_t)(s->n_kv + 1));
    s->kv[s->n_kv].key = xstrdup(key);
    s->kv[s->n_kv].value = xstrdup(value);
    s->kv[s->n_kv].where = xstrdup(where);
    s->n_kv++;
}

void
cfg_section_drop(struct cfg_section *s, const char *key)
{
    for (int i = 0; i < s->n_kv; i++) {
        if (strcmp(s->kv[i].key, key) == 0) {
            free(s->kv[i].key);
            free(s->kv[i].value);
            free(s->kv[i].where);
            s->kv[i] = s->kv[--s->n_kv];
            return;
        }
    }
}

void
cfg_sections_free(struct cfg *c)
{
    for (int s = 0; s < c->n_sections; s++) {
        for (int i = 0; i < c->sections[s].n_kv; i++) {
            free(c->sections[s].kv[i].key);
            free(c->sections[s].kv[i].value);
            free(c->sections[s].kv[i].where);
        }
        free(c->sections[s].where);
        free(c->sections[s].kv);
        free(c->sections[s].name);
        free(c->sections[s].kind);
        free(c->sections[s].label);
    }
    free(c->sections);
    c->sections = NULL;
    c->n_sections = 0;
}

const char *
cfg_section_get(const struct cfg_section *s, const char *key)
{
    for (int i = 0; s && i < s->n_kv; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return s->kv[i].value;
    return NULL;
}

const char *
cfg_section_where(const struct cfg_section *s, const char *key)
{
    for (int i = 0; s && i < s->n_kv; i++)
        if (strcmp(s->kv[i].key, key) == 0 && s->kv[i].where)
            return s->kv[i].where;
    return s && s->where ? s->where : "config";
}

const struct cfg_section *
cfg_find_section(const struct cfg *c, const char *name)
{
    for (int i = 0; i < c->n_sections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    return NULL;
}

/* The number keys of a [db.<name>] section, with [mysql]'s ranges. */
static const struct {
    const char *key;
    int64_t lo, hi;
} cfg_db_numbers[] = {
    {"port", 1, 65535}, {"connect_timeout_s", 1, 3600}, {"read_timeout_s", 1, 86400}};

int
cfg_check_sections(const struct cfg *c, char *err, size_t errlen)
{
    for (int i = 0; i < c->n_sections; i++) {
        const struct cfg_section *s = &c->sections[i];
        for (size_t k = 0;
             strcmp(s->kind, "db") == 0 && k < sizeof(cfg_db_numbers) / sizeof(cfg_db_numbers[0]);
             k++) {
            const char *v = cfg_section_get(s, cfg_db_numbers[k].key);
            int64_t n;
            if (v == NULL || parse_int64(v, cfg_db_numbers[k].lo, cfg_db_numbers[k].hi, &n) == 0)
                continue;
            snprintf(err, errlen, "%s: [%s] %s: \"%s\" is not a whole number in %lld-%lld",
                     cfg_section_where(s, cfg_db_numbers[k].key), s->name, cfg_db_numbers[k].key, v,
                     (long long)cfg_db_numbers[k].lo, (long long)cfg_db_numbers[k].hi);
            return -1;
        }
        struct cfg_mysql m;
        if (strcmp(s->kind, "db") == 0 && cfg_db_section(c, s->label, &m) == 0 &&
            cfg_mysql_tls_check(&m, s->name, cfg_section_where(s, "tls"), err, errlen) < 0)
            return -1;
    }
    return 0;
}

int
cfg_db_section(const struct cfg *c, const char *name, struct cfg_mysql *out)
{
    char full[128];
    snprintf(full, sizeof(full), "db.%s", name);
    const struct cfg_section *s = cfg_find_section(c, full);
    if (s == NULL)
        return -1;
    *out = c->mysql;
    const char *v;
    if ((v = cfg_section_get(s, "host")))
        out->host = (char *)(uintptr_t)v;
    if ((v = cfg_section_get(s, "socket")))
        out->socket = (char *)(uintptr_t)v;
    if ((v = cfg_section_get(s, "user")))
        out->user = (char *)(uintptr_t)v;
    if ((v = cfg_section_get(s, "password")))
        out->password = (char *)(uintptr_t)v;
    if ((v = cfg_section_get(s, "database")))
        out->database = (char *)(uintptr_t)v;
    int64_t n;
    if ((v = cfg_section_get(s, "port")) && parse_int64(v, 1, 65535, &n) == 0)
        out->port = (int)n;
    /* A socket wins over host and port: one inherited from [mysql] would send a section that
     * names another server to the fleet's own. */
    static char tcp[] = "", none[] = "";
    if ((cfg_section_get(s, "host") || cfg_section_get(s, "port")) && !cfg_section_get(s, "socket"))
        out->socket = tcp;
    /* The fleet's password goes only where the fleet's server and account are: a section that
     * named another server or user and no password of its own sent [mysql]'s to that server,
     * whose operator could then read and write the jobs table. */
    bool elsewhere = cfg_section_get(s, "host") || cfg_section_get(s, "port") ||
                     cfg_section_get(s, "socket") || cfg_section_get(s, "user");
    if (elsewhere && !cfg_section_get(s, "password"))
        out->password = none;
    if ((v = cfg_section_get(s, "connect_timeout_s")) && parse_int64(v, 1, 3600, &n) == 0)
        out->connect_timeout_s = (int)n;
    if ((v = cfg_section_get(s, "read_timeout_s")) && parse_int64(v, 1, 86400, &n) == 0)
        out->read_timeout_s = (int)n;
    /* [mysql]'s TLS is inherited whole unless the section sets tls: a section on another
     * server then fails its connect (another CA, another name) rather than go in clear. One
     * that sets tls takes only its own files. */
    const char *tls_keys[] = {"tls", "tls_ca_file", "tls_cert_file", "tls_key_file"};
    char **tls_fields[] = {&out->tls, &out->tls_ca_file, &out->tls_cert_file, &out->tls_key_file};
    bool own_tls = cfg_section_get(s, "tls") != NULL;
    for (int i = 0; i < 4; i++)
        if ((v = cfg_section_get(s, tls_keys[i])) || own_tls)
            *tls_fields[i] = v ? (char *)(uintptr_t)v : none;
    return 0;
}
