/* Shared by the db/ sources only: the store's state and small SQLite
 * helpers that turn failures into one line naming the database file. */
#ifndef QT_STORE_INTERNAL_H
#define QT_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>
#include "db/store.h"

struct qt_store {
    sqlite3 *db;
    char *path;
    int recovered_sessions;
    sqlite3_stmt *insert_question; /* prepared once: written for every question */
    sqlite3_stmt *insert_answer;
};

/* Fills e with "PATH: what: <SQLite's message>" and returns -1. */
int qt_store_fail_sql(const qt_store *s, qt_err *e, const char *what);

/* Runs SQL without results; -1 with e on failure. */
int qt_store_exec(qt_store *s, const char *sql, const char *what, qt_err *e);

/* Prepares one statement; NULL with e on failure. */
sqlite3_stmt *qt_store_prepare(qt_store *s, const char *sql, qt_err *e);

/* Formats Unix milliseconds (0 = now) as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void qt_store_format_time(int64_t unix_ms, char buf[32]);

/* A heap copy of a text column, NULL for SQL NULL (or out of memory). */
char *qt_store_column_strdup(sqlite3_stmt *st, int col);

/* A REAL column, NAN for SQL NULL. */
double qt_store_column_double_or_nan(sqlite3_stmt *st, int col);

/* An INTEGER column, fallback for SQL NULL. */
int64_t qt_store_column_int_or(sqlite3_stmt *st, int col, int64_t fallback);

/* The owner of a session: process start time from /proc (-1 when unknown). */
int64_t qt_store_process_start(long pid);

#endif
