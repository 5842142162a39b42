/* Mamba's selective scan (S6), forward and backward, as a plain recurrence.
 *
 * For each batch and channel d, with a state h of nstate floats:
 *   h_t = exp(delta_t[d] * A[d]) * h_{t-1} + delta_t[d] * B_t * x_t[d]
 *   y_t[d] = C_t . h_t + D[d] * x_t[d]
 * Shapes: x, delta, y [batch, len, dim]; A [dim, nstate]; B, C
 * [batch, len, nstate] (shared over channels); D [dim] or NULL. delta is
 * taken as given: Mamba's softplus(dt + dt_bias) and A = -exp(A_log) are
 * separate ops (nn/ops.h), as is the z gate. */
#ifndef QT_NN_SCAN_H
#define QT_NN_SCAN_H

#include <stddef.h>

/* hs: NULL or [batch, len, dim, nstate], every state, saved for backward.
 * h_last: NULL or [batch, dim, nstate], receives the final state (to carry
 * on decoding). One of the two must be given: the scan runs in it. */
void qt_selective_scan_forward(float *y, float *hs, float *h_last, const float *x,
                               const float *delta, const float *A, const float *B,
                               const float *C, const float *D, int batch, int len, int dim,
                               int nstate);

/* Adds into dx, ddelta, dA, dB, dC, dD (any may be NULL) from dy and the
 * forward's hs. scratch: qt_selective_scan_scratch_floats() floats. */
size_t qt_selective_scan_scratch_floats(int dim, int nstate);

void qt_selective_scan_backward(float *dx, float *ddelta, float *dA, float *dB, float *dC,
                                float *dD, float *scratch, const float *dy, const float *hs,
                                const float *x, const float *delta, const float *A,
                                const float *B, const float *C, const float *D, int batch,
                                int len, int dim, int nstate);

#endif
