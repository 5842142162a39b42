/* SQuAD 2.0 span decoding: window planning, per-window candidates, merging
 * with the null rule, token -> character offsets. See decode.h for the rules
 * and where they come from. */
#include "qa/decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

const qt_qa_layout qt_qa_layout_bert = {.n_before = 1, .n_between = 1, .n_after = 1, .null_pos = 0};
const qt_qa_layout qt_qa_layout_roberta = {.n_before = 1, .n_between = 2, .n_after = 1, .null_pos = 0};

void qt_qa_window_opts_default(qt_qa_window_opts *o, const qt_qa_layout *layout)
{
    o->max_seq_len = QT_QA_MAX_SEQ_LEN;
    o->doc_stride = QT_QA_DOC_STRIDE;
    o->max_question_len = QT_QA_MAX_QUESTION_LEN;
    o->layout = layout ? *layout : qt_qa_layout_bert;
}

void qt_qa_decode_opts_default(qt_qa_decode_opts *o)
{
    o->n_best = QT_QA_N_BEST;
    o->max_answer_len = QT_QA_MAX_ANSWER_LEN;
    o->topk_all_positions = 0;
    o->null_threshold = 0.0;
}

int qt_qa_null_threshold_from_config(const cJSON *config, const char *name, double *out, qt_err *e)
{
    qt_err local;
    local.msg[0] = 0;
    const cJSON *t = qt_json_opt(config, "qaterm_null_threshold", cJSON_Number, name, "$", &local);
    if (!t) {
        if (!local.msg[0])
            return 0;
        return qt_fail(e, "%s", local.msg);
    }
    if (!isfinite(t->valuedouble))
        return qt_fail(e, "%s: at $.qaterm_null_threshold: not a finite number", name);
    *out = t->valuedouble;
    return 0;
}

/* ---- 1. window planning ------------------------------------------------ */

int qt_qa_plan_windows(int n_question, int n_context, const qt_qa_window_opts *o, qt_qa_plan *out,
                       qt_err *e)
{
    memset(out, 0, sizeof *out);
    const qt_qa_layout *l = &o->layout;
    if (n_question < 0 || n_context < 0)
        return qt_fail(e, "window planning: negative token count (question %d, context %d)",
                       n_question, n_context);
    if (l->n_before < 0 || l->n_between < 0 || l->n_after < 0 || o->doc_stride < 0)
        return qt_fail(e, "window planning: negative special-token count or stride");
    if (l->null_pos >= l->n_before)
        return qt_fail(e, "window planning: null position %d is not one of the %d leading specials",
                       l->null_pos, l->n_before);

    int n_q = n_question;
    if (o->max_question_len > 0 && n_q > o->max_question_len)
        n_q = o->max_question_len;
    int specials = l->n_before + l->n_between + l->n_after;
    int budget = o->max_seq_len - specials - n_q;
    if (budget <= 0)
        return qt_fail(e, "window planning: %d question tokens and %d specials leave no room for "
                       "context in %d positions", n_q, specials, o->max_seq_len);
    /* The tokenizers library steps by (room - stride); a step of 0 or less
     * would never advance, so it refuses, and so do we. */
    if (n_context > budget && o->doc_stride >= budget)
        return qt_fail(e, "window planning: overlap %d must be smaller than the %d context tokens "
                       "a window holds", o->doc_stride, budget);

    int step = budget - o->doc_stride;
    int n_windows = n_context <= budget ? 1 : 1 + (n_context - budget + step - 1) / step;
    out->windows = calloc((size_t)n_windows, sizeof *out->windows);
    if (!out->windows)
        return qt_fail(e, "window planning: out of memory for %d windows", n_windows);

    int w = 0, start = 0;
    for (;;) {
        int stop = start + budget < n_context ? start + budget : n_context;
        out->windows[w].ctx_start = start;
        out->windows[w].ctx_end = stop;
        w++;
        if (stop == n_context)
            break;
        start += step;
    }
    out->layout = *l;
    out->n_question = n_q;
    out->n_context = n_context;
    out->ctx_budget = budget;
    out->ctx_pos = l->n_before + n_q + l->n_between;
    out->n_windows = w;
    return 0;
}

void qt_qa_plan_free(qt_qa_plan *p)
{
    free(p->windows);
    memset(p, 0, sizeof *p);
}

