/* The TUI's entry point and main loop: options, start-up (configuration,
 * data, database, models), then one poll() on the terminal and the worker's
 * pipe, dispatching keys and results to the current screen and redrawing. */
#include "ui/ui.h"
#include "ui/tui.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/paths.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

void ui_set_status(ui_app *a, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->status, sizeof a->status, fmt, ap);
    va_end(ap);
    a->status_error = error;
}

int ui_ready_slots(const ui_app *a, int *slots)
{
    int n = 0;
    for (int i = 0; i < a->n_slots; i++)
        if (a->slots[i].state == UI_SLOT_READY)
            slots[n++] = i;
    return n;
}

int ui_n_ready(const ui_app *a)
{
    int slots[UI_MAX_MODELS];
    return ui_ready_slots(a, slots);
}

void ui_go(ui_app *a, ui_screen s)
{
    if (a->depth < (int)(sizeof a->stack / sizeof *a->stack))
        a->stack[a->depth++] = a->screen;
    a->screen = s;
}

void ui_back(ui_app *a)
{
    if (a->depth == 0) {
        a->quit = 1;
        return;
    }
    a->screen = a->stack[--a->depth];
}

void ui_replace(ui_app *a, ui_screen s)
{
    a->screen = s;
}

/* ---- drawing ---- */

