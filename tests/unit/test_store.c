/* db/store: migrations from an empty file, reopening, deduplication,
 * one-transaction question writes, aggregates against hand-computed
 * values, crashed sessions closed on the next open, and refusals that
 * leave the file untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/store.h"
#include "util/file.h"
#include "util/sha256.h"

typedef struct fixture {
    char dir[64];
    char db[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/qaterm-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof f->db, "%s/history.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* One integer from a query run on the file directly, bypassing the store. */
static int64_t sql_int(const char *db_path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static char *sql_text(const char *db_path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    char *copy = t ? strdup(t) : NULL;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return copy;
}

static void sql_exec(const char *db_path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void file_digest(const char *path, char hex[QT_SHA256_HEX_LEN + 1])
{
    qt_err e;
    assert_int_equal(qt_sha256_file_hex(path, hex, &e), 0);
}

static int64_t add_model(qt_store *s, const char *name, const char *variant, const char *sha)
{
    qt_err e = {{0}};
    qt_model_meta m = {.name = name, .architecture = "test", .variant = variant,
                       .checkpoint_sha256 = sha, .parameter_count = 10, .bytes_on_disk = 40};
    int64_t id = qt_store_model_id(s, &m, &e);
    if (id <= 0)
        fail_msg("%s", e.msg);
    return id;
}

static qt_answer_rec answer(int64_t model, const char *text, int em, double f1, double latency)
{
    return (qt_answer_rec){.model_id = model, .text = text, .char_start = text[0] ? 0 : -1,
                           .char_end = (int)strlen(text), .score = 0.5, .no_answer_prob = NAN,
                           .latency_ms = latency, .em = em, .f1 = f1};
}

static int64_t ask(qt_store *s, int64_t session, int64_t passage, const char *text, int impossible,
                   const qt_answer_rec *answers, size_t n)
{
    qt_err e = {{0}};
    qt_question_rec q = {.text = text, .gold_json = impossible ? "[]" : "[{\"text\":\"x\"}]",
                         .is_impossible = impossible};
    int64_t id = qt_store_record_question(s, session, passage, &q, answers, n, &e);
    if (id <= 0)
        fail_msg("%s", e.msg);
    return id;
}

static void migrates_empty_and_missing_files(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    qt_store_close(s);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), qt_store_schema_version());
    assert_int_equal(qt_store_schema_version(), 1);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 5);
    char *mode = sql_text(f->db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);

    /* A zero-byte file is an empty database, not a damaged one. */
    char empty[160];
    snprintf(empty, sizeof empty, "%s/empty.db", f->dir);
    assert_int_equal(qt_write_file_atomic(empty, "", 0, &e), 0);
    s = qt_store_open(empty, &e);
    assert_non_null(s);
    qt_store_close(s);
    assert_int_equal(sql_int(empty, "PRAGMA user_version"), 1);
}

