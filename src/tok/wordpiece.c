/* WordPiece: greedy longest-match-first over a word, continuation pieces
 * prefixed with "##"; a word with a character no piece covers, or longer
 * than max_chars characters, becomes one unknown token. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

typedef struct wordpiece {
    char *prefix;
    size_t prefix_len;
    uint32_t max_chars;
    char *buf; /* prefix + candidate piece */
    size_t buf_cap;
} wordpiece;

static void wordpiece_tokenize(qt_tok_model *m, const char *word, uint32_t len, qt_tok_pieces *out)
{
    wordpiece *wp = m->state;
    uint32_t chars = 0;
    for (uint32_t i = 0; i < len; i++)
        chars += ((unsigned char)word[i] & 0xC0) != 0x80;
    if (chars > wp->max_chars) {
        qt_tok_pieces_push(out, m->unk_id, 0, len);
        return;
    }
    if (wp->buf_cap < wp->prefix_len + len + 1) {
        wp->buf_cap = wp->prefix_len + len + 64;
        wp->buf = qt_tok_xrealloc(wp->buf, wp->buf_cap);
    }
    size_t first = out->n;
    uint32_t start = 0;
    while (start < len) {
        uint32_t end = len;
        int32_t id = -1;
        while (start < end) {
            const char *cand = word + start;
            size_t cand_len = end - start;
            if (start > 0) {
                memcpy(wp->buf, wp->prefix, wp->prefix_len);
                memcpy(wp->buf + wp->prefix_len, word + start, end - start);
                cand = wp->buf;
                cand_len += wp->prefix_len;
            }
            id = qt_vocab_find(&m->vocab, cand, cand_len);
            if (id >= 0)
                break;
            do /* back off one character */
                end--;
            while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80);
        }
        if (id < 0) {
            out->n = first;
            qt_tok_pieces_push(out, m->unk_id, 0, len);
            return;
        }
        qt_tok_pieces_push(out, id, start, end);
        start = end;
    }
}

static void wordpiece_free(qt_tok_model *m)
{
    wordpiece *wp = m->state;
    if (!wp)
        return;
    free(wp->prefix);
    free(wp->buf);
    free(wp);
    m->state = NULL;
}

int qt_wordpiece_init(qt_tok_model *m, qt_vocab *vocab, const qt_wordpiece_opts *o, qt_err *e)
{
    const char *unk = o->unk_token ? o->unk_token : "[UNK]";
    int32_t unk_id = qt_vocab_find(vocab, unk, strlen(unk));
    if (unk_id < 0)
        return qt_fail(e, "WordPiece: the unknown token \"%.40s\" is not in the vocabulary", unk);
    wordpiece *wp = qt_tok_xcalloc(1, sizeof *wp);
    const char *prefix = o->prefix ? o->prefix : "##";
    wp->prefix = qt_tok_xstrndup(prefix, strlen(prefix));
    wp->prefix_len = strlen(prefix);
    wp->max_chars = o->max_chars;
    memset(m, 0, sizeof *m);
    m->type = QT_TOK_WORDPIECE;
    m->vocab = *vocab;
    qt_vocab_init(vocab);
    m->unk_id = unk_id;
    m->tokenize = wordpiece_tokenize;
    m->free = wordpiece_free;
    m->state = wp;
    return 0;
}

void qt_tok_pieces_push(qt_tok_pieces *p, int32_t id, uint32_t start, uint32_t end)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = qt_tok_xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (qt_tok_piece){id, start, end};
}

void qt_tok_model_free(qt_tok_model *m)
{
    if (m->free)
        m->free(m);
    qt_vocab_free(&m->vocab);
    memset(m, 0, sizeof *m);
}
