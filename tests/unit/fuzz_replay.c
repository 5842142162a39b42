/* Replays the committed fuzz corpora (fuzz/corpus/NAME/) through the fuzz
 * targets, built here without libFuzzer (-DFUZZ_REPLAY): one TAP line per
 * target. A target that finds a broken invariant aborts, failing the test.
 *
 *   fuzz_replay                   every target, every corpus file
 *   fuzz_replay NAME FILE...      one target on the given files (debugging) */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "util/file.h"

typedef struct target {
    const char *name;
    int (*run)(const uint8_t *data, size_t size);
} target;

static const target targets[] = {
#define QT_FUZZ_TARGET(name) {#name, qt_fuzz_##name},
#include "fuzz/targets.h"
#undef QT_FUZZ_TARGET
};

#define N_TARGETS (sizeof targets / sizeof *targets)

static int run_file(const target *t, const char *path, qt_err *e)
{
    char *data;
    size_t len;
    if (qt_read_file(path, 0, &data, &len, e) != 0)
        return -1;
    /* An exact-size copy, so that AddressSanitizer builds catch overreads. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return qt_fail(e, "%s: out of memory", path);
    }
    memcpy(exact, data, len);
    free(data);
    t->run(exact, len);
    free(exact);
    return 0;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir through t, in name order. */
static int run_dir(const target *t, const char *dir, size_t *count, qt_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return qt_fail(e, "%s: cannot open the corpus directory", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_string);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0 && run_file(t, path, e) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    *count = n;
    return rc;
}

int main(int argc, char **argv)
{
    qt_err e = {{0}};
    if (argc >= 3) {
        for (size_t i = 0; i < N_TARGETS; i++) {
            if (strcmp(targets[i].name, argv[1]) != 0)
                continue;
            for (int k = 2; k < argc; k++) {
                if (run_file(&targets[i], argv[k], &e) != 0) {
                    fprintf(stderr, "fuzz_replay: %s\n", e.msg);
                    return 1;
                }
                printf("%s: %s ok\n", argv[1], argv[k]);
            }
            return 0;
        }
        fprintf(stderr, "fuzz_replay: no target '%s'\n", argv[1]);
        return 2;
    }
    const char *srcdir = getenv("QATERM_SRCDIR");
    if (!srcdir)
        srcdir = QATERM_SRCDIR;
    printf("1..%zu\n", N_TARGETS);
    int failed = 0;
    for (size_t i = 0; i < N_TARGETS; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", srcdir, targets[i].name);
        size_t count = 0;
        fflush(stdout);
        if (run_dir(&targets[i], dir, &count, &e) != 0) {
            printf("not ok %zu - %s: %s\n", i + 1, targets[i].name, e.msg);
            failed = 1;
        } else if (count == 0) {
            printf("not ok %zu - %s: no corpus files in %s\n", i + 1, targets[i].name, dir);
            failed = 1;
        } else {
            printf("ok %zu - %s: %zu corpus files replayed\n", i + 1, targets[i].name, count);
        }
    }
    return failed;
}