int qt_qa_window_len(const qt_qa_plan *p, int w)
{
    const qt_qa_window *win = &p->windows[w];
    return p->ctx_pos + (win->ctx_end - win->ctx_start) + p->layout.n_after;
}

void qt_qa_window_ctx_index(const qt_qa_plan *p, int w, int *pos_to_ctx, int len)
{
    const qt_qa_window *win = &p->windows[w];
    for (int i = 0; i < len; i++) {
        int k = i - p->ctx_pos;
        pos_to_ctx[i] = k >= 0 && k < win->ctx_end - win->ctx_start ? win->ctx_start + k : -1;
    }
}

/* ---- 2. per-window candidates ------------------------------------------ */

void qt_qa_decoder_init(qt_qa_decoder *d, const qt_qa_decode_opts *o)
{
    memset(d, 0, sizeof *d);
    if (o)
        d->opts = *o;
    else
        qt_qa_decode_opts_default(&d->opts);
    d->null_score = -INFINITY;
    d->null_window = -1;
}

void qt_qa_decoder_free(qt_qa_decoder *d)
{
    free(d->spans);
    d->spans = NULL;
    d->n_spans = d->cap_spans = 0;
}

static int ctx_at(const int *pos_to_ctx, int i)
{
    return pos_to_ctx ? pos_to_ctx[i] : i;
}

/* Indices of the k highest logits (among context positions unless
 * all_positions), highest first; ties go to the earlier position. */
