/* The tokenizer of a model trained here, built from its training examples
 * (src/tok/tok_build.h on their questions and distinct contexts). */
#ifndef QT_TRAIN_TOKENIZER_BUILD_H
#define QT_TRAIN_TOKENIZER_BUILD_H

#include "tok/tok_build.h"
#include "tok/tokenizer.h"
#include "train/negatives.h"
#include "util/err.h"

/* *json: the tokenizer.json text to save verbatim (malloc'd); *tok: it,
 * loaded. Specials get ids 0..n_specials-1 in order. */
int qt_train_build_tokenizer(const qt_example_set *train, qt_tok_build_kind kind, int max_vocab,
                             const char *const *specials, int n_specials, const char *unk, char **json,
                             qt_tokenizer **tok, qt_err *e);

#endif
