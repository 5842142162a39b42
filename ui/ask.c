/* The ask screen: the passage (wrapped, scrollable, each model's answer
 * span in its colour, gold spans underlined), the question line with
 * editing keys and history, the passage's own questions (Tab), and the
 * model panels. Questions go to the worker; answers come back as events. */
#include "ui/ui.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qa/score.h"

void ui_ask_init(ui_app *a)
{
    a->ask = calloc(1, sizeof *a->ask);
}

void ui_result_clear(ui_result *r)
{
    qt_qa_answer_free(&r->ans);
    memset(r, 0, sizeof *r);
    r->em = -1;
    r->f1 = NAN;
    r->span_start = r->span_end = -1;
}

static void clear_results(ui_ask_state *s)
{
    for (int i = 0; i < UI_MAX_MODELS; i++)
        ui_result_clear(&s->res[i]);
    ui_result_clear(&s->human);
    s->n_res = 0;
}

void ui_ask_free(ui_app *a)
{
    ui_ask_state *s = a->ask;
    if (!s)
        return;
    ui_edit_free(&s->line);
    ui_edit_free(&s->answer);
    for (int i = 0; i < s->n_history; i++)
        free(s->history[i]);
    free(s->history);
    free(s->wrap);
    free(s->asked);
    free(s->question);
    clear_results(s);
    free(s);
    a->ask = NULL;
}

int ui_ask_busy(const ui_app *a)
{
    return a->ask && a->ask->busy;
}

void ui_ask_cancel(ui_app *a)
{
    ui_ask_state *s = a->ask;
    if (!s->busy)
        return;
    if (a->worker)
        ui_worker_cancel(a->worker);
    s->busy = 0;
    s->job = 0;
    for (int i = 0; i < s->n_res; i++)
        if (s->res[i].state == UI_RES_WAITING || s->res[i].state == UI_RES_RUNNING)
            s->res[i].state = UI_RES_CANCELLED;
    if (s->quiz_phase == 1)
        s->quiz_phase = 0;
    ui_set_status(a, 0, "cancelled: this question is not recorded");
}

int ui_ask_gold_questions(const ui_app *a, const qt_question **first)
{
    if (!a->have_data || a->passage.paragraph < 0) {
        *first = NULL;
        return 0;
    }
    const qt_paragraph *pg = &a->data.paragraphs[a->passage.paragraph];
    *first = &a->data.questions[pg->first_question];
    return pg->n_questions;
}

void ui_ask_set_passage(ui_app *a, const ui_passage *p)
{
    ui_ask_state *s = a->ask;
    ui_ask_cancel(a);
    a->passage = *p;
    a->have_passage = 1;
    clear_results(s);
    free(s->question);
    s->question = NULL;
    s->gold = NULL;
    s->quiz_phase = 0;
    s->recorded = 0;
    s->scroll = 0;
    s->wrap_text = NULL;
    s->line_focus = 1;
    s->qlist_open = 0;
    s->qlist_sel = s->qlist_top = 0;
    s->history_pos = s->n_history;
    ui_edit_clear(&s->line);
    a->status[0] = '\0';
}

/* ---- scoring and spans ---- */

void ui_result_score(ui_result *r, const qt_question *gold, const char *pred)
{
    r->em = -1;
    r->f1 = NAN;
    if (!gold)
        return;
    qt_qscore sc;
    if (qt_score_question(gold, pred ? pred : "", &sc) == 0) {
        r->em = sc.exact > 0.5;
        r->f1 = sc.f1;
    }
}

static void find_span(const ui_passage *p, ui_result *r)
{
    const qt_qa_answer *an = &r->ans;
    r->span_start = r->span_end = -1;
    if (!an->has_answer || !an->text || !an->text[0])
        return;
    long bs = an->byte_start, be = an->byte_end;
    if (!(bs >= 0 && be > bs && (size_t)be <= p->len) && an->char_start >= 0 && an->char_end > an->char_start) {
        bs = qt_utf8_byte_offset(p->text, p->len, an->char_start);
        be = qt_utf8_byte_offset(p->text, p->len, an->char_end);
    }
    if (!(bs >= 0 && be > bs && (size_t)be <= p->len)) {
        /* a generated answer: show where its text first occurs, if it does */
        const char *hit = strstr(p->text, an->text);
        if (!hit || (size_t)(hit - p->text) + strlen(an->text) > p->len)
            return;
        bs = hit - p->text;
        be = bs + (long)strlen(an->text);
    }
    r->span_start = bs;
    r->span_end = be;
}

