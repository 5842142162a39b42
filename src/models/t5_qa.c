/* Question answering with T5: the model reads "question: Q context: C"
 * (config.json's qaterm_prompt) and writes the answer.
 *
 *   - The prompt is tokenized whole (as Hugging Face would) and cut by the
 *     tokens' offsets into the part before the context, the context and the
 *     part after it. A context too long for one encoder window (qaterm_max_
 *     input_tokens, 512) is read in windows that overlap by qaterm_doc_stride
 *     (128) context tokens; each window is  before + context slice + after
 *     + </s>.
 *   - Each window is decoded greedily (at most 32 tokens, until </s>). Its
 *     output means "no answer" when, SQuAD-normalized, it is empty or equals
 *     the no-answer string (qaterm_no_answer, "unanswerable"). Each window
 *     also scores the no-answer string under teacher forcing.
 *   - The answer is the real answer with the highest mean log-probability
 *     over all windows. Its no-answer probability compares the two scores of
 *     its window: p = e^na / (e^na + e^ans). When every window says "no
 *     answer", the window least sure of that is decoded again with </s> and
 *     the no-answer string's first token banned at the first step, giving
 *     the best real answer (best_text) and p = e^na / (e^na + e^best).
 *   - With qaterm_null_threshold in config.json (written by `qaterm train`
 *     or `tune-threshold`), the best real answer and the no-answer string
 *     are weighed instead: answered when log((1 - p) / p) = ans - na exceeds
 *     the threshold, whatever the greedy output was. A small model trained
 *     with many unanswerable examples greedily says "unanswerable" far too
 *     often; its scores still rank the questions (the AUROC), so a tuned
 *     threshold recovers the answers.
 *   - The answer's place in the context is found by searching for its text:
 *     exactly, then ignoring case and runs of spaces, then as SQuAD-
 *     normalized words; the reported text is then the context's own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "models/t5_internal.h"
#include "qa/normalize.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static char *xstrndup(const char *s, size_t n, qt_err *e)
{
    char *d = malloc(n + 1);
    if (!d) {
        qt_fail(e, "out of memory");
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* ---- where the answer is in the context ---- */

static int is_ws(uint32_t c)
{
    return qt_py_isspace(c);
}

/* A text folded for matching: lower case, whitespace runs as one space; each
 * folded byte remembers the original bytes of its character. */
typedef struct folded {
    char *s;
    long *from, *to;
    size_t len;
} folded;

static void folded_free(folded *f)
{
    free(f->s);
    free(f->from);
    free(f->to);
}

static int fold(const char *text, size_t len, folded *f)
{
    size_t cap = len * 4 + 4;
    f->s = malloc(cap);
    f->from = malloc(cap * sizeof *f->from);
    f->to = malloc(cap * sizeof *f->to);
    f->len = 0;
    if (!f->s || !f->from || !f->to)
        return -1;
    int in_ws = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) { /* not UTF-8: keep the byte */
            cp = (unsigned char)text[i];
            n = 1;
        }
        if (is_ws((uint32_t)cp)) {
            if (!in_ws) {
                f->s[f->len] = ' ';
                f->from[f->len] = (long)i;
                f->to[f->len++] = (long)(i + (size_t)n);
            } else {
                f->to[f->len - 1] = (long)(i + (size_t)n);
            }
            in_ws = 1;
        } else {
            utf8proc_uint8_t buf[4];
            utf8proc_ssize_t w = utf8proc_encode_char(utf8proc_tolower(cp), buf);
            for (utf8proc_ssize_t k = 0; k < w; k++) {
                f->s[f->len] = (char)buf[k];
                f->from[f->len] = (long)i;
                f->to[f->len++] = (long)(i + (size_t)n);
            }
            in_ws = 0;
        }
        i += (size_t)n;
    }
    return 0;
}

static int locate_folded(const char *context, const char *text, size_t tlen, long *start, long *end)
{
    folded c = {0}, t = {0};
    int found = 0;
    if (fold(context, strlen(context), &c) == 0 && fold(text, tlen, &t) == 0 && t.len > 0) {
        const char *hit = memmem(c.s, c.len, t.s, t.len);
        if (hit) {
            size_t p = (size_t)(hit - c.s);
            *start = c.from[p];
            *end = c.to[p + t.len - 1];
            found = 1;
        }
    }
    folded_free(&c);
    folded_free(&t);
    return found;
}

/* The shortest run of whole words, leftmost first, whose SQuAD
 * normalization equals the text's. */
