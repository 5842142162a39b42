/* Unanswerable examples made from answerable ones: each perturbation kind
 * changes the question, results are deterministic for a seed, and the check
 * refuses a perturbation that leaves the gold answer valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/negatives.h"
#include "train/split.h"
#include "train/textscan.h"

/* One article, two paragraphs, questions that each perturbation can use. */
static const char *doc =
    "{\"version\": \"1.1\", \"data\": [{\"title\": \"T\", \"paragraphs\": ["
    " {\"context\": \"The Normans were a people who in the 10th and 11th centuries gave their name to "
    "Normandy, a region in France. Their leader Rollo swore fealty to King Charles III of West Francia. "
    "The first Norman castle was built in 1066 near Hastings. The treaty was signed by Louis the Pious "
    "in March.\", \"qas\": ["
    "  {\"id\": \"q1\", \"question\": \"Who did Rollo swear fealty to?\", \"answers\": "
    "[{\"text\": \"King Charles III\", \"answer_start\": 145}]},"
    "  {\"id\": \"q2\", \"question\": \"In what year was the first Norman castle built?\", \"answers\": "
    "[{\"text\": \"1066\", \"answer_start\": 216}]},"
    "  {\"id\": \"q3\", \"question\": \"What region did the Normans give their name to?\", \"answers\": "
    "[{\"text\": \"Normandy\", \"answer_start\": 80}]}"
    " ]},"
    " {\"context\": \"Later, in 1204, King Philip II of France took the duchy. Richard the Lionheart had "
    "ruled it in 1189 after a long and costly war.\", \"qas\": ["
    "  {\"id\": \"q4\", \"question\": \"Who took the duchy in 1204?\", \"answers\": "
    "[{\"text\": \"King Philip II\", \"answer_start\": 16}]}"
    " ]}]}]}";

static qt_squad squad;

static int setup(void **state)
{
    (void)state;
    qt_err e = {{0}};
    if (qt_squad_load_buffer("doc", doc, strlen(doc), &squad, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qt_squad_free(&squad);
    return 0;
}

static const qt_question *question(const char *id)
{
    const qt_question *q = qt_squad_find(&squad, id);
    assert_non_null(q);
    assert_true(q->answers[0].start_byte >= 0);
    return q;
}

static char *perturb(const char *id, qt_ex_kind kind, uint64_t seed)
{
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qt_err e = {{0}};
    char *out = NULL;
    int rc = qt_neg_perturb(&squad, question(id), kind, &rng, &out, &e);
    assert_true(rc >= 0);
    return rc == 1 ? out : NULL;
}

static void each_kind_changes_the_question(void **state)
{
    (void)state;
    struct {
        const char *id;
        qt_ex_kind kind;
    } cases[] = {
        {"q1", QT_EX_ENTITY},   {"q3", QT_EX_ENTITY},  {"q4", QT_EX_NUMBER},
        {"q3", QT_EX_NEGATION}, {"q2", QT_EX_ANTONYM}, {"q2", QT_EX_NEGATION},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *nq = perturb(cases[i].id, cases[i].kind, 7);
        const char *orig = question(cases[i].id)->text;
        if (!nq)
            fail_msg("%s: no %s perturbation of '%s'", cases[i].id, qt_ex_kind_name(cases[i].kind), orig);
        assert_string_not_equal(nq, orig);
        free(nq);
    }
}

static void perturbations_are_what_they_claim(void **state)
{
    (void)state;
    /* q1's only name besides the answer is Rollo: another name of the article
     * comes in, never one near the answer sentence */
    char *nq = perturb("q1", QT_EX_ENTITY, 3);
    assert_non_null(nq);
    assert_null(strstr(nq, "Rollo"));
    assert_null(strstr(nq, "Charles"));
    assert_null(strstr(nq, "West Francia"));
    free(nq);
    /* the year becomes another year of the article: 1189 sits next to the
     * answer's sentence, so only 1066 is left */
    nq = perturb("q4", QT_EX_NUMBER, 3);
    assert_string_equal(nq, "Who took the duchy in 1066?");
    free(nq);
    /* negation goes before the verb after the subject */
    nq = perturb("q3", QT_EX_NEGATION, 1);
    assert_non_null(nq);
    assert_true(strstr(nq, "Normans not give") || strstr(nq, "Normans never give"));
    free(nq);
    /* first -> last or built -> destroyed */
    nq = perturb("q2", QT_EX_ANTONYM, 1);
    assert_non_null(nq);
    assert_true(strcmp(nq, "In what year was the last Norman castle built?") == 0 ||
                strcmp(nq, "In what year was the first Norman castle destroyed?") == 0);
    free(nq);
}

static void deterministic_for_a_seed(void **state)
{
    (void)state;
    qt_neg_opts o;
    qt_neg_opts_default(&o);
    o.share = 0.5;
    qt_example_set a = {0}, b = {0};
    qt_err e = {{0}};
    assert_int_equal(qt_examples_from_squad(&squad, &o, &a, &e), 0);
    assert_int_equal(qt_examples_from_squad(&squad, &o, &b, &e), 0);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.counts[QT_EX_ANSWERABLE], 4);
    assert_true(a.n > 4);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.ex[i].question, b.ex[i].question);
        assert_int_equal(a.ex[i].kind, b.ex[i].kind);
        assert_ptr_equal(a.ex[i].context, b.ex[i].context);
        if (a.ex[i].kind != QT_EX_ANSWERABLE)
            assert_int_equal(a.ex[i].ans_start, -1);
    }
    qt_example_set_free(&a);
    qt_example_set_free(&b);
}

