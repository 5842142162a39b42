/* The passage picker (the top screen): articles, then an article's
 * paragraphs with their question counts, an incremental filter and a
 * preview; plus the two ways to bring a passage of one's own: paste it
 * (p, bracketed paste, several lines) or load a text file (o). */
#include "ui/ui.h"

#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/json.h"
#include "util/paths.h"

typedef struct ui_picker_state {
    int level;     /* 0: articles; 1: paragraphs of `article` */
    int article;   /* -1: the pasted passages */
    int sel[2], top[2];
    char *filter[2];
    ui_edit line;  /* the filter being typed */
    int typing;
    int *rows;     /* what the list shows: article / paragraph / pasted indices */
    int n_rows, cap_rows;
} ui_picker_state;

#define PASTED_GROUP (-1)

void ui_picker_init(ui_app *a)
{
    a->picker = calloc(1, sizeof *a->picker);
}

void ui_picker_free(ui_app *a)
{
    ui_picker_state *p = a->picker;
    if (!p)
        return;
    free(p->rows);
    free(p->filter[0]);
    free(p->filter[1]);
    ui_edit_free(&p->line);
    free(p);
    a->picker = NULL;
}

int ui_picker_typing(const ui_app *a)
{
    return a->picker && a->picker->typing;
}

static const char *filter_of(const ui_picker_state *p)
{
    return p->filter[p->level] ? p->filter[p->level] : "";
}

static void push_row(ui_picker_state *p, int v)
{
    if (p->n_rows == p->cap_rows) {
        int cap = p->cap_rows ? p->cap_rows * 2 : 64;
        int *grown = realloc(p->rows, cap * sizeof *grown);
        if (!grown)
            return;
        p->rows = grown;
        p->cap_rows = cap;
    }
    p->rows[p->n_rows++] = v;
}

static int article_matches(const ui_app *a, int art, const char *f)
{
    const qt_article *ar = &a->data.articles[art];
    if (ui_strcasestr(ar->title, f))
        return 1;
    for (int k = 0; k < ar->n_paragraphs; k++)
        if (ui_strcasestr(a->data.paragraphs[ar->first_paragraph + k].context, f))
            return 1;
    return 0;
}

void ui_picker_refilter(ui_app *a)
{
    ui_picker_state *p = a->picker;
    const char *f = filter_of(p);
    p->n_rows = 0;
    if (p->level == 0) {
        if (a->n_custom > 0 && (!*f || ui_strcasestr("pasted passages", f)))
            push_row(p, PASTED_GROUP);
        for (int i = 0; a->have_data && i < a->data.n_articles; i++)
            if (!*f || article_matches(a, i, f))
                push_row(p, i);
    } else if (p->article == PASTED_GROUP) {
        for (int i = 0; i < a->n_custom; i++)
            if (!*f || ui_strcasestr(a->custom_text[i], f))
                push_row(p, i);
    } else if (a->have_data && p->article < a->data.n_articles) {
        const qt_article *ar = &a->data.articles[p->article];
        for (int k = 0; k < ar->n_paragraphs; k++)
            if (!*f || ui_strcasestr(a->data.paragraphs[ar->first_paragraph + k].context, f))
                push_row(p, ar->first_paragraph + k);
    }
    if (p->sel[p->level] >= p->n_rows)
        p->sel[p->level] = p->n_rows ? p->n_rows - 1 : 0;
}

void ui_picker_reset(ui_app *a)
{
    ui_picker_state *p = a->picker;
    p->level = 0;
    p->sel[0] = p->sel[1] = p->top[0] = p->top[1] = 0;
    free(p->filter[0]);
    free(p->filter[1]);
    p->filter[0] = p->filter[1] = NULL;
    p->typing = 0;
    ui_picker_refilter(a);
}

static void set_filter(ui_picker_state *p, const char *text)
{
    free(p->filter[p->level]);
    p->filter[p->level] = *text ? strdup(text) : NULL;
}

/* ---- drawing ---- */

static int article_questions(const ui_app *a, int art)
{
    const qt_article *ar = &a->data.articles[art];
    int n = 0;
    for (int k = 0; k < ar->n_paragraphs; k++)
        n += a->data.paragraphs[ar->first_paragraph + k].n_questions;
    return n;
}

