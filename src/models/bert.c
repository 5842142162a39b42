/* BERT / RoBERTa extractive QA: the encoder of transformers' modeling_bert.py
 * (post-LayerNorm layers, absolute positions, token types) with the
 * qa_outputs head, and the SQuAD 2.0 answer path over windows.
 *
 * Inference cost is in a handful of large sgemm calls: every projection runs
 * once over all tokens of a batch of windows, and all activations live in
 * one arena that grows only when a longer input arrives. */
#include "models/bert.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "nn/attention.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/tensor.h"
#include "tok/tokenizer.h"
#include "util/json.h"
#include "qa/decode.h"

enum { ACT_GELU, ACT_GELU_TANH, ACT_RELU };

/* Windows of equal length that run through the network together. */
#define BERT_WINDOW_BATCH 2

typedef struct bert_layer {
    const float *wq, *bq, *wk, *bk, *wv, *bv; /* attention.self.{query,key,value} */
    const float *wo, *bo, *ln1_w, *ln1_b;     /* attention.output.{dense,LayerNorm} */
    const float *wi, *bi;                     /* intermediate.dense */
    const float *wf, *bf, *ln2_w, *ln2_b;     /* output.{dense,LayerNorm} */
} bert_layer;

typedef struct bert_impl {
    qt_ckpt *ck; /* owns the (mmapped) weights */
    qt_tokenizer *tok;
    int roberta;
    int hidden, n_layers, heads, inter, max_pos, type_vocab, vocab, pad_id, act;
    float eps;
    int max_tokens; /* longest input the position table allows */
    int max_window; /* positions per QA window: min(384, max_tokens) */
    int32_t cls_id, sep_id;
    double null_threshold;
    const float *word, *pos, *type, *emb_ln_w, *emb_ln_b, *qa_w, *qa_b;
    bert_layer *layers;
    long long n_params;
    qt_arena arena;
} bert_impl;

/* ---- the network ------------------------------------------------------- */

static size_t forward_bytes(const bert_impl *b, int batch, int seq_len)
{
    size_t n = (size_t)batch * seq_len;
    size_t floats = n * (6 * (size_t)b->hidden + (size_t)b->inter + 3) +
                    (size_t)batch * b->heads * seq_len * seq_len;
    return floats * sizeof(float) + n + 16 * QT_NN_ALIGN;
}

/* Makes room for a forward pass plus `extra` bytes of the caller's. The
 * arena must be empty (nothing handed out) when it has to grow. */
static int ensure_arena(bert_impl *b, int batch, int seq_len, size_t extra, qt_err *e)
{
    size_t need = forward_bytes(b, batch, seq_len) + extra;
    if (b->arena.cap - b->arena.used >= need)
        return 0;
    if (b->arena.used)
        return qt_fail(e, "internal error: arena too small for a forward pass");
    qt_arena_free(&b->arena);
    return qt_arena_init(&b->arena, need, e);
}

static float *take(bert_impl *b, size_t n, int *ok)
{
    float *p = qt_arena_floats(&b->arena, n);
    if (!p)
        *ok = 0;
    return p;
}

static int cancelled(const qt_model *m)
{
    return m->cancel && *m->cancel;
}

static void activation(const bert_impl *b, float *x, size_t n)
{
    if (b->act == ACT_GELU)
        qt_gelu_forward(x, x, n);
    else if (b->act == ACT_GELU_TANH)
        qt_gelu_tanh_forward(x, x, n);
    else
        qt_relu_forward(x, x, n);
}

