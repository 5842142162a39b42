/* The frame-drawing benchmark: the picker (articles and paragraphs) and the
 * ask screen (a passage with four answered panels) drawn in turn into a
 * 160x48 xterm-256color terminal that writes to /dev/null. Each frame is a
 * full redraw plus ncurses' update, as after every key or result. */
#include "ui/ui.h"
#include "ui/tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_FRAMES 300

double ui_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The paragraph with the most questions: the busiest ask screen. */
static int busiest_paragraph(const qt_squad *d)
{
    int best = 0;
    for (int p = 1; p < d->n_paragraphs; p++)
        if (d->paragraphs[p].n_questions > d->paragraphs[best].n_questions)
            best = p;
    return best;
}

/* Four answered panels, as after a question with gold answers. */
static void synthetic_answers(ui_app *a, const qt_question *q)
{
    ui_ask_state *s = a->ask;
    static const char *const names[] = {"bert", "t5", "lstm", "mamba"};
    a->n_slots = 4;
    for (int i = 0; i < 4; i++) {
        ui_strlcpy(a->slots[i].family, names[i], sizeof a->slots[i].family);
        snprintf(a->slots[i].dir, sizeof a->slots[i].dir, "assets/models/%s", names[i]);
        a->slots[i].state = UI_SLOT_READY;
    }
    s->question = strdup(q->text);
    s->gold = q;
    s->recorded = 1;
    s->n_res = 4;
    for (int i = 0; i < 4; i++) {
        ui_result *r = &s->res[i];
        ui_result_clear(r);
        s->res_slot[i] = i;
        r->state = UI_RES_DONE;
        const char *text = q->n_answers > 0 ? q->answers[0].text : "";
        r->ans.has_answer = q->n_answers > 0 && i != 3;
        r->ans.text = strdup(r->ans.has_answer ? text : "");
        r->ans.best_text = strdup(text);
        r->ans.confidence = 0.5 + 0.1 * i;
        r->ans.no_answer_prob = 0.1 * i;
        r->ans.latency_ms = 40.0 + 90.0 * i;
        if (r->ans.has_answer && q->answers[0].start_byte >= 0) {
            r->span_start = q->answers[0].start_byte;
            r->span_end = r->span_start + (long)strlen(text);
        }
        ui_result_score(r, q, r->ans.has_answer ? text : "");
    }
}

double qt_tui_bench_frame_ms(const char *squad_path)
{
    static ui_app app;
    ui_app *a = &app;
    memset(a, 0, sizeof *a);
    qt_err e = {{0}};
    ui_curses_locale();
    ui_config_defaults(&a->cfg);
    ui_app_init(a);
    a->bench = 1;
    if (ui_load_data(a, squad_path, &e) < 0) {
        qt_err_print(&e);
        ui_app_free(a);
        return -1;
    }
    if (a->data.n_paragraphs == 0) {
        fprintf(stderr, "qaterm: %s: no paragraphs to draw\n", squad_path);
        ui_app_free(a);
        return -1;
    }
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = out && in ? newterm("xterm-256color", out, in) : NULL;
    if (!scr) {
        fprintf(stderr, "qaterm: cannot open a terminal for the benchmark (xterm-256color terminfo)\n");
        if (out)
            fclose(out);
        if (in)
            fclose(in);
        ui_app_free(a);
        return -1;
    }
    resizeterm(48, 160);
    ui_theme_init(&a->cfg);

    int para = busiest_paragraph(&a->data);
    ui_open_paragraph(a, para);
    const qt_paragraph *pg = &a->data.paragraphs[para];
    if (pg->n_questions > 0)
        synthetic_answers(a, &a->data.questions[pg->first_question]);

    double total = 0;
    for (int f = 0; f < BENCH_FRAMES; f++) {
        /* picker articles, picker paragraphs, ask: in turn, so each frame changes the screen */
        switch (f % 3) {
        case 0:
            a->screen = UI_SCR_PICKER;
            ui_picker_reset(a);
            break;
        case 1:
            a->screen = UI_SCR_PICKER;
            ui_picker_key(a, '\r');
            break;
        default:
            a->screen = UI_SCR_ASK;
            break;
        }
        double t0 = ui_now_ms();
        ui_draw(a);
        total += ui_now_ms() - t0;
        a->tick++;
    }
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    ui_app_free(a);
    return total / BENCH_FRAMES;
}
