/* This file maps a legacy ticket to its Dispatch Job and reads [dispatch]. */
#include "dispatch_map.h"
#include "caltime.h"
#include "cfg.h"
#include "tzone.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits "a:b,c:d" into pairs; -1 on a malformed entry. */
static int
dispatch_pairs(const char *text, struct dispatch_pair *out, int *n, const char *what, char *err,
               size_t errlen)
{
    *n = 0;
    const char *p = text ? text : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', l);
        size_t kl = colon ? (size_t)(colon - p) : 0;
        if (colon == NULL || kl == 0 || kl >= sizeof(out->key) || l - kl - 1 == 0 ||
            l - kl - 1 >= sizeof(out->value) || *n >= DISPATCH_MAX_PAIRS) {
            snprintf(err, errlen, "[dispatch] %s: expected \"key:value\" pairs, got \"%s\"", what,
                     text);
            return -1;
        }
        snprintf(out[*n].key, sizeof(out->key), "%.*s", (int)kl, p);
        snprintf(out[*n].value, sizeof(out->value), "%.*s", (int)(l - kl - 1), colon + 1);
        (*n)++;
        p = end ? end + 1 : p + l;
    }
    return 0;
}

static int
dispatch_skips_load(const char *text, struct dispatch_conf *dc, char *err, size_t errlen)
{
    const char *p = text ? text : "";
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ',') || dc->n_skip >= DISPATCH_MAX_PAIRS) {
            snprintf(err, errlen,
                     "[dispatch] skip_dept_ids: expected ids such as \"12,14\", got "
                     "\"%s\"",
                     text);
            return -1;
        }
        dc->skip[dc->n_skip++] = v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int
dispatch_conf_load(const struct cfg *cfg, struct dispatch_conf *dc, char *err, size_t errlen)
{
    memset(dc, 0, sizeof(*dc));
    const struct cfg_dispatch *d = &cfg->dispatch;
    dc->staff_id = d->legacy_staff_id;
    char zerr[256];
    if ((dc->tz = tzone_get(d->timezone, zerr, sizeof(zerr))) == NULL) {
        snprintf(err, errlen, "[dispatch] timezone: %s", zerr);
        return -1;
    }
    if (dispatch_skips_load(d->skip_dept_ids, dc, err, errlen) < 0 ||
        dispatch_pairs(d->job_types, dc->job_types, &dc->n_job_types, "job_types", err, errlen) <
            0 ||
        dispatch_pairs(d->durations, dc->durations, &dc->n_durations, "durations", err, errlen) < 0)
        return -1;
    snprintf(dc->default_job_type, sizeof(dc->default_job_type), "%s", d->default_job_type);
    char *end;
    dc->default_duration_h = strtod(d->default_duration_h, &end);
    for (int i = 0; i <= dc->n_durations && *end == '\0'; i++)
        if (i < dc->n_durations)
            strtod(dc->durations[i].value, &end);
    if (*end != '\0') {
        snprintf(err, errlen, "[dispatch] durations and default_duration_h: expected hours");
        return -1;
    }
    return 0;
}

bool
dispatch_conf_skips(const struct dispatch_conf *dc, int64_t dept)
{
    for (int i = 0; i < dc->n_skip; i++)
        if (dc->skip[i] == dept)
            return true;
    return false;
}

void
dispatch_date(const struct tzone *tz, int64_t t, char *out, size_t len)
{
    struct caltime c;
    caltime_split(t + tzone_offset(tz, t), &c);
    snprintf(out, len, "%04lld-%02d-%02d", (long long)c.year, c.month, c.day);
}

