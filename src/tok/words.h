/* Word-level tokenizer and vocabulary for the BiLSTM reader.
 *
 * Splitting is the simple regex tokenizer  \w+|[^\w\s]  made Unicode-aware
 * with utf8proc's character data:
 *   - a word character is a letter or number (Python's str.isalnum: Lu Ll
 *     Lt Lm Lo Nd Nl No), '_', or a combining mark (Mn Mc Me, so that
 *     accents and Indic vowel signs stay inside their word; Python's re
 *     would split there);
 *   - whitespace is Python's str.isspace (what re's \s matches), and control
 *     and format characters (Cc, Cf: zero-width space, soft hyphen, BOM) are
 *     skipped like whitespace;
 *   - every other character (punctuation, symbols, ...) is a token of its own.
 * Each word carries its byte and code point offsets [start, end) in the text.
 *
 * Lower-casing uses utf8proc's simple (one code point to one code point)
 * mapping, so a word's lower-case form never needs more than 3/2 of its bytes.
 *
 * The vocabulary is a vocab.txt: one word per line, the line number (from 0)
 * is the id, with "[PAD]" = 0 and "[UNK]" = 1 as its first two lines (the
 * splitter can never produce either, so they cannot collide with a word). */
#ifndef QT_TOK_WORDS_H
#define QT_TOK_WORDS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define QT_WORD_PAD_ID 0
#define QT_WORD_UNK_ID 1

typedef struct qt_word {
    uint32_t byte_start, byte_end; /* [start, end) in the UTF-8 text */
    uint32_t char_start, char_end; /* the same in code points */
} qt_word;

typedef struct qt_words {
    qt_word *v;
    size_t n, cap;
} qt_words;

void qt_words_init(qt_words *w);
void qt_words_free(qt_words *w);

/* Splits len bytes of text into words (replacing w's contents; the buffer is
 * reused, so repeated calls do not allocate once it is big enough). Fails on
 * invalid UTF-8 or on a text of 4 GiB or more. */
int qt_words_split(const char *text, size_t len, qt_words *w, qt_err *e);

/* The character classes above, per code point. */
int qt_words_is_word_char(uint32_t c);
int qt_words_is_skipped(uint32_t c); /* whitespace, Cc or Cf */

/* Writes the lower-case form of the valid UTF-8 s[0..len) to out, which has
 * room for at least qt_words_lower_cap(len) bytes; returns its length. */
size_t qt_words_lower(const char *s, size_t len, char *out);
static inline size_t qt_words_lower_cap(size_t len)
{
    return len + len / 2 + 4;
}

/* ---- vocabulary ---- */

typedef struct qt_word_vocab qt_word_vocab;

/* An empty vocabulary holding only [PAD] and [UNK] (for building one). */
qt_word_vocab *qt_word_vocab_new(void);
/* Reads a vocab.txt (see the top). Fails, naming the line, on an empty or
 * duplicate line, a line with whitespace, or missing [PAD]/[UNK] first
 * lines. A final newline is optional; "\r\n" line ends are accepted. */
int qt_word_vocab_load(const char *path, qt_word_vocab **out, qt_err *e);
void qt_word_vocab_free(qt_word_vocab *v);

/* Adds a word (if new) and returns its id. */
int32_t qt_word_vocab_add(qt_word_vocab *v, const char *word, size_t len);
/* The id of a word, QT_WORD_UNK_ID when it is not in the vocabulary. */
int32_t qt_word_vocab_id(const qt_word_vocab *v, const char *word, size_t len);
/* The word of an id, NULL when out of range. */
const char *qt_word_vocab_word(const qt_word_vocab *v, int32_t id);
int32_t qt_word_vocab_size(const qt_word_vocab *v);
/* Writes the vocabulary as a vocab.txt (atomically). */
int qt_word_vocab_save(const qt_word_vocab *v, const char *path, qt_err *e);

#endif
