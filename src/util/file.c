#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_stream(FILE *f, const char *path, size_t max, char **data, size_t *len, qt_err *e)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return qt_fail(e, "%s: out of memory", path);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                return qt_fail(e, "%s: larger than the limit of %zu bytes", path, max);
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                return qt_fail(e, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int err = errno;
                free(buf);
                return qt_fail(e, "%s: read error: %s", path, strerror(err));
            }
            break;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int qt_read_file(const char *path, size_t max_bytes, char **data, size_t *len, qt_err *e)
{
    size_t max = max_bytes ? max_bytes : ((size_t)1 << 30);
    if (strcmp(path, "-") == 0)
        return read_stream(stdin, "<stdin>", max, data, len, e);

    struct stat st;
    if (stat(path, &st) != 0)
        return qt_fail(e, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return qt_fail(e, "%s: is a directory, expected a file", path);
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
        return qt_fail(e, "%s: %lld bytes is larger than the limit of %zu bytes", path,
                       (long long)st.st_size, max);
    FILE *f = fopen(path, "rb");
    if (!f)
        return qt_fail(e, "%s: %s", path, strerror(errno));
    int rc = read_stream(f, path, max, data, len, e);
    fclose(f);
    return rc;
}

int qt_write_file_atomic(const char *path, const void *data, size_t len, qt_err *e)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return qt_fail(e, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return qt_fail(e, "%s: cannot create: %s", path, strerror(err));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return qt_fail(e, "%s: write error: %s", path, strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        free(tmp);
        return qt_fail(e, "%s: cannot write: %s", path, strerror(err));
    }
    free(tmp);
    return 0;
}

int qt_mkdir_p(const char *path, qt_err *e)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return qt_fail(e, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return qt_fail(e, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return qt_fail(e, "%s: cannot create directory: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return qt_fail(e, "%s: exists and is not a directory", buf);
    return 0;
}
