/* The T5 engine's insides, shared by src/models/t5*.c and tests/unit/test_t5.c.
 *
 *   t5.c          loading: config, tensors (Hugging Face names), tokenizer
 *   t5_forward.c  the network: encoder, decoder with a key/value cache, greedy
 *   t5_qa.c       question answering: prompt, windows, no-answer, spans */
#ifndef QT_T5_INTERNAL_H
#define QT_T5_INTERNAL_H

#include <stdint.h>

#include "models/checkpoint.h"
#include "models/model.h"
#include "nn/tensor.h"
#include "tok/tokenizer.h"
#include "util/err.h"

typedef enum qt_t5_act {
    QT_T5_RELU,
    QT_T5_GELU,      /* erf form ("gelu") */
    QT_T5_GELU_TANH, /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast"; "gated-gelu" uses it */
    QT_T5_SILU,
} qt_t5_act;

typedef struct qt_t5_config {
    int vocab, d_model, d_kv, d_ff, heads, n_enc, n_dec;
    int buckets, max_distance;
    float eps;
    int gated, tied;
    qt_t5_act act;
    int32_t pad_id, eos_id, start_id;
} qt_t5_config;

/* One block's weights; nn.Linear layout [out, in]. */
typedef struct qt_t5_layer {
    const float *sa_ln, *sa_q, *sa_k, *sa_v, *sa_o; /* layer.0: self-attention */
    const float *ca_ln, *ca_q, *ca_k, *ca_v, *ca_o; /* decoder layer.1: cross-attention */
    const float *ff_ln, *wi, *wi1, *wo;             /* DenseReluDense; wi1 only when gated */
} qt_t5_layer;

typedef struct qt_t5 {
    qt_t5_config c;
    int inner; /* heads * d_kv */
    qt_ckpt *ck;
    const float *shared, *lm_head, *enc_rel, *dec_rel, *enc_final, *dec_final;
    qt_t5_layer *enc, *dec;
    qt_tokenizer *tok;

    /* question answering (config.json's qaterm_* keys) */
    char *prompt;    /* with {question} and {context} */
    char *no_answer; /* the answer that means "no answer" */
    char *no_answer_norm;
    int32_t *na_ids; /* the no-answer string's tokens + </s> */
    int n_na;
    int max_enc;     /* encoder tokens per window */
    int doc_stride;  /* overlap of windows, in context tokens */
    int max_new;     /* generated tokens at most */
    /* qaterm_null_threshold, when config.json has it: the answer/no-answer
     * decision compares the scores (see t5_qa.c) instead of trusting the
     * greedy output alone */
    int has_null_threshold;
    double null_threshold;
    int use_cache;   /* 0: recompute the decoder from scratch every step */
    int stats;       /* print timings per window to stderr */

    /* work memory, sized at load for max_enc and max_dec positions */
    int max_dec;
    qt_arena arena;
    float *x, *h, *q, *k, *v, *a, *att, *bias, *ff0, *ff1;
    float *enc_out;          /* [enc_len, d_model] */
    int enc_len;
    float *cross_k, *cross_v; /* per decoder layer [max_enc, inner] */
    float *self_k, *self_v;   /* per decoder layer [max_dec, inner] */
    int dec_len;              /* positions in the self-attention cache */
    float *logits;            /* [max_dec, vocab] */
    int32_t *dec_ids;         /* [max_dec] */
    int32_t *bk;              /* [3 * rows]: the bucket of each relative distance */
    volatile int *cancel;
} qt_t5;

/* ---- t5_forward.c ---- */

/* Runs the encoder over ids (n <= max_enc) into enc_out and computes each
 * decoder layer's cross-attention keys and values from it. */
int qt_t5_encode(qt_t5 *t, const int32_t *ids, int n, qt_err *e);

/* Empties the decoder's self-attention cache. */
void qt_t5_decoder_reset(qt_t5 *t);

/* Feeds n decoder tokens after the dec_len already cached (positions
 * dec_len .. dec_len + n - 1) and leaves in t->logits the logits of every
 * one of them (all_logits) or only of the last one (row 0). With
 * recompute_cross, the cross-attention keys and values are computed again
 * from enc_out first (what running without a cache costs). */
int qt_t5_decoder_step(qt_t5 *t, const int32_t *ids, int n, int all_logits, int recompute_cross, qt_err *e);

/* log softmax(row)[id], in double. */
double qt_t5_logprob(const float *row, int vocab, int32_t id);

/* Greedy decoding from the current encoder output: at most max_new tokens,
 * stopping after </s> (which is kept in out). ban0 / ban1: tokens not
 * allowed as the first one (-1: none). mean_logprob is over the tokens
 * generated. Uses the cache unless t->use_cache is 0. */
int qt_t5_greedy(qt_t5 *t, int max_new, int32_t ban0, int32_t ban1, int stop_at_eos, int32_t *out, int *n_out,
                 double *mean_logprob, qt_err *e);

/* Mean log-probability of target (n tokens, </s> included) under teacher
 * forcing from the current encoder output. */
int qt_t5_score(qt_t5 *t, const int32_t *target, int n, double *mean_logprob, qt_err *e);

/* Floating-point operations of an encoder pass over n tokens and of one
 * cached decoder step at position pos over enc_len encoder states. */
double qt_t5_encoder_flops(const qt_t5 *t, int n);
double qt_t5_decoder_step_flops(const qt_t5 *t, int enc_len, int pos);

/* ---- t5.c ---- */

/* The engine inside a loaded model (NULL when it is not a T5). */
qt_t5 *qt_t5_of(qt_model *m);

/* ---- t5_qa.c ---- */

int qt_t5_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out, qt_err *e);

/* Where text occurs in context: exact first, then ignoring case and runs of
 * whitespace, then as SQuAD-normalized words. Byte range, or -1 / -1. */
void qt_t5_locate(const char *context, const char *text, long *start, long *end);

#endif