static int locate_words(const char *context, const char *text, long *start, long *end)
{
    char *target = qt_squad_normalize(text);
    if (!target || !*target) {
        free(target);
        return 0;
    }
    size_t words_in_text = 1;
    for (const char *p = target; *p; p++)
        words_in_text += *p == ' ';
    size_t len = strlen(context), nw = 0, cap = 64;
    long *ws = malloc(cap * sizeof *ws), *we = malloc(cap * sizeof *we);
    int found = 0;
    for (size_t i = 0; ws && we && i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)context + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            n = 1, cp = 0;
        if (is_ws((uint32_t)cp)) {
            i += (size_t)n;
            continue;
        }
        if (nw == cap) {
            cap *= 2;
            long *a = realloc(ws, cap * sizeof *ws), *b = a ? realloc(we, cap * sizeof *we) : NULL;
            if (!a || !b) {
                ws = a ? a : ws;
                break;
            }
            ws = a;
            we = b;
        }
        ws[nw] = (long)i;
        while (i < len) {
            n = utf8proc_iterate((const utf8proc_uint8_t *)context + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0)
                n = 1, cp = 0;
            if (is_ws((uint32_t)cp))
                break;
            i += (size_t)n;
        }
        we[nw++] = (long)i;
    }
    size_t span = words_in_text + 3;
    /* a span neither starts nor ends with a word that normalizes away
     * (an article, punctuation) */
    char *bare = ws && we && nw * span < 400000 ? calloc(nw ? nw : 1, 1) : NULL;
    for (size_t i = 0; bare && i < nw; i++) {
        char *w = xstrndup(context + ws[i], (size_t)(we[i] - ws[i]), NULL);
        char *norm = w ? qt_squad_normalize(w) : NULL;
        bare[i] = !norm || !*norm;
        free(norm);
        free(w);
    }
    if (bare) {
        for (size_t i = 0; i < nw && !found; i++)
            for (size_t j = i; j < nw && j < i + span && !found && !bare[i]; j++) {
                if (bare[j])
                    continue;
                char *cand = xstrndup(context + ws[i], (size_t)(we[j] - ws[i]), NULL);
                char *norm = cand ? qt_squad_normalize(cand) : NULL;
                if (norm && strcmp(norm, target) == 0) {
                    *start = ws[i];
                    *end = we[j];
                    found = 1;
                }
                free(norm);
                free(cand);
            }
    }
    free(bare);
    free(ws);
    free(we);
    free(target);
    return found;
}

void qt_t5_locate(const char *context, const char *text, long *start, long *end)
{
    *start = *end = -1;
    size_t a = 0, b = strlen(text);
    while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\n' || text[a] == '\r'))
        a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\n' || text[b - 1] == '\r'))
        b--;
    if (a == b)
        return;
    const char *hit = memmem(context, strlen(context), text + a, b - a);
    if (hit) {
        *start = (long)(hit - context);
        *end = *start + (long)(b - a);
        return;
    }
    if (locate_folded(context, text + a, b - a, start, end))
        return;
    char *t = xstrndup(text + a, b - a, NULL);
    if (t && !locate_words(context, t, start, end))
        *start = *end = -1;
    free(t);
}

