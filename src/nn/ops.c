#include "nn/ops.h"

#include <math.h>
#include <string.h>

#include "nn/vecmath.h"

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f
#define GELU_TANH_C 0.044715f
#define SOFTPLUS_THRESHOLD 20.0f

/* ---- elementwise ---- */

QT_VECTORIZE
void qt_add_forward(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

QT_VECTORIZE
void qt_add_backward(float *restrict da, float *restrict db, const float *restrict dout, size_t n)
{
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i];
}

QT_VECTORIZE
void qt_mul_forward(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

QT_VECTORIZE
void qt_mul_backward(float *restrict da, float *restrict db, const float *restrict dout,
                     const float *restrict a, const float *restrict b, size_t n)
{
    if (da)
        for (size_t i = 0; i < n; i++)
            da[i] += dout[i] * b[i];
    if (db)
        for (size_t i = 0; i < n; i++)
            db[i] += dout[i] * a[i];
}

QT_VECTORIZE
void qt_bias_add_forward(float *restrict x, const float *restrict b, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        float *restrict xr = x + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            xr[c] += b[c];
    }
}

QT_VECTORIZE
void qt_bias_add_backward(float *restrict db, const float *restrict dout, int rows, int cols)
{
    if (!db)
        return;
    for (int r = 0; r < rows; r++) {
        const float *restrict g = dout + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            db[c] += g[c];
    }
}

/* ---- norms ---- */

QT_VECTORIZE
void qt_layernorm_forward(float *restrict out, float *restrict mean, float *restrict rstd,
                          const float *restrict x, const float *restrict w,
                          const float *restrict b, int rows, int cols, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + (size_t)r * cols;
        float *restrict yr = out + (size_t)r * cols;
        float m = qt_sum(xr, cols) / cols;
        /* two passes: var from (x - m)^2 does not cancel catastrophically;
         * the centred row goes through out on the way */
        for (int c = 0; c < cols; c++)
            yr[c] = xr[c] - m;
        float s = 1.0f / sqrtf(qt_dot(yr, yr, cols) / cols + eps);
        for (int c = 0; c < cols; c++)
            yr[c] = yr[c] * s * w[c] + b[c];
        if (mean)
            mean[r] = m;
        if (rstd)
            rstd[r] = s;
    }
}

QT_VECTORIZE
void qt_layernorm_backward(float *restrict dx, float *restrict dw, float *restrict db,
                           const float *restrict dout, const float *restrict x,
                           const float *restrict w, const float *restrict mean,
                           const float *restrict rstd, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict g = dout + (size_t)r * cols;
        const float *restrict xr = x + (size_t)r * cols;
        float m = mean[r], s = rstd[r];
        /* the two row reductions the input gradient needs: mean(w g) and
         * mean(w g norm), with norm = (x - m) s */
        float sum_wg = 0.0f, sum_wgc = 0.0f;
        {
            float acc_wg[QT_LANES] = {0}, acc_wgc[QT_LANES] = {0};
            int c = 0;
            for (; c + QT_LANES <= cols; c += QT_LANES)
                for (int j = 0; j < QT_LANES; j++) {
                    float wg = w[c + j] * g[c + j];
                    acc_wg[j] += wg;
                    acc_wgc[j] += wg * (xr[c + j] - m);
                }
            for (int j = 0; j < QT_LANES; j++)
                sum_wg += acc_wg[j], sum_wgc += acc_wgc[j];
            for (; c < cols; c++)
                sum_wg += w[c] * g[c], sum_wgc += w[c] * g[c] * (xr[c] - m);
        }
        float mean_wg = sum_wg / cols;
        float mean_wg_norm = sum_wgc / cols * s;
        if (dw)
            for (int c = 0; c < cols; c++)
                dw[c] += (xr[c] - m) * s * g[c];
        if (db)
            for (int c = 0; c < cols; c++)
                db[c] += g[c];
        if (dx) {
            float *restrict dxr = dx + (size_t)r * cols;
            for (int c = 0; c < cols; c++) {
                float norm = (xr[c] - m) * s;
                dxr[c] += (w[c] * g[c] - mean_wg - norm * mean_wg_norm) * s;
            }
        }
    }
}

QT_VECTORIZE
void qt_rmsnorm_forward(float *restrict out, float *restrict rstd, const float *restrict x,
                        const float *restrict w, int rows, int cols, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + (size_t)r * cols;
        float *restrict yr = out + (size_t)r * cols;
        float s = 1.0f / sqrtf(qt_dot(xr, xr, cols) / cols + eps);
        for (int c = 0; c < cols; c++)
            yr[c] = xr[c] * s * w[c];
        if (rstd)
            rstd[r] = s;
    }
}

