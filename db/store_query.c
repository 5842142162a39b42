/* Reading the store: sessions with per-model EM, one session's questions
 * with their answers, and per-model aggregates for the stats screen. */
#include "db/store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows *arr (of elem bytes) to hold at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return -1;
    memset((char *)p + *cap * elem, 0, (n - *cap) * elem);
    *arr = p;
    *cap = n;
    return 0;
}

static int out_of_memory(const qt_store *s, qt_err *e)
{
    return qt_fail(e, "%s: out of memory", s->path);
}

/* --- Sessions ---------------------------------------------------------- */

static const char *session_columns =
    "SELECT s.id, s.started_at, s.ended_at, s.end_reason, s.host, s.user, s.mode, s.pid,"
    " (SELECT count(*) FROM questions q WHERE q.session_id = s.id) FROM sessions s";

static void read_session(sqlite3_stmt *st, qt_session_info *info)
{
    info->id = sqlite3_column_int64(st, 0);
    info->started_at = qt_store_column_strdup(st, 1);
    info->ended_at = qt_store_column_strdup(st, 2);
    info->end_reason = qt_store_column_strdup(st, 3);
    info->host = qt_store_column_strdup(st, 4);
    info->user = qt_store_column_strdup(st, 5);
    info->mode = qt_store_column_strdup(st, 6);
    info->pid = sqlite3_column_int64(st, 7);
    info->n_questions = sqlite3_column_int(st, 8);
}

/* Adds each session's per-model EM; infos are sorted by id. */
static int add_model_em(qt_store *s, qt_session_info *infos, size_t n, int64_t only_session,
                        qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "SELECT q.session_id, m.id, m.name, m.variant, m.architecture, count(*), count(a.em),"
        " avg(a.em) * 100.0 FROM answers a JOIN questions q ON q.id = a.question_id"
        " JOIN models m ON m.id = a.model_id WHERE ?1 = 0 OR q.session_id = ?1"
        " GROUP BY q.session_id, m.id ORDER BY q.session_id, m.id",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, only_session);
    size_t k = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t sid = sqlite3_column_int64(st, 0);
        while (k < n && infos[k].id < sid) {
            k++;
            cap = 0;
        }
        if (k == n)
            break;
        if (infos[k].id != sid)
            continue;
        qt_session_info *info = &infos[k];
        if (grow((void **)&info->models, &cap, info->n_models + 1, sizeof *info->models) != 0) {
            sqlite3_finalize(st);
            return out_of_memory(s, e);
        }
        qt_model_em *m = &info->models[info->n_models++];
        m->model_id = sqlite3_column_int64(st, 1);
        m->name = qt_store_column_strdup(st, 2);
        m->variant = qt_store_column_strdup(st, 3);
        m->architecture = qt_store_column_strdup(st, 4);
        m->n_answers = sqlite3_column_int(st, 5);
        m->n_scored = sqlite3_column_int(st, 6);
        m->em = qt_store_column_double_or_nan(st, 7);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return qt_store_fail_sql(s, e, "cannot read the answers");
    }
    sqlite3_finalize(st);
    return 0;
}

static int read_sessions(qt_store *s, int64_t only_session, qt_session_info **out, size_t *n_out,
                         qt_err *e)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s%s ORDER BY s.id", session_columns,
             only_session ? " WHERE s.id = ?1" : "");
    sqlite3_stmt *st = qt_store_prepare(s, sql, e);
    if (!st)
        return -1;
    if (only_session)
        sqlite3_bind_int64(st, 1, only_session);
    qt_session_info *infos = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&infos, &cap, n + 1, sizeof *infos) != 0) {
            sqlite3_finalize(st);
            qt_session_infos_free(infos, n);
            return out_of_memory(s, e);
        }
        read_session(st, &infos[n++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        qt_session_infos_free(infos, n);
        return qt_store_fail_sql(s, e, "cannot read the sessions");
    }
    if (add_model_em(s, infos, n, only_session, e) != 0) {
        qt_session_infos_free(infos, n);
        return -1;
    }
    *out = infos;
    *n_out = n;
    return 0;
}

int qt_store_list_sessions(qt_store *s, qt_session_info **out, size_t *n, qt_err *e)
{
    return read_sessions(s, 0, out, n, e);
}

int qt_store_get_session(qt_store *s, int64_t session_id, qt_session_info **out, qt_err *e)
{
    size_t n = 0;
    if (session_id <= 0)
        return qt_fail(e, "%s: no session %lld", s->path, (long long)session_id);
    if (read_sessions(s, session_id, out, &n, e) != 0)
        return -1;
    if (n == 0) {
        free(*out);
        *out = NULL;
        return qt_fail(e, "%s: no session %lld", s->path, (long long)session_id);
    }
    return 0;
}

