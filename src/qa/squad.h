/* SQuAD v1.1 / v2.0 data: articles -> paragraphs -> questions with gold
 * answers. Offsets: SQuAD's answer_start counts Unicode code points (Python
 * string indices); we keep it and also the byte offset into the UTF-8 context. */
#ifndef QT_SQUAD_H
#define QT_SQUAD_H

#include <stddef.h>
#include "util/err.h"

typedef struct qt_answer {
    char *text;
    long start_char; /* answer_start as given (code points), -1 when absent */
    long start_byte; /* byte offset in the context, -1 when the text is not there */
} qt_answer;

typedef struct qt_question {
    char *id;
    char *text;
    int is_impossible;
    int n_answers;
    qt_answer *answers; /* gold answers; empty for unanswerable questions */
    int n_plausible;
    qt_answer *plausible; /* SQuAD 2.0 plausible_answers, when present */
    int paragraph;        /* index into qt_squad.paragraphs */
} qt_question;

typedef struct qt_paragraph {
    char *context;
    size_t context_len; /* bytes */
    int article;        /* index into qt_squad.articles */
    int first_question, n_questions;
} qt_paragraph;

typedef struct qt_article {
    char *title;
    int first_paragraph, n_paragraphs;
} qt_article;

typedef struct qt_squad {
    char *path;
    char *version; /* the file's "version" field, or "" */
    int n_articles, n_paragraphs, n_questions;
    int n_answerable, n_unanswerable;
    int n_duplicate_ids; /* questions whose id was already used (lookup finds the first) */
    qt_article *articles;
    qt_paragraph *paragraphs;
    qt_question *questions;
    void *index; /* id -> question lookup (private) */
} qt_squad;

/* Loads a SQuAD JSON file. The file is parsed one article at a time, so
 * memory stays near the file's size even for the 40 MB train file. Every
 * field is checked; errors name the file and the JSON path or byte offset. */
int qt_squad_load(const char *path, qt_squad *out, qt_err *e);

/* Same, from a buffer already in memory (name is used in messages). */
int qt_squad_load_buffer(const char *name, const char *data, size_t len, qt_squad *out, qt_err *e);

void qt_squad_free(qt_squad *s);

/* The (first) question with this id, or NULL. */
const qt_question *qt_squad_find(const qt_squad *s, const char *id);

/* Byte offset in s of code point number cp (or -1 if s is shorter). */
long qt_utf8_byte_offset(const char *s, size_t len, long cp);

/* Code-point index of byte offset b in s. */
long qt_utf8_char_index(const char *s, size_t b);

#endif
