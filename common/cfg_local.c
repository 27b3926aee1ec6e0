/* This file opens the config file a command finds by where it runs, not by a name it was given
 * (cfg_local.h). A file another user put in a shared directory would point the caller's
 * credentials (its *_file secrets) at servers of their choice. So the directory and the file
 * must be the caller's, the directory closed to others' writes (they could swap the file
 * between a check and the open), and what is read is what was checked: the open file, never a
 * symbolic link. */
#include "cfg_local.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why the open file fd (or the directory) is refused, or NULL; *owner gets the uid that makes it
 * someone else's, when that is why. */
static const char *
cfg_local_refusal(int fd, uid_t *owner)
{
    struct stat d, f;
    uid_t me = geteuid();
    if (lstat(".local", &d) < 0 || !S_ISDIR(d.st_mode))
        return ".local is not a directory";
    if (d.st_uid != me) {
        *owner = d.st_uid;
        return ".local belongs to";
    }
    if (d.st_mode & 022)
        return ".local is open to others' writes";
    if (fd < 0)
        return errno == ELOOP ? "it is a symbolic link" : strerror(errno);
    if (fstat(fd, &f) < 0 || !S_ISREG(f.st_mode))
        return "it is not a file";
    if (f.st_uid != me) {
        *owner = f.st_uid;
        return "it belongs to";
    }
    return NULL;
}

FILE *
cfg_local_open(char *err, size_t errlen)
{
    int fd = open(CFG_LOCAL_PATH, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    uid_t owner = (uid_t)-1;
    const char *why = cfg_local_refusal(fd, &owner);
    if (why == NULL) {
        FILE *fp = fdopen(fd, "r");
        if (fp == NULL) {
            snprintf(err, errlen, "%s: cannot open config file: %s", CFG_LOCAL_PATH,
                     strerror(errno));
            close(fd);
        }
        return fp;
    }
    if (fd >= 0)
        close(fd);
    if (owner != (uid_t)-1)
        snprintf(err, errlen,
                 "refusing " CFG_LOCAL_PATH " in this directory: %s uid %u, not to you (uid %u); "
                 "name it with --config or $JOBFLEET_CONFIG to use it",
                 why, (unsigned)owner, (unsigned)geteuid());
    else
        snprintf(err, errlen,
                 "refusing " CFG_LOCAL_PATH " in this directory: %s; name it with --config or "
                 "$JOBFLEET_CONFIG to use it",
                 why);
    return NULL;
}
