/* qa/decode: window planning, candidates, merging, the null rule, offsets.
 * All logits are made by hand; expected values are derived in comments from
 * the rules in decode.h (tokenizers' overflow: windows of `budget` context
 * tokens starting every budget - stride tokens, stride = overlap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qa/decode.h"
#include "util/json.h"

#define LOW (-6.0f) /* logit for every position a test does not care about */
#define MAXPOS 512

typedef struct win {
    int len;
    float start[MAXPOS], end[MAXPOS];
    int ctx[MAXPOS];
} win;

static void win_init(win *b, const qt_qa_plan *p, int w, int len)
{
    assert_true(len <= MAXPOS);
    b->len = len;
    for (int i = 0; i < len; i++)
        b->start[i] = b->end[i] = LOW;
    qt_qa_window_ctx_index(p, w, b->ctx, len);
}

static int win_pos_of(const win *b, int tok)
{
    for (int i = 0; i < b->len; i++)
        if (b->ctx[i] == tok)
            return i;
    fail_msg("context token %d is not in this window", tok);
    return -1;
}

static void win_set(win *b, int tok, float s, float e)
{
    int i = win_pos_of(b, tok);
    b->start[i] = s;
    b->end[i] = e;
}

static void win_set_pos(win *b, int pos, float s, float e)
{
    b->start[pos] = s;
    b->end[pos] = e;
}

static void add(qt_qa_decoder *d, const win *b)
{
    qt_err e;
    int rc = qt_qa_decoder_add_window(d, b->start, b->end, b->ctx, b->len, 0, &e);
    if (rc != 0)
        fail_msg("%s", e.msg);
}

/* "a0 a1 a2 ..." with each word one token. */
static char *words_context(int n, qt_qa_offset *offs)
{
    char *s = malloc((size_t)n * 6 + 1);
    size_t len = 0;
    s[0] = 0;
    for (int i = 0; i < n; i++) {
        if (i)
            s[len++] = ' ';
        offs[i].start = len;
        len += (size_t)sprintf(s + len, "a%d", i);
        offs[i].end = len;
    }
    return s;
}

static void finish(const qt_qa_decoder *d, const char *ctx, const qt_qa_offset *offs, int n,
                   qt_qa_result *r)
{
    qt_err e;
    if (qt_qa_decoder_finish(d, ctx, strlen(ctx), offs, n, r, &e) != 0)
        fail_msg("%s", e.msg);
}

/* Decodes one or two windows (w1 may be NULL) in a fresh decoder. */
static void decode(const qt_qa_decode_opts *o, const win *w0, const win *w1, const char *ctx,
                   const qt_qa_offset *offs, int n, qt_qa_result *r)
{
    qt_qa_decoder d;
    qt_qa_decoder_init(&d, o);
    add(&d, w0);
    if (w1)
        add(&d, w1);
    finish(&d, ctx, offs, n, r);
    qt_qa_decoder_free(&d);
}

static const qt_qa_decoded_span *find_span(const qt_qa_result *r, int s, int e)
{
    for (int i = 0; i < r->n_nbest; i++)
        if (r->nbest[i].tok_start == s && r->nbest[i].tok_end == e)
            return &r->nbest[i];
    return NULL;
}

/* A small geometry that is easy to count by hand: BERT layout, 16
 * positions, overlap 4, question of 3 tokens.
 *   [CLS] q q q [SEP] c ... c [SEP]  -> ctx_pos = 1 + 3 + 1 = 5,
 *   budget = 16 - 3 specials - 3 = 10 context tokens, step = 10 - 4 = 6. */
