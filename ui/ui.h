/* The TUI's shared state and the functions its files offer one another.
 * Only ui/ includes this header; the rest of qaterm sees ui/tui.h.
 *
 * Threads: everything here runs on the UI thread except the models, which
 * run on the worker (ui/worker.c) and report through events. */
#ifndef QT_UI_H
#define QT_UI_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stddef.h>
#include <stdint.h>

#include "db/store.h"
#include "models/model.h"
#include "qa/squad.h"
#include "util/err.h"

#define UI_MAX_MODELS 8
#define UI_MIN_COLS 80
#define UI_MIN_LINES 24

/* Keys: characters are >= 0 (a Unicode code point); curses key codes are
 * negated, so the two never collide. */
#define UI_K(code) (-(code))
#define UI_CTRL(c) ((c) & 0x1f)
#define UI_ESC 27
/* Bracketed paste markers, bound with define_key. */
#define UI_KEY_PASTE_BEGIN (KEY_MAX + 1)
#define UI_KEY_PASTE_END (KEY_MAX + 2)

/* ---- text.c: UTF-8 by display width ------------------------------------ */

typedef struct ui_span {
    size_t start, end; /* bytes [start, end) */
} ui_span;

/* Decodes the code point at s[i] (i < len); returns its byte length (>= 1).
 * Invalid bytes decode as U+FFFD, one byte each. */
size_t ui_utf8_decode(const char *s, size_t len, size_t i, uint32_t *cp);
/* Appends cp as UTF-8 to buf (at least 4 bytes free); returns bytes written. */
size_t ui_utf8_encode(uint32_t cp, char *buf);
/* Columns a code point takes: 0 (combining), 1 or 2. Controls count 1 (they
 * are drawn as a replacement character). */
int ui_cp_width(uint32_t cp);
int ui_text_width(const char *s, size_t len);
/* Bytes of s that fit in maxw columns (never splits a character). */
size_t ui_text_fit(const char *s, size_t len, int maxw, int *width_out);
/* Wraps s to width columns at spaces (or anywhere inside long words and
 * between wide characters); newlines break lines. *lines is malloc'd;
 * returns the number of lines (0 for an empty text), -1 out of memory. */
