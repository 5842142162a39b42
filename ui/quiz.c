/* Quiz mode, for classrooms: after a question is asked the person types an
 * answer first (the models work meanwhile, hidden); then the models reveal
 * theirs. The person is scored with the same EM/F1 and recorded as one
 * more model, architecture 'human'. Switching the mode starts a new
 * session, so every session is either a comparison or a quiz. */
#include "ui/ui.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ui_quiz_player(const ui_app *a)
{
    return a->cfg.player[0] ? a->cfg.player : "You";
}

void ui_quiz_toggle(ui_app *a)
{
    if (ui_ask_busy(a))
        ui_ask_cancel(a);
    a->ask->quiz_phase = 0;
    qt_err e = {{0}};
    if (a->bench) {
        a->quiz = !a->quiz;
        return;
    }
    if (ui_record_new_session(a, !a->quiz, &e) < 0) {
        ui_set_status(a, 1, "%s", e.msg);
        return;
    }
    ui_set_status(a, 0, a->quiz ? "quiz mode: you answer first (new session #%lld)"
                                : "compare mode (new session #%lld)",
                  (long long)a->session_id);
}

void ui_quiz_begin(ui_app *a)
{
    ui_ask_state *s = a->ask;
    ui_result_clear(&s->human);
    ui_edit_clear(&s->answer);
    s->quiz_phase = 1;
    s->human.state = UI_RES_RUNNING;
    s->started_ms = ui_now_ms();
}

static void submit(ui_app *a)
{
    ui_ask_state *s = a->ask;
    const char *typed = s->answer.buf ? s->answer.buf : "";
    while (*typed == ' ')
        typed++;
    size_t n = strlen(typed);
    while (n > 0 && typed[n - 1] == ' ')
        n--;
    ui_result *h = &s->human;
    h->ans.text = strndup(typed, n);
    h->ans.best_text = strndup(typed, n);
    h->ans.has_answer = n > 0;
    h->ans.char_start = h->ans.char_end = h->ans.byte_start = h->ans.byte_end = -1;
    h->ans.best_char_start = h->ans.best_char_end = -1;
    h->ans.confidence = NAN;
    h->ans.no_answer_prob = NAN;
    h->ans.score = NAN;
    s->human_ms = ui_now_ms() - s->started_ms;
    h->ans.latency_ms = s->human_ms;
    h->state = UI_RES_DONE;
    /* the person's words, where the passage has them */
    if (n > 0 && h->ans.text) {
        const char *hit = strstr(a->passage.text, h->ans.text);
        if (hit) {
            h->span_start = hit - a->passage.text;
            h->span_end = h->span_start + (long)n;
            h->ans.byte_start = h->span_start;
            h->ans.byte_end = h->span_end;
            h->ans.char_start = qt_utf8_char_index(a->passage.text, (size_t)h->span_start);
            h->ans.char_end = qt_utf8_char_index(a->passage.text, (size_t)h->span_end);
        }
    }
    ui_result_score(h, s->gold, h->ans.text ? h->ans.text : "");
    s->quiz_phase = 2;
    ui_ask_finish_if_complete(a);
}

int ui_quiz_key(ui_app *a, int key)
{
    ui_ask_state *s = a->ask;
    if (s->quiz_phase != 1)
        return 0;
    if (key == '\r' || key == '\n' || key == UI_K(KEY_ENTER)) {
        submit(a);
        return 1;
    }
    if (key == UI_ESC) {
        ui_ask_cancel(a);
        s->quiz_phase = 0;
        ui_result_clear(&s->human);
        ui_set_status(a, 0, "question skipped: not recorded");
        return 1;
    }
    return ui_edit_key(&s->answer, key);
}

int64_t ui_quiz_human_id(ui_app *a, qt_err *e)
{
    if (a->human_id > 0)
        return a->human_id;
    qt_model_meta m = {0};
    m.name = ui_quiz_player(a);
    m.architecture = "human";
    m.variant = "";
    m.checkpoint_path = NULL;
    m.checkpoint_sha256 = NULL;
    m.parameter_count = -1;
    m.bytes_on_disk = -1;
    a->human_id = qt_store_model_id(a->store, &m, e);
    return a->human_id;
}
