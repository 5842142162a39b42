/* qaterm's BiLSTM reader (model_type "qaterm_bilstm"): a DrQA-style reader
 * with a co-attention + modelling layer and a no-answer head, written for
 * inference and for training in C (every step has a backward).
 *
 * Words come from src/tok/words.h (\w+|[^\w\s], Unicode-aware); ids from the
 * checkpoint's vocab.txt ([PAD] = 0, [UNK] = 1; lower-cased first when the
 * config says "lowercase"). With B examples, Tc context and Tq question
 * words, D = embedding_dim, H = hidden_size, F = 2 exact-match features (0
 * when off), C = char_filters (0 without the character CNN):
 *
 *  1. Embeddings: e = embeddings[id] (dropout). Character CNN (optional): the
 *     first max_word_chars code points of the word, char id
 *     1 + cp % (char_vocab_size - 1) (0 pads), char_embeddings, a Conv1d of
 *     char_kernel_size over the padded word, max over positions, ReLU -> [C].
 *  2. Exact match (optional), per context word: 1 if its text occurs among
 *     the question's words, 1 if its lower-case form occurs among theirs;
 *     per question word the same against the context.
 *  3. Aligned question embedding (DrQA): a_ij = softmax_j(ReLU(A e_ci + a) .
 *     ReLU(A e_qj + a)), align_i = sum_j a_ij e_qj. [align.linear]
 *  4. Encoders: context_rnn over [e_c; char_c; align; em_c] (2D + C + F),
 *     question_rnn over [e_q; char_q; em_q] (D + C + F): num_layers stacked
 *     BiLSTM layers each (dropout on every layer's input) -> hc, hq [2H].
 *  5. Co-attention: b_ij = softmax_j(ReLU(K hc_i + k) . ReLU(K hq_j + k)),
 *     att_i = sum_j b_ij hq_j; modelling input [hc; att; hc * att] (6H).
 *     [coattn.linear]
 *  6. Modelling: model_rnn, num_model_layers BiLSTM layers -> m_i [2H].
 *  7. Question vector: g_j = softmax_j(w . hq_j + b), q = sum_j g_j hq_j.
 *     [q_self_attn, Linear(2H, 1)]
 *  8. Pointers (DrQA's bilinear): start_i = m_i . (S q + s),
 *     end_i = m_i . (E q + e). [start_attn, end_attn, Linear(2H, 2H)]
 *  9. No-answer head: a self-attentive pooling of m (no_answer.pool,
 *     Linear(2H, 1)) -> mp; the expected start and end states
 *     ps = sum_i softmax(start)_i m_i, pe likewise; z = [mp; q; ps; pe] (8H);
 *     null = no_answer.out(ReLU(no_answer.hidden(z))) -> 2 logits
 *     (null_start, null_end). [Linear(8H, H), Linear(H, 2)]
 *
 * Decoding (src/qa/decode.h, one window): the null score is
 * null_start + null_end, a span's score start_i + end_j (j >= i, at most
 * max_answer_words words); the model answers when best - null exceeds
 * qaterm_null_threshold. Training (qt_bilstm_loss) matches this: the start
 * softmax runs over {null_start, start_1..start_Tc}, the end softmax likewise,
 * with the null as the target of unanswerable questions (BERT's SQuAD 2.0
 * recipe with a learned null instead of [CLS]).
 *
 * Tensor names (PyTorch layout; the LSTMs are nn.LSTM(bidirectional=True,
 * batch_first=True), one module per layer, gates i, f, g, o):
 *   embeddings.weight                         [vocab_size, D]
 *   char_embeddings.weight                    [char_vocab_size, char_embedding_dim]   (char CNN)
 *   char_conv.weight, char_conv.bias          [C, char_embedding_dim, K], [C]          (char CNN)
 *   align.linear.weight, .bias                [D, D], [D]
 *   {context,question,model}_rnn.layers.N.{weight_ih_l0, weight_hh_l0, bias_ih_l0,
 *       bias_hh_l0} and the same with the _reverse suffix
 *                                             [4H, in], [4H, H], [4H], [4H]
 *   coattn.linear.weight, .bias               [2H, 2H], [2H]
 *   q_self_attn.weight, .bias                 [1, 2H], [1]
 *   start_attn.weight, .bias                  [2H, 2H], [2H]
 *   end_attn.weight, .bias                    [2H, 2H], [2H]
 *   no_answer.pool.weight, .bias              [1, 2H], [1]
 *   no_answer.hidden.weight, .bias            [H, 8H], [H]
 *   no_answer.out.weight, .bias               [2, H], [2]
 * The input size of layer 0 is 2D + C + F (context), D + C + F (question),
 * 6H (modelling); 2H for the layers above. See docs/bilstm.md. */
