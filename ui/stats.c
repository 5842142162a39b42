/* Stats: per model EM and F1 (with bars), the HasAns / NoAns split, and
 * latency p50 / p95 (bars scaled to the slowest model), for one session
 * or, with `a`, over all sessions. */
#include "ui/ui.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ui_stats_state {
    int64_t session_id; /* 0: all sessions */
    int64_t from_session;
    qt_model_stats *stats;
    size_t n;
    int top;            /* first model shown */
} ui_stats_state;

#define BLOCK_ROWS 5

void ui_stats_free(ui_app *a)
{
    ui_stats_state *st = a->stats;
    if (!st)
        return;
    qt_model_stats_free(st->stats, st->n);
    free(st);
    a->stats = NULL;
}

static void load(ui_app *a)
{
    ui_stats_state *st = a->stats;
    qt_model_stats_free(st->stats, st->n);
    st->stats = NULL;
    st->n = 0;
    st->top = 0;
    qt_err e = {{0}};
    if (qt_store_model_stats(a->store, st->session_id, &st->stats, &st->n, &e) < 0) {
        ui_set_status(a, 1, "%s", e.msg);
        st->n = 0;
    }
}

void ui_stats_open(ui_app *a, int64_t session_id)
{
    ui_stats_free(a);
    a->stats = calloc(1, sizeof *a->stats);
    if (!a->stats)
        return;
    a->stats->session_id = session_id;
    a->stats->from_session = session_id;
    load(a);
    ui_go(a, UI_SCR_STATS);
}

static int color_of(const ui_app *a, const qt_model_stats *m)
{
    for (int i = 0; i < a->n_slots; i++)
        if (a->slots[i].store_id == m->model_id)
            return i;
    if (m->architecture && strcmp(m->architecture, "human") == 0)
        return UI_HUMAN_COLOR;
    return -1;
}

static void bar(int y, int x, int w, double v, double max, attr_t at)
{
    const ui_glyphs *g = ui_glyph();
    int fill = (!isnan(v) && max > 0) ? (int)lround(v / max * w) : 0;
    if (fill > w)
        fill = w;
    if (fill < 1 && !isnan(v) && v > 0)
        fill = 1;
    for (int i = 0; i < w; i++)
        ui_puts(stdscr, y, x + i, i < fill ? g->bar_full : g->bar_empty, 1, i < fill ? at : ui_attr(UI_R_DIM));
}

static void num(char *buf, size_t n, double v, const char *unit)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1f%s", v, unit);
}

static int is_human(const qt_model_stats *m)
{
    return m->architecture && strcmp(m->architecture, "human") == 0;
}

static void draw_block(ui_app *a, const qt_model_stats *m, double max_ms, int y, int w)
{
    int color = color_of(a, m);
    attr_t title = color >= 0 ? ui_model_attr(color) : ui_attr(UI_R_SELECT);
    attr_t barc = color >= 0 ? ui_model_span_attr(color) : A_REVERSE;
    ui_fill(stdscr, y, 1, w, title);
    char head[512], right[96];
    snprintf(head, sizeof head, "%s%s%s", m->name, m->variant && m->variant[0] ? " · " : "", m->variant ? m->variant : "");
    snprintf(right, sizeof right, "%s %s %d answers, %d scored", m->architecture ? m->architecture : "",
             ui_glyph()->bullet, m->n_answers, m->n_scored);
    int rw = ui_text_width(right, strlen(right));
    ui_puts_ellipsis(stdscr, y, 2, head, w - rw - 4, title);
    ui_puts(stdscr, y, w - rw, right, rw, title);

    int half = (w - 2) / 2, bw = half - 14;
    if (bw < 5)
        bw = 5;
    char v[32];
    int x1 = 3, x2 = 3 + half;
    ui_puts(stdscr, y + 1, x1, "EM", 2, A_BOLD);
    bar(y + 1, x1 + 4, bw, m->em, 100, barc);
    num(v, sizeof v, m->em, "");
    ui_puts(stdscr, y + 1, x1 + 5 + bw, v, 8, A_NORMAL);
    ui_puts(stdscr, y + 1, x2, "F1", 2, A_BOLD);
    bar(y + 1, x2 + 4, bw, m->f1, 100, barc);
    num(v, sizeof v, m->f1, "");
    ui_puts(stdscr, y + 1, x2 + 5 + bw, v, 8, A_NORMAL);

    char e1[32], f1[32];
    num(e1, sizeof e1, m->has_ans_em, "");
    num(f1, sizeof f1, m->has_ans_f1, "");
    ui_printf(stdscr, y + 2, x1, half - 1, A_NORMAL, "HasAns  EM %s  F1 %s  (%d)", e1, f1, m->n_has_ans);
    num(e1, sizeof e1, m->no_ans_em, "");
    num(f1, sizeof f1, m->no_ans_f1, "");
    ui_printf(stdscr, y + 2, x2, half - 1, A_NORMAL, "NoAns   EM %s  F1 %s  (%d)", e1, f1, m->n_no_ans);

    if (is_human(m)) {
        char p50[32], p95[32];
        num(p50, sizeof p50, m->latency_p50 / 1000.0, " s");
        num(p95, sizeof p95, m->latency_p95 / 1000.0, " s");
        ui_printf(stdscr, y + 3, x1, w - 4, ui_attr(UI_R_DIM), "answer time  p50 %s  p95 %s", p50, p95);
        return;
    }
    ui_puts(stdscr, y + 3, x1, "p50", 3, A_BOLD);
    bar(y + 3, x1 + 4, bw, m->latency_p50, max_ms, barc);
    num(v, sizeof v, m->latency_p50, " ms");
    ui_puts(stdscr, y + 3, x1 + 5 + bw, v, 12, A_NORMAL);
    ui_puts(stdscr, y + 3, x2, "p95", 3, A_BOLD);
    bar(y + 3, x2 + 4, bw, m->latency_p95, max_ms, barc);
    num(v, sizeof v, m->latency_p95, " ms");
    ui_puts(stdscr, y + 3, x2 + 5 + bw, v, 12, A_NORMAL);
}

