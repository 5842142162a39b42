/* qaterm tune-threshold: choose the no-answer threshold that maximises EM on
 * a SQuAD 2.0 file (or one of its dev-a splits) and write it into the
 * model's config.json as qaterm_null_threshold. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/evaluate.h"
#include "train/split.h"
#include "util/file.h"

static const char tune_usage[] =
    "usage: qaterm tune-threshold --model DIR --data FILE [--split a1|a2|all] [--threads N] [--dry-run]\n";

int cmd_tune_threshold(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},
        {"split", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 't'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *data = NULL, *split = "all";
    int threads = 2, dry = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:d:s:t:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 's':
            split = optarg;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 16) {
                qt_die_msg("tune-threshold: --threads %s: expected 1..16", optarg);
                return QT_EXIT_USAGE;
            }
            threads = (int)v;
            break;
        }
        case 'n':
            dry = 1;
            break;
        case 'h':
            fputs(tune_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            qt_die_msg("tune-threshold: option %s needs a value", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            qt_die_msg("tune-threshold: unknown option %s", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc || !model || !data) {
        qt_die_msg("tune-threshold: --model and --data are required");
        return QT_EXIT_USAGE;
    }
    qt_err e = {{0}};
    qt_squad s;
    int first, count;
    if (qt_dev_split_range(18, split, &first, &count, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_USAGE;
    }
    if (qt_squad_load_split(data, split, &s, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    qt_eval_pred *preds = calloc((size_t)s.n_questions + 1, sizeof *preds);
    qt_eval_result r;
    int rc = QT_EXIT_FAIL;
    if (!preds) {
        qt_die_msg("out of memory");
    } else if (qt_eval_dir(model, &s, 0, threads, &r, preds, &e) != 0) {
        qt_err_print(&e);
    } else {
        double best;
        double thr = qt_tune_null_threshold(&s, preds, &best);
        printf("{\n  \"questions\": %d,\n  \"exact_at_current_threshold\": %.4f,\n  \"best_exact\": %.4f,\n"
               "  \"qaterm_null_threshold\": %.9g,\n  \"always_no_answer_exact\": %.4f,\n  \"forced_HasAns_f1\": %.4f,\n"
               "  \"na_prob_auroc\": %.6f,\n  \"written\": %s\n}\n",
               r.n, r.exact, best, thr, r.always_no_exact, r.forced_has_f1, r.auroc, dry ? "false" : "true");
        if (!dry && qt_write_null_threshold(model, thr, &e) != 0)
            qt_err_print(&e);
        else
            rc = QT_EXIT_OK;
    }
    qt_eval_preds_free(preds, s.n_questions);
    qt_squad_free(&s);
    return rc;
}

/* qaterm dev-split: writes the articles of one dev-a split as a SQuAD file,
 * so that predict and score report on exactly that split. */
int cmd_dev_split(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs("usage: qaterm dev-split FILE a1|a2|all --out FILE\n", stdout);
            return QT_EXIT_OK;
        case ':':
            qt_die_msg("dev-split: option %s needs a value", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            qt_die_msg("dev-split: unknown option %s", argv[optind - 1]);
            return QT_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || !out) {
        qt_die_msg("dev-split: expected FILE, a split (a1, a2 or all) and --out FILE");
        return QT_EXIT_USAGE;
    }
    qt_err e = {{0}};
    int first, count;
    if (qt_dev_split_range(18, argv[optind + 1], &first, &count, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_USAGE;
    }
    char *text = qt_squad_split_json(argv[optind], argv[optind + 1], &e);
    if (!text || qt_write_file_atomic(out, text, strlen(text), &e) != 0) {
        free(text);
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    free(text);
    return QT_EXIT_OK;
}