void qt_session_infos_free(qt_session_info *infos, size_t n)
{
    for (size_t i = 0; infos && i < n; i++) {
        qt_session_info *info = &infos[i];
        free(info->started_at);
        free(info->ended_at);
        free(info->end_reason);
        free(info->host);
        free(info->user);
        free(info->mode);
        for (size_t j = 0; j < info->n_models; j++) {
            free(info->models[j].name);
            free(info->models[j].variant);
            free(info->models[j].architecture);
        }
        free(info->models);
    }
    free(infos);
}

/* --- Questions with answers -------------------------------------------- */

static int read_answers(qt_store *s, int64_t session_id, qt_question_row *rows, size_t n, qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "SELECT a.question_id, a.model_id, m.name, m.variant, a.text, a.char_start, a.char_end,"
        " a.score, a.no_answer_prob, a.latency_ms, a.em, a.f1 FROM answers a"
        " JOIN questions q ON q.id = a.question_id JOIN models m ON m.id = a.model_id"
        " WHERE ?1 = 0 OR q.session_id = ?1 ORDER BY a.question_id, a.model_id",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, session_id);
    size_t k = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t qid = sqlite3_column_int64(st, 0);
        while (k < n && rows[k].id < qid) {
            k++;
            cap = 0;
        }
        if (k == n)
            break;
        if (rows[k].id != qid)
            continue;
        qt_question_row *row = &rows[k];
        if (grow((void **)&row->answers, &cap, row->n_answers + 1, sizeof *row->answers) != 0) {
            sqlite3_finalize(st);
            return out_of_memory(s, e);
        }
        qt_answer_row *a = &row->answers[row->n_answers++];
        a->model_id = sqlite3_column_int64(st, 1);
        a->model_name = qt_store_column_strdup(st, 2);
        a->model_variant = qt_store_column_strdup(st, 3);
        a->text = qt_store_column_strdup(st, 4);
        a->char_start = (int)qt_store_column_int_or(st, 5, -1);
        a->char_end = (int)qt_store_column_int_or(st, 6, -1);
        a->score = qt_store_column_double_or_nan(st, 7);
        a->no_answer_prob = qt_store_column_double_or_nan(st, 8);
        a->latency_ms = qt_store_column_double_or_nan(st, 9);
        a->em = (int)qt_store_column_int_or(st, 10, -1);
        a->f1 = qt_store_column_double_or_nan(st, 11);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return qt_store_fail_sql(s, e, "cannot read the answers");
    }
    sqlite3_finalize(st);
    return 0;
}

int qt_store_questions(qt_store *s, int64_t session_id, qt_question_row **out, size_t *n_out,
                       qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "SELECT q.id, q.session_id, q.passage_id, q.external_id, q.text, q.gold_answers,"
        " q.asked_at, q.is_impossible, p.title, p.source, p.paragraph_index FROM questions q"
        " JOIN passages p ON p.id = q.passage_id WHERE ?1 = 0 OR q.session_id = ?1 ORDER BY q.id",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, session_id);
    qt_question_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&rows, &cap, n + 1, sizeof *rows) != 0) {
            sqlite3_finalize(st);
            qt_question_rows_free(rows, n);
            return out_of_memory(s, e);
        }
        qt_question_row *r = &rows[n++];
        r->id = sqlite3_column_int64(st, 0);
        r->session_id = sqlite3_column_int64(st, 1);
        r->passage_id = sqlite3_column_int64(st, 2);
        r->external_id = qt_store_column_strdup(st, 3);
        r->text = qt_store_column_strdup(st, 4);
        r->gold_json = qt_store_column_strdup(st, 5);
        r->asked_at = qt_store_column_strdup(st, 6);
        r->is_impossible = sqlite3_column_int(st, 7);
        r->passage_title = qt_store_column_strdup(st, 8);
        r->passage_source = qt_store_column_strdup(st, 9);
        r->paragraph_index = (int)qt_store_column_int_or(st, 10, -1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        qt_question_rows_free(rows, n);
        return qt_store_fail_sql(s, e, "cannot read the questions");
    }
    if (read_answers(s, session_id, rows, n, e) != 0) {
        qt_question_rows_free(rows, n);
        return -1;
    }
    *out = rows;
    *n_out = n;
    return 0;
}

void qt_question_rows_free(qt_question_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        qt_question_row *r = &rows[i];
        free(r->external_id);
        free(r->text);
        free(r->gold_json);
        free(r->asked_at);
        free(r->passage_title);
        free(r->passage_source);
        for (size_t j = 0; j < r->n_answers; j++) {
            free(r->answers[j].model_name);
            free(r->answers[j].model_variant);
            free(r->answers[j].text);
        }
        free(r->answers);
    }
    free(rows);
}

/* --- Aggregates -------------------------------------------------------- */

