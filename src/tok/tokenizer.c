/* The encode pipeline (HF's TokenizerImpl::encode without special tokens),
 * the accessors, and loading by path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/unigram.h"
#include "util/file.h"
#include "util/json.h"
#include "util/paths.h"

void qt_encoding_init(qt_encoding *enc)
{
    memset(enc, 0, sizeof *enc);
}

void qt_encoding_free(qt_encoding *enc)
{
    free(enc->ids);
    free(enc->chars);
    free(enc->bytes);
    memset(enc, 0, sizeof *enc);
}

static void encoding_push(qt_encoding *enc, int32_t id, uint32_t start, uint32_t end)
{
    if (enc->n == enc->cap) {
        enc->cap = enc->cap ? enc->cap * 2 : 256;
        enc->ids = qt_tok_xrealloc(enc->ids, enc->cap * sizeof *enc->ids);
        enc->chars = qt_tok_xrealloc(enc->chars, enc->cap * sizeof *enc->chars);
        enc->bytes = qt_tok_xrealloc(enc->bytes, enc->cap * sizeof *enc->bytes);
    }
    enc->ids[enc->n] = id;
    enc->bytes[enc->n] = (qt_tok_span){(int32_t)start, (int32_t)end};
    enc->n++;
}

/* Leading and trailing characters that ByteLevel's offset trimming counts
 * as spaces: the byte-level space 'Ġ' and real whitespace. */
static void count_spaces(const char *tok, uint32_t *lead, uint32_t *trail)
{
    *lead = *trail = 0;
    if (!tok)
        return;
    size_t len = strlen(tok);
    bool leading = true;
    for (size_t i = 0; i < len;) {
        uint32_t n;
        uint32_t c = qt_tok_utf8_decode(tok + i, &n);
        i += n;
        bool sp = c == 0x120 || qt_uc_is_whitespace(c);
        if (leading && sp)
            (*lead)++;
        else
            leading = false;
        *trail = sp ? *trail + 1 : 0;
    }
}

/* Byte offsets -> code point offsets, as HF's BytesToCharOffsetConverter
 * does it (an end past the text counts from the last byte). */
static void to_chars(const uint32_t *char_of_byte, uint32_t len, uint32_t bs, uint32_t be, int32_t *cs,
                     int32_t *ce)
{
    if (bs >= len) { /* HF leaves such offsets as they are */
        *cs = (int32_t)bs;
        *ce = (int32_t)be;
        return;
    }
    *cs = (int32_t)char_of_byte[bs];
    if (be < len)
        *ce = (int32_t)char_of_byte[be];
    else
        *ce = (int32_t)(be >= 1 && be - 1 < len ? char_of_byte[be - 1] : char_of_byte[bs] + 1) + 1;
}

static void note_spaces(qt_tokenizer *t, size_t k, const char *tok)
{
    if (2 * (k + 1) > t->spaces_cap) {
        t->spaces_cap = 2 * (k + 1) + 512;
        t->spaces = qt_tok_xrealloc(t->spaces, t->spaces_cap * sizeof *t->spaces);
    }
    count_spaces(tok, &t->spaces[2 * k], &t->spaces[2 * k + 1]);
}

/* Steps 1-3 of encoding (added tokens, normalizer, pre-tokenizer): leaves
 * the splits in t->sp_a. */
static int split_text(qt_tokenizer *t, const char *text, size_t len, qt_err *e)
{
    if (len > (1u << 30))
        return qt_fail(e, "text too long to tokenize (%zu bytes)", len);
    long bad = qt_utf8_invalid_offset(text, len);
    if (bad >= 0)
        return qt_fail(e, "byte offset %ld: invalid UTF-8", bad);
    qt_splits *sp = &t->sp_a, *scratch = &t->sp_b;
    qt_splits_clear(sp);
    qt_splits_clear(scratch);
    /* 1. added tokens matched in the raw text */
    qt_nstr whole;
    qt_nstr_init_text(&whole, text, (uint32_t)len);
    if (t->any_raw_added)
        qt_added_split(t->added, t->n_added, false, &whole, sp);
    else
        qt_splits_push_slice(sp, &whole, 0, whole.len, -1);
    qt_nstr_free(&whole);

    /* 2. normalize what is left, then look for the normalized added tokens */
    if (t->normalizer || t->any_normalized_added) {
        for (size_t i = 0; i < sp->n; i++) {
            qt_split *s = &sp->v[i];
            if (s->token >= 0) {
                qt_splits_push_slice(scratch, &s->ns, 0, s->ns.len, s->token);
                continue;
            }
            if (t->normalizer)
                qt_normalizer_apply(t->normalizer, &s->ns);
            if (t->any_normalized_added)
                qt_added_split(t->added, t->n_added, true, &s->ns, scratch);
            else
                qt_splits_push_slice(scratch, &s->ns, 0, s->ns.len, -1);
        }
        qt_splits tmp = *sp;
        *sp = *scratch;
        *scratch = tmp;
        qt_splits_clear(scratch);
    }

    /* 3. pre-tokenize */
    if (t->pretok)
        qt_pretok_apply(t->pretok, sp, scratch);

    return 0;
}

