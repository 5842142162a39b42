/* SQuAD 2.0 scoring exactly as the official evaluation script
 * (evaluate-v2.0.py) computes it, from one answer pair up to a whole
 * predictions file. All strings are UTF-8. */
#ifndef QT_SCORE_H
#define QT_SCORE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "qa/squad.h"
#include "util/err.h"

/* compute_exact: 1 when gold and pred normalise to the same string. */
int qt_score_exact(const char *gold, const char *pred);

/* compute_f1: token F1 of the normalised strings (tokens split on spaces,
 * repeated tokens counted as a multiset). When either side has no token the
 * result is 1 if both have none, else 0. */
double qt_score_f1(const char *gold, const char *pred);

/* One question's scores before any no-answer threshold. */
typedef struct qt_qscore {
    double exact; /* 0 or 1 */
    double f1;    /* 0..1 */
} qt_qscore;

/* The maximum EM and F1 of pred over the gold answers, after dropping golds
 * that normalise to "" (when none is left, the gold list is [""], so only a
 * prediction that normalises to "" scores 1). Returns -1 when out of memory. */
int qt_score_golds(const char *const *golds, int n_golds, const char *pred, qt_qscore *out);

/* Same, for a loaded question (unanswerable ones have no gold answers). */
int qt_score_question(const qt_question *q, const char *pred, qt_qscore *out);

/* Area under the ROC curve of score for separating positive[i] != 0 from
 * the rest: the chance that a random positive scores higher than a random
 * negative, ties counting 1/2. NAN when either class is empty. */
double qt_auroc(const double *score, const int *positive, size_t n);

/* Scores a predictions object (question id -> answer string) against a data
 * set, as evaluate-v2.0.py does, and returns its JSON object with the keys in
 * its order: exact, f1, total, HasAns_*, NoAns_* (each group only when the
 * data set has such questions) and, when na_probs (id -> probability of no
 * answer) is given, best_exact, best_exact_thresh, best_f1, best_f1_thresh,
 * followed by qaterm's own na_prob_auroc (null when one class is empty).
 * A best_*_thresh is a number, or a cJSON raw integer literal when the
 * probability it comes from was written as an integer (see
 * qt_score_load_probs).
 * Without na_probs every probability is 0.0, as in the official script.
 * Predictions and probabilities for ids not in the data are ignored. A data
 * set question without a prediction or a probability is an error (the
 * official script stops with a KeyError). pred_name and na_name name the
 * files in messages. Returns NULL and fills e on bad input. */
cJSON *qt_score_eval(const qt_squad *data, const cJSON *preds, const char *pred_name,
                     const cJSON *na_probs, const char *na_name, double na_prob_thresh, qt_err *e);

/* Loads a no-answer probabilities file ("-" for stdin). Number items keep
 * their source text in valuestring, so that a threshold written as an
 * integer (0, 1) prints as Python prints the int json.load makes of it. */
cJSON *qt_score_load_probs(const char *path, qt_err *e);

/* Formats a double as Python's repr(float) does (shortest round-trip digits,
 * "1.0", "1e-05", "1e+16"), as json.dumps writes it. */
void qt_py_float_repr(double x, char *buf, size_t size);

/* The result object as json.dumps(result, indent=2) prints it: keys named
 * "total" or ending in "_total" hold integers, other numbers are floats,
 * raw items are printed as they are.
 * A new string (free it), or NULL when out of memory. */
char *qt_score_json_text(const cJSON *result);

#endif
