/*
 * replay_main.c — runs a libFuzzer target without libFuzzer, for ctest.
 *
 * Calls LLVMFuzzerTestOneInput on every regular file in the directory given
 * as argv[1], and on every prefix of each file: parsers must hold at every
 * split point (a CSV cell cut short, a truncated request body). Each input is
 * copied into an exact-size heap buffer so ASan sees reads past its end.
 * Exits non-zero when the directory is missing, unreadable or empty, so a
 * misplaced corpus never passes as "nothing failed".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    for (size_t n = 0; n <= len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy) {
            free(buf);
            return -1;
        }
        memcpy(copy, buf, n);
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
    }
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    int files = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(path) != 0)
            failed++;
        files++;
    }
    closedir(d);
    if (files == 0) {
        fprintf(stderr, "%s: no corpus files\n", argv[1]);
        return 1;
    }
    printf("replayed %d files (every prefix)%s\n", files, failed ? ", some unreadable" : "");
    return failed ? 1 : 0;
}
