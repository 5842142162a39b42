/* Opening the store: refusing what is not ours or not healthy (without
 * changing the file), migrating the schema, and closing the sessions that a
 * crash left open. */
#include "db/store_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/paths.h"

/* static const char qt_schema_v1_sql[]: generated from db/schema.sql. */
#include "db/schema_sql.h"

/* "QaTm": marks the file as qaterm's, so another program's SQLite database
 * is refused instead of having our tables added to it. */
#define QT_STORE_APPLICATION_ID 0x5161546d

#define QT_STORE_BUSY_TIMEOUT_MS 5000

/* Schema versions, in order. Step k takes a database from version k-1 to
 * version k inside one transaction. To change the schema, add
 * db/migrate_2.sql (ALTER TABLE ...), embed it like schema.sql in
 * db/local.mk, and append {2, qt_migrate_2_sql} here. */
typedef struct migration {
    int version;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, qt_schema_v1_sql},
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int qt_store_schema_version(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

const char *qt_store_resolve_path(const char *db_opt, qt_err *e)
{
    if (db_opt && *db_opt)
        return db_opt;
    if (qt_mkdir_p(qt_data_home(), e) != 0)
        return NULL;
    return qt_default_db_path();
}

int qt_store_fail_sql(const qt_store *s, qt_err *e, const char *what)
{
    int code = sqlite3_errcode(s->db) & 0xff;
    const char *msg = sqlite3_errmsg(s->db);
    int sys = sqlite3_system_errno(s->db);
    if (code == SQLITE_NOTADB)
        return qt_fail(e, "%s: not an SQLite database (%s)", s->path, msg);
    if (code == SQLITE_CORRUPT)
        return qt_fail(e, "%s: the database is damaged (%s); it was left as it is", s->path, msg);
    if (code == SQLITE_BUSY)
        return qt_fail(e, "%s: %s: the database stayed locked by another process for %d s", s->path,
                       what, QT_STORE_BUSY_TIMEOUT_MS / 1000);
    if (code == SQLITE_READONLY)
        return qt_fail(e, "%s: %s: the database or its folder is read-only (%s)", s->path, what, msg);
    if (sys != 0 && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR))
        return qt_fail(e, "%s: %s: %s (%s)", s->path, what, msg, strerror(sys));
    return qt_fail(e, "%s: %s: %s", s->path, what, msg);
}

int qt_store_exec(qt_store *s, const char *sql, const char *what, qt_err *e)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return qt_store_fail_sql(s, e, what);
    return 0;
}

sqlite3_stmt *qt_store_prepare(qt_store *s, const char *sql, qt_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        qt_store_fail_sql(s, e, "cannot prepare a query");
        return NULL;
    }
    return st;
}

