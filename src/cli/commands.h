/* The qaterm subcommands. Each takes the arguments after its own name
 * (argv[0] is the subcommand name) and returns the process exit status. */
#ifndef QT_COMMANDS_H
#define QT_COMMANDS_H

typedef int (*qt_command_fn)(int argc, char **argv);

typedef struct qt_command {
    const char *name;
    qt_command_fn run;
    const char *usage;   /* one line: arguments */
    const char *summary; /* one line: what it does */
} qt_command;

/* The table, ended by a NULL name. */
extern const qt_command qt_commands[];

int cmd_help(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tune_threshold(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_dev_split(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Exit statuses shared by all commands. */
enum { QT_EXIT_OK = 0, QT_EXIT_FAIL = 1, QT_EXIT_USAGE = 2 };

#endif