static void draw_row(ui_app *a, int y, int x, int w, int row, int selected)
{
    ui_picker_state *p = a->picker;
    attr_t at = selected ? ui_attr(UI_R_SELECT) : A_NORMAL;
    ui_fill(stdscr, y, x, w, at);
    char right[64] = "";
    const char *left = "";
    char buf[256];
    if (p->level == 0) {
        if (row == PASTED_GROUP) {
            left = "Pasted passages";
            snprintf(right, sizeof right, "%d", a->n_custom);
        } else {
            left = a->data.articles[row].title;
            snprintf(right, sizeof right, "%d ¶ %3d q", a->data.articles[row].n_paragraphs,
                     article_questions(a, row));
        }
        int rw = ui_text_width(right, strlen(right));
        ui_puts_ellipsis(stdscr, y, x + 1, left, w - rw - 3, at | (row == PASTED_GROUP ? A_BOLD : 0));
        ui_puts(stdscr, y, x + w - rw - 1, right, rw, at);
        return;
    }
    const char *text;
    if (p->article == PASTED_GROUP) {
        snprintf(buf, sizeof buf, "%2d", row + 1);
        text = a->custom_text[row];
    } else {
        const qt_paragraph *pg = &a->data.paragraphs[row];
        snprintf(buf, sizeof buf, "¶%-2d %2d q", row - a->data.articles[pg->article].first_paragraph + 1,
                 pg->n_questions);
        text = pg->context;
    }
    int used = ui_puts(stdscr, y, x + 1, buf, w - 2, at | A_BOLD);
    /* the first line of the passage, newlines flattened by ui_put */
    size_t len = strnlen(text, 2048);
    int rest = w - used - 3;
    if (rest > 0) {
        int fw;
        size_t fit = ui_text_fit(text, len, rest, &fw);
        ui_put(stdscr, y, x + used + 2, text, fit, rest, at);
        if (fit < len && rest > 1)
            ui_put(stdscr, y, x + used + 2 + rest - 1, ui_glyph()->ellipsis,
                   strlen(ui_glyph()->ellipsis), 1, at);
    }
}

/* Wrapped text in a box region; returns rows used. */
static int draw_wrapped(const char *text, size_t len, int y, int x, int h, int w, attr_t at)
{
    ui_span *lines;
    int n = ui_wrap(text, len, w, &lines);
    if (n < 0)
        return 0;
    int r = 0;
    for (; r < n && r < h; r++)
        ui_put(stdscr, y + r, x, text + lines[r].start, lines[r].end - lines[r].start, w, at);
    free(lines);
    return r;
}

static void draw_models_note(ui_app *a, int y, int x, int w)
{
    int failed = 0;
    for (int i = 0; i < a->n_slots; i++)
        failed += a->slots[i].state == UI_SLOT_FAILED;
    if (a->n_slots == 0)
        ui_puts_ellipsis(stdscr, y, x, "No models found: add --model DIR or see ? help. Quiz mode still works.",
                         w, ui_attr(UI_R_ERROR));
    else if (failed)
        ui_printf(stdscr, y, x, w, ui_attr(UI_R_ERROR), "%s %d of %d models failed to load (details on the ask screen)",
                  ui_glyph()->cross, failed, a->n_slots);
}