int ui_wrap(const char *s, size_t len, int width, ui_span **lines);
/* Draws s clipped to maxw columns at (y, x); returns the columns used. */
int ui_put(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, attr_t attr);
int ui_puts(WINDOW *w, int y, int x, const char *s, int maxw, attr_t attr);
/* Like ui_puts but ends with an ellipsis when s does not fit. */
int ui_puts_ellipsis(WINDOW *w, int y, int x, const char *s, int maxw, attr_t attr);
/* printf into a row, clipped; returns columns used. */
int ui_printf(WINDOW *w, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Draws one code point at the cursor with attr. */
void ui_put_cp(WINDOW *w, uint32_t cp, attr_t attr);
/* Horizontal / vertical rules of n cells with the theme's line glyphs. */
void ui_hline(WINDOW *w, int y, int x, int n, attr_t attr);
void ui_vline(WINDOW *w, int y, int x, int n, attr_t attr);
/* A box outline. */
void ui_box(WINDOW *w, int y, int x, int h, int width, attr_t attr);
/* n blank cells from (y, x). */
void ui_fill(WINDOW *w, int y, int x, int n, attr_t attr);
/* Copies src into dst (n bytes), cut at a character boundary if needed. */
void ui_strlcpy(char *dst, const char *src, size_t n);
/* Case-insensitive substring search (ASCII folding; other bytes exact). */
const char *ui_strcasestr(const char *hay, const char *needle);

/* ---- edit.c: a one-line text field ------------------------------------- */

typedef struct ui_edit {
    char *buf;      /* UTF-8, NUL-terminated */
    size_t len, cap;
    size_t cur;     /* cursor, byte offset */
} ui_edit;

void ui_edit_free(ui_edit *e);
void ui_edit_set(ui_edit *e, const char *text);
void ui_edit_clear(ui_edit *e);
/* Inserts n bytes at the cursor. */
void ui_edit_insert(ui_edit *e, const char *s, size_t n);
/* Handles an editing key; returns 1 when it was one. */
int ui_edit_key(ui_edit *e, int key);
/* Draws the field in width columns at (y, x), scrolled so the cursor shows;
 * returns the cursor's column on screen. */
int ui_edit_draw(const ui_edit *e, WINDOW *w, int y, int x, int width, attr_t attr);

/* ---- list.c: selections and scrolling ---------------------------------- */

/* Moves *sel for a navigation key (page: rows per page); 1 when handled. */
int ui_list_key(int key, int *sel, int n, int page);
/* Keeps *sel within [0, n) and visible in h rows starting at *top. */
void ui_list_scroll(int *sel, int *top, int n, int h);
/* Scrolls a view of n lines, h at a time, for a navigation key. */
int ui_scroll_key(int key, int *top, int n, int h);

/* ---- theme.c: colours, or attributes where there are none --------------- */

typedef enum ui_role {
    UI_R_NORMAL,
    UI_R_HEADER,
    UI_R_FOOTER,
    UI_R_FOOTER_KEY,
    UI_R_SELECT,
    UI_R_DIM,
    UI_R_TITLE,
    UI_R_ERROR,
    UI_R_GOOD,  /* EM 1 badge */
    UI_R_BAD,   /* EM 0 badge */
    UI_R_GOLD,  /* gold spans and the gold line */
    UI_R_INPUT,
    UI_R_MATCH, /* filter matches */
    UI_R_COUNT
} ui_role;

#define UI_HUMAN_COLOR UI_MAX_MODELS /* the quiz-taker's colour slot */

typedef struct ui_glyphs {
    const char *bar_full, *bar_empty, *ellipsis, *bullet, *check, *cross, *up, *down, *hline, *vline;
    const char *corner[4]; /* top left, top right, bottom left, bottom right */
    const char *const *spinner;
    int n_spinner;
} ui_glyphs;

struct ui_config;
/* After initscr: sets up colour pairs from the config (or attributes when
 * the terminal has no colours or the config turns them off). */
void ui_theme_init(const struct ui_config *cfg);
attr_t ui_attr(ui_role role);
/* A model's panel title / bar (slot 0..UI_MAX_MODELS-1, or UI_HUMAN_COLOR). */
attr_t ui_model_attr(int slot);
/* A model's answer span in the passage. */
attr_t ui_model_span_attr(int slot);
const ui_glyphs *ui_glyph(void);
int ui_theme_has_color(void);

/* ---- config.c: ~/.config/qaterm/config ---------------------------------- */

#define UI_MAX_FAMILIES 16

typedef struct ui_config {
    /* model.FAMILY = DIR (or "none"), in file order */
    int n_families;
    char family[UI_MAX_FAMILIES][32];
    char family_dir[UI_MAX_FAMILIES][4096];
    char db[4096];     /* database = PATH */
    char data[4096];   /* data = FILE */
    char player[64];   /* player = NAME (the quiz-taker's name) */
    int colors;        /* colors = on|off (1/0) */
    int color[UI_MAX_MODELS + 1]; /* color.N = NAME|0-255 (N 1..8), color.human; -1 default */
    int ascii;         /* glyphs = ascii|unicode */
    char path[4096];   /* the file read, "" when none */
} ui_config;

void ui_config_defaults(ui_config *c);
/* Reads the file when it exists (a missing file is fine). Errors name the
 * file and the line. */
int ui_config_load(const char *path, ui_config *c, qt_err *e);
/* The config file's path: qt_config_home()/config (static buffer). */
const char *ui_config_path(void);
/* The model folders to load: cli_dirs when n_cli > 0, else the default
 * families (bert, t5, lstm, mamba) with the config's overrides, then the
 * config's other families. Missing default folders are skipped; folders
 * named in the config are kept (and fail to load with a message). Returns
 * the count; family[i] names each ("" for --model). */
int ui_config_model_dirs(const ui_config *c, char *const *cli_dirs, int n_cli,
                         char dirs[][4096], char family[][32], int max);

/* ---- worker.c: the thread that loads and runs the models --------------- */

typedef struct ui_worker ui_worker;

typedef enum ui_event_type {
    UI_EV_LOADED,  /* index: the folder; model NULL and err set on failure */
    UI_EV_START,   /* index: the model that starts answering */
    UI_EV_ANSWER,  /* index: the model; ok, answer (owned by the receiver) or err */
    UI_EV_DONE     /* the job finished (cancelled says whether it was abandoned) */
} ui_event_type;

typedef struct ui_event {
    ui_event_type type;
    int job, index, ok, cancelled;
    qt_model *model;
    char sha256[65];
    qt_qa_answer answer;
    char err[QT_ERR_MAX];
    struct ui_event *next;
} ui_event;

ui_worker *ui_worker_start(qt_err *e);
/* Becomes readable when events wait: poll it with the terminal. */
int ui_worker_fd(const ui_worker *w);
/* Queues a job; returns its id. The worker copies what it needs. */
int ui_worker_load(ui_worker *w, char dirs[][4096], int n);
int ui_worker_ask(ui_worker *w, qt_model *const *models, int n, const char *question,
                  const char *context, size_t context_len);
/* Abandons the running job and any queued ask. */
void ui_worker_cancel(ui_worker *w);
/* Takes the next event (free with ui_event_free); NULL when none. */
ui_event *ui_worker_next(ui_worker *w);
void ui_event_free(ui_event *ev);
/* Cancels, waits for the thread and frees the queue. */
void ui_worker_stop(ui_worker *w);

/* ---- the application ---------------------------------------------------- */

typedef enum ui_screen {
    UI_SCR_PICKER,
    UI_SCR_PASTE,
    UI_SCR_OPEN,
    UI_SCR_ASK,
    UI_SCR_HISTORY,
    UI_SCR_SESSION,
    UI_SCR_STATS
} ui_screen;

typedef enum ui_slot_state { UI_SLOT_LOADING, UI_SLOT_READY, UI_SLOT_FAILED } ui_slot_state;

typedef struct ui_slot {
    char dir[4096];
    char family[32];
    ui_slot_state state;
    qt_model *model;
    char err[QT_ERR_MAX];
    char sha256[65];
    int64_t store_id; /* 0 when not (yet) in the store */
} ui_slot;

/* A passage on the ask screen: a paragraph of the data, or pasted text. */
typedef struct ui_passage {
    const char *text;
    size_t len;
    const char *title;  /* never NULL */
    const char *source; /* the data file; NULL for pasted text */
    int paragraph;      /* index in the data, -1 for pasted text */
    int index_in_article;
    int64_t store_id;   /* 0 until recorded */
} ui_passage;

typedef enum ui_res_state {
    UI_RES_NONE,
    UI_RES_WAITING,
    UI_RES_RUNNING,
    UI_RES_DONE,
    UI_RES_FAILED,
    UI_RES_CANCELLED
} ui_res_state;

typedef struct ui_result {
    ui_res_state state;
    qt_qa_answer ans;  /* when DONE */
    char err[256];     /* when FAILED */
    int em;            /* -1 when not scored */
    double f1;
    long span_start, span_end; /* bytes in the passage, -1 when none */
} ui_result;

typedef struct ui_doc_line {
    char *text;
    int role;  /* ui_role */
    int color; /* >= 0: a model's colour slot for the first cells */
    int color_cols;
} ui_doc_line;

typedef struct ui_doc {
    ui_doc_line *lines;
    int n, cap;
} ui_doc;

void ui_doc_clear(ui_doc *d);
/* Appends text wrapped to width (indent columns on continuation lines). */
void ui_doc_add(ui_doc *d, int width, int indent, int role, int color, int color_cols,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void ui_doc_draw(const ui_doc *d, WINDOW *w, int y, int x, int h, int width, int top);

typedef struct ui_app {
    /* setup */
    ui_config cfg;
    qt_squad data;
    int have_data;
    char data_path[4096];
    char data_note[QT_ERR_MAX];
    qt_store *store;
    int64_t session_id;
    int quiz;          /* the session's mode: quiz or compare */
    int64_t human_id;  /* the quiz-taker's model row, 0 until needed */
    ui_worker *worker;
    int load_job;
    int loading;       /* models still loading */
    ui_slot slots[UI_MAX_MODELS];
    int n_slots;
    int bench;         /* drawing only: no store, no worker */

    /* pasted or loaded passages */
    ui_passage *custom;
    char **custom_text;
    char **custom_title;
    int n_custom;

    /* navigation */
    ui_screen screen;
    ui_screen stack[8]; /* the screens to go back to */
    int depth;
    int help_open;
    int want_cursor, cursor_y, cursor_x; /* set while drawing a text field */
    int quit;
    int tick;          /* spinner frame */
    char status[512];  /* one-line message under the current screen */
    int status_error;

    /* the current passage and question (ask.c, quiz.c) */
    ui_passage passage;
    int have_passage;
    struct ui_ask_state *ask;
    struct ui_picker_state *picker;
    struct ui_history_state *history;
    struct ui_stats_state *stats;
    ui_edit paste;     /* paste screen buffer (multi-line) */
    int paste_scroll;
    int pasting;       /* inside a bracketed paste */
    ui_edit open_line; /* the o prompt */
} ui_app;

/* app.c */
void ui_app_init(ui_app *a);
void ui_app_free(ui_app *a);
/* Replaces the data set (the picker starts over). */
int ui_load_data(ui_app *a, const char *path, qt_err *e);
/* setlocale, preferring a UTF-8 character type. */
void ui_curses_locale(void);
void ui_set_status(ui_app *a, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ui_draw(ui_app *a);
int ui_n_ready(const ui_app *a);
/* The slots of the ready models, in order; returns the count. */
int ui_ready_slots(const ui_app *a, int *slots);
/* Opens screen s; ui_back returns to the one before (quits from the top). */
void ui_go(ui_app *a, ui_screen s);
void ui_back(ui_app *a);
/* Replaces the current screen (paste -> ask) without growing the stack. */
void ui_replace(ui_app *a, ui_screen s);
/* Global keys (help, quit on Ctrl-C); returns 1 when handled. */
int ui_global_key(ui_app *a, int key);
void ui_header(ui_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The footer: pairs of key, description, ended by NULL. */
void ui_footer(ui_app *a, const char *const *keys);

/* picker.c */
void ui_picker_init(ui_app *a);
void ui_picker_free(ui_app *a);
void ui_picker_draw(ui_app *a);
void ui_picker_key(ui_app *a, int key);
void ui_picker_refilter(ui_app *a);
void ui_picker_reset(ui_app *a);
/* 1 while the filter line takes the keys. */
int ui_picker_typing(const ui_app *a);
void ui_paste_draw(ui_app *a);
void ui_paste_key(ui_app *a, int key);
void ui_open_draw(ui_app *a);
void ui_open_key(ui_app *a, int key);
/* Adds a pasted/loaded passage and opens it; text is taken over. */
void ui_add_custom_passage(ui_app *a, char *text, const char *title);
/* Opens paragraph p of the data on the ask screen. */
void ui_open_paragraph(ui_app *a, int p);
const char *const *ui_picker_keys(const ui_app *a);

/* ask.c */
typedef struct ui_ask_state ui_ask_state;
void ui_ask_init(ui_app *a);
void ui_ask_free(ui_app *a);
/* A new passage: clears the question, answers and scroll. */
void ui_ask_set_passage(ui_app *a, const ui_passage *p);
void ui_ask_draw(ui_app *a);
void ui_ask_key(ui_app *a, int key);
void ui_ask_event(ui_app *a, ui_event *ev);
int ui_ask_busy(const ui_app *a);
void ui_ask_cancel(ui_app *a);
const char *const *ui_ask_keys(const ui_app *a);
/* The data questions of the current passage. */
int ui_ask_gold_questions(const ui_app *a, const qt_question **first);

/* The state ask.c, panels.c and quiz.c share. */
struct ui_ask_state {
    ui_edit line;
    char **history;
    int n_history, history_pos;
    int line_focus;      /* 1: typing goes to the question line */
    int scroll;          /* first passage line shown */
    ui_span *wrap;       /* the passage wrapped at wrap_width */
    int n_wrap, wrap_width;
    const char *wrap_text;
    int qlist_open, qlist_sel, qlist_top;
    char *asked;         /* data questions already asked in this session, by index */
    int n_asked;
    /* the question in progress or last answered */
    char *question;
    const qt_question *gold;
    int job;             /* worker job id, 0 when none */
    int busy;
    int recorded;
    int n_res;
    int res_slot[UI_MAX_MODELS];
    ui_result res[UI_MAX_MODELS];
    int64_t asked_at_ms;
    double started_ms;
    /* quiz */
    int quiz_phase;      /* 0: no quiz question; 1: the person answers; 2: revealed */
    ui_edit answer;
    ui_result human;
    double human_ms;
};

void ui_ask_finish_if_complete(ui_app *a);
void ui_result_score(ui_result *r, const qt_question *gold, const char *pred);
void ui_result_clear(ui_result *r);

/* panels.c */
/* Rows the panels want in width columns with at most avail rows. */
int ui_panels_height(const ui_app *a, int width, int avail);
void ui_panels_draw(ui_app *a, int y, int x, int h, int w);

/* quiz.c */
void ui_quiz_toggle(ui_app *a);
void ui_quiz_begin(ui_app *a);
int ui_quiz_key(ui_app *a, int key);
int64_t ui_quiz_human_id(ui_app *a, qt_err *e);
const char *ui_quiz_player(const ui_app *a);

/* record.c: the session store */
int ui_record_question(ui_app *a, qt_err *e);
int64_t ui_record_model_id(ui_app *a, ui_slot *s, qt_err *e);
int ui_record_new_session(ui_app *a, int quiz, qt_err *e);

/* history.c */
void ui_history_open(ui_app *a);
void ui_history_free(ui_app *a);
void ui_history_draw(ui_app *a);
void ui_history_key(ui_app *a, int key);
void ui_session_draw(ui_app *a);
void ui_session_key(ui_app *a, int key);
const char *const *ui_history_keys(const ui_app *a);
const char *const *ui_session_keys(const ui_app *a);

/* stats.c */
void ui_stats_open(ui_app *a, int64_t session_id);
void ui_stats_free(ui_app *a);
void ui_stats_draw(ui_app *a);
void ui_stats_key(ui_app *a, int key);
const char *const *ui_stats_keys(const ui_app *a);

/* help.c */
void ui_help_draw(ui_app *a);
void ui_too_small_draw(ui_app *a);
const char *ui_screen_name(ui_screen s);

/* bench.c */
double ui_now_ms(void);

#endif
