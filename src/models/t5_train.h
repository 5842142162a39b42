/* T5 (Hugging Face T5ForConditionalGeneration, v1.0 style: ReLU
 * DenseReluDense, tied embeddings) for training in C: parameters, a batch
 * forward that keeps what backward needs, the loss and the backward. What
 * it saves loads in the inference engine (src/models/t5.c), and with
 * dropout off the forward computes what t5_forward.c computes.
 *
 * Network (D = d_model, I = num_heads * d_kv, F = d_ff), as modeling_t5.py:
 *   encoder  x = drop(shared[ids]); per block:
 *              x += drop(SelfAttention(rms(x)))   bias: block 0's table,
 *                                                 bidirectional buckets
 *              x += drop(wo drop(relu(wi rms(x))))
 *            enc = drop(rms(x))
 *   decoder  y = drop(shared[dec_ids]); per block:
 *              y += drop(SelfAttention(rms(y)))   causal, block 0's table,
 *                                                 unidirectional buckets
 *              y += drop(EncDecAttention(rms(y), enc))   no position bias
 *              y += drop(wo drop(relu(wi rms(y))))
 *            logits = (drop(rms(y)) * D^-0.5) @ shared^T   (tied lm head)
 *   attention: softmax(q k^T + bias + mask) (NO 1/sqrt(d_kv): T5 folds it
 *   into the init), dropout on the probabilities, then @ v, then o.
 *   rms(x) = x / sqrt(mean(x^2) + eps) * w (T5LayerNorm: no mean, no bias).
 *   No Linear has a bias. drop() is inverted dropout with dropout_rate.
 *
 * A batch: B sequences, encoder ids [B, Te] (padded after each one's
 * length; padded keys are masked), decoder inputs [B, Td] =
 * decoder_start_token_id then the target shifted right (teacher forcing),
 * targets [B, Td] with -1 after each target's end (its </s>). Decoder
 * padding needs no mask: causal attention never looks forward and padded
 * positions carry no loss.
 *
 * For question answering (src/train/arch_t5.c) a sequence is the engine's
 * first window (t5_qa.c): "question: Q context: C" tokenized whole, the
 * context cut to fit qaterm_max_input_tokens, + </s>; the target is the
 * answer's text from the context + </s>. There is no null position: an
 * unanswerable question's target is the no-answer string
 * (qaterm_no_answer, "unanswerable") + </s>, which the engine scores under
 * teacher forcing against the answer it generates.
 *
 * Loss: cross-entropy of every target token (</s> included), summed in
 * double (qt_t5t_loss); the trainer divides by the number of target tokens
 * in the whole batch (a token mean, as Hugging Face's CrossEntropyLoss with
 * ignore_index, not a mean of per-example means).
 *
 * Parameters (Hugging Face names, nn.Linear layout [out, in]), one flat
 * float buffer bound by offsets:
 *   shared.weight                                                   [vocab, D]
 *   encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight  [buckets, heads]
 *   encoder.block.N.layer.0.layer_norm.weight                       [D]
 *   encoder.block.N.layer.0.SelfAttention.{q,k,v}.weight            [I, D]
 *   encoder.block.N.layer.0.SelfAttention.o.weight                  [D, I]
 *   encoder.block.N.layer.1.layer_norm.weight                       [D]
 *   encoder.block.N.layer.1.DenseReluDense.wi.weight                [F, D]
 *   encoder.block.N.layer.1.DenseReluDense.wo.weight                [D, F]
 *   encoder.final_layer_norm.weight                                 [D]
 *   decoder.*: the same, with layer.1 = EncDecAttention (+ its layer_norm)
 *   and layer.2 = DenseReluDense; decoder.block.0 holds the decoder's table.
 * Init as T5PreTrainedModel._init_weights (factor 1): shared N(0, 1);
 * q N(0, (D d_kv)^-0.5); k, v N(0, D^-0.5); o N(0, I^-0.5); wi N(0, D^-0.5);
 * wo N(0, F^-0.5); relative_attention_bias N(0, D^-0.5); norms 1.
 * Weight decay: every matrix and shared; not the norms nor the bias tables
 * (Hugging Face's Trainer leaves out "bias" and LayerNorm parameters).
 * Saved: model.safetensors (F32, shared.weight only for the tied copies,
 * as transformers saves it) and config.json with the T5Config keys; the
 * trainer adds the qaterm_* keys and the tokenizer files. */
