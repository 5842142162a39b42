/* qaterm train: train a model on SQuAD from a JSON config (src/train). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "train/train.h"

static const char train_usage[] =
    "usage: qaterm train --arch bert|t5|lstm|mamba --config FILE --out DIR [--resume]\n";

int cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"arch", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"resume", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *arch = NULL, *config = NULL, *out = NULL;
    int resume = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":a:c:o:rh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            arch = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'r':
            resume = 1;
            break;
        case 'h':
            fputs(train_usage, stdout);
            return QT_EXIT_OK;
        case ':':
            qt_die_msg("train: option %s needs a value", argv[optind - 1]);
            return QT_EXIT_USAGE;
        default:
            qt_die_msg("train: unknown option %s (%s)", argv[optind - 1], "see qaterm help train");
            return QT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        qt_die_msg("train: unexpected argument '%s'", argv[optind]);
        return QT_EXIT_USAGE;
    }
    if (!arch || !config || !out) {
        qt_die_msg("train: --arch, --config and --out are required");
        return QT_EXIT_USAGE;
    }
    if (strcmp(arch, "lstm") != 0 && strcmp(arch, "bert") != 0 && strcmp(arch, "t5") != 0 &&
        strcmp(arch, "mamba") != 0) {
        qt_die_msg("train: --arch %s: unknown architecture (expected bert, t5, lstm or mamba)", arch);
        return QT_EXIT_USAGE;
    }
    qt_err e = {{0}};
    qt_train_config cfg;
    if (qt_train_config_load(config, &cfg, &e) != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    if (strcmp(cfg.arch, arch) != 0) {
        qt_die_msg("train: %s: config is for arch '%s', not '%s'", config, cfg.arch, arch);
        qt_train_config_free(&cfg);
        return QT_EXIT_FAIL;
    }
    int stopped = 0;
    int rc = qt_train_run(&cfg, out, resume, &stopped, &e);
    qt_train_config_free(&cfg);
    if (rc != 0) {
        qt_err_print(&e);
        return QT_EXIT_FAIL;
    }
    return QT_EXIT_OK;
}
