/* The interactive workbench (ncursesw). `qaterm` with no subcommand, or
 * with an option first (`qaterm --data FILE`), comes here. */
#ifndef QT_TUI_H
#define QT_TUI_H

/* Runs the TUI; argv[0] is the program name. Returns the exit status. */
int qt_tui_main(int argc, char **argv);

/* Draws the picker and ask screens of squad_path repeatedly into a
 * 160x48 terminal writing to /dev/null and returns the mean milliseconds
 * per frame, or -1 (with a message on stderr) when the file cannot be
 * loaded. Behind the hidden option `qaterm --bench-frame FILE`. */
double qt_tui_bench_frame_ms(const char *squad_path);

#endif
