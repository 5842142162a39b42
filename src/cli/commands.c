/* The table of subcommands: `qaterm help` and the dispatcher read it. */
#include <stddef.h>

#include "cli/commands.h"

const qt_command qt_commands[] = {
    {"help", cmd_help, "[COMMAND]", "list the commands, or show one command's usage"},
    {"doctor", cmd_doctor, "", "check the machine: BLAS kernel and speed, CPU, libraries, paths"},
    {"data", cmd_data, "info FILE | fetch [--dir DIR] [--force]", "inspect a SQuAD file, or download the official SQuAD 2.0 files"},
    {"history", cmd_history, "[show ID | export --format csv|json|squad] [--db PATH]", "list, show or export recorded sessions"},
    {"score", cmd_score, "DATA.json PRED.json [--na-prob FILE] [--na-prob-thresh T]", "score predictions with the official SQuAD 2.0 rules"},
    {"tokenize", cmd_tokenize, "--tokenizer FILE|DIR [--offsets] [--byte-offsets]", "print the token ids (and offsets) of each line of standard input"},
    {"ask", cmd_ask, "[--model DIR ...] --context FILE|- --question TEXT [--json] [--always-answer]", "answer a question about a text with one or more models"},
    {"predict", cmd_predict, "--model DIR --data FILE --out PRED.json [--na-prob-out FILE] [--always-answer] [--limit N]", "answer every question of a SQuAD file into an official predictions file"},
    {"bench", cmd_bench, "--model DIR [--iters N] [--lengths N,N,...]", "time one window per length: latency, tokens/s, share of sgemm peak, peak RSS"},
    {"train", cmd_train, "--arch bert|t5|lstm|mamba --config FILE --out DIR [--resume]", "train a model on SQuAD (checkpoints, resume, evaluation)"},
    {"dev-split", cmd_dev_split, "FILE a1|a2|all --out FILE", "write one dev-a split (first or last 9 articles) as a SQuAD file"},
    {"tune-threshold", cmd_tune_threshold, "--model DIR --data FILE [--split a1|a2|all]", "tune a model's no-answer threshold for EM and write it to its config.json"},
    {"convert", cmd_convert, "--dtype f32|f16|bf16 IN_DIR OUT_DIR", "copy a model directory with its weights stored as F32, F16 or BF16"},
    {NULL, NULL, NULL, NULL},
};