const char *
dispatch_start_time(const char *due_time)
{
    if (due_time == NULL)
        return NULL;
    if (strcasecmp(due_time, "am") == 0)
        return "08:00";
    if (strcasecmp(due_time, "pm") == 0)
        return "13:00";
    const char *s = due_time;
    bool hhmm = strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
                s[2] == ':' && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
                (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
    return hhmm ? due_time : NULL;
}

const char *
dispatch_priority(int64_t priority)
{
    return priority >= 3 ? "high" : priority == 2 ? "medium" : "low";
}

const char *
dispatch_job_type(const struct dispatch_conf *dc, int64_t dept)
{
    char key[24];
    snprintf(key, sizeof(key), "%lld", (long long)dept);
    for (int i = 0; i < dc->n_job_types; i++)
        if (strcmp(dc->job_types[i].key, key) == 0)
            return dc->job_types[i].value;
    return dc->default_job_type;
}

double
dispatch_duration(const struct dispatch_conf *dc, const char *job_type)
{
    for (int i = 0; i < dc->n_durations; i++)
        if (strcmp(dc->durations[i].key, job_type) == 0)
            return strtod(dc->durations[i].value, NULL);
    return dc->default_duration_h;
}

/* The base letter of a Latin-1 supplement letter (U+00C0-U+00FF) given its low byte after
 * 0xC3, or 0 for one without (×, ÷, Æ, ...). */
static char
dispatch_unaccent(unsigned char b)
{
    static const char map[] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"  /* C3 80-9F */
                              "aaaaaaaceeeeiiiidnooooo\0ouuuuyty"; /* C3 A0-BF */
    return b >= 0x80 && b <= 0xBF ? map[b - 0x80] : 0;
}

void
dispatch_fold_city(const char *city, char *out, size_t len)
{
    size_t o = 0;
    bool gap = false;
    for (const unsigned char *p = (const unsigned char *)(city ? city : ""); *p && o + 2 < len;
         p++) {
        char c = (char)*p;
        if (*p == 0xC3 && p[1] && dispatch_unaccent(p[1])) {
            c = dispatch_unaccent(*++p);
        } else if (isspace(*p) || *p == '-') {
            gap = o > 0;
            continue;
        }
        if (gap)
            out[o++] = ' ';
        gap = false;
        out[o++] = (char)tolower((unsigned char)c);
    }
    if (len)
        out[o < len ? o : len - 1] = '\0';
}

static void
dispatch_add_str(cJSON *doc, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(doc, key, v);
}

cJSON *
dispatch_doc(const struct dispatch_conf *dc, const struct dispatch_ticket *tk, const char *customer,
             const cJSON *loc)
{
    cJSON *doc = cJSON_CreateObject();
    char buf[32];
    cJSON_AddNumberToObject(doc, "legacy_ticket_id", (double)tk->id);
    snprintf(buf, sizeof(buf), "LEG-%lld", (long long)tk->id);
    cJSON_AddStringToObject(doc, "ticket_id", buf);
    const char *subject = tk->subject ? tk->subject : "";
    if (loc == NULL && ((tk->address && *tk->address) || (tk->city && *tk->city))) {
        char *s = xasprintf("%s (%s%s%s)", subject, tk->address ? tk->address : "",
                            tk->address && *tk->address && tk->city && *tk->city ? ", " : "",
                            tk->city ? tk->city : "");
        cJSON_AddStringToObject(doc, "subject", s);
        free(s);
    } else {
        cJSON_AddStringToObject(doc, "subject", subject);
    }
    dispatch_add_str(doc, "customer", customer);
    if (loc) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(loc, "name");
        dispatch_add_str(doc, "service_location", cJSON_GetStringValue(v));
        for (int i = 0; i < 2; i++) {
            const char *k = i ? "longitude" : "latitude";
            v = cJSON_GetObjectItemCaseSensitive(loc, k);
            if (cJSON_IsNumber(v))
                cJSON_AddNumberToObject(doc, k, v->valuedouble);
        }
    }
    const char *type = dispatch_job_type(dc, tk->dept_id);
    cJSON_AddStringToObject(doc, "job_type", type);
    if (tk->due_date > 0) {
        dispatch_date(dc->tz, tk->due_date, buf, sizeof(buf));
        cJSON_AddStringToObject(doc, "scheduled_date", buf);
    }
    dispatch_add_str(doc, "start_time", dispatch_start_time(tk->due_time));
    cJSON_AddStringToObject(doc, "priority", dispatch_priority(tk->priority));
    cJSON_AddNumberToObject(doc, "duration_h", dispatch_duration(dc, type));
    cJSON_AddStringToObject(doc, "status", "open");
    return doc;
}
