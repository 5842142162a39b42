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
    {NULL, NULL, NULL, NULL},
};
