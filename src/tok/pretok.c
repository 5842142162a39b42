/* Pre-tokenizers: cut the normalized text into words for the model.
 * BERT's (whitespace, then punctuation), GPT-2's byte-level one (its regex
 * written out by hand, then every byte mapped to a printable character),
 * plain whitespace splitting, and sequences of these. */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/unigram.h"

void qt_splits_clear(qt_splits *sp)
{
    for (size_t i = 0; i < sp->n; i++)
        qt_nstr_free(&sp->v[i].ns);
    sp->n = 0;
}

void qt_splits_free(qt_splits *sp)
{
    qt_splits_clear(sp);
    free(sp->v);
    sp->v = NULL;
    sp->cap = 0;
}

static qt_split *splits_grow(qt_splits *sp)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 64;
        sp->v = qt_tok_xrealloc(sp->v, sp->cap * sizeof *sp->v);
    }
    return &sp->v[sp->n++];
}

void qt_splits_push_slice(qt_splits *sp, const qt_nstr *ns, uint32_t a, uint32_t b, int32_t token)
{
    if (a >= b)
        return;
    qt_split *s = splits_grow(sp);
    qt_nstr_slice(ns, a, b, &s->ns);
    s->token = token;
}

/* ---- GPT-2 byte-level ---- */

static bool in_printable_bytes(uint32_t b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

uint32_t qt_byte_level_char(uint8_t b)
{
    if (in_printable_bytes(b))
        return b;
    /* the others take 256, 257, ... in byte order */
    uint32_t n = 0;
    for (uint32_t x = 0; x < b; x++)
        if (!in_printable_bytes(x))
            n++;
    return 256 + n;
}

int qt_byte_level_byte(uint32_t cp)
{
    if (cp < 256)
        return in_printable_bytes(cp) ? (int)cp : -1;
    uint32_t n = 0;
    for (uint32_t x = 0; x < 256; x++) {
        if (in_printable_bytes(x))
            continue;
        if (256 + n == cp)
            return (int)x;
        n++;
    }
    return -1;
}

static uint32_t byte_char_table[256];
static bool byte_char_ready;

static void byte_chars_init(void)
{
    if (byte_char_ready)
        return;
    for (int b = 0; b < 256; b++)
        byte_char_table[b] = qt_byte_level_char((uint8_t)b);
    byte_char_ready = true;
}

enum { CLS_SPACE, CLS_LETTER, CLS_NUMBER, CLS_OTHER };

static int char_class(uint32_t c)
{
    if (qt_uc_is_whitespace(c))
        return CLS_SPACE;
    if (qt_uc_is_letter(c))
        return CLS_LETTER;
    if (qt_uc_is_number(c))
        return CLS_NUMBER;
    return CLS_OTHER;
}

/* End of the run of characters of class cls starting at i. */
static uint32_t run_end(const char *s, uint32_t len, uint32_t i, int cls)
{
    while (i < len) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(s + i, &n);
        if (char_class(c) != cls)
            break;
        i += n;
    }
    return i;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
uint32_t qt_gpt2_piece_end(const char *s, uint32_t len, uint32_t i)
{
    uint32_t n0;
    uint32_t c0 = qt_tok_utf8_decode(s + i, &n0);
    if (c0 == '\'' && i + 1 < len) {
        char a = s[i + 1], b = i + 2 < len ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return i + 3;
    }
    int cls0 = char_class(c0);
    if (c0 == ' ' && i + 1 < len) {
        uint32_t n1;
        uint32_t c1 = qt_tok_utf8_decode(s + i + 1, &n1);
        int cls1 = char_class(c1);
        if (cls1 != CLS_SPACE)
            return run_end(s, len, i + 1, cls1);
    }
    if (cls0 != CLS_SPACE)
        return run_end(s, len, i, cls0);
    /* whitespace: all of it at the end of the text; before anything else,
     * all but its last character, unless it is a single one */
    uint32_t k = i, last = i;
    while (k < len) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(s + k, &n);
        if (!qt_uc_is_whitespace(c))
            break;
        last = k;
        k += n;
    }
    if (k == len)
        return k;
    return last > i ? last : k;
}

/* Replaces every byte by its printable character (HF's ByteLevel
 * normalize step): a character's first byte replaces it, the others are
 * inserted after it. */
static void byte_level_map(qt_nstr *ns)
{
    byte_chars_init();
    qt_tok_edits ed = {0};
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        qt_tok_utf8_decode(ns->s + i, &n);
        for (uint32_t k = 0; k < n; k++)
            qt_tok_edits_push(&ed, byte_char_table[(unsigned char)ns->s[i + k]], k > 0);
        i += n;
    }
    qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

static void split_byte_level(const qt_pretok *pt, qt_nstr *ns, qt_splits *out)
{
    if (pt->add_prefix_space && ns->len && ns->s[0] != ' ')
        qt_nstr_prepend(ns, " ");
    size_t first = out->n;
    if (pt->use_regex) {
        for (uint32_t i = 0; i < ns->len;) {
            uint32_t end = qt_gpt2_piece_end(ns->s, ns->len, i);
            qt_splits_push_slice(out, ns, i, end, -1);
            i = end;
        }
    } else {
        qt_splits_push_slice(out, ns, 0, ns->len, -1);
    }
    for (size_t k = first; k < out->n; k++)
        byte_level_map(&out->v[k].ns);
}

/* BERT: whitespace separates and is dropped; punctuation stands alone. */
static void split_bert(const qt_nstr *ns, bool punct_too, qt_splits *out)
{
    uint32_t word = 0;
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        if (qt_uc_is_whitespace(c)) {
            qt_splits_push_slice(out, ns, word, i, -1);
            word = i + n;
        } else if (punct_too && qt_uc_is_bert_punct(c)) {
            qt_splits_push_slice(out, ns, word, i, -1);
            qt_splits_push_slice(out, ns, i, i + n, -1);
            word = i + n;
        }
        i += n;
    }
    qt_splits_push_slice(out, ns, word, ns->len, -1);
}

void qt_pretok_apply(const qt_pretok *pt, qt_splits *sp, qt_splits *scratch)
{
    if (pt->kind == QT_PRE_SEQUENCE) {
        for (size_t i = 0; i < pt->n_items; i++)
            qt_pretok_apply(&pt->items[i], sp, scratch);
        return;
    }
    qt_splits_clear(scratch);
    for (size_t i = 0; i < sp->n; i++) {
        qt_split *s = &sp->v[i];
        if (s->token >= 0) {
            *splits_grow(scratch) = *s; /* moves the string */
            s->ns.s = NULL;
            s->ns.al = NULL;
            continue;
        }
        switch (pt->kind) {
        case QT_PRE_BERT:
            split_bert(&s->ns, true, scratch);
            break;
        case QT_PRE_WHITESPACE_SPLIT:
            split_bert(&s->ns, false, scratch);
            break;
        case QT_PRE_BYTE_LEVEL:
            split_byte_level(pt, &s->ns, scratch);
            break;
        case QT_PRE_METASPACE:
            qt_metaspace_pretok(pt->metaspace, &s->ns, scratch);
            break;
        case QT_PRE_SEQUENCE:
            break;
        }
    }
    qt_splits tmp = *sp;
    *sp = *scratch;
    *scratch = tmp;
    qt_splits_clear(scratch);
}

void qt_pretok_free(qt_pretok *pt)
{
    if (!pt)
        return;
    for (size_t i = 0; i < pt->n_items; i++)
        qt_pretok_free(&pt->items[i]);
    free(pt->items);
    free(pt->metaspace);
}
