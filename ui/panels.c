/* The answer panels: one per model (and one for the quiz-taker), side by
 * side when the terminal is wide enough, else in a grid (2x2 for four at
 * 80 columns). Each shows the model's name and variant, its answer or "no
 * answer", confidence and no-answer probability, a latency bar scaled to
 * the slowest model of the question with its milliseconds, and EM/F1
 * badges when the question has gold answers. */
#include "ui/ui.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_MIN_W 26
#define PANEL_ROWS 5
#define PANEL_COMPACT_ROWS 3
#define PANEL_HUMAN (-1)

typedef struct panel_ref {
    int slot;           /* colour slot and model; PANEL_HUMAN for the person */
    const ui_result *r; /* NULL before the first question */
} panel_ref;

static int panel_list(const ui_app *a, panel_ref *out)
{
    const ui_ask_state *s = a->ask;
    int n = 0;
    if (s->question) {
        for (int i = 0; i < s->n_res; i++)
            out[n++] = (panel_ref){s->res_slot[i], &s->res[i]};
    } else {
        for (int i = 0; i < a->n_slots; i++)
            if (a->slots[i].state != UI_SLOT_FAILED)
                out[n++] = (panel_ref){i, NULL};
    }
    if (a->quiz)
        out[n++] = (panel_ref){PANEL_HUMAN, s->quiz_phase ? &s->human : NULL};
    return n;
}

static void grid(int n, int width, int *cols, int *rows)
{
    if (n <= 0) {
        *cols = *rows = 0;
        return;
    }
    if (width / n >= 30) {
        *cols = n, *rows = 1;
        return;
    }
    int maxcols = width / PANEL_MIN_W;
    if (maxcols < 1)
        maxcols = 1;
    *rows = (n + maxcols - 1) / maxcols;
    *cols = (n + *rows - 1) / *rows;
}

/* Rows per panel for a grid of `rows` rows in avail rows. */
static int panel_rows(int rows, int avail)
{
    if (rows * PANEL_ROWS <= avail) {
        int extra = 0; /* longer answers and details when the passage keeps ten rows */
        while (extra < 5 && avail - rows * (PANEL_ROWS + extra + 1) >= 10)
            extra++;
        return PANEL_ROWS + extra;
    }
    return PANEL_COMPACT_ROWS;
}

int ui_panels_height(const ui_app *a, int width, int avail)
{
    panel_ref refs[UI_MAX_MODELS + 1];
    int n = panel_list(a, refs), cols, rows;
    if (n == 0)
        return 2;
    grid(n, width, &cols, &rows);
    int h = rows * panel_rows(rows, avail);
    return h < avail ? h : (avail > rows ? avail : rows);
}

static const char *spinner(const ui_app *a)
{
    const ui_glyphs *g = ui_glyph();
    return g->spinner[a->tick % g->n_spinner];
}

static void fmt_pct(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.0f%%", v * 100.0);
}

static void draw_title(ui_app *a, const panel_ref *p, int y, int x, int w)
{
    attr_t at = ui_model_attr(p->slot == PANEL_HUMAN ? UI_HUMAN_COLOR : p->slot);
    ui_fill(stdscr, y, x, w, at);
    char left[300], right[64] = "";
    if (p->slot == PANEL_HUMAN) {
        ui_strlcpy(left, ui_quiz_player(a), sizeof left);
        snprintf(right, sizeof right, "quiz");
    } else {
        const ui_slot *sl = &a->slots[p->slot];
        if (sl->model) {
            const qt_model_info *in = &sl->model->info;
            snprintf(left, sizeof left, "%s%s%s", in->name, in->variant[0] ? " · " : "", in->variant);
            ui_strlcpy(right, in->arch, sizeof right);
        } else {
            const char *base = strrchr(sl->dir, '/');
            ui_strlcpy(left, sl->family[0] ? sl->family : base ? base + 1 : sl->dir, sizeof left);
        }
    }
    int rw = ui_text_width(right, strlen(right));
    if (!ui_theme_has_color()) {
        /* without colours, show the attribute that marks this model's span */
        attr_t span = ui_model_span_attr(p->slot == PANEL_HUMAN ? UI_HUMAN_COLOR : p->slot);
        if (w > rw + 12) {
            ui_puts(stdscr, y, x + w - rw - 6, "span", 4, span);
            rw += 5;
        }
    }
    ui_puts_ellipsis(stdscr, y, x + 1, left, w - rw - 3, at);
    if (right[0])
        ui_puts(stdscr, y, x + w - ui_text_width(right, strlen(right)) - 1, right, w, at);
}

