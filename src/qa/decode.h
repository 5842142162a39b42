/* SQuAD 2.0 span decoding, independent of the model that made the logits.
 *
 * The steps follow Hugging Face transformers' question-answering recipe
 * (pipeline windowing with a fast tokenizer, run_qa's logit-sum scoring):
 *
 *   1. Window planning. The question keeps its first max_question_len (64)
 *      tokens. Each window is  specials q specials ctx specials  and holds at
 *      most max_seq_len (384) positions, so a window has room for
 *      budget = max_seq_len - specials - question context tokens. A context
 *      that fits is one window; a longer one is cut as the tokenizers library
 *      cuts an overflowing sequence: windows of `budget` tokens starting at
 *      0, budget - stride, 2 (budget - stride), ... until one reaches the
 *      end. `doc_stride` (128) is therefore the OVERLAP between consecutive
 *      windows (what transformers passes as `stride` with
 *      return_overflowing_tokens), not the step between their starts.
 *   2. Per window, the n_best (20) highest start logits and the n_best
 *      highest end logits over context positions are paired; a pair is a
 *      candidate when both ends are context tokens, end >= start and it is at
 *      most max_answer_len (30) tokens long. Its score is
 *      start_logit + end_logit.
 *   3. Across windows all candidates are pooled; the null score is
 *      start[null] + end[null] (the [CLS] / <s> position), the MINIMUM over
 *      windows. The question is answered when best - null > null_threshold
 *      (the model's `qaterm_null_threshold`, default 0.0).
 *      Note the sign: transformers' null_score_diff_threshold t answers when
 *      best - null >= -t, so qaterm_null_threshold is about -t.
 *   4. The winning token span becomes byte and character offsets in the
 *      original context through the tokenizer's per-token byte offsets; the
 *      text is cut from the context.
 *
 * No-answer probability: p_null = sigmoid(null + null_threshold - best), a
 * softmax over {null shifted by the tuned threshold, best span}. It is 0.5
 * exactly at the decision boundary (so "no answer" is shown with p >= 0.5),
 * 0 when the model has no null position, 1 when there is no candidate span.
 * The threshold shifts every question alike, so rankings (AUROC) stay put.
 *
 * Models that read the whole context in one pass (BiLSTM, Mamba) use the same
 * candidate logic through qt_qa_decoder_add_plain / qt_qa_decode_plain. */
#ifndef QT_QA_DECODE_H
#define QT_QA_DECODE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "util/err.h"

#define QT_QA_MAX_SEQ_LEN 384
#define QT_QA_DOC_STRIDE 128
#define QT_QA_MAX_QUESTION_LEN 64
#define QT_QA_N_BEST 20
#define QT_QA_MAX_ANSWER_LEN 30

/* Special tokens around the question and the context. The model code builds
 * the input ids; the decoder only needs the counts.
 *   BERT:    [CLS] q [SEP] ctx [SEP]        -> 1, 1, 1
 *   RoBERTa: <s> q </s></s> ctx </s>        -> 1, 2, 1 */
typedef struct qt_qa_layout {
    int n_before;  /* before the question */
    int n_between; /* between question and context */
    int n_after;   /* after the context */
    int null_pos;  /* position scored as "no answer" (0: [CLS] / <s>); -1: none */
} qt_qa_layout;

extern const qt_qa_layout qt_qa_layout_bert;
extern const qt_qa_layout qt_qa_layout_roberta;

typedef struct qt_qa_window_opts {
    int max_seq_len;      /* positions per window, specials included */
    int doc_stride;       /* overlap of consecutive windows, in context tokens */
    int max_question_len; /* question tokens kept (the first ones); <= 0: all */
    qt_qa_layout layout;
} qt_qa_window_opts;

/* 384 / 128 / 64 with the given layout (NULL: BERT). */
void qt_qa_window_opts_default(qt_qa_window_opts *o, const qt_qa_layout *layout);

typedef struct qt_qa_window {
    int ctx_start, ctx_end; /* context tokens [ctx_start, ctx_end) */
} qt_qa_window;

typedef struct qt_qa_plan {
    qt_qa_layout layout;
    int n_question; /* question tokens kept: the first n_question */
    int n_context;  /* context tokens in all */
    int ctx_budget; /* most context tokens one window holds */
    int ctx_pos;    /* position of a window's first context token */
    int n_windows;  /* >= 1 (an empty context still gets one window) */
    qt_qa_window *windows;
} qt_qa_plan;

/* Plans the windows for a question of n_question tokens (before truncation)
 * and a context of n_context tokens. Fails when the question leaves no room
 * for context, or when the context must be split but the overlap is not
 * smaller than the room (the tokenizers library refuses that too). */
int qt_qa_plan_windows(int n_question, int n_context, const qt_qa_window_opts *o, qt_qa_plan *out,
                       qt_err *e);
void qt_qa_plan_free(qt_qa_plan *p);

/* Positions window w uses (specials + question + its context; no padding). */
int qt_qa_window_len(const qt_qa_plan *p, int w);

