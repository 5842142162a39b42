/* Writing to the store: sessions, deduplicated models and passages, and
 * each question with all its answers in one transaction. */
#include "db/store_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/sha256.h"

void qt_store_format_time(int64_t unix_ms, char buf[32])
{
    if (unix_ms <= 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 32, "%.19s.%03uZ", date, (unsigned)(unix_ms % 1000));
}

char *qt_store_column_strdup(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const char *t = (const char *)sqlite3_column_text(st, col);
    return strdup(t ? t : "");
}

double qt_store_column_double_or_nan(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NAN;
    return sqlite3_column_double(st, col);
}

int64_t qt_store_column_int_or(sqlite3_stmt *st, int col, int64_t fallback)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return fallback;
    return sqlite3_column_int64(st, col);
}

/* Runs a statement expected to finish without rows, then finalizes it. */
static int step_done(qt_store *s, sqlite3_stmt *st, const char *what, qt_err *e)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : qt_store_fail_sql(s, e, what);
    sqlite3_finalize(st);
    return rc;
}

static const char *current_user(void)
{
    const char *u = getenv("USER");
    if (u && *u)
        return u;
    struct passwd *pw = getpwuid(geteuid());
    return pw && pw->pw_name ? pw->pw_name : "?";
}

int64_t qt_store_begin_session(qt_store *s, const char *mode, qt_err *e)
{
    char host[256] = "", now[32];
    gethostname(host, sizeof host - 1);
    qt_store_format_time(0, now);
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "INSERT INTO sessions (started_at, host, user, mode, pid, pid_start)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        e);
    if (!st)
        return -1;
    long pid = (long)getpid();
    int64_t start = qt_store_process_start(pid);
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, current_user(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, mode && *mode ? mode : "unknown", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, pid);
    if (start >= 0)
        sqlite3_bind_int64(st, 6, start);
    if (step_done(s, st, "cannot start a session", e) != 0)
        return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int qt_store_end_session(qt_store *s, int64_t session_id, qt_err *e)
{
    char now[32];
    qt_store_format_time(0, now);
    sqlite3_stmt *st = qt_store_prepare(
        s, "UPDATE sessions SET ended_at = ?1, end_reason = 'exit' WHERE id = ?2 AND ended_at IS NULL",
        e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, session_id);
    if (step_done(s, st, "cannot end the session", e) != 0)
        return -1;
    if (sqlite3_changes(s->db) > 0)
        return 0;
    sqlite3_stmt *q = qt_store_prepare(s, "SELECT 1 FROM sessions WHERE id = ?1", e);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, session_id);
    int found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!found)
        return qt_fail(e, "%s: no session %lld", s->path, (long long)session_id);
    return 0;
}

