/* This file reads and checks a [toga_desk.<client>] section for the helpdesk sync. */
#include "cfg.h"
#include "togadesk_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A switch: absent is dflt; else true/false (yes/no, on/off, 1/0). -1 on another value. */
static int
conf_bool(const struct cfg_section *s, const char *key, bool dflt, bool *out)
{
    const char *v = cfg_section_get(s, key);
    if (v == NULL || *v == '\0') {
        *out = dflt;
        return 0;
    }
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

/* A desk id (1 .. 2^32-1, the desk's INT UNSIGNED). */
static int
conf_id(const char *v, int64_t *out)
{
    return v ? parse_int64(v, 1, 4294967295LL, out) : -1;
}

/* "3, 7,9": the monitored departments after department_id. */
static int
conf_depts(struct togadesk_conf *c, const char *list)
{
    c->depts[0] = c->department_id;
    c->n_depts = 1;
    char *copy = xstrdup(list ? list : ""), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int64_t d;
        if (conf_id(tok, &d) < 0 || c->n_depts == TOGADESK_MAX_DEPTS) {
            rc = -1;
            break;
        }
        c->depts[c->n_depts++] = d;
    }
    free(copy);
    return rc;
}

static const char *
conf_choice(const char *v, const char *dflt, const char *a, const char *b)
{
    if (v == NULL || *v == '\0')
        return dflt;
    return strcmp(v, a) == 0 ? a : strcmp(v, b) == 0 ? b : NULL;
}

/* The switches: each a key of the section. */
static int
conf_switches(const struct cfg_section *s, struct togadesk_conf *c, char *err, size_t len)
{
    struct {
        const char *key;
        bool *field;
    } sw[] = {{"toga_to_desk", &c->toga_to_desk},
              {"desk_to_toga", &c->desk_to_toga},
              {"contacts", &c->contacts},
              {"units", &c->units},
              {"predefined_replies", &c->predefined_replies},
              {"ticket_teams", &c->ticket_teams},
              {"ticket_categories", &c->ticket_categories}};
    for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
        if (conf_bool(s, sw[i].key, true, sw[i].field) < 0) {
            snprintf(err, len, "%s: [%s] %s: expected true or false, got \"%s\"",
                     cfg_section_where(s, sw[i].key), s->name, sw[i].key,
                     cfg_section_get(s, sw[i].key));
            return -1;
        }
    }
    return 0;
}

int
togadesk_conf_read(const struct cfg *cfg, const char *client, struct togadesk_conf *c, char *err,
                   size_t len)
{
    memset(c, 0, sizeof(*c));
    char name[160];
    snprintf(name, sizeof(name), "toga_desk.%s", client);
    const struct cfg_section *s = cfg ? cfg_find_section(cfg, name) : NULL;
    if (s == NULL) {
        snprintf(err, len, "no [%s] section in the configuration", name);
        return -1;
    }
    c->name = s->label;
    c->service = cfg_section_get(s, "service");
    c->desk_db = cfg_section_get(s, "desk_db");
    if (c->desk_db == NULL || *c->desk_db == '\0')
        c->desk_db = "desk";
    const char *bad = NULL;
    if (c->service == NULL || *c->service == '\0')
        bad = "service: missing (the [service.<name>] of the client's TOGA 2)";
    else if (conf_id(cfg_section_get(s, "desk_client_id"), &c->client_id) < 0)
        bad = "desk_client_id: expected a desk client id (a positive integer)";
    else if (conf_id(cfg_section_get(s, "desk_department_id"), &c->department_id) < 0)
        bad = "desk_department_id: expected a desk department id (a positive integer)";
    else if (conf_depts(c, cfg_section_get(s, "monitor_department_ids")) < 0)
        bad = "monitor_department_ids: expected department ids separated by commas";
    else if ((c->integration_type = conf_choice(cfg_section_get(s, "integration_type"), "TICKETS",
                                                "TICKETS", "REPAIR_ORDERS")) == NULL)
        bad = "integration_type: expected TICKETS or REPAIR_ORDERS";
    else if ((c->conversation_field =
                  conf_choice(cfg_section_get(s, "conversation_field"), "c_eliteConversationId",
                              "c_eliteConversationId", "c_wjeConversationId")) == NULL)
        bad = "conversation_field: expected c_eliteConversationId or c_wjeConversationId";
    if (bad) {
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad, ":"), bad);
        snprintf(err, len, "%s: [%s] %s", cfg_section_where(s, key), name, bad);
        return -1;
    }
    const char *ov = cfg_section_get(s, "overlap_s");
    c->overlap_s = 300;
    if (ov && parse_int64(ov, 0, 86400, &c->overlap_s) < 0) {
        snprintf(err, len, "%s: [%s] overlap_s: expected seconds from 0 to 86400, got \"%s\"",
                 cfg_section_where(s, "overlap_s"), name, ov);
        return -1;
    }
    return conf_switches(s, c, err, len);
}
