/* Test helper: records questions with 4 answers each into a store.
 *   store_writer DB        writes forever (tests kill it with -9)
 *   store_writer DB N      writes N questions, ends the session, exits
 * The content is deterministic so that tests can check exports:
 * question i has SQuAD id q<i>, every 4th is impossible; alpha always
 * answers "item i", beta is right on odd i, gamma never answers, and the
 * human is always right. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/store.h"

static int record(qt_store *store, int64_t session, const int64_t passages[3],
                  const int64_t models[4], long i, qt_err *e)
{
    char qid[32], question[96], right[48], gold[128];
    int impossible = i % 4 == 0;
    snprintf(qid, sizeof qid, "q%05ld", i);
    snprintf(question, sizeof question, "Question %ld: which item, \"quoted\", comes next?", i);
    snprintf(right, sizeof right, "item %ld", i);
    if (impossible)
        snprintf(gold, sizeof gold, "[]");
    else
        snprintf(gold, sizeof gold, "[{\"text\": \"%s\", \"answer_start\": 0}]", right);
    qt_question_rec q = {.external_id = qid, .text = question, .gold_json = gold,
                         .is_impossible = impossible};
    const char *alpha = impossible ? "wrong" : right;
    const char *beta = impossible || i % 2 == 0 ? (impossible ? "" : "the item") : right;
    const char *human = impossible ? "" : right;
    const char *texts[4] = {alpha, beta, "", human};
    qt_answer_rec a[4];
    for (int k = 0; k < 4; k++) {
        int correct = impossible ? texts[k][0] == '\0' : strcmp(texts[k], right) == 0;
        double f1 = correct ? 1.0 : (strcmp(texts[k], "the item") == 0 ? 0.5 : 0.0);
        a[k] = (qt_answer_rec){.model_id = models[k], .text = texts[k],
                               .char_start = texts[k][0] ? 0 : -1,
                               .char_end = (int)strlen(texts[k]), .score = 1.0 / (k + 1),
                               .no_answer_prob = NAN, .latency_ms = (k + 1) * 10.0 + (double)(i % 7),
                               .em = correct, .f1 = f1};
    }
    return qt_store_record_question(store, session, passages[i % 3], &q, a, 4, e) > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: store_writer DB [N]\n");
        return 2;
    }
    long limit = argc == 3 ? strtol(argv[2], NULL, 10) : -1;
    qt_err e = {{0}};
    qt_store *store = qt_store_open(argv[1], &e);
    if (!store) {
        qt_err_print(&e);
        return 1;
    }
    static const qt_model_meta metas[4] = {
        {"alpha", "bidaf", "", "/models/alpha.safetensors", "aa11", 2600000, 10400000},
        {"beta", "bert", "base", "/models/beta.safetensors", "bb22", 110000000, 440000000},
        {"gamma", "bert", "large", NULL, "cc33", -1, -1},
        {"human", "human", "", NULL, NULL, -1, -1},
    };
    int64_t models[4], passages[3];
    for (int k = 0; k < 4; k++)
        if ((models[k] = qt_store_model_id(store, &metas[k], &e)) < 0)
            goto fail;
    for (int p = 0; p < 3; p++) {
        char title[32], text[128];
        snprintf(title, sizeof title, "Article %d", p);
        snprintf(text, sizeof text, "Passage %d lists the items one after another, item by item.", p);
        if ((passages[p] = qt_store_passage_id(store, "writer.json", title, p, text, &e)) < 0)
            goto fail;
    }
    int64_t session = qt_store_begin_session(store, limit < 0 ? "crash-test" : "test", &e);
    if (session < 0)
        goto fail;
    for (long i = 1; limit < 0 || i <= limit; i++)
        if (record(store, session, passages, models, i, &e) != 0)
            goto fail;
    if (qt_store_end_session(store, session, &e) != 0)
        goto fail;
    qt_store_close(store);
    return 0;
fail:
    qt_err_print(&e);
    qt_store_close(store);
    return 1;
}
