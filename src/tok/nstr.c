/* HF's NormalizedString: a text being normalized, with the original byte
 * range of every byte, and the normalizers that edit it. Alignments are
 * absolute offsets into the text given to encode, so slices keep them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/unigram.h"

void *qt_tok_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("qaterm: out of memory in the tokenizer\n", stderr);
        abort();
    }
    return q;
}

void *qt_tok_xcalloc(size_t n, size_t size)
{
    void *q = calloc(n ? n : 1, size ? size : 1);
    if (!q) {
        fputs("qaterm: out of memory in the tokenizer\n", stderr);
        abort();
    }
    return q;
}

char *qt_tok_xstrndup(const char *s, size_t n)
{
    char *d = qt_tok_xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

uint32_t qt_tok_utf8_decode(const char *s, uint32_t *n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] < 0x80) {
        *n = 1;
        return p[0];
    }
    if (p[0] < 0xE0) {
        *n = 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *n = 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *n = 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
           (p[3] & 0x3F);
}

int qt_tok_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

void qt_tok_edits_push(qt_tok_edits *ed, uint32_t cp, int32_t change)
{
    if (ed->n == ed->cap) {
        ed->cap = ed->cap ? ed->cap * 2 : 64;
        ed->v = qt_tok_xrealloc(ed->v, ed->cap * sizeof *ed->v);
    }
    ed->v[ed->n++] = (qt_tok_edit){cp, change};
}

void qt_nstr_init_text(qt_nstr *ns, const char *text, uint32_t len)
{
    ns->s = qt_tok_xstrndup(text, len);
    ns->al = qt_tok_xrealloc(NULL, (size_t)len * sizeof *ns->al);
    ns->len = len;
    ns->orig_start = 0;
    for (uint32_t i = 0; i < len;) {
        uint32_t n;
        qt_tok_utf8_decode(text + i, &n);
        for (uint32_t k = 0; k < n; k++)
            ns->al[i + k] = (qt_tok_align){i, i + n};
        i += n;
    }
}

void qt_nstr_free(qt_nstr *ns)
{
    free(ns->s);
    free(ns->al);
    ns->s = NULL;
    ns->al = NULL;
    ns->len = 0;
}

void qt_nstr_slice(const qt_nstr *ns, uint32_t a, uint32_t b, qt_nstr *out)
{
    out->len = b - a;
    out->s = qt_tok_xstrndup(ns->s + a, b - a);
    out->al = qt_tok_xrealloc(NULL, (size_t)(b - a) * sizeof *out->al);
    memcpy(out->al, ns->al + a, (size_t)(b - a) * sizeof *out->al);
    out->orig_start = b > a ? ns->al[a].start : ns->orig_start;
}

void qt_nstr_original_range(const qt_nstr *ns, uint32_t a, uint32_t b, uint32_t *start, uint32_t *end)
{
    if (a >= b || b > ns->len) { /* HF keeps an empty range as it is */
        *start = *end = ns->orig_start + a;
        return;
    }
    *start = ns->al[a].start;
    *end = ns->al[b - 1].end;
}

/* Byte length of the UTF-8 character whose lead byte is c. */
static uint32_t lead_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

void qt_nstr_transform(qt_nstr *ns, const qt_tok_edit *ed, size_t n, size_t skip)
{
    uint32_t off = 0;
    for (size_t k = 0; k < skip && off < ns->len; k++)
        off += lead_len((unsigned char)ns->s[off]);
    size_t cap = (size_t)ns->len + 4 * n + 1;
    char *s = qt_tok_xrealloc(NULL, cap);
    qt_tok_align *al = qt_tok_xrealloc(NULL, cap * sizeof *al);
    size_t len = 0;
    qt_tok_align last = {ns->orig_start, ns->orig_start};
    for (size_t k = 0; k < n; k++) {
        qt_tok_align a;
        if (ed[k].change > 0) {
            a = off < 1 ? (qt_tok_align){ns->orig_start, ns->orig_start} : ns->al[off - 1];
        } else {
            a = off < ns->len ? ns->al[off] : last; /* past the end only with bad edits */
            if (off < ns->len)
                off += lead_len((unsigned char)ns->s[off]);
            for (int32_t r = 0; r < -ed[k].change && off < ns->len; r++)
                off += lead_len((unsigned char)ns->s[off]);
        }
        last = a;
        int w = qt_tok_utf8_encode(ed[k].cp, s + len);
        for (int i = 0; i < w; i++)
            al[len + (size_t)i] = a;
        len += (size_t)w;
    }
    s[len] = 0;
    free(ns->s);
    free(ns->al);
    ns->s = s;
    ns->al = al;
    ns->len = (uint32_t)len;
}

