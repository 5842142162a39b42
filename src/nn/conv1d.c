#include "nn/conv1d.h"

#include <stddef.h>
#include <string.h>

#include "nn/vecmath.h"

QT_VECTORIZE
void qt_conv1d_causal_forward(float *restrict out, const float *restrict x,
                              const float *restrict w, const float *restrict bias, int batch,
                              int len, int channels, int ksize)
{
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * len * channels;
        for (int t = 0; t < len; t++) {
            float *restrict o = out + ((size_t)b * len + t) * channels;
            for (int c = 0; c < channels; c++)
                o[c] = bias ? bias[c] : 0.0f;
            for (int j = 0; j < ksize; j++) {
                int src = t - ksize + 1 + j;
                if (src < 0)
                    continue;
                const float *restrict xs = xb + (size_t)src * channels;
                for (int c = 0; c < channels; c++)
                    o[c] += w[(size_t)c * ksize + j] * xs[c];
            }
        }
    }
}

QT_VECTORIZE
void qt_conv1d_causal_backward(float *restrict dx, float *restrict dw, float *restrict dbias,
                               const float *restrict dout, const float *restrict x,
                               const float *restrict w, int batch, int len, int channels,
                               int ksize)
{
    for (int b = 0; b < batch; b++) {
        for (int t = 0; t < len; t++) {
            const float *restrict g = dout + ((size_t)b * len + t) * channels;
            if (dbias)
                for (int c = 0; c < channels; c++)
                    dbias[c] += g[c];
            for (int j = 0; j < ksize; j++) {
                int src = t - ksize + 1 + j;
                if (src < 0)
                    continue;
                size_t row = ((size_t)b * len + src) * channels;
                if (dw)
                    for (int c = 0; c < channels; c++)
                        dw[(size_t)c * ksize + j] += g[c] * x[row + c];
                if (dx)
                    for (int c = 0; c < channels; c++)
                        dx[row + c] += g[c] * w[(size_t)c * ksize + j];
            }
        }
    }
}

void qt_conv1d_causal_step(float *restrict out, float *restrict state, const float *restrict x,
                           const float *restrict w, const float *restrict bias, int channels,
                           int ksize)
{
    int hist = ksize - 1;
    for (int c = 0; c < channels; c++) {
        float acc = bias ? bias[c] : 0.0f;
        for (int j = 0; j < hist; j++)
            acc += w[(size_t)c * ksize + j] * state[(size_t)j * channels + c];
        out[c] = acc + w[(size_t)c * ksize + hist] * x[c];
    }
    if (hist > 0) {
        memmove(state, state + channels, sizeof(float) * (size_t)(hist - 1) * channels);
        memcpy(state + (size_t)(hist - 1) * channels, x, sizeof(float) * (size_t)channels);
    }
}
