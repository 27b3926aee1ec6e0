/* Lines of a config file, for messages that name them. */
#ifndef JOBFLEET_CFG_LINES_H
#define JOBFLEET_CFG_LINES_H

/* The number of the last line of file that sets key name in [section]; 0 when none or the file
 * cannot be read. */
int cfg_find_line(const char *file, const char *section, const char *name);

/* The length of line lineno of file without its line end, or -1 when it cannot be read. */
long cfg_line_length(const char *file, int lineno);

#endif
