/* libFuzzer target: the config parser (common/cfg.c) on any file text: it loads it or refuses
 * it with one line, and never reads or writes out of bounds. */
#include "cfg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A *_file key naming a device or FIFO could block: such inputs are not config. */
    for (size_t i = 0; i + 5 <= size; i++)
        if (memcmp(data + i, "_file", 5) == 0)
            return 0;
    char path[] = "/tmp/jobfleet-fuzz-cfg-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    if (write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct cfg c;
    char err[512];
    if (cfg_load(&c, path, err, sizeof(err)) == 0)
        cfg_release(&c);
    else if (strchr(err, '\n') != NULL)
        abort();
    unlink(path);
    return 0;
}
