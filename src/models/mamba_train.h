/* Training the Mamba span reader: Hugging Face's MambaForCausalLM backbone
 * with qaterm's span head (qa_outputs), exactly as the engine (mamba.h,
 * span mode) runs it, with a forward that keeps what backward needs, an
 * explicit backward (layer by layer, top to bottom) and the loss.
 *
 * Input (one sequence, the engine's layout):  question <sep> context <sep>,
 * the question cut to QT_QA_MAX_QUESTION_LEN tokens, no BOS. For training
 * the context is cut so that the whole sequence fits max_seq_len; an
 * example whose answer is cut off is not used. A batch is the sequences
 * packed one after another (no padding): the matrix products run over all
 * packed tokens at once, the conv and the scan per sequence.
 *
 * Per layer (D = expand * hidden, N = state_size, R = dt_rank, K = conv):
 *   xn = RMSNorm(h);  x = xn Wx^T, z = xn Wz^T  (in_proj = [Wx; Wz], no bias)
 *   xc = SiLU(causal depthwise conv(x) + conv bias)
 *   [dt_low | B | C] = xc x_proj^T;  delta = softplus(dt_low dt_proj^T + dt_bias)
 *   ys = selective scan(xc, delta, A = -exp(A_log), B, C) + D * xc
 *   h += dropout(out_proj(ys * SiLU(z)))
 * then fin = RMSNorm_f(h) and [start, end] = fin qa_outputs^T + bias at
 * every position. Dropout (HF's Mamba has none; a training-only addition
 * that leaves inference unchanged) is applied to the embeddings and to each
 * mixer's output; p = 0 turns it off.
 *
 * Loss per sequence: (CE of the start logits over all its positions + CE of
 * the end logits) / 2, averaged over the batch. The target of an
 * unanswerable question is the TRAILING separator (last position) for both,
 * which is where the engine reads its null score (start + end there).
 *
 * Parameters (Hugging Face names and shapes, one flat float buffer in this
 * order; l = layer):
 *   backbone.embeddings.weight [V, H]              decay
 *   backbone.layers.l.norm.weight [H]
 *   backbone.layers.l.mixer.in_proj.weight [2D, H]   decay
 *   backbone.layers.l.mixer.conv1d.weight [D, 1, K]  decay
 *   backbone.layers.l.mixer.conv1d.bias [D]
 *   backbone.layers.l.mixer.x_proj.weight [R + 2N, D] decay
 *   backbone.layers.l.mixer.dt_proj.weight [D, R]    decay
 *   backbone.layers.l.mixer.dt_proj.bias [D]
 *   backbone.layers.l.mixer.A_log [D, N]             (no decay, as Mamba's own code)
 *   backbone.layers.l.mixer.D [D]
 *   backbone.layers.l.mixer.out_proj.weight [H, D]   decay
 *   backbone.norm_f.weight [H]
 *   qa_outputs.weight [2, H] decay, qa_outputs.bias [2]
 * No lm_head: the span engine never reads it, so the checkpoint says
 * tie_word_embeddings true and stays small.
 *
 * Init as HF's MambaPreTrainedModel: embeddings and Linear weights normal
 * (0, 0.02), norms 1, biases 0; A_log = log(1..N) per channel, D = 1;
 * dt_proj weight uniform +-R^-0.5, its bias the inverse softplus of dt drawn
 * log-uniformly in [0.001, 0.1] (floor 1e-4); conv1d and out_proj PyTorch's
 * kaiming-uniform (+-1/sqrt(fan_in)), out_proj divided by sqrt(layers) when
 * rescale_prenorm_residual.
 *
 * Saved (qt_mamba_train_save): config.json (HF MambaConfig keys plus
 * qaterm_qa_mode "span", qaterm_sep_token_id and the training settings as
 * qaterm_train_*), model.safetensors (F32) and the tokenizer files. */
#ifndef QT_MAMBA_TRAIN_H
#define QT_MAMBA_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nn/rng.h"
#include "nn/tensor.h"
#include "util/err.h"

#define QT_MAMBA_TRAIN_MAX_LAYERS 48
#define QT_MAMBA_TRAIN_MAX_PARAMS (4 + 10 * QT_MAMBA_TRAIN_MAX_LAYERS)

typedef struct qt_mamba_train_config {
    int vocab_size;     /* V: embedding rows (at least the tokenizer's size) */
    int hidden_size;    /* H */
    int state_size;     /* N */
    int num_layers;
    int expand;         /* D = expand * H */
    int conv_kernel;    /* K */
    int dt_rank;        /* R; config "auto" = ceil(H / 16) */
    float eps;          /* layer_norm_epsilon */
    float dropout;      /* embeddings and mixer outputs, training only */
    int rescale_prenorm_residual;
    int max_seq_len;    /* training cut of the whole sequence */
    int32_t sep_id, pad_id, unk_id;
} qt_mamba_train_config;

/* Defaults: V 0 (set from the tokenizer), H 256, N 16, 4 layers, expand 2,
 * K 4, R auto, eps 1e-5, dropout 0.1, rescale on, max_seq_len 320, sep 0,
 * pad 1, unk 2. */
void qt_mamba_train_config_default(qt_mamba_train_config *c);
int qt_mamba_train_d_inner(const qt_mamba_train_config *c);
/* Checks the sizes; path names the source in messages. */
int qt_mamba_train_config_check(const qt_mamba_train_config *c, const char *path, qt_err *e);

