/* The help overlay (? or F1 on every screen) and the message shown
 * instead of a broken layout when the terminal is below 80x24. */
#include "ui/ui.h"

#include <stdio.h>
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

static const char *const picker_help[] = {
    "↑↓ j k", "move; PgUp/PgDn a page, g/G or Home/End the ends",
    "Enter → l", "open the article, or ask about the paragraph",
    "← Esc q", "back to the articles (q on the articles quits)",
    "/", "filter as you type (titles and passage text); Enter keeps it, Esc clears it",
    "p", "paste a passage (several lines; bracketed paste), Ctrl-D to use it",
    "o", "open a text file as a passage, or a SQuAD .json file as the data",
    NULL,
};

static const char *const ask_help[] = {
    "Enter", "ask the question on the line (all models, one after another)",
    "Tab", "pick one of the passage's own questions (scored against its gold answers)",
    "↑↓", "question history (on the line); scroll the passage (otherwise)",
    "PgUp/PgDn", "scroll the passage",
    "←→ Home End", "move in the line; Ctrl-A/E ends, Ctrl-K/U/W delete",
    "Esc", "cancel a running question; leave the line; then back to the passages",
    "i Enter", "return to the question line",
    "F1", "this help while typing (? types a question mark)",
    "", "Spans: each model's answer in its colour; gold answers underlined.",
    NULL,
};

static const char *const quiz_help[] = {
    "z", "quiz mode on/off (a new session each time)",
    "", "In quiz mode, after a question you type your own answer first (Enter;",
    "", "nothing = no answer); the models work meanwhile and then reveal theirs.",
    "", "You are scored with the same EM/F1 and recorded like a fifth model.",
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
    "", "EM/F1 in percent; HasAns/NoAns split by the question's answerability;",
    "", "p50/p95: median and 95th percentile latency per question.",
    NULL,
};

static const char *const global_help[] = {
    "? F1", "this help (any key closes it)",
    "q Esc", "back; q on the passage list quits",
    "h s", "history, stats (outside text fields)",
    "Ctrl-C", "quit at once (the session is still closed properly)",
    NULL,
};

static int draw_pairs(const char *const *pairs, int y, int x, int w, int y_end)
{
    for (int i = 0; pairs[i] && y < y_end; i += 2, y++) {
        if (pairs[i][0])
            ui_puts(stdscr, y, x, pairs[i], 12, A_BOLD);
        ui_puts_ellipsis(stdscr, y, x + (pairs[i][0] ? 13 : 0), pairs[i + 1], w - (pairs[i][0] ? 13 : 0), A_NORMAL);
    }
    return y;
}

void ui_help_draw(ui_app *a)
{
    int w = COLS - 4 < 96 ? COLS - 4 : 96;
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
    if (a->screen == UI_SCR_ASK || a->screen == UI_SCR_PICKER)
        y = draw_pairs(quiz_help, y, x, iw, end);
    if (y + 1 < end) {
        ui_puts(stdscr, ++y, x, "Everywhere", iw, ui_attr(UI_R_TITLE));
        y = draw_pairs(global_help, y + 1, x, iw, end);
    }
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