/* The answer, wrapped over up to rows rows. */
static void draw_answer(const char *text, int y, int x, int w, int rows, attr_t at)
{
    char buf[1100];
    snprintf(buf, sizeof buf, "“%s”", text);
    if (rows <= 1) {
        ui_puts_ellipsis(stdscr, y, x, buf, w, at);
        return;
    }
    ui_span *lines;
    int n = ui_wrap(buf, strlen(buf), w, &lines);
    for (int r = 0; r < n && r < rows; r++) {
        if (r == rows - 1 && n > rows) {
            char last[1100];
            ui_strlcpy(last, buf + lines[r].start, sizeof last);
            ui_puts_ellipsis(stdscr, y + r, x, last, w, at);
        } else {
            ui_put(stdscr, y + r, x, buf + lines[r].start, lines[r].end - lines[r].start, w, at);
        }
    }
    if (n >= 0)
        free(lines);
}

static int answer_lines(const char *text, int w)
{
    char buf[1100];
    snprintf(buf, sizeof buf, "“%s”", text);
    ui_span *lines;
    int n = ui_wrap(buf, strlen(buf), w, &lines);
    if (n < 0)
        return 1;
    free(lines);
    return n > 0 ? n : 1;
}

static void draw_badges(const ui_result *r, int has_gold, int y, int x, int w)
{
    if (!has_gold || r->em < 0) {
        ui_puts(stdscr, y, x, has_gold ? "" : "not scored (no gold)", w, ui_attr(UI_R_DIM));
        return;
    }
    char em[16], f1[24];
    snprintf(em, sizeof em, " EM %d ", r->em);
    snprintf(f1, sizeof f1, " F1 %.2f ", r->f1);
    int used = ui_puts(stdscr, y, x, em, w, ui_attr(r->em ? UI_R_GOOD : UI_R_BAD));
    ui_puts(stdscr, y, x + used + 1, f1, w - used - 1, ui_attr(r->f1 >= 0.5 ? UI_R_GOOD : UI_R_BAD));
}

static void draw_bar(double value, double max, int y, int x, int w, attr_t at)
{
    const ui_glyphs *g = ui_glyph();
    int fill = max > 0 ? (int)lround(value / max * w) : 0;
    if (fill < 1 && value > 0)
        fill = 1;
    if (fill > w)
        fill = w;
    wmove(stdscr, y, x);
    for (int i = 0; i < w; i++)
        ui_puts(stdscr, y, x + i, i < fill ? g->bar_full : g->bar_empty, 1, i < fill ? at : ui_attr(UI_R_DIM));
}

/* For researchers, when the panel has rows to spare: the span, the raw
 * score, and the checkpoint's size. */
