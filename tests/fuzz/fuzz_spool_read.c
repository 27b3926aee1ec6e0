/* libFuzzer target: the spool file reader (producer/spool.c). Whatever a file on disk holds,
 * spool_read either returns a whole entry or refuses it with a reason. */
#include "spool.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];

/* Every input's file is unlinked after it: the directory is empty at exit. */
static void
fuzz_dir_remove(void)
{
    rmdir(fuzz_dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_dir[0] == '\0') {
        snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/jobfleet-fuzz-spool-XXXXXX");
        if (mkdtemp(fuzz_dir) == NULL || atexit(fuzz_dir_remove) != 0)
            abort();
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/e.json", fuzz_dir);
    FILE *fp = fopen(path, "w");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort();
    char err[256];
    struct spool *s = spool_attach(fuzz_dir, err, sizeof(err));
    if (s == NULL)
        abort();
    struct spool_entry e;
    if (spool_read(s, "e", &e, err, sizeof(err)) == 0) {
        if (e.action == NULL || e.parameters == NULL || e.idempotency_key == NULL)
            abort();
        spool_entry_release(&e);
    }
    spool_close(s);
    unlink(path);
    return 0;
}