/* Word + position + token type embeddings, then LayerNorm, into x. */
static int embed(const bert_impl *b, float *x, float *tmp, int batch, int seq_len,
                 const int32_t *ids, const int32_t *type_ids, const uint8_t *mask, qt_err *e)
{
    const int h = b->hidden, n = batch * seq_len;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= b->vocab)
            return qt_fail(e, "input id %d at position %d is outside the vocabulary of %d", ids[i],
                           i % seq_len, b->vocab);
    qt_embedding_forward(tmp, ids, b->word, n, h, b->vocab);
    for (int s = 0; s < batch; s++) {
        int count = 0; /* RoBERTa: non-pad tokens so far */
        for (int t = 0; t < seq_len; t++) {
            int i = s * seq_len + t;
            int type = type_ids ? type_ids[i] : 0;
            if (type < 0 || type >= b->type_vocab)
                return qt_fail(e, "token type %d at position %d is outside the %d types", type, t,
                               b->type_vocab);
            int pos = t;
            if (b->roberta) /* create_position_ids_from_input_ids */
                pos = ids[i] != b->pad_id ? b->pad_id + ++count : b->pad_id;
            if (pos >= b->max_pos)
                return qt_fail(e, "position %d is beyond the %d position embeddings", pos, b->max_pos);
            float *row = tmp + (size_t)i * h;
            const float *pr = b->pos + (size_t)pos * h, *tr = b->type + (size_t)type * h;
            for (int c = 0; c < h; c++)
                row[c] += pr[c] + tr[c];
        }
    }
    (void)mask; /* padding is masked in attention only, as transformers does */
    qt_layernorm_forward(x, NULL, NULL, tmp, b->emb_ln_w, b->emb_ln_b, n, h, b->eps);
    return 0;
}

/* The forward pass; the arena must have room (ensure_arena). */
static int forward_core(qt_model *m, int batch, int seq_len, const int32_t *ids,
                        const int32_t *type_ids, const uint8_t *mask, float *start, float *end,
                        qt_err *e)
{
    bert_impl *b = m->impl;
    const int h = b->hidden, I = b->inter;
    const size_t n = (size_t)batch * seq_len;
    size_t mark = qt_arena_mark(&b->arena);
    int ok = 1;
    float *x = take(b, n * h, &ok), *tmp = take(b, n * h, &ok);
    float *q = take(b, n * h, &ok), *k = take(b, n * h, &ok), *v = take(b, n * h, &ok);
    float *ctx = take(b, n * h, &ok), *ffn = take(b, n * I, &ok);
    float *att = take(b, (size_t)batch * b->heads * seq_len * seq_len, &ok);
    float *logits = take(b, 2 * n, &ok);
    int rc = -1;
    if (!ok) {
        qt_fail(e, "internal error: arena too small for %d x %d tokens", batch, seq_len);
        goto done;
    }
    if (embed(b, x, tmp, batch, seq_len, ids, type_ids, mask, e) < 0)
        goto done;
    qt_attn_dims dims = qt_attn_make(batch, b->heads, seq_len, seq_len, h / b->heads);
    for (int l = 0; l < b->n_layers; l++) {
        if (cancelled(m)) {
            qt_fail(e, "cancelled");
            goto done;
        }
        const bert_layer *L = &b->layers[l];
        qt_linear_forward(q, x, L->wq, L->bq, (int)n, h, h);
        qt_linear_forward(k, x, L->wk, L->bk, (int)n, h, h);
        qt_linear_forward(v, x, L->wv, L->bv, (int)n, h, h);
        qt_attention_forward(&dims, ctx, att, q, k, v, mask, NULL);
        qt_linear_forward(tmp, ctx, L->wo, L->bo, (int)n, h, h);
        qt_add_forward(tmp, tmp, x, n * h);
        qt_layernorm_forward(x, NULL, NULL, tmp, L->ln1_w, L->ln1_b, (int)n, h, b->eps);
        qt_linear_forward(ffn, x, L->wi, L->bi, (int)n, h, I);
        activation(b, ffn, n * I);
        qt_linear_forward(tmp, ffn, L->wf, L->bf, (int)n, I, h);
        qt_add_forward(tmp, tmp, x, n * h);
        qt_layernorm_forward(x, NULL, NULL, tmp, L->ln2_w, L->ln2_b, (int)n, h, b->eps);
    }
    qt_linear_forward(logits, x, b->qa_w, b->qa_b, (int)n, h, 2);
    for (size_t i = 0; i < n; i++) {
        if (start)
            start[i] = logits[2 * i];
        if (end)
            end[i] = logits[2 * i + 1];
    }
    rc = 0;
done:
    qt_arena_reset(&b->arena, mark);
    return rc;
}