int qt_tokenizer_pretokenize(qt_tokenizer *t, const char *text, size_t len,
                             void (*word)(void *ctx, const char *s, size_t n), void *ctx, qt_err *e)
{
    if (split_text(t, text, len, e) != 0)
        return -1;
    for (size_t i = 0; i < t->sp_a.n; i++)
        if (t->sp_a.v[i].token < 0)
            word(ctx, t->sp_a.v[i].ns.s, t->sp_a.v[i].ns.len);
    qt_splits_clear(&t->sp_a);
    return 0;
}

int qt_tokenizer_encode(qt_tokenizer *t, const char *text, size_t len, qt_encoding *enc, qt_err *e)
{
    enc->n = 0;
    if (split_text(t, text, len, e) != 0)
        return -1;
    qt_splits *sp = &t->sp_a;
    /* 4. the model; offsets back into the original text (bytes for now) */
    for (size_t i = 0; i < sp->n; i++) {
        qt_split *s = &sp->v[i];
        uint32_t os, oe;
        if (s->token >= 0) {
            qt_nstr_original_range(&s->ns, 0, s->ns.len, &os, &oe);
            if (t->trim_offsets)
                note_spaces(t, enc->n, s->ns.s);
            encoding_push(enc, s->token, os, oe);
            continue;
        }
        t->pieces.n = 0;
        t->model.tokenize(&t->model, s->ns.s, s->ns.len, &t->pieces);
        for (size_t k = 0; k < t->pieces.n; k++) {
            const qt_tok_piece *p = &t->pieces.v[k];
            qt_nstr_original_range(&s->ns, p->start, p->end, &os, &oe);
            if (t->trim_offsets)
                note_spaces(t, enc->n, qt_vocab_token(&t->model.vocab, p->id));
            encoding_push(enc, p->id, os, oe);
        }
    }
    qt_splits_clear(sp);

    /* 5. code point offsets, the post-processor's trimming, and byte
     * offsets that agree with the final code point offsets */
    if (t->char_of_byte_cap < len + 2) {
        t->char_of_byte_cap = len + 2;
        t->char_of_byte = qt_tok_xrealloc(t->char_of_byte, t->char_of_byte_cap * sizeof *t->char_of_byte);
        t->byte_of_char = qt_tok_xrealloc(t->byte_of_char, t->char_of_byte_cap * sizeof *t->byte_of_char);
    }
    uint32_t nchars = 0;
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            t->byte_of_char[nchars++] = (uint32_t)i;
        t->char_of_byte[i] = nchars - 1;
    }
    t->byte_of_char[nchars] = (uint32_t)len;
    for (size_t k = 0; k < enc->n; k++) {
        int32_t cs, ce;
        to_chars(t->char_of_byte, (uint32_t)len, (uint32_t)enc->bytes[k].start, (uint32_t)enc->bytes[k].end, &cs,
                 &ce);
        if (t->trim_offsets) {
            uint32_t lead = t->spaces[2 * k], trail = t->spaces[2 * k + 1];
            if (lead > 0) {
                bool is_first = k == 0 || cs == 0;
                if (is_first && t->trim_add_prefix_space && lead == 1)
                    lead = 0;
                cs = cs + (int32_t)lead < ce ? cs + (int32_t)lead : ce;
            }
            if (trail > 0 && ce >= (int32_t)trail)
                ce = ce - (int32_t)trail > cs ? ce - (int32_t)trail : cs;
        }
        enc->chars[k] = (qt_tok_span){cs, ce};
        enc->bytes[k].start = cs >= 0 && (uint32_t)cs <= nchars ? (int32_t)t->byte_of_char[cs] : (int32_t)len;
        enc->bytes[k].end = ce >= 0 && (uint32_t)ce <= nchars ? (int32_t)t->byte_of_char[ce] : (int32_t)len;
    }
    return 0;
}

const char *qt_tokenizer_id_to_token(const qt_tokenizer *t, int32_t id)
{
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].id == id)
            return t->added[i].content;
    return qt_vocab_token(&t->model.vocab, id);
}

int32_t qt_tokenizer_token_to_id(const qt_tokenizer *t, const char *token)
{
    size_t len = strlen(token);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].len == len && memcmp(t->added[i].content, token, len) == 0)
            return t->added[i].id;
    return qt_vocab_find(&t->model.vocab, token, len);
}

int32_t qt_tokenizer_vocab_size(const qt_tokenizer *t)
{
    return t->vocab_size;
}

