/* The help overlay (? or F1 on every screen) and the message shown
 * instead of a broken layout when the terminal is below 80x24. */
#include "ui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ui_screen_name(ui_screen s)
{
    switch (s) {
    case UI_SCR_PICKER: return "Passages";
    case UI_SCR_PASTE: return "Paste a passage";
    case UI_SCR_OPEN: return "Open a file";
    case UI_SCR_ASK: return "Ask";
    case UI_SCR_HISTORY: return "History";
    case UI_SCR_SESSION: return "Session";
    case UI_SCR_STATS: return "Stats";
    }
    return "";
}

/* Descriptions fit in one row at 80 columns (63 cells). */
static const char *const picker_help[] = {
    "↑↓ j k", "move; PgUp/PgDn a page; g/G or Home/End the ends",
    "Enter → l", "open the article, or ask about the paragraph",
    "← Esc q", "back to the articles (q on the articles quits)",
    "/", "filter titles and text as you type; Enter keeps, Esc clears",
    "p", "paste a passage (several lines), then Ctrl-D to use it",
    "o", "open a text file as a passage, or a SQuAD .json file",
    "z", "quiz: you answer first, then the models reveal (new session)",
    NULL,
};

static const char *const ask_help[] = {
    "Enter", "ask the question on the line (the models answer in turn)",
    "Tab", "pick one of the passage's questions (scored with its gold)",
    "↑↓", "on the line: earlier questions; else scroll the passage",
    "PgUp/PgDn", "scroll the passage (spans in model colours, gold underlined)",
    "←→ Home End", "move in the line; Ctrl-A/E ends; Ctrl-K/U/W delete",
    "Esc", "cancel a running question; leave the line (i: back to it)",
    "z", "quiz: you answer first, then the models reveal (new session)",
    NULL,
};

static const char *const history_help[] = {
    "↑↓", "choose a session (● this one, ! closed after a crash)",
    "Enter", "every question of the session with each model's answer",
    "s", "stats for the chosen session",
    NULL,
};

static const char *const stats_help[] = {
    "a", "switch between this session and all sessions",
    "↑↓", "scroll when the models do not fit",
    "EM F1", "in percent; HasAns/NoAns: answerable/unanswerable questions",
    "p50 p95", "median and 95th percentile latency per question",
    NULL,
};

static const char *const global_help[] = {
    "? F1", "help (F1 in text fields); any key closes it",
    "q Esc", "back (q quits on the article list); h history; s stats",
    "Ctrl-C", "quit at once (the session is still closed properly)",
    NULL,
};

/* Key, then its description wrapped beside it; returns the next row. */
static int draw_pairs(const char *const *pairs, int y, int x, int w, int y_end)
{
    for (int i = 0; pairs[i] && y < y_end; i += 2) {
        int indent = pairs[i][0] ? 13 : 0;
        if (pairs[i][0])
            ui_puts(stdscr, y, x, pairs[i], 12, A_BOLD);
        const char *d = pairs[i + 1];
        ui_span *lines;
        int n = ui_wrap(d, strlen(d), w - 13, &lines);
        for (int r = 0; r < n && y < y_end; r++, y++)
            ui_put(stdscr, y, x + (r == 0 ? indent : 13), d + lines[r].start, lines[r].end - lines[r].start,
                   w - 13, A_NORMAL);
        if (n >= 0)
            free(lines);
    }
    return y;
}

void ui_help_draw(ui_app *a)
{
    int w = COLS < 100 ? COLS : 96;
    int h = LINES - 2;
    int x0 = (COLS - w) / 2, y0 = 1;
    for (int r = 0; r < h; r++)
        ui_fill(stdscr, y0 + r, x0, w, A_NORMAL);
    ui_box(stdscr, y0, x0, h, w, ui_attr(UI_R_TITLE));
    ui_printf(stdscr, y0, x0 + 2, w - 4, ui_attr(UI_R_TITLE), " Help: %s ", ui_screen_name(a->screen));
    int x = x0 + 2, iw = w - 4, y = y0 + 1, end = y0 + h - 1;
    const char *const *screen_help = NULL;
    switch (a->screen) {
    case UI_SCR_PICKER: case UI_SCR_PASTE: case UI_SCR_OPEN: screen_help = picker_help; break;
    case UI_SCR_ASK: screen_help = ask_help; break;
    case UI_SCR_HISTORY: case UI_SCR_SESSION: screen_help = history_help; break;
    case UI_SCR_STATS: screen_help = stats_help; break;
    }
    y = draw_pairs(screen_help, y, x, iw, end);
    if (y + 1 < end)
        y = draw_pairs(global_help, y + 1, x, iw, end);
    /* where things are */
    if (y + 1 < end) {
        y++;
        int ready = ui_n_ready(a);
        ui_printf(stdscr, y++, x, iw, ui_attr(UI_R_DIM), "Database: %s (session #%lld)",
                  a->store ? qt_store_path(a->store) : "-", (long long)a->session_id);
        if (y < end)
            ui_printf(stdscr, y++, x, iw, ui_attr(UI_R_DIM), "Config: %s%s", ui_config_path(),
                      a->cfg.path[0] ? "" : " (not present; see FILES in qaterm(1))");
        if (y < end)
            ui_printf(stdscr, y++, x, iw, ui_attr(UI_R_DIM), "Models: %d loaded of %d folders", ready, a->n_slots);
        for (int i = 0; i < a->n_slots && y < end; i++, y++) {
            const ui_slot *s = &a->slots[i];
            ui_printf(stdscr, y, x + 2, iw - 2, s->state == UI_SLOT_FAILED ? ui_attr(UI_R_ERROR) : ui_attr(UI_R_DIM),
                      "%s %s%s%s", s->state == UI_SLOT_READY ? ui_glyph()->check : s->state == UI_SLOT_FAILED ? ui_glyph()->cross : "…",
                      s->dir, s->state == UI_SLOT_FAILED ? ": " : "", s->state == UI_SLOT_FAILED ? s->err : "");
        }
    }
}

void ui_too_small_draw(ui_app *a)
{
    (void)a;
    char l1[64], l2[96];
    snprintf(l1, sizeof l1, "Terminal too small: %dx%d", COLS, LINES);
    snprintf(l2, sizeof l2, "qaterm needs at least %dx%d.", UI_MIN_COLS, UI_MIN_LINES);
    const char *l3 = "Enlarge the window (q quits).";
    int y = LINES / 2 - 1;
    if (y < 0)
        y = 0;
    const char *lines[3] = {l1, l2, l3};
    for (int i = 0; i < 3 && y + i < LINES; i++) {
        int w = ui_text_width(lines[i], strlen(lines[i]));
        int x = (COLS - w) / 2;
        if (x < 0)
            x = 0;
        ui_puts(stdscr, y + i, x, lines[i], COLS - x, i == 0 ? A_BOLD : A_NORMAL);
    }
}