static int top_positions(const float *logits, const int *pos_to_ctx, int len, int all_positions,
                         int k, int *top)
{
    int n = 0;
    for (int i = 0; i < len; i++) {
        if (!all_positions && ctx_at(pos_to_ctx, i) < 0)
            continue;
        if (n == k && !(logits[i] > logits[top[n - 1]]))
            continue;
        int j = n < k ? n++ : n - 1;
        while (j > 0 && logits[i] > logits[top[j - 1]]) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return n;
}

static int push_span(qt_qa_decoder *d, const qt_qa_span *s, qt_err *e)
{
    if (d->n_spans == d->cap_spans) {
        int cap = d->cap_spans ? 2 * d->cap_spans : 256;
        qt_qa_span *grown = realloc(d->spans, (size_t)cap * sizeof *grown);
        if (!grown)
            return qt_fail(e, "decoding: out of memory for %d candidate spans", cap);
        d->spans = grown;
        d->cap_spans = cap;
    }
    d->spans[d->n_spans++] = *s;
    return 0;
}

/* Checks what the window promises: finite logits, context positions that
 * hold consecutive increasing token indices (so that lengths and order in
 * tokens are the same as in positions). */
static int check_window(const qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                        const int *pos_to_ctx, int len, qt_err *e)
{
    int w = d->n_windows, prev_pos = -1, prev_ctx = -1;
    for (int i = 0; i < len; i++) {
        if (isnan(start_logits[i]) || isnan(end_logits[i]))
            return qt_fail(e, "decoding: window %d: %s logit at position %d is NaN", w,
                           isnan(start_logits[i]) ? "start" : "end", i);
        int c = ctx_at(pos_to_ctx, i);
        if (c < 0)
            continue;
        if (prev_pos >= 0 && (i != prev_pos + 1 || c != prev_ctx + 1))
            return qt_fail(e, "decoding: window %d: position %d holds context token %d after "
                           "position %d held token %d; context positions must be consecutive",
                           w, i, c, prev_pos, prev_ctx);
        prev_pos = i;
        prev_ctx = c;
    }
    return 0;
}

static int add_scores(qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                      const int *pos_to_ctx, int len, int has_null, double null_score, qt_err *e)
{
    const qt_qa_decode_opts *o = &d->opts;
    if (o->n_best < 1 || o->max_answer_len < 1)
        return qt_fail(e, "decoding: n_best (%d) and max_answer_len (%d) must be at least 1",
                       o->n_best, o->max_answer_len);
    if (len < 0)
        return qt_fail(e, "decoding: window %d: negative length %d", d->n_windows, len);
    if (check_window(d, start_logits, end_logits, pos_to_ctx, len, e) < 0)
        return -1;

    if (has_null && (!d->has_null || null_score < d->null_score)) {
        d->has_null = 1;
        d->null_score = null_score;
        d->null_window = d->n_windows;
    }

    int *starts = malloc(2 * (size_t)o->n_best * sizeof *starts);
    if (!starts)
        return qt_fail(e, "decoding: out of memory");
    int *ends = starts + o->n_best;
    int n_s = top_positions(start_logits, pos_to_ctx, len, o->topk_all_positions, o->n_best, starts);
    int n_e = top_positions(end_logits, pos_to_ctx, len, o->topk_all_positions, o->n_best, ends);

    int rc = 0;
    for (int a = 0; a < n_s && rc == 0; a++) {
        int cs = ctx_at(pos_to_ctx, starts[a]);
        if (cs < 0)
            continue;
        for (int b = 0; b < n_e && rc == 0; b++) {
            int ce = ctx_at(pos_to_ctx, ends[b]);
            if (ce < 0 || ce < cs || ce - cs + 1 > o->max_answer_len)
                continue;
            qt_qa_span s = {
                .tok_start = cs,
                .tok_end = ce,
                .start_logit = start_logits[starts[a]],
                .end_logit = end_logits[ends[b]],
                .score = (double)start_logits[starts[a]] + (double)end_logits[ends[b]],
                .window = d->n_windows,
            };
            rc = push_span(d, &s, e);
        }
    }
    free(starts);
    if (rc == 0)
        d->n_windows++;
    return rc;
}

int qt_qa_decoder_add_window(qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                             const int *pos_to_ctx, int len, int null_pos, qt_err *e)
{
    if (null_pos >= len || (null_pos >= 0 && ctx_at(pos_to_ctx, null_pos) >= 0))
        return qt_fail(e, "decoding: window %d: null position %d is not a special token of the "
                       "%d positions", d->n_windows, null_pos, len);
    double null_score = null_pos >= 0 ? (double)start_logits[null_pos] + end_logits[null_pos] : 0;
    return add_scores(d, start_logits, end_logits, pos_to_ctx, len, null_pos >= 0, null_score, e);
}

int qt_qa_decoder_add_plain(qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                            int n_ctx, const float *null_logits, qt_err *e)
{
    if (null_logits && (isnan(null_logits[0]) || isnan(null_logits[1])))
        return qt_fail(e, "decoding: window %d: null logits are NaN", d->n_windows);
    double null_score = null_logits ? (double)null_logits[0] + null_logits[1] : 0;
    return add_scores(d, start_logits, end_logits, NULL, n_ctx, null_logits != NULL, null_score, e);
}

/* ---- 3./4. merging, null rule, offsets --------------------------------- */

static int by_score_desc(const void *pa, const void *pb)
{
    const qt_qa_span *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->window != b->window)
        return a->window < b->window ? -1 : 1;
    if (a->tok_start != b->tok_start)
        return a->tok_start < b->tok_start ? -1 : 1;
    return (a->tok_end > b->tok_end) - (a->tok_end < b->tok_end);
}

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Code points in s[0, byte). */
static long char_index(const char *s, size_t byte)
{
    long n = 0;
    for (size_t i = 0; i < byte; i++)
        n += !is_continuation((unsigned char)s[i]);
    return n;
}

static int make_answer(const qt_qa_span *s, const char *context, size_t context_len,
                       const qt_qa_offset *offs, int n_ctx_tokens, qt_qa_decoded_span *a, qt_err *e)
{
    memset(a, 0, sizeof *a);
    if (s->tok_start >= n_ctx_tokens || s->tok_end >= n_ctx_tokens)
        return qt_fail(e, "decoding: window %d: span ends at context token %d but the context has "
                       "%d tokens", s->window, s->tok_end, n_ctx_tokens);
    size_t b0 = offs[s->tok_start].start, b1 = offs[s->tok_end].end;
    if (b0 > b1 || b1 > context_len)
        return qt_fail(e, "decoding: context tokens %d..%d have byte offsets %zu..%zu outside the "
                       "%zu-byte context", s->tok_start, s->tok_end, b0, b1, context_len);
    /* A byte-level token may stop inside a character: keep whole characters. */
    while (b0 > 0 && b0 < context_len && is_continuation((unsigned char)context[b0]))
        b0--;
    while (b1 < context_len && is_continuation((unsigned char)context[b1]))
        b1++;
    a->text = strndup(context + b0, b1 - b0);
    if (!a->text)
        return qt_fail(e, "decoding: out of memory for an answer of %zu bytes", b1 - b0);
    a->start_byte = b0;
    a->end_byte = b1;
    a->start_char = char_index(context, b0);
    a->end_char = a->start_char + char_index(context + b0, b1 - b0);
    a->tok_start = s->tok_start;
    a->tok_end = s->tok_end;
    a->start_logit = s->start_logit;
    a->end_logit = s->end_logit;
    a->score = s->score;
    a->window = s->window;
    return 0;
}

