/* The making of a configuration's named sections while it loads (cfg.c and cfg_sections.c
 * only; the lookups are in cfg.h). */
#ifndef JOBFLEET_CFG_SECTIONS_H
#define JOBFLEET_CFG_SECTIONS_H

#include "cfg.h"

/* The section called name, made (of kind and label, first seen at where) when c has none. */
struct cfg_section *cfg_section_add(struct cfg *c, const char *name, const char *kind,
                                    const char *label, const char *where);
/* Sets key of s to value, set at where ("file:line", "environment NAME"); copies all three. */
void cfg_section_set(struct cfg_section *s, const char *key, const char *value, const char *where);
/* Removes key from s, when it is there. */
void cfg_section_drop(struct cfg_section *s, const char *key);
/* Frees every section of c. */
void cfg_sections_free(struct cfg *c);

#endif