/* ---- asking ---- */

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_history(ui_ask_state *s, const char *q)
{
    if (s->n_history > 0 && strcmp(s->history[s->n_history - 1], q) == 0) {
        s->history_pos = s->n_history;
        return;
    }
    char **grown = realloc(s->history, (s->n_history + 1) * sizeof *grown);
    if (!grown)
        return;
    s->history = grown;
    s->history[s->n_history++] = strdup(q);
    s->history_pos = s->n_history;
}

static const qt_question *match_gold(const ui_app *a, const char *q)
{
    const qt_question *first;
    int n = ui_ask_gold_questions(a, &first);
    for (int i = 0; i < n; i++)
        if (strcmp(first[i].text, q) == 0)
            return &first[i];
    return NULL;
}

static void ask_question(ui_app *a, const char *typed)
{
    ui_ask_state *s = a->ask;
    while (*typed == ' ')
        typed++;
    size_t n = strlen(typed);
    while (n > 0 && typed[n - 1] == ' ')
        n--;
    if (n == 0)
        return;
    if (a->loading) {
        ui_set_status(a, 0, "the models are still loading: ask again in a moment");
        return;
    }
    char *q = strndup(typed, n);
    if (!q)
        return;
    ui_ask_cancel(a);
    a->status[0] = '\0';
    clear_results(s);
    free(s->question);
    s->question = q;
    s->gold = match_gold(a, q);
    s->recorded = 0;
    add_history(s, q);
    s->asked_at_ms = unix_ms();
    s->started_ms = ui_now_ms();
    s->n_res = ui_ready_slots(a, s->res_slot);
    qt_model *models[UI_MAX_MODELS];
    for (int i = 0; i < s->n_res; i++) {
        s->res[i].state = UI_RES_WAITING;
        models[i] = a->slots[s->res_slot[i]].model;
    }
    if (s->n_res > 0 && a->worker) {
        s->job = ui_worker_ask(a->worker, models, s->n_res, q, a->passage.text, a->passage.len);
        s->busy = s->job != 0;
    }
    if (a->quiz)
        ui_quiz_begin(a);
    ui_ask_finish_if_complete(a);
}

void ui_ask_finish_if_complete(ui_app *a)
{
    ui_ask_state *s = a->ask;
    if (!s->question || s->recorded || s->busy || s->quiz_phase == 1)
        return;
    for (int i = 0; i < s->n_res; i++)
        if (s->res[i].state == UI_RES_CANCELLED || s->res[i].state == UI_RES_WAITING ||
            s->res[i].state == UI_RES_RUNNING)
            return;
    if (a->bench)
        return;
    qt_err e = {{0}};
    if (ui_record_question(a, &e) < 0) {
        ui_set_status(a, 1, "not recorded: %s", e.msg);
        return;
    }
    s->recorded = 1;
    if (s->gold) {
        const qt_question *first;
        int nq = ui_ask_gold_questions(a, &first);
        int idx = (int)(s->gold - first);
        if (idx >= 0 && idx < nq) {
            if (s->n_asked < nq) {
                char *grown = realloc(s->asked, nq);
                if (grown) {
                    memset(grown + s->n_asked, 0, nq - s->n_asked);
                    s->asked = grown;
                    s->n_asked = nq;
                }
            }
            if (idx < s->n_asked)
                s->asked[idx] = 1;
        }
    }
}

/* Keeps the first answer span of a question in view. */
static void show_span(ui_ask_state *s, long start)
{
    for (int i = 0; i < s->n_wrap; i++) {
        if ((long)s->wrap[i].end >= start) {
            if (i < s->scroll || i >= s->scroll + 3)
                s->scroll = i > 0 ? i - 1 : 0;
            return;
        }
    }
}

