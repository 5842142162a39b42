/* qaterm score: the official SQuAD 2.0 evaluation (evaluate-v2.0.py) of a
 * predictions file, printed as that script prints it, plus na_prob_auroc. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "qa/score.h"
#include "qa/squad.h"
#include "util/json.h"

static const char score_usage[] =
    "usage: qaterm score DATA.json PRED.json [--na-prob FILE] [--na-prob-thresh T]\n";

/* Like Python's float(): surrounding whitespace allowed, nothing else. */
static int parse_double(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end); /* overflow gives inf, as float() does */
    if (end == s)
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int score_files(const char *data_path, const char *pred_path, const char *na_path, double thresh)
{
    qt_err e = {{0}};
    qt_squad data = {0};
    cJSON *preds = NULL, *na = NULL, *result = NULL;
    int rc = QT_EXIT_FAIL;
    if (qt_squad_load(data_path, &data, &e) != 0)
        goto done;
    if (!(preds = qt_json_load_file(pred_path, &e)))
        goto done;
    if (na_path && !(na = qt_score_load_probs(na_path, &e)))
        goto done;
    result = qt_score_eval(&data, preds, strcmp(pred_path, "-") == 0 ? "<stdin>" : pred_path, na,
                           na_path && strcmp(na_path, "-") == 0 ? "<stdin>" : na_path, thresh, &e);
    if (!result)
        goto done;
    char *text = qt_score_json_text(result);
    if (!text) {
        qt_fail(&e, "out of memory");
        goto done;
    }
    printf("%s\n", text);
    free(text);
    rc = QT_EXIT_OK;
done:
    if (rc != QT_EXIT_OK)
        qt_err_print(&e);
    cJSON_Delete(result);
    cJSON_Delete(na);
    cJSON_Delete(preds);
    qt_squad_free(&data);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    static const struct option opts[] = {
        {"na-prob", required_argument, NULL, 'n'},
        {"na-prob-file", required_argument, NULL, 'n'}, /* the official script's name */
        {"na-prob-thresh", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *na_path = NULL;
    double thresh = 1.0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            na_path = optarg;
            break;
        case 't':
            if (parse_double(optarg, &thresh) != 0) {
                fprintf(stderr, "qaterm: score: --na-prob-thresh needs a number, got '%s'\n", optarg);
                return QT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(score_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            fprintf(stderr, "qaterm: score: option '%s' needs a value\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            fprintf(stderr, "qaterm: score: unknown option '%s'\n", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "qaterm: score: expected DATA.json and PRED.json (%s)\n",
                "qaterm score DATA.json PRED.json [--na-prob FILE] [--na-prob-thresh T]");
        return QT_EXIT_USAGE;
    }
    return score_files(argv[optind], argv[optind + 1], na_path, thresh);
}
