/* Whole-file reads with the checks every loader needs (a directory, a missing
 * file, a file too large), reported as one clear line. */
#ifndef QT_FILE_H
#define QT_FILE_H

#include <stddef.h>
#include "util/err.h"

/* Reads PATH ("-" means standard input) into a NUL-terminated heap buffer.
 * Refuses files larger than max_bytes (0 = 1 GiB). */
int qt_read_file(const char *path, size_t max_bytes, char **data, size_t *len, qt_err *e);

/* Writes len bytes to PATH atomically (temp file + rename). */
int qt_write_file_atomic(const char *path, const void *data, size_t len, qt_err *e);

/* mkdir -p; mode 0755. */
int qt_mkdir_p(const char *path, qt_err *e);

#endif