void ui_stats_draw(ui_app *a)
{
    ui_stats_state *st = a->stats;
    if (st->session_id)
        ui_header(a, "qaterm %s Stats %s session #%lld", ui_glyph()->bullet, ui_glyph()->bullet,
                  (long long)st->session_id);
    else
        ui_header(a, "qaterm %s Stats %s all sessions", ui_glyph()->bullet, ui_glyph()->bullet);
    ui_puts(stdscr, 1, 1, "EM and F1 in percent, as the official SQuAD script reports them; latency per question.",
            COLS - 2, ui_attr(UI_R_DIM));
    double max_ms = 0;
    for (size_t i = 0; i < st->n; i++)
        if (!is_human(&st->stats[i]) && !isnan(st->stats[i].latency_p95))
            max_ms = fmax(max_ms, st->stats[i].latency_p95);
    int fit = (LINES - 4) / BLOCK_ROWS;
    if (fit < 1)
        fit = 1;
    if (st->top > (int)st->n - fit)
        st->top = (int)st->n - fit;
    if (st->top < 0)
        st->top = 0;
    for (int k = 0; k < fit && st->top + k < (int)st->n; k++)
        draw_block(a, &st->stats[st->top + k], max_ms, 3 + k * BLOCK_ROWS, COLS - 2);
    if (st->n == 0)
        ui_puts(stdscr, 3, 2, "No answers recorded yet.", COLS - 4, ui_attr(UI_R_DIM));
    else if (st->top + fit < (int)st->n)
        ui_printf(stdscr, LINES - 2, COLS - 12, 11, ui_attr(UI_R_DIM), "%s more", ui_glyph()->down);
    ui_footer(a, ui_stats_keys(a));
}

const char *const *ui_stats_keys(const ui_app *a)
{
    static const char *const one[] = {"a", "all sessions", "↑↓", "scroll", "?", "help", "q/Esc", "back", NULL};
    static const char *const all[] = {"a", "one session", "↑↓", "scroll", "?", "help", "q/Esc", "back", NULL};
    return a->stats && a->stats->session_id ? one : all;
}

void ui_stats_key(ui_app *a, int key)
{
    ui_stats_state *st = a->stats;
    if (ui_scroll_key(key, &st->top, (int)st->n, (LINES - 4) / BLOCK_ROWS))
        return;
    switch (key) {
    case 'a':
        st->session_id = st->session_id ? 0 : (st->from_session ? st->from_session : a->session_id);
        load(a);
        break;
    case UI_ESC:
    case 'q':
    case UI_K(KEY_LEFT):
        ui_back(a);
        break;
    default:
        break;
    }
}
