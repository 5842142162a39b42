/* Training BertForQuestionAnswering in C: the parameter table, random init,
 * a batch forward that keeps what backward reads, the backward, the SQuAD
 * 2.0 span loss, and saving in the Hugging Face layout that src/models/bert.c
 * (and transformers) load.
 *
 * Network (transformers' modeling_bert.py, post-LayerNorm):
 *   x0 = dropout(LN(word[id] + pos[t] + type[tt]))
 *   per layer:  ctx = MHA(x) with padded keys masked and dropout on the
 *               attention probabilities;
 *               x1  = LN1(x + dropout(ctx Wo^T + bo));
 *               x   = LN2(x1 + dropout(gelu(x1 Wi^T + bi) Wf^T + bf))
 *   logits = x Wqa^T + bqa  -> start [:, 0], end [:, 1]  (no dropout here)
 * GELU is the erf form ("gelu"). No pooler: BertForQuestionAnswering has none.
 *
 * Input layout (one window, exactly the engine's first window):
 *   [CLS] question [SEP] context [SEP]   token types 0 ... 0 1 ... 1
 * with the question cut to its first QT_QA_MAX_QUESTION_LEN tokens and the
 * context to what is left of min(384, max_position_embeddings) positions.
 * Sequences of a batch are padded to the longest with pad ids; padding is
 * masked as attention keys and left out of the loss.
 *
 * Loss (the standard SQuAD 2.0 BERT recipe): per sequence
 *   (CE(start logits over its positions, s) + CE(end logits, e)) / 2,
 * with s = e = 0 (the [CLS] position) for an unanswerable question, averaged
 * over the batch. The engine's null score is start[0] + end[0], so the
 * training target and the inference rule agree.
 *
 * Saved: config.json (BertConfig keys, model_type "bert", architectures
 * ["BertForQuestionAnswering"], qaterm_null_threshold) and model.safetensors
 * in F32 with the names of the parameter table; the tokenizer files are the
 * caller's (src/train/arch_bert.c).
 *
 * Memory: weights and gradients are each one flat float buffer bound by the
 * table's offsets; activations live in a caller's qt_arena, sized by
 * qt_bert_train_forward_bytes + qt_bert_train_backward_bytes. */
#ifndef QT_BERT_TRAIN_H
#define QT_BERT_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nn/rng.h"
#include "nn/tensor.h"
#include "util/err.h"

#define QT_BERT_TRAIN_MAX_LAYERS 48

typedef struct qt_bert_train_config {
    int vocab_size;
    int hidden_size;
    int num_layers;
    int num_heads;
    int intermediate_size;
    int max_position_embeddings; /* also the training window (<= 384) */
    int type_vocab_size;         /* 2 */
    int pad_token_id;            /* 0 ([PAD]) */
    float layer_norm_eps;        /* 1e-12 */
    float hidden_dropout;        /* hidden_dropout_prob, 0.1 */
    float attention_dropout;     /* attention_probs_dropout_prob, 0.1 */
    double null_threshold;       /* qaterm_null_threshold written to config.json */
} qt_bert_train_config;

/* BERT-tiny-ish defaults: vocab 0 (set it), hidden 192, 3 layers, 3 heads,
 * intermediate 768, 320 positions, dropout 0.1. */
void qt_bert_train_config_default(qt_bert_train_config *c);
/* Checks the sizes (head split, limits); "NAME: at $.key: ..." on error. */
int qt_bert_train_config_check(const qt_bert_train_config *c, const char *name, qt_err *e);

/* config.json as Hugging Face writes it for BertForQuestionAnswering, plus
 * qaterm_null_threshold. */
cJSON *qt_bert_train_config_to_json(const qt_bert_train_config *c);
/* The reverse (a saved config.json); name is used in messages. */
int qt_bert_train_config_from_json(const cJSON *j, const char *name, qt_bert_train_config *c, qt_err *e);

typedef struct qt_bert_train_layer {
    float *wq, *bq, *wk, *bk, *wv, *bv; /* attention.self.{query,key,value} */
    float *wo, *bo, *ln1_w, *ln1_b;     /* attention.output.{dense,LayerNorm} */
    float *wi, *bi;                     /* intermediate.dense */
    float *wf, *bf, *ln2_w, *ln2_b;     /* output.{dense,LayerNorm} */
} qt_bert_train_layer;

/* Pointers into one flat buffer (weights, or gradients of the same shape). */
typedef struct qt_bert_train_weights {
    float *word, *pos, *type, *emb_ln_w, *emb_ln_b;
    qt_bert_train_layer layers[QT_BERT_TRAIN_MAX_LAYERS];
    float *qa_w, *qa_b;
} qt_bert_train_weights;

typedef struct qt_bert_train_param {
    char name[96];  /* the tensor's name in model.safetensors */
    int ndim;
    size_t dims[2];
    size_t numel;
    size_t offset;  /* floats from the start of the flat buffer */
    int decay;      /* 1: weight decay applies (matrices, embeddings) */
} qt_bert_train_param;

/* Parameter tensors: 5 + 16 per layer + 2. */
int qt_bert_train_param_count(const qt_bert_train_config *c);
/* Fills out[0 .. count) in flat-buffer order; returns the count. */
int qt_bert_train_params(const qt_bert_train_config *c, qt_bert_train_param *out);
size_t qt_bert_train_param_floats(const qt_bert_train_config *c);
/* Points every field of w into flat (qt_bert_train_param_floats floats). */
void qt_bert_train_bind(const qt_bert_train_config *c, qt_bert_train_weights *w, float *flat);