static long char_index(const char *s, long byte)
{
    long n = 0;
    for (long i = 0; i < byte; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* ---- the prompt and its windows ---- */

/* tmpl with {question} replaced, the part before {context} and after. */
static char *fill(const char *tmpl, size_t len, const char *question, qt_err *e)
{
    size_t qlen = strlen(question), n = 0;
    for (const char *p = tmpl; (p = memmem(p, len - (size_t)(p - tmpl), "{question}", 10)); p += 10)
        n++;
    char *out = malloc(len + n * qlen + 1);
    if (!out) {
        qt_fail(e, "out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (len - i >= 10 && memcmp(tmpl + i, "{question}", 10) == 0) {
            memcpy(out + o, question, qlen);
            o += qlen;
            i += 10;
        } else {
            out[o++] = tmpl[i++];
        }
    }
    out[o] = 0;
    return out;
}

typedef struct window_result {
    int32_t gen[64];
    int n_gen;
    double score, na_score;
    char *text;
    int is_na;
} window_result;

static int decode_text(qt_t5 *t, const int32_t *ids, int n, char **out, qt_err *e)
{
    if (qt_tokenizer_decode(t->tok, ids, (size_t)n, 1, out, e) != 0)
        return qt_fail_prefix(e, "T5: decoding the answer");
    return 0;
}

static int is_no_answer(const qt_t5 *t, const char *text)
{
    char *norm = qt_squad_normalize(text);
    int na = !norm || !*norm || strcmp(norm, t->no_answer_norm) == 0;
    free(norm);
    return na;
}

/* Encoder input of window [s, end) of the context tokens. */
static int window_ids(qt_t5 *t, const qt_encoding *enc, int a, int b, int s, int end, int32_t *ids)
{
    int n = 0;
    for (int i = 0; i < a; i++)
        ids[n++] = enc->ids[i];
    for (int i = a + s; i < a + end; i++)
        ids[n++] = enc->ids[i];
    for (int i = b; i < (int)enc->n; i++)
        ids[n++] = enc->ids[i];
    ids[n++] = t->c.eos_id;
    return n;
}

static void set_span(const char *context, const char *text, long *cs, long *ce, long *bs, long *be, char **shown)
{
    long s, en;
    qt_t5_locate(context, text, &s, &en);
    if (s < 0) {
        *cs = *ce = -1;
        if (bs)
            *bs = *be = -1;
        return;
    }
    *cs = char_index(context, s);
    *ce = *cs + char_index(context + s, en - s);
    if (bs) {
        *bs = s;
        *be = en;
    }
    char *own = xstrndup(context + s, (size_t)(en - s), NULL);
    if (own) {
        free(*shown);
        *shown = own;
    }
}

/* The tuned decision (see the top): answer when ans - na > threshold; the
 * no-answer probability is 0.5 at that boundary. The best real answer is
 * already in best_text. */
static void apply_threshold(const qt_t5 *t, const char *context, qt_qa_answer *out, double na, double ans)
{
    int answer = ans - na > t->null_threshold;
    out->no_answer_prob = 1.0 / (1.0 + exp((ans - na) - t->null_threshold));
    out->confidence = out->has_answer ? 1.0 - out->no_answer_prob : out->no_answer_prob;
    if (answer == out->has_answer)
        return;
    char *shown = strdup(answer ? out->best_text : "");
    if (!shown)
        return; /* out of memory: the greedy decision stands */
    free(out->text);
    out->text = shown;
    out->has_answer = answer;
    out->score = answer ? ans : na;
    out->confidence = answer ? 1.0 - out->no_answer_prob : out->no_answer_prob;
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    if (answer)
        set_span(context, out->text, &out->char_start, &out->char_end, &out->byte_start, &out->byte_end, &out->text);
}

int qt_t5_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e)
{
    qt_t5 *t = m->impl;
    t->cancel = m->cancel;
    const char *mark = strstr(t->prompt, "{context}");
    char *before = fill(t->prompt, (size_t)(mark - t->prompt), question, e);
    char *after = before ? fill(mark + 9, strlen(mark + 9), question, e) : NULL;
    size_t lb = before ? strlen(before) : 0, lc = strlen(context), la = after ? strlen(after) : 0;
    char *prompt = after ? malloc(lb + lc + la + 1) : NULL;
    qt_encoding enc;
    qt_encoding_init(&enc);
    window_result *wr = NULL;
    int32_t *ids = NULL;
    int n_windows = 0, rc = -1;
    if (!prompt) {
        if (after)
            qt_fail(e, "out of memory");
        goto done;
    }
    memcpy(prompt, before, lb);
    memcpy(prompt + lb, context, lc);
    memcpy(prompt + lb + lc, after, la + 1);
    if (qt_tokenizer_encode(t->tok, prompt, lb + lc + la, &enc, e) != 0) {
        qt_fail_prefix(e, "T5: tokenizing the question and context");
        goto done;
    }
    /* tokens that end before the context / start after it */
    int a = 0, b;
    while (a < (int)enc.n && enc.bytes[a].end <= (int32_t)lb)
        a++;
    b = a;
    while (b < (int)enc.n && enc.bytes[b].start < (int32_t)(lb + lc))
        b++;
    int fixed = a + ((int)enc.n - b) + 1, nc = b - a;
    int budget = t->max_enc - fixed;
    if (budget < 8) {
        qt_fail(e, "T5: the question takes %d of the %d input tokens, leaving no room for the context", fixed,
                t->max_enc);
        goto done;
    }
    int stride = t->doc_stride < budget / 2 ? t->doc_stride : budget / 2;
    int starts[4096];
    for (int s = 0;; s += budget - stride) {
        if (n_windows == (int)(sizeof starts / sizeof *starts)) {
            qt_fail(e, "T5: the context needs more than %d windows", n_windows);
            goto done;
        }
        starts[n_windows++] = s;
        if (s + budget >= nc)
            break;
    }
    wr = calloc((size_t)n_windows, sizeof *wr);
    ids = malloc((size_t)t->max_enc * sizeof *ids);
    if (!wr || !ids) {
        qt_fail(e, "out of memory");
        goto done;
    }
    int max_new = t->max_new < 64 ? t->max_new : 64;
    for (int w = 0; w < n_windows; w++) {
        int s = starts[w], end = s + budget < nc ? s + budget : nc;
        int n = window_ids(t, &enc, a, b, s, end, ids);
        double t0 = now_ms();
        if (qt_t5_encode(t, ids, n, e) != 0)
            goto done;
        double t1 = now_ms();
        if (qt_t5_greedy(t, max_new, -1, -1, 1, wr[w].gen, &wr[w].n_gen, &wr[w].score, e) != 0)
            goto done;
        double t2 = now_ms();
        if (qt_t5_score(t, t->na_ids, t->n_na, &wr[w].na_score, e) != 0 ||
            decode_text(t, wr[w].gen, wr[w].n_gen, &wr[w].text, e) != 0)
            goto done;
        wr[w].is_na = is_no_answer(t, wr[w].text);
        if (t->stats)
            fprintf(stderr,
                    "t5: window %d/%d: %d encoder tokens in %.1f ms; %d tokens generated in %.1f ms (%.2f ms/token, "
                    "cache %s); \"%.60s\" mean log-prob %.3f, no-answer %.3f\n",
                    w + 1, n_windows, n, t1 - t0, wr[w].n_gen, t2 - t1, wr[w].n_gen ? (t2 - t1) / wr[w].n_gen : 0.0,
                    t->use_cache ? "on" : "off", wr[w].text, wr[w].score, wr[w].na_score);
    }

    int best = -1, least_na = 0;
    double out_score_na = 0, out_score_ans = 0;
    for (int w = 0; w < n_windows; w++) {
        if (!wr[w].is_na && (best < 0 || wr[w].score > wr[best].score))
            best = w;
        if (wr[w].na_score < wr[least_na].na_score)
            least_na = w;
    }
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    out->best_char_start = out->best_char_end = -1;
    if (best >= 0) {
        double d = wr[best].na_score - wr[best].score;
        out_score_na = wr[best].na_score;
        out_score_ans = wr[best].score;
        out->has_answer = 1;
        out->score = wr[best].score;
        out->no_answer_prob = 1.0 / (1.0 + exp(-d));
        out->margin = -d;
        out->confidence = 1.0 - out->no_answer_prob;
        out->text = xstrndup(wr[best].text, strlen(wr[best].text), e);
        if (!out->text)
            goto done;
        set_span(context, wr[best].text, &out->char_start, &out->char_end, &out->byte_start, &out->byte_end,
                 &out->text);
        out->best_text = xstrndup(out->text, strlen(out->text), e);
        out->best_char_start = out->char_start;
        out->best_char_end = out->char_end;
    } else {
        /* every window said "no answer": the best real answer anyway */
        int w = least_na, s = starts[w], end = s + budget < nc ? s + budget : nc;
        if (w != n_windows - 1) {
            int n = window_ids(t, &enc, a, b, s, end, ids);
            if (qt_t5_encode(t, ids, n, e) != 0)
                goto done;
        }
        int32_t gen[64];
        int n_gen;
        double sc;
        char *text = NULL;
        if (qt_t5_greedy(t, max_new, t->na_ids[0], t->c.eos_id, 1, gen, &n_gen, &sc, e) != 0 ||
            decode_text(t, gen, n_gen, &text, e) != 0)
            goto done;
        double d = wr[w].na_score - sc;
        out_score_na = wr[w].na_score;
        out_score_ans = sc;
        out->has_answer = 0;
        out->score = wr[w].na_score;
        out->no_answer_prob = 1.0 / (1.0 + exp(-d));
        out->margin = -d;
        out->confidence = out->no_answer_prob;
        out->text = xstrndup("", 0, e);
        out->best_text = text;
        set_span(context, text, &out->best_char_start, &out->best_char_end, NULL, NULL, &out->best_text);
    }
    if (out->text && out->best_text && t->has_null_threshold)
        apply_threshold(t, context, out, out_score_na, out_score_ans);
    rc = out->text && out->best_text ? 0 : qt_fail(e, "out of memory");
done:
    for (int w = 0; wr && w < n_windows; w++)
        free(wr[w].text);
    free(wr);
    free(ids);
    qt_encoding_free(&enc);
    free(prompt);
    free(before);
    free(after);
    return rc;
}