static void draw_details(ui_app *a, const panel_ref *p, int y, int y_end, int x, int w)
{
    const qt_qa_answer *an = &p->r->ans;
    const qt_model *m = a->slots[p->slot].model;
    attr_t dim = ui_attr(UI_R_DIM);
    if (y < y_end) {
        if (an->has_answer && an->char_start >= 0)
            ui_printf(stdscr, y++, x, w, dim, "span: characters %ld-%ld", an->char_start, an->char_end);
        else if (an->best_text && an->best_text[0] && an->best_char_start >= 0)
            ui_printf(stdscr, y++, x, w, dim, "best span: characters %ld-%ld", an->best_char_start,
                      an->best_char_end);
        else
            ui_puts(stdscr, y++, x, "span: none", w, dim);
    }
    if (y < y_end && !isnan(an->score))
        ui_printf(stdscr, y++, x, w, dim, "score %.3g", an->score);
    if (y < y_end && m && (m->info.n_params > 0 || m->info.bytes_on_disk > 0)) {
        char params[32] = "", bytes[32] = "";
        if (m->info.n_params >= 1000000) /* small checkpoints in thousands, not "0.0M" */
            snprintf(params, sizeof params, "%.1fM parameters", m->info.n_params / 1e6);
        else if (m->info.n_params >= 1000)
            snprintf(params, sizeof params, "%.0fk parameters", m->info.n_params / 1e3);
        else if (m->info.n_params > 0)
            snprintf(params, sizeof params, "%lld parameters", m->info.n_params);
        if (m->info.bytes_on_disk > 0)
            snprintf(bytes, sizeof bytes, "%.1f MB on disk", m->info.bytes_on_disk / 1e6);
        ui_printf(stdscr, y++, x, w, dim, "%s%s%s", params, params[0] && bytes[0] ? ", " : "", bytes);
    }
}

static void draw_panel(ui_app *a, const panel_ref *p, double max_ms, int y, int x, int w, int h)
{
    const ui_ask_state *s = a->ask;
    const ui_result *r = p->r;
    attr_t dim = ui_attr(UI_R_DIM);
    int cw = w - 2, cx = x + 1;
    draw_title(a, p, y, x, w);
    if (h < 2)
        return;
    int compact = h < PANEL_ROWS;
    int max_rows = compact ? 1 : h - 4 > 3 ? 3 : h - 4;
    int y_ans = y + 1;
    int human = p->slot == PANEL_HUMAN;

    if (!r) {
        const ui_slot *sl = human ? NULL : &a->slots[p->slot];
        if (sl && sl->state == UI_SLOT_LOADING)
            ui_printf(stdscr, y_ans, cx, cw, dim, "%s loading the model", spinner(a));
        else
            ui_puts(stdscr, y_ans, cx, human ? "you answer first, then the models reveal theirs" : "ready", cw, dim);
        return;
    }
    if (human && s->quiz_phase == 1) {
        ui_puts(stdscr, y_ans, cx, "your turn: type your answer", cw, A_BOLD);
        return;
    }
    if (!human && s->quiz_phase == 1) {
        if (r->state == UI_RES_DONE || r->state == UI_RES_FAILED)
            ui_printf(stdscr, y_ans, cx, cw, dim, "%s ready (hidden)", ui_glyph()->check);
        else
            ui_printf(stdscr, y_ans, cx, cw, dim, "%s thinking (hidden)", spinner(a));
        return;
    }
    switch (r->state) {
    case UI_RES_NONE:
        ui_puts(stdscr, y_ans, cx, "ready", cw, dim);
        return;
    case UI_RES_WAITING:
        ui_printf(stdscr, y_ans, cx, cw, dim, "%s waiting its turn", spinner(a));
        return;
    case UI_RES_RUNNING:
        ui_printf(stdscr, y_ans, cx, cw, A_BOLD, "%s thinking", spinner(a));
        return;
    case UI_RES_CANCELLED:
        ui_puts(stdscr, y_ans, cx, "cancelled", cw, dim);
        return;
    case UI_RES_FAILED:
        ui_printf(stdscr, y_ans, cx, cw, ui_attr(UI_R_ERROR), "%s %s", ui_glyph()->cross, r->err);
        return;
    case UI_RES_DONE:
        break;
    }
    /* the answer takes the rows it needs, up to max_rows; the rest follow it */
    int answer_rows = 1;
    if (r->ans.has_answer && r->ans.text && r->ans.text[0]) {
        answer_rows = answer_lines(r->ans.text, cw);
        if (answer_rows > max_rows)
            answer_rows = max_rows;
        draw_answer(r->ans.text, y_ans, cx, cw, answer_rows, A_BOLD);
    } else {
        ui_puts(stdscr, y_ans, cx, "no answer", cw, dim | A_BOLD);
        if (max_rows > 1 && !human && r->ans.best_text && r->ans.best_text[0]) {
            char guess[1100];
            snprintf(guess, sizeof guess, "best guess “%s”", r->ans.best_text);
            ui_puts_ellipsis(stdscr, y_ans + 1, cx, guess, cw, dim);
            answer_rows = 2;
        }
    }
    int y_conf = y_ans + answer_rows, y_lat = y_conf + 1, y_badge = y_lat + 1;
    if (compact)
        y_conf = y_lat = y_badge = y + 2;

    char line[256], c1[16], c2[16];
    if (human) {
        snprintf(line, sizeof line, "answered in %.1f s", s->human_ms / 1000.0);
        if (!compact)
            ui_puts(stdscr, y_conf, cx, line, cw, dim);
    } else {
        fmt_pct(c1, sizeof c1, r->ans.confidence);
        fmt_pct(c2, sizeof c2, r->ans.no_answer_prob);
        snprintf(line, sizeof line, "conf %s  no-answer %s", c1, c2);
        if (!compact) {
            ui_puts(stdscr, y_conf, cx, line, cw, A_NORMAL);
            snprintf(line, sizeof line, " %.0f ms", r->ans.latency_ms);
            int lw = (int)strlen(line);
            draw_bar(r->ans.latency_ms, max_ms, y_lat, cx, cw - lw, ui_model_span_attr(p->slot));
            ui_puts(stdscr, y_lat, cx + cw - lw, line, lw, A_NORMAL);
        } else {
            snprintf(line, sizeof line, "%.0f ms", r->ans.latency_ms);
            ui_puts(stdscr, y_lat, cx + cw - (int)strlen(line), line, cw, A_NORMAL);
        }
    }
    draw_badges(r, s->gold != NULL, y_badge, cx, compact ? cw - 10 : cw);
    if (!compact && !human)
        draw_details(a, p, y_badge + 1, y + h, cx, cw);
}