void ui_ask_event(ui_app *a, ui_event *ev)
{
    ui_ask_state *s = a->ask;
    if (ev->job != s->job || s->job == 0)
        return; /* a cancelled question's late results */
    if (ev->type == UI_EV_START && ev->index < s->n_res) {
        s->res[ev->index].state = UI_RES_RUNNING;
    } else if (ev->type == UI_EV_ANSWER && ev->index < s->n_res) {
        ui_result *r = &s->res[ev->index];
        if (ev->ok) {
            r->ans = ev->answer;
            memset(&ev->answer, 0, sizeof ev->answer);
            r->state = UI_RES_DONE;
            find_span(&a->passage, r);
            ui_result_score(r, s->gold, r->ans.has_answer ? r->ans.text : "");
            int first_span = 1;
            for (int i = 0; i < ev->index; i++)
                first_span &= s->res[i].span_start < 0;
            if (first_span && r->span_start >= 0 && s->quiz_phase != 1)
                show_span(s, r->span_start);
        } else {
            r->state = UI_RES_FAILED;
            ui_strlcpy(r->err, ev->err, sizeof r->err);
        }
    } else if (ev->type == UI_EV_DONE) {
        s->busy = 0;
        s->job = 0;
        if (ev->cancelled) {
            for (int i = 0; i < s->n_res; i++)
                if (s->res[i].state == UI_RES_WAITING || s->res[i].state == UI_RES_RUNNING)
                    s->res[i].state = UI_RES_CANCELLED;
        }
        ui_ask_finish_if_complete(a);
    }
}

/* ---- drawing ---- */

static void ensure_wrap(ui_app *a, int width)
{
    ui_ask_state *s = a->ask;
    if (s->wrap_text == a->passage.text && s->wrap_width == width && s->wrap)
        return;
    free(s->wrap);
    s->wrap = NULL;
    s->n_wrap = ui_wrap(a->passage.text, a->passage.len, width, &s->wrap);
    if (s->n_wrap < 0)
        s->n_wrap = 0;
    s->wrap_width = width;
    s->wrap_text = a->passage.text;
}

static int spans_visible(const ui_ask_state *s)
{
    return s->quiz_phase != 1;
}

static attr_t char_attr(const ui_app *a, size_t b)
{
    const ui_ask_state *s = a->ask;
    attr_t at = A_NORMAL;
    int hits = 0;
    if (!spans_visible(s))
        return at;
    for (int i = 0; i < s->n_res; i++) {
        const ui_result *r = &s->res[i];
        if (r->state == UI_RES_DONE && r->span_start >= 0 && (long)b >= r->span_start && (long)b < r->span_end) {
            at = ui_model_span_attr(s->res_slot[i]);
            hits++;
        }
    }
    const ui_result *h = &s->human;
    if (s->quiz_phase == 2 && h->span_start >= 0 && (long)b >= h->span_start && (long)b < h->span_end) {
        at = ui_model_span_attr(UI_HUMAN_COLOR);
        hits++;
    }
    if (hits > 1)
        at |= A_BOLD;
    if (s->gold && !s->busy) {
        for (int g = 0; g < s->gold->n_answers; g++) {
            const qt_answer *ga = &s->gold->answers[g];
            if (ga->start_byte >= 0 && (long)b >= ga->start_byte &&
                (long)b < ga->start_byte + (long)strlen(ga->text)) {
                at |= A_UNDERLINE;
                break;
            }
        }
    }
    return at;
}

static void draw_passage(ui_app *a, int y, int h, int w)
{
    ui_ask_state *s = a->ask;
    ensure_wrap(a, w);
    if (s->scroll > s->n_wrap - h)
        s->scroll = s->n_wrap - h;
    if (s->scroll < 0)
        s->scroll = 0;
    const char *t = a->passage.text;
    for (int r = 0; r < h && s->scroll + r < s->n_wrap; r++) {
        const ui_span *l = &s->wrap[s->scroll + r];
        wmove(stdscr, y + r, 1);
        int used = 0;
        for (size_t b = l->start; b < l->end;) {
            uint32_t cp;
            size_t nb = ui_utf8_decode(t, a->passage.len, b, &cp);
            int cw = ui_cp_width(cp);
            if (used + cw > w)
                break;
            if (!(cw == 0 && used == 0))
                ui_put_cp(stdscr, cp, char_attr(a, b));
            used += cw;
            b += nb;
        }
    }
    attr_t dim = ui_attr(UI_R_DIM);
    if (s->scroll > 0)
        ui_puts(stdscr, y, COLS - 1, ui_glyph()->up, 1, dim);
    if (s->scroll + h < s->n_wrap)
        ui_puts(stdscr, y + h - 1, COLS - 1, ui_glyph()->down, 1, dim);
}