static void check_rejects_answer_that_stays_valid(void **state)
{
    (void)state;
    const char *ctx = "Paris is the capital of France. Berlin is the capital of Germany. Rome has the Colosseum.";
    size_t len = strlen(ctx);
    long ans = 0; /* "Paris" in sentence 0 */
    /* swapping France -> Germany keeps an answer (Berlin) next door: refused */
    assert_false(qt_neg_absent_near_answer(ctx, len, ans, "Germany"));
    assert_false(qt_neg_absent_near_answer(ctx, len, ans, "germany"));
    /* a name that is nowhere near the answer is fine */
    assert_true(qt_neg_absent_near_answer(ctx, len, ans, "Spain"));
    /* whole words only: "Rom" is not "Rome", and Rome is two sentences away */
    assert_true(qt_neg_absent_near_answer(ctx, len, ans, "Rom"));
    assert_true(qt_neg_absent_near_answer(ctx, len, ans, "Rome"));
    assert_false(qt_neg_absent_near_answer(ctx, len, 40, "Rome"));
    /* a negation near the answer makes an added "not" unsafe */
    const char *neg = "He did not sign the treaty. Louis signed it in 1204.";
    assert_true(qt_neg_negated_near_answer(neg, strlen(neg), 28));
    assert_false(qt_neg_negated_near_answer(ctx, len, 0));
}

static void negation_refused_when_paragraph_negates(void **state)
{
    (void)state;
    static const char *d =
        "{\"data\": [{\"title\": \"N\", \"paragraphs\": [{\"context\": \"The king did not sign the "
        "treaty, so Louis signed it.\", \"qas\": [{\"id\": \"n1\", \"question\": \"Who did sign the treaty?\", "
        "\"answers\": [{\"text\": \"Louis\", \"answer_start\": 37}]}]}]}]}";
    qt_squad s;
    qt_err e = {{0}};
    assert_int_equal(qt_squad_load_buffer("d", d, strlen(d), &s, &e), 0);
    qt_rng rng;
    qt_rng_seed(&rng, 1);
    char *out = NULL;
    assert_int_equal(qt_neg_perturb(&s, &s.questions[0], QT_EX_NEGATION, &rng, &out, &e), 0);
    assert_null(out);
    /* the entity swap has no other name to bring in that is not near the answer */
    assert_int_equal(qt_neg_perturb(&s, &s.questions[0], QT_EX_ENTITY, &rng, &out, &e), 0);
    qt_squad_free(&s);
}