#ifndef QT_MODELS_BILSTM_H
#define QT_MODELS_BILSTM_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "models/model.h"
#include "nn/rng.h"
#include "nn/tensor.h"
#include "tok/words.h"
#include "util/err.h"

#define QT_BILSTM_MAX_LAYERS 8
#define QT_BILSTM_MAX_PARAMS (24 + 3 * QT_BILSTM_MAX_LAYERS * 8)
#define QT_BILSTM_EM_FEATURES 2

typedef struct qt_bilstm_config {
    int vocab_size;       /* rows of embeddings.weight = lines of vocab.txt */
    int embedding_dim;    /* D */
    int hidden_size;      /* H, per direction */
    int num_layers;       /* BiLSTM layers of each encoder */
    int num_model_layers; /* BiLSTM layers of the modelling layer */
    int use_exact_match;  /* 1: F = 2 features per word */
    int lowercase;        /* 1: words are lower-cased before the vocabulary lookup */
    int char_vocab_size;  /* 0: no character CNN; else >= 2 */
    int char_embedding_dim, char_filters, char_kernel_size, max_word_chars;
    int max_context_words;  /* longer contexts are cut (answers beyond are not found) */
    int max_question_words; /* the first ones are kept */
    int max_answer_words;   /* longest span decoded */
    float dropout;          /* training only */
    double null_threshold;  /* qaterm_null_threshold */
} qt_bilstm_config;

/* Reads and checks config.json's fields (name is used in messages). */
int qt_bilstm_config_from_json(const cJSON *json, const char *name, qt_bilstm_config *c, qt_err *e);
/* The config as config.json (model_type included); NULL when out of memory. */
cJSON *qt_bilstm_config_to_json(const qt_bilstm_config *c);
/* Small defaults for a new model (the trainer's starting point). */
void qt_bilstm_config_default(qt_bilstm_config *c);

/* Sizes derived from the config. */
static inline int qt_bilstm_em_dim(const qt_bilstm_config *c)
{
    return c->use_exact_match ? QT_BILSTM_EM_FEATURES : 0;
}
static inline int qt_bilstm_char_dim(const qt_bilstm_config *c)
{
    return c->char_vocab_size > 0 ? c->char_filters : 0;
}
static inline int qt_bilstm_context_in(const qt_bilstm_config *c)
{
    return 2 * c->embedding_dim + qt_bilstm_char_dim(c) + qt_bilstm_em_dim(c);
}
static inline int qt_bilstm_question_in(const qt_bilstm_config *c)
{
    return c->embedding_dim + qt_bilstm_char_dim(c) + qt_bilstm_em_dim(c);
}

/* ---- parameters ---- */

typedef struct qt_bilstm_lstm_dir {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} qt_bilstm_lstm_dir;

typedef struct qt_bilstm_rnn {
    qt_bilstm_lstm_dir layer[QT_BILSTM_MAX_LAYERS][2]; /* [layer][0 forward, 1 reverse] */
} qt_bilstm_rnn;

/* Weights, or (same struct) their gradients. A NULL gradient pointer skips
 * that gradient (e.g. frozen embeddings). */
typedef struct qt_bilstm_weights {
    float *embeddings;
    float *char_embeddings, *char_conv_w, *char_conv_b;
    float *align_w, *align_b;
    qt_bilstm_rnn context_rnn, question_rnn, model_rnn;
    float *coattn_w, *coattn_b;
    float *q_attn_w, *q_attn_b;
    float *start_w, *start_b, *end_w, *end_b;
    float *na_pool_w, *na_pool_b, *na_hidden_w, *na_hidden_b, *na_out_w, *na_out_b;
} qt_bilstm_weights;

