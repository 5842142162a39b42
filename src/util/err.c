#include "util/err.h"

#include <stdio.h>
#include <string.h>

int qt_fail(qt_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int qt_fail_prefix(qt_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char old[QT_ERR_MAX];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* Append ": old" by hand: snprintf with %s here trips gcc's truncation warning. */
    size_t at = n < 0 ? 0 : (size_t)n;
    for (const char *p = ": "; *p && at + 1 < sizeof e->msg; p++)
        e->msg[at++] = *p;
    for (const char *p = old; *p && at + 1 < sizeof e->msg; p++)
        e->msg[at++] = *p;
    if (at < sizeof e->msg)
        e->msg[at] = '\0';
    return -1;
}

void qt_err_print(const qt_err *e)
{
    fprintf(stderr, "qaterm: %s\n", e->msg[0] ? e->msg : "unknown error");
}

void qt_die_msg(const char *fmt, ...)
{
    va_list ap;
    fputs("qaterm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