static void other_paragraph_negatives_lack_the_answer(void **state)
{
    (void)state;
    qt_neg_opts o;
    qt_neg_opts_default(&o);
    o.share = 0.9;
    o.w_entity = o.w_number = o.w_negation = o.w_antonym = 0;
    o.w_other = 1;
    qt_example_set s = {0};
    qt_err e = {{0}};
    assert_int_equal(qt_examples_from_squad(&squad, &o, &s, &e), 0);
    assert_true(s.counts[QT_EX_OTHER_PARAGRAPH] > 0);
    for (int i = 0; i < s.n; i++) {
        if (s.ex[i].kind != QT_EX_OTHER_PARAGRAPH)
            continue;
        const qt_question *q = NULL;
        for (int k = 0; k < squad.n_questions; k++)
            if (strcmp(squad.questions[k].text, s.ex[i].question) == 0)
                q = &squad.questions[k];
        assert_non_null(q);
        assert_ptr_not_equal(s.ex[i].context, squad.paragraphs[q->paragraph].context);
        assert_null(strstr(s.ex[i].context, q->answers[0].text));
    }
    qt_example_set_free(&s);
}

static void antonym_list_and_splits(void **state)
{
    (void)state;
    assert_true(qt_neg_antonym_count() >= 200);
    assert_string_equal(qt_neg_antonym("first"), "last");
    assert_string_equal(qt_neg_antonym("smallest"), "largest");
    assert_null(qt_neg_antonym("castle"));
    int first, count;
    qt_err e = {{0}};
    assert_int_equal(qt_dev_split_range(18, "a1", &first, &count, &e), 0);
    assert_int_equal(first, 0);
    assert_int_equal(count, 9);
    assert_int_equal(qt_dev_split_range(18, "a2", &first, &count, &e), 0);
    assert_int_equal(first, 9);
    assert_int_equal(count, 9);
    assert_int_equal(qt_dev_split_range(18, "0-5", &first, &count, &e), 0);
    assert_int_equal(first, 0);
    assert_int_equal(count, 5);
    assert_int_equal(qt_dev_split_range(18, "5-9", &first, &count, &e), 0);
    assert_int_equal(first, 5);
    assert_int_equal(count, 4);
    assert_int_equal(qt_dev_split_range(18, "5-19", &first, &count, &e), -1);
    assert_int_equal(qt_dev_split_range(18, "5-5", &first, &count, &e), -1);
    assert_int_equal(qt_dev_split_range(18, "b", &first, &count, &e), -1);
    assert_non_null(strstr(e.msg, "unknown dev split 'b'"));
}

static void sentences_and_tokens(void **state)
{
    (void)state;
    const char *t = "Mr. Smith went to Washington. It was 1,000 km away! In the 1990s it rained.";
    int n = 0;
    int *s = qt_sentences(t, strlen(t), &n);
    assert_int_equal(n, 3);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[2], 30);
    free(s);
    qt_wtoks w = {0};
    assert_int_equal(qt_wtok_scan(&w, t, strlen(t)), 0);
    int found = 0;
    for (int i = 0; i < w.n; i++)
        if (w.t[i].is_number && w.t[i].len == 5 && strncmp(t + w.t[i].start, "1,000", 5) == 0)
            found = 1;
    assert_true(found);
    qt_wtoks_free(&w);
    assert_true(qt_phrase_in(t, 0, strlen(t), "went TO washington"));
    assert_false(qt_phrase_in(t, 0, strlen(t), "Washing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_kind_changes_the_question),
        cmocka_unit_test(perturbations_are_what_they_claim),
        cmocka_unit_test(deterministic_for_a_seed),
        cmocka_unit_test(check_rejects_answer_that_stays_valid),
        cmocka_unit_test(negation_refused_when_paragraph_negates),
        cmocka_unit_test(other_paragraph_negatives_lack_the_answer),
        cmocka_unit_test(antonym_list_and_splits),
        cmocka_unit_test(sentences_and_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
