/* Training examples for extractive QA, and the unanswerable ones we make from
 * SQuAD 1.1 (which has none).
 *
 * SQuAD 2.0's unanswerable questions are adversarial: written against a
 * paragraph that holds a plausible answer, with an entity, number or date
 * swapped, a negation added, a word turned into its opposite. A question
 * moved to another paragraph teaches none of that, so besides those we
 * perturb the question against its OWN paragraph:
 *   entity    a capitalised name (one or more words) -> another of the article
 *   number    a number, year or month -> another of the same kind from the article
 *   negation  "not" / "never" after the first auxiliary (was, did, can, ...)
 *   antonym   a word -> its opposite (antonyms.c)
 * Each is checked so that the gold answer does not stay correct: the word
 * brought in must not occur in the answer's sentence or its neighbours (so
 * the paragraph cannot support the new question where the answer sits), and
 * a negation is refused when those sentences already negate something. A
 * question moved to another paragraph is kept only when that paragraph does
 * not contain the answer text. */
#ifndef QT_TRAIN_NEGATIVES_H
#define QT_TRAIN_NEGATIVES_H

#include <stddef.h>
#include <stdint.h>

#include "nn/rng.h"
#include "qa/squad.h"
#include "util/err.h"

typedef enum qt_ex_kind {
    QT_EX_ANSWERABLE = 0,
    QT_EX_OTHER_PARAGRAPH, /* the question against another paragraph of its article */
    QT_EX_ENTITY,          /* the perturbations below: against its own paragraph */
    QT_EX_NUMBER,
    QT_EX_NEGATION,
    QT_EX_ANTONYM,
    QT_EX_DEV_UNANSWERABLE, /* a real SQuAD 2.0 unanswerable question (dev-a1) */
    QT_EX_KINDS
} qt_ex_kind;

/* "answerable", "other_paragraph", "entity", ... */
const char *qt_ex_kind_name(qt_ex_kind k);

typedef struct qt_example {
    char *question;       /* malloc'd */
    const char *context;  /* points into the qt_squad it came from */
    size_t context_len;
    long ans_start, ans_end; /* answer bytes [start, end) in context; -1 when unanswerable */
    int kind;             /* qt_ex_kind */
    int article;          /* in its source file (for grouping) */
} qt_example;

typedef struct qt_example_set {
    qt_example *ex;
    int n, cap;
    int counts[QT_EX_KINDS];
} qt_example_set;

void qt_example_set_free(qt_example_set *s);
/* Appends a copy of question; 0 / -1 (out of memory). */
int qt_example_set_add(qt_example_set *s, const char *question, const char *context, size_t context_len,
                       long ans_start, long ans_end, int kind, int article, qt_err *e);

typedef struct qt_neg_opts {
    double share;  /* wanted fraction of unanswerable examples among all (default 1/3) */
    /* Relative weights of the kinds tried first for each negative. */
    double w_other, w_entity, w_number, w_negation, w_antonym;
    uint64_t seed;
} qt_neg_opts;

void qt_neg_opts_default(qt_neg_opts *o);

/* Every answerable question of s (first gold answer) plus negatives drawn
 * as opts says, in file order (each negative right after its source
 * question). Deterministic for a seed. Questions without a usable answer
 * (answer text not at its offset) are skipped. */
int qt_examples_from_squad(const qt_squad *s, const qt_neg_opts *opts, qt_example_set *out, qt_err *e);

/* Adds the questions of articles [first, first + count) of s: the
 * unanswerable ones only (answerable_too 0) or all (1). */
int qt_examples_add_articles(const qt_squad *s, int first, int count, int answerable_too,
                             qt_example_set *out, qt_err *e);

/* One perturbation of question q (of squad s) of the given kind (entity,
 * number, negation or antonym), already checked against its paragraph.
 * Returns 1 with *out (malloc'd) set, 0 when this kind finds nothing
 * usable for this question, -1 on error. */
int qt_neg_perturb(const qt_squad *s, const qt_question *q, qt_ex_kind kind, qt_rng *rng, char **out,
                   qt_err *e);

/* The check behind the perturbations: 1 when `inserted` (a word or name)
 * occurs, case-insensitively and as whole words, in none of the sentence of
 * context holding byte ans_start and the sentences next to it. */
int qt_neg_absent_near_answer(const char *context, size_t len, long ans_start, const char *inserted);

/* 1 when the answer's sentence or its neighbours hold a negation
 * (not, n't, never, no, none, neither, nor, without). */
int qt_neg_negated_near_answer(const char *context, size_t len, long ans_start);

/* The antonym of a lower-case word, or NULL (antonyms.c). */
const char *qt_neg_antonym(const char *word_lower);
int qt_neg_antonym_count(void);

#endif