static double sigmoid(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double z = exp(x);
    return z / (1.0 + z);
}

int qt_qa_decoder_finish(const qt_qa_decoder *d, const char *context, size_t context_len,
                         const qt_qa_offset *tok_offsets, int n_ctx_tokens, qt_qa_result *out,
                         qt_err *e)
{
    memset(out, 0, sizeof *out);
    out->null_score = d->has_null ? d->null_score : -INFINITY;
    out->null_window = d->has_null ? d->null_window : -1;
    out->margin = -INFINITY;
    out->no_answer_prob = 1.0;
    if (d->n_spans == 0)
        return 0;

    qt_qa_span *sorted = malloc((size_t)d->n_spans * sizeof *sorted);
    out->nbest = calloc((size_t)d->opts.n_best, sizeof *out->nbest);
    if (!sorted || !out->nbest) {
        free(sorted);
        qt_qa_result_free(out);
        return qt_fail(e, "decoding: out of memory for %d candidate spans", d->n_spans);
    }
    memcpy(sorted, d->spans, (size_t)d->n_spans * sizeof *sorted);
    qsort(sorted, (size_t)d->n_spans, sizeof *sorted, by_score_desc);

    /* The same span seen by overlapping windows appears once, at its best
     * score (the list is sorted, so the first sighting wins). */
    for (int i = 0; i < d->n_spans && out->n_nbest < d->opts.n_best; i++) {
        qt_qa_decoded_span a;
        if (make_answer(&sorted[i], context, context_len, tok_offsets, n_ctx_tokens, &a, e) < 0) {
            free(sorted);
            qt_qa_result_free(out);
            return -1;
        }
        int seen = 0;
        for (int j = 0; j < out->n_nbest && !seen; j++)
            seen = out->nbest[j].start_byte == a.start_byte && out->nbest[j].end_byte == a.end_byte;
        if (seen)
            free(a.text);
        else
            out->nbest[out->n_nbest++] = a;
    }
    free(sorted);

    out->has_best = 1;
    out->best = out->nbest[0];
    out->best.text = strdup(out->nbest[0].text);
    if (!out->best.text) {
        qt_qa_result_free(out);
        return qt_fail(e, "decoding: out of memory");
    }
    out->margin = out->best.score - out->null_score;
    out->answered = out->margin > d->opts.null_threshold;
    out->no_answer_prob = d->has_null ? sigmoid(d->opts.null_threshold - out->margin) : 0.0;
    return 0;
}

int qt_qa_decode_plain(const float *start_logits, const float *end_logits, int n_ctx,
                       const float *null_logits, const char *context, size_t context_len,
                       const qt_qa_offset *tok_offsets, const qt_qa_decode_opts *o,
                       qt_qa_result *out, qt_err *e)
{
    qt_qa_decoder d;
    qt_qa_decoder_init(&d, o);
    int rc = qt_qa_decoder_add_plain(&d, start_logits, end_logits, n_ctx, null_logits, e);
    if (rc == 0)
        rc = qt_qa_decoder_finish(&d, context, context_len, tok_offsets, n_ctx, out, e);
    else
        memset(out, 0, sizeof *out);
    qt_qa_decoder_free(&d);
    return rc;
}

void qt_qa_result_free(qt_qa_result *r)
{
    for (int i = 0; i < r->n_nbest; i++)
        free(r->nbest[i].text);
    free(r->nbest);
    free(r->best.text);
    memset(r, 0, sizeof *r);
}

const char *qt_qa_result_text(const qt_qa_result *r, int always_answer)
{
    if (r->has_best && (r->answered || always_answer))
        return r->best.text;
    return "";
}