static void draw_preview(ui_app *a, int y, int x, int h, int w)
{
    ui_picker_state *p = a->picker;
    if (p->n_rows == 0 || w < 10)
        return;
    int row = p->rows[p->sel[p->level]];
    attr_t dim = ui_attr(UI_R_DIM), title = ui_attr(UI_R_TITLE);
    int r = 0;
    if (p->level == 0) {
        if (row == PASTED_GROUP) {
            ui_puts(stdscr, y, x, "Pasted passages", w, title);
            ui_printf(stdscr, y + 1, x, w, dim, "%d passage%s of your own", a->n_custom, a->n_custom == 1 ? "" : "s");
            return;
        }
        const qt_article *ar = &a->data.articles[row];
        ui_puts_ellipsis(stdscr, y, x, ar->title, w, title);
        int unans = 0, n = 0;
        for (int k = 0; k < ar->n_paragraphs; k++) {
            const qt_paragraph *pg = &a->data.paragraphs[ar->first_paragraph + k];
            for (int q = 0; q < pg->n_questions; q++, n++)
                unans += a->data.questions[pg->first_question + q].is_impossible;
        }
        ui_printf(stdscr, y + 1, x, w, dim, "%d ¶ %s %d questions %s %d unanswerable", ar->n_paragraphs,
                  ui_glyph()->bullet, n, ui_glyph()->bullet, unans);
        if (ar->n_paragraphs > 0) {
            const qt_paragraph *pg = &a->data.paragraphs[ar->first_paragraph];
            draw_wrapped(pg->context, pg->context_len, y + 3, x, h - 3, w, A_NORMAL);
        }
        return;
    }
    const char *text;
    size_t len;
    if (p->article == PASTED_GROUP) {
        text = a->custom_text[row];
        len = strlen(text);
        ui_puts_ellipsis(stdscr, y, x, a->custom_title[row], w, title);
    } else {
        const qt_paragraph *pg = &a->data.paragraphs[row];
        text = pg->context;
        len = pg->context_len;
        ui_printf(stdscr, y, x, w, title, "¶%d %s %d questions",
                  row - a->data.articles[pg->article].first_paragraph + 1, ui_glyph()->bullet, pg->n_questions);
    }
    r = 2 + draw_wrapped(text, len, y + 2, x, h - 2, w, A_NORMAL);
    if (p->article != PASTED_GROUP && r + 2 < h) {
        const qt_paragraph *pg = &a->data.paragraphs[row];
        ui_puts(stdscr, y + r + 1, x, "Questions:", w, title);
        r += 2;
        for (int q = 0; q < pg->n_questions && r < h; q++, r++) {
            const qt_question *qq = &a->data.questions[pg->first_question + q];
            ui_printf(stdscr, y + r, x, w, dim, "%s %s", ui_glyph()->bullet, qq->text);
        }
    }
}

void ui_picker_draw(ui_app *a)
{
    ui_picker_state *p = a->picker;
    if (a->have_data) {
        const char *base = strrchr(a->data_path, '/');
        ui_header(a, "qaterm %s Passages %s %s %s %d questions", ui_glyph()->bullet, ui_glyph()->bullet,
                  base ? base + 1 : a->data_path, ui_glyph()->bullet, a->data.n_questions);
    } else {
        ui_header(a, "qaterm %s Passages", ui_glyph()->bullet);
    }
    /* row 1: where we are, and the filter */
    char crumb[512];
    if (p->level == 0)
        snprintf(crumb, sizeof crumb, "Articles");
    else
        snprintf(crumb, sizeof crumb, "Articles › %s",
                 p->article == PASTED_GROUP ? "Pasted passages" : a->data.articles[p->article].title);
    int list_w = COLS * 2 / 5;
    if (list_w < 34)
        list_w = 34;
    int used = ui_puts_ellipsis(stdscr, 1, 1, crumb, list_w - 2, ui_attr(UI_R_TITLE));
    (void)used;
    if (p->typing || filter_of(p)[0]) {
        int fx = list_w + 1;
        ui_puts(stdscr, 1, fx, "/", 1, ui_attr(UI_R_MATCH));
        if (p->typing) {
            int cx = ui_edit_draw(&p->line, stdscr, 1, fx + 2, COLS - fx - 3, ui_attr(UI_R_INPUT));
            a->want_cursor = 1;
            a->cursor_y = 1;
            a->cursor_x = cx;
        } else {
            ui_printf(stdscr, 1, fx + 2, COLS - fx - 3, ui_attr(UI_R_MATCH), "%s  (%d match%s)", filter_of(p),
                      p->n_rows, p->n_rows == 1 ? "" : "es");
        }
    }
    int top = 2, h = LINES - 3;
    int lh = h - 1; /* one row for notes at the bottom */
    ui_list_scroll(&p->sel[p->level], &p->top[p->level], p->n_rows, lh);
    for (int r = 0; r < lh && p->top[p->level] + r < p->n_rows; r++) {
        int i = p->top[p->level] + r;
        draw_row(a, top + r, 0, list_w, p->rows[i], i == p->sel[p->level]);
    }
    if (p->n_rows == 0) {
        const char *msg = !a->have_data && p->level == 0
                              ? (a->data_note[0] ? a->data_note : "No data loaded.")
                              : "Nothing matches the filter (Esc clears it).";
        draw_wrapped(msg, strlen(msg), top, 1, lh, list_w - 2, ui_attr(UI_R_DIM));
        if (!a->have_data)
            draw_wrapped("Press p to paste a passage or o to open a file.", 48, top + 3, 1, 2, list_w - 2, A_NORMAL);
    }
    /* the separator and the preview */
    ui_vline(stdscr, top, list_w, h - 1, ui_attr(UI_R_DIM));
    draw_preview(a, top, list_w + 2, lh, COLS - list_w - 3);
    draw_models_note(a, top + h - 1, 1, COLS - 2);
    ui_footer(a, ui_picker_keys(a));
}

