/* This file appends to a test's config file. */
#include "tconf.h"
#include "tsupport.h"

#include <stdio.h>

void
t_conf_append(struct tenv *t, const char *text)
{
    FILE *fp = fopen(t->conf, "a");
    CHECK(fp != NULL, "open %s", t->conf);
    fprintf(fp, "\n%s\n", text);
    CHECK(fclose(fp) == 0, "write %s", t->conf);
}
