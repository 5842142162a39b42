/* qaterm predict: one model answers every question of a SQuAD file; the
 * answers go to an official predictions file (question id -> answer text,
 * "" for no answer) and, optionally, the no-answer probabilities to a file
 * in the format of evaluate-v2.0.py's --na-prob-file. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "models/model.h"
#include "qa/squad.h"
#include "util/err.h"
#include "util/file.h"

static const char predict_usage[] =
    "usage: qaterm predict --model DIR --data FILE --out PRED.json [--na-prob-out FILE] "
    "[--always-answer] [--limit N]\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* Progress on stderr: a bar redrawn in place on a terminal (at most ten
 * times a second), else one line per tenth of the work. */
typedef struct progress {
    int tty, total, last_decile;
    double start, last_draw;
} progress;

static void progress_init(progress *p, int total)
{
    p->tty = isatty(STDERR_FILENO);
    p->total = total;
    p->last_decile = 0;
    p->start = p->last_draw = now_s();
}

static void progress_update(progress *p, int done)
{
    double t = now_s(), elapsed = t - p->start;
    double rate = elapsed > 0 ? done / elapsed : 0;
    char eta[32];
    format_duration(rate > 0 ? (p->total - done) / rate : -1, eta, sizeof eta);
    int pct = p->total ? (int)(100.0 * done / p->total) : 100;
    if (p->tty) {
        if (done < p->total && t - p->last_draw < 0.1)
            return;
        p->last_draw = t;
        enum { WIDTH = 30 };
        char bar[WIDTH + 1];
        int fill = p->total ? (int)((double)WIDTH * done / p->total) : WIDTH;
        for (int i = 0; i < WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[WIDTH] = 0;
        fprintf(stderr, "\r%3d%% [%s] %d/%d  %.1f q/s  ETA %s  ", pct, bar, done, p->total, rate, eta);
        if (done == p->total)
            fputc('\n', stderr);
    } else {
        int decile = p->total ? 10 * done / p->total : 10;
        if (decile <= p->last_decile)
            return;
        p->last_decile = decile;
        fprintf(stderr, "predict: %d%% (%d/%d), %.1f q/s, ETA %s\n", pct, done, p->total, rate, eta);
    }
    fflush(stderr);
}

static int write_json(const char *path, const cJSON *obj, qt_err *e)
{
    char *text = cJSON_Print(obj);
    if (!text)
        return qt_fail(e, "%s: out of memory", path);
    int rc = 0;
    if (strcmp(path, "-") == 0) {
        if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
            rc = qt_fail(e, "<stdout>: %s", strerror(errno));
    } else {
        size_t n = strlen(text);
        text[n] = '\n'; /* replaces the terminator: write exactly n + 1 bytes */
        rc = qt_write_file_atomic(path, text, n + 1, e);
    }
    free(text);
    return rc;
}

static int parse_limit(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static int run_predict(const char *model_dir, const char *data_path, const char *out_path,
                       const char *na_path, int always_answer, int limit)
{
    qt_err e = {{0}};
    qt_squad data = {0};
    qt_model *m = NULL;
    cJSON *preds = cJSON_CreateObject(), *na = cJSON_CreateObject();
    int rc = QT_EXIT_FAIL;
    if (!preds || !na) {
        qt_fail(&e, "out of memory");
        goto done;
    }
    if (qt_squad_load(data_path, &data, &e) != 0)
        goto done;
    if (!(m = qt_model_load(model_dir, &e)))
        goto done;
    int total = data.n_questions;
    if (limit > 0 && limit < total)
        total = limit;
    progress prog;
    progress_init(&prog, total);
    int no_answer = 0;
    for (int i = 0; i < total; i++) {
        const qt_question *q = &data.questions[i];
        if (data.n_duplicate_ids && qt_squad_find(&data, q->id) != q) {
            progress_update(&prog, i + 1); /* the first question with this id wins */
            continue;
        }
        qt_qa_answer a;
        const char *context = data.paragraphs[q->paragraph].context;
        if (qt_model_answer(m, q->text, context, &a, &e) != 0) {
            if (prog.tty)
                fputc('\n', stderr);
            qt_fail_prefix(&e, "question %s", q->id);
            goto done;
        }
        const char *text = a.has_answer ? a.text : always_answer && a.best_text ? a.best_text : "";
        no_answer += !*text;
        int ok = cJSON_AddStringToObject(preds, q->id, text) &&
                 cJSON_AddNumberToObject(na, q->id, a.no_answer_prob);
        qt_qa_answer_free(&a);
        if (!ok) {
            qt_fail(&e, "out of memory");
            goto done;
        }
        progress_update(&prog, i + 1);
    }
    if (total == 0)
        progress_update(&prog, 0);
    if (write_json(out_path, preds, &e) != 0 || (na_path && write_json(na_path, na, &e) != 0))
        goto done;
    double elapsed = now_s() - prog.start;
    fprintf(stderr, "predict: %d questions in %.1f s (%.1f q/s), %d with no answer; wrote %s%s%s\n",
            total, elapsed, elapsed > 0 ? total / elapsed : 0.0, no_answer,
            strcmp(out_path, "-") == 0 ? "<stdout>" : out_path, na_path ? " and " : "",
            na_path ? (strcmp(na_path, "-") == 0 ? "<stdout>" : na_path) : "");
    rc = QT_EXIT_OK;
done:
    if (rc != QT_EXIT_OK)
        qt_err_print(&e);
    cJSON_Delete(preds);
    cJSON_Delete(na);
    qt_model_free(m);
    qt_squad_free(&data);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"na-prob-out", required_argument, NULL, 'n'},
        {"always-answer", no_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *data = NULL, *out = NULL, *na = NULL;
    int always = 0, limit = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:d:o:n:al:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (model) {
                fprintf(stderr, "qaterm: predict: give one --model (use ask to compare models)\n");
                return QT_EXIT_USAGE;
            }
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            na = optarg;
            break;
        case 'a':
            always = 1;
            break;
        case 'l':
            if (parse_limit(optarg, &limit) != 0) {
                fprintf(stderr, "qaterm: predict: --limit needs a positive whole number, got '%s'\n", optarg);
                return QT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(predict_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            fprintf(stderr, "qaterm: predict: option '%s' needs a value\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            fprintf(stderr, "qaterm: predict: unknown option '%s'\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaterm: predict: unexpected argument '%s'\n", argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!model || !data || !out) {
        fprintf(stderr, "qaterm: predict: --model DIR, --data FILE and --out PRED.json are required\n");
        return QT_EXIT_USAGE;
    }
    if (na && strcmp(na, "-") == 0 && strcmp(out, "-") == 0) {
        fprintf(stderr, "qaterm: predict: --out and --na-prob-out cannot both be standard output\n");
        return QT_EXIT_USAGE;
    }
    return run_predict(model, data, out, na, always, limit);
}