static void draw_gold_line(ui_app *a, int y)
{
    ui_ask_state *s = a->ask;
    int w = COLS - 2;
    attr_t gold = ui_attr(UI_R_GOLD), dim = ui_attr(UI_R_DIM);
    const qt_question *first;
    int nq = ui_ask_gold_questions(a, &first);
    if (!s->question) {
        if (nq > 0)
            ui_printf(stdscr, y, 1, w, dim, "Type a question and press Enter, or Tab: one of the passage's %d questions.", nq);
        else
            ui_puts(stdscr, y, 1, "Type a question about the passage and press Enter.", w, dim);
        return;
    }
    if (s->busy && s->quiz_phase != 1) {
        int done = 0;
        for (int i = 0; i < s->n_res; i++)
            done += s->res[i].state == UI_RES_DONE || s->res[i].state == UI_RES_FAILED;
        ui_printf(stdscr, y, 1, w, A_BOLD, "%s asking the models (%d/%d answered)  Esc cancels",
                  ui_glyph()->spinner[a->tick % ui_glyph()->n_spinner], done, s->n_res);
        return;
    }
    if (s->quiz_phase == 1) {
        ui_puts(stdscr, y, 1, "Your answer first, on the A line; Enter with nothing = no answer.", w, A_BOLD);
        return;
    }
    if (!s->gold) {
        ui_puts(stdscr, y, 1, "Not scored: a question of your own has no gold answer.", w, dim);
        return;
    }
    if (s->gold->is_impossible || s->gold->n_answers == 0) {
        ui_puts(stdscr, y, 1, "Gold: no answer (the passage does not answer this question)", w, gold);
        return;
    }
    char buf[1024];
    size_t n = (size_t)snprintf(buf, sizeof buf, "Gold:");
    for (int g = 0; g < s->gold->n_answers && n < sizeof buf; g++) {
        int dup = 0;
        for (int k = 0; k < g; k++)
            dup |= strcmp(s->gold->answers[k].text, s->gold->answers[g].text) == 0;
        if (!dup)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %s", g ? " |" : "", s->gold->answers[g].text);
    }
    ui_puts_ellipsis(stdscr, y, 1, buf, w, gold);
}

static int draw_notes(ui_app *a, int y, int dry)
{
    char buf[2048];
    size_t n = 0;
    int failed = 0;
    for (int i = 0; i < a->n_slots; i++) {
        const ui_slot *sl = &a->slots[i];
        if (sl->state != UI_SLOT_FAILED)
            continue;
        failed++;
        /* "DIR/config.json: what": the folder is named already */
        const char *why = sl->err;
        size_t dl = strlen(sl->dir);
        if (strncmp(why, sl->dir, dl) == 0 && strstr(why + dl, ": "))
            why = strstr(why + dl, ": ") + 2;
        const char *base = strrchr(sl->dir, '/');
        if (n < sizeof buf)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s failed to load: %s", failed > 1 ? "; " : "",
                                  sl->family[0] ? sl->family : base ? base + 1 : sl->dir, why);
    }
    if (!failed)
        return 0;
    if (!dry)
        ui_printf(stdscr, y, 1, COLS - 2, ui_attr(UI_R_ERROR), "%s %s", ui_glyph()->cross, buf);
    return 1;
}