typedef struct qt_mamba_train_layer {
    float *norm_w, *in_w, *conv_w, *conv_b, *x_w, *dt_w, *dt_b, *A_log, *D, *out_w;
} qt_mamba_train_layer;

typedef struct qt_mamba_train_weights {
    float *embed, *norm_f, *qa_w, *qa_b;
    qt_mamba_train_layer layers[QT_MAMBA_TRAIN_MAX_LAYERS];
} qt_mamba_train_weights;

typedef struct qt_mamba_train_param {
    char name[80]; /* the tensor's name in model.safetensors */
    int ndim;
    size_t dims[3];
    size_t numel;
    size_t offset; /* in the flat buffer */
    int decay;     /* 1: weight decay applies */
} qt_mamba_train_param;

/* The parameters in the flat buffer's order; returns the count. */
int qt_mamba_train_params(const qt_mamba_train_config *c, qt_mamba_train_param *out);
size_t qt_mamba_train_param_floats(const qt_mamba_train_config *c);
/* Points w's fields into flat (weights or gradients alike). */
void qt_mamba_train_bind(const qt_mamba_train_config *c, qt_mamba_train_weights *w, float *flat);
void qt_mamba_train_init_weights(const qt_mamba_train_config *c, qt_mamba_train_weights *w, qt_rng *rng);

/* Sequences packed one after another: ids[sum lens], lens[n_seq] (>= 1). */
typedef struct qt_mamba_train_batch {
    int n_seq;
    const int32_t *ids;
    const int32_t *lens;
} qt_mamba_train_batch;

/* What the forward keeps for backward (in the arena). */
typedef struct qt_mamba_train_layer_acts {
    float *h_in, *rstd, *xn;  /* [n, H], [n], [n, H] */
    float *x, *z;             /* [n, D]: the two halves of in_proj */
    float *xc_pre, *xc;       /* [n, D]: conv output before and after SiLU */
    float *dtl, *Bm, *Cm;     /* [n, R], [n, N], [n, N]: x_proj's parts */
    float *delta_pre, *delta; /* [n, D] */
    float *ys, *y;            /* [n, D]: scan output, gated */
    float *A;                 /* [D, N]: -exp(A_log) */
    float *ckpt;              /* the scan's state checkpoints, sequence after sequence */
    uint8_t *mask;            /* [n, H]: dropout of the mixer output (training) */
} qt_mamba_train_layer_acts;

typedef struct qt_mamba_train_acts {
    int n_tokens, training;
    uint8_t *emb_mask;         /* [n, H] */
    qt_mamba_train_layer_acts layers[QT_MAMBA_TRAIN_MAX_LAYERS];
    float *h_last, *rstd_f;    /* [n, H], [n]: the residual stream after the last layer */
    float *fin;                /* [n, H]: after norm_f */
    float *logits;             /* [n, 2]: start, end per position */
} qt_mamba_train_acts;

/* Bytes of arena that forward + backward need for a batch of n_tokens
 * tokens whose longest sequence has max_len tokens. */
size_t qt_mamba_train_arena_bytes(const qt_mamba_train_config *c, int n_tokens, int max_len);

/* Runs the batch (dropout when training, drawn from rng); acts points into
 * the arena. -1 on a bad id or a full arena. */
int qt_mamba_train_forward(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                           const qt_mamba_train_batch *b, int training, qt_rng *rng, qt_arena *arena,
                           qt_mamba_train_acts *a, qt_err *e);

/* The batch's mean loss (computed in double); adds scale * its gradient
 * into dlogits [n, 2] (may be NULL). starts/ends: per sequence, positions in
 * it; NaN when one is outside its sequence. */
double qt_mamba_train_loss(const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const int32_t *starts,
                           const int32_t *ends, float scale, float *dlogits);

/* Adds the parameters' gradients for dlogits [n, 2] into g. */
int qt_mamba_train_backward(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                            const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const float *dlogits,
                            qt_mamba_train_weights *g, qt_arena *arena, qt_err *e);
/* The same from the gradient with respect to fin (after norm_f, what a
 * head reads) [n, H], for other heads (the tied LM of pre-training). */
int qt_mamba_train_backward_fin(const qt_mamba_train_config *c, const qt_mamba_train_weights *w,
                                const qt_mamba_train_batch *b, const qt_mamba_train_acts *a, const float *dfin,
                                qt_mamba_train_weights *g, qt_arena *arena, qt_err *e);

/* ---- checkpoints ---- */

/* config.json's object for this model (HF MambaConfig + qaterm keys). */
cJSON *qt_mamba_train_config_json(const qt_mamba_train_config *c);
/* The config back from a config.json written by the above. */
int qt_mamba_train_config_from_json(const cJSON *j, const char *path, qt_mamba_train_config *c, qt_err *e);
/* Writes DIR/config.json, DIR/model.safetensors (F32), DIR/tokenizer.json
 * (tokenizer_json verbatim), tokenizer_config.json and
 * special_tokens_map.json. specials: the token texts of sep/eos, pad, unk. */
int qt_mamba_train_save(const qt_mamba_train_config *c, const float *flat, const char *tokenizer_json,
                        const char *eos_text, const char *pad_text, const char *unk_text, const char *dir,
                        qt_err *e);
/* Reads DIR's config.json and weights into a config and a new flat buffer
 * (qt_floats_free it). */
int qt_mamba_train_load(const char *dir, qt_mamba_train_config *c, float **flat, qt_err *e);

#endif
