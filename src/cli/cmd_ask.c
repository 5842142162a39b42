/* qaterm ask: one question about one context, answered by one model or by
 * several side by side (a table, or a JSON array with --json). */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "models/model.h"
#include "util/err.h"
#include "util/file.h"

#define ASK_MAX_MODELS 16
#define ASK_ANSWER_COLS 48
#define ASK_MODEL_COLS 24

static const char ask_usage[] =
    "usage: qaterm ask [--model DIR ...] --context FILE|- --question TEXT [--json] [--always-answer]\n";

typedef struct ask_result {
    qt_model *model;
    qt_qa_answer answer;
} ask_result;

/* What to show: the answer, or with --always-answer the best span even
 * below the threshold; NULL means "no answer". */
static const char *shown_text(const qt_qa_answer *a, int always_answer)
{
    if (a->has_answer)
        return a->text;
    if (always_answer && a->best_text && *a->best_text)
        return a->best_text;
    return NULL;
}

/* One code point of s; a byte that does not start valid UTF-8 reads as
 * U+FFFD, one byte long. Returns the bytes taken. */
static int next_cp(const char *s, utf8proc_int32_t *cp)
{
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s, -1, cp);
    if (n <= 0) {
        *cp = 0xFFFD;
        return 1;
    }
    return (int)n;
}

/* Terminal columns of a code point; control characters show as a space. */
static int cp_cols(utf8proc_int32_t cp)
{
    if (cp < 0x20 || cp == 0x7f)
        return 1;
    int w = utf8proc_charwidth(cp);
    return w < 0 ? 0 : w;
}

/* Copies s into out for a table cell of at most `cols` terminal columns:
 * control characters become spaces, a text too long ends with "...".
 * Returns the columns used. */
static int fit_cell(const char *s, int cols, char *out, size_t cap)
{
    int total = 0;
    for (const char *p = s; *p;) {
        utf8proc_int32_t cp;
        p += next_cp(p, &cp);
        total += cp_cols(cp);
    }
    int limit = total <= cols ? cols : cols - 3;
    size_t o = 0;
    int used = 0;
    while (*s) {
        utf8proc_int32_t cp;
        int n = next_cp(s, &cp), w = cp_cols(cp);
        if (used + w > limit || o + (size_t)n + 4 >= cap)
            break;
        if (cp < 0x20 || cp == 0x7f) {
            out[o++] = ' ';
        } else if (n == 1 && (unsigned char)*s >= 0x80) {
            out[o++] = '?'; /* not UTF-8 */
        } else {
            memcpy(out + o, s, (size_t)n);
            o += (size_t)n;
        }
        used += w;
        s += n;
    }
    if (total > cols) {
        memcpy(out + o, "...", 3);
        o += 3;
        used += 3;
    }
    out[o] = 0;
    return used;
}

static void print_cell(const char *s, int cols, int left)
{
    char buf[1024];
    int used = fit_cell(s, cols, buf, sizeof buf);
    if (left)
        printf("%s%*s", buf, cols - used, "");
    else
        printf("%*s%s", cols - used, "", buf);
}

static void print_one(const ask_result *r, int always_answer)
{
    const qt_qa_answer *a = &r->answer;
    const char *text = shown_text(a, always_answer);
    printf("%s\n", text ? text : "no answer");
    printf("(%s: confidence %.3f, no-answer probability %.3f, %.1f ms%s)\n", r->model->info.name,
           a->confidence, a->no_answer_prob, a->latency_ms,
           text && !a->has_answer ? "; below the no-answer threshold" : "");
}

static void print_table(const ask_result *rs, int n, int always_answer)
{
    int mcols = 5, acols = 9;
    for (int i = 0; i < n; i++) {
        char buf[1024];
        int w = fit_cell(rs[i].model->info.name, ASK_MODEL_COLS, buf, sizeof buf);
        mcols = w > mcols ? w : mcols;
        const char *t = shown_text(&rs[i].answer, always_answer);
        w = fit_cell(t ? t : "no answer", ASK_ANSWER_COLS, buf, sizeof buf);
        acols = w > acols ? w : acols;
    }
    print_cell("model", mcols, 1);
    printf("  ");
    print_cell("answer", acols, 1);
    printf("  confidence  no-answer  latency ms\n");
    for (int i = 0; i < n; i++) {
        const qt_qa_answer *a = &rs[i].answer;
        const char *t = shown_text(a, always_answer);
        print_cell(rs[i].model->info.name, mcols, 1);
        printf("  ");
        print_cell(t ? t : "no answer", acols, 1);
        printf("  %10.3f  %9.3f  %10.1f\n", a->confidence, a->no_answer_prob, a->latency_ms);
    }
}

