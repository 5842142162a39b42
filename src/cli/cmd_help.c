#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int cmd_help(int argc, char **argv)
{
    if (argc >= 2) {
        for (const qt_command *c = qt_commands; c->name; c++)
            if (strcmp(c->name, argv[1]) == 0) {
                printf("usage: qaterm %s %s\n  %s\n(see man qaterm for every option)\n", c->name, c->usage,
                       c->summary);
                return QT_EXIT_OK;
            }
        fprintf(stderr, "qaterm: unknown command '%s' (try 'qaterm help')\n", argv[1]);
        return QT_EXIT_USAGE;
    }
    printf("usage: qaterm [--data FILE] [--model DIR]... [--db PATH] [--quiz] [--config FILE]\n"
           "         opens the interactive workbench (the bundled demo passages by default)\n"
           "       qaterm COMMAND [ARGS]\n\ncommands:\n");
    for (const qt_command *c = qt_commands; c->name; c++)
        printf("  %-15s %s\n", c->name, c->summary);
    printf("\n'qaterm help COMMAND' shows a command's usage; 'man qaterm' has the details.\n");
    return QT_EXIT_OK;
}