const char *const *ui_picker_keys(const ui_app *a)
{
    static const char *const typing[] = {"type", "filter", "Enter", "keep", "Esc", "clear", "↑↓", "move", NULL};
    static const char *const top[] = {"↑↓", "move", "Enter", "open", "/", "filter", "p", "paste", "o", "open file",
                                      "h", "history", "s", "stats", "z", "quiz", "?", "help", "q", "quit", NULL};
    static const char *const para[] = {"↑↓", "move", "Enter", "ask", "/", "filter", "Esc", "back", "p", "paste",
                                       "h", "history", "s", "stats", "z", "quiz", "?", "help", NULL};
    const ui_picker_state *p = a->picker;
    if (p->typing)
        return typing;
    return p->level == 0 ? top : para;
}

/* ---- keys ---- */

static void open_selected(ui_app *a)
{
    ui_picker_state *p = a->picker;
    if (p->n_rows == 0)
        return;
    int row = p->rows[p->sel[p->level]];
    if (p->level == 0) {
        p->article = row;
        p->level = 1;
        p->sel[1] = p->top[1] = 0;
        free(p->filter[1]);
        p->filter[1] = NULL;
        ui_picker_refilter(a);
        return;
    }
    if (p->article == PASTED_GROUP) {
        ui_ask_set_passage(a, &a->custom[row]);
        ui_go(a, UI_SCR_ASK);
    } else {
        ui_open_paragraph(a, row);
    }
}

static void go_up(ui_app *a)
{
    ui_picker_state *p = a->picker;
    p->level = 0;
    p->typing = 0;
    ui_picker_refilter(a);
    /* keep the article we came from selected */
    for (int i = 0; i < p->n_rows; i++)
        if (p->rows[i] == p->article)
            p->sel[0] = i;
}

void ui_picker_key(ui_app *a, int key)
{
    ui_picker_state *p = a->picker;
    if (p->typing) {
        if (key == '\r' || key == '\n' || key == UI_K(KEY_ENTER)) {
            p->typing = 0;
        } else if (key == UI_ESC) {
            p->typing = 0;
            set_filter(p, "");
            ui_picker_refilter(a);
        } else if (key == UI_K(KEY_UP) || key == UI_K(KEY_DOWN) || key == UI_K(KEY_PPAGE) ||
                   key == UI_K(KEY_NPAGE)) {
            ui_list_key(key, &p->sel[p->level], p->n_rows, LINES - 4);
        } else if (ui_edit_key(&p->line, key)) {
            set_filter(p, p->line.buf);
            p->sel[p->level] = p->top[p->level] = 0;
            ui_picker_refilter(a);
        }
        return;
    }
    if (ui_list_key(key, &p->sel[p->level], p->n_rows, LINES - 5))
        return;
    switch (key) {
    case '\r':
    case '\n':
    case UI_K(KEY_ENTER):
    case UI_K(KEY_RIGHT):
    case 'l':
        open_selected(a);
        break;
    case UI_K(KEY_LEFT):
    case UI_K(KEY_BACKSPACE):
    case 127:
        if (p->level == 1)
            go_up(a);
        break;
    case UI_ESC:
        if (filter_of(p)[0]) {
            set_filter(p, "");
            ui_picker_refilter(a);
        } else if (p->level == 1) {
            go_up(a);
        }
        break;
    case 'q':
        if (p->level == 1)
            go_up(a);
        else
            a->quit = 1;
        break;
    case '/':
        p->typing = 1;
        ui_edit_set(&p->line, filter_of(p));
        break;
    case 'p':
        ui_edit_clear(&a->paste);
        ui_go(a, UI_SCR_PASTE);
        break;
    case 'o':
        ui_edit_clear(&a->open_line);
        ui_go(a, UI_SCR_OPEN);
        break;
    case 'h':
        ui_history_open(a);
        break;
    case 's':
        ui_stats_open(a, a->session_id);
        break;
    case 'z':
        ui_quiz_toggle(a);
        break;
    default:
        break;
    }
}