void qt_nstr_prepend(qt_nstr *ns, const char *prefix)
{
    if (ns->len == 0)
        return;
    uint32_t first = lead_len((unsigned char)ns->s[0]);
    size_t plen = strlen(prefix);
    char *s = qt_tok_xrealloc(NULL, plen + ns->len + 1);
    qt_tok_align *al = qt_tok_xrealloc(NULL, (plen + ns->len) * sizeof *al);
    memcpy(s, prefix, plen);
    memcpy(s + plen, ns->s, ns->len + 1);
    /* The prefix's first character replaces the old first character's
     * alignment; what follows is "inserted" after it. */
    uint32_t n0;
    qt_tok_utf8_decode(prefix, &n0);
    for (size_t i = 0; i < plen; i++)
        al[i] = i < n0 ? ns->al[0] : ns->al[first - 1];
    for (uint32_t i = 0; i < first; i++)
        al[plen + i] = ns->al[first - 1];
    memcpy(al + plen + first, ns->al + first, (ns->len - first) * sizeof *al);
    free(ns->s);
    free(ns->al);
    ns->s = s;
    ns->al = al;
    ns->len += (uint32_t)plen;
}

/* ---- normalizers ---- */

typedef bool (*keep_fn)(uint32_t c);

/* HF's filter: a removed character is charged to the kept one before it;
 * removed characters at the very start are skipped. */
static void nstr_filter(qt_nstr *ns, keep_fn keep)
{
    qt_tok_edits ed = {0};
    size_t skip = 0;
    bool any_removed = false;
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        if (keep(c)) {
            qt_tok_edits_push(&ed, c, 0);
        } else {
            any_removed = true;
            if (ed.n)
                ed.v[ed.n - 1].change--;
            else
                skip++;
        }
    }
    if (any_removed)
        qt_nstr_transform(ns, ed.v, ed.n, skip);
    free(ed.v);
}

static bool keep_bert_clean(uint32_t c)
{
    return !qt_uc_is_bert_control(c);
}

static bool keep_not_nonspacing_mark(uint32_t c)
{
    return !qt_uc_is_nonspacing_mark(c);
}

static bool keep_not_mark(uint32_t c)
{
    return !qt_uc_is_mark(c);
}

static bool is_ascii(const qt_nstr *ns)
{
    for (uint32_t i = 0; i < ns->len; i++)
        if ((unsigned char)ns->s[i] >= 0x80)
            return false;
    return true;
}

static void bert_clean(qt_nstr *ns)
{
    bool plain = true; /* nothing to remove or map: skip the copies */
    for (uint32_t i = 0; i < ns->len && plain; i++) {
        unsigned char b = (unsigned char)ns->s[i];
        plain = b >= 0x20 && b < 0x7F;
    }
    if (plain)
        return;
    nstr_filter(ns, keep_bert_clean);
    /* whitespace becomes a plain space; same lengths for ASCII, not always */
    qt_tok_edits ed = {0};
    bool changed = false;
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        if (c != ' ' && qt_uc_is_whitespace(c)) {
            c = ' ';
            changed = true;
        }
        qt_tok_edits_push(&ed, c, 0);
    }
    if (changed)
        qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

static void bert_cjk(qt_nstr *ns)
{
    if (is_ascii(ns))
        return;
    qt_tok_edits ed = {0};
    bool changed = false;
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        if (qt_uc_is_cjk(c)) {
            qt_tok_edits_push(&ed, ' ', 0);
            qt_tok_edits_push(&ed, c, 1);
            qt_tok_edits_push(&ed, ' ', 1);
            changed = true;
        } else {
            qt_tok_edits_push(&ed, c, 0);
        }
    }
    if (changed)
        qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

static void normalize_form(qt_nstr *ns, qt_nf form)
{
    if (is_ascii(ns))
        return;
    qt_tok_edits ed = {0};
    qt_uc_normalize_edits(form, ns->s, ns->len, &ed);
    qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

static void strip_marks(qt_nstr *ns, keep_fn keep)
{
    if (is_ascii(ns))
        return;
    nstr_filter(ns, keep);
}

static void lowercase(qt_nstr *ns)
{
    bool has_upper = false;
    for (uint32_t i = 0; i < ns->len && !has_upper; i++) {
        unsigned char b = (unsigned char)ns->s[i];
        has_upper = b >= 0x80 || (b >= 'A' && b <= 'Z');
    }
    if (!has_upper)
        return;
    qt_tok_edits ed = {0};
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n, low[3];
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        int k = qt_uc_lowercase(c, low);
        for (int j = 0; j < k; j++)
            qt_tok_edits_push(&ed, low[j], j > 0);
    }
    qt_nstr_transform(ns, ed.v, ed.n, 0);
    free(ed.v);
}

