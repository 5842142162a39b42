/* qaterm: entry point. Sets up the BLAS kernel, then dispatches to a
 * subcommand (src/cli/cmd_*.c); with no subcommand, opens the TUI. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "nn/blas_setup.h"
#include "ui/tui.h"

int main(int argc, char **argv)
{
    qt_blas_setup(argc, argv);
    if (argc < 2)
        return qt_tui_main(argc, argv);
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(1, argv);
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("qaterm %s\n", PACKAGE_VERSION);
        return QT_EXIT_OK;
    }
    if (strncmp(name, "--", 2) == 0) /* qaterm --data FILE ...: the TUI */
        return qt_tui_main(argc, argv);
    for (const qt_command *c = qt_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "qaterm: unknown command '%s' (try 'qaterm help')\n", name);
    return QT_EXIT_USAGE;
}
