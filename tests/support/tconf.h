/* Adding to a test's config file after setup (when a value, such as a fake's port, is known
 * only then). */
#ifndef JOBFLEET_TCONF_H
#define JOBFLEET_TCONF_H

struct tenv;

/* Appends text (INI lines) to the test's config file; a section named again merges with the
 * earlier one. Processes started afterwards read it. Fails the test when it cannot write. */
void t_conf_append(struct tenv *t, const char *text);

#endif