void ui_open_paragraph(ui_app *a, int p)
{
    const qt_paragraph *pg = &a->data.paragraphs[p];
    ui_passage ps = {0};
    ps.text = pg->context;
    ps.len = pg->context_len;
    ps.title = a->data.articles[pg->article].title;
    ps.source = a->data_path;
    ps.paragraph = p;
    ps.index_in_article = p - a->data.articles[pg->article].first_paragraph;
    ui_ask_set_passage(a, &ps);
    ui_go(a, UI_SCR_ASK);
}

/* ---- passages of one's own ---- */

/* CR LF and lone CR become LF; trailing blanks go. */
static void normalise_text(char *t)
{
    char *w = t;
    for (char *r = t; *r; r++) {
        if (*r == '\r') {
            *w++ = '\n';
            if (r[1] == '\n')
                r++;
        } else {
            *w++ = *r == '\t' ? ' ' : *r;
        }
    }
    while (w > t && (w[-1] == '\n' || w[-1] == ' '))
        w--;
    *w = '\0';
}

void ui_add_custom_passage(ui_app *a, char *text, const char *title)
{
    int n = a->n_custom + 1;
    ui_passage *ps = realloc(a->custom, n * sizeof *ps);
    if (ps)
        a->custom = ps;
    char **texts = realloc(a->custom_text, n * sizeof *texts);
    if (texts)
        a->custom_text = texts;
    char **titles = realloc(a->custom_title, n * sizeof *titles);
    if (titles)
        a->custom_title = titles;
    if (!ps || !texts || !titles) {
        free(text);
        ui_set_status(a, 1, "out of memory");
        return;
    }
    int i = a->n_custom++;
    a->custom_text[i] = text;
    a->custom_title[i] = strdup(title);
    ui_passage *p = &a->custom[i];
    memset(p, 0, sizeof *p);
    p->text = text;
    p->len = strlen(text);
    p->title = a->custom_title[i] ? a->custom_title[i] : "Pasted passage";
    p->paragraph = -1;
    p->index_in_article = i;
    ui_picker_refilter(a);
    ui_ask_set_passage(a, p);
    ui_replace(a, UI_SCR_ASK);
}

void ui_paste_draw(ui_app *a)
{
    ui_header(a, "qaterm %s Paste a passage", ui_glyph()->bullet);
    ui_puts(stdscr, 1, 1, "Paste (or type) the passage below; several lines are fine.", COLS - 2,
            ui_attr(UI_R_TITLE));
    const char *text = a->paste.buf ? a->paste.buf : "";
    size_t len = a->paste.len;
    int y = 3, h = LINES - 5, w = COLS - 2;
    ui_span *lines;
    int n = ui_wrap(text, len, w - 1, &lines);
    if (n < 0)
        return;
    /* follow the end of the text, where the cursor is */
    int end_col = 0, end_row = n > 0 ? n - 1 : 0;
    if (n > 0)
        end_col = ui_text_width(text + lines[n - 1].start, lines[n - 1].end - lines[n - 1].start);
    if (len > 0 && text[len - 1] == '\n')
        end_row = n, end_col = 0;
    int top = end_row - h + 1;
    if (top < 0)
        top = 0;
    for (int r = 0; r < h && top + r < n; r++)
        ui_put(stdscr, y + r, 1, text + lines[top + r].start, lines[top + r].end - lines[top + r].start, w,
               A_NORMAL);
    free(lines);
    int chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)text[i] & 0xc0) != 0x80;
    ui_printf(stdscr, 2, 1, w, ui_attr(UI_R_DIM), "%d characters", chars);
    a->want_cursor = 1;
    a->cursor_y = y + end_row - top;
    a->cursor_x = 1 + end_col;
    static const char *const keys[] = {"Ctrl-D", "use it", "Enter", "new line", "Backspace", "delete",
                                       "Ctrl-U", "clear", "Esc", "cancel", NULL};
    ui_footer(a, keys);
}