typedef struct qt_bilstm_param {
    char name[64];   /* the tensor's name in model.safetensors */
    int ndim;
    size_t dims[3];
    size_t numel;
    int decay;       /* 1 for matrices (weight decay applies), 0 for biases */
    float **slot;    /* its field in the weights struct given, else NULL */
} qt_bilstm_param;

/* Lists the parameters in a fixed order (at most QT_BILSTM_MAX_PARAMS);
 * w may be NULL. Returns the count. */
int qt_bilstm_params(const qt_bilstm_config *c, qt_bilstm_weights *w, qt_bilstm_param *out);
/* All parameters' floats together. */
size_t qt_bilstm_param_floats(const qt_bilstm_config *c);
/* Points every field of w into flat (qt_bilstm_param_floats floats), in
 * parameter order: a flat weight or gradient buffer for the optimiser. */
void qt_bilstm_weights_bind(const qt_bilstm_config *c, qt_bilstm_weights *w, float *flat);
/* PyTorch's default initialisation: embeddings N(0, 1) with the pad rows
 * zero, LSTMs U(-1/sqrt(H), 1/sqrt(H)), Linear and Conv1d U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) for weights and biases. */
void qt_bilstm_init_weights(const qt_bilstm_config *c, qt_bilstm_weights *w, qt_rng *rng);

/* ---- features ---- */

/* One (question, context) pair as the network reads it. */
typedef struct qt_bilstm_features {
    qt_words q_words, c_words; /* every word with its offsets (before the cut) */
    int n_q, n_c;              /* words kept: at most max_question/context_words */
    int32_t *q_ids, *c_ids;    /* [n_q], [n_c] */
    int32_t *q_chars, *c_chars; /* [n, max_word_chars]; NULL without the char CNN */
    float *q_em, *c_em;        /* [n, 2] exact-match features; NULL when off */
    /* buffers reused between calls */
    size_t cap_q, cap_c;
    char *lower;
    size_t cap_lower;
    uint32_t *lower_off; /* [n_q + n_c + 1]: word k's lower form is lower[off[k], off[k+1]) */
    size_t cap_lower_off;
} qt_bilstm_features;

void qt_bilstm_features_init(qt_bilstm_features *f);
void qt_bilstm_features_free(qt_bilstm_features *f);
/* Splits, looks up and computes the features (reusing f's buffers). */
int qt_bilstm_featurize(const qt_bilstm_config *c, const qt_word_vocab *vocab, const char *question,
                        size_t question_len, const char *context, size_t context_len,
                        qt_bilstm_features *f, qt_err *e);
/* The vocabulary key of a word: its text, lower-cased when the config says
 * so, written to out (qt_words_lower_cap(len) bytes); returns its length. */
size_t qt_bilstm_word_key(const qt_bilstm_config *c, const char *word, size_t len, char *out);

/* ---- the network: forward, loss, backward ---- */

/* B examples padded to c_len (Tc >= 1) and q_len (Tq >= 1) words. */
typedef struct qt_bilstm_batch {
    int batch, c_len, q_len;
    const int32_t *c_ids, *q_ids;     /* [B, Tc], [B, Tq]; valid ids everywhere ([PAD] = 0 at padding) */
    const int32_t *c_chars, *q_chars; /* [B, Tc, W], [B, Tq, W] (0 pads); NULL without the char CNN */
    const float *c_em, *q_em;         /* [B, Tc, 2], [B, Tq, 2]; NULL when exact match is off */
    const int32_t *c_lens, *q_lens;   /* [B] valid words, 0 <= len <= Tc / Tq */
} qt_bilstm_batch;

typedef struct qt_bilstm_rnn_acts {
    float *in[QT_BILSTM_MAX_LAYERS];   /* each layer's input after dropout */
    uint8_t *mask[QT_BILSTM_MAX_LAYERS]; /* its dropout mask (training) */
    float *out[QT_BILSTM_MAX_LAYERS];  /* [B, T, 2H] */
    float *gates[QT_BILSTM_MAX_LAYERS][2], *cells[QT_BILSTM_MAX_LAYERS][2];
} qt_bilstm_rnn_acts;