/* Fills pos_to_ctx[0..len): the context token index at each position of
 * window w, -1 for specials, question tokens and padding beyond the window. */
void qt_qa_window_ctx_index(const qt_qa_plan *p, int w, int *pos_to_ctx, int len);

typedef struct qt_qa_decode_opts {
    int n_best;          /* start and end positions kept per window; n-best list size */
    int max_answer_len;  /* in tokens */
    /* 0 (default): the n_best starts/ends are chosen among context positions
     * only, as the pipeline does by masking before it ranks. 1: chosen among
     * all positions, then non-context ones dropped, as run_qa's utils_qa.py
     * does (question tokens with high logits can then crowd out spans). */
    int topk_all_positions;
    double null_threshold; /* answer when best - null > null_threshold */
} qt_qa_decode_opts;

/* 20 / 30 / 0 / 0.0 */
void qt_qa_decode_opts_default(qt_qa_decode_opts *o);

/* Reads `qaterm_null_threshold` (a number) from a model's parsed config.json;
 * leaves *out unchanged when the key is absent. `name` is used in messages. */
int qt_qa_null_threshold_from_config(const cJSON *config, const char *name, double *out, qt_err *e);

typedef struct qt_qa_span {
    int tok_start, tok_end; /* context tokens, inclusive */
    float start_logit, end_logit;
    double score; /* start_logit + end_logit */
    int window;
} qt_qa_span;

typedef struct qt_qa_decoder {
    qt_qa_decode_opts opts;
    int n_windows;
    int has_null;
    double null_score; /* minimum over windows */
    int null_window;
    qt_qa_span *spans;
    int n_spans, cap_spans;
} qt_qa_decoder;

/* o may be NULL for the defaults. */
void qt_qa_decoder_init(qt_qa_decoder *d, const qt_qa_decode_opts *o);
void qt_qa_decoder_free(qt_qa_decoder *d);

/* Adds one window's logits. pos_to_ctx[i] is the context token index at
 * position i or -1 (specials, question, padding); within a window the
 * context positions must hold consecutive increasing indices. null_pos is
 * the position scored as no-answer, -1 for none. */
int qt_qa_decoder_add_window(qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                             const int *pos_to_ctx, int len, int null_pos, qt_err *e);

/* Adds logits for context tokens 0..n_ctx-1 directly (one-pass models).
 * null_logits is {start, end} of the model's no-answer score, or NULL. */
int qt_qa_decoder_add_plain(qt_qa_decoder *d, const float *start_logits, const float *end_logits,
                            int n_ctx, const float *null_logits, qt_err *e);

/* Byte offsets [start, end) of one context token in the context string. */
typedef struct qt_qa_offset {
    size_t start, end;
} qt_qa_offset;

typedef struct qt_qa_decoded_span {
    char *text;                 /* NUL-terminated copy of the context bytes */
    size_t start_byte, end_byte; /* [start, end) in the context */
    long start_char, end_char;  /* the same in code points (Python / SQuAD indices) */
    int tok_start, tok_end;     /* context tokens, inclusive */
    float start_logit, end_logit;
    double score;               /* start_logit + end_logit */
    int window;
} qt_qa_decoded_span;

typedef struct qt_qa_result {
    int answered;        /* has_best and best.score - null_score > null_threshold */
    int has_best;        /* some span was a candidate */
    qt_qa_decoded_span best;   /* the best span, answered or not (--always-answer) */
    double null_score;   /* min over windows; -INFINITY when no null position */
    int null_window;     /* the window that gave null_score, -1 for none */
    double margin;       /* best.score - null_score (+INF without null, -INF without best) */
    double no_answer_prob; /* sigmoid(null_score + null_threshold - best.score); see the top */
    int n_nbest;
    qt_qa_decoded_span *nbest; /* distinct spans by score, best first, at most n_best */
} qt_qa_result;

/* Pools the windows' candidates, applies the null rule and cuts the texts.
 * tok_offsets[i] are context token i's byte offsets in context; offsets that
 * fall inside a multi-byte character are widened to whole characters. The
 * decoder may be reused (qt_qa_decoder_free, then init) afterwards. */
int qt_qa_decoder_finish(const qt_qa_decoder *d, const char *context, size_t context_len,
                         const qt_qa_offset *tok_offsets, int n_ctx_tokens, qt_qa_result *out,
                         qt_err *e);

/* One-call decoding for a single window over the whole context. */
int qt_qa_decode_plain(const float *start_logits, const float *end_logits, int n_ctx,
                       const float *null_logits, const char *context, size_t context_len,
                       const qt_qa_offset *tok_offsets, const qt_qa_decode_opts *o,
                       qt_qa_result *out, qt_err *e);

void qt_qa_result_free(qt_qa_result *r);

/* The answer to show: best.text when answered (or always_answer and a span
 * exists), else "" (no answer). */
const char *qt_qa_result_text(const qt_qa_result *r, int always_answer);

#endif