QT_VECTORIZE
void qt_rmsnorm_backward(float *restrict dx, float *restrict dw, const float *restrict dout,
                         const float *restrict x, const float *restrict w,
                         const float *restrict rstd, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict g = dout + (size_t)r * cols;
        const float *restrict xr = x + (size_t)r * cols;
        float s = rstd[r];
        if (dw)
            for (int c = 0; c < cols; c++)
                dw[c] += xr[c] * s * g[c];
        if (!dx)
            continue;
        /* d rstd / d x_c = -rstd^3 x_c / cols */
        float dot = 0.0f;
        {
            float acc[QT_LANES] = {0};
            int c = 0;
            for (; c + QT_LANES <= cols; c += QT_LANES)
                for (int j = 0; j < QT_LANES; j++)
                    acc[j] += g[c + j] * w[c + j] * xr[c + j];
            for (int j = 0; j < QT_LANES; j++)
                dot += acc[j];
            for (; c < cols; c++)
                dot += g[c] * w[c] * xr[c];
        }
        float k = dot * s * s * s / cols;
        float *restrict dxr = dx + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            dxr[c] += s * w[c] * g[c] - k * xr[c];
    }
}

/* ---- activations ---- */

QT_VECTORIZE
void qt_gelu_forward(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + qt_erf(v * INV_SQRT_2));
    }
}

QT_VECTORIZE
void qt_gelu_backward(float *restrict dx, const float *restrict dout, const float *restrict x,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + qt_erf(v * INV_SQRT_2));
        float pdf = INV_SQRT_2PI * qt_exp(-0.5f * v * v);
        dx[i] += dout[i] * (cdf + v * pdf);
    }
}

QT_VECTORIZE
void qt_gelu_tanh_forward(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = SQRT_2_OVER_PI * (v + GELU_TANH_C * v * v * v);
        out[i] = 0.5f * v * (1.0f + qt_tanh(u));
    }
}

QT_VECTORIZE
void qt_gelu_tanh_backward(float *restrict dx, const float *restrict dout,
                           const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = SQRT_2_OVER_PI * (v + GELU_TANH_C * v * v * v);
        float t = qt_tanh(u);
        float du = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_TANH_C * v * v);
        dx[i] += dout[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
}

QT_VECTORIZE
void qt_relu_forward(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

QT_VECTORIZE
void qt_relu_backward(float *restrict dx, const float *restrict dout, const float *restrict x,
                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
}

QT_VECTORIZE
void qt_silu_forward(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i] * qt_sigmoid(x[i]);
}

QT_VECTORIZE
void qt_silu_backward(float *restrict dx, const float *restrict dout, const float *restrict x,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = qt_sigmoid(x[i]);
        dx[i] += dout[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

QT_VECTORIZE
void qt_softplus_forward(float *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = v > SOFTPLUS_THRESHOLD ? v : qt_softplus(v);
    }
}

QT_VECTORIZE
void qt_softplus_backward(float *restrict dx, const float *restrict dout,
                          const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dout[i] * (x[i] > SOFTPLUS_THRESHOLD ? 1.0f : qt_sigmoid(x[i]));
}

/* ---- softmax ---- */

QT_VECTORIZE
void qt_softmax_forward(float *out, const float *x, const uint8_t *mask, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * cols;
        float *yr = out + (size_t)r * cols;
        const uint8_t *mr = mask ? mask + (size_t)r * cols : NULL;
        /* masked entries become -inf, and exp(-inf) is exactly 0 */
        if (mr)
            for (int c = 0; c < cols; c++)
                yr[c] = mr[c] ? xr[c] : -INFINITY;
        else if (yr != xr)
            memcpy(yr, xr, sizeof(float) * (size_t)cols);
        float maxv = qt_max(yr, cols);
        if (maxv == -INFINITY) { /* nothing to attend to */
            memset(yr, 0, sizeof(float) * (size_t)cols);
            continue;
        }
        for (int c = 0; c < cols; c++)
            yr[c] = qt_exp(yr[c] - maxv);
        float inv = 1.0f / qt_sum(yr, cols); /* sum >= 1: the max contributes exp(0) */
        for (int c = 0; c < cols; c++)
            yr[c] *= inv;
    }
}

QT_VECTORIZE
void qt_softmax_backward(float *restrict dx, const float *restrict dout, const float *restrict p,
                         int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict g = dout + (size_t)r * cols;
        const float *restrict pr = p + (size_t)r * cols;
        float *restrict dxr = dx + (size_t)r * cols;
        float dot = qt_dot(pr, g, cols);
        for (int c = 0; c < cols; c++)
            dxr[c] += pr[c] * (g[c] - dot);
    }
}

/* ---- embedding ---- */