typedef struct qt_bilstm_char_acts {
    float *cols;    /* [N * P, char_embedding_dim * K], P = max_word_chars - K + 1 */
    float *conv;    /* [N * P, C] */
    int32_t *arg;   /* [N, C]: the position of each maximum */
    float *out;     /* [N, C], after ReLU */
} qt_bilstm_char_acts;

/* Everything the forward keeps for the backward; outputs first. Lives in the
 * arena given to qt_bilstm_forward. */
typedef struct qt_bilstm_acts {
    float *start, *end; /* [B, Tc]: logits, -inf at padding */
    float *null;        /* [B, 2]: null_start, null_end */
    int batch, c_len, q_len, training;
    float *c_emb, *q_emb; /* after dropout */
    uint8_t *c_emb_mask, *q_emb_mask;
    qt_bilstm_char_acts c_char, q_char;
    float *align_xc, *align_xq, *align_p, *align_out;
    float *c_in, *q_in;
    qt_bilstm_rnn_acts c_rnn, q_rnn, m_rnn;
    float *co_yc, *co_yq, *co_p, *co_att, *m_in;
    float *q_attn_p, *q_vec, *start_vec, *end_vec;
    float *na_pool_p, *na_mp, *na_ps, *na_pe, *na_sv, *na_ev, *na_z, *na_h;
    uint8_t *mask_cq, *mask_q, *mask_c; /* [B*Tc, Tq], [B, Tq], [B, Tc] */
    float *lstm_scratch;
} qt_bilstm_acts;

/* Arena bytes that qt_bilstm_forward / qt_bilstm_backward carve for a batch. */
size_t qt_bilstm_forward_bytes(const qt_bilstm_config *c, int batch, int c_len, int q_len,
                               int training);
size_t qt_bilstm_backward_bytes(const qt_bilstm_config *c, int batch, int c_len, int q_len);

/* Runs the network. training: dropout on (rng drawn in a fixed order).
 * cancel (may be NULL) is polled between layers. Fails on a bad batch (an id
 * outside the tables, a length out of range), a full arena or cancellation. */
int qt_bilstm_forward(const qt_bilstm_config *c, const qt_bilstm_weights *w,
                      const qt_bilstm_batch *b, int training, qt_rng *rng, qt_arena *arena,
                      volatile int *cancel, qt_bilstm_acts *acts, qt_err *e);

/* The training loss, averaged over the batch: (CE over {null_start,
 * start_1..} + CE over {null_end, end_1..}) / 2. Targets are word indices,
 * -1 for "no answer". Adds dloss/dlogit to dstart, dend [B, Tc] and dnull
 * [B, 2] (zero them first). Returns the loss; NaN when a target is not a
 * valid word of its example. */
double qt_bilstm_loss(const qt_bilstm_acts *a, const int32_t *c_lens, const int32_t *start_target,
                      const int32_t *end_target, float *dstart, float *dend, float *dnull);

/* Backpropagates dstart, dend [B, Tc] and dnull [B, 2] (any may be NULL)
 * through the forward recorded in acts, ADDING into grads (zero it once per
 * step). Carves its scratch from arena (reset it afterwards). */
int qt_bilstm_backward(const qt_bilstm_config *c, const qt_bilstm_weights *w,
                       const qt_bilstm_batch *b, const qt_bilstm_acts *acts, const float *dstart,
                       const float *dend, const float *dnull, qt_bilstm_weights *grads,
                       qt_arena *arena, qt_err *e);

/* ---- the engine ---- */

/* model.h's loader: config.json, model.safetensors, vocab.txt. */
qt_model *qt_bilstm_load(const char *dir, const cJSON *config, qt_err *e);

/* The loaded network of a model made by qt_bilstm_load (for tests and tools):
 * its config, weights and vocabulary. */
const qt_bilstm_config *qt_bilstm_model_config(const qt_model *m);
const qt_bilstm_weights *qt_bilstm_model_weights(const qt_model *m);
const qt_word_vocab *qt_bilstm_model_vocab(const qt_model *m);

#endif