static int print_json(const ask_result *rs, int n, int always_answer)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        const qt_qa_answer *a = &rs[i].answer;
        const qt_model_info *info = &rs[i].model->info;
        const char *t = shown_text(a, always_answer);
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            cJSON_Delete(arr);
            return -1;
        }
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "model", info->name);
        cJSON_AddStringToObject(o, "arch", info->arch);
        cJSON_AddStringToObject(o, "path", info->path);
        cJSON_AddStringToObject(o, "answer", t ? t : "");
        cJSON_AddBoolToObject(o, "has_answer", a->has_answer);
        cJSON_AddNumberToObject(o, "char_start", t ? (a->has_answer ? a->char_start : a->best_char_start) : -1);
        cJSON_AddNumberToObject(o, "char_end", t ? (a->has_answer ? a->char_end : a->best_char_end) : -1);
        cJSON_AddNumberToObject(o, "confidence", a->confidence);
        cJSON_AddNumberToObject(o, "no_answer_prob", a->no_answer_prob);
        if (isfinite(a->margin))
            cJSON_AddNumberToObject(o, "margin", a->margin);
        else
            cJSON_AddNullToObject(o, "margin");
        cJSON_AddNumberToObject(o, "score", a->score);
        cJSON_AddStringToObject(o, "best_text", a->best_text ? a->best_text : "");
        cJSON_AddNumberToObject(o, "best_char_start", a->best_char_start);
        cJSON_AddNumberToObject(o, "best_char_end", a->best_char_end);
        cJSON_AddNumberToObject(o, "latency_ms", a->latency_ms);
    }
    char *text = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

static int blank(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    return *s == 0;
}

int cmd_ask(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"context", required_argument, NULL, 'c'},
        {"question", required_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'j'},
        {"always-answer", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dirs[ASK_MAX_MODELS];
    int n_dirs = 0, json = 0, always = 0;
    const char *ctx_path = NULL, *question = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:c:q:jah", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (n_dirs == ASK_MAX_MODELS) {
                fprintf(stderr, "qaterm: ask: at most %d --model options\n", ASK_MAX_MODELS);
                return QT_EXIT_USAGE;
            }
            dirs[n_dirs++] = optarg;
            break;
        case 'c':
            ctx_path = optarg;
            break;
        case 'q':
            question = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'a':
            always = 1;
            break;
        case 'h':
            fputs(ask_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            fprintf(stderr, "qaterm: ask: option '%s' needs a value\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            fprintf(stderr, "qaterm: ask: unknown option '%s'\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaterm: ask: unexpected argument '%s' (the question goes after --question)\n",
                argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!question) {
        fprintf(stderr, "qaterm: ask: --question TEXT is required\n");
        return QT_EXIT_USAGE;
    }
    if (blank(question)) {
        fprintf(stderr, "qaterm: ask: the question is empty\n");
        return QT_EXIT_USAGE;
    }
    if (!ctx_path) {
        fprintf(stderr, "qaterm: ask: --context FILE (or - for standard input) is required\n");
        return QT_EXIT_USAGE;
    }

    static char defaults[ASK_MAX_MODELS][4096];
    if (n_dirs == 0) {
        n_dirs = qt_default_model_dirs(defaults, ASK_MAX_MODELS);
        if (n_dirs == 0) {
            fprintf(stderr, "qaterm: ask: no --model given and no default models are installed\n");
            return QT_EXIT_FAIL;
        }
        for (int i = 0; i < n_dirs; i++)
            dirs[i] = defaults[i];
    }

    qt_err e = {{0}};
    char *context = NULL;
    size_t context_len = 0;
    if (qt_read_file(ctx_path, 0, &context, &context_len, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    ask_result rs[ASK_MAX_MODELS];
    memset(rs, 0, sizeof rs);
    int rc = QT_EXIT_FAIL, loaded = 0;
    for (; loaded < n_dirs; loaded++) {
        rs[loaded].model = qt_model_load(dirs[loaded], &e);
        if (!rs[loaded].model) {
            qt_err_print(&e);
            goto done;
        }
    }
    for (int i = 0; i < n_dirs; i++) {
        if (qt_model_answer(rs[i].model, question, context, &rs[i].answer, &e) != 0) {
            qt_fail_prefix(&e, "%s", rs[i].model->info.name);
            qt_err_print(&e);
            goto done;
        }
    }
    if (json) {
        if (print_json(rs, n_dirs, always) != 0) {
            fprintf(stderr, "qaterm: ask: out of memory\n");
            goto done;
        }
    } else if (n_dirs == 1) {
        print_one(&rs[0], always);
    } else {
        print_table(rs, n_dirs, always);
    }
    rc = QT_EXIT_OK;
done:
    for (int i = 0; i < loaded; i++) {
        qt_qa_answer_free(&rs[i].answer);
        qt_model_free(rs[i].model);
    }
    free(context);
    return rc;
}