double qt_percentile_sorted(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    if (p <= 0)
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* Latency percentiles: the sorted latencies of each model in turn. */
static int add_latencies(qt_store *s, int64_t session_id, qt_model_stats *stats, size_t n, qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "SELECT a.model_id, a.latency_ms FROM answers a JOIN questions q ON q.id = a.question_id"
        " WHERE (?1 = 0 OR q.session_id = ?1) AND a.latency_ms IS NOT NULL"
        " ORDER BY a.model_id, a.latency_ms",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, session_id);
    double *vals = NULL;
    size_t n_vals = 0, cap = 0, k = 0;
    int64_t current = -1;
    int rc, failed = 0;
    for (;;) {
        rc = sqlite3_step(st);
        int64_t model = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -2;
        if (model != current && current >= 0) {
            while (k < n && stats[k].model_id != current)
                k++;
            if (k < n) {
                double sum = 0;
                for (size_t i = 0; i < n_vals; i++)
                    sum += vals[i];
                stats[k].n_timed = (int)n_vals;
                stats[k].latency_p50 = qt_percentile_sorted(vals, n_vals, 50);
                stats[k].latency_p95 = qt_percentile_sorted(vals, n_vals, 95);
                stats[k].latency_mean = n_vals ? sum / (double)n_vals : NAN;
            }
            k = 0;
            n_vals = 0;
        }
        if (rc != SQLITE_ROW)
            break;
        current = model;
        if (grow((void **)&vals, &cap, n_vals + 1, sizeof *vals) != 0) {
            failed = 1;
            break;
        }
        vals[n_vals++] = sqlite3_column_double(st, 1);
    }
    free(vals);
    if (failed) {
        sqlite3_finalize(st);
        return out_of_memory(s, e);
    }
    if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return qt_store_fail_sql(s, e, "cannot read the latencies");
    }
    sqlite3_finalize(st);
    return 0;
}

int qt_store_model_stats(qt_store *s, int64_t session_id, qt_model_stats **out, size_t *n_out,
                         qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(
        s,
        "SELECT m.id, m.name, m.variant, m.architecture, count(*), count(a.em),"
        " avg(a.em) * 100.0, avg(a.f1) * 100.0,"
        " count(CASE WHEN q.is_impossible = 0 THEN a.em END),"
        " avg(CASE WHEN q.is_impossible = 0 THEN a.em END) * 100.0,"
        " avg(CASE WHEN q.is_impossible = 0 THEN a.f1 END) * 100.0,"
        " count(CASE WHEN q.is_impossible = 1 THEN a.em END),"
        " avg(CASE WHEN q.is_impossible = 1 THEN a.em END) * 100.0,"
        " avg(CASE WHEN q.is_impossible = 1 THEN a.f1 END) * 100.0"
        " FROM answers a JOIN questions q ON q.id = a.question_id"
        " JOIN models m ON m.id = a.model_id WHERE ?1 = 0 OR q.session_id = ?1"
        " GROUP BY m.id ORDER BY m.id",
        e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, session_id);
    qt_model_stats *stats = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&stats, &cap, n + 1, sizeof *stats) != 0) {
            sqlite3_finalize(st);
            qt_model_stats_free(stats, n);
            return out_of_memory(s, e);
        }
        qt_model_stats *m = &stats[n++];
        m->model_id = sqlite3_column_int64(st, 0);
        m->name = qt_store_column_strdup(st, 1);
        m->variant = qt_store_column_strdup(st, 2);
        m->architecture = qt_store_column_strdup(st, 3);
        m->n_answers = sqlite3_column_int(st, 4);
        m->n_scored = sqlite3_column_int(st, 5);
        m->em = qt_store_column_double_or_nan(st, 6);
        m->f1 = qt_store_column_double_or_nan(st, 7);
        m->n_has_ans = sqlite3_column_int(st, 8);
        m->has_ans_em = qt_store_column_double_or_nan(st, 9);
        m->has_ans_f1 = qt_store_column_double_or_nan(st, 10);
        m->n_no_ans = sqlite3_column_int(st, 11);
        m->no_ans_em = qt_store_column_double_or_nan(st, 12);
        m->no_ans_f1 = qt_store_column_double_or_nan(st, 13);
        m->latency_p50 = m->latency_p95 = m->latency_mean = NAN;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        qt_model_stats_free(stats, n);
        return qt_store_fail_sql(s, e, "cannot read the answers");
    }
    if (add_latencies(s, session_id, stats, n, e) != 0) {
        qt_model_stats_free(stats, n);
        return -1;
    }
    *out = stats;
    *n_out = n;
    return 0;
}

void qt_model_stats_free(qt_model_stats *stats, size_t n)
{
    for (size_t i = 0; stats && i < n; i++) {
        free(stats[i].name);
        free(stats[i].variant);
        free(stats[i].architecture);
    }
    free(stats);
}