static void draw_qlist(ui_app *a, int y, int h)
{
    ui_ask_state *s = a->ask;
    const qt_question *first;
    int n = ui_ask_gold_questions(a, &first);
    int w = COLS, x = 0;
    int rows = n < h - 2 ? n : h - 2;
    if (rows < 1)
        return;
    attr_t box = ui_attr(UI_R_TITLE);
    for (int r = 0; r < rows + 2; r++)
        ui_fill(stdscr, y + r, x, w, A_NORMAL);
    ui_box(stdscr, y, x, rows + 2, w, box);
    ui_printf(stdscr, y, x + 2, w - 4, box, " This passage's questions (%d) ", n);
    ui_list_scroll(&s->qlist_sel, &s->qlist_top, n, rows);
    for (int r = 0; r < rows && s->qlist_top + r < n; r++) {
        int i = s->qlist_top + r;
        attr_t at = i == s->qlist_sel ? ui_attr(UI_R_SELECT) : A_NORMAL;
        ui_fill(stdscr, y + 1 + r, x + 1, w - 2, at);
        const char *mark = i < s->n_asked && s->asked[i] ? ui_glyph()->check : " ";
        const char *tag = first[i].is_impossible && !a->quiz ? "  (unanswerable)" : "";
        char line[2048];
        snprintf(line, sizeof line, "%s %2d. %s%s", mark, i + 1, first[i].text, tag);
        ui_puts_ellipsis(stdscr, y + 1 + r, x + 2, line, w - 4, at);
    }
}

void ui_ask_draw(ui_app *a)
{
    ui_ask_state *s = a->ask;
    if (!a->have_passage) {
        ui_back(a);
        return;
    }
    if (a->passage.paragraph >= 0)
        ui_header(a, "qaterm %s Ask %s %s ¶%d", ui_glyph()->bullet, ui_glyph()->bullet, a->passage.title,
                  a->passage.index_in_article + 1);
    else
        ui_header(a, "qaterm %s Ask %s %s", ui_glyph()->bullet, ui_glyph()->bullet, a->passage.title);

    int quiz_line = s->quiz_phase >= 1 ? 1 : 0;
    int notes = draw_notes(a, 0, 1);
    int fixed = 1 + 1 + 1 + 1 + quiz_line + notes; /* header, footer, question, gold */
    int ph = ui_panels_height(a, COLS, LINES - fixed - 3);
    int passage_h = LINES - fixed - ph - 1; /* one rule above the question */
    /* a short passage: the question and panels follow it closely */
    ensure_wrap(a, COLS - 3);
    int wanted = s->n_wrap + 1 > 5 ? s->n_wrap + 1 : 5;
    if (passage_h > wanted)
        passage_h = wanted;
    int y = 1;
    draw_passage(a, y, passage_h, COLS - 3);
    if (s->qlist_open)
        draw_qlist(a, y, passage_h);
    y += passage_h;
    /* a rule between the passage and the question */
    ui_hline(stdscr, y, 0, COLS, ui_attr(UI_R_DIM));
    y++;
    /* the question line */
    attr_t label = ui_attr(UI_R_TITLE);
    if (s->quiz_phase == 1) {
        ui_puts(stdscr, y, 1, "Q", 1, label);
        ui_puts_ellipsis(stdscr, y, 3, s->question, COLS - 4, A_BOLD);
        y++;
    } else {
        ui_puts(stdscr, y, 1, "Q", 1, label);
        int cx = ui_edit_draw(&s->line, stdscr, y, 3, COLS - 4, s->line_focus ? ui_attr(UI_R_INPUT) : A_NORMAL);
        if (s->line_focus && !s->qlist_open) {
            a->want_cursor = 1;
            a->cursor_y = y;
            a->cursor_x = cx;
        }
        y++;
    }
    if (s->quiz_phase >= 1) {
        ui_puts(stdscr, y, 1, "A", 1, ui_model_attr(UI_HUMAN_COLOR));
        if (s->quiz_phase == 1) {
            int cx = ui_edit_draw(&s->answer, stdscr, y, 3, COLS - 4, ui_attr(UI_R_INPUT));
            a->want_cursor = !s->qlist_open;
            a->cursor_y = y;
            a->cursor_x = cx;
        } else {
            const char *t = s->human.ans.text && s->human.ans.text[0] ? s->human.ans.text : "(no answer)";
            ui_puts_ellipsis(stdscr, y, 3, t, COLS - 4, A_NORMAL);
        }
        y++;
    }
    draw_gold_line(a, y++);
    if (notes)
        draw_notes(a, y++, 0);
    ui_panels_draw(a, y, 0, ph, COLS);
    ui_footer(a, ui_ask_keys(a));
}