static void draw_empty(ui_app *a, int y, int h)
{
    attr_t dim = ui_attr(UI_R_DIM);
    if (a->loading) {
        ui_printf(stdscr, y, 1, COLS - 2, dim, "%s loading the models", spinner(a));
        return;
    }
    ui_puts_ellipsis(stdscr, y, 1, "No models loaded: none in assets/models/{bert,t5,lstm,mamba}; try --model DIR.",
                     COLS - 2, ui_attr(UI_R_ERROR));
    if (h > 1)
        ui_puts_ellipsis(stdscr, y + 1, 1, "Questions are still recorded; z starts quiz mode; F1 shows the config file.",
                         COLS - 2, dim);
}

void ui_panels_draw(ui_app *a, int y, int x, int h, int w)
{
    panel_ref refs[UI_MAX_MODELS + 1];
    int n = panel_list(a, refs), cols, rows;
    if (n == 0) {
        draw_empty(a, y, h);
        return;
    }
    grid(n, w, &cols, &rows);
    int ph = h / rows;
    double max_ms = 0;
    for (int i = 0; i < n; i++)
        if (refs[i].r && refs[i].slot != PANEL_HUMAN && refs[i].r->state == UI_RES_DONE)
            max_ms = fmax(max_ms, refs[i].r->ans.latency_ms);
    for (int i = 0; i < n; i++) {
        int row = i / cols, col = i % cols;
        int px = x + col * w / cols, pw = (col + 1) * w / cols - col * w / cols;
        draw_panel(a, &refs[i], max_ms, y + row * ph, px, pw - 1, ph);
    }
}
