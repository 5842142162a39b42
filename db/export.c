/* qaterm history export: CSV (one row per answer), JSON (sessions with
 * their questions and answers, plus the models and passages they use) and
 * SQuAD predictions files. */
#include "db/export.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db/store_internal.h"
#include "util/file.h"
#include "util/paths.h"

int qt_export_parse_format(const char *name, qt_export_format *out)
{
    static const struct {
        const char *name;
        qt_export_format format;
    } formats[] = {{"csv", QT_EXPORT_CSV}, {"json", QT_EXPORT_JSON}, {"squad", QT_EXPORT_SQUAD}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (name && strcmp(name, formats[i].name) == 0) {
            *out = formats[i].format;
            return 0;
        }
    return -1;
}

/* Writes the finished bytes to PATH (atomically) or stdout. */
static int emit(const char *path, const char *data, size_t len, qt_err *e)
{
    if (path)
        return qt_write_file_atomic(path, data, len, e);
    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
        return qt_fail(e, "<stdout>: write error: %s", strerror(errno));
    return 0;
}

/* --- CSV --------------------------------------------------------------- */

/* RFC 4180: quote fields holding a comma, quote or line break. */
static void csv_field(FILE *f, const char *v, int last)
{
    if (v && strpbrk(v, ",\"\r\n")) {
        fputc('"', f);
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else if (v) {
        fputs(v, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void csv_int(FILE *f, int64_t v, int present)
{
    if (present)
        fprintf(f, "%lld", (long long)v);
    fputc(',', f);
}

static void csv_real(FILE *f, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    fputs(last ? "\r\n" : ",", f);
}

static void csv_question(FILE *f, const qt_question_row *q)
{
    csv_int(f, q->session_id, 1);
    csv_int(f, q->id, 1);
    csv_field(f, q->external_id, 0);
    csv_field(f, q->asked_at, 0);
    csv_int(f, q->passage_id, 1);
    csv_field(f, q->passage_title, 0);
    csv_field(f, q->text, 0);
    csv_field(f, q->gold_json, 0);
    csv_int(f, q->is_impossible, 1);
}

static int export_csv(qt_store *s, int64_t session_id, const char *path, qt_err *e)
{
    qt_question_row *rows;
    size_t n;
    if (qt_store_questions(s, session_id, &rows, &n, e) != 0)
        return -1;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        qt_question_rows_free(rows, n);
        return qt_fail(e, "out of memory");
    }
    fputs("session_id,question_id,external_id,asked_at,passage_id,passage_title,question,"
          "gold_answers,is_impossible,model_id,model,variant,answer,char_start,char_end,score,"
          "no_answer_prob,latency_ms,em,f1\r\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const qt_question_row *q = &rows[i];
        if (q->n_answers == 0) { /* a question nobody answered still shows */
            csv_question(f, q);
            fputs(",,,,,,,,,,\r\n", f);
        }
        for (size_t j = 0; j < q->n_answers; j++) {
            const qt_answer_row *a = &q->answers[j];
            csv_question(f, q);
            csv_int(f, a->model_id, 1);
            csv_field(f, a->model_name, 0);
            csv_field(f, a->model_variant, 0);
            csv_field(f, a->text, 0);
            csv_int(f, a->char_start, a->char_start >= 0);
            csv_int(f, a->char_end, a->char_start >= 0);
            csv_real(f, a->score, 0);
            csv_real(f, a->no_answer_prob, 0);
            csv_real(f, a->latency_ms, 0);
            csv_int(f, a->em, a->em >= 0);
            csv_real(f, a->f1, 1);
        }
    }
    fclose(f);
    qt_question_rows_free(rows, n);
    int rc = emit(path, buf, len, e);
    free(buf);
    return rc;
}

/* --- JSON -------------------------------------------------------------- */

static void add_text(cJSON *obj, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

static void add_real(cJSON *obj, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

static void add_int(cJSON *obj, const char *key, int64_t v, int present)
{
    if (present)
        cJSON_AddNumberToObject(obj, key, (double)v);
    else
        cJSON_AddNullToObject(obj, key);
}

/* Rows of a query as objects, one key per column (NULL stays null). */
static int query_objects(qt_store *s, const char *sql, int64_t session_id, cJSON *array, qt_err *e)
{
    sqlite3_stmt *st = qt_store_prepare(s, sql, e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, session_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *obj = cJSON_CreateObject();
        cJSON_AddItemToArray(array, obj);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const char *key = sqlite3_column_name(st, c);
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                cJSON_AddNullToObject(obj, key);
                break;
            case SQLITE_INTEGER:
            case SQLITE_FLOAT:
                cJSON_AddNumberToObject(obj, key, sqlite3_column_double(st, c));
                break;
            default:
                cJSON_AddStringToObject(obj, key, (const char *)sqlite3_column_text(st, c));
            }
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : qt_store_fail_sql(s, e, "cannot read the database");
}

static cJSON *question_json(const qt_question_row *q)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "id", (double)q->id);
    add_text(obj, "external_id", q->external_id);
    add_text(obj, "asked_at", q->asked_at);
    cJSON_AddNumberToObject(obj, "passage_id", (double)q->passage_id);
    add_text(obj, "question", q->text);
    cJSON *gold = cJSON_Parse(q->gold_json ? q->gold_json : "[]");
    if (gold)
        cJSON_AddItemToObject(obj, "gold_answers", gold);
    else
        add_text(obj, "gold_answers", q->gold_json);
    cJSON_AddBoolToObject(obj, "is_impossible", q->is_impossible);
    cJSON *answers = cJSON_AddArrayToObject(obj, "answers");
    for (size_t j = 0; j < q->n_answers; j++) {
        const qt_answer_row *a = &q->answers[j];
        cJSON *ao = cJSON_CreateObject();
        cJSON_AddItemToArray(answers, ao);
        cJSON_AddNumberToObject(ao, "model_id", (double)a->model_id);
        add_text(ao, "model", a->model_name);
        add_text(ao, "text", a->text);
        add_int(ao, "char_start", a->char_start, a->char_start >= 0);
        add_int(ao, "char_end", a->char_end, a->char_start >= 0);
        add_real(ao, "score", a->score);
        add_real(ao, "no_answer_prob", a->no_answer_prob);
        add_real(ao, "latency_ms", a->latency_ms);
        add_int(ao, "em", a->em, a->em >= 0);
        add_real(ao, "f1", a->f1);
    }
    return obj;
}

static cJSON *session_json(const qt_session_info *info, const qt_question_row *rows, size_t n)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddNumberToObject(obj, "id", (double)info->id);
    add_text(obj, "started_at", info->started_at);
    add_text(obj, "ended_at", info->ended_at);
    add_text(obj, "end_reason", info->end_reason);
    add_text(obj, "host", info->host);
    add_text(obj, "user", info->user);
    add_text(obj, "mode", info->mode);
    cJSON *qs = cJSON_AddArrayToObject(obj, "questions");
    for (size_t i = 0; i < n; i++)
        if (rows[i].session_id == info->id)
            cJSON_AddItemToArray(qs, question_json(&rows[i]));
    return obj;
}

static int export_json(qt_store *s, int64_t session_id, const char *path, qt_err *e)
{
    qt_session_info *infos = NULL;
    size_t n_infos = 0, n_rows = 0;
    qt_question_row *rows = NULL;
    int rc = -1;
    if (session_id ? qt_store_get_session(s, session_id, &infos, e) != 0
                   : qt_store_list_sessions(s, &infos, &n_infos, e) != 0)
        return -1;
    if (session_id)
        n_infos = 1;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "qaterm_history_format", 1);
    cJSON_AddNumberToObject(root, "schema_version", qt_store_schema_version());
    cJSON *models = cJSON_AddArrayToObject(root, "models");
    cJSON *passages = cJSON_AddArrayToObject(root, "passages");
    cJSON *sessions = cJSON_AddArrayToObject(root, "sessions");
    if (query_objects(s,
                      "SELECT id, name, architecture, variant, checkpoint_path, checkpoint_sha256,"
                      " parameter_count, bytes_on_disk FROM models WHERE id IN (SELECT a.model_id"
                      " FROM answers a JOIN questions q ON q.id = a.question_id"
                      " WHERE ?1 = 0 OR q.session_id = ?1) ORDER BY id",
                      session_id, models, e) != 0 ||
        query_objects(s,
                      "SELECT id, source, title, paragraph_index, text_sha256, text FROM passages"
                      " WHERE id IN (SELECT passage_id FROM questions WHERE ?1 = 0 OR"
                      " session_id = ?1) ORDER BY id",
                      session_id, passages, e) != 0 ||
        qt_store_questions(s, session_id, &rows, &n_rows, e) != 0)
        goto done;
    for (size_t i = 0; i < n_infos; i++)
        cJSON_AddItemToArray(sessions, session_json(&infos[i], rows, n_rows));
    char *text = cJSON_Print(root);
    if (!text) {
        qt_fail(e, "out of memory");
        goto done;
    }
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL; emit() takes a length */
    rc = emit(path, text, len + 1, e);
    free(text);
done:
    cJSON_Delete(root);
    qt_question_rows_free(rows, n_rows);
    qt_session_infos_free(infos, n_infos);
    return rc;
}

/* --- SQuAD predictions ------------------------------------------------- */

typedef struct model_predictions {
    int64_t model_id;
    char label[256]; /* file name part: name[-variant], made safe */
    cJSON *map;      /* {qid: text} */
    int count;
} model_predictions;

static void safe_label(char *out, size_t cap, const char *name, const char *variant)
{
    snprintf(out, cap, "%s%s%s", name ? name : "model", variant && *variant ? "-" : "",
             variant ? variant : "");
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_'))
            *p = '_';
    if (out[0] == '.')
        out[0] = '_'; /* no hidden files, no ".." */
}

static model_predictions *find_model(model_predictions **models, size_t *n, const qt_answer_row *a)
{
    for (size_t i = 0; i < *n; i++)
        if ((*models)[i].model_id == a->model_id)
            return &(*models)[i];
    model_predictions *grown = realloc(*models, (*n + 1) * sizeof **models);
    if (!grown)
        return NULL;
    *models = grown;
    model_predictions *m = &grown[(*n)++];
    m->model_id = a->model_id;
    safe_label(m->label, sizeof m->label, a->model_name, a->model_variant);
    /* Two checkpoints of one name and variant: tell the files apart by id. */
    for (size_t i = 0; i + 1 < *n; i++)
        if (strcmp(grown[i].label, m->label) == 0) {
            size_t used = strlen(m->label);
            snprintf(m->label + used, sizeof m->label - used, "-m%lld", (long long)m->model_id);
            break;
        }
    m->map = cJSON_CreateObject();
    m->count = 0;
    return m;
}

static int write_predictions(const char *dir, model_predictions *m, FILE *report, qt_err *e)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/predictions-%s.json", dir, m->label);
    char *text = cJSON_Print(m->map);
    if (!text)
        return qt_fail(e, "%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n';
    int rc = qt_write_file_atomic(path, text, len + 1, e);
    free(text);
    if (rc == 0 && report)
        fprintf(report, "wrote %s (%d predictions)\n", path, m->count);
    return rc;
}

static int export_squad(qt_store *s, int64_t session_id, const char *dir, FILE *report, qt_err *e)
{
    if (!dir)
        dir = ".";
    if (qt_path_is_file(dir))
        return qt_fail(e, "%s: is a file; squad export needs a directory for one file per model",
                       dir);
    qt_question_row *rows;
    size_t n_rows, n_models = 0;
    if (qt_store_questions(s, session_id, &rows, &n_rows, e) != 0)
        return -1;
    model_predictions *models = NULL;
    int rc = -1, with_id = 0;
    /* Questions in the order asked: a question asked again later wins. */
    for (size_t i = 0; i < n_rows; i++) {
        const qt_question_row *q = &rows[i];
        if (!q->external_id || !*q->external_id)
            continue;
        with_id++;
        for (size_t j = 0; j < q->n_answers; j++) {
            model_predictions *m = find_model(&models, &n_models, &q->answers[j]);
            if (!m) {
                qt_fail(e, "out of memory");
                goto done;
            }
            cJSON *text = cJSON_CreateString(q->answers[j].text ? q->answers[j].text : "");
            if (cJSON_GetObjectItemCaseSensitive(m->map, q->external_id)) {
                cJSON_ReplaceItemInObjectCaseSensitive(m->map, q->external_id, text);
            } else {
                cJSON_AddItemToObject(m->map, q->external_id, text);
                m->count++;
            }
        }
    }
    if (n_models == 0) {
        qt_fail(e, "%s: nothing to export: %s", s->path,
                with_id ? "the questions with a SQuAD id have no answers"
                        : "no recorded question has a SQuAD id");
        goto done;
    }
    if (qt_mkdir_p(dir, e) != 0)
        goto done;
    for (size_t i = 0; i < n_models; i++)
        if (write_predictions(dir, &models[i], report, e) != 0)
            goto done;
    rc = 0;
done:
    for (size_t i = 0; i < n_models; i++)
        cJSON_Delete(models[i].map);
    free(models);
    qt_question_rows_free(rows, n_rows);
    return rc;
}

int qt_store_export(qt_store *s, qt_export_format format, int64_t session_id, const char *out,
                    FILE *report, qt_err *e)
{
    if (session_id) { /* an unknown session is an error, not an empty file */
        qt_session_info *info;
        if (qt_store_get_session(s, session_id, &info, e) != 0)
            return -1;
        qt_session_infos_free(info, 1);
    }
    if (format == QT_EXPORT_SQUAD)
        return export_squad(s, session_id, out, report, e);
    char path[PATH_MAX];
    if (out && qt_path_is_dir(out)) {
        snprintf(path, sizeof path, "%s/qaterm-history.%s", out,
                 format == QT_EXPORT_CSV ? "csv" : "json");
        out = path;
    }
    return format == QT_EXPORT_CSV ? export_csv(s, session_id, out, e)
                                   : export_json(s, session_id, out, e);
}