const char *const *ui_ask_keys(const ui_app *a)
{
    static const char *const qlist[] = {"↑↓", "move", "Enter", "ask it", "Esc", "close", NULL};
    static const char *const quiz[] = {"Enter", "submit answer", "Esc", "skip question", "PgUp/PgDn", "scroll", NULL};
    static const char *const line[] = {"Enter", "ask", "↑↓", "history", "Tab", "questions", "PgUp/Dn", "scroll",
                                       "Esc", "leave line", "F1", "help", NULL};
    static const char *const busy[] = {"Esc", "cancel", "PgUp/Dn", "scroll", "F1", "help", NULL};
    static const char *const cmd[] = {"i", "type question", "Tab", "questions", "↑↓", "scroll", "h", "history",
                                      "s", "stats", "z", "quiz", "?", "help", "q", "back", NULL};
    const ui_ask_state *s = a->ask;
    if (s->qlist_open)
        return qlist;
    if (s->quiz_phase == 1)
        return quiz;
    if (s->busy)
        return busy;
    return s->line_focus ? line : cmd;
}

/* ---- keys ---- */

static void qlist_key(ui_app *a, int key)
{
    ui_ask_state *s = a->ask;
    const qt_question *first;
    int n = ui_ask_gold_questions(a, &first);
    if (ui_list_key(key, &s->qlist_sel, n, 5))
        return;
    if (key == UI_ESC || key == 'q' || key == '\t') {
        s->qlist_open = 0;
    } else if ((key == '\r' || key == '\n' || key == UI_K(KEY_ENTER)) && n > 0) {
        s->qlist_open = 0;
        ui_edit_set(&s->line, first[s->qlist_sel].text);
        s->line_focus = 1;
        ask_question(a, first[s->qlist_sel].text);
    }
}

static void open_qlist(ui_app *a)
{
    ui_ask_state *s = a->ask;
    const qt_question *first;
    if (ui_ask_gold_questions(a, &first) == 0) {
        ui_set_status(a, 0, "this passage has no questions of its own: type one");
        return;
    }
    s->qlist_open = 1;
}

static void passage_scroll_key(ui_app *a, int key)
{
    ui_ask_state *s = a->ask;
    ui_scroll_key(key, &s->scroll, s->n_wrap, LINES / 3 > 2 ? LINES / 3 : 2);
}

void ui_ask_key(ui_app *a, int key)
{
    ui_ask_state *s = a->ask;
    if (s->qlist_open) {
        qlist_key(a, key);
        return;
    }
    if (s->quiz_phase == 1) {
        if (key == UI_K(KEY_PPAGE) || key == UI_K(KEY_NPAGE))
            passage_scroll_key(a, key);
        else
            ui_quiz_key(a, key);
        return;
    }
    if (key == '\t' || key == UI_K(KEY_BTAB)) {
        open_qlist(a);
        return;
    }
    if (key == UI_K(KEY_PPAGE) || key == UI_K(KEY_NPAGE)) {
        passage_scroll_key(a, key);
        return;
    }
    if (s->line_focus) {
        switch (key) {
        case '\r':
        case '\n':
        case UI_K(KEY_ENTER):
            if (s->line.buf)
                ask_question(a, s->line.buf);
            return;
        case UI_ESC:
            if (s->busy)
                ui_ask_cancel(a);
            else
                s->line_focus = 0;
            return;
        case UI_K(KEY_UP):
            if (s->history_pos > 0) {
                s->history_pos--;
                ui_edit_set(&s->line, s->history[s->history_pos]);
            }
            return;
        case UI_K(KEY_DOWN):
            if (s->history_pos < s->n_history) {
                s->history_pos++;
                ui_edit_set(&s->line, s->history_pos < s->n_history ? s->history[s->history_pos] : "");
            }
            return;
        default:
            ui_edit_key(&s->line, key);
            return;
        }
    }
    if (ui_scroll_key(key, &s->scroll, s->n_wrap, 3))
        return;
    switch (key) {
    case 'i':
    case 'a':
    case '\r':
    case '\n':
    case UI_K(KEY_ENTER):
        s->line_focus = 1;
        break;
    case 'n':
        open_qlist(a);
        break;
    case UI_ESC:
        if (s->busy) {
            ui_ask_cancel(a);
            break;
        }
        ui_back(a);
        break;
    case 'q':
        ui_ask_cancel(a);
        ui_back(a);
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
