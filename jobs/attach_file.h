/* Files of the attachment copy inside the desk's uploads directory ([attachments]
 * uploads_dir): names made safe, atomic exclusive writes that never follow a symlink, and
 * bounded reads. A remote file name is hostile: nothing here lets it leave the directory. */
#ifndef JOBFLEET_ATTACH_FILE_H
#define JOBFLEET_ATTACH_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The longest safe name in bytes: "{id}-{name}" and the temporary name around it stay well
 * inside NAME_MAX (255). */
#define ATTACH_NAME_MAX 150

/* A name made safe as one path component: only the part after the last '/' or '\\', control
 * characters and bytes that are not UTF-8 become '_', leading dots become '_' (so neither "."
 * nor ".." nor a hidden file), at most ATTACH_NAME_MAX bytes cut on a character boundary with
 * the extension kept, "file" when nothing is left. The caller frees it. */
char *attach_safe_name(const char *name);

/* True when name is one safe path component (what attach_safe_name returns, and what a
 * files.file value must be before it is opened). */
int attach_name_ok(const char *name);

/* Writes len bytes as dir/final atomically: a new temporary file in dir (opened relative to the
 * directory's descriptor with O_CREAT|O_EXCL|O_NOFOLLOW), written, fsync'ed, renamed over final
 * (a symlink already there is replaced, never followed), then the directory fsync'ed. Leftover
 * temporary files of an earlier crashed write of final are removed first. final must pass
 * attach_name_ok. Returns 0, or -1 with err set (nothing is left under final then). */
int attach_file_write(const char *dir, const char *final, const void *bytes, size_t len, char *err,
                      size_t errlen);

/* Reads dir/name (name must pass attach_name_ok; a symlink or anything but a regular file is
 * refused) into *bytes (the caller frees) and *len; more than max bytes is an error. Returns 0,
 * or -1 with err set. */
int attach_file_read(const char *dir, const char *name, int64_t max, unsigned char **bytes,
                     size_t *len, char *err, size_t errlen);

#endif
