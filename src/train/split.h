/* The dev-a splits: SQuAD 2.0's dev-v2.0-a.json has 18 articles; when the
 * trainer learns from the unanswerable questions of the first 9 ("a1"),
 * every number we report comes from the last 9 ("a2"), and the no-answer
 * threshold is tuned on a1. */
#ifndef QT_TRAIN_SPLIT_H
#define QT_TRAIN_SPLIT_H

#include "qa/squad.h"
#include "util/err.h"

/* Articles [first, first + count) of a file with n_articles for split
 * "a1" (the first 9; the first half of a file with fewer than 18), "a2"
 * (the last 9, or the second half), "all"/""/NULL, or "N-M" (articles
 * [N, M) in file order). -1 with a message for another name. */
int qt_dev_split_range(int n_articles, const char *split, int *first, int *count, qt_err *e);

/* The SQuAD file's JSON with only the split's articles (malloc'd text). */
char *qt_squad_split_json(const char *path, const char *split, qt_err *e);

/* Loads a SQuAD file and keeps only the split's articles (in file order). */
int qt_squad_load_split(const char *path, const char *split, qt_squad *out, qt_err *e);

#endif
