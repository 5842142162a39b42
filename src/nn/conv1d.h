/* Depthwise causal 1-D convolution over time (Mamba's short conv).
 *
 * Channels-last layout: x and out are [batch, len, channels]. The weight is
 * [channels, ksize], the memory layout of PyTorch's Conv1d(groups=channels)
 * weight [channels, 1, ksize]. Output t sees inputs t-ksize+1 .. t (zeros
 * before the start), which is PyTorch's conv1d with padding ksize-1 cut to
 * the first len outputs:
 *   out[b, t, c] = bias[c] + sum_j w[c, j] * x[b, t - ksize + 1 + j, c]. */
#ifndef QT_NN_CONV1D_H
#define QT_NN_CONV1D_H

/* bias may be NULL. */
void qt_conv1d_causal_forward(float *out, const float *x, const float *w, const float *bias,
                              int batch, int len, int channels, int ksize);
/* Adds into dx, dw, dbias (any may be NULL). */
void qt_conv1d_causal_backward(float *dx, float *dw, float *dbias, const float *dout,
                               const float *x, const float *w, int batch, int len, int channels,
                               int ksize);

/* One decoding step for one sequence. state: [ksize - 1, channels], the last
 * ksize - 1 inputs, oldest first (zeros at the start); x, out: [channels].
 * Shifts x into the state. Gives the same out as the full forward. */
void qt_conv1d_causal_step(float *out, float *state, const float *x, const float *w,
                           const float *bias, int channels, int ksize);

#endif
