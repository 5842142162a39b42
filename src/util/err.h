/* One error message travels up the call chain in a caller-owned buffer; the
 * command at the top prints it as one line and exits non-zero. */
#ifndef QT_ERR_H
#define QT_ERR_H

#include <stdarg.h>

#define QT_ERR_MAX 1024

typedef struct qt_err {
    char msg[QT_ERR_MAX];
} qt_err;

/* Sets the message (printf-style) and returns -1, so `return qt_fail(e, ...)`
 * reads naturally. A NULL e is allowed and ignored. */
int qt_fail(qt_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the existing message: "prefix: old message". Returns -1. */
int qt_fail_prefix(qt_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "qaterm: message" to stderr. */
void qt_err_print(const qt_err *e);

/* Prints "qaterm: <formatted>" to stderr (for errors found in the CLI itself). */
void qt_die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