#ifndef QT_MODELS_T5_TRAIN_H
#define QT_MODELS_T5_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nn/rng.h"
#include "nn/tensor.h"
#include "util/err.h"

#define QT_T5T_MAX_LAYERS 24
#define QT_T5T_MAX_PARAMS (5 + 7 * QT_T5T_MAX_LAYERS + 12 * QT_T5T_MAX_LAYERS)

typedef struct qt_t5t_config {
    int vocab, d_model, d_kv, d_ff, heads, n_enc, n_dec;
    int buckets, max_distance; /* relative_attention_num_buckets / _max_distance */
    float eps;                 /* layer_norm_epsilon */
    float dropout;             /* dropout_rate; used only when training */
    int32_t pad_id, eos_id, start_id;
} qt_t5t_config;

/* t5-small's shape at a smaller width: D 256, d_kv 32, 4 heads, F 768,
 * 3 + 3 layers, 32 buckets, max distance 128, eps 1e-6, dropout 0.1,
 * pad 0, eos 1, decoder start 0; vocab 0 (set from the tokenizer). */
void qt_t5t_config_default(qt_t5t_config *c);
/* Reads the T5Config keys of json over c's values (absent keys keep them);
 * refuses what this trainer does not build (feed_forward_proj other than
 * "relu", untied embeddings). name is used in messages. */
int qt_t5t_config_from_json(const cJSON *json, const char *name, qt_t5t_config *c, qt_err *e);
int qt_t5t_config_check(const qt_t5t_config *c, const char *name, qt_err *e);
/* config.json's Hugging Face part (model_type, architectures, T5Config
 * keys); NULL when out of memory. */
cJSON *qt_t5t_config_to_json(const qt_t5t_config *c);

/* ---- parameters ---- */

/* One block's weights (or gradients); the ca_* exist in decoder blocks only. */
typedef struct qt_t5t_layer {
    float *sa_ln, *sa_q, *sa_k, *sa_v, *sa_o;
    float *ca_ln, *ca_q, *ca_k, *ca_v, *ca_o;
    float *ff_ln, *wi, *wo;
} qt_t5t_layer;

typedef struct qt_t5t_weights {
    float *shared, *enc_rel, *dec_rel, *enc_final, *dec_final;
    qt_t5t_layer enc[QT_T5T_MAX_LAYERS], dec[QT_T5T_MAX_LAYERS];
} qt_t5t_weights;

typedef struct qt_t5t_param {
    char name[96];
    int ndim;
    size_t dims[2];
    size_t numel, offset; /* floats, from the start of the flat buffer */
    int decay;
} qt_t5t_param;

/* Fills out (QT_T5T_MAX_PARAMS entries) in the flat buffer's order;
 * returns the count. */
int qt_t5t_params(const qt_t5t_config *c, qt_t5t_param *out);
size_t qt_t5t_param_floats(const qt_t5t_config *c);
/* Points w's fields into flat (qt_t5t_param_floats floats). */
void qt_t5t_bind(const qt_t5t_config *c, qt_t5t_weights *w, float *flat);
void qt_t5t_init_weights(const qt_t5t_config *c, const qt_t5t_weights *w, qt_rng *rng);
/* model.safetensors (F32) from / into the flat buffer. */
int qt_t5t_save_weights(const qt_t5t_config *c, const float *flat, const char *path, qt_err *e);
int qt_t5t_load_weights(const qt_t5t_config *c, float *flat, const char *dir, qt_err *e);

/* ---- one batch ---- */

typedef struct qt_t5t_batch {
    int B, Te, Td;
    const int32_t *enc_ids; /* [B, Te], padded with pad_id */
    const int32_t *enc_len; /* [B], each 1..Te */
    const int32_t *dec_ids; /* [B, Td]: start token, then the target shifted right */
    const int32_t *targets; /* [B, Td]: target tokens, -1 after each one's end */
} qt_t5t_batch;

