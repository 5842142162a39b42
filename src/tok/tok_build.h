/* Building the tokenizers of the models qaterm trains itself, from training
 * text, as Hugging Face tokenizer.json files.
 *
 *  - WordPiece (BERT style, lower-cased): BertNormalizer + BertPreTokenizer;
 *    the vocabulary is the special tokens, then every character seen (alone
 *    and as "##c", so any word of the training text can be spelled), then
 *    the most frequent pre-tokenized words until max_vocab.
 *  - Unigram (SentencePiece style, cased): Metaspace ("▁" before each
 *    word), so decoding gives back the text's own spelling and spacing. A
 *    word is cut into runs of word characters and single other characters
 *    ("▁(Normandy)," -> "▁(", "Normandy", ")", ","); the pieces are the
 *    specials, every character (alone and with "▁"), then the most frequent
 *    runs, scored by log relative frequency; characters score below every
 *    run, so the Viterbi cut prefers whole runs.
 * Words are counted by the tokenizer's own normalizer and pre-tokenizer
 * (qt_tokenizer_pretokenize), so counting and encoding agree. Ties in
 * frequency are broken by the text, so the result depends only on the input. */
#ifndef QT_TOK_BUILD_H
#define QT_TOK_BUILD_H

#include <stddef.h>

#include "util/err.h"

typedef enum qt_tok_build_kind {
    QT_TOK_BUILD_WORDPIECE = 1,
    QT_TOK_BUILD_UNIGRAM = 2,
} qt_tok_build_kind;

/* Returns in *json a malloc'd tokenizer.json text. specials get ids
 * 0..n_specials-1 in order and become special added tokens; unk must be one
 * of them. max_vocab counts everything; the characters are always all
 * included, so the result may be larger when max_vocab is very small. */
int qt_tok_build_json(qt_tok_build_kind kind, const char *const *texts, const size_t *lens, size_t n_texts,
                      int max_vocab, const char *const *specials, int n_specials, const char *unk, char **json,
                      qt_err *e);

#endif
