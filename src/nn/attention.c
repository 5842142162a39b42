#include "nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>

#include "nn/ops.h"
#include "nn/vecmath.h"

qt_attn_dims qt_attn_make(int batch, int heads, int tq, int tk, int head_dim)
{
    qt_attn_dims d = {
        .batch = batch, .heads = heads, .tq = tq, .tk = tk, .head_dim = head_dim,
        .scale = 1.0f / sqrtf((float)head_dim),
    };
    return d;
}

static int stride_or_default(int stride, const qt_attn_dims *d)
{
    return stride > 0 ? stride : d->heads * d->head_dim;
}

QT_VECTORIZE
void qt_attention_forward(const qt_attn_dims *d, float *out, float *att, const float *q,
                          const float *k, const float *v, const uint8_t *key_mask,
                          const float *pos_bias)
{
    const int qs = stride_or_default(d->q_stride, d), ks = stride_or_default(d->k_stride, d);
    const int vs = stride_or_default(d->v_stride, d), os = stride_or_default(d->out_stride, d);
    const int tq = d->tq, tk = d->tk, hd = d->head_dim;
    const int shift = tk - tq; /* causal: query i may see keys j <= i + shift */
    for (int b = 0; b < d->batch; b++) {
        const uint8_t *km = key_mask ? key_mask + (size_t)b * tk : NULL;
        for (int h = 0; h < d->heads; h++) {
            const float *qbh = q + (size_t)b * tq * qs + (size_t)h * hd;
            const float *kbh = k + (size_t)b * tk * ks + (size_t)h * hd;
            const float *vbh = v + (size_t)b * tk * vs + (size_t)h * hd;
            float *obh = out + (size_t)b * tq * os + (size_t)h * hd;
            float *s = att + ((size_t)b * d->heads + h) * tq * tk;

            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tq, tk, hd, d->scale, qbh, qs,
                        kbh, ks, 0.0f, s, tk);
            if (pos_bias) {
                const float *bias = pos_bias + (size_t)h * tq * tk;
                for (size_t i = 0; i < (size_t)tq * tk; i++)
                    s[i] += bias[i];
            }
            if (km || d->causal) {
                for (int i = 0; i < tq; i++) {
                    float *row = s + (size_t)i * tk;
                    if (km)
                        for (int j = 0; j < tk; j++)
                            if (!km[j])
                                row[j] = -INFINITY;
                    if (d->causal) {
                        int first_future = i + shift + 1;
                        for (int j = first_future < 0 ? 0 : first_future; j < tk; j++)
                            row[j] = -INFINITY;
                    }
                }
            }
            /* -inf scores give probability 0; rows with nothing left give zeros */
            qt_softmax_forward(s, s, NULL, tq, tk);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, hd, tk, 1.0f, s, tk, vbh,
                        vs, 0.0f, obh, os);
        }
    }
}

QT_VECTORIZE
void qt_attention_backward(const qt_attn_dims *d, float *dq, float *dk, float *dv,
                           float *dpos_bias, float *scratch, const float *dout, const float *att,
                           const float *q, const float *k, const float *v)
{
    const int qs = stride_or_default(d->q_stride, d), ks = stride_or_default(d->k_stride, d);
    const int vs = stride_or_default(d->v_stride, d), os = stride_or_default(d->out_stride, d);
    const int tq = d->tq, tk = d->tk, hd = d->head_dim;
    for (int b = 0; b < d->batch; b++) {
        for (int h = 0; h < d->heads; h++) {
            size_t qoff = (size_t)b * tq * qs + (size_t)h * hd;
            size_t koff = (size_t)b * tk * ks + (size_t)h * hd;
            size_t voff = (size_t)b * tk * vs + (size_t)h * hd;
            const float *gbh = dout + (size_t)b * tq * os + (size_t)h * hd;
            const float *p = att + ((size_t)b * d->heads + h) * tq * tk;

            /* out = P V:  dV += P^T dout,  dP = dout V^T */
            if (dv)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, tk, hd, tq, 1.0f, p, tk, gbh,
                            os, 1.0f, dv + voff, vs);
            if (!dq && !dk && !dpos_bias)
                continue;
            float *ds = scratch;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tq, tk, hd, 1.0f, gbh, os,
                        v + voff, vs, 0.0f, ds, tk);
            /* through the softmax, in place: dS = P * (dP - rowsum(P * dP)) */
            for (int i = 0; i < tq; i++) {
                const float *restrict pr = p + (size_t)i * tk;
                float *restrict dr = ds + (size_t)i * tk;
                float dot = qt_dot(pr, dr, tk);
                for (int j = 0; j < tk; j++)
                    dr[j] = pr[j] * (dr[j] - dot);
            }
            if (dpos_bias) {
                float *restrict db = dpos_bias + (size_t)h * tq * tk;
                for (size_t i = 0; i < (size_t)tq * tk; i++)
                    db[i] += ds[i];
            }
            /* S = scale Q K^T:  dQ += scale dS K,  dK += scale dS^T Q */
            if (dq)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tq, hd, tk, d->scale, ds,
                            tk, k + koff, ks, 1.0f, dq + qoff, qs);
            if (dk)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, tk, hd, tq, d->scale, ds, tk,
                            q + qoff, qs, 1.0f, dk + koff, ks);
        }
    }
}