void ui_header(ui_app *a, const char *fmt, ...)
{
    char left[1024], right[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(left, sizeof left, fmt, ap);
    va_end(ap);
    int ready = ui_n_ready(a), failed = 0;
    for (int i = 0; i < a->n_slots; i++)
        failed += a->slots[i].state == UI_SLOT_FAILED;
    char models[64];
    if (a->loading)
        snprintf(models, sizeof models, "%s loading models %d/%d",
                 ui_glyph()->spinner[a->tick % ui_glyph()->n_spinner], ready + failed, a->n_slots);
    else
        snprintf(models, sizeof models, "%d model%s", ready, ready == 1 ? "" : "s");
    if (a->bench)
        snprintf(right, sizeof right, "%s ", models);
    else
        snprintf(right, sizeof right, "%s%s %s session #%lld ", models, a->quiz ? " · quiz" : "",
                 ui_glyph()->bullet, (long long)a->session_id);
    attr_t h = ui_attr(UI_R_HEADER);
    ui_fill(stdscr, 0, 0, COLS, h);
    int rw = ui_text_width(right, strlen(right));
    int lw = COLS - rw - 1;
    ui_puts_ellipsis(stdscr, 0, 1, left, lw - 1, h);
    if (rw < COLS)
        ui_puts(stdscr, 0, COLS - rw, right, rw, h);
}

void ui_footer(ui_app *a, const char *const *keys)
{
    int y = LINES - 1, x = 0;
    attr_t f = ui_attr(UI_R_FOOTER), k = ui_attr(UI_R_FOOTER_KEY);
    ui_fill(stdscr, y, 0, COLS, f);
    for (int i = 0; keys && keys[i] && keys[i + 1]; i += 2) {
        int need = ui_text_width(keys[i], strlen(keys[i])) + ui_text_width(keys[i + 1], strlen(keys[i + 1])) + 3;
        if (x + need > COLS)
            break;
        x += ui_puts(stdscr, y, x + 1, keys[i], COLS - x - 1, k) + 1;
        x += ui_puts(stdscr, y, x + 1, keys[i + 1], COLS - x - 1, f) + 2;
    }
}

static void draw_status(ui_app *a)
{
    if (!a->status[0])
        return;
    int y = LINES - 2;
    attr_t at = a->status_error ? ui_attr(UI_R_ERROR) | A_REVERSE : ui_attr(UI_R_SELECT);
    ui_fill(stdscr, y, 0, COLS, at);
    ui_puts_ellipsis(stdscr, y, 1, a->status, COLS - 2, at);
}

void ui_draw(ui_app *a)
{
    a->want_cursor = 0;
    erase();
    if (COLS < UI_MIN_COLS || LINES < UI_MIN_LINES) {
        ui_too_small_draw(a);
    } else {
        switch (a->screen) {
        case UI_SCR_PICKER: ui_picker_draw(a); break;
        case UI_SCR_PASTE: ui_paste_draw(a); break;
        case UI_SCR_OPEN: ui_open_draw(a); break;
        case UI_SCR_ASK: ui_ask_draw(a); break;
        case UI_SCR_HISTORY: ui_history_draw(a); break;
        case UI_SCR_SESSION: ui_session_draw(a); break;
        case UI_SCR_STATS: ui_stats_draw(a); break;
        }
        draw_status(a);
        if (a->help_open) {
            a->want_cursor = 0;
            ui_help_draw(a);
        }
    }
    if (a->want_cursor) {
        curs_set(1);
        move(a->cursor_y, a->cursor_x);
    } else {
        curs_set(0);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- keys ---- */

/* Screens where printable keys type text. */
static int text_focus(const ui_app *a)
{
    switch (a->screen) {
    case UI_SCR_PASTE:
    case UI_SCR_OPEN:
        return 1;
    case UI_SCR_ASK:
        return a->ask->line_focus || a->ask->quiz_phase == 1;
    case UI_SCR_PICKER:
        return ui_picker_typing(a);
    default:
        return 0;
    }
}

int ui_global_key(ui_app *a, int key)
{
    if (key == UI_CTRL('c')) {
        a->quit = 1;
        return 1;
    }
    if (key == UI_K(KEY_F(1)) || (key == '?' && !text_focus(a))) {
        a->help_open = 1;
        return 1;
    }
    return 0;
}

static void handle_key(ui_app *a, int key)
{
    if (key == UI_K(KEY_RESIZE))
        return; /* the next draw uses the new size */
    if (key == UI_CTRL('c')) {
        a->quit = 1;
        return;
    }
    if (COLS < UI_MIN_COLS || LINES < UI_MIN_LINES) {
        if (key == 'q')
            a->quit = 1;
        return;
    }
    if (a->help_open) {
        a->help_open = 0;
        return;
    }
    if (key != UI_K(KEY_MOUSE))
        a->status[0] = '\0';
    if (ui_global_key(a, key))
        return;
    switch (a->screen) {
    case UI_SCR_PICKER: ui_picker_key(a, key); break;
    case UI_SCR_PASTE: ui_paste_key(a, key); break;
    case UI_SCR_OPEN: ui_open_key(a, key); break;
    case UI_SCR_ASK: ui_ask_key(a, key); break;
    case UI_SCR_HISTORY: ui_history_key(a, key); break;
    case UI_SCR_SESSION: ui_session_key(a, key); break;
    case UI_SCR_STATS: ui_stats_key(a, key); break;
    }
}

/* ---- worker events ---- */

static void handle_event(ui_app *a, ui_event *ev)
{
    if (ev->job == a->load_job) {
        if (ev->type == UI_EV_LOADED && ev->index >= 0 && ev->index < a->n_slots) {
            ui_slot *s = &a->slots[ev->index];
            if (ev->ok) {
                s->model = ev->model;
                ev->model = NULL;
                s->state = UI_SLOT_READY;
                ui_strlcpy(s->sha256, ev->sha256, sizeof s->sha256);
                qt_err e = {{0}};
                if (ui_record_model_id(a, s, &e) < 0)
                    ui_set_status(a, 1, "%s", e.msg);
            } else {
                s->state = UI_SLOT_FAILED;
                ui_strlcpy(s->err, ev->err, sizeof s->err);
            }
        } else if (ev->type == UI_EV_DONE) {
            a->loading = 0;
        }
        return;
    }
    ui_ask_event(a, ev);
}

static void drain_events(ui_app *a)
{
    ui_event *ev;
    while (a->worker && (ev = ui_worker_next(a->worker))) {
        handle_event(a, ev);
        qt_model_free(ev->model);
        ui_event_free(ev);
    }
}

static void drain_keys(ui_app *a)
{
    wint_t wc;
    int r;
    while (!a->quit && (r = wget_wch(stdscr, &wc)) != ERR) {
        int key = r == KEY_CODE_YES ? UI_K((int)wc) : (int)wc;
        if (key == UI_K(UI_KEY_PASTE_BEGIN)) {
            a->pasting = 1;
            if (a->screen == UI_SCR_PICKER) {
                ui_edit_clear(&a->paste);
                ui_go(a, UI_SCR_PASTE);
            }
            continue;
        }
        if (key == UI_K(UI_KEY_PASTE_END)) {
            a->pasting = 0;
            continue;
        }
        if (a->pasting && a->screen == UI_SCR_PASTE) {
            ui_paste_key(a, key);
            continue;
        }
        if (a->pasting && (key == '\r' || key == '\n' || key == '\t'))
            key = ' '; /* a paste into a one-line field stays one line */
        handle_key(a, key);
    }
}

/* ---- setup ---- */

void ui_app_init(ui_app *a)
{
    ui_picker_init(a);
    ui_ask_init(a);
    a->screen = UI_SCR_PICKER;
}

void ui_app_free(ui_app *a)
{
    ui_history_free(a);
    ui_stats_free(a);
    ui_ask_free(a);
    ui_picker_free(a);
    for (int i = 0; i < a->n_custom; i++) {
        free(a->custom_text[i]);
        free(a->custom_title[i]);
    }
    free(a->custom);
    free(a->custom_text);
    free(a->custom_title);
    ui_edit_free(&a->paste);
    ui_edit_free(&a->open_line);
    for (int i = 0; i < a->n_slots; i++)
        qt_model_free(a->slots[i].model);
    if (a->have_data)
        qt_squad_free(&a->data);
    memset(a, 0, sizeof *a);
}

int ui_load_data(ui_app *a, const char *path, qt_err *e)
{
    qt_squad data;
    if (qt_squad_load(path, &data, e) < 0)
        return -1;
    if (a->have_data)
        qt_squad_free(&a->data);
    a->data = data;
    a->have_data = 1;
    ui_strlcpy(a->data_path, path, sizeof a->data_path);
    if (a->picker)
        ui_picker_reset(a);
    return 0;
}

void ui_curses_locale(void)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    /* passages are UTF-8: without a UTF-8 locale wide characters cannot be
     * measured or drawn, so prefer C.UTF-8 over an ASCII locale */
    if (!cs || strcmp(cs, "UTF-8") != 0)
        setlocale(LC_CTYPE, "C.UTF-8");
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: qaterm [--data FILE] [--model DIR]... [--db PATH] [--quiz]\n"
            "  Opens the interactive workbench (press ? inside for the keys).\n"
            "  --data FILE   a SQuAD JSON file (default: the bundled demo passages)\n"
            "  --model DIR   a model checkpoint folder; repeat for several\n"
            "                (default: the bundled bert, t5, lstm and mamba models)\n"
            "  --db PATH     the session database (default: %s)\n"
            "  --quiz        start in quiz mode\n"
            "  --config FILE read settings from FILE (default: %s)\n",
            qt_default_db_path(), ui_config_path());
}

static int start_curses(ui_app *a)
{
    if (!newterm(NULL, stdout, stdin)) {
        fprintf(stderr, "qaterm: cannot open the terminal (TERM=%s)\n", getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    define_key("\033[200~", UI_KEY_PASTE_BEGIN);
    define_key("\033[201~", UI_KEY_PASTE_END);
    ui_theme_init(&a->cfg);
    fputs("\033[?2004h", stdout); /* bracketed paste */
    fflush(stdout);
    return 0;
}

static void stop_curses(void)
{
    fputs("\033[?2004l", stdout);
    fflush(stdout);
    endwin();
}

static void main_loop(ui_app *a)
{
    ui_draw(a);
    while (!a->quit) {
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {ui_worker_fd(a->worker), POLLIN, 0}};
        int animate = a->loading || ui_ask_busy(a);
        int rc = poll(fds, 2, animate ? 100 : 1000);
        if (got_signal)
            break;
        if (rc < 0 && errno != EINTR)
            break;
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))
            break; /* the terminal went away */
        drain_events(a);
        drain_keys(a);
        if (animate)
            a->tick++;
        if (!a->quit)
            ui_draw(a);
    }
}