static void reopen_keeps_everything(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int64_t session = qt_store_begin_session(s, "compare", &e);
    assert_true(session > 0);
    int64_t m = add_model(s, "alpha", "", "aa");
    int64_t p = qt_store_passage_id(s, "dev.json", "Title", 3, "Some passage.", &e);
    qt_answer_rec a = answer(m, "x", 1, 1.0, 12);
    ask(s, session, p, "Why?", 0, &a, 1);
    assert_int_equal(qt_store_end_session(s, session, &e), 0);
    assert_int_equal(qt_store_end_session(s, session, &e), 0); /* again: no-op */
    assert_int_equal(qt_store_end_session(s, 999, &e), -1);
    assert_non_null(strstr(e.msg, "no session 999"));
    qt_store_close(s);

    s = qt_store_open(f->db, &e);
    assert_non_null(s);
    assert_int_equal(qt_store_recovered_sessions(s), 0);
    qt_session_info *info;
    size_t n;
    assert_int_equal(qt_store_list_sessions(s, &info, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(info[0].id, session);
    assert_string_equal(info[0].mode, "compare");
    assert_string_equal(info[0].end_reason, "exit");
    assert_non_null(info[0].ended_at);
    assert_int_equal(info[0].n_questions, 1);
    assert_int_equal(info[0].n_models, 1);
    assert_string_equal(info[0].models[0].name, "alpha");
    assert_float_equal(info[0].models[0].em, 100.0, 1e-9);
    qt_session_infos_free(info, n);

    qt_question_row *rows;
    assert_int_equal(qt_store_questions(s, session, &rows, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].text, "Why?");
    assert_string_equal(rows[0].passage_title, "Title");
    assert_string_equal(rows[0].passage_source, "dev.json");
    assert_int_equal(rows[0].paragraph_index, 3);
    assert_null(rows[0].external_id);
    assert_int_equal(rows[0].n_answers, 1);
    assert_string_equal(rows[0].answers[0].text, "x");
    assert_int_equal(rows[0].answers[0].em, 1);
    assert_float_equal(rows[0].answers[0].latency_ms, 12, 1e-9);
    assert_true(isnan(rows[0].answers[0].no_answer_prob));
    qt_question_rows_free(rows, n);

    assert_int_equal(qt_store_get_session(s, 42, &info, &e), -1);
    assert_non_null(strstr(e.msg, "no session 42"));
    assert_non_null(strstr(e.msg, f->db));
    qt_store_close(s);
}

static void models_and_passages_are_deduplicated(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int64_t a = add_model(s, "bert", "base", "1234");
    assert_int_equal(add_model(s, "bert", "base", "1234"), a);
    assert_int_not_equal(add_model(s, "bert", "base", "5678"), a);
    assert_int_not_equal(add_model(s, "bert", "large", "1234"), a);
    qt_model_meta human = {.name = "you", .architecture = "human", .parameter_count = -1,
                           .bytes_on_disk = -1};
    int64_t h = qt_store_model_id(s, &human, &e);
    assert_true(h > 0);
    assert_int_equal(qt_store_model_id(s, &human, &e), h);

    int64_t p = qt_store_passage_id(s, "a.json", "A", 0, "Same text.", &e);
    assert_int_equal(qt_store_passage_id(s, "b.json", "B", 7, "Same text.", &e), p);
    assert_int_not_equal(qt_store_passage_id(s, NULL, NULL, -1, "Other text.", &e), p);
    qt_store_close(s);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM models"), 4);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM passages"), 2);
    char hex[QT_SHA256_HEX_LEN + 1];
    qt_sha256_hex("Same text.", 10, hex);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT id FROM passages WHERE text_sha256 = '%s'", hex);
    assert_int_equal(sql_int(f->db, sql), p);
}

static void a_question_is_stored_whole_or_not_at_all(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int64_t session = qt_store_begin_session(s, "quiz", &e);
    int64_t m = add_model(s, "alpha", "", "");
    int64_t p = qt_store_passage_id(s, NULL, NULL, -1, "P.", &e);
    qt_answer_rec good = answer(m, "a", 1, 1, 1);
    ask(s, session, p, "first", 0, &good, 1);

    /* The second answer names a model that does not exist. */
    qt_answer_rec two[2] = {answer(m, "a", 1, 1, 1), answer(m + 100, "b", 0, 0, 1)};
    qt_question_rec q = {.text = "second", .gold_json = "[]"};
    assert_int_equal(qt_store_record_question(s, session, p, &q, two, 2, &e), -1);
    assert_non_null(strstr(e.msg, f->db));
    /* The same model twice. */
    qt_answer_rec dup[2] = {answer(m, "a", 1, 1, 1), answer(m, "b", 0, 0, 1)};
    assert_int_equal(qt_store_record_question(s, session, p, &q, dup, 2, &e), -1);
    /* Gold answers that are not a JSON array; an unknown session. */
    q.gold_json = "{\"text\": 1}";
    assert_int_equal(qt_store_record_question(s, session, p, &q, &good, 1, &e), -1);
    assert_non_null(strstr(e.msg, "JSON array"));
    q.gold_json = NULL;
    assert_int_equal(qt_store_record_question(s, session + 50, p, &q, &good, 1, &e), -1);
    /* The store still works after the failures. */
    ask(s, session, p, "third", 0, &good, 1);
    qt_store_close(s);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM questions"), 2);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM answers"), 2);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