static void small_plan(int n_ctx, qt_qa_plan *p)
{
    qt_qa_window_opts o;
    qt_qa_window_opts_default(&o, &qt_qa_layout_bert);
    o.max_seq_len = 16;
    o.doc_stride = 4;
    qt_err e;
    if (qt_qa_plan_windows(3, n_ctx, &o, p, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(p->ctx_budget, 10);
    assert_int_equal(p->ctx_pos, 5);
}

/* The small geometry over n_ctx words, with a buffer per window. */
typedef struct fx {
    qt_qa_plan p;
    qt_qa_offset offs[16];
    char *ctx;
    win w0, w1;
} fx;

static fx *fx_new(int n_ctx)
{
    fx *f = calloc(1, sizeof *f);
    small_plan(n_ctx, &f->p);
    f->ctx = words_context(n_ctx, f->offs);
    win_init(&f->w0, &f->p, 0, 16);
    if (f->p.n_windows > 1)
        win_init(&f->w1, &f->p, 1, 16);
    return f;
}

static void fx_free(fx *f)
{
    qt_qa_plan_free(&f->p);
    free(f->ctx);
    free(f);
}

static void plan_default(int n_q, int n_ctx, const qt_qa_layout *l, qt_qa_plan *p)
{
    qt_qa_window_opts o;
    qt_qa_window_opts_default(&o, l);
    qt_err e;
    if (qt_qa_plan_windows(n_q, n_ctx, &o, p, &e) != 0)
        fail_msg("%s", e.msg);
}

/* ---- window planning ---------------------------------------------------- */

static void plan_exactly_one_window(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* BERT, 10 question tokens: budget = 384 - 3 - 10 = 371. A context of
     * exactly 371 tokens fits: transformers gives one feature of 384 ids. */
    plan_default(10, 371, &qt_qa_layout_bert, &p);
    assert_int_equal(p.ctx_budget, 371);
    assert_int_equal(p.ctx_pos, 12); /* [CLS] + 10 + [SEP] */
    assert_int_equal(p.n_windows, 1);
    assert_int_equal(p.windows[0].ctx_start, 0);
    assert_int_equal(p.windows[0].ctx_end, 371);
    assert_int_equal(qt_qa_window_len(&p, 0), 384);
    qt_qa_plan_free(&p);

    /* A short context: one window, no padding counted. */
    plan_default(10, 50, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 1);
    assert_int_equal(qt_qa_window_len(&p, 0), 12 + 50 + 1);
    qt_qa_plan_free(&p);
}

static void plan_two_windows(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* 372 tokens = budget + 1: step = 371 - 128 = 243, so the second window
     * starts at 243 and ends at the last token; overlap 371 - 243 = 128. */
    plan_default(10, 372, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 2);
    assert_int_equal(p.windows[0].ctx_start, 0);
    assert_int_equal(p.windows[0].ctx_end, 371);
    assert_int_equal(p.windows[1].ctx_start, 243);
    assert_int_equal(p.windows[1].ctx_end, 372);
    assert_int_equal(p.windows[0].ctx_end - p.windows[1].ctx_start, 128);
    qt_qa_plan_free(&p);

    /* 243 + 371 = 614 is the longest context two windows cover... */
    plan_default(10, 614, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 2);
    assert_int_equal(p.windows[1].ctx_end, 614);
    assert_int_equal(qt_qa_window_len(&p, 1), 384);
    qt_qa_plan_free(&p);

    /* ...and 615 needs a third one starting at 2 * 243 = 486. */
    plan_default(10, 615, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 3);
    assert_int_equal(p.windows[2].ctx_start, 486);
    assert_int_equal(p.windows[2].ctx_end, 615);
    qt_qa_plan_free(&p);
}

static void plan_many_windows(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* 2000 tokens, BERT, 10 question tokens: budget 371, step 243,
     * windows = 1 + ceil((2000 - 371) / 243) = 1 + ceil(6.70) = 8, starting at
     * 0, 243, ..., 7 * 243 = 1701; the last one is [1701, 2000). Every
     * window but the last is full, so each consecutive overlap is 128. */
    plan_default(10, 2000, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 8);
    for (int w = 0; w < p.n_windows; w++) {
        assert_int_equal(p.windows[w].ctx_start, 243 * w);
        if (w + 1 < p.n_windows) {
            assert_int_equal(p.windows[w].ctx_end - p.windows[w].ctx_start, 371);
            assert_int_equal(p.windows[w].ctx_end - p.windows[w + 1].ctx_start, 128);
            assert_int_equal(qt_qa_window_len(&p, w), 384);
        }
    }
    assert_int_equal(p.windows[7].ctx_end, 2000);
    qt_qa_plan_free(&p);
}

static void plan_truncates_long_question(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* 100 question tokens keep the first 64. BERT: budget = 384 - 3 - 64 =
     * 317, ctx_pos = 1 + 64 + 1 = 66, step = 317 - 128 = 189; 1000 context
     * tokens: 1 + ceil(683 / 189) = 5 windows, the last [756, 1000). */
    plan_default(100, 1000, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_question, 64);
    assert_int_equal(p.ctx_budget, 317);
    assert_int_equal(p.ctx_pos, 66);
    assert_int_equal(p.n_windows, 5);
    assert_int_equal(p.windows[4].ctx_start, 756);
    assert_int_equal(p.windows[4].ctx_end, 1000);
    assert_int_equal(p.windows[3].ctx_end - p.windows[4].ctx_start, 128);
    qt_qa_plan_free(&p);

    /* RoBERTa <s> q </s></s> ctx </s>: budget = 384 - 4 - 64 = 316,
     * ctx_pos = 1 + 64 + 2 = 67, step 188: 1 + ceil(684 / 188) = 5 windows,
     * the last starting at 4 * 188 = 752. */
    plan_default(100, 1000, &qt_qa_layout_roberta, &p);
    assert_int_equal(p.ctx_budget, 316);
    assert_int_equal(p.ctx_pos, 67);
    assert_int_equal(p.n_windows, 5);
    assert_int_equal(p.windows[4].ctx_start, 752);
    qt_qa_plan_free(&p);

    /* 64 is kept whole, 65 loses one token. */
    plan_default(64, 10, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_question, 64);
    qt_qa_plan_free(&p);
    plan_default(65, 10, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_question, 64);
    qt_qa_plan_free(&p);
}

static void plan_empty_context(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* The tokenizer still yields one feature: [CLS] q [SEP] [SEP]. */
    plan_default(5, 0, &qt_qa_layout_bert, &p);
    assert_int_equal(p.n_windows, 1);
    assert_int_equal(p.windows[0].ctx_start, 0);
    assert_int_equal(p.windows[0].ctx_end, 0);
    assert_int_equal(qt_qa_window_len(&p, 0), 8);
    qt_qa_plan_free(&p);
}

static void plan_errors(void **state)
{
    (void)state;
    qt_qa_plan p;
    qt_err e;
    qt_qa_window_opts o;
    qt_qa_window_opts_default(&o, NULL);
    o.max_seq_len = 10;
    /* 10 - 3 specials - 7 question tokens = 0: no room for context. */
    assert_int_equal(qt_qa_plan_windows(7, 5, &o, &p, &e), -1);
    assert_non_null(strstr(e.msg, "no room"));

    /* budget 16 - 3 - 4 = 9 with overlap 9: cannot advance when splitting... */
    o.max_seq_len = 16;
    o.doc_stride = 9;
    assert_int_equal(qt_qa_plan_windows(4, 20, &o, &p, &e), -1);
    assert_non_null(strstr(e.msg, "overlap 9"));
    /* ...but a context that fits needs no split. */
    assert_int_equal(qt_qa_plan_windows(4, 9, &o, &p, &e), 0);
    assert_int_equal(p.n_windows, 1);
    qt_qa_plan_free(&p);
}

static void window_position_map(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* 14 tokens in the small geometry: windows [0,10) and [6,14). Window 1
     * is 5 + 8 + 1 = 14 positions; padded to 16. */
    small_plan(14, &p);
    assert_int_equal(p.n_windows, 2);
    assert_int_equal(p.windows[1].ctx_start, 6);
    assert_int_equal(p.windows[1].ctx_end, 14);
    assert_int_equal(qt_qa_window_len(&p, 1), 14);
    int map[16];
    qt_qa_window_ctx_index(&p, 1, map, 16);
    for (int i = 0; i < 5; i++)
        assert_int_equal(map[i], -1);
    for (int i = 5; i < 13; i++)
        assert_int_equal(map[i], 6 + (i - 5));
    for (int i = 13; i < 16; i++)
        assert_int_equal(map[i], -1);
    qt_qa_plan_free(&p);
}

/* ---- candidates in one window ------------------------------------------ */

static void best_span_in_one_window(void **state)
{
    (void)state;
    fx *f = fx_new(8);
    win_set_pos(&f->w0, 0, 1, 1); /* null = 2 */
    win_set(&f->w0, 2, 5, LOW);
    win_set(&f->w0, 4, LOW, 5);
    qt_qa_result r;
    decode(NULL, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_true(r.has_best);
    assert_true(r.answered);
    assert_int_equal(r.best.tok_start, 2);
    assert_int_equal(r.best.tok_end, 4);
    assert_string_equal(r.best.text, "a2 a3 a4");
    assert_int_equal(r.best.start_char, 6);
    assert_int_equal(r.best.end_char, 14);
    assert_true(r.best.score == 10.0);
    assert_true(r.null_score == 2.0);
    assert_true(r.margin == 8.0);
    assert_true(fabs(r.no_answer_prob - 1.0 / (1.0 + exp(8.0))) < 1e-12);
    assert_string_equal(qt_qa_result_text(&r, 0), "a2 a3 a4");
    /* The n-best list is sorted and holds distinct spans. */
    for (int i = 1; i < r.n_nbest; i++)
        assert_true(r.nbest[i - 1].score >= r.nbest[i].score);
    assert_int_equal(r.n_nbest, 20);
    qt_qa_result_free(&r);
    fx_free(f);
}

static void end_before_start_rejected(void **state)
{
    (void)state;
    fx *f = fx_new(8);
    /* starts: ctx5 = 8, ctx1 = 2; ends: ctx2 = 8, ctx6 = 1.
     * (5,2) would score 16 but ends first; valid: (1,2) = 10, (5,6) = 9. */
    win_set(&f->w0, 5, 8, LOW);
    win_set(&f->w0, 1, 2, LOW);
    win_set(&f->w0, 2, LOW, 8);
    win_set(&f->w0, 6, LOW, 1);
    qt_qa_result r;
    decode(NULL, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_int_equal(r.best.tok_start, 1);
    assert_int_equal(r.best.tok_end, 2);
    assert_true(r.best.score == 10.0);
    assert_non_null(find_span(&r, 5, 6));
    for (int i = 0; i < r.n_nbest; i++)
        assert_true(r.nbest[i].tok_end >= r.nbest[i].tok_start);
    assert_null(find_span(&r, 5, 2));
    qt_qa_result_free(&r);
    fx_free(f);
}

static void max_answer_length(void **state)
{
    (void)state;
    fx *f = fx_new(8);
    /* (0,3) = 18 is 4 tokens long; (0,2) = 13 is 3 tokens. */
    win_set(&f->w0, 0, 9, LOW);
    win_set(&f->w0, 3, LOW, 9);
    win_set(&f->w0, 2, LOW, 4);
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    assert_int_equal(o.max_answer_len, 30);
    assert_int_equal(o.n_best, 20);

    qt_qa_result r;
    o.max_answer_len = 3;
    decode(&o, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_int_equal(r.best.tok_start, 0);
    assert_int_equal(r.best.tok_end, 2);
    for (int i = 0; i < r.n_nbest; i++)
        assert_true(r.nbest[i].tok_end - r.nbest[i].tok_start + 1 <= 3);
    qt_qa_result_free(&r);

    o.max_answer_len = 4; /* exactly the span's length: allowed */
    decode(&o, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_int_equal(r.best.tok_end, 3);
    assert_true(r.best.score == 18.0);
    qt_qa_result_free(&r);
    fx_free(f);
}

static void question_specials_and_padding_rejected(void **state)
{
    (void)state;
    fx *f = fx_new(8);
    /* Positions: 0 [CLS], 1-3 question, 4 [SEP], 5-12 context, 13 [SEP],
     * 14-15 padding. Everything outside the context scores 20. */
    for (int i = 0; i < 16; i++)
        if (f->w0.ctx[i] < 0)
            win_set_pos(&f->w0, i, 20, 20);
    win_set(&f->w0, 3, 1, LOW);
    win_set(&f->w0, 4, LOW, 1);
    qt_qa_result r;
    decode(NULL, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_true(r.has_best);
    assert_int_equal(r.best.tok_start, 3);
    assert_int_equal(r.best.tok_end, 4);
    for (int i = 0; i < r.n_nbest; i++) {
        assert_in_range(r.nbest[i].tok_start, 0, 7);
        assert_in_range(r.nbest[i].tok_end, 0, 7);
    }
    /* The [CLS] logits are the null score, never a span: 40 > 2. */
    assert_true(r.null_score == 40.0);
    assert_false(r.answered);
    assert_string_equal(qt_qa_result_text(&r, 0), "");
    assert_string_equal(qt_qa_result_text(&r, 1), "a3 a4");
    qt_qa_result_free(&r);

    /* utils_qa.py ranks all positions: with n_best 8 the top starts and
     * ends are the 8 non-context positions, so no span survives. */
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    o.topk_all_positions = 1;
    o.n_best = 8;
    decode(&o, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_false(r.has_best);
    assert_false(r.answered);
    assert_true(r.no_answer_prob == 1.0);
    qt_qa_result_free(&r);
    /* With n_best 9 the ninth start/end is a context one again. */
    o.n_best = 9;
    decode(&o, &f->w0, NULL, f->ctx, f->offs, 8, &r);
    assert_true(r.has_best);
    assert_int_equal(r.best.tok_start, 3);
    qt_qa_result_free(&r);
    fx_free(f);
}

static void n_best_limits_starts_and_ends(void **state)
{
    (void)state;
    float start[6] = {LOW, LOW, 5, LOW, LOW, LOW};
    float end[6] = {LOW, 6, LOW, LOW, LOW, 3};
    qt_qa_offset offs[6];
    char *ctx = words_context(6, offs);
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    qt_qa_result r;
    qt_err e;
    /* n_best 1: start 2 with end 1 only -> nothing valid. */
    o.n_best = 1;
    assert_int_equal(qt_qa_decode_plain(start, end, 6, NULL, ctx, strlen(ctx), offs, &o, &r, &e), 0);
    assert_false(r.has_best);
    assert_string_equal(qt_qa_result_text(&r, 1), "");
    qt_qa_result_free(&r);
    /* n_best 2: the second end (5) makes (2,5) = 8. */
    o.n_best = 2;
    assert_int_equal(qt_qa_decode_plain(start, end, 6, NULL, ctx, strlen(ctx), offs, &o, &r, &e), 0);
    assert_true(r.has_best);
    assert_int_equal(r.best.tok_start, 2);
    assert_int_equal(r.best.tok_end, 5);
    assert_true(r.best.score == 8.0);
    assert_true(r.n_nbest <= 2);
    /* No null position: always answered, p(no answer) = 0. */
    assert_true(r.answered);
    assert_true(isinf(r.null_score) && r.null_score < 0);
    assert_true(r.no_answer_prob == 0.0);
    qt_qa_result_free(&r);
    free(ctx);
}

/* ---- the null rule ------------------------------------------------------ */

static void null_threshold_both_sides(void **state)
{
    (void)state;
    /* best = 6 + 4 = 10, null = 1 + 1 = 2, margin 8. */
    float start[4] = {LOW, 6, LOW, LOW};
    float end[4] = {LOW, LOW, 4, LOW};
    float null[2] = {1, 1};
    qt_qa_offset offs[4];
    char *ctx = words_context(4, offs);
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    assert_true(o.null_threshold == 0.0);
    struct { double threshold; int answered; } cases[] = {
        {0.0, 1}, {7.5, 1}, {8.0, 0} /* strict: margin must exceed */, {8.5, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.null_threshold = cases[i].threshold;
        qt_qa_result r;
        qt_err e;
        assert_int_equal(qt_qa_decode_plain(start, end, 4, null, ctx, strlen(ctx), offs, &o, &r, &e), 0);
        assert_true(r.margin == 8.0);
        assert_int_equal(r.answered, cases[i].answered);
        /* p(no answer) = sigmoid(threshold - margin): 0.5 at the boundary,
         * >= 0.5 exactly when the question is not answered */
        assert_true(fabs(r.no_answer_prob - 1.0 / (1.0 + exp(8.0 - cases[i].threshold))) < 1e-12);
        assert_int_equal(r.no_answer_prob >= 0.5, !cases[i].answered);
        /* The best span stays available either way (--always-answer). */
        assert_string_equal(r.best.text, "a1 a2");
        assert_string_equal(qt_qa_result_text(&r, 0), cases[i].answered ? "a1 a2" : "");
        assert_string_equal(qt_qa_result_text(&r, 1), "a1 a2");
        qt_qa_result_free(&r);
    }

    /* The other side: null 7 + 7 = 14 beats the span by 4. Answered only
     * when the threshold is below -4; p(no answer) = sigmoid(threshold + 4). */
    float null_hi[2] = {7, 7};
    double thresholds[] = {0.0, -4.0, -4.5};
    int answered[] = {0, 0, 1};
    for (int i = 0; i < 3; i++) {
        o.null_threshold = thresholds[i];
        qt_qa_result r;
        qt_err e;
        assert_int_equal(qt_qa_decode_plain(start, end, 4, null_hi, ctx, strlen(ctx), offs, &o, &r, &e), 0);
        assert_true(r.margin == -4.0);
        assert_int_equal(r.answered, answered[i]);
        assert_true(fabs(r.no_answer_prob - 1.0 / (1.0 + exp(-4.0 - thresholds[i]))) < 1e-12);
        assert_int_equal(r.no_answer_prob >= 0.5, !answered[i]);
        qt_qa_result_free(&r);
    }
    free(ctx);
}

static void null_is_minimum_over_windows(void **state)
{
    (void)state;
    fx *f = fx_new(14); /* windows [0,10) and [6,14) */
    win_set_pos(&f->w0, 0, 3, 3);       /* null 6 */
    win_set_pos(&f->w1, 0, 0.5f, 0.5f); /* null 1: the minimum */
    win_set(&f->w1, 12, 2, 2);          /* best span (12,12) = 4 */
    qt_qa_result r;
    decode(NULL, &f->w0, &f->w1, f->ctx, f->offs, 14, &r);
    assert_true(r.null_score == 1.0);
    assert_int_equal(r.null_window, 1);
    assert_true(r.margin == 3.0);
    assert_true(r.answered); /* with the maximum (6) it would not be */
    assert_string_equal(r.best.text, "a12");
    qt_qa_result_free(&r);

    /* Same windows, order reversed: the minimum does not depend on order. */
    decode(NULL, &f->w1, &f->w0, f->ctx, f->offs, 14, &r);
    assert_true(r.null_score == 1.0);
    assert_int_equal(r.null_window, 0);
    qt_qa_result_free(&r);
    fx_free(f);
}

/* ---- merging across windows ------------------------------------------- */

static void same_answer_in_two_windows(void **state)
{
    (void)state;
    fx *f = fx_new(14); /* windows [0,10) and [6,14); tokens 6-9 in both */
    win_set(&f->w0, 7, 3, LOW);
    win_set(&f->w0, 8, LOW, 3); /* (7,8) = 6 in window 0, at positions 12-13 */
    win_set(&f->w1, 7, 4, LOW);
    win_set(&f->w1, 8, LOW, 5); /* (7,8) = 9 in window 1, at positions 6-7 */
    qt_qa_result r;
    decode(NULL, &f->w0, &f->w1, f->ctx, f->offs, 14, &r);
    assert_int_equal(r.best.tok_start, 7);
    assert_int_equal(r.best.tok_end, 8);
    assert_int_equal(r.best.window, 1);
    assert_true(r.best.score == 9.0);
    assert_string_equal(r.best.text, "a7 a8");
    /* "a0 a1 ... a6 " is 7 * 3 = 21 bytes = 21 characters. */
    assert_int_equal(r.best.start_char, 21);
    assert_int_equal(r.best.end_char, 26);
    int seen = 0;
    for (int i = 0; i < r.n_nbest; i++) {
        seen += r.nbest[i].tok_start == 7 && r.nbest[i].tok_end == 8;
        for (int j = 0; j < i; j++)
            assert_false(r.nbest[i].start_byte == r.nbest[j].start_byte &&
                         r.nbest[i].end_byte == r.nbest[j].end_byte);
    }
    assert_int_equal(seen, 1);
    qt_qa_result_free(&r);
    fx_free(f);
}

static void answers_at_window_edges(void **state)
{
    (void)state;
    fx *f = fx_new(14);
    /* Window 0: first context token 0 at position 5, last token 9 at 14.
     * Window 1: first token 6 at position 5, last token 13 at 12. */
    assert_int_equal(win_pos_of(&f->w0, 0), 5);
    assert_int_equal(win_pos_of(&f->w0, 9), 14);
    assert_int_equal(win_pos_of(&f->w1, 6), 5);
    assert_int_equal(win_pos_of(&f->w1, 13), 12);
    win_set(&f->w0, 0, 4, 4);  /* (0,0) = 8 */
    win_set(&f->w0, 9, 3, 3);  /* (9,9) = 6, (0,9) = 7 */
    win_set(&f->w1, 6, 5, 5);  /* (6,6) = 10 */
    win_set(&f->w1, 13, 2, 2); /* (13,13) = 4, (6,13) = 7 */
    qt_qa_result r;
    decode(NULL, &f->w0, &f->w1, f->ctx, f->offs, 14, &r);
    assert_string_equal(r.best.text, "a6");
    assert_int_equal(r.best.window, 1);
    struct { int s, e; double score; const char *text; int window; } want[] = {
        {0, 0, 8, "a0", 0}, {9, 9, 6, "a9", 0}, {0, 9, 7, "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9", 0},
        {13, 13, 4, "a13", 1}, {6, 13, 7, "a6 a7 a8 a9 a10 a11 a12 a13", 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const qt_qa_decoded_span *a = find_span(&r, want[i].s, want[i].e);
        assert_non_null(a);
        assert_true(a->score == want[i].score);
        assert_string_equal(a->text, want[i].text);
        assert_int_equal(a->window, want[i].window);
    }
    /* "a13" ends the context. */
    assert_int_equal(find_span(&r, 13, 13)->end_char, (long)strlen(f->ctx));
    qt_qa_result_free(&r);
    fx_free(f);
}

static void default_geometry_end_to_end(void **state)
{
    (void)state;
    qt_qa_plan p;
    /* BERT, 10 question tokens, 372 context tokens: windows [0,371) and
     * [243,372). Token 371 exists only in window 1, at 12 + 128 = 140. */
    plan_default(10, 372, &qt_qa_layout_bert, &p);
    qt_qa_offset *offs = calloc(372, sizeof *offs);
    char *ctx = words_context(372, offs);
    win w0, w1;
    win_init(&w0, &p, 0, 384);
    win_init(&w1, &p, 1, 384);
    assert_int_equal(win_pos_of(&w1, 371), 140);
    win_set_pos(&w0, 0, 0, 0);
    win_set_pos(&w1, 0, -1, 0);
    win_set(&w1, 370, 3, LOW);
    win_set(&w1, 371, LOW, 3);
    qt_qa_result r;
    decode(NULL, &w0, &w1, ctx, offs, 372, &r);
    assert_string_equal(r.best.text, "a370 a371");
    assert_true(r.null_score == -1.0);
    assert_true(r.answered);
    qt_qa_result_free(&r);
    qt_qa_plan_free(&p);
    free(offs);
    free(ctx);
}

/* ---- offsets ------------------------------------------------------------ */

static void utf8_character_offsets(void **state)
{
    (void)state;
    /* "Le café de 東京 est naïve." - 30 bytes, 24 code points:
     *   token   bytes     chars
     *   Le      [0,2)     [0,2)
     *   café    [3,8)     [3,7)    (é is 2 bytes)
     *   de      [9,11)    [8,10)
     *   東      [12,15)   [11,12)  (3 bytes each)
     *   京      [15,18)   [12,13)
     *   est     [19,22)   [14,17)
     *   naïve   [23,29)   [18,23)
     *   .       [29,30)   [23,24) */
    const char *ctx = "Le caf\xc3\xa9 de \xe6\x9d\xb1\xe4\xba\xac est na\xc3\xafve.";
    assert_int_equal(strlen(ctx), 30);
    qt_qa_offset offs[8] = {{0, 2}, {3, 8}, {9, 11}, {12, 15}, {15, 18}, {19, 22}, {23, 29}, {29, 30}};
    struct { int s, e; size_t b0, b1; long c0, c1; const char *text; } cases[] = {
        {3, 4, 12, 18, 11, 13, "\xe6\x9d\xb1\xe4\xba\xac"},
        {6, 6, 23, 29, 18, 23, "na\xc3\xafve"},
        {1, 4, 3, 18, 3, 13, "caf\xc3\xa9 de \xe6\x9d\xb1\xe4\xba\xac"},
        {7, 7, 29, 30, 23, 24, "."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float start[8], end[8], null[2] = {0, 0};
        for (int k = 0; k < 8; k++)
            start[k] = end[k] = LOW;
        start[cases[i].s] = 5;
        end[cases[i].e] = 5;
        qt_qa_result r;
        qt_err e;
        assert_int_equal(qt_qa_decode_plain(start, end, 8, null, ctx, 30, offs, NULL, &r, &e), 0);
        assert_int_equal(r.best.start_byte, cases[i].b0);
        assert_int_equal(r.best.end_byte, cases[i].b1);
        assert_int_equal(r.best.start_char, cases[i].c0);
        assert_int_equal(r.best.end_char, cases[i].c1);
        assert_string_equal(r.best.text, cases[i].text);
        qt_qa_result_free(&r);
    }

    /* Byte-level tokens may split a character: 東 as [12,14) + [14,15).
     * A span starting at the second piece widens to the whole character. */
    qt_qa_offset split[3] = {{12, 14}, {14, 15}, {15, 18}};
    float start[3] = {LOW, 5, LOW}, end[3] = {LOW, LOW, 5};
    qt_qa_result r;
    qt_err e;
    assert_int_equal(qt_qa_decode_plain(start, end, 3, NULL, ctx, 30, split, NULL, &r, &e), 0);
    assert_int_equal(r.best.start_byte, 12);
    assert_int_equal(r.best.start_char, 11);
    assert_string_equal(r.best.text, "\xe6\x9d\xb1\xe4\xba\xac");
    qt_qa_result_free(&r);
}

static void empty_context(void **state)
{
    (void)state;
    qt_qa_plan p;
    plan_default(5, 0, &qt_qa_layout_bert, &p);
    win b;
    win_init(&b, &p, 0, qt_qa_window_len(&p, 0));
    win_set_pos(&b, 0, -2, -2);
    for (int i = 0; i < b.len; i++)
        assert_int_equal(b.ctx[i], -1);
    qt_qa_result r;
    decode(NULL, &b, NULL, "", NULL, 0, &r);
    assert_false(r.has_best);
    assert_false(r.answered);
    assert_int_equal(r.n_nbest, 0);
    assert_true(r.null_score == -4.0);
    assert_true(r.no_answer_prob == 1.0);
    assert_string_equal(qt_qa_result_text(&r, 1), "");
    qt_qa_result_free(&r);
    qt_qa_plan_free(&p);

    /* One-pass models: zero tokens, no null. */
    qt_err e;
    assert_int_equal(qt_qa_decode_plain(NULL, NULL, 0, NULL, "", 0, NULL, NULL, &r, &e), 0);
    assert_false(r.has_best);
    qt_qa_result_free(&r);
}

/* ---- errors ------------------------------------------------------------- */

static void bad_inputs_are_reported(void **state)
{
    (void)state;
    qt_err e;
    qt_qa_result r;
    float start[3] = {1, 2, 3}, end[3] = {1, 2, 3};
    /* Offsets beyond the context. */
    qt_qa_offset offs[3] = {{0, 1}, {2, 3}, {4, 40}};
    assert_int_equal(qt_qa_decode_plain(start, end, 3, NULL, "a b c", 5, offs, NULL, &r, &e), -1);
    assert_non_null(strstr(e.msg, "outside the 5-byte context"));

    /* Fewer offsets than the window's context tokens. */
    qt_qa_decoder d;
    qt_qa_decoder_init(&d, NULL);
    assert_int_equal(qt_qa_decoder_add_plain(&d, start, end, 3, NULL, &e), 0);
    assert_int_equal(qt_qa_decoder_finish(&d, "a b", 3, offs, 2, &r, &e), -1);
    assert_non_null(strstr(e.msg, "context has 2 tokens"));
    qt_qa_decoder_free(&d);

    /* Context positions out of order. */
    int map[5] = {-1, 0, 2, 1, -1};
    float s5[5] = {0}, e5[5] = {0};
    qt_qa_decoder_init(&d, NULL);
    assert_int_equal(qt_qa_decoder_add_window(&d, s5, e5, map, 5, 0, &e), -1);
    assert_non_null(strstr(e.msg, "consecutive"));
    /* The null position must not be a context token. */
    int ok_map[5] = {-1, 0, 1, 2, -1};
    assert_int_equal(qt_qa_decoder_add_window(&d, s5, e5, ok_map, 5, 1, &e), -1);
    assert_non_null(strstr(e.msg, "null position 1"));
    /* NaN logits. */
    s5[2] = NAN;
    assert_int_equal(qt_qa_decoder_add_window(&d, s5, e5, ok_map, 5, 0, &e), -1);
    assert_non_null(strstr(e.msg, "position 2 is NaN"));
    assert_int_equal(d.n_windows, 0);
    qt_qa_decoder_free(&d);
}

static void threshold_from_config(void **state)
{
    (void)state;
    qt_err e;
    const char *txt = "{\"hidden_size\": 8, \"qaterm_null_threshold\": -1.5}";
    cJSON *cfg = qt_json_parse("config.json", txt, strlen(txt), &e);
    assert_non_null(cfg);
    double t = 0.0;
    assert_int_equal(qt_qa_null_threshold_from_config(cfg, "config.json", &t, &e), 0);
    assert_true(t == -1.5);
    cJSON_Delete(cfg);

    cfg = qt_json_parse("config.json", "{}", 2, &e);
    t = 0.25;
    assert_int_equal(qt_qa_null_threshold_from_config(cfg, "config.json", &t, &e), 0);
    assert_true(t == 0.25);
    cJSON_Delete(cfg);

    txt = "{\"qaterm_null_threshold\": \"high\"}";
    cfg = qt_json_parse("m/config.json", txt, strlen(txt), &e);
    assert_int_equal(qt_qa_null_threshold_from_config(cfg, "m/config.json", &t, &e), -1);
    assert_non_null(strstr(e.msg, "m/config.json"));
    assert_non_null(strstr(e.msg, "qaterm_null_threshold"));
    cJSON_Delete(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_exactly_one_window),
        cmocka_unit_test(plan_two_windows),
        cmocka_unit_test(plan_many_windows),
        cmocka_unit_test(plan_truncates_long_question),
        cmocka_unit_test(plan_empty_context),
        cmocka_unit_test(plan_errors),
        cmocka_unit_test(window_position_map),
        cmocka_unit_test(best_span_in_one_window),
        cmocka_unit_test(end_before_start_rejected),
        cmocka_unit_test(max_answer_length),
        cmocka_unit_test(question_specials_and_padding_rejected),
        cmocka_unit_test(n_best_limits_starts_and_ends),
        cmocka_unit_test(null_threshold_both_sides),
        cmocka_unit_test(null_is_minimum_over_windows),
        cmocka_unit_test(same_answer_in_two_windows),
        cmocka_unit_test(answers_at_window_edges),
        cmocka_unit_test(default_geometry_end_to_end),
        cmocka_unit_test(utf8_character_offsets),
        cmocka_unit_test(empty_context),
        cmocka_unit_test(bad_inputs_are_reported),
        cmocka_unit_test(threshold_from_config),
    };
    return cmocka_run_group_tests_name("qa/decode", tests, NULL, NULL);
}