void ui_paste_key(ui_app *a, int key)
{
    ui_edit *e = &a->paste;
    e->cur = e->len; /* text is added at the end */
    if (key == '\r' || key == '\n' || key == UI_K(KEY_ENTER)) {
        ui_edit_insert(e, "\n", 1);
        return;
    }
    if (a->pasting) {
        ui_edit_key(e, key);
        return;
    }
    if (key == UI_ESC) {
        ui_edit_clear(e);
        ui_back(a);
    } else if (key == UI_CTRL('d') || key == UI_K(KEY_F(2))) {
        char *text = strdup(e->buf ? e->buf : "");
        if (!text)
            return;
        normalise_text(text);
        if (!*text || qt_utf8_invalid_offset(text, strlen(text)) >= 0) {
            free(text);
            ui_set_status(a, 1, "the passage is empty: paste or type some text first");
            return;
        }
        char title[64];
        int fw;
        size_t fit = ui_text_fit(text, strcspn(text, "\n"), 40, &fw);
        snprintf(title, sizeof title, "%.*s%s", (int)fit, text, fit < strcspn(text, "\n") ? "…" : "");
        ui_edit_clear(e);
        ui_add_custom_passage(a, text, title);
    } else if (key == UI_CTRL('u')) {
        ui_edit_clear(e);
    } else if (key >= 0x20 || key == UI_K(KEY_BACKSPACE) || key == 127 || key == UI_CTRL('h')) {
        ui_edit_key(e, key);
    }
}

void ui_open_draw(ui_app *a)
{
    ui_header(a, "qaterm %s Open a file", ui_glyph()->bullet);
    ui_puts(stdscr, 2, 1, "File to open: a text file (UTF-8) becomes a passage; a .json file", COLS - 2, A_NORMAL);
    ui_puts(stdscr, 3, 1, "in SQuAD format replaces the data set.", COLS - 2, A_NORMAL);
    ui_puts(stdscr, 5, 1, "Path:", 6, ui_attr(UI_R_TITLE));
    int cx = ui_edit_draw(&a->open_line, stdscr, 5, 7, COLS - 8, ui_attr(UI_R_INPUT));
    a->want_cursor = 1;
    a->cursor_y = 5;
    a->cursor_x = cx;
    static const char *const keys[] = {"Enter", "open", "Esc", "cancel", "Ctrl-U", "clear", NULL};
    ui_footer(a, keys);
}

static void open_file(ui_app *a, const char *typed)
{
    char path[4096];
    const char *home = getenv("HOME");
    if (strncmp(typed, "~/", 2) == 0 && home)
        snprintf(path, sizeof path, "%s/%s", home, typed + 2);
    else
        ui_strlcpy(path, typed, sizeof path);
    qt_err e = {{0}};
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
        if (ui_load_data(a, path, &e) < 0) {
            ui_set_status(a, 1, "%s", e.msg);
            return;
        }
        ui_back(a);
        ui_set_status(a, 0, "opened %s: %d questions", path, a->data.n_questions);
        return;
    }
    char *text;
    size_t len;
    if (qt_read_file(path, 1 << 20, &text, &len, &e) < 0) {
        ui_set_status(a, 1, "%s", e.msg);
        return;
    }
    long bad = qt_utf8_invalid_offset(text, len);
    if (bad >= 0 || strlen(text) != len) {
        ui_set_status(a, 1, "%s: not UTF-8 text (byte %ld)", path, bad >= 0 ? bad : (long)strlen(text));
        free(text);
        return;
    }
    normalise_text(text);
    if (!*text) {
        ui_set_status(a, 1, "%s: the file is empty", path);
        free(text);
        return;
    }
    const char *base = strrchr(path, '/');
    ui_add_custom_passage(a, text, base ? base + 1 : path);
}

void ui_open_key(ui_app *a, int key)
{
    if (key == UI_ESC) {
        ui_back(a);
    } else if (key == '\r' || key == '\n' || key == UI_K(KEY_ENTER)) {
        if (a->open_line.buf && a->open_line.buf[0])
            open_file(a, a->open_line.buf);
    } else {
        ui_edit_key(&a->open_line, key);
    }
}
