/* Mamba question answering: the span head over  question <sep> context <sep>
 * and generative prompting for plain language models (rules in mamba.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/mamba.h"
#include "models/mamba_internal.h"
#include "qa/normalize.h"
#include "qa/decode.h"

/* ------------------------------------------------------- text and bytes */

typedef struct strbuf {
    char *s;
    size_t n, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

/* One code point of UTF-8 at s[*i] (the tokenizer's strings are valid). */
static uint32_t utf8_next(const char *s, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s + *i;
    if (u[0] < 0x80) {
        *i += 1;
        return u[0];
    }
    if ((u[0] & 0xE0) == 0xC0 && u[1]) {
        *i += 2;
        return (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
    }
    if ((u[0] & 0xF0) == 0xE0 && u[1] && u[2]) {
        *i += 3;
        return (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
    }
    if (u[1] && u[2] && u[3]) {
        *i += 4;
        return (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 |
               (uint32_t)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
    }
    *i += 1;
    return 0xFFFD;
}

/* The byte a byte-level BPE character stands for (GPT-2's table: printable
 * Latin-1 stands for itself, the other 68 bytes are U+0100.. in order), or
 * -1 for a character outside the table (added tokens hold plain text). */
static int byte_of_char(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 0x100 || cp >= 0x100 + 68)
        return -1;
    int k = (int)cp - 0x100; /* bytes 0x00-0x20, then 0x7F-0xA0, then 0xAD */
    return k <= 0x20 ? k : k <= 0x20 + 34 ? 0x7F + (k - 0x21) : 0xAD;
}

static int is_special(const qt_mamba *mb, int32_t id)
{
    const qt_tok_specials *s = qt_tokenizer_specials(mb->tok);
    return id == mb->eos_id || id == s->cls || id == s->sep || id == s->pad || id == s->bos ||
           id == s->eos || id == s->mask || id == s->unk;
}

/* Appends the bytes token id stands for (nothing for specials and ids
 * beyond the tokenizer, e.g. a padded embedding table). */
static int add_token_bytes(const qt_mamba *mb, int32_t id, strbuf *b)
{
    const char *t = is_special(mb, id) ? NULL : qt_tokenizer_id_to_token(mb->tok, id);
    for (size_t i = 0; t && t[i];) {
        size_t at = i;
        int byte = byte_of_char(utf8_next(t, &i));
        char c = (char)byte;
        if (byte >= 0 ? sb_add(b, &c, 1) : sb_add(b, t + at, i - at))
            return -1;
    }
    return 0;
}

void qt_mamba_mark_newline_tokens(qt_mamba *mb)
{
    strbuf b = {0};
    for (int32_t id = 0; id < mb->vocab; id++) {
        b.n = 0;
        if (add_token_bytes(mb, id, &b) == 0 && b.n)
            mb->newline_tok[id] = memchr(b.s, '\n', b.n) != NULL;
    }
    free(b.s);
}

/* The prompt with {context} and {question} put in. */
static char *fill_prompt(const char *tmpl, const char *question, const char *context)
{
    strbuf b = {0};
    int bad = sb_add(&b, "", 0);
    for (const char *p = tmpl; *p && !bad;) {
        if (strncmp(p, "{context}", 9) == 0) {
            bad = sb_add(&b, context, strlen(context));
            p += 9;
        } else if (strncmp(p, "{question}", 10) == 0) {
            bad = sb_add(&b, question, strlen(question));
            p += 10;
        } else {
            bad = sb_add(&b, p++, 1);
        }
    }
    if (bad) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static long count_chars(const char *s, size_t n)
{
    long c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Byte offset of the first occurrence of text in context: exactly, else
 * ASCII case-insensitively at a character boundary; -1 when absent. */
static long find_in_context(const char *context, const char *text)
{
    size_t n = strlen(text), m = strlen(context);
    if (n == 0 || n > m)
        return -1;
    const char *hit = strstr(context, text);
    if (hit)
        return hit - context;
    for (size_t i = 0; i + n <= m; i++) {
        if (((unsigned char)context[i] & 0xC0) == 0x80)
            continue;
        size_t j = 0;
        while (j < n && ascii_lower((unsigned char)context[i + j]) == ascii_lower((unsigned char)text[j]))
            j++;
        if (j == n && (i + n == m || ((unsigned char)context[i + n] & 0xC0) != 0x80))
            return (long)i;
    }
    return -1;
}

static void set_span(const char *context, const char *text, long *bs, long *be, long *cs, long *ce)
{
    long at = find_in_context(context, text);
    *bs = *be = *cs = *ce = -1;
    if (at >= 0) {
        *bs = at;
        *be = at + (long)strlen(text);
        *cs = count_chars(context, (size_t)at);
        *ce = *cs + count_chars(text, strlen(text));
    }
}

/* ------------------------------------------------------------ span mode */

static int encode(qt_mamba *mb, const char *text, qt_encoding *enc, qt_err *e)
{
    return qt_tokenizer_encode(mb->tok, text, strlen(text), enc, e);
}

/* question <sep> context <sep>; the context's encoding stays in ce. */
static int span_input(qt_mamba *mb, const char *question, const char *context, qt_encoding *ce,
                      int32_t **ids, int *n, qt_err *e)
{
    qt_encoding qe;
    qt_encoding_init(&qe);
    *ids = NULL;
    if (encode(mb, question, &qe, e) || encode(mb, context, ce, e)) {
        qt_encoding_free(&qe);
        return -1;
    }
    int nq = qe.n < QT_QA_MAX_QUESTION_LEN ? (int)qe.n : QT_QA_MAX_QUESTION_LEN;
    *n = nq + 1 + (int)ce->n + 1;
    *ids = malloc(sizeof **ids * (size_t)*n);
    if (*ids) {
        if (nq > 0) /* empty encodings have no buffer: memcpy(NULL) is undefined */
            memcpy(*ids, qe.ids, sizeof **ids * nq);
        (*ids)[nq] = mb->sep_id;
        if (ce->n > 0)
            memcpy(*ids + nq + 1, ce->ids, sizeof **ids * ce->n);
        (*ids)[*n - 1] = mb->sep_id;
    }
    qt_encoding_free(&qe);
    return *ids ? 0 : qt_fail(e, "out of memory");
}

int qt_mamba_span_input(qt_model *m, const char *question, const char *context, int32_t **ids, int *n,
                        qt_err *e)
{
    qt_encoding ce;
    qt_encoding_init(&ce);
    int rc = span_input(m->impl, question, context, &ce, ids, n, e);
    qt_encoding_free(&ce);
    return rc;
}

static int answer_span(qt_model *m, const char *question, const char *context, qt_qa_answer *out,
                       qt_err *e)
{
    qt_mamba *mb = m->impl;
    qt_encoding ce;
    qt_encoding_init(&ce);
    int32_t *ids = NULL;
    float *logits = NULL;
    qt_qa_offset *offs = NULL;
    qt_qa_result r = {0};
    int n, rc = -1;
    if (span_input(mb, question, context, &ce, &ids, &n, e))
        goto done;
    logits = malloc(sizeof *logits * 2 * (size_t)n);
    offs = malloc(sizeof *offs * (ce.n + 1));
    if (!logits || !offs) {
        qt_fail(e, "out of memory");
        goto done;
    }
    float *start = logits, *end = logits + n;
    if (qt_mamba_forward(m, ids, n, NULL, start, end, e))
        goto done;
    for (size_t i = 0; i < ce.n; i++)
        offs[i] = (qt_qa_offset){(size_t)ce.bytes[i].start, (size_t)ce.bytes[i].end};
    int ctx0 = n - 1 - (int)ce.n;
    float null_logits[2] = {start[n - 1], end[n - 1]};
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    o.null_threshold = mb->null_threshold;
    if (qt_qa_decode_plain(start + ctx0, end + ctx0, (int)ce.n, null_logits, context, strlen(context),
                           offs, &o, &r, e))
        goto done;
    out->has_answer = r.answered;
    out->text = strdup(r.answered ? r.best.text : "");
    out->best_text = strdup(r.has_best ? r.best.text : "");
    if (!out->text || !out->best_text) {
        qt_fail(e, "out of memory");
        goto done;
    }
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    out->best_char_start = out->best_char_end = -1;
    if (r.has_best) {
        out->best_char_start = r.best.start_char;
        out->best_char_end = r.best.end_char;
    }
    if (r.answered) {
        out->char_start = r.best.start_char;
        out->char_end = r.best.end_char;
        out->byte_start = (long)r.best.start_byte;
        out->byte_end = (long)r.best.end_byte;
    }
    out->score = r.answered ? r.best.score : r.null_score;
    out->no_answer_prob = r.no_answer_prob;
    out->margin = r.margin;
    out->confidence = r.answered ? 1.0 - r.no_answer_prob : r.no_answer_prob;
    rc = 0;
done:
    qt_qa_result_free(&r);
    qt_encoding_free(&ce);
    free(ids);
    free(logits);
    free(offs);
    return rc;
}

/* ------------------------------------------------------ generative mode */

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or minus the length
 * of its longest valid-looking prefix (the "maximal subpart" that Python's
 * errors="replace" turns into one U+FFFD). */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n || s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF))
            return -i;
    }
    return len;
}

/* The bytes as valid UTF-8: invalid parts become U+FFFD as Python's
 * bytes.decode("utf-8", errors="replace") does. */
static int add_valid_utf8(strbuf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k > 0 ? sb_add(out, s + i, (size_t)k) : sb_add(out, "\xEF\xBF\xBD", 3))
            return -1;
        i += (size_t)(k > 0 ? k : -k);
    }
    return 0;
}

