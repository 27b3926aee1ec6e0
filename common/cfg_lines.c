/* This file finds lines in a config file for cfg.c's messages: Debian's libinih tells the
 * handler no line number, and its own error names a line number only. */
#include "cfg_lines.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Debian's libinih passes no line number to the handler, so a message finds the line itself:
 * the last line in the file that sets this key in this section. */
int
cfg_find_line(const char *file, const char *section, const char *name)
{
    FILE *fp = fopen(file, "r");
    if (fp == NULL)
        return 0;
    char *line = NULL, cur[256] = "";
    size_t cap = 0;
    int n = 0, found = 0;
    /* getline, not a fixed buffer: a long line is one line, as the parser counts it. */
    while (getline(&line, &cap, fp) >= 0) {
        n++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '[') {
            char *e = strchr(p, ']');
            if (e) {
                *e = '\0';
                snprintf(cur, sizeof(cur), "%s", p + 1);
            }
            continue;
        }
        size_t l = strlen(name);
        if (strcmp(cur, section) == 0 && strncmp(p, name, l) == 0 &&
            (isspace((unsigned char)p[l]) || p[l] == '=' || p[l] == ':'))
            found = n;
    }
    free(line);
    fclose(fp);
    return found;
}

/* The length of line lineno of file without its line end, or -1 when it cannot be read. */
long
cfg_line_length(const char *file, int lineno)
{
    FILE *fp = fopen(file, "r");
    if (fp == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = -1;
    for (int n = 0; n < lineno && (len = getline(&line, &cap, fp)) >= 0; n++)
        ;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    free(line);
    fclose(fp);
    return (long)len;
}
