/* The SentencePiece side of the tokenizers, as Hugging Face's `tokenizers`
 * runs a converted SentencePiece model (T5, mT5, ALBERT, XLNet, Llama):
 *
 *   - the Precompiled normalizer: SentencePiece's precompiled_charsmap, a
 *     Darts double-array trie over UTF-8 byte strings whose values point
 *     into a blob of NUL-terminated replacement strings (charsmap.c);
 *   - Replace with a Regex pattern, for the one shape the converters write
 *     (a run of one character, " {2,}") (charsmap.c);
 *   - the Metaspace pre-tokenizer (unigram.c);
 *   - the Unigram model: Viterbi over the piece scores, unknown runs fused,
 *     byte fallback (unigram.c);
 *   - decoders, used by qt_tokenizer_decode (tok_decode.c).
 *
 * Not for use outside src/tok. */
#ifndef QT_TOK_UNIGRAM_H
#define QT_TOK_UNIGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "tok/tok_internal.h"

/* ---- Precompiled charsmap ---- */

typedef struct qt_charsmap qt_charsmap;

/* Parses a charsmap blob: a little-endian u32 trie size in bytes, the trie
 * units (u32 each), then the replacement strings (valid UTF-8). */
int qt_charsmap_from_blob(const uint8_t *blob, size_t len, qt_charsmap **out, qt_err *e);
/* The same from its base64 text (tokenizer.json's precompiled_charsmap). */
int qt_charsmap_from_base64(const char *b64, qt_charsmap **out, qt_err *e);
void qt_charsmap_free(qt_charsmap *cm);

/* The replacement of the SHORTEST key that is a prefix of s[0, len) (what
 * HF's spm_precompiled returns), its length in *out_len; NULL when none. */
const char *qt_charsmap_lookup(const qt_charsmap *cm, const char *s, size_t len, size_t *out_len);

/* HF's Precompiled normalizer over ns: each grapheme cluster shorter than 6
 * bytes is looked up whole first, else each of its characters. */
void qt_charsmap_normalize(const qt_charsmap *cm, qt_nstr *ns);

/* ---- Replace with a Regex: runs of one character ---- */

typedef struct qt_tok_run_regex {
    uint32_t cp;       /* the repeated character */
    uint32_t min, max; /* max 0: unbounded */
} qt_tok_run_regex;

/* Accepts "X{n,}", "X{n,m}", "X{n}" and "X+" with X a literal character
 * (or an escaped one) and n >= 1; -1 for anything else. */
int qt_tok_run_regex_parse(const char *pattern, qt_tok_run_regex *out);

/* Replaces every match (leftmost, greedy) by `with`; the new characters
 * take the alignment of the last matched character (HF's replace). */
void qt_tok_replace_runs(qt_nstr *ns, const qt_tok_run_regex *re, const char *with);

/* ---- Metaspace pre-tokenizer ---- */

typedef enum qt_prepend_scheme {
    QT_PREPEND_ALWAYS,
    QT_PREPEND_FIRST,
    QT_PREPEND_NEVER,
} qt_prepend_scheme;

typedef struct qt_metaspace {
    uint32_t replacement; /* U+2581 usually */
    char rep[5];          /* the replacement as UTF-8 */
    qt_prepend_scheme prepend;
    bool split;
} qt_metaspace;

/* Parses a Metaspace object (pre_tokenizer or decoder) at jpath. Accepts
 * prepend_scheme, the legacy add_prefix_space and split (default true). */
int qt_metaspace_from_json(const cJSON *j, const char *name, const char *jpath, qt_metaspace *ms, qt_err *e);

/* Spaces become the replacement, the replacement is prepended as the
 * scheme says, and the text is cut before every replacement character
 * (when split); the pieces are appended to out. ns is modified. */
void qt_metaspace_pretok(const qt_metaspace *ms, qt_nstr *ns, qt_splits *out);

/* ---- Unigram model ---- */

/* Reads tokenizer.json's model object ({"type": "Unigram", "unk_id",
 * "vocab": [[piece, score], ...], "byte_fallback"}) into m. */
int qt_unigram_from_json(const cJSON *model, const char *name, qt_tok_model *m, qt_err *e);

/* ---- decoders ---- */

typedef struct qt_tok_decoder qt_tok_decoder;

/* Parses tokenizer.json's "decoder" at jpath. Types it cannot run are kept
 * (decoding then fails with a message), since they never change encoding. */
int qt_tok_decoder_from_json(const cJSON *j, const char *name, const char *jpath, qt_tok_decoder **out,
                             qt_err *e);
void qt_tok_decoder_free(qt_tok_decoder *d);

/* Joins token texts into text as HF's decoder.decode does; NULL decoder:
 * the tokens joined by spaces. Returns a malloc'd string, or NULL with e
 * set for a decoder this build cannot run. */
char *qt_tok_decode_tokens(const qt_tok_decoder *d, const char *const *tokens, size_t n, qt_err *e);

#endif
