/* Recording through the session store: a session row at start (and at each
 * switch between compare and quiz mode), the models as they load, and each
 * question with all its answers in one transaction when it completes. */
#include "ui/ui.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ui_record_new_session(ui_app *a, int quiz, qt_err *e)
{
    if (a->session_id > 0 && qt_store_end_session(a->store, a->session_id, e) < 0)
        return -1;
    int64_t id = qt_store_begin_session(a->store, quiz ? "quiz" : "compare", e);
    if (id < 0)
        return -1;
    a->session_id = id;
    a->quiz = quiz;
    return 0;
}

int64_t ui_record_model_id(ui_app *a, ui_slot *s, qt_err *e)
{
    if (s->store_id > 0)
        return s->store_id;
    if (!a->store || !s->model)
        return 0;
    const qt_model_info *in = &s->model->info;
    qt_model_meta m = {0};
    m.name = in->name;
    m.architecture = in->arch;
    m.variant = in->variant;
    m.checkpoint_path = in->path[0] ? in->path : s->dir;
    m.checkpoint_sha256 = s->sha256[0] ? s->sha256 : NULL;
    m.parameter_count = in->n_params > 0 ? in->n_params : -1;
    m.bytes_on_disk = in->bytes_on_disk > 0 ? in->bytes_on_disk : -1;
    int64_t id = qt_store_model_id(a->store, &m, e);
    if (id > 0)
        s->store_id = id;
    return id;
}

/* The gold answers as the store keeps them: [{"text", "answer_start"}]. */
static char *gold_json(const qt_question *q)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    for (int i = 0; q && i < q->n_answers; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "text", q->answers[i].text);
        cJSON_AddNumberToObject(o, "answer_start", (double)q->answers[i].start_char);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static void fill_answer(qt_answer_rec *rec, int64_t model_id, const ui_result *r)
{
    const qt_qa_answer *an = &r->ans;
    memset(rec, 0, sizeof *rec);
    rec->model_id = model_id;
    rec->text = an->has_answer && an->text ? an->text : "";
    rec->char_start = an->has_answer && an->char_start >= 0 ? (int)an->char_start : -1;
    rec->char_end = an->has_answer && an->char_start >= 0 ? (int)an->char_end : -1;
    rec->score = an->score;
    rec->no_answer_prob = an->no_answer_prob;
    rec->latency_ms = an->latency_ms;
    rec->em = r->em;
    rec->f1 = r->em >= 0 ? r->f1 : NAN;
}

int ui_record_question(ui_app *a, qt_err *e)
{
    ui_ask_state *s = a->ask;
    if (!a->store)
        return 0;
    if (a->passage.store_id <= 0) {
        int64_t pid = qt_store_passage_id(a->store, a->passage.source,
                                          a->passage.paragraph >= 0 || a->passage.source ? a->passage.title : NULL,
                                          a->passage.paragraph >= 0 ? a->passage.index_in_article : -1,
                                          a->passage.text, e);
        if (pid < 0)
            return -1;
        a->passage.store_id = pid;
    }
    qt_answer_rec recs[UI_MAX_MODELS + 1];
    size_t n = 0;
    for (int i = 0; i < s->n_res; i++) {
        if (s->res[i].state != UI_RES_DONE)
            continue; /* a model that failed has no answer to record */
        int64_t mid = ui_record_model_id(a, &a->slots[s->res_slot[i]], e);
        if (mid <= 0)
            return -1;
        fill_answer(&recs[n++], mid, &s->res[i]);
    }
    if (s->quiz_phase == 2 && s->human.state == UI_RES_DONE) {
        int64_t hid = ui_quiz_human_id(a, e);
        if (hid <= 0)
            return -1;
        fill_answer(&recs[n++], hid, &s->human);
    }
    char *gold = gold_json(s->gold);
    qt_question_rec q = {0};
    q.external_id = s->gold ? s->gold->id : NULL;
    q.text = s->question;
    q.gold_json = gold;
    q.is_impossible = s->gold ? s->gold->is_impossible : 0;
    q.asked_at_ms = s->asked_at_ms;
    int64_t qid = qt_store_record_question(a->store, a->session_id, a->passage.store_id, &q, recs, n, e);
    free(gold);
    return qid < 0 ? -1 : 0;
}