const qt_tok_specials *qt_tokenizer_specials(const qt_tokenizer *t)
{
    return &t->specials;
}

qt_tok_model_type qt_tokenizer_model_type(const qt_tokenizer *t)
{
    return t->model.type;
}

/* The id of the first of names that the tokenizer knows, or -1. */
static int32_t first_known(const qt_tokenizer *t, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        int32_t id = qt_tokenizer_token_to_id(t, names[i]);
        if (id >= 0)
            return id;
    }
    return -1;
}

void qt_tokenizer_finish(qt_tokenizer *t)
{
    static const char *const unk[] = {"[UNK]", "<unk>", "<|unk|>", NULL};
    static const char *const cls[] = {"[CLS]", "<s>", NULL};
    static const char *const sep[] = {"[SEP]", "</s>", NULL};
    static const char *const pad[] = {"[PAD]", "<pad>", "<|padding|>", "<|pad|>", NULL};
    static const char *const mask[] = {"[MASK]", "<mask>", "<|mask|>", NULL};
    static const char *const bos[] = {"<s>", "<|begin_of_text|>", "<|startoftext|>", "<|endoftext|>", NULL};
    static const char *const eos[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", NULL};
    qt_tok_specials *sp = &t->specials;
    if (sp->unk < 0)
        sp->unk = t->model.unk_id >= 0 ? t->model.unk_id : first_known(t, unk);
    if (sp->cls < 0)
        sp->cls = first_known(t, cls);
    if (sp->sep < 0)
        sp->sep = first_known(t, sep);
    if (sp->pad < 0)
        sp->pad = first_known(t, pad);
    if (sp->mask < 0)
        sp->mask = first_known(t, mask);
    if (sp->bos < 0)
        sp->bos = first_known(t, bos);
    if (sp->eos < 0)
        sp->eos = first_known(t, eos);

    int32_t top = t->model.vocab.n_ids - 1;
    while (top >= 0 && !t->model.vocab.tokens[top])
        top--;
    t->any_raw_added = t->any_normalized_added = false;
    for (size_t i = 0; i < t->n_added; i++) {
        qt_added_token *a = &t->added[i];
        if (a->id > top)
            top = a->id;
        free(a->match);
        if (a->normalized && t->normalizer) {
            qt_nstr ns;
            qt_nstr_init_text(&ns, a->content, a->len);
            qt_normalizer_apply(t->normalizer, &ns);
            a->match = qt_tok_xstrndup(ns.s, ns.len);
            a->match_len = ns.len;
            qt_nstr_free(&ns);
        } else {
            a->match = qt_tok_xstrndup(a->content, a->len);
            a->match_len = a->len;
        }
        if (a->match_len) {
            if (a->normalized)
                t->any_normalized_added = true;
            else
                t->any_raw_added = true;
        }
    }
    t->vocab_size = top + 1;
}

void qt_tokenizer_release(qt_tokenizer *t)
{
    qt_tok_model_free(&t->model);
    if (t->normalizer) {
        qt_normalizer_free(t->normalizer);
        free(t->normalizer);
    }
    if (t->pretok) {
        qt_pretok_free(t->pretok);
        free(t->pretok);
    }
    for (size_t i = 0; i < t->n_added; i++) {
        free(t->added[i].content);
        free(t->added[i].match);
    }
    free(t->added);
    qt_tok_decoder_free(t->decoder);
    qt_splits_free(&t->sp_a);
    qt_splits_free(&t->sp_b);
    free(t->pieces.v);
    free(t->char_of_byte);
    free(t->byte_of_char);
    free(t->spaces);
}

void qt_tokenizer_free(qt_tokenizer *t)
{
    if (!t)
        return;
    qt_tokenizer_release(t);
    free(t);
}

/* ---- loading by path ---- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int qt_tokenizer_load(const char *path, qt_tokenizer **out, qt_err *e)
{
    *out = NULL;
    if (qt_path_is_dir(path)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/tokenizer.json", path);
        if (qt_path_is_file(p))
            return qt_tokenizer_load(p, out, e);
        snprintf(p, sizeof p, "%s/vocab.txt", path);
        if (qt_path_is_file(p))
            return qt_tokenizer_load_vocab_txt(p, -1, out, e);
        return qt_fail(e, "%s: no tokenizer.json or vocab.txt in this directory", path);
    }
    if (ends_with(path, ".txt"))
        return qt_tokenizer_load_vocab_txt(path, -1, out, e);
    char *data;
    size_t len;
    if (qt_read_file(path, 0, &data, &len, e) != 0)
        return -1;
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
        i++;
    int rc;
    if (ends_with(path, ".json") || (i < len && data[i] == '{')) {
        rc = qt_tokenizer_from_json(path, data, len, out, e);
        free(data);
        return rc;
    }
    free(data);
    return qt_tokenizer_load_vocab_txt(path, -1, out, e);
}
