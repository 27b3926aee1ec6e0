/* The config file a command finds by where it runs (deploy/local/up's), checked before it is
 * read. */
#ifndef JOBFLEET_CFG_LOCAL_H
#define JOBFLEET_CFG_LOCAL_H

#include <stdio.h>

#define CFG_LOCAL_PATH ".local/jobfleet.conf"

/* Opens CFG_LOCAL_PATH of the current directory for reading, or returns NULL with err set when
 * it is refused: the directory and the file must be the caller's and the directory closed to
 * others' writes, and the file no symbolic link. */
FILE *cfg_local_open(char *err, size_t errlen);

#endif
