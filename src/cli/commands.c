/* The table of subcommands: `qaterm help` and the dispatcher read it. */
#include <stddef.h>

#include "cli/commands.h"

const qt_command qt_commands[] = {
    {"help", cmd_help, "[COMMAND]", "list the commands, or show one command's usage"},
    {"doctor", cmd_doctor, "", "check the machine: BLAS kernel and speed, CPU, libraries, paths"},
    {NULL, NULL, NULL, NULL},
};