static int check_shape(const bert_impl *b, int batch, int seq_len, qt_err *e)
{
    if (batch < 1 || seq_len < 1)
        return qt_fail(e, "empty input (%d sequences of %d tokens)", batch, seq_len);
    if (seq_len > b->max_tokens)
        return qt_fail(e, "%d tokens are more than the %d this model's positions allow", seq_len,
                       b->max_tokens);
    if ((size_t)batch * seq_len > (1u << 24))
        return qt_fail(e, "input too large (%d sequences of %d tokens)", batch, seq_len);
    return 0;
}

int qt_bert_forward(qt_model *m, int batch, int seq_len, const int32_t *ids,
                    const int32_t *type_ids, const uint8_t *mask, float *start_logits,
                    float *end_logits, qt_err *e)
{
    if (!qt_bert_is(m))
        return qt_fail(e, "not a BERT or RoBERTa model");
    bert_impl *b = m->impl;
    if (check_shape(b, batch, seq_len, e) < 0 || ensure_arena(b, batch, seq_len, 0, e) < 0)
        return -1;
    return forward_core(m, batch, seq_len, ids, type_ids, mask, start_logits, end_logits, e);
}

/* ---- question answering ------------------------------------------------ */

/* ids and token types of window w:  [CLS] q [SEP] ctx [SEP]  (RoBERTa:
 * <s> q </s></s> ctx </s>, all type 0). */
static void window_inputs(const bert_impl *b, const qt_qa_plan *p, int w, const int32_t *q_ids,
                          const int32_t *c_ids, int32_t *ids, int32_t *types)
{
    const qt_qa_window *win = &p->windows[w];
    int n = 0;
    ids[n++] = b->cls_id;
    for (int i = 0; i < p->n_question; i++)
        ids[n++] = q_ids[i];
    ids[n++] = b->sep_id;
    if (b->roberta)
        ids[n++] = b->sep_id;
    int first_ctx = n;
    for (int i = win->ctx_start; i < win->ctx_end; i++)
        ids[n++] = c_ids[i];
    ids[n++] = b->sep_id;
    for (int i = 0; i < n; i++)
        types[i] = !b->roberta && i >= first_ctx ? 1 : 0;
}

static void fill_answer(const qt_qa_result *r, qt_qa_answer *out)
{
    out->has_answer = r->answered;
    out->no_answer_prob = r->no_answer_prob;
    out->margin = r->margin;
    out->confidence = r->answered ? 1.0 - r->no_answer_prob : r->no_answer_prob;
    out->score = r->answered || !isfinite(r->null_score) ? (r->has_best ? r->best.score : 0.0)
                                                         : r->null_score;
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    out->best_char_start = out->best_char_end = -1;
    if (r->has_best) {
        out->best_char_start = r->best.start_char;
        out->best_char_end = r->best.end_char;
    }
    if (r->answered) {
        out->char_start = r->best.start_char;
        out->char_end = r->best.end_char;
        out->byte_start = (long)r->best.start_byte;
        out->byte_end = (long)r->best.end_byte;
    }
}