int qt_embedding_forward(float *restrict out, const int32_t *restrict ids,
                         const float *restrict table, int n, int dim, int vocab)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        float *restrict o = out + (size_t)i * dim;
        if (ids[i] < 0 || ids[i] >= vocab) {
            memset(o, 0, sizeof(float) * (size_t)dim);
            rc = -1;
            continue;
        }
        memcpy(o, table + (size_t)ids[i] * dim, sizeof(float) * (size_t)dim);
    }
    return rc;
}

void qt_embedding_backward(float *restrict dtable, const float *restrict dout,
                           const int32_t *restrict ids, int n, int dim, int vocab)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= vocab)
            continue;
        float *restrict row = dtable + (size_t)ids[i] * dim;
        const float *restrict g = dout + (size_t)i * dim;
        for (int c = 0; c < dim; c++)
            row[c] += g[c];
    }
}

/* ---- dropout ---- */

QT_VECTORIZE
void qt_dropout_forward(float *out, uint8_t *mask, const float *x, size_t n, float p,
                        int training, qt_rng *rng)
{
    if (!training || p <= 0.0f) {
        if (out != x)
            memmove(out, x, sizeof(float) * n);
        return;
    }
    if (p >= 1.0f) {
        memset(out, 0, sizeof(float) * n);
        memset(mask, 0, n);
        return;
    }
    float scale = 1.0f / (1.0f - p);
    /* kept when a uniform 24-bit draw u satisfies u 2^-24 >= p (as
     * qt_rng_uniform(rng) >= p), two draws from each 64 random bits */
    const float cut = p * 16777216.0f;
    qt_rng r = *rng;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint64_t bits = qt_rng_next(&r);
        mask[i] = (float)(uint32_t)(bits >> 40) >= cut;
        mask[i + 1] = (float)(uint32_t)((bits >> 16) & 0xFFFFFFu) >= cut;
    }
    if (i < n)
        mask[i] = (float)(uint32_t)(qt_rng_next(&r) >> 40) >= cut;
    *rng = r;
    for (i = 0; i < n; i++)
        out[i] = mask[i] ? x[i] * scale : 0.0f;
}

QT_VECTORIZE
void qt_dropout_backward(float *restrict dx, const float *restrict dout,
                         const uint8_t *restrict mask, size_t n, float p, int training)
{
    if (!training || p <= 0.0f) {
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i];
        return;
    }
    if (p >= 1.0f)
        return;
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        dx[i] += mask[i] ? dout[i] * scale : 0.0f;
}

/* ---- cross-entropy ---- */

int qt_cross_entropy_forward(float *loss, float *probs, const float *logits,
                             const int32_t *targets, int rows, int classes, int ignore_index)
{
    double total = 0.0;
    int count = 0;
    for (int r = 0; r < rows; r++) {
        const float *z = logits + (size_t)r * classes;
        int t = targets[r];
        if (t == ignore_index) {
            if (probs) /* keep the buffer defined; backward skips this row */
                memset(probs + (size_t)r * classes, 0, sizeof(float) * (size_t)classes);
            continue;
        }
        if (t < 0 || t >= classes) {
            *loss = NAN;
            return -1;
        }
        float maxv = -INFINITY;
        for (int c = 0; c < classes; c++)
            if (z[c] > maxv)
                maxv = z[c];
        double sum = 0.0;
        for (int c = 0; c < classes; c++)
            sum += expf(z[c] - maxv);
        /* log-sum-exp - z[t]; inf when the target's logit is -inf */
        total += (double)maxv + log(sum) - (double)z[t];
        count++;
        if (probs) {
            float *pr = probs + (size_t)r * classes;
            float inv = (float)(1.0 / sum);
            for (int c = 0; c < classes; c++)
                pr[c] = expf(z[c] - maxv) * inv;
        }
    }
    *loss = count ? (float)(total / count) : 0.0f;
    return count;
}

QT_VECTORIZE
void qt_cross_entropy_backward(float *restrict dlogits, float dloss, const float *restrict probs,
                               const int32_t *restrict targets, int rows, int classes,
                               int ignore_index)
{
    int count = 0;
    for (int r = 0; r < rows; r++)
        if (targets[r] != ignore_index && targets[r] >= 0 && targets[r] < classes)
            count++;
    if (count == 0)
        return;
    float k = dloss / count;
    for (int r = 0; r < rows; r++) {
        int t = targets[r];
        if (t == ignore_index || t < 0 || t >= classes)
            continue;
        const float *restrict pr = probs + (size_t)r * classes;
        float *restrict dz = dlogits + (size_t)r * classes;
        for (int c = 0; c < classes; c++)
            dz[c] += k * pr[c];
        dz[t] -= k;
    }
}
