/* Word-level scanning of English text for the negatives generator: tokens
 * (words and numbers) with byte offsets, sentences, capitalised names and
 * whole-word, case-insensitive phrase search. ASCII rules; bytes >= 0x80 are
 * letters, so UTF-8 names stay whole. */
#ifndef QT_TRAIN_TEXTSCAN_H
#define QT_TRAIN_TEXTSCAN_H

#include <stddef.h>

typedef struct qt_wtok {
    int start, len; /* bytes */
    int is_number;  /* starts with a digit */
    int sent_start; /* first token of a sentence */
} qt_wtok;

typedef struct qt_wtoks {
    qt_wtok *t;
    int n, cap;
} qt_wtoks;

/* Tokenises text[0..len); the previous contents of w are replaced.
 * Returns 0 or -1 (out of memory). */
int qt_wtok_scan(qt_wtoks *w, const char *text, size_t len);
void qt_wtoks_free(qt_wtoks *w);

/* Byte ranges [start, end) of the sentences, cut after . ! ? followed by
 * space and an upper-case letter, a digit or a quote. *n_out sentences;
 * returns a malloc'd array of 2 * n ints, NULL when out of memory. */
int *qt_sentences(const char *text, size_t len, int *n_out);

/* 1 when phrase (one or more tokens) occurs in text[a..b) as whole tokens,
 * ignoring ASCII case. */
int qt_phrase_in(const char *text, size_t a, size_t b, const char *phrase);

/* 1 when s (n bytes) equals the lower-case word w ignoring ASCII case. */
int qt_word_eq(const char *s, int n, const char *w);

#endif
