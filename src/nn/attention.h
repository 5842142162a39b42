/* Scaled dot-product attention, multi-head, forward and backward.
 *
 * Layout: tokens x (heads * head_dim), the way a Linear layer produces Q, K
 * and V, so no transposes are needed: head h of token t of batch b starts at
 * q + (b * tq + t) * q_stride + h * head_dim. The strides let Q, K and V be
 * slices of one fused QKV projection (stride 3 * heads * head_dim) or rows of
 * a KV cache. Each (batch, head) is two sgemm calls.
 *
 * scores = scale * Q K^T + pos_bias[h]; keys that are padding (key_mask 0) or
 * in the future (causal) get -inf; P = softmax(scores); out = P V.
 * Cross-attention is tq != tk. With causal, query i sits at position
 * i + (tk - tq), so a decoder step with a cache of tk keys sees them all. */
#ifndef QT_NN_ATTENTION_H
#define QT_NN_ATTENTION_H

#include <stdint.h>

typedef struct qt_attn_dims {
    int batch, heads, tq, tk, head_dim;
    /* floats from one token's row to the next; 0 means heads * head_dim */
    int q_stride, k_stride, v_stride, out_stride;
    float scale; /* 1 / sqrt(head_dim) usually; T5 uses 1 */
    int causal;
} qt_attn_dims;

/* Dims with contiguous rows, scale 1 / sqrt(head_dim), not causal. */
qt_attn_dims qt_attn_make(int batch, int heads, int tq, int tk, int head_dim);

/* out: [batch, tq, out_stride] (only each head's head_dim floats are written).
 * att: [batch, heads, tq, tk], the probabilities, saved for backward (also the
 * workspace at inference). key_mask: NULL or [batch, tk], 1 = attend.
 * pos_bias: NULL or [heads, tq, tk], added to the scaled scores (shared over
 * the batch). A query with no key to attend to gets a zero output. */
void qt_attention_forward(const qt_attn_dims *d, float *out, float *att, const float *q,
                          const float *k, const float *v, const uint8_t *key_mask,
                          const float *pos_bias);

/* Adds into dq, dk, dv (same strides as q, k, v) and dpos_bias [heads, tq, tk]
 * (summed over the batch); any may be NULL. scratch: tq * tk floats. */
void qt_attention_backward(const qt_attn_dims *d, float *dq, float *dk, float *dv,
                           float *dpos_bias, float *scratch, const float *dout, const float *att,
                           const float *q, const float *k, const float *v);

#endif
