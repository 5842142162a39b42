/* Elementwise ops, norms, activations, softmax, embedding, dropout and
 * cross-entropy, each as an explicit forward and backward.
 *
 * Conventions shared by every op in src/nn (see src/nn/DESIGN.md):
 * - Tensors are row-major float arrays; "rows x cols" means cols is the
 *   contiguous (innermost) dimension, e.g. tokens x channels.
 * - Forward writes its outputs (and what backward needs, e.g. mean/rstd).
 *   Such saved buffers may be NULL when no backward will run.
 * - Backward ADDS into every gradient buffer (dx += ..., dw += ...), so a
 *   tensor used twice (residuals) collects both contributions; the caller
 *   zeroes gradients once per step. Any gradient pointer may be NULL to skip it.
 * - Nothing here allocates memory.
 * - exp, tanh, sigmoid and erf come from nn/vecmath.h (vectorisable, float
 *   accurate: see the bounds there), not libm. */
#ifndef QT_NN_OPS_H
#define QT_NN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/rng.h"

/* ---- elementwise ---- */

/* out = a + b (residual connections). out may alias a or b. */
void qt_add_forward(float *out, const float *a, const float *b, size_t n);
void qt_add_backward(float *da, float *db, const float *dout, size_t n);

/* out = a * b (gates). out may alias a or b in forward. */
void qt_mul_forward(float *out, const float *a, const float *b, size_t n);
void qt_mul_backward(float *da, float *db, const float *dout, const float *a, const float *b,
                     size_t n);

/* x[r, :] += b for every row (in place); dx = dout passes through unchanged,
 * so backward only has the bias gradient: db[c] += sum_r dout[r, c]. */
void qt_bias_add_forward(float *x, const float *b, int rows, int cols);
void qt_bias_add_backward(float *db, const float *dout, int rows, int cols);

/* ---- norms ---- */

/* LayerNorm over the last dim: out = (x - mean) * rstd * w + b, with
 * rstd = 1 / sqrt(var + eps) (biased variance, as PyTorch). w, b: [cols].
 * mean, rstd: [rows], saved for backward (may be NULL at inference). */
void qt_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                          const float *b, int rows, int cols, float eps);
void qt_layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                           const float *w, const float *mean, const float *rstd, int rows,
                           int cols);

/* RMSNorm (T5, Mamba): out = x * rstd * w with rstd = 1 / sqrt(mean(x^2) + eps).
 * rstd: [rows], saved for backward (may be NULL). */
void qt_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int rows,
                        int cols, float eps);
void qt_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                         const float *rstd, int rows, int cols);

/* ---- activations (forward may run in place: out == x) ---- */

/* GELU, exact form: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (BERT, RoBERTa). */
void qt_gelu_forward(float *out, const float *x, size_t n);
void qt_gelu_backward(float *dx, const float *dout, const float *x, size_t n);

/* GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("gelu_new"). */
void qt_gelu_tanh_forward(float *out, const float *x, size_t n);
void qt_gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n);

void qt_relu_forward(float *out, const float *x, size_t n);
void qt_relu_backward(float *dx, const float *dout, const float *x, size_t n);

/* SiLU / swish: x * sigmoid(x) (Mamba). */
void qt_silu_forward(float *out, const float *x, size_t n);
void qt_silu_backward(float *dx, const float *dout, const float *x, size_t n);

/* softplus: log(1 + exp(x)), and x itself above 20 as PyTorch (Mamba's dt). */
void qt_softplus_forward(float *out, const float *x, size_t n);
void qt_softplus_backward(float *dx, const float *dout, const float *x, size_t n);

/* ---- softmax ---- */

/* Row-wise softmax over cols. mask: NULL or [rows, cols] with 1 = keep,
 * 0 = excluded (probability exactly 0). A row with every entry excluded, or
 * every entry -inf, comes out all zeros rather than NaN. out may equal x. */
void qt_softmax_forward(float *out, const float *x, const uint8_t *mask, int rows, int cols);
/* dx += p * (dout - sum(p * dout)), from the forward's output p. */
void qt_softmax_backward(float *dx, const float *dout, const float *p, int rows, int cols);

/* ---- embedding ---- */

/* out[i, :] = table[ids[i], :] for i < n; table is [vocab, dim]. Returns 0, or
 * -1 when an id is outside [0, vocab) (that row is zeroed, the rest done). */
int qt_embedding_forward(float *out, const int32_t *ids, const float *table, int n, int dim,
                         int vocab);
/* dtable[ids[i], :] += dout[i, :] (ids outside the table are skipped). */
void qt_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n, int dim,
                           int vocab);

/* ---- dropout ---- */

/* Inverted dropout: when training and p > 0, each element is zeroed with
 * probability p (mask[i] = 0) and kept elements are scaled by 1 / (1 - p);
 * otherwise out = x and mask is untouched (may be NULL). out may equal x. */
void qt_dropout_forward(float *out, uint8_t *mask, const float *x, size_t n, float p,
                        int training, qt_rng *rng);
void qt_dropout_backward(float *dx, const float *dout, const uint8_t *mask, size_t n, float p,
                         int training);

/* ---- cross-entropy ---- */

/* Mean over rows of -log softmax(logits[r])[targets[r]], skipping rows whose
 * target is ignore_index. Logits may hold -inf (excluded classes). probs:
 * [rows, classes] softmax saved for backward (may be NULL). Returns how many
 * rows counted (the mean is 0 when none did), or -1 when a target is neither
 * ignore_index nor in [0, classes) (*loss is NaN then). */
int qt_cross_entropy_forward(float *loss, float *probs, const float *logits,
                             const int32_t *targets, int rows, int classes, int ignore_index);
/* dlogits += dloss * (probs - onehot(target)) / count for rows that count. */
void qt_cross_entropy_backward(float *dlogits, float dloss, const float *probs,
                               const int32_t *targets, int rows, int classes, int ignore_index);

#endif
