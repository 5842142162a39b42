/* Word splitting with offsets, simple lower-casing, and the word vocabulary
 * (see words.h). */
#include "tok/words.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "qa/normalize.h"
#include "tok/tok_internal.h"
#include "util/file.h"
#include "util/json.h"

void qt_words_init(qt_words *w)
{
    memset(w, 0, sizeof *w);
}

void qt_words_free(qt_words *w)
{
    free(w->v);
    memset(w, 0, sizeof *w);
}

int qt_words_is_word_char(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_';
    if (c > 0x10FFFF)
        return 0;
    if (qt_py_isalnum(c))
        return 1;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return 1;
    default:
        return 0;
    }
}

int qt_words_is_skipped(uint32_t c)
{
    if (qt_py_isspace(c))
        return 1;
    if (c < 0x20 || c == 0x7F)
        return 1;
    if (c < 0x80 || c > 0x10FFFF)
        return 0;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF;
}

static void push_word(qt_words *w, uint32_t bs, uint32_t be, uint32_t cs, uint32_t ce)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->v = qt_tok_xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = (qt_word){bs, be, cs, ce};
}

int qt_words_split(const char *text, size_t len, qt_words *w, qt_err *e)
{
    w->n = 0;
    if (len >= UINT32_MAX)
        return qt_fail(e, "word tokenizer: text of %zu bytes is too long", len);
    long bad = qt_utf8_invalid_offset(text, len);
    if (bad >= 0)
        return qt_fail(e, "word tokenizer: invalid UTF-8 at byte %ld", bad);
    uint32_t i = 0, ci = 0;
    int in_word = 0;
    uint32_t ws = 0, wcs = 0; /* where the current word started */
    while (i < len) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(text + i, &n);
        int word = qt_words_is_word_char(c);
        if (in_word && !word) {
            push_word(w, ws, i, wcs, ci);
            in_word = 0;
        }
        if (word && !in_word) {
            in_word = 1;
            ws = i, wcs = ci;
        } else if (!word && !qt_words_is_skipped(c)) {
            push_word(w, i, i + n, ci, ci + 1);
        }
        i += n;
        ci++;
    }
    if (in_word)
        push_word(w, ws, i, wcs, ci);
    return 0;
}

size_t qt_words_lower(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(s + i, &n);
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        else if (c >= 0x80)
            c = (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
        o += (size_t)qt_tok_utf8_encode(c, out + o);
        i += n;
    }
    return o;
}

/* ---- vocabulary ---- */

struct qt_word_vocab {
    qt_vocab map;
    int32_t size;
};

qt_word_vocab *qt_word_vocab_new(void)
{
    qt_word_vocab *v = qt_tok_xcalloc(1, sizeof *v);
    qt_vocab_init(&v->map);
    qt_vocab_add(&v->map, "[PAD]", 5, QT_WORD_PAD_ID, NULL);
    qt_vocab_add(&v->map, "[UNK]", 5, QT_WORD_UNK_ID, NULL);
    v->size = 2;
    return v;
}

void qt_word_vocab_free(qt_word_vocab *v)
{
    if (!v)
        return;
    qt_vocab_free(&v->map);
    free(v);
}

int32_t qt_word_vocab_add(qt_word_vocab *v, const char *word, size_t len)
{
    int32_t id = qt_vocab_find(&v->map, word, len);
    if (id >= 0)
        return id;
    if (qt_vocab_add(&v->map, word, len, v->size, NULL) != 0)
        return -1;
    return v->size++;
}

int32_t qt_word_vocab_id(const qt_word_vocab *v, const char *word, size_t len)
{
    int32_t id = qt_vocab_find(&v->map, word, len);
    return id >= 0 ? id : QT_WORD_UNK_ID;
}

const char *qt_word_vocab_word(const qt_word_vocab *v, int32_t id)
{
    return id >= 0 && id < v->size ? qt_vocab_token(&v->map, id) : NULL;
}

int32_t qt_word_vocab_size(const qt_word_vocab *v)
{
    return v->size;
}

/* A vocabulary line must be one word: non-empty, valid UTF-8, no whitespace,
 * control or format characters. */
static int check_line(const char *path, size_t line, const char *s, size_t n, qt_err *e)
{
    if (n == 0)
        return qt_fail(e, "%s: line %zu: empty line (one word per line expected)", path, line);
    long bad = qt_utf8_invalid_offset(s, n);
    if (bad >= 0)
        return qt_fail(e, "%s: line %zu: invalid UTF-8 at byte %ld of the line", path, line, bad);
    for (size_t i = 0; i < n;) {
        uint32_t k;
        uint32_t c = qt_tok_utf8_decode(s + i, &k);
        if (qt_words_is_skipped(c))
            return qt_fail(e, "%s: line %zu: whitespace or control character in a word", path,
                           line);
        i += k;
    }
    return 0;
}

int qt_word_vocab_load(const char *path, qt_word_vocab **out, qt_err *e)
{
    *out = NULL;
    char *data;
    size_t len;
    if (qt_read_file(path, (size_t)1 << 30, &data, &len, e) != 0)
        return -1;
    qt_word_vocab *v = qt_tok_xcalloc(1, sizeof *v);
    qt_vocab_init(&v->map);
    size_t line = 0;
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; line++) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t n = end - i;
        if (n > 0 && data[i + n - 1] == '\r')
            n--;
        const char *s = data + i;
        i = nl ? end + 1 : len;
        if (line == 0 && !(n == 5 && memcmp(s, "[PAD]", 5) == 0)) {
            rc = qt_fail(e, "%s: line 1: expected [PAD] (id 0)", path);
        } else if (line == 1 && !(n == 5 && memcmp(s, "[UNK]", 5) == 0)) {
            rc = qt_fail(e, "%s: line 2: expected [UNK] (id 1)", path);
        } else if ((rc = check_line(path, line + 1, s, n, e)) == 0) {
            if (qt_vocab_find(&v->map, s, n) >= 0)
                rc = qt_fail(e, "%s: line %zu: duplicate word '%.*s'", path, line + 1,
                             (int)(n < 80 ? n : 80), s);
            else if (qt_vocab_add(&v->map, s, n, (int32_t)line, e) != 0)
                rc = qt_fail_prefix(e, "%s: line %zu", path, line + 1);
        }
    }
    free(data);
    if (rc == 0 && line < 2)
        rc = qt_fail(e, "%s: expected at least the lines [PAD] and [UNK]", path);
    if (rc != 0) {
        qt_word_vocab_free(v);
        return -1;
    }
    v->size = (int32_t)line;
    *out = v;
    return 0;
}

int qt_word_vocab_save(const qt_word_vocab *v, const char *path, qt_err *e)
{
    size_t total = 0;
    for (int32_t id = 0; id < v->size; id++)
        total += strlen(qt_word_vocab_word(v, id)) + 1;
    char *buf = qt_tok_xcalloc(total + 1, 1), *p = buf;
    for (int32_t id = 0; id < v->size; id++) {
        const char *w = qt_word_vocab_word(v, id);
        size_t n = strlen(w);
        memcpy(p, w, n);
        p[n] = '\n';
        p += n + 1;
    }
    int rc = qt_write_file_atomic(path, buf, total, e);
    free(buf);
    return rc;
}