/* What one attention sublayer keeps for backward. */
typedef struct qt_t5t_attn_acts {
    float *x;          /* the residual stream entering the sublayer [Nq, D] */
    float *rstd, *h;   /* its norm [Nq], the normed input [Nq, D] */
    float *qh, *kh, *vh; /* head-major [B, heads, T, d_kv] */
    float *p;          /* softmax probabilities [B, heads, tq, tk], before dropout */
    uint8_t *p_mask;   /* their dropout mask (training) */
    float *ctx;        /* P v, token-major [Nq, I]: the o projection's input */
    uint8_t *o_mask;   /* dropout of the sublayer's output [Nq, D] */
} qt_t5t_attn_acts;

typedef struct qt_t5t_ff_acts {
    float *x, *rstd, *h; /* as above */
    float *pre;          /* wi h [N, F] */
    float *act;          /* drop(relu(pre)) [N, F]: wo's input */
    uint8_t *act_mask, *o_mask;
} qt_t5t_ff_acts;

typedef struct qt_t5t_block_acts {
    qt_t5t_attn_acts sa, ca; /* ca: decoder blocks only */
    qt_t5t_ff_acts ff;
} qt_t5t_block_acts;

typedef struct qt_t5t_acts {
    int B, Te, Td, training;
    float *enc_bias, *dec_bias; /* [heads, T, T] relative position biases */
    uint8_t *enc_emb_mask, *dec_emb_mask;
    qt_t5t_block_acts enc[QT_T5T_MAX_LAYERS], dec[QT_T5T_MAX_LAYERS];
    float *enc_x, *enc_rstd;  /* the stream after the last encoder block, its norm's rstd */
    uint8_t *enc_mask;        /* dropout after the final norm */
    float *enc_out;           /* [Ne, D]: what cross-attention reads */
    float *dec_x, *dec_rstd;
    uint8_t *dec_mask;
    float *dec_h;             /* drop(rms(y)) * D^-0.5 [Nd, D]: the lm head's input */
    float *logits;            /* [Nd, vocab] */
    float *probs, *dlogits;   /* [Nd, vocab], filled by qt_t5t_loss */
} qt_t5t_acts;

/* Arena bytes that forward + backward need for a batch of this shape. */
size_t qt_t5t_work_bytes(const qt_t5t_config *c, int B, int Te, int Td, int training);

/* Runs the network over the batch; activations and logits come from arena
 * (sized by qt_t5t_work_bytes). training: dropout with c->dropout, masks
 * drawn from rng. */
int qt_t5t_forward(const qt_t5t_config *c, const qt_t5t_weights *w, const qt_t5t_batch *b, int training,
                   qt_rng *rng, qt_arena *arena, qt_t5t_acts *acts, qt_err *e);

/* Sum over target tokens of -log softmax(logits)[target], in double;
 * *count: tokens summed. Leaves in acts->dlogits grad_scale times the
 * gradient of that sum (grad_scale = 1 / tokens in the batch for a mean).
 * NaN when a target is outside the vocabulary. */
double qt_t5t_loss(const qt_t5t_config *c, const qt_t5t_batch *b, qt_t5t_acts *acts, float grad_scale, int *count);

/* Adds the gradient of the loss (acts->dlogits, through the network) into
 * g, a gradient buffer bound like the weights. Uses the arena after the
 * forward's activations and gives that space back. */
int qt_t5t_backward(const qt_t5t_config *c, const qt_t5t_weights *w, const qt_t5t_batch *b, qt_t5t_acts *acts,
                    const qt_t5t_weights *g, qt_arena *arena, qt_err *e);

/* ---- shared by t5_train.c and t5_train_backward.c ---- */

/* The arena bytes of the forward's activations alone. */
size_t qt_t5t_forward_bytes(const qt_t5t_config *c, int B, int Te, int Td, int training);
/* Token-major [B*T, heads*dk] <-> head-major [B, heads, T, dk]. */
void qt_t5t_split_heads(float *dst, const float *src, int B, int T, int heads, int dk);
void qt_t5t_merge_heads(float *dst, const float *src, int B, int T, int heads, int dk);

#endif