/* As transformers' BertPreTrainedModel._init_weights: Linear and Embedding
 * weights N(0, 0.02), the [PAD] row of the word embeddings zero, biases
 * zero, LayerNorm weight 1 and bias 0. */
void qt_bert_train_init(const qt_bert_train_config *c, qt_bert_train_weights *w, qt_rng *rng);

/* A padded batch: ids and token types [batch, seq_len] (row-major), lens[b]
 * real positions of sequence b (the rest is padding). */
typedef struct qt_bert_train_batch {
    int batch, seq_len;
    const int32_t *ids, *types;
    const int32_t *lens;
} qt_bert_train_batch;

typedef struct qt_bert_train_layer_acts {
    float *x_in;          /* the layer's input (the previous output) */
    float *qh, *kh, *vh;  /* [B, H, T, hd], qh already scaled by 1/sqrt(hd) */
    float *probs;         /* [B, H, T, T] softmax, before dropout */
    uint8_t *probs_mask;  /* its dropout mask (training with p > 0) */
    float *ctx;           /* attention output, tokens x hidden */
    uint8_t *attn_mask;   /* dropout after the output dense */
    float *t1, *mean1, *rstd1, *x1; /* residual sum, LayerNorm stats, output */
    float *f;             /* intermediate pre-activation, tokens x inter */
    uint8_t *ffn_mask;    /* dropout after the output dense */
    float *t2, *mean2, *rstd2, *x_out;
} qt_bert_train_layer_acts;

typedef struct qt_bert_train_acts {
    int batch, seq_len, training;
    float hidden_p, attn_p;     /* the dropout the forward used */
    uint8_t *key_mask;          /* [B, T], 1 = real token */
    int32_t *pos_ids;           /* [B, T] */
    float *emb, *emb_mean, *emb_rstd, *x0; /* summed embeddings, LN stats, after dropout */
    uint8_t *emb_mask;
    qt_bert_train_layer_acts layers[QT_BERT_TRAIN_MAX_LAYERS];
    float *start, *end;         /* logits [B, T] */
} qt_bert_train_acts;

/* The final hidden states [B * T, hidden] of a forward's activations: the
 * last layer's output (the embeddings' with no layers), the QA head's input. */
static inline const float *qt_bert_train_top(const qt_bert_train_config *c, const qt_bert_train_acts *acts)
{
    return c->num_layers ? acts->layers[c->num_layers - 1].x_out : acts->x0;
}

/* Arena bytes of one forward with saved activations / of one backward. */
size_t qt_bert_train_forward_bytes(const qt_bert_train_config *c, int batch, int seq_len);
size_t qt_bert_train_backward_bytes(const qt_bert_train_config *c, int batch, int seq_len);

/* The forward pass; activations are carved from the arena (not reset).
 * training: dropout on (rng draws the masks); else no dropout, rng unused. */
int qt_bert_train_forward(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                          const qt_bert_train_batch *b, int training, qt_rng *rng, qt_arena *arena,
                          qt_bert_train_acts *acts, qt_err *e);

/* The span loss above, computed in double, averaged over the batch's
 * sequences; starts/ends: target positions, -1 for unanswerable (-> 0).
 * Writes d(weight * loss)/dlogits into dstart, dend [B, T] (overwritten;
 * zero at padding). Returns NaN when a target lies outside its sequence. */
double qt_bert_train_loss(const qt_bert_train_acts *acts, const int32_t *lens, const int32_t *starts,
                          const int32_t *ends, double weight, float *dstart, float *dend);

/* Backward from the logits' gradients; adds into the gradients g (same
 * layout as the weights). Scratch is carved from the arena and released. */
int qt_bert_train_backward(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                           const qt_bert_train_batch *b, const qt_bert_train_acts *acts,
                           const float *dstart, const float *dend, qt_bert_train_weights *g,
                           qt_arena *arena, qt_err *e);

/* The same from the gradient of the loss with respect to the last layer's
 * output [B * T, hidden] (the QA head's input), for other heads (mlm). */
int qt_bert_train_backward_hidden(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                                  const qt_bert_train_batch *b, const qt_bert_train_acts *acts,
                                  const float *dx_top, qt_bert_train_weights *g, qt_arena *arena, qt_err *e);

/* ---- masked-LM pre-training (bert_train_mlm.c; the loss is nn/lm_head.h's) ---- */

/* The ids masking needs: specials never masked, [MASK], and the range of
 * ordinary words [first_word, vocab_size) a random replacement comes from. */
typedef struct qt_bert_mlm_ids {
    int32_t cls_id, sep_id, pad_id, mask_id, first_word, vocab_size;
} qt_bert_mlm_ids;

/* Masks ids[0, len) in place: each word (not [CLS], [SEP], [PAD]) with
 * probability mask_prob, at least one; of those 80% become [MASK], 10% a
 * random word and 10% stay. Writes their positions and original ids;
 * returns their count (<= len). */
int qt_bert_mlm_mask(int32_t *ids, int len, const qt_bert_mlm_ids *sp, float mask_prob, qt_rng *rng,
                     int32_t *positions, int32_t *targets);

/* Writes DIR/config.json and DIR/model.safetensors (F32). */
int qt_bert_train_save(const qt_bert_train_config *c, const float *flat, const char *dir, qt_err *e);

/* Reads DIR/config.json into c; flat (allocated by the caller after this
 * returns c) is filled by qt_bert_train_load_weights. */
int qt_bert_train_load_config(const char *dir, qt_bert_train_config *c, qt_err *e);
int qt_bert_train_load_weights(const qt_bert_train_config *c, const char *dir, float *flat, qt_err *e);

#endif