/* Runs the planned windows (equal-length neighbours together) into the decoder. */
static int run_windows(qt_model *m, const qt_qa_plan *plan, const qt_encoding *qe,
                       const qt_encoding *ce, qt_qa_decoder *dec, qt_err *e)
{
    bert_impl *b = m->impl;
    /* the first window is the longest; later ones are as long or shorter */
    const int T = qt_qa_window_len(plan, 0);
    const int B = plan->n_windows < BERT_WINDOW_BATCH ? plan->n_windows : BERT_WINDOW_BATCH;
    size_t slot = (size_t)B * T;
    size_t extra = slot * (2 * sizeof(int32_t) + sizeof(int) + 2 * sizeof(float)) + 8 * QT_NN_ALIGN;
    if (ensure_arena(b, B, T, extra, e) < 0)
        return -1;
    size_t mark = qt_arena_mark(&b->arena);
    int32_t *ids = (int32_t *)qt_arena_floats(&b->arena, slot);
    int32_t *types = (int32_t *)qt_arena_floats(&b->arena, slot);
    int *pos_to_ctx = (int *)qt_arena_floats(&b->arena, slot);
    float *start = qt_arena_floats(&b->arena, slot), *end = qt_arena_floats(&b->arena, slot);
    int rc = 0;
    if (!ids || !types || !pos_to_ctx || !start || !end)
        rc = qt_fail(e, "internal error: arena too small for the window inputs");
    for (int w = 0; rc == 0 && w < plan->n_windows;) {
        if (cancelled(m)) {
            rc = qt_fail(e, "cancelled");
            break;
        }
        int len = qt_qa_window_len(plan, w), nb = 1;
        while (nb < B && w + nb < plan->n_windows && qt_qa_window_len(plan, w + nb) == len)
            nb++;
        for (int i = 0; i < nb; i++)
            window_inputs(b, plan, w + i, qe->ids, ce->ids, ids + (size_t)i * len,
                          types + (size_t)i * len);
        rc = forward_core(m, nb, len, ids, types, NULL, start, end, e);
        for (int i = 0; rc == 0 && i < nb; i++) {
            qt_qa_window_ctx_index(plan, w + i, pos_to_ctx, len);
            rc = qt_qa_decoder_add_window(dec, start + (size_t)i * len, end + (size_t)i * len,
                                          pos_to_ctx, len, 0, e);
        }
        w += nb;
    }
    qt_arena_reset(&b->arena, mark);
    return rc;
}