static void strip_spaces(qt_nstr *ns, bool left, bool right)
{
    uint32_t chars = 0, lead = 0, trail = 0;
    bool in_lead = true;
    for (uint32_t i = 0; i < ns->len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        bool ws = qt_uc_is_whitespace(c);
        if (in_lead && ws)
            lead++;
        else
            in_lead = false;
        trail = ws ? trail + 1 : 0;
        chars++;
    }
    if (!left)
        lead = 0;
    if (!right)
        trail = 0;
    if (!lead && !trail)
        return;
    qt_tok_edits ed = {0};
    uint32_t idx = 0;
    for (uint32_t i = 0; i < ns->len; idx++) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(ns->s + i, &n);
        i += n;
        if (idx < lead || idx >= chars - trail)
            continue;
        qt_tok_edits_push(&ed, c, idx == chars - trail - 1 ? -(int32_t)trail : 0);
    }
    qt_nstr_transform(ns, ed.v, ed.n, lead);
    free(ed.v);
}

/* Replaces every occurrence of `from` (left to right, not overlapping);
 * the new characters take the alignment of the last replaced byte. */
static void replace_text(qt_nstr *ns, const char *from, const char *to)
{
    size_t flen = strlen(from), tlen = strlen(to);
    if (flen == 0 || !memmem(ns->s, ns->len, from, flen))
        return;
    size_t cap = (size_t)ns->len / flen * (tlen + 1) + ns->len + 1;
    char *s = qt_tok_xrealloc(NULL, cap);
    qt_tok_align *al = qt_tok_xrealloc(NULL, cap * sizeof *al);
    size_t len = 0;
    for (uint32_t i = 0; i < ns->len;) {
        if (i + flen <= ns->len && memcmp(ns->s + i, from, flen) == 0) {
            qt_tok_align a = ns->al[i + flen - 1];
            memcpy(s + len, to, tlen);
            for (size_t k = 0; k < tlen; k++)
                al[len + k] = a;
            len += tlen;
            i += (uint32_t)flen;
        } else {
            s[len] = ns->s[i];
            al[len++] = ns->al[i++];
        }
    }
    s[len] = 0;
    free(ns->s);
    free(ns->al);
    ns->s = s;
    ns->al = al;
    ns->len = (uint32_t)len;
}

void qt_normalizer_apply(const qt_normalizer *nz, qt_nstr *ns)
{
    switch (nz->kind) {
    case QT_NORM_BERT:
        if (nz->clean_text)
            bert_clean(ns);
        if (nz->handle_cjk)
            bert_cjk(ns);
        if (nz->strip_accents) {
            normalize_form(ns, QT_NF_D);
            strip_marks(ns, keep_not_nonspacing_mark);
        }
        if (nz->lowercase)
            lowercase(ns);
        break;
    case QT_NORM_NFC:
        normalize_form(ns, QT_NF_C);
        break;
    case QT_NORM_NFD:
        normalize_form(ns, QT_NF_D);
        break;
    case QT_NORM_NFKC:
        normalize_form(ns, QT_NF_KC);
        break;
    case QT_NORM_NFKD:
        normalize_form(ns, QT_NF_KD);
        break;
    case QT_NORM_LOWERCASE:
        lowercase(ns);
        break;
    case QT_NORM_STRIP_ACCENTS:
        strip_marks(ns, keep_not_mark);
        break;
    case QT_NORM_STRIP:
        strip_spaces(ns, nz->left, nz->right);
        break;
    case QT_NORM_PREPEND:
        qt_nstr_prepend(ns, nz->text);
        break;
    case QT_NORM_REPLACE:
        replace_text(ns, nz->text, nz->with);
        break;
    case QT_NORM_PRECOMPILED:
        qt_charsmap_normalize(nz->charsmap, ns);
        break;
    case QT_NORM_REPLACE_RUNS:
        qt_tok_replace_runs(ns, nz->runs, nz->with);
        break;
    case QT_NORM_SEQUENCE:
        for (size_t i = 0; i < nz->n_items; i++)
            qt_normalizer_apply(&nz->items[i], ns);
        break;
    }
}

void qt_normalizer_free(qt_normalizer *nz)
{
    if (!nz)
        return;
    for (size_t i = 0; i < nz->n_items; i++)
        qt_normalizer_free(&nz->items[i]);
    free(nz->items);
    free(nz->text);
    free(nz->with);
    qt_charsmap_free(nz->charsmap);
    free(nz->runs);
}