/* The generated ids as text (valid UTF-8), without the stopping token,
 * surrounding whitespace removed. */
static char *ids_text(const qt_mamba *mb, const int32_t *ids, int n)
{
    strbuf raw = {0}, b = {0};
    int bad = sb_add(&raw, "", 0) || sb_add(&b, "", 0);
    for (int i = 0; i < n && !bad; i++) {
        if (ids[i] == mb->eos_id || mb->newline_tok[ids[i]])
            break;
        bad = add_token_bytes(mb, ids[i], &raw);
    }
    size_t s = 0, e = bad ? 0 : raw.n;
    while (s < e && is_space(raw.s[s]))
        s++;
    while (e > s && is_space(raw.s[e - 1]))
        e--;
    bad = bad || add_valid_utf8(&b, raw.s + s, e - s);
    free(raw.s);
    if (bad) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* 1 when the text, SQuAD-normalised, is empty or the no-answer text. */
static int is_no_answer(const qt_mamba *mb, const char *text, qt_err *e)
{
    char *a = qt_squad_normalize(text), *b = qt_squad_normalize(mb->no_answer);
    int r = a && b ? (a[0] == 0 || strcmp(a, b) == 0) : qt_fail(e, "out of memory");
    free(a);
    free(b);
    return r;
}

/* log P(no-answer text | prompt), teacher-forced from the saved state. */
static int no_answer_logprob(qt_model *m, const char *prompt, double *lp, qt_err *e)
{
    qt_mamba *mb = m->impl;
    size_t pl = strlen(prompt);
    int space = pl == 0 || !is_space(prompt[pl - 1]);
    char *text = malloc(strlen(mb->no_answer) + 2);
    if (!text)
        return qt_fail(e, "out of memory");
    snprintf(text, strlen(mb->no_answer) + 2, "%s%s", space ? " " : "", mb->no_answer);
    qt_encoding enc;
    qt_encoding_init(&enc);
    int rc = encode(mb, text, &enc, e);
    free(text);
    *lp = 0;
    qt_mamba_save_state(mb, 1);
    for (size_t i = 0; rc == 0 && i < enc.n; i++) {
        *lp += qt_mamba_log_softmax_at(mb->logits, mb->vocab, enc.ids[i]);
        if (i + 1 < enc.n)
            rc = qt_mamba_step(m, enc.ids[i], e);
    }
    qt_encoding_free(&enc);
    return rc;
}

static int answer_generative(qt_model *m, const char *question, const char *context, qt_qa_answer *out,
                             qt_err *e)
{
    qt_mamba *mb = m->impl;
    char *prompt = fill_prompt(mb->prompt, question, context);
    int32_t *gen = malloc(sizeof *gen * mb->max_new);
    float *first_logits = malloc(sizeof *first_logits * mb->vocab);
    qt_encoding pe;
    qt_encoding_init(&pe);
    int n_gen = 0, rc = -1;
    double lp = 0, lp_na = 0;
    if (!prompt || !gen || !first_logits) {
        qt_fail(e, "out of memory");
        goto done;
    }
    if (encode(mb, prompt, &pe, e) || qt_mamba_prefill(m, pe.ids, (int)pe.n, e))
        goto done;
    qt_mamba_save_state(mb, 0);
    memcpy(first_logits, mb->logits, sizeof *first_logits * mb->vocab);
    if (qt_mamba_greedy(m, mb->max_new, -1, gen, &n_gen, &lp, e))
        goto done;
    if (!(out->text = ids_text(mb, gen, n_gen))) {
        qt_fail(e, "out of memory");
        goto done;
    }
    int none = is_no_answer(mb, out->text, e);
    if (none < 0)
        goto done;
    out->has_answer = !none;
    out->score = n_gen ? lp / n_gen : 0;
    out->confidence = exp(out->score);
    memcpy(mb->logits, first_logits, sizeof *first_logits * mb->vocab);
    if (no_answer_logprob(m, prompt, &lp_na, e))
        goto done;
    out->no_answer_prob = exp(lp_na);
    /* no score margin in generative mode: the log-odds of answering */
    out->margin = lp_na < 0 ? log(-expm1(lp_na)) - lp_na : -INFINITY;

    if (none) {
        /* the best real answer: greedy again, not starting as before */
        free(out->text);
        out->text = NULL;
        qt_mamba_save_state(mb, 1);
        memcpy(mb->logits, first_logits, sizeof *first_logits * mb->vocab);
        int32_t banned = n_gen ? gen[0] : -1;
        if (qt_mamba_greedy(m, mb->max_new, banned < 0 ? mb->eos_id : banned, gen, &n_gen, &lp, e))
            goto done;
        if (!(out->best_text = ids_text(mb, gen, n_gen)))
            goto done;
        if (is_no_answer(mb, out->best_text, e))
            out->best_text[0] = 0;
        out->text = strdup("");
    } else {
        out->best_text = strdup(out->text);
    }
    if (!out->text || !out->best_text) {
        qt_fail(e, "out of memory");
        goto done;
    }
    long bs, be;
    set_span(context, out->best_text, &bs, &be, &out->best_char_start, &out->best_char_end);
    if (out->has_answer)
        set_span(context, out->text, &out->byte_start, &out->byte_end, &out->char_start, &out->char_end);
    else
        out->byte_start = out->byte_end = out->char_start = out->char_end = -1;
    rc = 0;
done:
    qt_encoding_free(&pe);
    free(prompt);
    free(gen);
    free(first_logits);
    return rc;
}

int qt_mamba_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e)
{
    qt_mamba *mb = m->impl;
    int rc = mb->span_mode ? answer_span(m, question, context, out, e)
                           : answer_generative(m, question, context, out, e);
    if (rc) {
        free(out->text);
        free(out->best_text);
        out->text = out->best_text = NULL;
    }
    return rc;
}
