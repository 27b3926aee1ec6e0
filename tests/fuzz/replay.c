/* Replays a fuzz target's kept corpus without libFuzzer: every file under the directories
 * given runs through LLVMFuzzerTestOneInput once. CI runs it under ASan and UBSan, so an
 * input that once crashed a target keeps proving it fixed, in seconds. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    if (data == NULL)
        abort();
    size_t r;
    while ((r = fread(data + n, 1, cap - n, fp)) > 0) {
        n += r;
        if (n == cap && (data = realloc(data, cap *= 2)) == NULL)
            abort();
    }
    fclose(fp);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}

int
main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (d == NULL) {
            perror(argv[i]);
            return 1;
        }
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            if (replay_file(path) < 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