/* Runs a query whose one result is an integer (a PRAGMA, a count). */
static int query_int(qt_store *s, const char *sql, const char *what, int64_t *out, qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(s, sql, e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qt_store_fail_sql(s, e, what);
        sqlite3_finalize(st);
        return -1;
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* PRAGMA quick_check: finds truncated and damaged files before we write. */
static int check_health(qt_store *s, qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(s, "PRAGMA quick_check(1)", e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qt_store_fail_sql(s, e, "cannot read the database");
        sqlite3_finalize(st);
        return -1;
    }
    const char *verdict = (const char *)sqlite3_column_text(st, 0);
    if (!verdict || strcmp(verdict, "ok") != 0) {
        qt_fail(e, "%s: the database is damaged (%s); it was left as it is", s->path,
                verdict ? verdict : "no verdict");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

/* Checks that the file is an empty database or one of ours that this build
 * understands. */
static int check_identity(qt_store *s, int64_t *version_out, qt_err *e)
{
    int64_t app_id, version, n_objects;
    if (query_int(s, "PRAGMA application_id", "cannot read the database", &app_id, e) != 0 ||
        query_int(s, "PRAGMA user_version", "cannot read the database", &version, e) != 0 ||
        query_int(s, "SELECT count(*) FROM sqlite_master", "cannot read the database", &n_objects,
                  e) != 0)
        return -1;
    if (app_id != 0 && app_id != QT_STORE_APPLICATION_ID)
        return qt_fail(e, "%s: not a qaterm database (application id 0x%08llx)", s->path,
                       (unsigned long long)(uint32_t)app_id);
    if (version == 0 && n_objects > 0)
        return qt_fail(e, "%s: not a qaterm database (it has tables but no qaterm schema version)",
                       s->path);
    if (version > qt_store_schema_version())
        return qt_fail(e,
                       "%s: the database has schema version %lld, newer than this qaterm "
                       "understands (%d); use a newer qaterm",
                       s->path, (long long)version, qt_store_schema_version());
    if (version < 0)
        return qt_fail(e, "%s: not a qaterm database (schema version %lld)", s->path,
                       (long long)version);
    *version_out = version;
    return 0;
}

static int migrate(qt_store *s, qt_err *e)
{
    if (qt_store_exec(s, "BEGIN IMMEDIATE", "cannot start the schema update", e) != 0)
        return -1;
    /* Read again under the write lock: another process may have migrated. */
    int64_t version;
    if (query_int(s, "PRAGMA user_version", "cannot read the database", &version, e) != 0)
        goto fail;
    if (version > qt_store_schema_version()) {
        qt_fail(e, "%s: the database has schema version %lld, newer than this qaterm understands (%d)",
                s->path, (long long)version, qt_store_schema_version());
        goto fail;
    }
    for (int i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= version)
            continue;
        char what[64];
        snprintf(what, sizeof what, "cannot apply schema version %d", migrations[i].version);
        if (qt_store_exec(s, migrations[i].sql, what, e) != 0)
            goto fail;
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 migrations[i].version, QT_STORE_APPLICATION_ID);
        if (qt_store_exec(s, sql, what, e) != 0)
            goto fail;
    }
    if (qt_store_exec(s, "COMMIT", "cannot commit the schema update", e) != 0)
        goto fail;
    return 0;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int64_t qt_store_process_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 22 (starttime) counted from after the command name, which may
     * itself hold spaces and parentheses: skip to the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p++;
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (field == 22)
            return strtoll(p, NULL, 10);
        while (*p && *p != ' ')
            p++;
        if (!*p)
            return -1;
    }
    return -1;
}

/* Whether the process that owns a session on this host still runs. */
static int owner_alive(long pid, int64_t recorded_start)
{
    if (pid <= 0)
        return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (recorded_start >= 0) {
        int64_t now_start = qt_store_process_start(pid);
        if (now_start >= 0 && now_start != recorded_start)
            return 0; /* the pid was reused by another process */
    }
    return 1;
}

/* Closes this host's open sessions whose process is gone; the end time is
 * the last question asked, or the start when none was. */
static int close_crashed_sessions(qt_store *s, qt_err *e)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if (qt_store_exec(s, "BEGIN IMMEDIATE", "cannot close crashed sessions", e) != 0)
        return -1;
    sqlite3_stmt *sel = qt_store_prepare(
        s, "SELECT id, pid, pid_start FROM sessions WHERE ended_at IS NULL AND host = ?1", e);
    sqlite3_stmt *upd = qt_store_prepare(
        s,
        "UPDATE sessions SET end_reason = 'crash', ended_at = coalesce("
        "(SELECT max(asked_at) FROM questions WHERE session_id = ?1), started_at) WHERE id = ?1",
        e);
    int rc = -1, n = 0;
    if (!sel || !upd)
        goto done;
    sqlite3_bind_text(sel, 1, host, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        long pid = (long)sqlite3_column_int64(sel, 1);
        int64_t start = qt_store_column_int_or(sel, 2, -1);
        if (owner_alive(pid, start))
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        if (sqlite3_step(upd) != SQLITE_DONE) {
            qt_store_fail_sql(s, e, "cannot close a crashed session");
            goto done;
        }
        sqlite3_reset(upd);
        n++;
    }
    if (step != SQLITE_DONE) {
        qt_store_fail_sql(s, e, "cannot read the sessions");
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (rc == 0 && qt_store_exec(s, "COMMIT", "cannot close crashed sessions", e) != 0)
        rc = -1;
    if (rc != 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else
        s->recovered_sessions = n;
    return rc;
}

/* The folder holding path (for "x.db": "."). */
static void parent_dir(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

/* Refusals that need no SQLite: a directory, a device, a missing or
 * unwritable folder (WAL keeps PATH-wal and PATH-shm beside the file). */
static int check_path(const char *path, qt_err *e)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists) {
        if (S_ISDIR(st.st_mode))
            return qt_fail(e, "%s: is a directory, not a database file", path);
        if (!S_ISREG(st.st_mode))
            return qt_fail(e, "%s: not a regular file", path);
    } else if (errno != ENOENT) {
        return qt_fail(e, "%s: cannot open the database: %s", path, strerror(errno));
    }
    const char *verb = exists ? "cannot write to the database" : "cannot create the database";
    char dir[PATH_MAX];
    parent_dir(path, dir, sizeof dir);
    if (stat(dir, &st) != 0)
        return qt_fail(e, "%s: %s: %s: %s", path, verb, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return qt_fail(e, "%s: %s: %s is not a directory", path, verb, dir);
    if (access(dir, W_OK) != 0)
        return qt_fail(e, "%s: %s: its folder %s is not writable (%s)", path, verb, dir,
                       strerror(errno));
    return 0;
}

static int prepare_cached(qt_store *s, qt_err *e)
{
    s->insert_question = qt_store_prepare(
        s,
        "INSERT INTO questions (session_id, passage_id, external_id, text, gold_answers,"
        " is_impossible, asked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        e);
    if (!s->insert_question)
        return -1;
    s->insert_answer = qt_store_prepare(
        s,
        "INSERT INTO answers (question_id, model_id, text, char_start, char_end, score,"
        " no_answer_prob, latency_ms, em, f1) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        e);
    return s->insert_answer ? 0 : -1;
}

qt_store *qt_store_open(const char *path, qt_err *e)
{
    if (!path || !*path) {
        qt_fail(e, "no database path given");
        return NULL;
    }
    if (check_path(path, e) != 0)
        return NULL;
    struct stat st;
    const char *opening = stat(path, &st) == 0 ? "cannot open the database" : "cannot create the database";
    qt_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        qt_fail(e, "%s: out of memory", path);
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        if (s->db)
            qt_store_fail_sql(s, e, opening);
        else
            qt_fail(e, "%s: cannot open the database: out of memory", path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, QT_STORE_BUSY_TIMEOUT_MS);
    /* SQLite quietly opens an unwritable file read-only; we must write. */
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        qt_fail(e, "%s: cannot write to the database: %s", path, strerror(EACCES));
        goto fail;
    }
    int64_t version = 0;
    if (check_identity(s, &version, e) != 0 || check_health(s, e) != 0)
        goto fail;
    /* journal_mode answers with the mode in force; WAL may be refused on
     * file systems without shared memory, and then the default journal does. */
    if (qt_store_exec(s, "PRAGMA journal_mode = WAL", "cannot set up the database", e) != 0 ||
        qt_store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                      "cannot set up the database", e) != 0)
        goto fail;
    if ((version < qt_store_schema_version() && migrate(s, e) != 0) ||
        close_crashed_sessions(s, e) != 0 || prepare_cached(s, e) != 0)
        goto fail;
    return s;
fail:
    qt_store_close(s);
    return NULL;
}

void qt_store_close(qt_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->insert_question);
    sqlite3_finalize(s->insert_answer);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

const char *qt_store_path(const qt_store *s)
{
    return s->path;
}

int qt_store_recovered_sessions(const qt_store *s)
{
    return s->recovered_sessions;
}