int qt_tui_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"model", required_argument, NULL, 'm'},
        {"db", required_argument, NULL, 'b'},
        {"quiz", no_argument, NULL, 'z'},
        {"config", required_argument, NULL, 'c'},
        {"bench-frame", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *data_opt = NULL, *db_opt = NULL, *config_opt = NULL, *bench = NULL;
    char *model_opts[UI_MAX_MODELS];
    int n_model_opts = 0, quiz = 0, c;
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data_opt = optarg; break;
        case 'b': db_opt = optarg; break;
        case 'c': config_opt = optarg; break;
        case 'z': quiz = 1; break;
        case 'B': bench = optarg; break;
        case 'm':
            if (n_model_opts == UI_MAX_MODELS) {
                fprintf(stderr, "qaterm: at most %d --model folders\n", UI_MAX_MODELS);
                return 2;
            }
            model_opts[n_model_opts++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        case ':':
            fprintf(stderr, "qaterm: option '%s' needs a value (try 'qaterm --help')\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "qaterm: unknown option '%s' (try 'qaterm --help')\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qaterm: unexpected argument '%s' (try 'qaterm --help')\n", argv[optind]);
        return 2;
    }
    if (bench) {
        double ms = qt_tui_bench_frame_ms(bench);
        if (ms < 0)
            return 1;
        printf("frame: %.3f ms (mean of picker and ask screens, 160x48)\n", ms);
        return 0;
    }

    static ui_app app;
    ui_app *a = &app;
    memset(a, 0, sizeof *a);
    qt_err e = {{0}};
    ui_config_defaults(&a->cfg);
    if (ui_config_load(config_opt ? config_opt : ui_config_path(), &a->cfg, &e) < 0) {
        qt_err_print(&e);
        return 1;
    }
    if (config_opt && !a->cfg.path[0]) {
        fprintf(stderr, "qaterm: %s: no such configuration file\n", config_opt);
        return 1;
    }
    ui_app_init(a);
    const char *data_path = data_opt ? data_opt : a->cfg.data[0] ? a->cfg.data : NULL;
    if (data_path) {
        if (ui_load_data(a, data_path, &e) < 0) {
            qt_err_print(&e);
            ui_app_free(a);
            return 1;
        }
    } else if (qt_demo_path()) {
        if (ui_load_data(a, qt_demo_path(), &e) < 0)
            ui_strlcpy(a->data_note, e.msg, sizeof a->data_note);
    } else {
        snprintf(a->data_note, sizeof a->data_note,
                 "no demo passages found (assets/demo/demo.json): paste one with p or use --data FILE");
    }

    const char *db = qt_store_resolve_path(db_opt ? db_opt : a->cfg.db[0] ? a->cfg.db : NULL, &e);
    if (!db || !(a->store = qt_store_open(db, &e))) {
        qt_err_print(&e);
        ui_app_free(a);
        return 1;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "qaterm: the workbench needs a terminal on standard input and output "
                        "(see 'qaterm help' for the commands)\n");
        qt_store_close(a->store);
        ui_app_free(a);
        return 1;
    }
    if (ui_record_new_session(a, quiz, &e) < 0) {
        qt_err_print(&e);
        qt_store_close(a->store);
        ui_app_free(a);
        return 1;
    }
    if (qt_store_recovered_sessions(a->store) > 0)
        ui_set_status(a, 0, "%d session(s) left open by a crash were closed",
                      qt_store_recovered_sessions(a->store));

    /* the model folders: --model, else $QATERM_TEST_MODELS (":"-separated,
     * "" for none), else the configuration and the bundled defaults */
    char dirs[UI_MAX_MODELS][4096], family[UI_MAX_MODELS][32];
    char *env_dirs[UI_MAX_MODELS];
    int n_env = 0;
    char *env_copy = NULL;
    const char *env = getenv("QATERM_TEST_MODELS");
    if (n_model_opts == 0 && env) {
        env_copy = strdup(env);
        for (char *save = NULL, *tok = strtok_r(env_copy, ":", &save); tok && n_env < UI_MAX_MODELS;
             tok = strtok_r(NULL, ":", &save))
            env_dirs[n_env++] = tok;
    }
    int n_dirs;
    if (n_model_opts == 0 && env)
        n_dirs = ui_config_model_dirs(&a->cfg, env_dirs, n_env, dirs, family, UI_MAX_MODELS);
    else
        n_dirs = ui_config_model_dirs(&a->cfg, model_opts, n_model_opts, dirs, family, UI_MAX_MODELS);
    free(env_copy);
    a->n_slots = n_dirs;
    for (int i = 0; i < n_dirs; i++) {
        ui_strlcpy(a->slots[i].dir, dirs[i], sizeof a->slots[i].dir);
        ui_strlcpy(a->slots[i].family, family[i], sizeof a->slots[i].family);
        a->slots[i].state = UI_SLOT_LOADING;
    }

    /* models run one after another on the worker, each with every OpenBLAS
     * thread: the default thread count stays as it is */
    a->worker = ui_worker_start(&e);
    if (!a->worker) {
        qt_err_print(&e);
        qt_store_end_session(a->store, a->session_id, &e);
        qt_store_close(a->store);
        ui_app_free(a);
        return 1;
    }
    if (n_dirs > 0) {
        a->loading = 1;
        a->load_job = ui_worker_load(a->worker, dirs, n_dirs);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    ui_curses_locale();
    int rc = 0;
    if (start_curses(a) == 0) {
        main_loop(a);
        stop_curses();
    } else {
        rc = 1;
    }

    ui_worker_cancel(a->worker);
    ui_worker_stop(a->worker);
    a->worker = NULL;
    int64_t sid = a->session_id;
    if (qt_store_end_session(a->store, sid, &e) < 0) {
        qt_err_print(&e);
        rc = 1;
    }
    qt_store_close(a->store);
    a->store = NULL;
    ui_app_free(a);
    return rc;
}
