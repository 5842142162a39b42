/* Tokenizers that give the same ids and offsets as Hugging Face's
 * `tokenizers` library: WordPiece (BERT), byte-level BPE (RoBERTa, GPT-2,
 * GPT-NeoX/Mamba), loaded from a tokenizer.json or a BERT vocab.txt.
 *
 * Encoding follows HF's pipeline: added tokens are cut out first, then the
 * normalizer, the pre-tokenizer and the model run on what is left, and the
 * post-processor's offset trimming (ByteLevel / RobertaProcessing with
 * trim_offsets) is applied. Special tokens ([CLS], <s>, ...) are never
 * added: the model code does that with qt_tokenizer_specials().
 *
 * Offsets are given both as Unicode code point offsets (what HF's Python and
 * JS bindings call `encoding.offsets`) and as byte offsets into the UTF-8
 * input; both are [start, end).
 *
 * A tokenizer caches BPE results while encoding, so one object must not
 * encode from two threads at once. */
#ifndef QT_TOKENIZER_H
#define QT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct qt_tokenizer qt_tokenizer;

typedef enum qt_tok_model_type {
    QT_TOK_WORDPIECE = 1,
    QT_TOK_BPE = 2,
    QT_TOK_UNIGRAM = 3,
} qt_tok_model_type;

/* Ids of the special tokens, -1 where the tokenizer has none. */
typedef struct qt_tok_specials {
    int32_t cls, sep, pad, unk, bos, eos, mask;
} qt_tok_specials;

typedef struct qt_tok_span {
    int32_t start, end;
} qt_tok_span;

typedef struct qt_encoding {
    size_t n, cap;
    int32_t *ids;
    qt_tok_span *chars; /* code point offsets into the encoded text */
    qt_tok_span *bytes; /* byte offsets into the encoded text */
} qt_encoding;

void qt_encoding_init(qt_encoding *enc);
void qt_encoding_free(qt_encoding *enc);

/* Loads PATH: a tokenizer.json, a vocab.txt (WordPiece; one token per line),
 * or a directory holding either (tokenizer.json preferred). For a vocab.txt,
 * lower-casing comes from tokenizer_config.json's do_lower_case beside it if
 * present, else it is on unless the vocabulary has upper-case tokens. */
int qt_tokenizer_load(const char *path, qt_tokenizer **out, qt_err *e);

/* Parses the text of a tokenizer.json; `name` is used in messages. */
int qt_tokenizer_from_json(const char *name, const char *data, size_t len, qt_tokenizer **out, qt_err *e);

/* A BERT vocab.txt; lowercase: 1 on, 0 off, -1 decide as qt_tokenizer_load does. */
int qt_tokenizer_load_vocab_txt(const char *path, int lowercase, qt_tokenizer **out, qt_err *e);

void qt_tokenizer_free(qt_tokenizer *t);

/* Runs only the normalizer and pre-tokenizer (added tokens are cut out and
 * skipped) and calls word() with each normalized piece of text, in order:
 * what the model would tokenize. Used to count words when building a
 * vocabulary (tok_build.h). */
int qt_tokenizer_pretokenize(qt_tokenizer *t, const char *text, size_t len,
                             void (*word)(void *ctx, const char *s, size_t n), void *ctx, qt_err *e);

/* Encodes len bytes of UTF-8 text (no special tokens added). The encoding's
 * previous contents are replaced. Fails only on invalid UTF-8. */
int qt_tokenizer_encode(qt_tokenizer *t, const char *text, size_t len, qt_encoding *enc, qt_err *e);

/* The token's text (added tokens first, then the model's vocabulary), or
 * NULL for an unknown id. */
const char *qt_tokenizer_id_to_token(const qt_tokenizer *t, int32_t id);

/* The id of an exact token text, or -1. */
int32_t qt_tokenizer_token_to_id(const qt_tokenizer *t, const char *token);

/* One more than the largest id of the vocabulary and the added tokens: the
 * size an embedding table needs. */
int32_t qt_tokenizer_vocab_size(const qt_tokenizer *t);

const qt_tok_specials *qt_tokenizer_specials(const qt_tokenizer *t);

/* Decodes ids to text as Hugging Face's Tokenizer.decode: the ids' token
 * texts (unknown ids dropped; special tokens too when skip_special), then
 * the tokenizer.json's decoder (Metaspace, ByteFallback, Fuse, Strip,
 * Replace, ByteLevel, WordPiece, BPEDecoder, Sequence), or spaces between
 * the tokens without one. *out is malloc'd. Fails for decoders this build
 * cannot run. */
int qt_tokenizer_decode(const qt_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                        qt_err *e);
qt_tok_model_type qt_tokenizer_model_type(const qt_tokenizer *t);

#endif