static int bert_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out,
                       qt_err *e)
{
    bert_impl *b = m->impl;
    while (*question && isspace((unsigned char)*question)) /* as run_qa: question.lstrip() */
        question++;
    if (!*question)
        return qt_fail(e, "the question is empty");
    size_t context_len = strlen(context);
    qt_encoding qe, ce;
    qt_encoding_init(&qe);
    qt_encoding_init(&ce);
    qt_qa_plan plan = {0};
    qt_qa_decoder dec;
    qt_qa_decode_opts dopts;
    qt_qa_decode_opts_default(&dopts);
    dopts.null_threshold = b->null_threshold;
    qt_qa_decoder_init(&dec, &dopts);
    qt_qa_result res = {0};
    qt_qa_offset *offs = NULL;
    int rc = -1;

    if (qt_tokenizer_encode(b->tok, question, strlen(question), &qe, e) < 0 ||
        qt_tokenizer_encode(b->tok, context, context_len, &ce, e) < 0)
        goto done;
    if (qe.n == 0) {
        qt_fail(e, "the question has no tokens");
        goto done;
    }
    qt_qa_window_opts wopts;
    qt_qa_window_opts_default(&wopts, b->roberta ? &qt_qa_layout_roberta : &qt_qa_layout_bert);
    wopts.max_seq_len = b->max_window;
    if (wopts.doc_stride > b->max_window / 2) /* as the pipeline: min(384 // 2, 128) */
        wopts.doc_stride = b->max_window / 2;
    if (qt_qa_plan_windows((int)qe.n, (int)ce.n, &wopts, &plan, e) < 0)
        goto done;
    if (run_windows(m, &plan, &qe, &ce, &dec, e) < 0)
        goto done;
    offs = malloc((ce.n ? ce.n : 1) * sizeof *offs);
    if (!offs) {
        qt_fail(e, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ce.n; i++) {
        offs[i].start = (size_t)ce.bytes[i].start;
        offs[i].end = (size_t)ce.bytes[i].end;
    }
    if (qt_qa_decoder_finish(&dec, context, context_len, offs, (int)ce.n, &res, e) < 0)
        goto done;
    fill_answer(&res, out);
    out->text = strdup(res.answered ? res.best.text : "");
    out->best_text = strdup(res.has_best ? res.best.text : "");
    if (!out->text || !out->best_text) {
        qt_qa_answer_free(out);
        qt_fail(e, "out of memory");
        goto done;
    }
    rc = 0;
done:
    qt_qa_result_free(&res);
    free(offs);
    qt_qa_decoder_free(&dec);
    qt_qa_plan_free(&plan);
    qt_encoding_free(&qe);
    qt_encoding_free(&ce);
    return rc;
}

/* ---- bench hooks ------------------------------------------------------- */

static int bert_forward_tokens(qt_model *m, int seq_len, qt_err *e)
{
    bert_impl *b = m->impl;
    if (check_shape(b, 1, seq_len, e) < 0)
        return -1;
    size_t extra = (size_t)seq_len * 2 * sizeof(int32_t) + 4 * QT_NN_ALIGN;
    if (ensure_arena(b, 1, seq_len, extra, e) < 0)
        return -1;
    size_t mark = qt_arena_mark(&b->arena);
    int32_t *ids = (int32_t *)qt_arena_floats(&b->arena, (size_t)seq_len);
    int32_t *types = (int32_t *)qt_arena_floats(&b->arena, (size_t)seq_len);
    int rc = -1;
    if (!ids || !types) {
        qt_fail(e, "internal error: arena too small");
    } else {
        /* a question of a quarter of the window, then context: ids that are
         * neither specials nor padding */
        int split = seq_len / 4;
        for (int i = 0; i < seq_len; i++) {
            int32_t id = (int32_t)(5 + (i * 131L) % (b->vocab > 6 ? b->vocab - 5 : 1));
            ids[i] = id < b->vocab && id != b->pad_id ? id : b->sep_id;
            types[i] = !b->roberta && b->type_vocab > 1 && i > split ? 1 : 0;
        }
        ids[0] = b->cls_id;
        ids[seq_len - 1] = b->sep_id;
        rc = forward_core(m, 1, seq_len, ids, types, NULL, NULL, NULL, e);
    }
    qt_arena_reset(&b->arena, mark);
    return rc;
}

static double bert_flops(qt_model *m, int seq_len)
{
    const bert_impl *b = m->impl;
    double T = seq_len, h = b->hidden, I = b->inter;
    double per_layer = 4 * 2 * T * h * h /* query, key, value, attention output */
                       + 2 * 2 * T * h * I /* feed-forward in and out */
                       + 2 * 2 * T * T * h; /* scores and weighted sum */
    return b->n_layers * per_layer + 2 * T * h * 2;
}

static int bert_max_tokens(qt_model *m)
{
    return ((const bert_impl *)m->impl)->max_tokens;
}

/* ---- loading ----------------------------------------------------------- */

static void bert_free(qt_model *m)
{
    if (!m)
        return;
    bert_impl *b = m->impl;
    if (b) {
        qt_arena_free(&b->arena);
        qt_tokenizer_free(b->tok);
        qt_ckpt_close(b->ck);
        free(b->layers);
        free(b);
    }
    free(m);
}

static const qt_model_ops bert_ops = {
    .answer = bert_answer,
    .free = bert_free,
    .forward_tokens = bert_forward_tokens,
    .flops = bert_flops,
    .max_tokens = bert_max_tokens,
};

int qt_bert_is(const qt_model *m)
{
    return m && m->ops == &bert_ops;
}

/* A tensor of the shape [d0] (d1 == 0) or [d0, d1]. */
static const float *weight(bert_impl *b, const char *name, size_t d0, size_t d1, qt_err *e)
{
    size_t dims[2] = {d0, d1};
    float *p = qt_ckpt_tensor(b->ck, name, d1 ? 2 : 1, dims, e);
    if (p)
        b->n_params += (long long)(d0 * (d1 ? d1 : 1));
    return p;
}

/* LayerNorm parameters PREFIX.weight / .bias, or the older .gamma / .beta. */
static int layer_norm(bert_impl *b, const char *prefix, const float **w, const float **bias,
                      qt_err *e)
{
    char wn[256], bn[256];
    snprintf(wn, sizeof wn, "%s.weight", prefix);
    snprintf(bn, sizeof bn, "%s.bias", prefix);
    if (!qt_ckpt_info(b->ck, wn)) {
        char gn[256];
        snprintf(gn, sizeof gn, "%s.gamma", prefix);
        if (qt_ckpt_info(b->ck, gn)) {
            snprintf(wn, sizeof wn, "%s.gamma", prefix);
            snprintf(bn, sizeof bn, "%s.beta", prefix);
        }
    }
    *w = weight(b, wn, (size_t)b->hidden, 0, e);
    *bias = *w ? weight(b, bn, (size_t)b->hidden, 0, e) : NULL;
    return *w && *bias ? 0 : -1;
}

static int linear(bert_impl *b, const char *prefix, int out, int in, const float **w,
                  const float **bias, qt_err *e)
{
    char wn[256], bn[256];
    snprintf(wn, sizeof wn, "%s.weight", prefix);
    snprintf(bn, sizeof bn, "%s.bias", prefix);
    *w = weight(b, wn, (size_t)out, (size_t)in, e);
    *bias = *w ? weight(b, bn, (size_t)out, 0, e) : NULL;
    return *w && *bias ? 0 : -1;
}

static int load_weights(bert_impl *b, qt_err *e)
{
    const char *P = b->roberta ? "roberta" : "bert";
    const int h = b->hidden;
    char name[256];
    snprintf(name, sizeof name, "%s.embeddings.word_embeddings.weight", P);
    if (!(b->word = weight(b, name, (size_t)b->vocab, (size_t)h, e)))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.position_embeddings.weight", P);
    if (!(b->pos = weight(b, name, (size_t)b->max_pos, (size_t)h, e)))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.token_type_embeddings.weight", P);
    if (!(b->type = weight(b, name, (size_t)b->type_vocab, (size_t)h, e)))
        return -1;
    snprintf(name, sizeof name, "%s.embeddings.LayerNorm", P);
    if (layer_norm(b, name, &b->emb_ln_w, &b->emb_ln_b, e) < 0)
        return -1;
    for (int l = 0; l < b->n_layers; l++) {
        bert_layer *L = &b->layers[l];
        char pre[160];
        snprintf(pre, sizeof pre, "%s.encoder.layer.%d", P, l);
        struct {
            const char *suffix;
            int out, in;
            const float **w, **bias;
        } lin[] = {
            {"attention.self.query", h, h, &L->wq, &L->bq},
            {"attention.self.key", h, h, &L->wk, &L->bk},
            {"attention.self.value", h, h, &L->wv, &L->bv},
            {"attention.output.dense", h, h, &L->wo, &L->bo},
            {"intermediate.dense", b->inter, h, &L->wi, &L->bi},
            {"output.dense", h, b->inter, &L->wf, &L->bf},
        };
        for (size_t i = 0; i < sizeof lin / sizeof *lin; i++) {
            snprintf(name, sizeof name, "%s.%s", pre, lin[i].suffix);
            if (linear(b, name, lin[i].out, lin[i].in, lin[i].w, lin[i].bias, e) < 0)
                return -1;
        }
        snprintf(name, sizeof name, "%s.attention.output.LayerNorm", pre);
        if (layer_norm(b, name, &L->ln1_w, &L->ln1_b, e) < 0)
            return -1;
        snprintf(name, sizeof name, "%s.output.LayerNorm", pre);
        if (layer_norm(b, name, &L->ln2_w, &L->ln2_b, e) < 0)
            return -1;
    }
    if (linear(b, "qa_outputs", 2, h, &b->qa_w, &b->qa_b, e) < 0)
        return -1;
    /* buffers and the pooler that some checkpoints carry; QA does not use them */
    static const char *unused[] = {"embeddings.position_ids", "embeddings.token_type_ids",
                                   "pooler.dense.weight", "pooler.dense.bias"};
    for (size_t i = 0; i < sizeof unused / sizeof *unused; i++) {
        snprintf(name, sizeof name, "%s.%s", P, unused[i]);
        qt_ckpt_skip(b->ck, name);
    }
    return qt_ckpt_check_unused(b->ck, e);
}

/* config[key] as an int in [lo, hi]; def when absent unless required. */
static int config_int(bert_impl *b, const char *cfg_path, const char *key, int required, long def,
                      long lo, long hi, int *out, qt_err *e)
{
    long v;
    int rc = required ? qt_ckpt_config_int(b->ck, key, &v, e)
                      : qt_ckpt_config_int_opt(b->ck, key, def, &v, e);
    if (rc < 0)
        return -1;
    if (v < lo || v > hi)
        return qt_fail(e, "%s: at $.%s: %ld is outside [%ld, %ld]", cfg_path, key, v, lo, hi);
    *out = (int)v;
    return 0;
}

static int read_config(bert_impl *b, const char *cfg_path, qt_err *e)
{
    const cJSON *cfg = qt_ckpt_config(b->ck);
    if (config_int(b, cfg_path, "hidden_size", 1, 0, 1, 65536, &b->hidden, e) < 0 ||
        config_int(b, cfg_path, "num_hidden_layers", 1, 0, 1, 1024, &b->n_layers, e) < 0 ||
        config_int(b, cfg_path, "num_attention_heads", 1, 0, 1, 4096, &b->heads, e) < 0 ||
        config_int(b, cfg_path, "intermediate_size", 1, 0, 1, 1 << 20, &b->inter, e) < 0 ||
        config_int(b, cfg_path, "max_position_embeddings", 1, 0, 1, 1 << 20, &b->max_pos, e) < 0 ||
        config_int(b, cfg_path, "type_vocab_size", 0, 2, 1, 1 << 16, &b->type_vocab, e) < 0 ||
        config_int(b, cfg_path, "vocab_size", 1, 0, 1, 1 << 24, &b->vocab, e) < 0 ||
        config_int(b, cfg_path, "pad_token_id", 0, b->roberta ? 1 : 0, 0, b->vocab - 1, &b->pad_id,
                   e) < 0)
        return -1;
    if (b->hidden % b->heads)
        return qt_fail(e, "%s: at $.hidden_size: %d is not a multiple of num_attention_heads (%d)",
                       cfg_path, b->hidden, b->heads);
    qt_err sub = {{0}};
    const cJSON *eps = qt_json_opt(cfg, "layer_norm_eps", cJSON_Number, cfg_path, "$", &sub);
    if (!eps && sub.msg[0])
        return qt_fail(e, "%s", sub.msg);
    b->eps = eps ? (float)eps->valuedouble : 1e-12f;
    if (!(b->eps > 0.0f) || !isfinite(b->eps))
        return qt_fail(e, "%s: at $.layer_norm_eps: expected a small positive number", cfg_path);
    const cJSON *act = qt_json_opt(cfg, "hidden_act", cJSON_String, cfg_path, "$", &sub);
    if (!act && sub.msg[0])
        return qt_fail(e, "%s", sub.msg);
    const char *an = act ? act->valuestring : "gelu";
    if (strcmp(an, "gelu") == 0)
        b->act = ACT_GELU;
    else if (strcmp(an, "gelu_new") == 0 || strcmp(an, "gelu_pytorch_tanh") == 0 ||
             strcmp(an, "gelu_fast") == 0)
        b->act = ACT_GELU_TANH;
    else if (strcmp(an, "relu") == 0)
        b->act = ACT_RELU;
    else
        return qt_fail(e, "%s: at $.hidden_act: '%s' is not supported (gelu, gelu_new, "
                       "gelu_pytorch_tanh, gelu_fast, relu)", cfg_path, an);
    const cJSON *pet = qt_json_opt(cfg, "position_embedding_type", cJSON_String, cfg_path, "$", &sub);
    if (!pet && sub.msg[0])
        return qt_fail(e, "%s", sub.msg);
    if (pet && strcmp(pet->valuestring, "absolute") != 0)
        return qt_fail(e, "%s: at $.position_embedding_type: '%s' is not supported (absolute)",
                       cfg_path, pet->valuestring);
    /* RoBERTa's positions start after the padding index */
    b->max_tokens = b->roberta ? b->max_pos - b->pad_id - 1 : b->max_pos;
    if (b->max_tokens < 8)
        return qt_fail(e, "%s: at $.max_position_embeddings: %d leaves %d usable positions", cfg_path,
                       b->max_pos, b->max_tokens);
    b->max_window = b->max_tokens < QT_QA_MAX_SEQ_LEN ? b->max_tokens : QT_QA_MAX_SEQ_LEN;
    b->null_threshold = 0.0;
    return qt_qa_null_threshold_from_config(cfg, cfg_path, &b->null_threshold, e);
}

static int special_id(const bert_impl *b, int32_t primary, int32_t secondary, const char *text,
                      const char *dir, const char *what, int32_t *out, qt_err *e)
{
    int32_t id = primary >= 0 ? primary : secondary >= 0 ? secondary : qt_tokenizer_token_to_id(b->tok, text);
    if (id < 0)
        return qt_fail(e, "%s: the tokenizer has no %s token (%s)", dir, what, text);
    *out = id;
    return 0;
}

static int load_tokenizer(bert_impl *b, const char *dir, qt_err *e)
{
    if (qt_tokenizer_load(dir, &b->tok, e) < 0)
        return -1;
    int32_t n = qt_tokenizer_vocab_size(b->tok);
    if (n > b->vocab)
        return qt_fail(e, "%s: the tokenizer has %d tokens but the model's vocab_size is %d", dir, n,
                       b->vocab);
    const qt_tok_specials *sp = qt_tokenizer_specials(b->tok);
    if (b->roberta)
        return special_id(b, sp->cls, sp->bos, "<s>", dir, "start", &b->cls_id, e) < 0 ||
                       special_id(b, sp->sep, sp->eos, "</s>", dir, "separator", &b->sep_id, e) < 0
                   ? -1
                   : 0;
    return special_id(b, sp->cls, -1, "[CLS]", dir, "[CLS]", &b->cls_id, e) < 0 ||
                   special_id(b, sp->sep, -1, "[SEP]", dir, "[SEP]", &b->sep_id, e) < 0
               ? -1
               : 0;
}

static qt_model *load(const char *dir, const cJSON *config, int roberta, qt_err *e)
{
    qt_model *m = calloc(1, sizeof *m);
    bert_impl *b = calloc(1, sizeof *b);
    if (!m || !b) {
        free(m);
        free(b);
        qt_fail(e, "out of memory");
        return NULL;
    }
    m->ops = &bert_ops;
    m->impl = b;
    b->roberta = roberta;
    char cfg_path[4200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    if (!(b->ck = qt_ckpt_open(dir, e)) || read_config(b, cfg_path, e) < 0)
        goto fail;
    if (!(b->layers = calloc((size_t)b->n_layers, sizeof *b->layers))) {
        qt_fail(e, "out of memory");
        goto fail;
    }
    if (load_weights(b, e) < 0 || load_tokenizer(b, dir, e) < 0)
        goto fail;
    qt_model_info_init(&m->info, dir, config, roberta ? "roberta" : "bert");
    m->info.n_params = b->n_params;
    return m;
fail:
    bert_free(m);
    return NULL;
}

qt_model *qt_bert_load(const char *dir, const cJSON *config, qt_err *e)
{
    return load(dir, config, 0, e);
}

qt_model *qt_roberta_load(const char *dir, const cJSON *config, qt_err *e)
{
    return load(dir, config, 1, e);
}