/* Session A: models M1, M2; four questions (two answerable, one impossible,
 * one typed without gold, so unscored). Session B: M1 answers once more. */
static void aggregates_match_hand_computed_values(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int64_t sa = qt_store_begin_session(s, "compare", &e);
    int64_t m1 = add_model(s, "m1", "", "");
    int64_t m2 = add_model(s, "m2", "v", "");
    int64_t p = qt_store_passage_id(s, NULL, NULL, -1, "P.", &e);
    qt_answer_rec q1[2] = {answer(m1, "a", 1, 1.0, 10), answer(m2, "b", 0, 0.5, 40)};
    qt_answer_rec q2[2] = {answer(m1, "c", 0, 0.25, 20), answer(m2, "d", 1, 1.0, 30)};
    qt_answer_rec q3[2] = {answer(m1, "", 1, 1.0, 30), answer(m2, "e", 0, 0.0, 20)};
    qt_answer_rec q4[2] = {answer(m1, "f", -1, NAN, 40), answer(m2, "g", -1, NAN, NAN)};
    ask(s, sa, p, "q1", 0, q1, 2);
    ask(s, sa, p, "q2", 0, q2, 2);
    ask(s, sa, p, "q3", 1, q3, 2);
    ask(s, sa, p, "q4", 0, q4, 2);
    int64_t sb = qt_store_begin_session(s, "quiz", &e);
    qt_answer_rec q5 = answer(m1, "h", 1, 1.0, 50);
    ask(s, sb, p, "q5", 0, &q5, 1);

    qt_model_stats *st;
    size_t n;
    assert_int_equal(qt_store_model_stats(s, sa, &st, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(st[0].model_id, m1);
    assert_int_equal(st[0].n_answers, 4);
    assert_int_equal(st[0].n_scored, 3);
    assert_float_equal(st[0].em, 200.0 / 3, 1e-9);
    assert_float_equal(st[0].f1, 75.0, 1e-9);
    assert_int_equal(st[0].n_has_ans, 2);
    assert_float_equal(st[0].has_ans_em, 50.0, 1e-9);
    assert_float_equal(st[0].has_ans_f1, 62.5, 1e-9);
    assert_int_equal(st[0].n_no_ans, 1);
    assert_float_equal(st[0].no_ans_em, 100.0, 1e-9);
    assert_float_equal(st[0].no_ans_f1, 100.0, 1e-9);
    assert_int_equal(st[0].n_timed, 4);
    assert_float_equal(st[0].latency_p50, 25.0, 1e-9); /* 10 20 30 40 */
    assert_float_equal(st[0].latency_p95, 38.5, 1e-9); /* rank 2.85 */
    assert_float_equal(st[0].latency_mean, 25.0, 1e-9);

    assert_int_equal(st[1].model_id, m2);
    assert_string_equal(st[1].variant, "v");
    assert_float_equal(st[1].em, 100.0 / 3, 1e-9);
    assert_float_equal(st[1].f1, 50.0, 1e-9);
    assert_float_equal(st[1].has_ans_em, 50.0, 1e-9);
    assert_float_equal(st[1].has_ans_f1, 75.0, 1e-9);
    assert_float_equal(st[1].no_ans_em, 0.0, 1e-9);
    assert_int_equal(st[1].n_timed, 3);
    assert_float_equal(st[1].latency_p50, 30.0, 1e-9); /* 20 30 40 */
    assert_float_equal(st[1].latency_p95, 39.0, 1e-9); /* rank 1.9 */
    qt_model_stats_free(st, n);

    assert_int_equal(qt_store_model_stats(s, 0, &st, &n, &e), 0); /* all sessions */
    assert_int_equal(n, 2);
    assert_int_equal(st[0].n_scored, 4);
    assert_float_equal(st[0].em, 75.0, 1e-9);
    assert_float_equal(st[0].f1, 81.25, 1e-9);
    assert_float_equal(st[0].latency_p50, 30.0, 1e-9); /* 10 20 30 40 50 */
    assert_float_equal(st[0].latency_p95, 48.0, 1e-9); /* rank 3.8 */
    qt_model_stats_free(st, n);

    assert_int_equal(qt_store_model_stats(s, sb, &st, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_true(isnan(st[0].no_ans_em)); /* no impossible question in B */
    qt_model_stats_free(st, n);

    qt_session_info *info;
    assert_int_equal(qt_store_list_sessions(s, &info, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(info[0].n_questions, 4);
    assert_int_equal(info[0].n_models, 2);
    assert_float_equal(info[0].models[0].em, 200.0 / 3, 1e-9);
    assert_int_equal(info[0].models[0].n_scored, 3);
    assert_float_equal(info[0].models[1].em, 100.0 / 3, 1e-9);
    assert_int_equal(info[1].n_models, 1);
    assert_null(info[1].ended_at); /* still open: this process owns it */
    qt_session_infos_free(info, n);
    qt_store_close(s);
}

static void percentiles(void **state)
{
    (void)state;
    double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_true(isnan(qt_percentile_sorted(v, 0, 50)));
    assert_float_equal(qt_percentile_sorted(v, 1, 95), 1, 1e-12);
    assert_float_equal(qt_percentile_sorted(v, 10, 50), 5.5, 1e-12);
    assert_float_equal(qt_percentile_sorted(v, 10, 95), 9.55, 1e-12);
    assert_float_equal(qt_percentile_sorted(v, 10, 100), 10, 1e-12);
    assert_float_equal(qt_percentile_sorted(v, 10, 0), 1, 1e-12);
}

static void crashed_sessions_are_closed_on_next_open(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* dies without ending its session */
        qt_store *s = qt_store_open(f->db, &e);
        if (!s)
            _exit(3);
        int64_t session = qt_store_begin_session(s, "quiz", &e);
        int64_t m = add_model(s, "alpha", "", "");
        int64_t p = qt_store_passage_id(s, NULL, NULL, -1, "P.", &e);
        qt_answer_rec a = answer(m, "a", 1, 1, 1);
        qt_question_rec q = {.text = "q", .asked_at_ms = 1700000000123LL};
        _exit(session > 0 && qt_store_record_question(s, session, p, &q, &a, 1, &e) > 0 ? 0 : 4);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    assert_int_equal(qt_store_recovered_sessions(s), 1); /* the child's */
    int64_t mine = qt_store_begin_session(s, "compare", &e);
    qt_store_close(s);
    /* Sessions of a reused pid (wrong start time), of this live process, and
     * of another host whose processes we cannot see. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO sessions (started_at, host, user, mode, pid, pid_start) VALUES"
             " ('2024-01-01T00:00:00.000Z', (SELECT host FROM sessions WHERE id = %lld), 'u', 'm', %ld, 1),"
             " ('2024-01-01T00:00:00.000Z', 'elsewhere.invalid', 'u', 'm', 1, NULL)",
             (long long)mine, (long)getpid());
    sql_exec(f->db, sql);

    s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int recovered = qt_store_recovered_sessions(s);
    qt_session_info *info;
    size_t n;
    assert_int_equal(qt_store_list_sessions(s, &info, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_string_equal(info[0].end_reason, "crash");
    assert_string_equal(info[0].ended_at, "2023-11-14T22:13:20.123Z"); /* its last question */
    assert_null(info[1].ended_at);                                     /* mine, alive */
    assert_string_equal(info[2].end_reason, "crash");
    assert_string_equal(info[2].ended_at, "2024-01-01T00:00:00.000Z"); /* no question: its start */
    assert_null(info[3].ended_at);                                     /* other host */
    assert_int_equal(recovered, 1); /* the reused pid's; the child's was closed above */
    qt_session_infos_free(info, n);
    assert_int_equal(qt_store_end_session(s, mine, &e), 0);
    qt_store_close(s);
}

/* Another process holding the write lock for a moment makes a write wait
 * (busy timeout), not fail. */
static void a_busy_database_is_waited_for(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    qt_store *s = qt_store_open(f->db, &e);
    assert_non_null(s);
    int64_t session = qt_store_begin_session(s, "quiz", &e);
    int64_t m = add_model(s, "alpha", "", "");
    int64_t p = qt_store_passage_id(s, NULL, NULL, -1, "P.", &e);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sqlite3 *db;
        if (sqlite3_open(f->db, &db) != SQLITE_OK ||
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        if (write(ready[1], "x", 1) != 1)
            _exit(4);
        usleep(400 * 1000);
        _exit(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 5);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    qt_answer_rec a = answer(m, "a", 1, 1, 1);
    ask(s, session, p, "while locked", 0, &a, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(waited > 0.2); /* it really waited for the lock */
    close(ready[0]);
    close(ready[1]);
    qt_store_close(s);
}

/* Each refusal names the file and leaves its bytes as they were. */
static void expect_refusal(const char *path, const char *why)
{
    char before[QT_SHA256_HEX_LEN + 1], after[QT_SHA256_HEX_LEN + 1];
    struct stat st;
    int is_file = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    if (is_file)
        file_digest(path, before);
    qt_err e = {{0}};
    qt_store *s = qt_store_open(path, &e);
    if (s) {
        qt_store_close(s);
        fail_msg("%s: opened, expected a refusal (%s)", path, why);
    }
    if (!strstr(e.msg, path) || !strstr(e.msg, why))
        fail_msg("message '%s' lacks '%s' or '%s'", e.msg, path, why);
    assert_null(strchr(e.msg, '\n'));
    if (is_file) {
        file_digest(path, after);
        assert_string_equal(before, after);
    }
}

static void refusals_leave_files_alone(void **state)
{
    fixture *f = *state;
    qt_err e = {{0}};
    char path[192];

    expect_refusal(f->dir, "is a directory");

    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(qt_write_file_atomic(path, junk, sizeof junk, &e), 0);
    expect_refusal(path, "not an SQLite database");

    /* A real database cut in half. */
    snprintf(path, sizeof path, "%s/truncated.db", f->dir);
    qt_store *s = qt_store_open(path, &e);
    assert_non_null(s);
    int64_t session = qt_store_begin_session(s, "m", &e);
    int64_t m = add_model(s, "alpha", "", "");
    char text[2048];
    memset(text, 'w', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        text[0] = (char)('A' + i % 26);
        text[1] = (char)('A' + i / 26);
        int64_t p = qt_store_passage_id(s, NULL, NULL, -1, text, &e);
        qt_answer_rec a = answer(m, "a", 1, 1, 1);
        ask(s, session, p, "q", 0, &a, 1);
    }
    qt_store_close(s); /* checkpoints the WAL into the file */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 8192);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    expect_refusal(path, "damaged");

    snprintf(path, sizeof path, "%s/newer.db", f->dir);
    s = qt_store_open(path, &e);
    assert_non_null(s);
    qt_store_close(s);
    sql_exec(path, "PRAGMA user_version = 99");
    expect_refusal(path, "newer than this qaterm understands");

    snprintf(path, sizeof path, "%s/foreign.db", f->dir);
    sql_exec(path, "CREATE TABLE recipes (name TEXT)");
    expect_refusal(path, "not a qaterm database");
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"), 1);

    snprintf(path, sizeof path, "%s/no/such/dir/h.db", f->dir);
    expect_refusal(path, "cannot create the database");
    snprintf(path, sizeof path, "%s/garbage.db/h.db", f->dir);
    expect_refusal(path, "Not a directory");
    /* Unwritable places: /proc refuses even root. */
    expect_refusal("/proc/qaterm-store-test.db", "cannot create the database");
    if (geteuid() != 0) { /* permissions do not stop root */
        char ro[160];
        snprintf(ro, sizeof ro, "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(path, sizeof path, "%s/h.db", ro);
        expect_refusal(path, "is not writable");
        chmod(ro, 0755);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrates_empty_and_missing_files, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(models_and_passages_are_deduplicated, setup, teardown),
        cmocka_unit_test_setup_teardown(a_question_is_stored_whole_or_not_at_all, setup, teardown),
        cmocka_unit_test_setup_teardown(aggregates_match_hand_computed_values, setup, teardown),
        cmocka_unit_test(percentiles),
        cmocka_unit_test_setup_teardown(crashed_sessions_are_closed_on_next_open, setup, teardown),
        cmocka_unit_test_setup_teardown(a_busy_database_is_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_leave_files_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