/* Looks a row up by a unique key; 0 when absent, -1 on error. */
static int64_t lookup_id(qt_store *s, sqlite3_stmt *st, qt_err *e)
{
    int rc = sqlite3_step(st);
    int64_t id = 0;
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        id = qt_store_fail_sql(s, e, "cannot look up a row");
    sqlite3_finalize(st);
    return id;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_double_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int64_t qt_store_model_id(qt_store *s, const qt_model_meta *m, qt_err *e)
{
    if (!m->name || !*m->name || !m->architecture || !*m->architecture)
        return qt_fail(e, "%s: a model needs a name and an architecture", s->path);
    const char *variant = m->variant ? m->variant : "";
    const char *sha = m->checkpoint_sha256 ? m->checkpoint_sha256 : "";
    /* INSERT OR IGNORE then SELECT: one statement each, race-free under the
     * UNIQUE constraint when two processes register the same model. */
    sqlite3_stmt *ins = qt_store_prepare(
        s,
        "INSERT OR IGNORE INTO models (name, architecture, variant, checkpoint_path,"
        " checkpoint_sha256, parameter_count, bytes_on_disk) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        e);
    if (!ins)
        return -1;
    sqlite3_bind_text(ins, 1, m->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, m->architecture, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, variant, -1, SQLITE_TRANSIENT);
    bind_text_or_null(ins, 4, m->checkpoint_path);
    sqlite3_bind_text(ins, 5, sha, -1, SQLITE_TRANSIENT);
    bind_int_or_null(ins, 6, m->parameter_count);
    bind_int_or_null(ins, 7, m->bytes_on_disk);
    if (step_done(s, ins, "cannot record a model", e) != 0)
        return -1;
    sqlite3_stmt *sel = qt_store_prepare(
        s, "SELECT id FROM models WHERE name = ?1 AND variant = ?2 AND checkpoint_sha256 = ?3", e);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, m->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(sel, 2, variant, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(sel, 3, sha, -1, SQLITE_TRANSIENT);
    int64_t id = lookup_id(s, sel, e);
    if (id == 0)
        return qt_fail(e, "%s: model '%s' vanished after it was recorded", s->path, m->name);
    return id;
}

int64_t qt_store_passage_id(qt_store *s, const char *source, const char *title,
                            int paragraph_index, const char *text, qt_err *e)
{
    if (!text)
        return qt_fail(e, "%s: a passage needs a text", s->path);
    char hex[QT_SHA256_HEX_LEN + 1];
    qt_sha256_hex(text, strlen(text), hex);
    sqlite3_stmt *ins = qt_store_prepare(
        s,
        "INSERT OR IGNORE INTO passages (source, title, paragraph_index, text_sha256, text)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        e);
    if (!ins)
        return -1;
    bind_text_or_null(ins, 1, source);
    bind_text_or_null(ins, 2, title);
    bind_int_or_null(ins, 3, paragraph_index);
    sqlite3_bind_text(ins, 4, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 5, text, -1, SQLITE_STATIC);
    if (step_done(s, ins, "cannot record a passage", e) != 0)
        return -1;
    sqlite3_stmt *sel = qt_store_prepare(s, "SELECT id FROM passages WHERE text_sha256 = ?1", e);
    if (!sel)
        return -1;
    sqlite3_bind_text(sel, 1, hex, -1, SQLITE_TRANSIENT);
    int64_t id = lookup_id(s, sel, e);
    if (id == 0)
        return qt_fail(e, "%s: a passage vanished after it was recorded", s->path);
    return id;
}

static int check_question(const qt_store *s, const qt_question_rec *q, const qt_answer_rec *answers,
                          size_t n, qt_err *e)
{
    if (!q->text)
        return qt_fail(e, "%s: a question needs a text", s->path);
    if (q->gold_json) {
        cJSON *gold = cJSON_Parse(q->gold_json);
        int is_array = cJSON_IsArray(gold);
        cJSON_Delete(gold);
        if (!is_array)
            return qt_fail(e, "%s: the gold answers of question '%.60s' are not a JSON array",
                           s->path, q->text);
    }
    for (size_t i = 0; i < n; i++) {
        const qt_answer_rec *a = &answers[i];
        if (a->em > 1 || (isfinite(a->f1) && (a->f1 < 0 || a->f1 > 1)))
            return qt_fail(e, "%s: answer %zu of question '%.60s': EM must be 0/1 and F1 in [0, 1]",
                           s->path, i, q->text);
        if (a->char_start >= 0 && a->char_end < a->char_start)
            return qt_fail(e, "%s: answer %zu of question '%.60s': span end %d before start %d",
                           s->path, i, q->text, a->char_end, a->char_start);
    }
    return 0;
}

static int insert_answer(qt_store *s, int64_t question_id, const qt_answer_rec *a, qt_err *e)
{
    sqlite3_stmt *st = s->insert_answer;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, question_id);
    sqlite3_bind_int64(st, 2, a->model_id);
    sqlite3_bind_text(st, 3, a->text ? a->text : "", -1, SQLITE_STATIC);
    if (a->char_start >= 0) {
        sqlite3_bind_int(st, 4, a->char_start);
        sqlite3_bind_int(st, 5, a->char_end);
    }
    bind_double_or_null(st, 6, a->score);
    bind_double_or_null(st, 7, a->no_answer_prob);
    bind_double_or_null(st, 8, a->latency_ms);
    if (a->em >= 0)
        sqlite3_bind_int(st, 9, a->em);
    bind_double_or_null(st, 10, a->f1);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : qt_store_fail_sql(s, e, "cannot record an answer");
    sqlite3_reset(st);
    return rc;
}

int64_t qt_store_record_question(qt_store *s, int64_t session_id, int64_t passage_id,
                                 const qt_question_rec *q, const qt_answer_rec *answers,
                                 size_t n_answers, qt_err *e)
{
    if (check_question(s, q, answers, n_answers, e) != 0)
        return -1;
    char asked[32];
    qt_store_format_time(q->asked_at_ms, asked);
    if (qt_store_exec(s, "BEGIN IMMEDIATE", "cannot record a question", e) != 0)
        return -1;
    sqlite3_stmt *st = s->insert_question;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, session_id);
    sqlite3_bind_int64(st, 2, passage_id);
    bind_text_or_null(st, 3, q->external_id);
    sqlite3_bind_text(st, 4, q->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, q->gold_json ? q->gold_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, q->is_impossible ? 1 : 0);
    sqlite3_bind_text(st, 7, asked, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        qt_store_fail_sql(s, e, "cannot record a question");
        sqlite3_reset(st);
        goto fail;
    }
    sqlite3_reset(st);
    int64_t question_id = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < n_answers; i++)
        if (insert_answer(s, question_id, &answers[i], e) != 0)
            goto fail;
    if (qt_store_exec(s, "COMMIT", "cannot commit a question", e) != 0)
        goto fail;
    return question_id;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
